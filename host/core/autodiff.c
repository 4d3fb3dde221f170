/* autodiff.c -- reverse-mode differentiation: one VJP rule per op, each
 * written as graph nodes, so every backend runs backward unchanged. */
#include <stdlib.h>
#include <string.h>

#include "core/graph_internal.h"

/* A backward node with the shape of `like`. */
static cvl_tensor *bnode(cvl_graph *g, cvl_opk op, const cvl_tensor *like, int32_t n_src, cvl_tensor *const *src) {
    return cvl_node_new(g, op, CVL_DTYPE_F32, like->ndim, like->shape, n_src, src);
}

/* dy summed over the axes `x` was broadcast along, so it has x's shape. */
static cvl_tensor *sum_to(cvl_graph *g, cvl_tensor *dy, const cvl_tensor *x) {
    if (dy == NULL) return NULL;
    if (dy->ndim == x->ndim && memcmp(dy->shape, x->shape, (size_t)x->ndim * sizeof x->shape[0]) == 0) return dy;
    return bnode(g, CVL_OPK_SUM_TO, x, 1, &dy);
}

static cvl_tensor *as_2d(cvl_graph *g, cvl_tensor *t) {
    if (t == NULL || t->ndim == 2) return t;
    int64_t shape[2] = {(int64_t)cvl_tensor_numel(t) / t->shape[t->ndim - 1], t->shape[t->ndim - 1]};
    return cvl_reshape(g, t, 2, shape);
}

/* Adds `d` to the gradient being accumulated for x. */
static void accumulate(cvl_graph *g, cvl_tensor **grads, cvl_tensor *x, cvl_tensor *d) {
    if (d == NULL || x == NULL) return;
    if (!(x->flags & (CVL_NODE_NEEDS_GRAD | CVL_NODE_TRAINABLE))) return;
    if (grads[x->id] == NULL) {
        grads[x->id] = d;
    } else {
        cvl_tensor *src[2] = {grads[x->id], d};
        grads[x->id] = bnode(g, CVL_OPK_ACCUM, x, 2, src);
    }
}

static bool wants(const cvl_tensor *x) { return x && (x->flags & (CVL_NODE_NEEDS_GRAD | CVL_NODE_TRAINABLE)); }

