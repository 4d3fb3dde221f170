/* pipeline.c -- the declarative model: config -> graph, bound to a dataset. */
#include "train/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_internal.h"
#include "train/model.h"
#include "util/strutil.h"

const char *cvl_target_kind_name(cvl_target_kind k) {
    static const char *const n[] = {"category", "multi-label", "boolean", "numerical"};
    return n[k];
}

/* ------------------------------------------------------------ config */

typedef struct spec_in {
    const char *name;
    json_t *enc; /* component reference or NULL (the input itself is the feature) */
} spec_in;

typedef struct spec_tg {
    const char *name;
    json_t *head, *loss;
    double weight;
} spec_tg;

static cvl_status unknown_key(const cvl_config *cfg, const char *path, const char *key, const char *const *known,
                              size_t n, cvl_err *e) {
    const char *near = cvl_closest(key, known, n);
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s is not a known key%s%s%s", cfg->source, path, key,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static bool is_component(const json_t *v) {
    return json_is_string(v) || (json_is_object(v) && json_is_string(json_object_get(v, "name")));
}

/* Checks one entry of `inputs` or `targets`: an object with a string name and only `allowed` keys. */
static cvl_status check_entry(const cvl_config *cfg, const char *list, size_t i, const json_t *v,
                              const char *const *allowed, size_t n_allowed, cvl_err *e) {
    char path[64];
    snprintf(path, sizeof path, "%s[%zu]", list, i);
    if (!json_is_object(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be an object", cfg->source, path);
    if (!json_is_string(json_object_get(v, "name")))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name must be a string (a dataset %s)", cfg->source, path,
                           strcmp(list, "inputs") == 0 ? "input" : "target");
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        bool ok = false;
        for (size_t k = 0; k < n_allowed; k++) ok |= strcmp(key, allowed[k]) == 0;
        if (!ok) return unknown_key(cfg, path, key, allowed, n_allowed, e);
        if (strcmp(key, "name") == 0) continue;
        if (strcmp(key, "weight") == 0) {
            if (!json_is_number(x) || json_number_value(x) < 0)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.weight must be a number >= 0", cfg->source, path);
        } else if (!(json_is_null(x) && strcmp(key, "encoder") == 0) && !is_component(x)) {
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s must be a component name or {\"name\": ..., params}%s",
                               cfg->source, path, key, strcmp(key, "encoder") == 0 ? " or null" : "");
        }
    }
    return CVL_OK;
}

/* Finds a dataset input or target by name; the error suggests the nearest. */
static int find_decl(const cvl_config *cfg, const char *path, const cvl_data_decl *d, int n, const char *name,
                     const char *what, cvl_err *e) {
    const char *names[CVL_DATA_MAX_IO] = {0};
    for (int i = 0; i < n; i++) {
        if (strcmp(d[i].name, name) == 0) return i;
        names[i] = d[i].name;
    }
    const char *near = cvl_closest(name, names, (size_t)n);
    char all[512] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(all);
        snprintf(all + l, sizeof all - l, "%s%s", i ? ", " : "", names[i]);
    }
    cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: the dataset has no %s '%s'%s%s%s (it has: %s)", cfg->source, path, what,
                name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "", all);
    return -1;
}

/* The `inputs` or `targets` list (NULL when absent: the dataset's first
 * declaration stands for it) and its length, 1 to CVL_NET_MAX; -1 with e set. */
static int entry_count(const cvl_config *cfg, const char *key, const json_t **list, cvl_err *e) {
    *list = cvl_config_get(cfg, key);
    int n = *list ? (int)json_array_size(*list) : 1;
    if (n < 1 || n > CVL_NET_MAX) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: needs 1 to %d entries, got %d", cfg->source, key, CVL_NET_MAX, n);
        return -1;
    }
    return n;
}

/* Entry i of that list, checked (check_entry) and bound by name to one of
 * the dataset's declarations of its kind (absent list: the first). *v is the
 * entry (NULL when the list is absent); returns the declaration's index, or
 * -1 with e set. */
