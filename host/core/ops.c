/* ops.c -- op builders: shape inference and checks, one function per op. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/graph_internal.h"

#define SHAPE(t, buf) cvl_shape_str((t), (buf), sizeof(buf))

static bool any_null(int n, cvl_tensor *const *ts) {
    for (int i = 0; i < n; i++)
        if (ts[i] == NULL) return true;
    return false;
}

static int32_t norm_axis(const cvl_tensor *t, int32_t axis) { return axis < 0 ? axis + t->ndim : axis; }

cvl_tensor *cvl_linear(cvl_graph *g, cvl_tensor *x, cvl_tensor *w, cvl_tensor *b) {
    cvl_tensor *src[3] = {x, w, b};
    if (any_null(2, src) || g->err.status) return NULL;
    char sx[64], sw[64];
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) {
        cvl_graph_fail(g, "linear: input %s does not match weight %s (out, in)", SHAPE(x, sx), SHAPE(w, sw));
        return NULL;
    }
    if (b != NULL && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
        cvl_graph_fail(g, "linear: bias %s does not match weight %s", SHAPE(b, sx), SHAPE(w, sw));
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    return cvl_node_new(g, CVL_OPK_LINEAR, CVL_DTYPE_F32, x->ndim, shape, b ? 3 : 2, src);
}

cvl_tensor *cvl_matmul(cvl_graph *g, cvl_tensor *a, cvl_tensor *b, bool ta, bool tb) {
    cvl_tensor *src[2] = {a, b};
    if (any_null(2, src) || g->err.status) return NULL;
    char sa[64], sb[64];
    if (a->ndim < 2 || b->ndim < 2 || (b->ndim != 2 && b->ndim != a->ndim)) {
        cvl_graph_fail(g, "matmul: cannot multiply %s by %s", SHAPE(a, sa), SHAPE(b, sb));
        return NULL;
    }
    for (int32_t i = 0; b->ndim > 2 && i < a->ndim - 2; i++) {
        if (a->shape[i] != b->shape[i]) {
            cvl_graph_fail(g, "matmul: batch axes differ: %s and %s", SHAPE(a, sa), SHAPE(b, sb));
            return NULL;
        }
    }
    int64_t m = a->shape[a->ndim - (ta ? 1 : 2)], ka = a->shape[a->ndim - (ta ? 2 : 1)];
    int64_t kb = b->shape[b->ndim - (tb ? 1 : 2)], n = b->shape[b->ndim - (tb ? 2 : 1)];
    if (ka != kb) {
        cvl_graph_fail(g, "matmul: inner sizes differ: %s%s x %s%s", SHAPE(a, sa), ta ? "^T" : "",
                       SHAPE(b, sb), tb ? "^T" : "");
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 2] = m;
    shape[a->ndim - 1] = n;
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_MATMUL, CVL_DTYPE_F32, a->ndim, shape, 2, src);
    if (t) {
        t->ip[0] = ta;
        t->ip[1] = tb;
    }
    return t;
}

cvl_tensor *cvl_conv2d(cvl_graph *g, cvl_tensor *x, cvl_tensor *w, cvl_tensor *b, int sh, int sw,
                       int ph, int pw, int dh, int dw, int groups) {
    cvl_tensor *src[3] = {x, w, b};
    if (any_null(2, src) || g->err.status) return NULL;
    char s1[64], s2[64];
    if (x->ndim != 4 || w->ndim != 4) {
        cvl_graph_fail(g, "conv2d: input %s and weight %s must both have 4 axes", SHAPE(x, s1), SHAPE(w, s2));
        return NULL;
    }
    if (sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1 || groups < 1) {
        cvl_graph_fail(g, "conv2d: stride %dx%d, padding %dx%d, dilation %dx%d, groups %d are not valid",
                       sh, sw, ph, pw, dh, dw, groups);
        return NULL;
    }
    int64_t C = x->shape[1], K = w->shape[0];
    if (C % groups || K % groups || w->shape[1] * groups != C) {
        cvl_graph_fail(g, "conv2d: input %s does not match weight %s with %d groups", SHAPE(x, s1), SHAPE(w, s2), groups);
        return NULL;
    }
    int64_t P = (x->shape[2] + 2 * ph - dh * (w->shape[2] - 1) - 1) / sh + 1;
    int64_t Q = (x->shape[3] + 2 * pw - dw * (w->shape[3] - 1) - 1) / sw + 1;
    if (x->shape[2] + 2 * ph < dh * (w->shape[2] - 1) + 1 || x->shape[3] + 2 * pw < dw * (w->shape[3] - 1) + 1) {
        cvl_graph_fail(g, "conv2d: kernel %s is larger than the padded input %s", SHAPE(w, s2), SHAPE(x, s1));
        return NULL;
    }
    if (b != NULL && (b->ndim != 1 || b->shape[0] != K)) {
        cvl_graph_fail(g, "conv2d: bias %s does not match %lld output channels", SHAPE(b, s1), (long long)K);
        return NULL;
    }
    int64_t shape[4] = {x->shape[0], K, P, Q};
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_CONV2D, CVL_DTYPE_F32, 4, shape, b ? 3 : 2, src);
    if (t) {
        int64_t ip[7] = {sh, sw, ph, pw, dh, dw, groups};
        memcpy(t->ip, ip, sizeof ip);
    }
    return t;
}

cvl_tensor *cvl_batch_norm(cvl_graph *g, cvl_tensor *x, cvl_tensor *gamma, cvl_tensor *beta,
                           cvl_tensor *rmean, cvl_tensor *rvar, cvl_tensor *nbt, double eps, double momentum) {
    cvl_tensor *all[6] = {x, gamma, beta, rmean, rvar, nbt};
    if (any_null(6, all) || g->err.status) return NULL;
    char s1[64];
    if (x->ndim != 2 && x->ndim != 4) {
        cvl_graph_fail(g, "batch_norm: input %s must be (N,C) or (N,C,H,W)", SHAPE(x, s1));
        return NULL;
    }
    int64_t C = x->shape[1];
    for (int i = 1; i < 5; i++) {
        if (all[i]->ndim != 1 || all[i]->shape[0] != C) {
            char s2[64];
            cvl_graph_fail(g, "batch_norm: %s %s does not match %lld channels of %s",
                           all[i]->name ? all[i]->name : "parameter", SHAPE(all[i], s2), (long long)C, SHAPE(x, s1));
            return NULL;
        }
    }
    cvl_tensor *ssrc[4] = {x, rmean, rvar, nbt};
    int64_t sshape[2] = {2, C};
    cvl_tensor *stats = cvl_node_new(g, CVL_OPK_BN_STATS, CVL_DTYPE_F32, 2, sshape, 4, ssrc);
    if (stats == NULL) return NULL;
    stats->fp[0] = eps;
    stats->fp[1] = momentum;
    stats->flags &= ~CVL_NODE_NEEDS_GRAD; /* BN_BWD differentiates through it */
    cvl_tensor *asrc[4] = {x, stats, gamma, beta};
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_BN_APPLY, CVL_DTYPE_F32, x->ndim, x->shape, 4, asrc);
    if (t) t->fp[0] = eps;
    return t;
}

