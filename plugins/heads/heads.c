/* heads -- classification, multilabel and regression heads. Each is
 *   [Linear + activation + dropout] per `hidden` width, then Linear to the
 *   target's size (host->target_dim), named `layer_name`.
 * The loss decides how the outputs are read (softmax for classification,
 * sigmoid for multilabel, identity for regression); a head emits raw
 * outputs (logits), as PyTorch models do. Hidden layers are named
 * <layer_name>_hidden1, <layer_name>_hidden2, ... */
#include <stdio.h>
#include <string.h>

#include "common.h"

static cvl_op activation(const char *name) {
    if (strcmp(name, "relu") == 0) return CVL_OP_RELU;
    if (strcmp(name, "gelu") == 0) return CVL_OP_GELU;
    if (strcmp(name, "silu") == 0) return CVL_OP_SILU;
    if (strcmp(name, "tanh") == 0) return CVL_OP_TANH;
    if (strcmp(name, "sigmoid") == 0) return CVL_OP_SIGMOID;
    return 0;
}

static cvl_status head_build(const cvl_host *h, cvl_ctx *ctx, const cvl_int_list *hidden,
                             double dropout, const char *act, const char *layer_name) {
    if (h->num_inputs(ctx) != 1)
        return h->fail(ctx, CVL_ERR_INVALID, "takes 1 input, got %u", h->num_inputs(ctx));
    if (dropout < 0 || dropout >= 1)
        return h->fail(ctx, CVL_ERR_INVALID, "dropout must be in [0, 1), got %g", dropout);
    cvl_op op = activation(act);
    if (op == 0)
        return h->fail(ctx, CVL_ERR_INVALID, "activation must be relu, gelu, silu, tanh or sigmoid, got '%s'", act);
    int64_t outputs = h->target_dim(ctx);
    if (outputs < 1) return h->fail(ctx, CVL_ERR_INVALID, "its target has no size (%lld)", (long long)outputs);
    cvl_tensor *x = h->input(ctx, 0);
    if (x != NULL && h->ndim(x) > 2) x = h->flatten(ctx, x); // (N, F)
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s_hidden", layer_name);
    x = dense_stack(h, ctx, x, hidden, prefix, "", op, dropout);
    if (x == NULL) return CVL_ERR_INVALID;
    if (hidden->len == 0 && dropout > 0) x = h->dropout(ctx, x, dropout);
    return finish(h, ctx, h->linear(ctx, layer_name, x, outputs, true)); // (N, outputs)
}

static const cvl_param_desc head_params[] = {
    CVL_PARAM_INT_LIST_DEF("hidden", "[]", "widths of hidden layers before the output layer"),
    CVL_PARAM_FLOAT_DEF("dropout", "0", "dropout before each Linear"),
    CVL_PARAM_STRING_DEF("activation", "relu", "relu, gelu, silu, tanh or sigmoid"),
    CVL_PARAM_STRING_DEF("layer_name", "fc", "name of the output layer (PyTorch: fc, fc2, ...)"),
};
#define V CVL_MAKE_VERSION(1, 0, 0)
CVL_COMPONENT(classification, CVL_KIND_HEAD, "classification",
              "class logits for a category target (pair with cross_entropy)", V, head_params,
              head_build);
CVL_COMPONENT(multilabel, CVL_KIND_HEAD, "multilabel",
              "one logit per label for a multi-label target (pair with bce)", V, head_params,
              head_build);
CVL_COMPONENT(regression, CVL_KIND_HEAD, "regression",
              "one value per output of a numerical target (pair with mse, l1 or huber)", V,
              head_params, head_build);

static const cvl_component_desc *const components[] = {&classification, &multilabel, &regression};
CVL_DEFINE_PLUGIN("cvl-heads", V, components)
