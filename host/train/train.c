/* train.c -- the training loop. */
#define _GNU_SOURCE /* strdup of basename */
#include "train/train.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/vulkan/vk_backend.h"
#include "core/backend.h"
#include "core/graph_internal.h"
#include "train/idx.h"
#include "train/model.h"

#define CLASSES 10

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
        return lr * pow(cvl_config_float(cfg, "lr_schedule.gamma"), (double)((t - 1) / cvl_config_int(cfg, "lr_schedule.step_size")));
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

/* ------------------------------------------------------------- model */

static bool declares(const cvl_registry *reg, cvl_kind kind, const char *comp, const char *param) {
    const cvl_component *c = cvl_registry_find(reg, kind, comp);
    for (uint32_t i = 0; c && i < c->n_params; i++)
        if (strcmp(c->params[i]->name, param) == 0) return true;
    return false;
}

/* A component reference from the config, with config-level keys folded
 * into its parameters when it declares them (image_pool -> pool, ...). */
static const char *component(const cvl_registry *reg, const cvl_config *cfg, const char *key, cvl_kind kind,
                             json_t **params, const char *from_key, const char *to_param) {
    const char *name = cvl_config_component(cfg, key, params);
    const json_t *v = from_key ? cvl_config_get(cfg, from_key) : NULL;
    if (name && v && !json_is_null(v) && declares(reg, kind, name, to_param)) {
        if (*params == NULL) *params = json_object();
        if (json_object_get(*params, to_param) == NULL) json_object_set(*params, to_param, (json_t *)v);
    }
    return name;
}

typedef struct model {
    cvl_graph *g;
    cvl_classifier m;
    int32_t n_fwd;
} model;

static cvl_status build(const cvl_registry *reg, const cvl_config *cfg, int64_t batch, bool training, model *out,
                        cvl_err *e) {
    memset(out, 0, sizeof *out);
    const json_t *shape = cvl_config_get(cfg, "input_shape");
    int64_t C = json_integer_value(json_array_get(shape, 0)), H = json_integer_value(json_array_get(shape, 1)),
            W = json_integer_value(json_array_get(shape, 2));
    json_t *ep = NULL, *hp = NULL, *lp = NULL, *op = NULL;
    const char *enc = component(reg, cfg, "image_backbone", CVL_KIND_ENCODER, &ep, "image_pool", "pool");
    const char *head = component(reg, cfg, "head", CVL_KIND_HEAD, &hp, "dropout", "dropout");
    const char *loss = component(reg, cfg, "loss", CVL_KIND_LOSS, &lp, NULL, NULL);
    out->g = cvl_graph_new((uint64_t)cvl_config_int(cfg, "seed"));
    cvl_status st = cvl_model_classifier(reg, out->g, batch, C, H, W, CLASSES, (cvl_component_ref){enc, ep},
                                         (cvl_component_ref){head, hp}, (cvl_component_ref){loss, lp}, &out->m, e);
    if (st != CVL_OK && e->status == CVL_OK) cvl_err_set(e, st, "%s", cvl_graph_error(out->g)->msg);
    out->n_fwd = cvl_graph_size(out->g);
    if (st == CVL_OK && training) {
        st = cvl_graph_backward(out->g, out->m.loss);
        const char *opt = component(reg, cfg, "optimizer_name", CVL_KIND_OPTIMIZER, &op, "weight_decay", "weight_decay");
        cvl_optim_spec spec = {.clip_grad_norm = cvl_config_float(cfg, "clip_grad_norm")};
        if (st == CVL_OK) st = cvl_model_optimizer(reg, out->g, (cvl_component_ref){opt, op}, &spec, e);
        if (st == CVL_OK) st = cvl_graph_optimizer(out->g, &spec);
        if (st != CVL_OK && e->status == CVL_OK) cvl_err_set(e, st, "%s", cvl_graph_error(out->g)->msg);
    }
    json_decref(ep);
    json_decref(hp);
    json_decref(lp);
    json_decref(op);
    if (st != CVL_OK) cvl_err_prefix(e, "%s: ", cfg->source);
    return st;
}

/* -------------------------------------------------------------- data */

