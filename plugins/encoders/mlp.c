/* mlp -- a multilayer perceptron encoder: flatten, then Linear + ReLU per
 * hidden width. With hidden [512, 256] and a classification head named fc3
 * it is ../shared/bench/torch_ref.py's MLP layer for layer (fc1, fc2, fc3). */
#include "common.h"

static cvl_status mlp_build(const cvl_host *h, cvl_ctx *ctx, const cvl_int_list *hidden,
                            double dropout, const char *prefix) {
    if (h->num_inputs(ctx) != 1)
        return h->fail(ctx, CVL_ERR_INVALID, "takes 1 input, got %u", h->num_inputs(ctx));
    if (dropout < 0 || dropout >= 1)
        return h->fail(ctx, CVL_ERR_INVALID, "dropout must be in [0, 1), got %g", dropout);
    cvl_tensor *x = h->input(ctx, 0);
    if (h->ndim(x) > 2) x = h->flatten(ctx, x); // (N, C*H*W)
    x = dense_stack(h, ctx, x, hidden, prefix, "", CVL_OP_RELU, dropout);
    if (x == NULL) return CVL_ERR_INVALID;
    return finish(h, ctx, x);
}

static const cvl_param_desc mlp_params[] = {
    CVL_PARAM_INT_LIST_DEF("hidden", "[512, 256]", "width of each hidden Linear+ReLU layer"),
    CVL_PARAM_FLOAT_DEF("dropout", "0", "dropout after each hidden layer"),
    CVL_PARAM_STRING_DEF("prefix", "fc", "layer names are <prefix>1, <prefix>2, ..."),
};
CVL_COMPONENT(mlp, CVL_KIND_ENCODER, "mlp", "multilayer perceptron on the flattened input",
              CVL_MAKE_VERSION(1, 0, 0), mlp_params, mlp_build);

static const cvl_component_desc *const components[] = {&mlp};
CVL_DEFINE_PLUGIN("cvl-mlp", CVL_MAKE_VERSION(1, 0, 0), components)
