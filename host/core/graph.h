/* graph.h -- tensors, the static graph, shape inference and reverse-mode
 * autodiff.
 *
 * A graph is built once per input shape (batch size included): inputs,
 * parameters and ops are added in order, each node's shape is inferred and
 * checked as it is added. cvl_graph_backward() appends the gradient nodes
 * (one VJP rule per op, written in graph ops), and cvl_graph_optimizer()
 * appends the parameter updates. A backend (backend.h) then plans memory
 * for the whole node list and runs it step after step.
 *
 * Nothing here touches tensor data: a node only knows its shape, dtype, op
 * and sources. Where its bytes live is the backend's business, so the same
 * graph runs on the CPU or through Vulkan.
 *
 * Errors: a builder that fails records a message in the graph (naming the
 * current scope and the shapes) and returns NULL; every builder given a
 * NULL source returns NULL, so callers check once, at the end. */
#ifndef CVL_CORE_GRAPH_H
#define CVL_CORE_GRAPH_H

#include <cvl/plugin.h>

#include "util/err.h"

#define CVL_MAX_DIMS 6
#define CVL_MAX_SRC 6

typedef enum cvl_opk {
    /* leaves */
    CVL_OPK_INPUT, /* fed by the caller every step */
    CVL_OPK_PARAM, /* trained */
    CVL_OPK_BUFFER, /* saved, not trained (running stats) */
    CVL_OPK_CONST, /* data fixed at build time */
    /* forward ops */
    CVL_OPK_LINEAR,     /* x (..., in), W (out, in), b (out) or NULL */
    CVL_OPK_MATMUL,     /* ip: trans_a, trans_b */
    CVL_OPK_CONV2D,     /* x, w, b?; ip: stride h,w, pad h,w, dil h,w, groups */
    CVL_OPK_BN_STATS,   /* x, running_mean, running_var, nbt -> (2,C) mean, rstd; fp: eps, momentum */
    CVL_OPK_BN_APPLY,   /* x, stats, gamma, beta */
    CVL_OPK_LAYERNORM,  /* x, gamma, beta; fp: eps (over the last axis) */
    CVL_OPK_UNARY,      /* ip[0]: CVL_OP_RELU ... */
    CVL_OPK_BINARY,     /* ip[0]: CVL_OP_ADD ..., broadcasting */
    CVL_OPK_SCALE,      /* fp[0] */
    CVL_OPK_POOL2D,     /* ip: kind, k, stride, pad */
    CVL_OPK_GPOOL,      /* ip: kind; (N,C,H,W) -> (N,C) */
    CVL_OPK_RESHAPE,    /* a view of src */
    CVL_OPK_PERMUTE,    /* ip: perm */
    CVL_OPK_CONCAT,     /* ip[0]: axis */
    CVL_OPK_SLICE,      /* ip: axis, start, end */
    CVL_OPK_DROPOUT,    /* fp[0]: p; ip[0]: a per-node seed */
    CVL_OPK_SOFTMAX,    /* ip: axis, log */
    CVL_OPK_REDUCE,     /* ip: kind, axis (or CVL_AXIS_ALL), keepdim */
    CVL_OPK_EMBEDDING,  /* idx (int), W (num, dim) */
    CVL_OPK_LOSS,       /* ip[0]: CVL_OP_CROSS_ENTROPY ...; pred, target, weights?; fp[0]: arg */
    /* backward ops (created by cvl_graph_backward only) */
    CVL_OPK_CONV2D_BWD_DATA,   /* dy, w -> dx (shape of x) */
    CVL_OPK_CONV2D_BWD_WEIGHT, /* dy, x -> dw */
    CVL_OPK_BN_BWD,            /* dy, x, stats, gamma -> dx */
    CVL_OPK_BN_BWD_PARAMS,     /* dy, x, stats -> (2,C) dgamma, dbeta */
    CVL_OPK_LAYERNORM_BWD,     /* dy, x, gamma -> dx; fp eps */
    CVL_OPK_LAYERNORM_BWD_PARAMS, /* dy, x -> (2,D) */
    CVL_OPK_UNARY_BWD,         /* dy, x -> dx */
    CVL_OPK_SUM_TO,            /* x -> summed over broadcast axes to this shape */
    CVL_OPK_POOL2D_BWD,        /* dy, x, y -> dx */
    CVL_OPK_GPOOL_BWD,         /* dy, x, y -> dx */
    CVL_OPK_DROPOUT_BWD,       /* dy -> dx (same mask as the forward) */
    CVL_OPK_SOFTMAX_BWD,       /* dy, y -> dx */
    CVL_OPK_REDUCE_BWD,        /* dy -> broadcast to the input's shape */
    CVL_OPK_EMBEDDING_BWD,     /* dy, idx -> dW */
    CVL_OPK_LOSS_BWD,          /* dloss (scalar), pred, target, weights? -> dpred */
    CVL_OPK_ACCUM,             /* a + b (gradient accumulation, same shape) */
    CVL_OPK_SLICE_BWD,         /* dy -> zero-padded to the input's shape */
    CVL_OPK_CONCAT_BWD,        /* dy -> the slice of input ip[1] */
    CVL_OPK_PERMUTE_BWD,       /* dy -> inverse permutation */
    CVL_OPK_ONES,              /* d loss / d loss: a scalar 1 */
    /* optimizer (created by cvl_graph_optimizer only; update in place) */
    CVL_OPK_GRAD_NORM,         /* all gradients -> scalar L2 norm */
    CVL_OPK_SGD,               /* p, g, momentum_buf; fp: momentum, dampening, wd; ip: nesterov */
    CVL_OPK_ADAM,              /* p, g, m, v, vmax?; fp: b1, b2, eps, wd; ip: decoupled, amsgrad */
    CVL_OPK_RMSPROP,           /* p, g, sq, buf?, gavg?; fp: alpha, eps, wd, momentum; ip: centered */
    CVL_OPK_COUNT
} cvl_opk;