typedef struct dataset {
    float *x; /* (n, C, H, W) normalised */
    int32_t *y;
    int64_t n, sample; /* sample: floats per image */
} dataset;

/* u8 images -> padded, normalised floats. */
static cvl_status prepare(dataset *d, const cvl_idx_split *s, const int64_t *idx, int64_t n, const cvl_config *cfg,
                          cvl_err *e) {
    const json_t *shape = cvl_config_get(cfg, "input_shape");
    int64_t C = json_integer_value(json_array_get(shape, 0)), H = json_integer_value(json_array_get(shape, 1)),
            W = json_integer_value(json_array_get(shape, 2));
    int64_t pad = cvl_config_int(cfg, "dataset.pad");
    if (C != 1 || s->rows + 2 * pad != H || s->cols + 2 * pad != W)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: input_shape [%lld, %lld, %lld] does not match the dataset's 1x%lldx%lld images padded by %lld",
                           cfg->source, (long long)C, (long long)H, (long long)W, (long long)s->rows, (long long)s->cols,
                           (long long)pad);
    const json_t *mean = cvl_config_get(cfg, "normalize.mean"), *std = cvl_config_get(cfg, "normalize.std");
    float m = (float)json_number_value(json_array_get(mean, 0)), sd = (float)json_number_value(json_array_get(std, 0));
    d->n = n;
    d->sample = H * W;
    d->x = malloc((size_t)(n * H * W) * sizeof *d->x);
    d->y = malloc((size_t)n * sizeof *d->y);
    if (!d->x || !d->y) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    float zero = (0.0f - m) / sd;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = idx ? idx[i] : i;
        float *dst = d->x + i * H * W;
        for (int64_t p = 0; p < H * W; p++) dst[p] = zero;
        for (int64_t r = 0; r < s->rows; r++)
            for (int64_t c = 0; c < s->cols; c++)
                dst[(r + pad) * W + c + pad] = ((float)s->images[(k * s->rows + r) * s->cols + c] / 255.0f - m) / sd;
        d->y[i] = s->labels[k];
    }
    return CVL_OK;
}

