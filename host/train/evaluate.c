/* evaluate.c -- evaluation over a split; the compute device. */
#include "train/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_backend.h"

/* ------------------------------------------------------------ device */

cvl_status cvl_device_open(cvl_device_ctx *d, const char *spec, bool show, cvl_err *e) {
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
        if (st == CVL_OK && show) fprintf(stderr, "cvl: running on %s\n", d->dev->info.name);
    }
    if (st != CVL_OK || d->dev == NULL) {
        cvl_vk_instance_free(d->inst);
        d->inst = NULL;
    }
    return st;
}

void cvl_device_close(cvl_device_ctx *d) {
    if (d->dev) cvl_vk_device_free(d->dev);
    if (d->inst) cvl_vk_instance_free(d->inst);
    memset(d, 0, sizeof *d);
}

cvl_backend *cvl_device_backend(const cvl_device_ctx *d, int threads) {
    return d->dev ? cvl_backend_vulkan_new(d->dev) : cvl_backend_cpu_new(threads);
}

/* --------------------------------------------------------- evaluator */

static cvl_status make_net(cvl_evaluator *ev, cvl_net *net, cvl_backend **be, int64_t batch, cvl_err *e) {
    if (cvl_net_build(net, ev->reg, ev->cfg, ev->data, batch, false, e) != CVL_OK) return e->status;
    *be = cvl_device_backend(ev->dev, ev->threads);
    if (*be == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    return cvl_backend_plan(*be, net->g, e);
}

cvl_status cvl_evaluator_init(cvl_evaluator *ev, const cvl_registry *reg, const cvl_config *cfg,
                              const cvl_data_config *dc, const cvl_data *data, const cvl_device_ctx *dev,
                              int threads, cvl_err *e) {
    memset(ev, 0, sizeof *ev);
    ev->reg = reg;
    ev->cfg = cfg;
    ev->dc = dc;
    ev->data = data;
    ev->dev = dev;
    ev->threads = threads;
    if (make_net(ev, &ev->net, &ev->be, cvl_config_int(cfg, "val_batch_size"), e) != CVL_OK) return e->status;
    for (int t = 0; t < ev->net.n_targets; t++) {
        ev->m[t] = cvl_metrics_new(ev->net.tg[t].kind, ev->net.tg[t].dim);
        if (ev->m[t] == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    return CVL_OK;
}

void cvl_evaluator_free(cvl_evaluator *ev) {
    for (int t = 0; t < CVL_NET_MAX; t++) cvl_metrics_free(ev->m[t]);
    if (ev->be) cvl_backend_free(ev->be);
    if (ev->tail_be) cvl_backend_free(ev->tail_be);
    cvl_net_free(&ev->net);
    cvl_net_free(&ev->tail);
    memset(ev, 0, sizeof *ev);
}

cvl_status cvl_evaluator_sync(cvl_evaluator *ev, cvl_backend *src, const cvl_net *from, cvl_err *e) {
    if (cvl_net_copy_weights(ev->be, &ev->net, src, from, e) != CVL_OK) return e->status;
    if (ev->tail_be) cvl_net_copy_weights(ev->tail_be, &ev->tail, src, from, e);
    return e->status;
}

/* The net for a batch of n samples: the main one, or the tail net of
 * exactly n (rebuilt when n changes), weights copied from the main one. */
static cvl_status net_for(cvl_evaluator *ev, int64_t n, cvl_net **net, cvl_backend **be, cvl_err *e) {
    *net = NULL;
    *be = NULL;
    if (n == ev->net.batch) {
        *net = &ev->net;
        *be = ev->be;
        return CVL_OK;
    }
    if (ev->tail_be == NULL || ev->tail.batch != n) {
        if (ev->tail_be) cvl_backend_free(ev->tail_be);
        ev->tail_be = NULL;
        cvl_net_free(&ev->tail);
        if (make_net(ev, &ev->tail, &ev->tail_be, n, e) != CVL_OK) return e->status;
    }
    if (cvl_net_copy_weights(ev->tail_be, &ev->tail, ev->be, &ev->net, e) != CVL_OK) return e->status;
    *net = &ev->tail;
    *be = ev->tail_be;
    return CVL_OK;
}

static cvl_status forward(cvl_evaluator *ev, const cvl_batch *b, cvl_net **out, cvl_backend **obe, cvl_err *e) {
    cvl_net *net = NULL;
    cvl_backend *be = NULL;
    if (net_for(ev, b->n, &net, &be, e) != CVL_OK) return e->status;
    if (cvl_net_feed(net, be, b, e) != CVL_OK) return e->status;
    cvl_step_scalars s = {.training = false};
    if (cvl_backend_run(be, 0, net->n_fwd, &s, e) != CVL_OK) return e->status;
    *out = net;
    *obe = be;
    return CVL_OK;
}

cvl_status cvl_evaluator_forward(cvl_evaluator *ev, const cvl_batch *b, float **pred, cvl_err *e) {
    cvl_net *net = NULL;
    cvl_backend *be = NULL;
    if (forward(ev, b, &net, &be, e) != CVL_OK) return e->status;
    for (int t = 0; t < net->n_targets && e->status == CVL_OK; t++)
        cvl_backend_read(be, net->tg[t].pred, pred[t], (size_t)(b->n * net->tg[t].dim) * sizeof(float), e);
    return e->status;
}

cvl_status cvl_evaluator_run(cvl_evaluator *ev, const cvl_dataset *ds, int64_t max_batches, cvl_err *e) {
    const cvl_data_config *dc = ev->dc;
    cvl_loader_opts lo = {.batch = ev->net.batch, .shuffle = 0, .drop_last = 0, .workers = dc->workers,
                          .seed = dc->seed, .tf = dc->tf, .n_tf = dc->n_tf, .training = 0};
    cvl_loader *ld;
    if (cvl_loader_init(&ld, ds, &lo, e) != CVL_OK) return e->status;
    cvl_loader_start_epoch(ld, 0);
    float *pred[CVL_NET_MAX] = {0};
    for (int t = 0; t < ev->net.n_targets; t++) {
        cvl_metrics_reset(ev->m[t]);
        pred[t] = malloc((size_t)(ev->net.batch * ev->net.tg[t].dim) * sizeof(float));
        ev->losses[t] = 0;
        if (pred[t] == NULL) cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    double total = 0;
    int64_t seen = 0;
    const cvl_batch *b;
    for (int64_t k = 0; e->status == CVL_OK && (max_batches == 0 || k < max_batches); k++) {
        if (cvl_loader_next(&b, ld, e) != CVL_OK || b == NULL) break;
        cvl_net *net = NULL;
        cvl_backend *be = NULL;
        if (forward(ev, b, &net, &be, e) != CVL_OK) break;
        float loss;
        cvl_backend_read(be, net->loss, &loss, sizeof loss, e);
        total += (double)loss * (double)b->n;
        for (int t = 0; t < net->n_targets && e->status == CVL_OK; t++) {
            const cvl_net_target *tg = &net->tg[t];
            float lt;
            cvl_backend_read(be, tg->loss, &lt, sizeof lt, e);
            ev->losses[t] += (double)lt * (double)b->n;
            cvl_backend_read(be, tg->pred, pred[t], (size_t)(b->n * tg->dim) * sizeof(float), e);
            cvl_metrics_add(ev->m[t], pred[t], b->labels[tg->ds_index], b->values[tg->ds_index], b->n);
        }
        seen += b->n;
    }
    cvl_loader_free(ld);
    for (int t = 0; t < CVL_NET_MAX; t++) free(pred[t]);
    ev->n = seen;
    ev->loss = seen ? total / (double)seen : NAN;
    for (int t = 0; t < ev->net.n_targets; t++) ev->losses[t] = seen ? ev->losses[t] / (double)seen : NAN;
    return e->status;
}

void cvl_evaluator_json(const cvl_evaluator *ev, json_t *obj, const char *prefix, bool full) {
    char k[256];
    snprintf(k, sizeof k, "%sloss", prefix);
    json_object_set_new(obj, k, isfinite(ev->loss) ? json_real(ev->loss) : json_null());
    for (int t = 0; t < ev->net.n_targets; t++) {
        char p[200];
        if (t == 0)
            snprintf(p, sizeof p, "%s", prefix);
        else
            snprintf(p, sizeof p, "%s%s.", prefix, ev->net.tg[t].name);
        if (ev->net.n_targets > 1) {
            snprintf(k, sizeof k, "%s%sloss", p, t == 0 ? "target_" : "");
            if (t > 0) json_object_set_new(obj, k, json_real(ev->losses[t]));
        }
        cvl_metrics_to_json(ev->m[t], obj, p, full);
    }
}
