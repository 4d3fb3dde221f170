/* graph.c -- node creation, names, shape inference. */
#include "core/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_internal.h"
#include "util/strutil.h"

static const char *const opk_names[CVL_OPK_COUNT] = {
    [CVL_OPK_INPUT] = "input", [CVL_OPK_PARAM] = "param", [CVL_OPK_BUFFER] = "buffer",
    [CVL_OPK_CONST] = "const", [CVL_OPK_LINEAR] = "linear", [CVL_OPK_MATMUL] = "matmul",
    [CVL_OPK_CONV2D] = "conv2d", [CVL_OPK_BN_STATS] = "batch_norm_stats",
    [CVL_OPK_BN_APPLY] = "batch_norm", [CVL_OPK_LAYERNORM] = "layer_norm",
    [CVL_OPK_UNARY] = "unary", [CVL_OPK_BINARY] = "binary", [CVL_OPK_SCALE] = "scale",
    [CVL_OPK_POOL2D] = "pool2d", [CVL_OPK_GPOOL] = "global_pool", [CVL_OPK_RESHAPE] = "reshape",
    [CVL_OPK_PERMUTE] = "permute", [CVL_OPK_CONCAT] = "concat", [CVL_OPK_SLICE] = "slice",
    [CVL_OPK_DROPOUT] = "dropout", [CVL_OPK_SOFTMAX] = "softmax", [CVL_OPK_REDUCE] = "reduce",
    [CVL_OPK_EMBEDDING] = "embedding", [CVL_OPK_LOSS] = "loss",
    [CVL_OPK_CONV2D_BWD_DATA] = "conv2d_bwd_data", [CVL_OPK_CONV2D_BWD_WEIGHT] = "conv2d_bwd_weight",
    [CVL_OPK_BN_BWD] = "batch_norm_bwd", [CVL_OPK_BN_BWD_PARAMS] = "batch_norm_bwd_params",
    [CVL_OPK_LAYERNORM_BWD] = "layer_norm_bwd", [CVL_OPK_LAYERNORM_BWD_PARAMS] = "layer_norm_bwd_params",
    [CVL_OPK_UNARY_BWD] = "unary_bwd", [CVL_OPK_SUM_TO] = "sum_to", [CVL_OPK_POOL2D_BWD] = "pool2d_bwd",
    [CVL_OPK_GPOOL_BWD] = "global_pool_bwd", [CVL_OPK_DROPOUT_BWD] = "dropout_bwd",
    [CVL_OPK_SOFTMAX_BWD] = "softmax_bwd", [CVL_OPK_REDUCE_BWD] = "reduce_bwd",
    [CVL_OPK_EMBEDDING_BWD] = "embedding_bwd", [CVL_OPK_LOSS_BWD] = "loss_bwd",
    [CVL_OPK_ACCUM] = "accumulate", [CVL_OPK_SLICE_BWD] = "slice_bwd",
    [CVL_OPK_CONCAT_BWD] = "concat_bwd", [CVL_OPK_PERMUTE_BWD] = "permute_bwd",
    [CVL_OPK_ONES] = "ones", [CVL_OPK_GRAD_NORM] = "grad_norm", [CVL_OPK_SGD] = "sgd",
    [CVL_OPK_ADAM] = "adam", [CVL_OPK_RMSPROP] = "rmsprop",
};

const char *cvl_opk_name(cvl_opk op) {
    return op >= 0 && op < CVL_OPK_COUNT && opk_names[op] ? opk_names[op] : "?";
}

cvl_graph *cvl_graph_new(uint64_t seed) {
    cvl_graph *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    g->seed = seed;
    return g;
}

void cvl_graph_free(cvl_graph *g) {
    if (g == NULL) return;
    for (int32_t i = 0; i < g->n; i++) {
        free(g->nodes[i]->name);
        free(g->nodes[i]->const_data);
        free(g->nodes[i]);
    }
    free(g->nodes);
    free(g);
}

const cvl_err *cvl_graph_error(const cvl_graph *g) { return &g->err; }
cvl_err *cvl_graph_err(cvl_graph *g) { return &g->err; }

void cvl_graph_set_label(cvl_graph *g, const char *label) {
    snprintf(g->label, sizeof g->label, "%s", label ? label : "");
}