static void dataset_free(dataset *d) {
    free(d->x);
    free(d->y);
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void shuffle(int64_t *perm, int64_t n, uint64_t seed) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(xorshift(&s) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* --------------------------------------------------------- evaluation */

/* Copies every parameter and buffer from the training backend by name. */
static cvl_status sync_weights(cvl_backend *dst, const cvl_graph *gd, cvl_backend *src, const cvl_graph *gs, cvl_err *e) {
    for (int32_t i = 0; i < gd->n; i++) {
        cvl_tensor *t = gd->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
        cvl_tensor *s = cvl_graph_find(gs, t->name);
        if (s == NULL) return cvl_err_set(e, CVL_ERR_INTERNAL, "evaluation graph has '%s', training has not", t->name);
        size_t nb = cvl_tensor_nbytes(t);
        void *buf = malloc(nb);
        if (!buf) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        cvl_backend_read(src, s, buf, nb, e);
        cvl_backend_write(dst, t, buf, nb, e);
        free(buf);
    }
    return e->status;
}

/* Accuracy and mean loss over `d`, in batches of the eval graph's size; the
 * last partial batch is padded and its padding ignored. */
static void evaluate(cvl_backend *be, const model *m, const dataset *d, int64_t max_batches, double *acc, double *loss,
                     cvl_err *e) {
    int64_t B = m->m.image->shape[0], correct = 0, seen = 0;
    float *x = calloc((size_t)(B * d->sample), sizeof *x), *logits = malloc((size_t)B * CLASSES * sizeof *logits);
    int32_t *y = calloc((size_t)B, sizeof *y);
    double total = 0;
    for (int64_t b = 0; b * B < d->n && (max_batches == 0 || b < max_batches); b++) {
        int64_t n = d->n - b * B < B ? d->n - b * B : B;
        memcpy(x, d->x + b * B * d->sample, (size_t)(n * d->sample) * sizeof *x);
        memcpy(y, d->y + b * B, (size_t)n * sizeof *y);
        cvl_backend_write(be, m->m.image, x, (size_t)(B * d->sample) * sizeof *x, e);
        cvl_backend_write(be, m->m.labels, y, (size_t)B * sizeof *y, e);
        cvl_step_scalars s = {.training = false};
        cvl_backend_run(be, 0, m->n_fwd, &s, e);
        cvl_backend_read(be, m->m.logits, logits, (size_t)B * CLASSES * sizeof *logits, e);
        for (int64_t i = 0; i < n; i++) {
            const float *z = logits + i * CLASSES;
            int best = 0;
            double mx = z[0], se = 0;
            for (int c = 1; c < CLASSES; c++) {
                if (z[c] > z[best]) best = c;
                if (z[c] > mx) mx = z[c];
            }
            for (int c = 0; c < CLASSES; c++) se += exp(z[c] - mx);
            total += mx + log(se) - z[y[i]];
            correct += best == y[i];
        }
        seen += n;
    }
    *acc = seen ? (double)correct / (double)seen : 0;
    *loss = seen ? total / (double)seen : 0;
    free(x);
    free(y);
    free(logits);
}

/* -------------------------------------------------------------- output */

static cvl_status make_run_dir(char *out, size_t n, const cvl_config *cfg, const cvl_train_options *opt, cvl_err *e) {
    if (opt && opt->run_dir) {
        snprintf(out, n, "%s", opt->run_dir);
    } else {
        char src[512];
        snprintf(src, sizeof src, "%s", cfg->source);
        char *base = basename(src), *dot = strrchr(base, '.');
        if (dot) *dot = '\0';
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        const char *parent = cvl_config_string(cfg, "run_dir");
        if (mkdir(parent, 0777) != 0 && errno != EEXIST)
            return cvl_err_set(e, CVL_ERR_IO, "%s: cannot create run_dir: %s", parent, strerror(errno));
        snprintf(out, n, "%s/%s-%s", parent, base, stamp);
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST)
        return cvl_err_set(e, CVL_ERR_IO, "%s: cannot create the run directory: %s", out, strerror(errno));
    return CVL_OK;
}

static void progress(bool tty, int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double sps,
                     double eta) {
    if (tty) {
        fprintf(stderr, "\repoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %02d:%02d   ", (long long)epoch,
                (long long)epochs, (long long)step, (long long)steps, loss, sps, (int)(eta / 60), (int)fmod(eta, 60));
    } else {
        fprintf(stderr, "epoch %lld/%lld step %lld/%lld loss %.4f samples/s %.0f eta_s %.0f\n", (long long)epoch,
                (long long)epochs, (long long)step, (long long)steps, loss, sps, eta);
    }
    fflush(stderr);
}

/* The compute device a run uses: the CPU, or a Vulkan device. */
typedef struct device_ctx {
    cvl_vk_instance *inst;
    cvl_vk_device *dev;
} device_ctx;

static cvl_status open_device(device_ctx *d, const char *spec, bool show, cvl_err *e) {
    memset(d, 0, sizeof *d);
    if (strcmp(spec, "cpu") == 0) return CVL_OK;
    cvl_vk_instance_opts io = {0};
    cvl_err ie = {0};
    const char *why = NULL;
    if (cvl_vk_instance_new(&d->inst, &io, &ie) != CVL_OK) {
        d->inst = NULL;
        why = ie.msg;
    }
    cvl_device_choice ch;
    cvl_status st = cvl_device_select(&ch, spec, d->inst, why, e);
    if (st == CVL_OK && ch.note[0] && show) fprintf(stderr, "cvl: %s\n", ch.note);
    if (st == CVL_OK && ch.kind == CVL_DEVICE_VULKAN) {
        cvl_vk_device_opts o = {0};
        st = cvl_vk_device_new(&d->dev, d->inst, ch.index, &o, e);
        if (st == CVL_OK && show) fprintf(stderr, "cvl: training on %s\n", d->dev->info.name);
    }
    if (st != CVL_OK || d->dev == NULL) {
        cvl_vk_instance_free(d->inst);
        d->inst = NULL;
    }
    return st;
}

static void close_device(device_ctx *d) {
    if (d->dev) cvl_vk_device_free(d->dev);
    if (d->inst) cvl_vk_instance_free(d->inst);
}

static cvl_backend *new_backend(const device_ctx *d, int threads) {
    return d->dev ? cvl_backend_vulkan_new(d->dev) : cvl_backend_cpu_new(threads);
}

cvl_status cvl_train(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                     cvl_train_result *res, cvl_err *e) {
    memset(res, 0, sizeof *res);
    res->val_accuracy = -1;
    int threads = opt && opt->threads >= 0 ? opt->threads : (int)cvl_config_int(cfg, "threads");
    int64_t B = cvl_config_int(cfg, "train_batch_size"), EB = cvl_config_int(cfg, "val_batch_size");

    /* Data first: a bad dataset fails before any model work. */
    cvl_idx_split tr = {0}, te = {0};
    const char *root = cvl_config_string(cfg, "dataset.root");
    cvl_status st = cvl_idx_load(&tr, root, "train", CLASSES, e);
    if (st == CVL_OK) st = cvl_idx_load(&te, root, "t10k", CLASSES, e);
    if (st) {
        cvl_idx_free(&tr);
        return st;
    }
    int64_t n_val = (int64_t)floor(cvl_config_float(cfg, "dataset.val_split") * (double)tr.n);
    int64_t *perm = malloc((size_t)tr.n * sizeof *perm);
    shuffle(perm, tr.n, (uint64_t)cvl_config_int(cfg, "seed") ^ 0x5a1u);
    dataset train = {0}, val = {0}, test = {0};
    st = prepare(&train, &tr, perm + n_val, tr.n - n_val, cfg, e);
    if (st == CVL_OK && n_val > 0) st = prepare(&val, &tr, perm, n_val, cfg, e);
    if (st == CVL_OK) st = prepare(&test, &te, NULL, te.n, cfg, e);
    cvl_idx_free(&tr);
    cvl_idx_free(&te);
    if (st == CVL_OK && train.n < B)
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: train_batch_size %lld is larger than the %lld training samples",
                         cfg->source, (long long)B, (long long)train.n);

    model m = {0}, me = {0};
    cvl_backend *be = NULL, *bee = NULL;
    if (st == CVL_OK) st = build(reg, cfg, B, true, &m, e);
    if (st == CVL_OK) st = build(reg, cfg, EB, false, &me, e);
    device_ctx dc = {0};
    const char *device = opt && opt->device ? opt->device : cvl_config_string(cfg, "device");
    if (st == CVL_OK) st = open_device(&dc, device, !(opt && opt->quiet), e);
    if (st == CVL_OK) {
        be = new_backend(&dc, threads);
        bee = new_backend(&dc, threads);
        if (!be || !bee) st = cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    if (st == CVL_OK) st = cvl_backend_plan(be, m.g, e);
    if (st == CVL_OK) st = cvl_backend_plan(bee, me.g, e);
    FILE *metrics = NULL;
    if (st == CVL_OK) st = make_run_dir(res->run_dir, sizeof res->run_dir, cfg, opt, e);
    if (st == CVL_OK) {
        char path[1200];
        snprintf(path, sizeof path, "%s/config.json", res->run_dir);
        if (json_dump_file(cfg->root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            st = cvl_err_set(e, CVL_ERR_IO, "%s: cannot write", path);
        snprintf(path, sizeof path, "%s/metrics.jsonl", res->run_dir);
        metrics = st == CVL_OK ? fopen(path, "w") : NULL;
        if (st == CVL_OK && metrics == NULL) st = cvl_err_set(e, CVL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }

    int64_t epochs = cvl_config_int(cfg, "epochs"), cap = cvl_config_int(cfg, "train_steps_per_epoch");
    int64_t per_epoch = train.n / B;
    if (cap > 0 && cap < per_epoch) per_epoch = cap;
    int64_t total = per_epoch * epochs, step = 0, log_every = cvl_config_int(cfg, "log_every");
    uint64_t seed = (uint64_t)cvl_config_int(cfg, "seed");
    bool tty = !(opt && opt->quiet) && isatty(2);
    bool show = !(opt && opt->quiet);
    float *xb = st == CVL_OK ? malloc((size_t)(B * train.sample) * sizeof *xb) : NULL;
    int32_t *yb = st == CVL_OK ? malloc((size_t)B * sizeof *yb) : NULL;
    int64_t *order = st == CVL_OK ? malloc((size_t)train.n * sizeof *order) : NULL;
    double t_train = 0, window_loss = 0;
    int64_t window = 0;
    for (int64_t ep = 1; st == CVL_OK && ep <= epochs; ep++) {
        shuffle(order, train.n, seed + (uint64_t)ep);
        for (int64_t s = 0; s < per_epoch; s++) {
            for (int64_t k = 0; k < B; k++) {
                int64_t i = order[s * B + k];
                memcpy(xb + k * train.sample, train.x + i * train.sample, (size_t)train.sample * sizeof *xb);
                yb[k] = train.y[i];
            }
            cvl_backend_write(be, m.m.image, xb, (size_t)(B * train.sample) * sizeof *xb, e);
            cvl_backend_write(be, m.m.labels, yb, (size_t)B * sizeof *yb, e);
            step++;
            double lr = cvl_lr_at(cfg, step, total);
            cvl_step_scalars sc = {.lr = lr, .step = step, .seed = seed, .training = true};
            double t0 = now();
            cvl_backend_run(be, 0, cvl_graph_size(m.g), &sc, e);
            t_train += now() - t0;
            float loss;
            cvl_backend_read(be, m.m.loss, &loss, sizeof loss, e);
            if (!isfinite(loss)) {
                st = cvl_err_set(e, CVL_ERR_INVALID, "step %lld: the loss is %f; stopping (lower lr?)", (long long)step,
                                 (double)loss);
                break;
            }
            window_loss += loss;
            window++;
            res->last_loss = loss;
            double sps = (double)(step * B) / t_train, eta = (double)(total - step) * B / sps;
            if (step % log_every == 0 || s + 1 == per_epoch) {
                fprintf(metrics, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6f, \"lr\": %.6g, \"samples_per_s\": %.1f}\n",
                        (long long)step, (long long)ep, window_loss / (double)window, lr, sps);
                fflush(metrics);
                if (show) progress(tty, ep, epochs, step, total, window_loss / (double)window, sps, eta);
                window_loss = 0;
                window = 0;
            } else if (tty && step % 5 == 0) {
                progress(tty, ep, epochs, step, total, loss, sps, eta);
            }
        }
        if (st != CVL_OK) break;
        if (tty) fputc('\n', stderr);
        st = sync_weights(bee, me.g, be, m.g, e);
        double acc, vloss;
        const dataset *vs = n_val > 0 ? &val : &test;
        evaluate(bee, &me, vs, cvl_config_int(cfg, "val_steps_per_epoch"), &acc, &vloss, e);
        if (n_val > 0) res->val_accuracy = acc;
        fprintf(metrics, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6f, \"split\": \"%s\", \"accuracy\": %.6f}\n",
                (long long)step, (long long)ep, vloss, n_val > 0 ? "val" : "test", acc);
        fflush(metrics);
        if (show)
            fprintf(stderr, "epoch %lld: %s loss %.4f accuracy %.4f\n", (long long)ep, n_val > 0 ? "val" : "test", vloss, acc);
    }
    if (st == CVL_OK) {
        double acc, tloss;
        evaluate(bee, &me, &test, 0, &acc, &tloss, e);
        res->test_accuracy = acc;
        res->steps = step;
        res->train_seconds = t_train;
        res->samples_per_s = t_train > 0 ? (double)(step * B) / t_train : 0;
        fprintf(metrics, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6f, \"split\": \"test\", \"accuracy\": %.6f}\n",
                (long long)step, (long long)epochs, tloss, acc);
    }
    if (metrics) fclose(metrics);
    free(xb);
    free(yb);
    free(order);
    free(perm);
    dataset_free(&train);
    dataset_free(&val);
    dataset_free(&test);
    cvl_backend_free(be);
    cvl_backend_free(bee);
    close_device(&dc);
    cvl_graph_free(m.g);
    cvl_graph_free(me.g);
    return st;
}