static int bind_entry(const cvl_config *cfg, const char *key, const json_t *list, int i, const char *const *allowed,
                      size_t n_allowed, const cvl_data_decl *decls, int n_decls, const json_t **v, cvl_err *e) {
    *v = list ? json_array_get(list, (size_t)i) : NULL;
    if (*v && check_entry(cfg, key, (size_t)i, *v, allowed, n_allowed, e) != CVL_OK) return -1;
    char path[64];
    snprintf(path, sizeof path, "%s[%d].name", key, i);
    const char *name = *v ? json_string_value(json_object_get(*v, "name")) : decls[0].name;
    return find_decl(cfg, path, decls, n_decls, name, strcmp(key, "inputs") == 0 ? "input" : "target", e);
}

static cvl_target_kind target_kind(const cvl_data_decl *d, int64_t *dim) {
    switch (d->kind) {
    case CVL_DATA_CLASS: *dim = d->classes; return CVL_TARGET_CLASS;
    case CVL_DATA_MULTILABEL: *dim = d->f; return CVL_TARGET_MULTILABEL;
    case CVL_DATA_BOOLEAN: *dim = 1; return CVL_TARGET_BOOLEAN;
    default: *dim = d->f; return CVL_TARGET_NUMERICAL;
    }
}

static const char *default_head(cvl_target_kind k) {
    return k == CVL_TARGET_CLASS ? "classification" : k == CVL_TARGET_NUMERICAL ? "regression" : "multilabel";
}
static const char *default_loss(cvl_target_kind k) {
    return k == CVL_TARGET_CLASS ? "cross_entropy" : k == CVL_TARGET_NUMERICAL ? "mse" : "bce";
}

/* ------------------------------------------------------------- build */

static bool declares(const cvl_registry *reg, cvl_kind kind, const char *comp, const char *param) {
    const cvl_component *c = cvl_registry_find(reg, kind, comp);
    for (uint32_t i = 0; c && i < c->n_params; i++)
        if (strcmp(c->params[i]->name, param) == 0) return true;
    return false;
}

/* A reference from JSON (string or object), with a config-level key folded
 * into its parameters when the component declares it (image_pool -> pool). */
static cvl_component_ref make_ref(const cvl_registry *reg, const cvl_config *cfg, const json_t *v, cvl_kind kind,
                                  json_t **params, const char *from_key, const char *to_param) {
    cvl_component_ref r = {NULL, NULL};
    *params = NULL;
    if (json_is_string(v)) {
        r.name = json_string_value(v);
    } else if (json_is_object(v)) {
        r.name = json_string_value(json_object_get(v, "name"));
        *params = json_deep_copy(v);
        json_object_del(*params, "name");
    }
    const json_t *over = from_key ? cvl_config_get(cfg, from_key) : NULL;
    if (r.name && over && !json_is_null(over) && declares(reg, kind, r.name, to_param)) {
        if (*params == NULL) *params = json_object();
        if (json_object_get(*params, to_param) == NULL) json_object_set(*params, to_param, (json_t *)over);
    }
    r.params = *params;
    return r;
}

static cvl_status fail_graph(cvl_net *net, const cvl_config *cfg, const char *where, cvl_err *e) {
    if (e->status == CVL_OK) {
        const cvl_err *ge = cvl_graph_error(net->g);
        cvl_err_set(e, CVL_ERR_INVALID, "%s", ge->status ? ge->msg : "could not build the model");
    }
    return cvl_err_prefix(e, "%s: %s: ", cfg->source, where);
}

