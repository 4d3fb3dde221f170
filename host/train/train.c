/* train.c -- the training loop: steps, validation, checkpoints, resume. */
#define _GNU_SOURCE /* basename */
#include "train/train.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/metrics_log.h"
#include "io/mlflow.h"
#include "train/checkpoint.h"
#include "train/session.h"
#include "util/fsutil.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double cvl_lr_at(const cvl_config *cfg, int64_t step, int64_t total) {
    double lr = cvl_config_float(cfg, "lr");
    const char *name = cvl_config_string(cfg, "lr_schedule.name");
    int64_t warm = cvl_config_int(cfg, "lr_schedule.warmup_steps");
    if (warm > 0 && step <= warm) return lr * (double)step / (double)warm;
    /* the last step reaches the end of the curve: span = steps after warm-up - 1 */
    int64_t t = step - warm, span = total - warm - 1 > 1 ? total - warm - 1 : 1;
    if (strcmp(name, "step") == 0)
        return lr * pow(cvl_config_float(cfg, "lr_schedule.gamma"),
                        (double)((t - 1) / cvl_config_int(cfg, "lr_schedule.step_size")));
    if (strcmp(name, "cosine") == 0) {
        double lo = cvl_config_float(cfg, "lr_schedule.min_lr");
        return lo + 0.5 * (lr - lo) * (1 + cos(M_PI * (double)(t - 1) / (double)span));
    }
    if (strcmp(name, "one_cycle") == 0) {
        /* up linearly for 30% of the steps from lr/25, then cosine down to lr/1e4 */
        double up = 0.3 * (double)span, x = (double)(t - 1);
        if (x < up) return lr / 25 + (lr - lr / 25) * x / up;
        return lr / 1e4 + 0.5 * (lr - lr / 1e4) * (1 + cos(M_PI * (x - up) / ((double)span - up)));
    }
    return lr;
}

/* ---------------------------------------------------------- run dir */

static cvl_status make_run_dir(char *out, size_t n, const cvl_config *cfg, const cvl_train_options *opt, cvl_err *e) {
    if (opt->resume) {
        snprintf(out, n, "%s", opt->resume);
    } else if (opt->run_dir) {
        snprintf(out, n, "%s", opt->run_dir);
    } else {
        char stem[256], stamp[32];
        cvl_path_stem(stem, sizeof stem, cfg->source);
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(out, n, "%s/%s-%s", cvl_config_string(cfg, "run_dir"), stem, stamp);
    }
    if (cvl_mkdirs(out, e) != CVL_OK) return e->status;
    char ck[1100];
    return cvl_mkdirs(cvl_run_path(ck, sizeof ck, out, "checkpoints"), e);
}

/* Keeps the lines of metrics.jsonl up to `step` (a resumed run rewrites
 * what came after its checkpoint). */
static cvl_status trim_metrics(const char *path, int64_t step, cvl_err *e) {
    FILE *in = fopen(path, "r");
    if (in == NULL) return CVL_OK;
    cvl_atomic_file *af;
    if (cvl_atomic_open(&af, path, e) != CVL_OK) {
        fclose(in);
        return e->status;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        json_t *s = j ? json_object_get(j, "step") : NULL;
        if (s && json_is_integer(s) && json_integer_value(s) <= step) fputs(line, cvl_atomic_stream(af));
        json_decref(j);
    }
    free(line);
    fclose(in);
    return cvl_atomic_commit(af, e);
}

/* ------------------------------------------------------------ logging */

static void progress(const cvl_session *s, int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss,
                     double sps, double eta) {
    if (s->tty) {
        fprintf(stderr, "\repoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %02d:%02d   ",
                (long long)epoch, (long long)epochs, (long long)step, (long long)steps, loss, sps, (int)(eta / 60),
                (int)fmod(eta, 60));
    } else {
        fprintf(stderr, "epoch %lld/%lld step %lld/%lld loss %.4f samples/s %.0f eta_s %.0f\n", (long long)epoch,
                (long long)epochs, (long long)step, (long long)steps, loss, sps, eta);
    }
    fflush(stderr);
}