/* Node flags. */
#define CVL_NODE_TRAINABLE 0x1u  /* a parameter that gets a gradient */
#define CVL_NODE_PERSIST 0x2u    /* lives across steps: params, buffers, optimizer state, consts */
#define CVL_NODE_NEEDS_GRAD 0x4u /* depends on a trainable parameter */
#define CVL_NODE_INT 0x8u        /* integer data (labels, indices) */
#define CVL_NODE_OUTPUT 0x10u    /* read by the caller after a step: keep it */
#define CVL_NODE_INPLACE 0x20u   /* writes src[0] in place (optimizer updates) */

typedef struct cvl_tensor cvl_tensor;
struct cvl_tensor {
    int32_t id;
    cvl_opk op;
    cvl_dtype dtype;
    uint32_t flags;
    int32_t ndim;
    int64_t shape[CVL_MAX_DIMS];
    int32_t n_src;
    cvl_tensor *src[CVL_MAX_SRC];
    int64_t ip[8];
    double fp[6];
    char *name;          /* params, buffers, optimizer state: state_dict name */
    cvl_init init;       /* params and buffers */
    double init_arg;
    float *const_data;   /* CONST: host copy, uploaded by the backend */
    cvl_tensor *grad;    /* after backward: d loss / d this (params) */
    /* set by the backend's planner */
    int32_t region;      /* 0: activation arena, 1: persistent */
    size_t offset;       /* byte offset in its region */
    int32_t last_use;    /* index of the last node that reads it */
};

typedef struct cvl_graph cvl_graph;

cvl_graph *cvl_graph_new(uint64_t seed);
void cvl_graph_free(cvl_graph *g);