static cvl_status build_inputs(cvl_net *net, const cvl_registry *reg, const cvl_config *cfg, const cvl_dataset *ds,
                               const int64_t *image_shape, cvl_tensor **feats, cvl_err *e) {
    static const char *const allowed[] = {"name", "encoder"};
    const json_t *list;
    int n = entry_count(cfg, "inputs", &list, e);
    if (n < 0) return e->status;
    for (int i = 0; i < n; i++) {
        const json_t *v;
        int k = bind_entry(cfg, "inputs", list, i, allowed, 2, ds->inputs, ds->n_inputs, &v, e);
        if (k < 0) return e->status;
        cvl_net_input *in = &net->in[i];
        const cvl_data_decl *d = &ds->inputs[k];
        const char *name = d->name;
        snprintf(in->name, sizeof in->name, "%s", name);
        in->ds_index = k;
        int64_t sh[4] = {net->batch, 0, 0, 0};
        int nd;
        if (d->kind == CVL_DATA_IMAGE) {
            for (int a = 0; a < 3; a++) sh[a + 1] = image_shape[a]; /* after the transforms */
            nd = 4;
            in->per_sample = sh[1] * sh[2] * sh[3];
        } else {
            sh[1] = d->f;
            nd = 2;
            in->per_sample = d->f;
        }
        in->x = cvl_input(net->g, name, CVL_DTYPE_F32, nd, sh);
        /* The encoder: given, else image_backbone for an image, else none. */
        const json_t *enc = v ? json_object_get(v, "encoder") : NULL;
        if (enc == NULL && (v == NULL || d->kind == CVL_DATA_IMAGE)) enc = cvl_config_get(cfg, "image_backbone");
        if (enc == NULL || json_is_null(enc)) {
            if (nd != 2)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: inputs[%d]: image input '%s' needs an encoder", cfg->source,
                                   i, name);
            feats[i] = in->x;
            continue;
        }
        char prefix[80];
        snprintf(prefix, sizeof prefix, "%s.", name);
        cvl_graph_set_prefix(net->g, n > 1 ? prefix : "");
        json_t *params;
        cvl_component_ref r = make_ref(reg, cfg, enc, CVL_KIND_ENCODER, &params,
                                       d->kind == CVL_DATA_IMAGE ? "image_pool" : NULL, "pool");
        char label[96];
        snprintf(label, sizeof label, "encoder '%s'", r.name);
        cvl_graph_set_label(net->g, label);
        feats[i] = cvl_model_apply(reg, net->g, CVL_KIND_ENCODER, r, &in->x, 1, 0, e);
        json_decref(params);
        if (feats[i] == NULL) {
            char where[32];
            snprintf(where, sizeof where, "inputs[%d].encoder", i);
            return fail_graph(net, cfg, list ? where : "image_backbone", e);
        }
    }
    net->n_inputs = n;
    cvl_graph_set_prefix(net->g, "");
    return CVL_OK;
}