cvl_tensor *cvl_layer_norm(cvl_graph *g, cvl_tensor *x, cvl_tensor *gamma, cvl_tensor *beta, double eps) {
    cvl_tensor *src[3] = {x, gamma, beta};
    if (any_null(3, src) || g->err.status) return NULL;
    int64_t D = x->shape[x->ndim - 1];
    if (gamma->ndim != 1 || gamma->shape[0] != D || beta->ndim != 1 || beta->shape[0] != D) {
        char s1[64], s2[64];
        cvl_graph_fail(g, "layer_norm: weight %s does not match the last axis of %s", SHAPE(gamma, s2), SHAPE(x, s1));
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_LAYERNORM, CVL_DTYPE_F32, x->ndim, x->shape, 3, src);
    if (t) t->fp[0] = eps;
    return t;
}

cvl_tensor *cvl_unary(cvl_graph *g, cvl_op op, cvl_tensor *x) {
    if (x == NULL || g->err.status) return NULL;
    if (op < CVL_OP_RELU || op > CVL_OP_TANH) {
        cvl_graph_fail(g, "unary: unknown op %d", (int)op);
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_UNARY, CVL_DTYPE_F32, x->ndim, x->shape, 1, &x);
    if (t) t->ip[0] = op;
    return t;
}

cvl_tensor *cvl_binary(cvl_graph *g, cvl_op op, cvl_tensor *a, cvl_tensor *b) {
    cvl_tensor *src[2] = {a, b};
    if (any_null(2, src) || g->err.status) return NULL;
    if (op < CVL_OP_ADD || op > CVL_OP_DIV) {
        cvl_graph_fail(g, "binary: unknown op %d", (int)op);
        return NULL;
    }
    int32_t nd;
    int64_t shape[CVL_MAX_DIMS];
    if (!cvl_broadcast_shape(a, b, &nd, shape)) {
        char s1[64], s2[64];
        cvl_graph_fail(g, "cannot broadcast %s with %s", SHAPE(a, s1), SHAPE(b, s2));
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_BINARY, CVL_DTYPE_F32, nd, shape, 2, src);
    if (t) t->ip[0] = op;
    return t;
}

