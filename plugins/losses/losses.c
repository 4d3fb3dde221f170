/* losses -- cross_entropy, bce, mse, l1, huber: inputs are the head's
 * prediction and the target; the output is the batch mean, a scalar. */
#include <stdlib.h>

#include "common.h"

static cvl_status two_inputs(const cvl_host *h, cvl_ctx *ctx) {
    if (h->num_inputs(ctx) != 2)
        return h->fail(ctx, CVL_ERR_INVALID, "takes a prediction and a target, got %u inputs",
                       h->num_inputs(ctx));
    return CVL_OK;
}

static cvl_status cross_entropy_build(const cvl_host *h, cvl_ctx *ctx, double label_smoothing,
                                      const cvl_float_list *class_weights) {
    if (two_inputs(h, ctx) != CVL_OK) return CVL_ERR_INVALID;
    if (label_smoothing < 0 || label_smoothing > 1)
        return h->fail(ctx, CVL_ERR_INVALID, "label_smoothing must be in [0, 1], got %g", label_smoothing);
    cvl_tensor *pred = h->input(ctx, 0), *target = h->input(ctx, 1);
    cvl_tensor *weights = NULL;
    if (class_weights->len > 0) {
        int64_t classes = h->dim(pred, -1);
        if ((int64_t)class_weights->len != classes)
            return h->fail(ctx, CVL_ERR_INVALID, "class_weights has %zu values for %lld classes",
                           class_weights->len, (long long)classes);
        float w[4096];
        if (class_weights->len > 4096)
            return h->fail(ctx, CVL_ERR_INVALID, "at most 4096 class weights");
        for (size_t i = 0; i < class_weights->len; i++) {
            if (!(class_weights->data[i] >= 0))
                return h->fail(ctx, CVL_ERR_INVALID, "class_weights[%zu] is negative", i);
            w[i] = (float)class_weights->data[i];
        }
        int64_t shape[1] = {(int64_t)class_weights->len};
        weights = h->constant(ctx, 1, shape, w);
    }
    return finish(h, ctx, h->loss(ctx, CVL_OP_CROSS_ENTROPY, pred, target, weights, label_smoothing));
}

static cvl_status bce_build(const cvl_host *h, cvl_ctx *ctx, double pos_weight) {
    if (two_inputs(h, ctx) != CVL_OK) return CVL_ERR_INVALID;
    if (pos_weight < 0) return h->fail(ctx, CVL_ERR_INVALID, "pos_weight must be >= 0, got %g", pos_weight);
    return finish(h, ctx, h->loss(ctx, CVL_OP_BCE_LOGITS, h->input(ctx, 0), h->input(ctx, 1), NULL, pos_weight));
}

static cvl_status mse_build(const cvl_host *h, cvl_ctx *ctx) {
    if (two_inputs(h, ctx) != CVL_OK) return CVL_ERR_INVALID;
    return finish(h, ctx, h->loss(ctx, CVL_OP_MSE, h->input(ctx, 0), h->input(ctx, 1), NULL, 0));
}

static cvl_status l1_build(const cvl_host *h, cvl_ctx *ctx) {
    if (two_inputs(h, ctx) != CVL_OK) return CVL_ERR_INVALID;
    return finish(h, ctx, h->loss(ctx, CVL_OP_L1, h->input(ctx, 0), h->input(ctx, 1), NULL, 0));
}

static cvl_status huber_build(const cvl_host *h, cvl_ctx *ctx, double delta) {
    if (two_inputs(h, ctx) != CVL_OK) return CVL_ERR_INVALID;
    if (!(delta > 0)) return h->fail(ctx, CVL_ERR_INVALID, "delta must be > 0, got %g", delta);
    return finish(h, ctx, h->loss(ctx, CVL_OP_HUBER, h->input(ctx, 0), h->input(ctx, 1), NULL, delta));
}

static const cvl_param_desc ce_params[] = {
    CVL_PARAM_FLOAT_DEF("label_smoothing", "0", "as torch.nn.CrossEntropyLoss"),
    CVL_PARAM_FLOAT_LIST_DEF("class_weights", "[]", "one weight per class (empty: all 1)"),
};
static const cvl_param_desc bce_params[] = {
    CVL_PARAM_FLOAT_DEF("pos_weight", "0", "weight of positive examples (0: unweighted)"),
};
static const cvl_param_desc huber_params[] = {
    CVL_PARAM_FLOAT_DEF("delta", "1", "where the loss turns from quadratic to linear"),
};
#define V CVL_MAKE_VERSION(1, 0, 0)
CVL_COMPONENT(cross_entropy, CVL_KIND_LOSS, "cross_entropy",
              "softmax cross-entropy on class logits (label smoothing, class weights)", V, ce_params,
              cross_entropy_build);
CVL_COMPONENT(bce, CVL_KIND_LOSS, "bce", "binary cross-entropy on logits (multi-label, boolean)", V,
              bce_params, bce_build);
CVL_COMPONENT_NOPARAMS(mse, CVL_KIND_LOSS, "mse", "mean squared error", V, mse_build);
CVL_COMPONENT_NOPARAMS(l1, CVL_KIND_LOSS, "l1", "mean absolute error", V, l1_build);
CVL_COMPONENT(huber, CVL_KIND_LOSS, "huber", "Huber loss (smooth L1 with a delta)", V, huber_params,
              huber_build);

static const cvl_component_desc *const components[] = {&cross_entropy, &bce, &mse, &l1, &huber};
CVL_DEFINE_PLUGIN("cvl-losses", V, components)