static cvl_status build_targets(cvl_net *net, const cvl_registry *reg, const cvl_config *cfg, const cvl_dataset *ds,
                                cvl_tensor *feat, cvl_err *e) {
    static const char *const allowed[] = {"name", "head", "loss", "weight"};
    const json_t *list;
    int n = entry_count(cfg, "targets", &list, e);
    if (n < 0) return e->status;
    cvl_tensor *total = NULL;
    for (int i = 0; i < n; i++) {
        const json_t *v;
        int k = bind_entry(cfg, "targets", list, i, allowed, 4, ds->targets, ds->n_targets, &v, e);
        if (k < 0) return e->status;
        cvl_net_target *t = &net->tg[i];
        const char *name = ds->targets[k].name;
        snprintf(t->name, sizeof t->name, "%s", name);
        t->ds_index = k;
        t->kind = target_kind(&ds->targets[k], &t->dim);
        const json_t *w = v ? json_object_get(v, "weight") : NULL;
        t->weight = w ? json_number_value(w) : 1.0;
        int64_t ysh[2] = {net->batch, t->dim};
        t->y = t->kind == CVL_TARGET_CLASS ? cvl_input(net->g, name, CVL_DTYPE_I32, 1, ysh)
                                           : cvl_input(net->g, name, CVL_DTYPE_F32, 2, ysh);
        /* head and loss: given, else the top-level keys for the classic
         * model, else the defaults for the target's kind */
        const json_t *hv = v ? json_object_get(v, "head") : cvl_config_get(cfg, "head");
        const json_t *lv = v ? json_object_get(v, "loss") : cvl_config_get(cfg, "loss");
        json_t *dh = NULL, *dl = NULL;
        if (hv == NULL) hv = dh = json_string(default_head(t->kind));
        if (lv == NULL) lv = dl = json_string(default_loss(t->kind));
        char prefix[80];
        snprintf(prefix, sizeof prefix, "%s.", name);
        cvl_graph_set_prefix(net->g, n > 1 ? prefix : "");
        json_t *hp, *lp;
        cvl_component_ref hr = make_ref(reg, cfg, hv, CVL_KIND_HEAD, &hp, "dropout", "dropout");
        cvl_component_ref lr = make_ref(reg, cfg, lv, CVL_KIND_LOSS, &lp, NULL, NULL);
        char label[96];
        snprintf(label, sizeof label, "head '%s'", hr.name);
        cvl_graph_set_label(net->g, label);
        t->pred = cvl_model_apply(reg, net->g, CVL_KIND_HEAD, hr, &feat, 1, t->dim, e);
        if (t->pred) {
            t->pred->flags |= CVL_NODE_OUTPUT;
            snprintf(label, sizeof label, "loss '%s'", lr.name);
            cvl_graph_set_label(net->g, label);
            cvl_tensor *li[2] = {t->pred, t->y};
            t->loss = cvl_model_apply(reg, net->g, CVL_KIND_LOSS, lr, li, 2, t->dim, e);
        }
        json_decref(hp);
        json_decref(lp);
        json_decref(dh);
        json_decref(dl);
        char where[40];
        snprintf(where, sizeof where, "targets[%d].%s", i, t->pred ? "loss" : "head");
        if (t->loss == NULL) return fail_graph(net, cfg, list ? where : t->pred ? "loss" : "head", e);
        t->loss->flags |= CVL_NODE_OUTPUT;
        cvl_tensor *wl = n == 1 && t->weight == 1.0 ? t->loss : cvl_scale(net->g, t->loss, t->weight);
        total = total ? cvl_binary(net->g, CVL_OP_ADD, total, wl) : wl;
    }
    net->n_targets = n;
    cvl_graph_set_prefix(net->g, "");
    net->loss = total;
    if (total == NULL) return fail_graph(net, cfg, "targets", e);
    total->flags |= CVL_NODE_OUTPUT;
    return CVL_OK;
}