cvl_tensor *cvl_scale(cvl_graph *g, cvl_tensor *x, double f) {
    if (x == NULL || g->err.status) return NULL;
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_SCALE, CVL_DTYPE_F32, x->ndim, x->shape, 1, &x);
    if (t) t->fp[0] = f;
    return t;
}

cvl_tensor *cvl_pool2d(cvl_graph *g, cvl_op kind, cvl_tensor *x, int k, int stride, int pad) {
    if (x == NULL || g->err.status) return NULL;
    char s1[64];
    if (x->ndim != 4 || (kind != CVL_OP_MAX_POOL && kind != CVL_OP_AVG_POOL) || k < 1 || stride < 1 ||
        pad < 0 || 2 * pad > k) {
        cvl_graph_fail(g, "pool2d: kernel %d, stride %d, padding %d on %s is not valid", k, stride, pad, SHAPE(x, s1));
        return NULL;
    }
    int64_t P = (x->shape[2] + 2 * pad - k) / stride + 1, Q = (x->shape[3] + 2 * pad - k) / stride + 1;
    if (x->shape[2] + 2 * pad < k || x->shape[3] + 2 * pad < k) {
        cvl_graph_fail(g, "pool2d: kernel %d is larger than the input %s", k, SHAPE(x, s1));
        return NULL;
    }
    int64_t shape[4] = {x->shape[0], x->shape[1], P, Q};
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_POOL2D, CVL_DTYPE_F32, 4, shape, 1, &x);
    if (t) {
        t->ip[0] = kind;
        t->ip[1] = k;
        t->ip[2] = stride;
        t->ip[3] = pad;
    }
    return t;
}

cvl_tensor *cvl_global_pool(cvl_graph *g, cvl_op kind, cvl_tensor *x) {
    if (x == NULL || g->err.status) return NULL;
    if (x->ndim != 4 || (kind != CVL_OP_MAX_POOL && kind != CVL_OP_AVG_POOL)) {
        char s1[64];
        cvl_graph_fail(g, "global_pool: needs (N,C,H,W), got %s", SHAPE(x, s1));
        return NULL;
    }
    int64_t shape[2] = {x->shape[0], x->shape[1]};
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_GPOOL, CVL_DTYPE_F32, 2, shape, 1, &x);
    if (t) t->ip[0] = kind;
    return t;
}

