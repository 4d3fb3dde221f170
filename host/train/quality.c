/* quality.c -- the quality checks run before training (and by `check`).
 *
 *   data       the first training batch has the model's input shapes,
 *              finite values, labels in range
 *   grid       that batch, as augmented, is written as a PNG grid
 *   roundtrip  save the weights, load them into a net whose weights were
 *              zeroed, and get bit-identical outputs on that batch
 *   overfit    a fresh copy of the model trained on that one batch at the
 *              configured lr: the loss must fall by checks.overfit_factor
 *              within checks.overfit_steps steps
 * Each check prints one line; the first that fails stops with its reason. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/graph_internal.h"
#include "train/checkpoint.h"
#include "train/session.h"

static void say(const cvl_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const cvl_session *s, const char *fmt, ...) {
    if (!s->show) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("check ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static cvl_status check_data(cvl_session *s, const cvl_batch *b, cvl_err *e) {
    const cvl_net *net = &s->net;
    for (int i = 0; i < net->n_inputs; i++) {
        const float *x = b->inputs[net->in[i].ds_index];
        int64_t n = b->n * net->in[i].per_sample;
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(x[k]))
                return cvl_err_set(e, CVL_ERR_INVALID, "check data: input %s of sample %lld holds %f",
                                   net->in[i].name, (long long)b->index[k / net->in[i].per_sample], (double)x[k]);
    }
    for (int t = 0; t < net->n_targets; t++) {
        const cvl_net_target *tg = &net->tg[t];
        if (tg->kind == CVL_TARGET_CLASS) {
            const int32_t *y = b->labels[tg->ds_index];
            for (int64_t k = 0; k < b->n; k++)
                if (y[k] < 0 || y[k] >= tg->dim)
                    return cvl_err_set(e, CVL_ERR_INVALID, "check data: target %s of sample %lld is %d, outside [0, %lld)",
                                       tg->name, (long long)b->index[k], y[k], (long long)tg->dim);
        } else {
            const float *v = b->values[tg->ds_index];
            for (int64_t k = 0; k < b->n * tg->dim; k++)
                if (!isfinite(v[k]))
                    return cvl_err_set(e, CVL_ERR_INVALID, "check data: target %s of sample %lld holds %f", tg->name,
                                       (long long)b->index[k / tg->dim], (double)v[k]);
        }
    }
    char shape[128];
    say(s, "data: ok (batch of %lld, %s %s, %d target%s)", (long long)b->n, net->in[0].name,
        cvl_shape_str(net->in[0].x, shape, sizeof shape), net->n_targets, net->n_targets > 1 ? "s" : "");
    return CVL_OK;
}

/* Zeroes every parameter and buffer of a net on its backend. */
static cvl_status zero_weights(cvl_backend *be, const cvl_net *net, cvl_err *e) {
    const cvl_graph *g = net->g;
    for (int32_t i = 0; i < g->n && e->status == CVL_OK; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
        void *z = calloc(1, cvl_tensor_nbytes(t));
        if (z == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        cvl_backend_write(be, t, z, cvl_tensor_nbytes(t), e);
        free(z);
    }
    return e->status;
}

static cvl_status check_roundtrip(cvl_session *s, const cvl_batch *b, const char *dir, cvl_err *e) {
    char path[1200];
    snprintf(path, sizeof path, "%s/.roundtrip-check.safetensors", dir);
    cvl_evaluator other;
    float *a[CVL_NET_MAX] = {0}, *c[CVL_NET_MAX] = {0};
    if (cvl_evaluator_init(&other, s->reg, s->cfg, &s->dc, &s->data, &s->dev, s->threads, e) != CVL_OK) {
        cvl_evaluator_free(&other);
        return e->status;
    }
    for (int t = 0; t < s->net.n_targets; t++) {
        a[t] = malloc((size_t)(b->n * s->net.tg[t].dim) * sizeof(float));
        c[t] = malloc((size_t)(b->n * s->net.tg[t].dim) * sizeof(float));
        if (!a[t] || !c[t]) cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    if (e->status == CVL_OK) cvl_ckpt_save(path, s->be, s->net.g, false, NULL, s->cfg->root, e);
    if (e->status == CVL_OK) cvl_evaluator_sync(&s->ev, s->be, &s->net, e);
    if (e->status == CVL_OK) cvl_evaluator_forward(&s->ev, b, a, e);
    if (e->status == CVL_OK) zero_weights(other.be, &other.net, e);
    if (e->status == CVL_OK) cvl_ckpt_load(path, other.be, other.net.g, CVL_CKPT_WEIGHTS, NULL, NULL, NULL, e);
    if (e->status == CVL_OK) cvl_evaluator_forward(&other, b, c, e);
    unlink(path);
    for (int t = 0; t < s->net.n_targets && e->status == CVL_OK; t++) {
        int64_t n = b->n * s->net.tg[t].dim;
        for (int64_t k = 0; k < n; k++)
            if (memcmp(&a[t][k], &c[t][k], sizeof(float)) != 0) {
                cvl_err_set(e, CVL_ERR_INVALID,
                            "check roundtrip: output %s[%lld] is %.9g after saving and loading, %.9g before",
                            s->net.tg[t].name, (long long)k, (double)c[t][k], (double)a[t][k]);
                break;
            }
    }
    if (e->status == CVL_OK) say(s, "roundtrip: ok (save, load into a zeroed model: identical outputs on %lld samples)",
                                 (long long)b->n);
    for (int t = 0; t < CVL_NET_MAX; t++) {
        free(a[t]);
        free(c[t]);
    }
    cvl_evaluator_free(&other);
    return e->status;
}

static cvl_status check_overfit(cvl_session *s, const cvl_batch *b, cvl_err *e) {
    int64_t steps = cvl_config_int(s->cfg, "checks.overfit_steps");
    double factor = cvl_config_float(s->cfg, "checks.overfit_factor");
    if (steps == 0) return CVL_OK;
    cvl_net net;
    cvl_backend *be = NULL;
    cvl_status st = cvl_net_build(&net, s->reg, s->cfg, &s->data, s->net.batch, true, e);
    if (st == CVL_OK) {
        be = cvl_device_backend(&s->dev, s->threads);
        st = be ? cvl_backend_plan(be, net.g, e) : cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    /* start from the training net's weights (a --weights file included) */
    if (st == CVL_OK) st = cvl_net_copy_weights(be, &net, s->be, &s->net, e);
    if (st == CVL_OK) st = cvl_net_feed(&net, be, b, e);
    double first = NAN, last = NAN;
    double lr = cvl_config_float(s->cfg, "lr");
    for (int64_t k = 1; st == CVL_OK && k <= steps; k++) {
        cvl_step_scalars sc = {.lr = lr, .step = k, .seed = s->dc.seed, .training = true};
        st = cvl_backend_run(be, 0, cvl_graph_size(net.g), &sc, e);
        float loss = NAN;
        if (st == CVL_OK) st = cvl_backend_read(be, net.loss, &loss, sizeof loss, e);
        if (k == 1) first = loss;
        last = loss;
        if (st == CVL_OK && !isfinite(loss))
            st = cvl_err_set(e, CVL_ERR_INVALID, "check overfit: the loss is %f at step %lld on one batch (lr %g too high?)",
                             (double)loss, (long long)k, lr);
    }
    if (be) cvl_backend_free(be);
    cvl_net_free(&net);
    if (st != CVL_OK) return st;
    if (!(last * factor <= first))
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "check overfit: the loss fell from %.4g to %.4g in %lld steps on one batch, less than "
                           "checks.overfit_factor %g; the model does not learn (lr? loss? labels?)",
                           first, last, (long long)steps, factor);
    say(s, "overfit: ok (one batch, %lld steps: loss %.4g -> %.4g, at least %gx lower)", (long long)steps, first, last,
        factor);
    return CVL_OK;
}

cvl_status cvl_quality_checks(cvl_session *s, const char *dir, cvl_err *e) {
    cvl_loader_opts lo = {.batch = s->net.batch, .shuffle = 1, .drop_last = 1, .training = 1, .workers = 0,
                          .seed = s->dc.seed, .tf = s->dc.tf, .n_tf = s->dc.n_tf};
    cvl_loader *ld;
    if (cvl_loader_init(&ld, s->data.train, &lo, e) != CVL_OK) return e->status;
    cvl_loader_start_epoch(ld, 1); /* the first batch training will see */
    const cvl_batch *b = NULL;
    cvl_status st = cvl_loader_next(&b, ld, e);
    if (st == CVL_OK && b == NULL) st = cvl_err_set(e, CVL_ERR_INVALID, "check data: the training split yields no batch");
    if (st == CVL_OK) st = check_data(s, b, e);
    if (st == CVL_OK) {
        char path[1200];
        snprintf(path, sizeof path, "%s/augmented_batch.png", dir);
        st = cvl_data_write_grid(path, b, s->dc.class_names, s->dc.classes, e);
        if (st == CVL_OK) say(s, "grid: %s (the first training batch, augmented)", path);
    }
    if (st == CVL_OK) st = check_roundtrip(s, b, dir, e);
    if (st == CVL_OK) st = check_overfit(s, b, e);
    cvl_loader_free(ld);
    return st;
}

cvl_status cvl_check(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt, const char *dir,
                     cvl_err *e) {
    int threads = opt && opt->threads >= 0 ? opt->threads : (int)cvl_config_int(cfg, "threads");
    const char *device = opt && opt->device ? opt->device : cvl_config_string(cfg, "device");
    char tmp[] = "/tmp/cvl-check-XXXXXX";
    const char *where = dir;
    if (where == NULL) {
        if (mkdtemp(tmp) == NULL) return cvl_err_set(e, CVL_ERR_IO, "cannot make a temporary directory");
        where = tmp;
    }
    cvl_session s;
    cvl_status st = cvl_session_open(&s, reg, cfg, device, threads, opt && opt->quiet, true, e);
    if (st == CVL_OK && opt && opt->weights)
        st = cvl_ckpt_load(opt->weights, s.be, s.net.g, CVL_CKPT_WEIGHTS, cvl_config_get(cfg, "weights_map"), NULL,
                           NULL, e);
    if (st == CVL_OK) st = cvl_quality_checks(&s, where, e);
    cvl_session_close(&s);
    if (dir == NULL) {
        char p[64];
        snprintf(p, sizeof p, "%s/augmented_batch.png", tmp);
        unlink(p);
        snprintf(p, sizeof p, "%s/augmented_batch.png.txt", tmp);
        unlink(p);
        rmdir(tmp);
    }
    return st;
}
