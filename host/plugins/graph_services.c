/* graph_services.c -- the graph-building part of the host table: each entry
 * forwards to host/core's builders on the graph of the constructor call
 * (io->user). Errors land in the graph; cvl_component_build copies the
 * first one into the caller's cvl_err after the constructor returns. */
#include "core/graph_internal.h"
#include "plugins/graph_services.h"
#include "plugins/registry.h"

static cvl_graph *G(cvl_ctx *ctx) { return (cvl_graph *)ctx->io->user; }

static uint32_t s_ndim(const cvl_tensor *t) { return t ? (uint32_t)t->ndim : 0; }
static int64_t s_dim(const cvl_tensor *t, int32_t axis) {
    if (t == NULL) return 0;
    if (axis < 0) axis += t->ndim;
    return axis >= 0 && axis < t->ndim ? t->shape[axis] : 0;
}
static int64_t s_target_dim(cvl_ctx *ctx) { return ctx->io->target_dim; }
static void s_push_scope(cvl_ctx *ctx, const char *name) { cvl_graph_push_scope(G(ctx), name); }
static void s_pop_scope(cvl_ctx *ctx) { cvl_graph_pop_scope(G(ctx)); }

static cvl_tensor *s_param(cvl_ctx *ctx, const char *name, uint32_t ndim, const int64_t *shape, cvl_init init, double arg) {
    return cvl_param(G(ctx), name, (int32_t)ndim, shape, init, arg);
}
static cvl_tensor *s_buffer(cvl_ctx *ctx, const char *name, uint32_t ndim, const int64_t *shape, cvl_dtype dtype,
                            cvl_init init, double arg) {
    return cvl_buffer(G(ctx), name, dtype, (int32_t)ndim, shape, init, arg);
}
static cvl_tensor *s_conv2d(cvl_ctx *ctx, const char *name, cvl_tensor *x, int64_t out, int32_t k, int32_t stride,
                            int32_t pad, int32_t dil, int32_t groups, bool bias) {
    return cvl_layer_conv2d(G(ctx), name, x, out, k, stride, pad, dil, groups, bias);
}
static cvl_tensor *s_linear(cvl_ctx *ctx, const char *name, cvl_tensor *x, int64_t out, bool bias) {
    return cvl_layer_linear(G(ctx), name, x, out, bias);
}
static cvl_tensor *s_batch_norm(cvl_ctx *ctx, const char *name, cvl_tensor *x, double eps, double momentum) {
    return cvl_layer_batch_norm(G(ctx), name, x, eps, momentum);
}
static cvl_tensor *s_layer_norm(cvl_ctx *ctx, const char *name, cvl_tensor *x, double eps) {
    return cvl_layer_layer_norm(G(ctx), name, x, eps);
}
static cvl_tensor *s_embedding(cvl_ctx *ctx, const char *name, cvl_tensor *idx, int64_t num, int64_t dim) {
    return cvl_layer_embedding(G(ctx), name, idx, num, dim);
}
static cvl_tensor *s_conv2d_apply(cvl_ctx *ctx, cvl_tensor *x, cvl_tensor *w, cvl_tensor *b, int32_t stride,
                                  int32_t pad, int32_t dil, int32_t groups) {
    return cvl_conv2d(G(ctx), x, w, b, stride, stride, pad, pad, dil, dil, groups);
}
static cvl_tensor *s_unary(cvl_ctx *ctx, cvl_op op, cvl_tensor *x) { return cvl_unary(G(ctx), op, x); }
static cvl_tensor *s_binary(cvl_ctx *ctx, cvl_op op, cvl_tensor *a, cvl_tensor *b) { return cvl_binary(G(ctx), op, a, b); }
static cvl_tensor *s_scale(cvl_ctx *ctx, cvl_tensor *x, double f) { return cvl_scale(G(ctx), x, f); }
static cvl_tensor *s_matmul(cvl_ctx *ctx, cvl_tensor *a, cvl_tensor *b, bool ta, bool tb) {
    return cvl_matmul(G(ctx), a, b, ta, tb);
}
static cvl_tensor *s_pool2d(cvl_ctx *ctx, cvl_op op, cvl_tensor *x, int32_t k, int32_t stride, int32_t pad) {
    return cvl_pool2d(G(ctx), op, x, k, stride, pad);
}
static cvl_tensor *s_global_pool(cvl_ctx *ctx, cvl_op op, cvl_tensor *x) { return cvl_global_pool(G(ctx), op, x); }
static cvl_tensor *s_reshape(cvl_ctx *ctx, cvl_tensor *x, uint32_t ndim, const int64_t *shape) {
    return cvl_reshape(G(ctx), x, (int32_t)ndim, shape);
}
static cvl_tensor *s_flatten(cvl_ctx *ctx, cvl_tensor *x) { return cvl_flatten(G(ctx), x); }
static cvl_tensor *s_permute(cvl_ctx *ctx, cvl_tensor *x, uint32_t ndim, const int32_t *perm) {
    return cvl_permute(G(ctx), x, (int32_t)ndim, perm);
}
static cvl_tensor *s_concat(cvl_ctx *ctx, uint32_t n, cvl_tensor *const *xs, int32_t axis) {
    return cvl_concat(G(ctx), (int32_t)n, xs, axis);
}
static cvl_tensor *s_slice(cvl_ctx *ctx, cvl_tensor *x, int32_t axis, int64_t start, int64_t end) {
    return cvl_slice(G(ctx), x, axis, start, end);
}
static cvl_tensor *s_dropout(cvl_ctx *ctx, cvl_tensor *x, double p) { return cvl_dropout(G(ctx), x, p); }
static cvl_tensor *s_softmax(cvl_ctx *ctx, cvl_tensor *x, int32_t axis, bool log) { return cvl_softmax(G(ctx), x, axis, log); }
static cvl_tensor *s_reduce(cvl_ctx *ctx, cvl_op op, cvl_tensor *x, int32_t axis, bool keepdim) {
    return cvl_reduce(G(ctx), op, x, axis, keepdim);
}
static cvl_tensor *s_loss(cvl_ctx *ctx, cvl_op op, cvl_tensor *pred, cvl_tensor *target, cvl_tensor *w, double arg) {
    return cvl_loss(G(ctx), op, pred, target, w, arg);
}
static cvl_tensor *s_constant(cvl_ctx *ctx, uint32_t ndim, const int64_t *shape, const float *data) {
    return cvl_constant(G(ctx), (int32_t)ndim, shape, data);
}