/* metrics.jsonl (and MLflow) line from the numeric members of obj. */
static void log_json(cvl_metrics_log *ml, cvl_mlflow_run *mf, int64_t step, int64_t epoch, const char *split,
                     const char *data, const json_t *obj, cvl_err *e) {
    cvl_metric_field f[64];
    int n = 0;
    f[n++] = CVL_METRIC_STR("split", split);
    if (data) f[n++] = CVL_METRIC_STR("data", data); /* validation on another split */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (n == 64) break;
        if (json_is_number(v)) f[n++] = CVL_METRIC_NUM(key, json_number_value(v));
        else if (json_is_null(v)) f[n++] = CVL_METRIC_NUM(key, NAN);
    }
    if (ml) cvl_metrics_write(ml, step, epoch, f, n, e);
    for (int i = data ? 2 : 1; mf && i < n; i++) {
        char k[160];
        snprintf(k, sizeof k, "%s_%s", split, f[i].key);
        if (strcmp(split, "train") == 0) snprintf(k, sizeof k, "%s", f[i].key);
        cvl_err me = {0};
        if (isfinite(f[i].num)) cvl_mlflow_log_metric(mf, k, f[i].num, step, 0, &me);
    }
}

/* Every scalar of the config as an MLflow param ("lr_schedule.name"). */
static void log_params(cvl_mlflow_run *mf, const json_t *obj, const char *prefix) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        char k[256];
        snprintf(k, sizeof k, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (json_is_object(v)) {
            log_params(mf, v, k);
            continue;
        }
        char num[32];
        char *text = json_is_string(v) ? strdup(json_string_value(v))
                     : json_is_real(v) ? strdup(cvl_format_double(num, json_real_value(v))) /* 0.05, not 0.050000000000000003 */
                                       : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cvl_err me = {0};
        if (text && strlen(text) < 6000) cvl_mlflow_log_param(mf, k, text, &me);
        free(text);
    }
}

/* --------------------------------------------------------------- run */

typedef struct run {
    cvl_session s;
    const cvl_train_options *opt;
    cvl_ckpt_state st;
    cvl_metrics_log *ml;
    cvl_mlflow_run *mf;
    cvl_loader *ld;
    char path[1200];
    bool higher_better; /* checkpoint metric */
    char metric[64];    /* its key in the validation JSON */
} run;

static cvl_status save(run *r, const char *name, cvl_err *e) {
    char p[1200];
    snprintf(p, sizeof p, "%s/checkpoints/%s", r->s.run_dir, name);
    return cvl_ckpt_save(p, r->s.be, r->s.net.g, true, &r->st, r->s.cfg->root, e);
}

/* Validation at the end of an epoch: metrics, best and last checkpoints,
 * early stopping. Returns whether to stop early. */
static bool validate(run *r, cvl_train_result *res, cvl_err *e) {
    cvl_session *s = &r->s;
    const cvl_config *cfg = s->cfg;
    bool has_val = s->data.val && s->data.val->vt->size(s->data.val) > 0;
    const char *split = has_val ? "val" : s->data.eval_split;
    const cvl_dataset *ds = has_val ? s->data.val : s->data.eval;
    if (cvl_evaluator_sync(&s->ev, s->be, &s->net, e) != CVL_OK) return false;
    if (cvl_evaluator_run(&s->ev, ds, cvl_config_int(cfg, "val_steps_per_epoch"), e) != CVL_OK) return false;
    json_t *m = json_object();
    cvl_evaluator_json(&s->ev, m, "", false);
    log_json(r->ml, r->mf, r->st.step, r->st.epoch, "val", has_val ? NULL : split, m, e);
    double main = cvl_metrics_main(s->ev.m[0]);
    res->val_accuracy = main;
    if (s->show) {
        char *text = json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(5));
        fprintf(stderr, "epoch %lld: %s%s%s %s\n", (long long)r->st.epoch, has_val ? "val" : "validation on ",
                has_val ? "" : split, has_val ? "" : " split", text ? text : "");
        free(text);
    }
    const json_t *mv = json_object_get(m, r->metric);
    double v = mv && json_is_number(mv) ? json_number_value(mv) : NAN;
    json_decref(m);
    double delta = cvl_config_float(cfg, "early_stopping.min_delta");
    bool better = isfinite(v) && (isnan(r->st.best) || (r->higher_better ? v > r->st.best + delta : v < r->st.best - delta));
    if (better) {
        r->st.best = v;
        r->st.since_best = 0;
    } else {
        r->st.since_best++;
    }
    /* the state a resume continues from: the next epoch, batch 0 */
    r->st.epoch++;
    r->st.batch = 0;
    if (better && e->status == CVL_OK) save(r, "best.safetensors", e);
    if (e->status == CVL_OK) save(r, "last.safetensors", e);
    r->st.epoch--;
    int64_t patience = cvl_config_int(cfg, "early_stopping.patience");
    return patience > 0 && r->st.since_best >= patience;
}

