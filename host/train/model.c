#include "train/model.h"

#include <string.h>

#include "util/strutil.h"

/* The registered component, or NULL with "no encoder named 'x' (did you
 * mean 'y'?)" in e. */
static const cvl_component *find(const cvl_registry *r, cvl_kind kind, const char *name, cvl_err *e) {
    const cvl_component *c = cvl_registry_find(r, kind, name);
    if (c == NULL) {
        const char *names[256];
        size_t n = cvl_registry_names(r, kind, names, 256);
        const char *near = cvl_closest(name, names, n);
        cvl_err_set(e, CVL_ERR_INVALID, "no %s named '%s'%s%s%s", cvl_kind_name(kind), name,
                    near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    return c;
}

cvl_tensor *cvl_model_apply(const cvl_registry *r, cvl_graph *g, cvl_kind kind, cvl_component_ref ref,
                            cvl_tensor *const *inputs, uint32_t n_inputs, int64_t target_dim, cvl_err *e) {
    const cvl_component *c = find(r, kind, ref.name, e);
    if (c == NULL) return NULL;
    cvl_tensor *outs[4] = {0};
    cvl_build_io io = {.inputs = inputs, .n_inputs = n_inputs, .outputs = outs, .cap_outputs = 4,
                       .user = g, .target_dim = target_dim};
    if (cvl_component_build(c, ref.params, &io, e) != CVL_OK) return NULL;
    if (io.n_outputs != 1) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s' produced %u outputs, expected 1", cvl_kind_name(kind), ref.name,
                    io.n_outputs);
        return NULL;
    }
    return outs[0];
}

cvl_status cvl_model_optimizer(const cvl_registry *r, cvl_graph *g, cvl_component_ref ref, cvl_optim_spec *spec,
                               cvl_err *e) {
    const cvl_component *c = find(r, CVL_KIND_OPTIMIZER, ref.name, e);
    if (c == NULL) return CVL_ERR_INVALID;
    spec->kind = 0;
    cvl_build_io io = {.user = g, .optim = spec};
    cvl_status st = cvl_component_build(c, ref.params, &io, e);
    if (st == CVL_OK && spec->kind == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "optimizer '%s' declared no update", ref.name);
    return st;
}

cvl_status cvl_model_classifier(const cvl_registry *r, cvl_graph *g, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t classes, cvl_component_ref encoder, cvl_component_ref head,
                                cvl_component_ref loss, cvl_classifier *out, cvl_err *e) {
    memset(out, 0, sizeof *out);
    int64_t ishape[4] = {N, C, H, W};
    out->image = cvl_input(g, "image", CVL_DTYPE_F32, 4, ishape);
    out->labels = cvl_input(g, "label", CVL_DTYPE_I32, 1, &N);
    cvl_tensor *feat = cvl_model_apply(r, g, CVL_KIND_ENCODER, encoder, &out->image, 1, 0, e);
    if (feat == NULL) return e->status ? e->status : CVL_ERR_INVALID;
    out->logits = cvl_model_apply(r, g, CVL_KIND_HEAD, head, &feat, 1, classes, e);
    if (out->logits == NULL) return e->status ? e->status : CVL_ERR_INVALID;
    out->logits->flags |= CVL_NODE_OUTPUT;
    cvl_tensor *li[2] = {out->logits, out->labels};
    out->loss = cvl_model_apply(r, g, CVL_KIND_LOSS, loss, li, 2, classes, e);
    if (out->loss == NULL) return e->status ? e->status : CVL_ERR_INVALID;
    return CVL_OK;
}