static cvl_status set_optim(cvl_ctx *ctx, const cvl_optim_spec *spec) {
    if (ctx->io->optim == NULL) return CVL_ERR_INVALID;
    /* the host's settings (clipping, accumulation) survive the plugin's choice */
    double clip = ctx->io->optim->clip_grad_norm;
    int accumulate = ctx->io->optim->accumulate;
    *ctx->io->optim = *spec;
    ctx->io->optim->clip_grad_norm = clip;
    ctx->io->optim->accumulate = accumulate;
    return CVL_OK;
}
static cvl_status s_optim_sgd(cvl_ctx *ctx, double momentum, double dampening, double wd, bool nesterov) {
    cvl_optim_spec o = {.kind = CVL_OPK_SGD, .momentum = momentum, .dampening = dampening, .weight_decay = wd, .nesterov = nesterov};
    return set_optim(ctx, &o);
}
static cvl_status s_optim_adam(cvl_ctx *ctx, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad) {
    cvl_optim_spec o = {.kind = CVL_OPK_ADAM, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd,
                        .decoupled = decoupled, .amsgrad = amsgrad};
    return set_optim(ctx, &o);
}
static cvl_status s_optim_rmsprop(cvl_ctx *ctx, double alpha, double eps, double wd, double momentum, bool centered) {
    cvl_optim_spec o = {.kind = CVL_OPK_RMSPROP, .alpha = alpha, .eps = eps, .weight_decay = wd, .momentum = momentum,
                        .centered = centered};
    return set_optim(ctx, &o);
}

void cvl_graph_services_fill(cvl_host *h) {
    h->ndim = s_ndim;
    h->dim = s_dim;
    h->target_dim = s_target_dim;
    h->push_scope = s_push_scope;
    h->pop_scope = s_pop_scope;
    h->param = s_param;
    h->buffer = s_buffer;
    h->conv2d = s_conv2d;
    h->linear = s_linear;
    h->batch_norm = s_batch_norm;
    h->layer_norm = s_layer_norm;
    h->embedding = s_embedding;
    h->conv2d_apply = s_conv2d_apply;
    h->unary = s_unary;
    h->binary = s_binary;
    h->scale = s_scale;
    h->matmul = s_matmul;
    h->pool2d = s_pool2d;
    h->global_pool = s_global_pool;
    h->reshape = s_reshape;
    h->flatten = s_flatten;
    h->permute = s_permute;
    h->concat = s_concat;
    h->slice = s_slice;
    h->dropout = s_dropout;
    h->softmax = s_softmax;
    h->reduce = s_reduce;
    h->loss = s_loss;
    h->constant = s_constant;
    h->optim_sgd = s_optim_sgd;
    h->optim_adam = s_optim_adam;
    h->optim_rmsprop = s_optim_rmsprop;
}