void cvl_graph_fail(cvl_graph *g, const char *fmt, ...) {
    if (g->err.status != CVL_OK) return;
    char body[CVL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const char *sep = g->label[0] ? ": " : "";
    if (g->scope_len > 0)
        cvl_err_set(&g->err, CVL_ERR_INVALID, "%s%sat '%s': %s", g->label, sep, g->scope, body);
    else
        cvl_err_set(&g->err, CVL_ERR_INVALID, "%s%s%s", g->label, sep, body);
}

int32_t cvl_graph_size(const cvl_graph *g) { return g->n; }
cvl_tensor *cvl_graph_node(const cvl_graph *g, int32_t i) { return i >= 0 && i < g->n ? g->nodes[i] : NULL; }

size_t cvl_tensor_numel(const cvl_tensor *t) {
    size_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

void cvl_tensor_broadcast_strides(const cvl_tensor *t, int32_t nd, const int64_t *shape, int64_t *st) {
    int64_t s = 1;
    for (int32_t i = nd - 1; i >= 0; i--) {
        int32_t ti = t->ndim - nd + i;
        int64_t d = ti >= 0 ? t->shape[ti] : 1;
        st[i] = (d == 1 && shape[i] != 1) ? 0 : s;
        s *= d;
    }
}

static size_t dtype_size(cvl_dtype d) {
    switch (d) {
    case CVL_DTYPE_F16:
    case CVL_DTYPE_BF16: return 2;
    case CVL_DTYPE_I64: return 8;
    default: return 4;
    }
}

size_t cvl_tensor_nbytes(const cvl_tensor *t) { return cvl_tensor_numel(t) * dtype_size(t->dtype); }

const char *cvl_shape_str(const cvl_tensor *t, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int32_t i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (used < n) snprintf(buf + used, n - used, ")");
    return buf;
}

/* ---------------------------------------------------------------- names */

void cvl_graph_push_scope(cvl_graph *g, const char *name) {
    if (g->depth >= CVL_MAX_SCOPE_DEPTH) {
        cvl_graph_fail(g, "name scopes nested deeper than %d", CVL_MAX_SCOPE_DEPTH);
        return;
    }
    g->scope_marks[g->depth++] = g->scope_len;
    int w = snprintf(g->scope + g->scope_len, sizeof g->scope - g->scope_len, "%s%s",
                     g->scope_len ? "." : "", name ? name : "");
    if (w < 0 || (size_t)w >= sizeof g->scope - g->scope_len) {
        cvl_graph_fail(g, "name scope too long");
        return;
    }
    g->scope_len += (size_t)w;
}

void cvl_graph_pop_scope(cvl_graph *g) {
    if (g->depth == 0) return;
    g->scope_len = g->scope_marks[--g->depth];
    g->scope[g->scope_len] = '\0';
}

void cvl_graph_set_prefix(cvl_graph *g, const char *prefix) {
    snprintf(g->prefix, sizeof g->prefix, "%s", prefix ? prefix : "");
}

cvl_tensor *cvl_graph_find(const cvl_graph *g, const char *name) {
    for (int32_t i = 0; i < g->n; i++)
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
    return NULL;
}

/* "<prefix><scope>.<name>" */
static char *full_name(cvl_graph *g, const char *name) {
    char buf[768];
    snprintf(buf, sizeof buf, "%s%s%s%s", g->prefix, g->scope, g->scope_len ? "." : "", name);
    return cvl_strdup(buf);
}

/* ---------------------------------------------------------------- nodes */

cvl_tensor *cvl_node_new(cvl_graph *g, cvl_opk op, cvl_dtype dtype, int32_t ndim,
                         const int64_t *shape, int32_t n_src, cvl_tensor *const *src) {
    if (g->err.status != CVL_OK) return NULL;
    for (int32_t i = 0; i < n_src; i++)
        if (src[i] == NULL) return NULL;
    if (ndim < 0 || ndim > CVL_MAX_DIMS) {
        cvl_graph_fail(g, "%s: %d axes (at most %d)", cvl_opk_name(op), ndim, CVL_MAX_DIMS);
        return NULL;
    }
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 40)) {
            cvl_graph_fail(g, "%s: axis %d has size %lld", cvl_opk_name(op), i, (long long)shape[i]);
            return NULL;
        }
    }
    if (g->n == g->cap) {
        int32_t cap = g->cap ? g->cap * 2 : 256;
        cvl_tensor **grown = realloc(g->nodes, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            cvl_err_set(&g->err, CVL_ERR_NOMEM, "out of memory building the graph");
            return NULL;
        }
        g->nodes = grown;
        g->cap = cap;
    }
    cvl_tensor *t = calloc(1, sizeof *t);
    if (t == NULL) {
        cvl_err_set(&g->err, CVL_ERR_NOMEM, "out of memory building the graph");
        return NULL;
    }
    t->id = g->n;
    t->op = op;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->n_src = n_src;
    for (int32_t i = 0; i < n_src; i++) {
        t->src[i] = src[i];
        if (src[i]->flags & (CVL_NODE_NEEDS_GRAD | CVL_NODE_TRAINABLE)) t->flags |= CVL_NODE_NEEDS_GRAD;
    }
    g->nodes[g->n++] = t;
    return t;
}