/* The first error recorded while building (status CVL_OK when none). */
const cvl_err *cvl_graph_error(const cvl_graph *g);
cvl_err *cvl_graph_err(cvl_graph *g);
/* Records an error (first one wins) with the current scope as prefix. */
void cvl_graph_fail(cvl_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A label naming the component being built, for messages ("encoder 'cnn'"). */
void cvl_graph_set_label(cvl_graph *g, const char *label);

int32_t cvl_graph_size(const cvl_graph *g);
cvl_tensor *cvl_graph_node(const cvl_graph *g, int32_t i);

size_t cvl_tensor_numel(const cvl_tensor *t);
size_t cvl_tensor_nbytes(const cvl_tensor *t);
/* Strides (in elements) of contiguous `t` seen through the broadcast shape
 * (nd, shape): 0 where t has size 1 or no axis. */
void cvl_tensor_broadcast_strides(const cvl_tensor *t, int32_t nd, const int64_t *shape, int64_t *st);
/* "(128, 32, 28, 28)" into buf. */
const char *cvl_shape_str(const cvl_tensor *t, char *buf, size_t n);

/* ---- names */
void cvl_graph_push_scope(cvl_graph *g, const char *name);
void cvl_graph_pop_scope(cvl_graph *g);
/* Renames future parameters: names are prefixed with `prefix` ("" none). */
void cvl_graph_set_prefix(cvl_graph *g, const char *prefix);
cvl_tensor *cvl_graph_find(const cvl_graph *g, const char *name);

/* ---- leaves */
cvl_tensor *cvl_input(cvl_graph *g, const char *name, cvl_dtype dtype, int32_t ndim, const int64_t *shape);
cvl_tensor *cvl_param(cvl_graph *g, const char *name, int32_t ndim, const int64_t *shape, cvl_init init, double arg);
cvl_tensor *cvl_buffer(cvl_graph *g, const char *name, cvl_dtype dtype, int32_t ndim, const int64_t *shape, cvl_init init, double arg);
cvl_tensor *cvl_constant(cvl_graph *g, int32_t ndim, const int64_t *shape, const float *data);

/* ---- layers (parameters under scope `name`, PyTorch names and init) */
cvl_tensor *cvl_layer_conv2d(cvl_graph *g, const char *name, cvl_tensor *x, int64_t out_ch, int k, int stride, int pad, int dil, int groups, bool bias);
cvl_tensor *cvl_layer_linear(cvl_graph *g, const char *name, cvl_tensor *x, int64_t out, bool bias);
cvl_tensor *cvl_layer_batch_norm(cvl_graph *g, const char *name, cvl_tensor *x, double eps, double momentum);
cvl_tensor *cvl_layer_layer_norm(cvl_graph *g, const char *name, cvl_tensor *x, double eps);
cvl_tensor *cvl_layer_embedding(cvl_graph *g, const char *name, cvl_tensor *idx, int64_t num, int64_t dim);

/* ---- ops */
cvl_tensor *cvl_linear(cvl_graph *g, cvl_tensor *x, cvl_tensor *w, cvl_tensor *b);
cvl_tensor *cvl_matmul(cvl_graph *g, cvl_tensor *a, cvl_tensor *b, bool ta, bool tb);
cvl_tensor *cvl_conv2d(cvl_graph *g, cvl_tensor *x, cvl_tensor *w, cvl_tensor *b, int sh, int sw, int ph, int pw, int dh, int dw, int groups);
cvl_tensor *cvl_batch_norm(cvl_graph *g, cvl_tensor *x, cvl_tensor *gamma, cvl_tensor *beta, cvl_tensor *rmean, cvl_tensor *rvar, cvl_tensor *nbt, double eps, double momentum);
cvl_tensor *cvl_layer_norm(cvl_graph *g, cvl_tensor *x, cvl_tensor *gamma, cvl_tensor *beta, double eps);
cvl_tensor *cvl_unary(cvl_graph *g, cvl_op op, cvl_tensor *x);
cvl_tensor *cvl_binary(cvl_graph *g, cvl_op op, cvl_tensor *a, cvl_tensor *b);
cvl_tensor *cvl_scale(cvl_graph *g, cvl_tensor *x, double f);
cvl_tensor *cvl_pool2d(cvl_graph *g, cvl_op kind, cvl_tensor *x, int k, int stride, int pad);
cvl_tensor *cvl_global_pool(cvl_graph *g, cvl_op kind, cvl_tensor *x);
cvl_tensor *cvl_reshape(cvl_graph *g, cvl_tensor *x, int32_t ndim, const int64_t *shape);
cvl_tensor *cvl_flatten(cvl_graph *g, cvl_tensor *x);
cvl_tensor *cvl_permute(cvl_graph *g, cvl_tensor *x, int32_t ndim, const int32_t *perm);
cvl_tensor *cvl_concat(cvl_graph *g, int32_t n, cvl_tensor *const *xs, int32_t axis);
cvl_tensor *cvl_slice(cvl_graph *g, cvl_tensor *x, int32_t axis, int64_t start, int64_t end);
cvl_tensor *cvl_dropout(cvl_graph *g, cvl_tensor *x, double p);
cvl_tensor *cvl_softmax(cvl_graph *g, cvl_tensor *x, int32_t axis, bool log);
cvl_tensor *cvl_reduce(cvl_graph *g, cvl_op kind, cvl_tensor *x, int32_t axis, bool keepdim);
cvl_tensor *cvl_embedding(cvl_graph *g, cvl_tensor *idx, cvl_tensor *w);
cvl_tensor *cvl_loss(cvl_graph *g, cvl_op kind, cvl_tensor *pred, cvl_tensor *target, cvl_tensor *weights, double arg);

/* ---- autodiff: appends the gradient of the scalar `loss` with respect to
 * every trainable parameter (param->grad). Call once. */
cvl_status cvl_graph_backward(cvl_graph *g, cvl_tensor *loss);

/* ---- optimizers: append in-place updates of every trainable parameter,
 * with optimizer state as persistent nodes named "optim.<param>.<state>".
 * The learning rate is read at run time from the step scalars (backend). */
typedef struct cvl_optim_spec {
    cvl_opk kind; /* CVL_OPK_SGD, CVL_OPK_ADAM, CVL_OPK_RMSPROP */
    double momentum, dampening, weight_decay;
    bool nesterov;
    double beta1, beta2, eps;
    bool decoupled, amsgrad;
    double alpha;
    bool centered;
    double clip_grad_norm; /* 0: none */
    /* Gradient accumulation over `accumulate` (> 1) micro-batches: each
     * gradient is added into a persistent optim.<param>.grad_acc; the update
     * uses their mean and clears them. Nodes [0, cvl_graph_micro_end(g))
     * are one micro-step (forward, backward, accumulate); the rest, run on
     * every accumulate-th micro-step, are the update. */
    int accumulate;
} cvl_optim_spec;
cvl_status cvl_graph_optimizer(cvl_graph *g, const cvl_optim_spec *spec);
/* The end of a micro-step's nodes (the whole graph without accumulation). */
int32_t cvl_graph_micro_end(const cvl_graph *g);

/* Broadcast shape of a and b (NumPy rules); false when incompatible. */
bool cvl_broadcast_shape(const cvl_tensor *a, const cvl_tensor *b, int32_t *ndim, int64_t *shape);

const char *cvl_opk_name(cvl_opk op);

#endif
