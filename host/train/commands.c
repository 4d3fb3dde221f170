/* commands.c -- eval and predict over a model's weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"
#include "train/session.h"

static cvl_status open_for_inference(cvl_session *s, const cvl_registry *reg, const cvl_config *cfg,
                                     const cvl_train_options *opt, const char *weights, cvl_err *e) {
    int threads = opt && opt->threads >= 0 ? opt->threads : (int)cvl_config_int(cfg, "threads");
    const char *device = opt && opt->device ? opt->device : cvl_config_string(cfg, "device");
    if (cvl_session_open(s, reg, cfg, device, threads, !opt || opt->quiet, false, e) != CVL_OK) return e->status;
    if (weights == NULL) return CVL_OK;
    return cvl_ckpt_load(weights, s->ev.be, s->ev.net.g, CVL_CKPT_WEIGHTS, cvl_config_get(cfg, "weights_map"), NULL,
                         NULL, e);
}

cvl_status cvl_eval(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt, const char *weights,
                    json_t **out, cvl_err *e) {
    *out = NULL;
    cvl_session s;
    cvl_status st = open_for_inference(&s, reg, cfg, opt, weights, e);
    const char *split = NULL;
    const cvl_dataset *ds = st == CVL_OK ? cvl_session_eval_split(&s, &split) : NULL;
    if (st == CVL_OK) st = cvl_evaluator_run(&s.ev, ds, 0, e);
    if (st == CVL_OK) {
        json_t *m = json_object();
        cvl_evaluator_json(&s.ev, m, "", true);
        *out = json_pack("{s:s,s:I,s:o}", "split", split, "samples", (json_int_t)s.ev.n, "metrics", m);
        if (s.dc.class_names) {
            json_t *names = json_array();
            for (int k = 0; k < s.dc.classes; k++) json_array_append_new(names, json_string(s.dc.class_names[k]));
            json_object_set_new(*out, "class_names", names);
        }
    }
    cvl_session_close(&s);
    return st;
}

cvl_status cvl_predict(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                       const char *weights, const char *const *files, int n_files, int k, json_t **out, cvl_err *e) {
    *out = NULL;
    if (n_files < 1 || n_files > 4096) return cvl_err_set(e, CVL_ERR_INVALID, "predict takes 1 to 4096 images");
    cvl_session s;
    if (open_for_inference(&s, reg, cfg, opt, weights, e) != CVL_OK) {
        cvl_session_close(&s);
        return e->status;
    }
    const cvl_net *net = &s.ev.net;
    const cvl_dataset *ds = s.data.train;
    const cvl_net_input *in = &net->in[0];
    const cvl_data_decl *d = &ds->inputs[in->ds_index];
    if (net->n_inputs != 1 || d->kind != CVL_DATA_IMAGE || net->tg[0].kind != CVL_TARGET_CLASS) {
        cvl_session_close(&s);
        return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "%s: predict takes models with one image input and a category target",
                           cfg->source);
    }
    /* decode at the dataset's image size, then the deterministic transforms */
    int64_t raw[3] = {s.data.decode_shape[0], s.data.decode_shape[1], s.data.decode_shape[2]}, shape[3], max_elems;
    if (cvl_transform_shape(shape, &max_elems, s.dc.tf, s.dc.n_tf, raw, e) != CVL_OK) {
        cvl_session_close(&s);
        return cvl_err_prefix(e, "%s: ", cfg->source);
    }
    int64_t per = in->per_sample, K = net->tg[0].dim;
    if (max_elems < per) max_elems = per;
    float *x = calloc((size_t)(n_files * per), sizeof *x), *img = malloc((size_t)max_elems * sizeof *img),
          *tmp = malloc((size_t)max_elems * sizeof *tmp), *pred = malloc((size_t)(n_files * K) * sizeof *pred);
    int64_t *index = calloc((size_t)n_files, sizeof *index);
    int32_t *labels = calloc((size_t)n_files, sizeof *labels);
    if (!x || !img || !tmp || !pred || !index || !labels) cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    for (int f = 0; f < n_files && e->status == CVL_OK; f++) {
        uint8_t *buf;
        size_t len;
        if (cvl_data_read_file(&buf, &len, files[f], e) != CVL_OK) break;
        cvl_image_decode_mem(img, buf, len, raw[0], raw[1], raw[2], files[f], e);
        free(buf);
        if (e->status) break;
        int64_t sh[3] = {raw[0], raw[1], raw[2]};
        cvl_transform_apply(img, tmp, s.dc.tf, s.dc.n_tf, sh, 0, s.dc.seed, 0, (uint64_t)f);
        memcpy(x + f * per, img, (size_t)per * sizeof *x);
    }
    cvl_batch b = {.n = n_files, .index = index};
    b.inputs[in->ds_index] = x;
    b.labels[net->tg[0].ds_index] = labels;
    float *preds[CVL_NET_MAX] = {pred};
    float *other[CVL_NET_MAX] = {0};
    for (int t = 1; t < net->n_targets && e->status == CVL_OK; t++) {
        other[t] = malloc((size_t)(n_files * net->tg[t].dim) * sizeof(float));
        preds[t] = other[t];
        if (other[t] == NULL) cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    }
    if (e->status == CVL_OK) cvl_evaluator_forward(&s.ev, &b, preds, e);
    if (e->status == CVL_OK) {
        json_t *arr = json_array();
        if (k > K) k = (int)K;
        for (int f = 0; f < n_files; f++) {
            const float *z = pred + f * K;
            double mx = z[0], se = 0;
            for (int64_t c = 1; c < K; c++) mx = fmax(mx, z[c]);
            for (int64_t c = 0; c < K; c++) se += exp(z[c] - mx);
            json_t *top = json_array();
            bool used[4096] = {0};
            for (int r = 0; r < k; r++) {
                int64_t best = -1;
                for (int64_t c = 0; c < K && c < 4096; c++)
                    if (!used[c] && (best < 0 || z[c] > z[best])) best = c;
                used[best] = true;
                json_t *o = json_pack("{s:I,s:f}", "class", (json_int_t)best, "p", exp(z[best] - mx) / se);
                if (s.dc.class_names && best < s.dc.classes)
                    json_object_set_new(o, "name", json_string(s.dc.class_names[best]));
                json_array_append_new(top, o);
            }
            json_array_append_new(arr, json_pack("{s:s,s:o}", "file", files[f], "top", top));
        }
        *out = arr;
    }
    for (int t = 0; t < CVL_NET_MAX; t++) free(other[t]);
    free(x);
    free(img);
    free(tmp);
    free(pred);
    free(index);
    free(labels);
    cvl_session_close(&s);
    return e->status;
}