static cvl_status finish(run *r, cvl_train_result *res, cvl_err *e) {
    cvl_session *s = &r->s;
    const char *split;
    const cvl_dataset *ds = cvl_session_eval_split(s, &split);
    /* the best weights when there are some, else the last */
    char best[1200];
    snprintf(best, sizeof best, "%s/checkpoints/best.safetensors", s->run_dir);
    if (access(best, R_OK) == 0) {
        if (cvl_ckpt_load(best, s->ev.be, s->ev.net.g, CVL_CKPT_WEIGHTS, NULL, NULL, NULL, e) != CVL_OK) return e->status;
    } else if (cvl_evaluator_sync(&s->ev, s->be, &s->net, e) != CVL_OK) {
        return e->status;
    }
    if (cvl_evaluator_run(&s->ev, ds, 0, e) != CVL_OK) return e->status;
    json_t *m = json_object(), *full = json_object();
    cvl_evaluator_json(&s->ev, m, "", false);
    cvl_evaluator_json(&s->ev, full, "", true);
    int64_t epochs = cvl_config_int(s->cfg, "epochs");
    log_json(r->ml, r->mf, r->st.step, r->st.epoch > epochs ? epochs : r->st.epoch, split, NULL, m, e);
    res->test_accuracy = cvl_metrics_main(s->ev.m[0]);
    json_t *out = json_pack("{s:s,s:I,s:s,s:o}", "split", split, "step", (json_int_t)r->st.step, "weights",
                            access(best, R_OK) == 0 ? "best" : "last", "metrics", full);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    char p[1200];
    if (text) cvl_atomic_write(cvl_run_path(p, sizeof p, s->run_dir, "results.json"), text, strlen(text), e);
    free(text);
    json_decref(out);
    json_decref(m);
    return e->status;
}