static cvl_tensor *leaf(cvl_graph *g, cvl_opk op, const char *name, cvl_dtype dtype, int32_t ndim,
                        const int64_t *shape) {
    cvl_tensor *t = cvl_node_new(g, op, dtype, ndim, shape, 0, NULL);
    if (t == NULL) return NULL;
    if (name) {
        t->name = op == CVL_OPK_INPUT ? cvl_strdup(name) : full_name(g, name);
        if (t->name == NULL) {
            cvl_err_set(&g->err, CVL_ERR_NOMEM, "out of memory");
            return NULL;
        }
        for (int32_t i = 0; i < g->n - 1; i++) {
            if (g->nodes[i]->name && strcmp(g->nodes[i]->name, t->name) == 0) {
                cvl_graph_fail(g, "two tensors are named '%s'", t->name);
                return NULL;
            }
        }
    }
    if (dtype == CVL_DTYPE_I32 || dtype == CVL_DTYPE_I64) t->flags |= CVL_NODE_INT;
    return t;
}

cvl_tensor *cvl_input(cvl_graph *g, const char *name, cvl_dtype dtype, int32_t ndim, const int64_t *shape) {
    return leaf(g, CVL_OPK_INPUT, name, dtype, ndim, shape);
}

cvl_tensor *cvl_param(cvl_graph *g, const char *name, int32_t ndim, const int64_t *shape, cvl_init init, double arg) {
    cvl_tensor *t = leaf(g, CVL_OPK_PARAM, name, CVL_DTYPE_F32, ndim, shape);
    if (t == NULL) return NULL;
    t->flags |= CVL_NODE_TRAINABLE | CVL_NODE_PERSIST;
    t->init = init;
    t->init_arg = arg;
    return t;
}

cvl_tensor *cvl_buffer(cvl_graph *g, const char *name, cvl_dtype dtype, int32_t ndim, const int64_t *shape, cvl_init init, double arg) {
    cvl_tensor *t = leaf(g, CVL_OPK_BUFFER, name, dtype, ndim, shape);
    if (t == NULL) return NULL;
    t->flags |= CVL_NODE_PERSIST;
    t->init = init;
    t->init_arg = arg;
    return t;
}

cvl_tensor *cvl_constant(cvl_graph *g, int32_t ndim, const int64_t *shape, const float *data) {
    cvl_tensor *t = leaf(g, CVL_OPK_CONST, NULL, CVL_DTYPE_F32, ndim, shape);
    if (t == NULL) return NULL;
    t->flags |= CVL_NODE_PERSIST;
    size_t n = cvl_tensor_numel(t);
    t->const_data = malloc(n * sizeof(float));
    if (t->const_data == NULL) {
        cvl_err_set(&g->err, CVL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(t->const_data, data, n * sizeof(float));
    return t;
}

bool cvl_broadcast_shape(const cvl_tensor *a, const cvl_tensor *b, int32_t *ndim, int64_t *shape) {
    int32_t n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int32_t i = 0; i < n; i++) {
        int32_t ia = a->ndim - n + i, ib = b->ndim - n + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        shape[i] = da > db ? da : db;
    }
    *ndim = n;
    return true;
}