/* Appends the VJP of node t given dy = d loss / d t. */
static void vjp(cvl_graph *g, cvl_tensor **grads, cvl_tensor *t, cvl_tensor *dy) {
    cvl_tensor **s = t->src;
    switch (t->op) {
    case CVL_OPK_LINEAR: {
        cvl_tensor *x = s[0], *w = s[1], *dy2 = as_2d(g, dy);
        if (wants(x)) {
            cvl_tensor *dx = cvl_matmul(g, dy2, w, false, false); // (M,out)x(out,in)
            accumulate(g, grads, x, x->ndim == 2 ? dx : cvl_reshape(g, dx, x->ndim, x->shape));
        }
        if (wants(w)) accumulate(g, grads, w, cvl_matmul(g, dy2, as_2d(g, x), true, false)); // (out,M)x(M,in)
        if (t->n_src > 2 && wants(s[2])) {
            int64_t shape[2] = {1, s[2]->shape[0]};
            cvl_tensor *db = cvl_node_new(g, CVL_OPK_SUM_TO, CVL_DTYPE_F32, 2, shape, 1, &dy2);
            accumulate(g, grads, s[2], cvl_reshape(g, db, 1, s[2]->shape));
        }
        break;
    }
    case CVL_OPK_MATMUL: {
        cvl_tensor *a = s[0], *b = s[1];
        bool ta = t->ip[0], tb = t->ip[1];
        if (wants(a)) accumulate(g, grads, a, ta ? cvl_matmul(g, b, dy, tb, true) : cvl_matmul(g, dy, b, false, !tb));
        if (wants(b)) {
            cvl_tensor *db = tb ? cvl_matmul(g, dy, a, true, ta) : cvl_matmul(g, a, dy, !ta, false);
            if (db && b->ndim == 2 && db->ndim > 2) {
                /* b was shared across the batch axes: sum them. */
                int64_t shape[3] = {(int64_t)cvl_tensor_numel(db) / (b->shape[0] * b->shape[1]), b->shape[0], b->shape[1]};
                cvl_tensor *r = cvl_reshape(g, db, 3, shape);
                db = cvl_reduce(g, CVL_OP_SUM, r, 0, false);
            }
            accumulate(g, grads, b, db);
        }
        break;
    }
    case CVL_OPK_CONV2D: {
        cvl_tensor *x = s[0], *w = s[1];
        if (wants(x)) {
            cvl_tensor *src[2] = {dy, w};
            cvl_tensor *dx = bnode(g, CVL_OPK_CONV2D_BWD_DATA, x, 2, src);
            if (dx) memcpy(dx->ip, t->ip, sizeof t->ip);
            accumulate(g, grads, x, dx);
        }
        if (wants(w)) {
            cvl_tensor *src[2] = {dy, x};
            cvl_tensor *dw = bnode(g, CVL_OPK_CONV2D_BWD_WEIGHT, w, 2, src);
            if (dw) memcpy(dw->ip, t->ip, sizeof t->ip);
            accumulate(g, grads, w, dw);
        }
        if (t->n_src > 2 && wants(s[2])) {
            int64_t shape[4] = {1, s[2]->shape[0], 1, 1};
            cvl_tensor *db = cvl_node_new(g, CVL_OPK_SUM_TO, CVL_DTYPE_F32, 4, shape, 1, &dy);
            accumulate(g, grads, s[2], cvl_reshape(g, db, 1, s[2]->shape));
        }
        break;
    }
    case CVL_OPK_BN_APPLY: {
        cvl_tensor *x = s[0], *stats = s[1], *gamma = s[2], *beta = s[3];
        if (wants(x)) {
            cvl_tensor *src[4] = {dy, x, stats, gamma};
            accumulate(g, grads, x, bnode(g, CVL_OPK_BN_BWD, x, 4, src));
        }
        if (wants(gamma) || wants(beta)) {
            cvl_tensor *src[3] = {dy, x, stats};
            cvl_tensor *dp = bnode(g, CVL_OPK_BN_BWD_PARAMS, stats, 3, src); // (2,C)
            int64_t C = gamma->shape[0];
            accumulate(g, grads, gamma, cvl_reshape(g, cvl_slice(g, dp, 0, 0, 1), 1, &C));
            accumulate(g, grads, beta, cvl_reshape(g, cvl_slice(g, dp, 0, 1, 2), 1, &C));
        }
        break;
    }
    case CVL_OPK_LAYERNORM: {
        cvl_tensor *x = s[0], *gamma = s[1], *beta = s[2];
        if (wants(x)) {
            cvl_tensor *src[3] = {dy, x, gamma};
            cvl_tensor *dx = bnode(g, CVL_OPK_LAYERNORM_BWD, x, 3, src);
            if (dx) dx->fp[0] = t->fp[0];
            accumulate(g, grads, x, dx);
        }
        if (wants(gamma) || wants(beta)) {
            cvl_tensor *src[2] = {dy, x};
            int64_t shape[2] = {2, gamma->shape[0]};
            cvl_tensor *dp = cvl_node_new(g, CVL_OPK_LAYERNORM_BWD_PARAMS, CVL_DTYPE_F32, 2, shape, 2, src);
            if (dp) dp->fp[0] = t->fp[0];
            accumulate(g, grads, gamma, cvl_reshape(g, cvl_slice(g, dp, 0, 0, 1), 1, gamma->shape));
            accumulate(g, grads, beta, cvl_reshape(g, cvl_slice(g, dp, 0, 1, 2), 1, beta->shape));
        }
        break;
    }
    case CVL_OPK_UNARY: {
        cvl_tensor *src[2] = {dy, s[0]};
        cvl_tensor *dx = bnode(g, CVL_OPK_UNARY_BWD, s[0], 2, src);
        if (dx) dx->ip[0] = t->ip[0];
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_BINARY: {
        cvl_tensor *a = s[0], *b = s[1];
        switch (t->ip[0]) {
        case CVL_OP_ADD:
            if (wants(a)) accumulate(g, grads, a, sum_to(g, dy, a));
            if (wants(b)) accumulate(g, grads, b, sum_to(g, dy, b));
            break;
        case CVL_OP_SUB:
            if (wants(a)) accumulate(g, grads, a, sum_to(g, dy, a));
            if (wants(b)) accumulate(g, grads, b, cvl_scale(g, sum_to(g, dy, b), -1.0));
            break;
        case CVL_OP_MUL:
            if (wants(a)) accumulate(g, grads, a, sum_to(g, cvl_binary(g, CVL_OP_MUL, dy, b), a));
            if (wants(b)) accumulate(g, grads, b, sum_to(g, cvl_binary(g, CVL_OP_MUL, dy, a), b));
            break;
        case CVL_OP_DIV:
            if (wants(a)) accumulate(g, grads, a, sum_to(g, cvl_binary(g, CVL_OP_DIV, dy, b), a));
            if (wants(b)) {
                // d(a/b)/db = -a/b^2
                cvl_tensor *num = cvl_binary(g, CVL_OP_MUL, dy, a);
                cvl_tensor *den = cvl_binary(g, CVL_OP_MUL, b, b);
                accumulate(g, grads, b, cvl_scale(g, sum_to(g, cvl_binary(g, CVL_OP_DIV, num, den), b), -1.0));
            }
            break;
        }
        break;
    }
    case CVL_OPK_SCALE:
        accumulate(g, grads, s[0], cvl_scale(g, dy, t->fp[0]));
        break;
    case CVL_OPK_POOL2D:
    case CVL_OPK_GPOOL: {
        cvl_tensor *src[3] = {dy, s[0], t};
        cvl_tensor *dx = bnode(g, t->op == CVL_OPK_POOL2D ? CVL_OPK_POOL2D_BWD : CVL_OPK_GPOOL_BWD, s[0], 3, src);
        if (dx) memcpy(dx->ip, t->ip, sizeof t->ip);
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_RESHAPE:
        accumulate(g, grads, s[0], cvl_reshape(g, dy, s[0]->ndim, s[0]->shape));
        break;
    case CVL_OPK_PERMUTE: {
        int32_t inv[CVL_MAX_DIMS];
        for (int32_t i = 0; i < t->ndim; i++) inv[t->ip[i]] = i;
        accumulate(g, grads, s[0], cvl_permute(g, dy, t->ndim, inv));
        break;
    }
    case CVL_OPK_CONCAT: {
        int64_t off = 0;
        int32_t axis = (int32_t)t->ip[0];
        for (int32_t i = 0; i < t->n_src; i++) {
            if (wants(s[i])) accumulate(g, grads, s[i], cvl_slice(g, dy, axis, off, off + s[i]->shape[axis]));
            off += s[i]->shape[axis];
        }
        break;
    }
    case CVL_OPK_SLICE: {
        cvl_tensor *dx = bnode(g, CVL_OPK_SLICE_BWD, s[0], 1, &dy);
        if (dx) memcpy(dx->ip, t->ip, sizeof t->ip);
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_DROPOUT: {
        cvl_tensor *dx = bnode(g, CVL_OPK_DROPOUT_BWD, s[0], 1, &dy);
        if (dx) {
            dx->fp[0] = t->fp[0];
            dx->ip[0] = t->ip[0];
        }
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_SOFTMAX: {
        cvl_tensor *src[2] = {dy, t};
        cvl_tensor *dx = bnode(g, CVL_OPK_SOFTMAX_BWD, s[0], 2, src);
        if (dx) memcpy(dx->ip, t->ip, sizeof t->ip);
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_REDUCE: {
        cvl_tensor *dx = bnode(g, CVL_OPK_REDUCE_BWD, s[0], 1, &dy);
        if (dx) memcpy(dx->ip, t->ip, sizeof t->ip);
        accumulate(g, grads, s[0], dx);
        break;
    }
    case CVL_OPK_EMBEDDING: {
        cvl_tensor *src[2] = {dy, s[0]};
        accumulate(g, grads, s[1], bnode(g, CVL_OPK_EMBEDDING_BWD, s[1], 2, src));
        break;
    }
    case CVL_OPK_LOSS: {
        cvl_tensor *src[4] = {dy, s[0], s[1], t->n_src > 2 ? s[2] : NULL};
        cvl_tensor *dx = bnode(g, CVL_OPK_LOSS_BWD, s[0], t->n_src + 1, src);
        if (dx) {
            dx->ip[0] = t->ip[0];
            dx->fp[0] = t->fp[0];
        }
        accumulate(g, grads, s[0], dx);
        break;
    }
    default:
        cvl_graph_fail(g, "autodiff: no gradient rule for op '%s'", cvl_opk_name(t->op));
        break;
    }
}

cvl_status cvl_graph_backward(cvl_graph *g, cvl_tensor *loss) {
    if (g->err.status) return g->err.status;
    if (loss == NULL || cvl_tensor_numel(loss) != 1) {
        cvl_graph_fail(g, "backward: the loss must be a scalar");
        return g->err.status;
    }
    if (g->loss != NULL) {
        cvl_graph_fail(g, "backward: called twice");
        return g->err.status;
    }
    g->loss = loss;
    loss->flags |= CVL_NODE_OUTPUT;
    int32_t n = g->n;
    g->n_forward = n;
    cvl_tensor **grads = calloc((size_t)n + 1, sizeof *grads);
    if (grads == NULL) return cvl_err_set(&g->err, CVL_ERR_NOMEM, "out of memory");
    grads[loss->id] = cvl_node_new(g, CVL_OPK_ONES, CVL_DTYPE_F32, loss->ndim, loss->shape, 0, NULL);
    for (int32_t i = loss->id; i >= 0 && g->err.status == CVL_OK; i--) {
        cvl_tensor *t = g->nodes[i];
        if (grads[i] == NULL) continue;
        if (t->op == CVL_OPK_PARAM) {
            t->grad = grads[i];
            continue;
        }
        if (t->op <= CVL_OPK_CONST) continue;
        vjp(g, grads, t, grads[i]);
    }
    free(grads);
    /* Every gradient is read after the step (optimizer, tests, clipping). */
    for (int32_t i = 0; i < n; i++)
        if (g->nodes[i]->grad) g->nodes[i]->grad->flags |= CVL_NODE_OUTPUT;
    g->n_backward = g->n;
    return g->err.status;
}