static cvl_status open_outputs(run *r, cvl_err *e) {
    cvl_session *s = &r->s;
    const cvl_config *cfg = s->cfg;
    char p[1200];
    /* the resolved config; a resumed run keeps its own */
    if (!r->opt->resume) {
        /* a new run in a directory used before starts clean */
        static const char *const stale[] = {"metrics.jsonl", "results.json", "report.html", "augmented_batch.png",
                                            "augmented_batch.png.txt", "checkpoints/best.safetensors",
                                            "checkpoints/last.safetensors"};
        for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) unlink(cvl_run_path(p, sizeof p, s->run_dir, stale[i]));
        char *text = json_dumps(cfg->root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        if (text == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        cvl_atomic_write(cvl_run_path(p, sizeof p, s->run_dir, "config.json"), text, strlen(text), e);
        free(text);
        if (e->status) return e->status;
    } else if (trim_metrics(cvl_run_path(p, sizeof p, s->run_dir, "metrics.jsonl"), r->st.step, e) != CVL_OK) {
        return e->status;
    }
    if (cvl_metrics_open(&r->ml, cvl_run_path(p, sizeof p, s->run_dir, "metrics.jsonl"), e) != CVL_OK) return e->status;
    if (strcmp(cvl_config_string(cfg, "experiment_tracker"), "mlflow") == 0) {
        char exp_id[32], stem[256];
        const char *name = cvl_config_string(cfg, "experiment_name");
        cvl_path_stem(stem, sizeof stem, cfg->source);
        const char *root = cvl_config_string(cfg, "mlflow_root");
        if (cvl_mlflow_experiment(exp_id, root, name ? name : stem, e) != CVL_OK) return e->status;
        char run_name[256];
        snprintf(run_name, sizeof run_name, "%s", basename(strcpy(p, s->run_dir)));
        if (cvl_mlflow_run_start(&r->mf, root, exp_id, run_name, e) != CVL_OK) return e->status;
        log_params(r->mf, cfg->root, "");
        cvl_mlflow_set_tag(r->mf, "cvl.run_dir", s->run_dir, e);
        if (s->show) fprintf(stderr, "cvl: MLflow run %s in %s\n", cvl_mlflow_run_id(r->mf), root);
    }
    return e->status;
}

static void close_outputs(run *r, cvl_train_result *res, cvl_status st) {
    cvl_metrics_close(r->ml);
    r->ml = NULL;
    cvl_err re = {0};
    if (r->s.run_dir[0]) cvl_run_report(r->s.run_dir, &r->s, &re);
    if (re.status && r->s.show) fprintf(stderr, "cvl: report: %s\n", re.msg);
    if (r->mf) {
        static const char *const art[] = {"config.json", "metrics.jsonl", "results.json", "report.html",
                                          "augmented_batch.png"};
        for (size_t i = 0; i < sizeof art / sizeof art[0]; i++) {
            char p[1200];
            cvl_err ae = {0};
            if (access(cvl_run_path(p, sizeof p, r->s.run_dir, art[i]), R_OK) == 0)
                cvl_mlflow_log_artifact(r->mf, p, NULL, &ae);
        }
        cvl_err me = {0};
        cvl_mlflow_run_end(r->mf, st != CVL_OK ? CVL_MLFLOW_FAILED : res->interrupted ? CVL_MLFLOW_KILLED
                                                                                      : CVL_MLFLOW_FINISHED,
                           &me);
        r->mf = NULL;
    }
}

/* A non-finite loss: which target, which parameter, and what is kept. */
static cvl_status diverged(run *r, int64_t step, float loss, cvl_err *e) {
    cvl_session *s = &r->s;
    if (s->tty) fputc('\n', stderr);
    char bad[256];
    cvl_session_first_nonfinite(s, bad, sizeof bad);
    char tname[128] = "";
    for (int t = 0; t < s->net.n_targets; t++) {
        float lt;
        cvl_err le = {0};
        cvl_backend_read(s->be, s->net.tg[t].loss, &lt, sizeof lt, &le);
        if (!isfinite(lt) && !tname[0]) snprintf(tname, sizeof tname, " of target %s", s->net.tg[t].name);
    }
    char keep[1300], ck[1200];
    snprintf(ck, sizeof ck, "%s/checkpoints/last.safetensors", s->run_dir);
    if (access(ck, R_OK) == 0)
        snprintf(keep, sizeof keep, "the last good checkpoint is %s", ck);
    else
        snprintf(keep, sizeof keep, "no checkpoint was saved before it");
    return cvl_err_set(e, CVL_ERR_INVALID,
                       "step %lld: the loss%s is %s%s%s%s; training stopped, %s (lower the lr? clip_grad_norm?)",
                       (long long)step, tname, isnan(loss) ? "NaN" : "infinite", bad[0] ? ", parameter " : "",
                       bad[0] ? bad : "", bad[0] ? " is not finite (a non-finite gradient in an earlier update)" : "",
                       keep);
}

static cvl_status train_loop(run *r, cvl_train_result *res, cvl_err *e) {
    cvl_session *s = &r->s;
    const cvl_config *cfg = s->cfg;
    int64_t B = s->net.batch, epochs = cvl_config_int(cfg, "epochs"), cap = cvl_config_int(cfg, "train_steps_per_epoch");
    cvl_loader_opts lo = {.batch = B, .shuffle = 1, .drop_last = 1, .training = 1, .workers = s->dc.workers,
                          .seed = s->dc.seed, .tf = s->dc.tf, .n_tf = s->dc.n_tf};
    if (cvl_loader_init(&r->ld, s->data.train, &lo, e) != CVL_OK) return e->status;
    /* per_epoch counts optimizer steps; each takes n_gradients batches */
    int64_t ng = cvl_config_int(cfg, "n_gradients"), per_epoch = cvl_loader_batches(r->ld) / ng;
    if (cap > 0 && cap < per_epoch) per_epoch = cap;
    if (per_epoch < 1)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: n_gradients %lld batches of %lld exceed the training split",
                           cfg->source, (long long)ng, (long long)B);
    int64_t total = per_epoch * epochs, log_every = cvl_config_int(cfg, "log_every");
    int32_t micro_end = cvl_graph_micro_end(s->net.g), all = cvl_graph_size(s->net.g);
    double t_train = 0, window_loss = 0, step_loss = 0;
    int64_t window = 0, done_here = 0;
    for (; r->st.epoch <= epochs; r->st.epoch++, r->st.batch = 0) {
        cvl_loader_start_epoch(r->ld, (uint64_t)r->st.epoch);
        for (int64_t k = 0; k < per_epoch * ng; k++) {
            const cvl_batch *b;
            if (cvl_loader_next(&b, r->ld, e) != CVL_OK) return e->status;
            if (b == NULL) break;
            if (k < r->st.batch) continue; /* resumed mid-epoch: these were trained on */
            if (cvl_net_feed(&s->net, s->be, b, e) != CVL_OK) return e->status;
            int64_t step = r->st.step + 1;
            bool update = (k + 1) % ng == 0; /* the last micro-batch of an optimizer step */
            double lr = cvl_lr_at(cfg, step, total);
            cvl_step_scalars sc = {.lr = lr, .step = step, .seed = s->dc.seed, .training = true};
            double t0 = now();
            if (cvl_backend_run(s->be, 0, update ? all : micro_end, &sc, e) != CVL_OK) return e->status;
            t_train += now() - t0;
            float loss;
            cvl_backend_read(s->be, s->net.loss, &loss, sizeof loss, e);
            if (!isfinite(loss)) return diverged(r, step, loss, e);
            done_here++;
            step_loss += loss;
            if (!update) continue;
            loss = (float)(step_loss / (double)ng);
            step_loss = 0;
            r->st.step = step;
            r->st.batch = k + 1;
            window_loss += loss;
            window++;
            res->last_loss = loss;
            double sps = (double)(done_here * B) / t_train, eta = (double)(total - step) * (double)(B * ng) / sps;
            if (step % log_every == 0 || k + 1 == per_epoch * ng) {
                json_t *m = json_pack("{s:f,s:f,s:f}", "loss", window_loss / (double)window, "lr", lr, "samples_per_s", sps);
                log_json(r->ml, r->mf, step, r->st.epoch, "train", NULL, m, e);
                json_decref(m);
                if (s->show) progress(s, r->st.epoch, epochs, step, total, window_loss / (double)window, sps, eta);
                window_loss = 0;
                window = 0;
            } else if (s->tty && step % 5 == 0) {
                progress(s, r->st.epoch, epochs, step, total, loss, sps, eta);
            }
            res->steps = step;
            res->train_seconds = t_train;
            res->samples_per_s = sps;
            bool stop = (r->opt->interrupt && *r->opt->interrupt) || (r->opt->stop_after > 0 && step >= r->opt->stop_after);
            if (stop && k + 1 < per_epoch * ng) {
                if (s->tty) fputc('\n', stderr);
                if (save(r, "last.safetensors", e) != CVL_OK) return e->status;
                res->interrupted = true;
                if (s->show)
                    fprintf(stderr, "cvl: stopped at step %lld; resume with --resume %s\n", (long long)step, s->run_dir);
                return CVL_OK;
            }
        }
        if (s->tty) fputc('\n', stderr);
        bool early = validate(r, res, e);
        if (e->status) return e->status;
        if (early) {
            res->early_stopped = true;
            if (s->show)
                fprintf(stderr, "cvl: early stopping: %s did not improve for %lld validations\n", r->metric,
                        (long long)r->st.since_best);
            r->st.epoch++;
            break;
        }
        bool stop = (r->opt->interrupt && *r->opt->interrupt) || (r->opt->stop_after > 0 && r->st.step >= r->opt->stop_after);
        if (stop && r->st.epoch < epochs) {
            res->interrupted = true;
            if (s->show)
                fprintf(stderr, "cvl: stopped at step %lld; resume with --resume %s\n", (long long)r->st.step, s->run_dir);
            return CVL_OK;
        }
    }
    return finish(r, res, e);
}