cvl_tensor *cvl_reshape(cvl_graph *g, cvl_tensor *x, int32_t ndim, const int64_t *shape_in) {
    if (x == NULL || g->err.status) return NULL;
    if (ndim < 1 || ndim > CVL_MAX_DIMS) {
        cvl_graph_fail(g, "reshape: %d axes", ndim);
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    int64_t known = 1;
    int32_t infer = -1;
    for (int32_t i = 0; i < ndim; i++) {
        shape[i] = shape_in[i];
        if (shape[i] == -1 && infer < 0) {
            infer = i;
        } else if (shape[i] < 1) {
            cvl_graph_fail(g, "reshape: axis %d has size %lld", i, (long long)shape[i]);
            return NULL;
        } else {
            known *= shape[i];
        }
    }
    int64_t n = (int64_t)cvl_tensor_numel(x);
    if (infer >= 0 && known > 0 && n % known == 0) shape[infer] = n / known;
    int64_t total = 1;
    for (int32_t i = 0; i < ndim; i++) total *= shape[i];
    if (total != n || (infer >= 0 && shape[infer] < 1)) {
        char s1[64];
        cvl_graph_fail(g, "reshape: %s has %lld elements, the new shape does not", SHAPE(x, s1), (long long)n);
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_RESHAPE, x->dtype, ndim, shape, 1, &x);
    if (t) t->flags |= x->flags & CVL_NODE_INT;
    return t;
}

cvl_tensor *cvl_flatten(cvl_graph *g, cvl_tensor *x) {
    if (x == NULL || g->err.status) return NULL;
    int64_t shape[2] = {x->shape[0], (int64_t)cvl_tensor_numel(x) / x->shape[0]};
    return cvl_reshape(g, x, 2, shape);
}

cvl_tensor *cvl_permute(cvl_graph *g, cvl_tensor *x, int32_t ndim, const int32_t *perm) {
    if (x == NULL || g->err.status) return NULL;
    if (ndim != x->ndim) {
        cvl_graph_fail(g, "permute: %d axes given for a tensor with %d", ndim, x->ndim);
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS] = {0};
    bool seen[CVL_MAX_DIMS] = {0};
    for (int32_t i = 0; i < ndim; i++) {
        if (perm[i] < 0 || perm[i] >= ndim || seen[perm[i]]) {
            cvl_graph_fail(g, "permute: not a permutation of %d axes", ndim);
            return NULL;
        }
        seen[perm[i]] = true;
        shape[i] = x->shape[perm[i]];
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_PERMUTE, CVL_DTYPE_F32, ndim, shape, 1, &x);
    if (t)
        for (int32_t i = 0; i < ndim; i++) t->ip[i] = perm[i];
    return t;
}

cvl_tensor *cvl_concat(cvl_graph *g, int32_t n, cvl_tensor *const *xs, int32_t axis) {
    if (g->err.status || n < 1 || n > CVL_MAX_SRC || any_null(n, xs)) {
        if (n > CVL_MAX_SRC) cvl_graph_fail(g, "concat: at most %d inputs at once, got %d", CVL_MAX_SRC, n);
        return NULL;
    }
    axis = norm_axis(xs[0], axis);
    if (axis < 0 || axis >= xs[0]->ndim) {
        cvl_graph_fail(g, "concat: axis out of range");
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[axis] = 0;
    for (int32_t i = 0; i < n; i++) {
        bool ok = xs[i]->ndim == xs[0]->ndim;
        for (int32_t d = 0; ok && d < xs[0]->ndim; d++) ok = d == axis || xs[i]->shape[d] == xs[0]->shape[d];
        if (!ok) {
            char s1[64], s2[64];
            cvl_graph_fail(g, "concat: %s and %s differ outside axis %d", SHAPE(xs[0], s1), SHAPE(xs[i], s2), axis);
            return NULL;
        }
        shape[axis] += xs[i]->shape[axis];
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_CONCAT, CVL_DTYPE_F32, xs[0]->ndim, shape, n, xs);
    if (t) t->ip[0] = axis;
    return t;
}

cvl_tensor *cvl_slice(cvl_graph *g, cvl_tensor *x, int32_t axis, int64_t start, int64_t end) {
    if (x == NULL || g->err.status) return NULL;
    axis = norm_axis(x, axis);
    if (axis < 0 || axis >= x->ndim || start < 0 || end > x->shape[axis] || start >= end) {
        char s1[64];
        cvl_graph_fail(g, "slice: [%lld, %lld) on axis %d of %s is out of range", (long long)start,
                       (long long)end, axis, SHAPE(x, s1));
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = end - start;
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_SLICE, CVL_DTYPE_F32, x->ndim, shape, 1, &x);
    if (t) {
        t->ip[0] = axis;
        t->ip[1] = start;
        t->ip[2] = end;
    }
    return t;
}

cvl_tensor *cvl_dropout(cvl_graph *g, cvl_tensor *x, double p) {
    if (x == NULL || g->err.status) return NULL;
    if (!(p >= 0 && p < 1)) {
        cvl_graph_fail(g, "dropout: p must be in [0, 1), got %g", p);
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_DROPOUT, CVL_DTYPE_F32, x->ndim, x->shape, 1, &x);
    if (t) {
        t->fp[0] = p;
        t->ip[0] = t->id; /* the mask stream: stable for a given graph */
    }
    return t;
}

cvl_tensor *cvl_softmax(cvl_graph *g, cvl_tensor *x, int32_t axis, bool log) {
    if (x == NULL || g->err.status) return NULL;
    axis = norm_axis(x, axis);
    if (axis < 0 || axis >= x->ndim) {
        cvl_graph_fail(g, "softmax: axis out of range");
        return NULL;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_SOFTMAX, CVL_DTYPE_F32, x->ndim, x->shape, 1, &x);
    if (t) {
        t->ip[0] = axis;
        t->ip[1] = log;
    }
    return t;
}

cvl_tensor *cvl_reduce(cvl_graph *g, cvl_op kind, cvl_tensor *x, int32_t axis, bool keepdim) {
    if (x == NULL || g->err.status) return NULL;
    if (kind != CVL_OP_SUM && kind != CVL_OP_MEAN) {
        cvl_graph_fail(g, "reduce: unknown kind %d", (int)kind);
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    int32_t nd = 0;
    if (axis == CVL_AXIS_ALL) {
        nd = keepdim ? x->ndim : 1;
        for (int32_t i = 0; i < nd; i++) shape[i] = 1;
    } else {
        axis = norm_axis(x, axis);
        if (axis < 0 || axis >= x->ndim) {
            cvl_graph_fail(g, "reduce: axis out of range");
            return NULL;
        }
        for (int32_t i = 0; i < x->ndim; i++) {
            if (i == axis && !keepdim) continue;
            shape[nd++] = i == axis ? 1 : x->shape[i];
        }
        if (nd == 0) shape[nd++] = 1;
    }
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_REDUCE, CVL_DTYPE_F32, nd, shape, 1, &x);
    if (t) {
        t->ip[0] = kind;
        t->ip[1] = axis;
        t->ip[2] = keepdim;
    }
    return t;
}

cvl_tensor *cvl_embedding(cvl_graph *g, cvl_tensor *idx, cvl_tensor *w) {
    cvl_tensor *src[2] = {idx, w};
    if (any_null(2, src) || g->err.status) return NULL;
    if (!(idx->flags & CVL_NODE_INT) || w->ndim != 2 || idx->ndim >= CVL_MAX_DIMS) {
        char s1[64], s2[64];
        cvl_graph_fail(g, "embedding: needs integer indices and a (num, dim) table, got %s and %s",
                       SHAPE(idx, s1), SHAPE(w, s2));
        return NULL;
    }
    int64_t shape[CVL_MAX_DIMS];
    memcpy(shape, idx->shape, (size_t)idx->ndim * sizeof *shape);
    shape[idx->ndim] = w->shape[1];
    return cvl_node_new(g, CVL_OPK_EMBEDDING, CVL_DTYPE_F32, idx->ndim + 1, shape, 2, src);
}

cvl_tensor *cvl_loss(cvl_graph *g, cvl_op kind, cvl_tensor *pred, cvl_tensor *target, cvl_tensor *weights, double arg) {
    cvl_tensor *src[3] = {pred, target, weights};
    if (any_null(2, src) || g->err.status) return NULL;
    char s1[64], s2[64];
    if (kind == CVL_OP_CROSS_ENTROPY) {
        if (pred->ndim != 2 || !(target->flags & CVL_NODE_INT) || target->ndim != 1 ||
            target->shape[0] != pred->shape[0]) {
            cvl_graph_fail(g, "cross_entropy: needs logits (N,C) and integer labels (N), got %s and %s",
                           SHAPE(pred, s1), SHAPE(target, s2));
            return NULL;
        }
        if (weights && (weights->ndim != 1 || weights->shape[0] != pred->shape[1])) {
            cvl_graph_fail(g, "cross_entropy: class weights %s for %lld classes", SHAPE(weights, s1),
                           (long long)pred->shape[1]);
            return NULL;
        }
    } else if (kind >= CVL_OP_BCE_LOGITS && kind <= CVL_OP_HUBER) {
        bool same = pred->ndim == target->ndim && !(target->flags & CVL_NODE_INT);
        for (int32_t i = 0; same && i < pred->ndim; i++) same = pred->shape[i] == target->shape[i];
        if (!same) {
            cvl_graph_fail(g, "loss: prediction %s and target %s must have the same shape", SHAPE(pred, s1),
                           SHAPE(target, s2));
            return NULL;
        }
    } else {
        cvl_graph_fail(g, "loss: unknown kind %d", (int)kind);
        return NULL;
    }
    int64_t one = 1;
    cvl_tensor *t = cvl_node_new(g, CVL_OPK_LOSS, CVL_DTYPE_F32, 1, &one, weights ? 3 : 2, src);
    if (t) {
        t->ip[0] = kind;
        t->fp[0] = arg;
    }
    return t;
}

/* ------------------------------------------------------------- layers */

cvl_tensor *cvl_layer_conv2d(cvl_graph *g, const char *name, cvl_tensor *x, int64_t out_ch, int k,
                             int stride, int pad, int dil, int groups, bool bias) {
    if (x == NULL || g->err.status) return NULL;
    if (x->ndim != 4 || groups < 1 || x->shape[1] % groups) {
        char s1[64];
        cvl_graph_fail(g, "conv2d '%s': input %s with %d groups", name, SHAPE(x, s1), groups);
        return NULL;
    }
    cvl_graph_push_scope(g, name);
    int64_t wshape[4] = {out_ch, x->shape[1] / groups, k, k};
    cvl_tensor *w = cvl_param(g, "weight", 4, wshape, CVL_INIT_UNIFORM_FAN_IN, 0);
    cvl_tensor *b = NULL;
    if (bias) b = cvl_param(g, "bias", 1, &out_ch, CVL_INIT_UNIFORM_FAN_IN, (double)(wshape[1] * k * k));
    cvl_graph_pop_scope(g);
    return cvl_conv2d(g, x, w, b, stride, stride, pad, pad, dil, dil, groups);
}

cvl_tensor *cvl_layer_linear(cvl_graph *g, const char *name, cvl_tensor *x, int64_t out, bool bias) {
    if (x == NULL || g->err.status) return NULL;
    int64_t in = x->shape[x->ndim - 1];
    cvl_graph_push_scope(g, name);
    int64_t wshape[2] = {out, in};
    cvl_tensor *w = cvl_param(g, "weight", 2, wshape, CVL_INIT_UNIFORM_FAN_IN, 0);
    cvl_tensor *b = bias ? cvl_param(g, "bias", 1, &out, CVL_INIT_UNIFORM_FAN_IN, (double)in) : NULL;
    cvl_graph_pop_scope(g);
    return cvl_linear(g, x, w, b);
}

cvl_tensor *cvl_layer_batch_norm(cvl_graph *g, const char *name, cvl_tensor *x, double eps, double momentum) {
    if (x == NULL || g->err.status) return NULL;
    int64_t C = x->shape[1], one = 1;
    cvl_graph_push_scope(g, name);
    cvl_tensor *gamma = cvl_param(g, "weight", 1, &C, CVL_INIT_ONES, 0);
    cvl_tensor *beta = cvl_param(g, "bias", 1, &C, CVL_INIT_ZEROS, 0);
    cvl_tensor *rm = cvl_buffer(g, "running_mean", CVL_DTYPE_F32, 1, &C, CVL_INIT_ZEROS, 0);
    cvl_tensor *rv = cvl_buffer(g, "running_var", CVL_DTYPE_F32, 1, &C, CVL_INIT_ONES, 0);
    /* PyTorch stores num_batches_tracked as a 0-d int64; we keep shape (1). */
    cvl_tensor *nbt = cvl_buffer(g, "num_batches_tracked", CVL_DTYPE_I64, 1, &one, CVL_INIT_ZEROS, 0);
    cvl_graph_pop_scope(g);
    return cvl_batch_norm(g, x, gamma, beta, rm, rv, nbt, eps, momentum);
}

cvl_tensor *cvl_layer_layer_norm(cvl_graph *g, const char *name, cvl_tensor *x, double eps) {
    if (x == NULL || g->err.status) return NULL;
    int64_t D = x->shape[x->ndim - 1];
    cvl_graph_push_scope(g, name);
    cvl_tensor *gamma = cvl_param(g, "weight", 1, &D, CVL_INIT_ONES, 0);
    cvl_tensor *beta = cvl_param(g, "bias", 1, &D, CVL_INIT_ZEROS, 0);
    cvl_graph_pop_scope(g);
    return cvl_layer_norm(g, x, gamma, beta, eps);
}

cvl_tensor *cvl_layer_embedding(cvl_graph *g, const char *name, cvl_tensor *idx, int64_t num, int64_t dim) {
    if (idx == NULL || g->err.status) return NULL;
    cvl_graph_push_scope(g, name);
    int64_t shape[2] = {num, dim};
    cvl_tensor *w = cvl_param(g, "weight", 2, shape, CVL_INIT_NORMAL, 1.0);
    cvl_graph_pop_scope(g);
    return cvl_embedding(g, idx, w);
}