cvl_status cvl_net_build(cvl_net *net, const cvl_registry *reg, const cvl_config *cfg, const cvl_data *data,
                         int64_t batch, bool training, cvl_err *e) {
    const cvl_dataset *ds = data->train;
    memset(net, 0, sizeof *net);
    net->batch = batch;
    net->g = cvl_graph_new((uint64_t)cvl_config_int(cfg, "seed"));
    if (net->g == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    cvl_tensor *feats[CVL_NET_MAX] = {0};
    if (build_inputs(net, reg, cfg, ds, data->input_shape, feats, e) != CVL_OK) return e->status;
    cvl_tensor *feat = feats[0];
    const json_t *agg = cvl_config_get(cfg, "aggregator");
    if (net->n_inputs > 1 || (agg && !json_is_null(agg))) {
        json_t *dflt = NULL, *params;
        if (agg == NULL || json_is_null(agg)) agg = dflt = json_string("concat");
        cvl_component_ref r = make_ref(reg, cfg, agg, CVL_KIND_AGGREGATOR, &params, NULL, NULL);
        cvl_graph_set_prefix(net->g, net->n_inputs > 1 ? "aggregator." : "");
        char label[96];
        snprintf(label, sizeof label, "aggregator '%s'", r.name);
        cvl_graph_set_label(net->g, label);
        feat = cvl_model_apply(reg, net->g, CVL_KIND_AGGREGATOR, r, feats, (uint32_t)net->n_inputs, 0, e);
        cvl_graph_set_prefix(net->g, "");
        json_decref(params);
        json_decref(dflt);
        if (feat == NULL) return fail_graph(net, cfg, "aggregator", e);
    }
    if (build_targets(net, reg, cfg, ds, feat, e) != CVL_OK) return e->status;
    net->n_fwd = cvl_graph_size(net->g);
    if (!training) return CVL_OK;
    if (cvl_graph_backward(net->g, net->loss) != CVL_OK) return fail_graph(net, cfg, "backward", e);
    json_t *op;
    cvl_component_ref r =
        make_ref(reg, cfg, cvl_config_get(cfg, "optimizer_name"), CVL_KIND_OPTIMIZER, &op, "weight_decay", "weight_decay");
    cvl_optim_spec spec = {.clip_grad_norm = cvl_config_float(cfg, "clip_grad_norm"),
                           .accumulate = (int)cvl_config_int(cfg, "n_gradients")};
    cvl_status st = cvl_model_optimizer(reg, net->g, r, &spec, e);
    json_decref(op);
    if (st != CVL_OK) return cvl_err_prefix(e, "%s: optimizer_name: ", cfg->source);
    if (cvl_graph_optimizer(net->g, &spec) != CVL_OK) return fail_graph(net, cfg, "optimizer_name", e);
    return CVL_OK;
}

void cvl_net_free(cvl_net *net) {
    cvl_graph_free(net->g);
    net->g = NULL;
}

/* Writes n rows of `row` bytes to t, whose batch holds B rows: a partial
 * batch is zero-padded. */
static cvl_status write_rows(cvl_backend *be, const cvl_tensor *t, const void *src, int64_t n, int64_t B, size_t row,
                             cvl_err *e) {
    if (n == B) return cvl_backend_write(be, t, src, (size_t)B * row, e);
    void *tmp = calloc((size_t)B, row);
    if (tmp == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    memcpy(tmp, src, (size_t)n * row);
    cvl_backend_write(be, t, tmp, (size_t)B * row, e);
    free(tmp);
    return e->status;
}

cvl_status cvl_net_feed(const cvl_net *net, cvl_backend *be, const cvl_batch *b, cvl_err *e) {
    int64_t B = net->batch, n = b->n < B ? b->n : B;
    for (int i = 0; i < net->n_inputs && e->status == CVL_OK; i++) {
        const cvl_net_input *in = &net->in[i];
        write_rows(be, in->x, b->inputs[in->ds_index], n, B, (size_t)in->per_sample * sizeof(float), e);
    }
    for (int t = 0; t < net->n_targets && e->status == CVL_OK; t++) {
        const cvl_net_target *tg = &net->tg[t];
        if (tg->kind == CVL_TARGET_CLASS)
            write_rows(be, tg->y, b->labels[tg->ds_index], n, B, sizeof(int32_t), e);
        else
            write_rows(be, tg->y, b->values[tg->ds_index], n, B, (size_t)tg->dim * sizeof(float), e);
    }
    return e->status;
}

cvl_status cvl_net_copy_weights(cvl_backend *dst, const cvl_net *to, cvl_backend *src, const cvl_net *from,
                                 cvl_err *e) {
    const cvl_graph *gd = to->g, *gs = from->g;
    for (int32_t i = 0; i < gd->n && e->status == CVL_OK; i++) {
        const cvl_tensor *t = gd->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
        const cvl_tensor *s = cvl_graph_find(gs, t->name);
        if (s == NULL) return cvl_err_set(e, CVL_ERR_INTERNAL, "graph copy: '%s' is missing from the source", t->name);
        size_t nb = cvl_tensor_nbytes(t);
        void *buf = malloc(nb);
        if (buf == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        cvl_backend_read(src, s, buf, nb, e);
        cvl_backend_write(dst, t, buf, nb, e);
        free(buf);
    }
    return e->status;
}