cvl_status cvl_train(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt_in,
                     cvl_train_result *res, cvl_err *e) {
    cvl_train_options dflt = {.threads = -1};
    const cvl_train_options *opt = opt_in ? opt_in : &dflt;
    memset(res, 0, sizeof *res);
    res->val_accuracy = res->test_accuracy = NAN;
    run r = {.opt = opt};
    r.st = (cvl_ckpt_state){.epoch = 1, .seed = (uint64_t)cvl_config_int(cfg, "seed"), .best = NAN};
    const char *metric = cvl_config_string(cfg, "checkpoint_metric");
    if (strncmp(metric, "val_", 4) != 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: checkpoint_metric must be val_loss or val_<metric>, got '%s'",
                           cfg->source, metric);
    snprintf(r.metric, sizeof r.metric, "%s", metric + 4);
    r.higher_better = strcmp(r.metric, "loss") != 0 && strcmp(r.metric, "mae") != 0 && strcmp(r.metric, "rmse") != 0;
    int threads = opt->threads >= 0 ? opt->threads : (int)cvl_config_int(cfg, "threads");
    const char *device = opt->device ? opt->device : cvl_config_string(cfg, "device");
    cvl_session *s = &r.s;
    cvl_status st = cvl_session_open(s, reg, cfg, device, threads, opt->quiet, true, e);
    if (st == CVL_OK) st = make_run_dir(s->run_dir, sizeof s->run_dir, cfg, opt, e);
    if (st == CVL_OK) snprintf(res->run_dir, sizeof res->run_dir, "%s", s->run_dir);
    if (st == CVL_OK && opt->resume) {
        char p[1200];
        snprintf(p, sizeof p, "%s/checkpoints/last.safetensors", opt->resume);
        st = cvl_ckpt_load(p, s->be, s->net.g, CVL_CKPT_RESUME, NULL, &r.st, NULL, e);
        if (st == CVL_OK && r.st.seed != (uint64_t)cvl_config_int(cfg, "seed"))
            st = cvl_err_set(e, CVL_ERR_INVALID, "%s: the checkpoint's seed %llu differs from the config's %lld", p,
                             (unsigned long long)r.st.seed, (long long)cvl_config_int(cfg, "seed"));
        if (st == CVL_OK && s->show)
            fprintf(stderr, "cvl: resuming %s at step %lld (epoch %lld, batch %lld)\n", opt->resume,
                    (long long)r.st.step, (long long)r.st.epoch, (long long)r.st.batch);
    } else if (st == CVL_OK && opt->weights) {
        st = cvl_ckpt_load(opt->weights, s->be, s->net.g, CVL_CKPT_WEIGHTS, cvl_config_get(cfg, "weights_map"), NULL,
                           NULL, e);
    }
    if (st == CVL_OK) st = open_outputs(&r, e);
    if (st == CVL_OK && !opt->resume && cvl_config_bool(cfg, "checks.enabled")) st = cvl_quality_checks(s, s->run_dir, e);
    if (st == CVL_OK) st = train_loop(&r, res, e);
    res->steps = r.st.step;
    close_outputs(&r, res, st);
    cvl_loader_free(r.ld);
    cvl_session_close(s);
    return st;
}
