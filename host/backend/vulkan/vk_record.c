/* vk_record.c -- what each graph node records on Vulkan: the mapping from
 * cvl_opk (host/core/graph.h) onto the ops of ops.h, with the shapes,
 * strides and scalar-buffer slots each needs. Semantics follow the CPU
 * backend (host/core/cpu_backend.c, cpu_loss.c) node for node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

cvl_vk_view cvl_vkb_view(const cvl_vkb *b, const cvl_tensor *t) {
    return (cvl_vk_view){&b->region[t->region], t->offset, cvl_tensor_numel(t) * (t->dtype == CVL_DTYPE_I64 ? 2 : 1)};
}
#define V(t) cvl_vkb_view(b, (t))

bool cvl_vkb_supported(const cvl_tensor *t, const char **why) {
    switch (t->op) {
    case CVL_OPK_CONCAT_BWD:
    case CVL_OPK_PERMUTE_BWD:
        *why = "not produced by autodiff (concat and permute differentiate through slice and permute)";
        return false;
    default:
        if (t->op >= 0 && t->op < CVL_OPK_COUNT) return true;
        *why = "unknown op";
        return false;
    }
}

static const cvl_vk_device *dev_of(const cvl_vkb *b) { return b->dev; }

uint64_t cvl_vkb_scratch_need(const cvl_vkb *b, const cvl_graph *g) {
    uint64_t need = 1;
    for (int32_t i = 0; i < g->n; i++) {
        const cvl_tensor *t = g->nodes[i];
        uint64_t k = 0;
        if ((t->op == CVL_OPK_LOSS && t->ip[0] != CVL_OP_CROSS_ENTROPY) || (t->op == CVL_OPK_REDUCE && t->ip[1] == CVL_AXIS_ALL))
            k = cvl_vk_partials_scratch(dev_of(b), cvl_tensor_numel(t->src[0]));
        if ((t->op == CVL_OPK_LOSS || t->op == CVL_OPK_LOSS_BWD) && t->ip[0] == CVL_OP_CROSS_ENTROPY)
            k = CVL_VK_CE_SCRATCH;
        if (t->op == CVL_OPK_BN_BWD) /* the per-channel sums behind dx */
            k = 2 * (uint64_t)t->shape[1];
        if (t->op == CVL_OPK_GRAD_NORM)
            for (int32_t j = 0; j < g->n_forward; j++)
                if (g->nodes[j]->op == CVL_OPK_PARAM && g->nodes[j]->grad)
                    k += cvl_vk_partials_scratch(dev_of(b), cvl_tensor_numel(g->nodes[j]));
        if (k > need) need = k;
    }
    return need;
}

/* (M, N) -> (1, N): the bias gradient of a linear layer, as ones . dy */
static bool rows_sum(const cvl_tensor *t) {
    const cvl_tensor *x = t->src[0];
    return t->ndim == 2 && t->shape[0] == 1 && x->ndim == 2 && x->shape[1] == t->shape[1];
}

uint64_t cvl_vkb_ones_need(const cvl_graph *g) {
    uint64_t rows = 1;
    for (int32_t i = 0; i < g->n; i++)
        if (g->nodes[i]->op == CVL_OPK_SUM_TO && rows_sum(g->nodes[i]) && (uint64_t)g->nodes[i]->src[0]->shape[0] > rows)
            rows = (uint64_t)g->nodes[i]->src[0]->shape[0];
    return rows;
}

/* Row-major strides of t. */
static void strides(const cvl_tensor *t, uint64_t *st) {
    uint64_t s = 1;
    for (int32_t d = t->ndim - 1; d >= 0; d--) st[d] = s, s *= (uint64_t)t->shape[d];
}

/* Strides of `t` seen through the broadcast shape (nd, shape), as the
 * strided ops take them. */
static void bstrides(const cvl_tensor *t, int32_t nd, const int64_t *shape, uint64_t *st) {
    int64_t s[CVL_MAX_DIMS];
    cvl_tensor_broadcast_strides(t, nd, shape, s);
    for (int32_t i = 0; i < nd; i++) st[i] = (uint64_t)s[i];
}

/* (outer, axis, inner) around one axis of t. */
static void around(const cvl_tensor *t, int32_t axis, uint32_t *outer, uint32_t *inner) {
    uint64_t o = 1, in = 1;
    for (int32_t i = 0; i < axis; i++) o *= (uint64_t)t->shape[i];
    for (int32_t i = axis + 1; i < t->ndim; i++) in *= (uint64_t)t->shape[i];
    *outer = (uint32_t)o;
    *inner = (uint32_t)in;
}

static cvl_status record_sum_to(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    const cvl_tensor *x = t->src[0];
    if (rows_sum(t)) { /* (1, N) = ones (1, M) x dy (M, N) */
        uint32_t M = (uint32_t)x->shape[0], N = (uint32_t)t->shape[1];
        cvl_vk_matmul_args a = {.M = 1, .N = N, .K = M};
        cvl_vk_view ones = {&b->ones, 0, M};
        return cvl_vk_matmul(seq, V(t), ones, V(x), &a, e);
    }
    uint64_t xs[CVL_MAX_DIMS];
    strides(x, xs);
    cvl_vk_strided kept = {0}, red = {0};
    for (int32_t d = 0; d < x->ndim; d++) {
        int32_t ti = t->ndim - x->ndim + d;
        int64_t td = ti >= 0 ? t->shape[ti] : 1;
        cvl_vk_strided *s = (td == 1 && x->shape[d] != 1) ? &red : &kept;
        s->shape[s->nd] = (uint64_t)x->shape[d];
        s->st[0][s->nd++] = xs[d];
    }
    return cvl_vk_sum_to(seq, V(t), V(x), &kept, &red, 1.0f, e);
}

static cvl_status record_reduce(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    bool fwd = t->op == CVL_OPK_REDUCE, mean = t->ip[0] == CVL_OP_MEAN;
    const cvl_tensor *x = fwd ? t->src[0] : t; /* the unreduced shape */
    uint64_t n = cvl_tensor_numel(x);
    uint32_t outer = 1, inner = 1, D = (uint32_t)n;
    if (t->ip[1] != CVL_AXIS_ALL) {
        around(x, (int32_t)t->ip[1], &outer, &inner);
        D = (uint32_t)x->shape[t->ip[1]];
    }
    float f = mean ? 1.0f / (float)D : 1.0f;
    if (fwd && t->ip[1] == CVL_AXIS_ALL) { /* many workgroups, then one: sum_to would give it one subgroup */
        cvl_vk_view scratch = {&b->scratch, 0, b->scratch_count};
        return cvl_vk_sum_all(seq, V(t), V(x), scratch, f, e);
    }
    if (fwd) {
        cvl_vk_strided kept = {.nd = 2, .shape = {outer, inner}, .st = {{(uint64_t)D * inner, 1}}};
        cvl_vk_strided red = {.nd = 1, .shape = {D}, .st = {{inner}}};
        return cvl_vk_sum_to(seq, V(t), V(x), &kept, &red, f, e);
    }
    /* dx (outer, D, inner) = f * dy (outer, inner) broadcast along D */
    cvl_vk_strided s = {.nd = 3, .shape = {outer, D, inner}, .st = {{(uint64_t)D * inner, inner, 1}, {inner, 0, 1}}};
    return cvl_vk_copy_strided(seq, V(t), V(t->src[0]), &s, f, e);
}

static cvl_status record_layout(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    if (t->op == CVL_OPK_PERMUTE) {
        const cvl_tensor *x = t->src[0];
        uint64_t xs[CVL_MAX_DIMS];
        strides(x, xs);
        cvl_vk_strided s = {.nd = (uint32_t)t->ndim};
        strides(t, s.st[0]);
        for (int32_t d = 0; d < t->ndim; d++) {
            s.shape[d] = (uint64_t)t->shape[d];
            s.st[1][d] = xs[t->ip[d]];
        }
        return cvl_vk_copy_strided(seq, V(t), V(x), &s, 1.0f, e);
    }
    /* concat: each part copied into its place of the joined tensor */
    int32_t axis = (int32_t)t->ip[0];
    uint32_t outer, inner;
    around(t, axis, &outer, &inner);
    uint64_t off = 0;
    cvl_status st = CVL_OK;
    for (int32_t k = 0; k < t->n_src && st == CVL_OK; k++) {
        uint64_t len = (uint64_t)t->src[k]->shape[axis];
        cvl_vk_strided s = {.nd = 3, .shape = {outer, len, inner},
                            .st = {{(uint64_t)t->shape[axis] * inner, inner, 1}, {len * inner, inner, 1}}};
        cvl_vk_view y = V(t);
        y.offset += off * inner * 4;
        y.count -= off * inner;
        st = cvl_vk_copy_strided(seq, y, V(t->src[k]), &s, 1.0f, e);
        off += len;
    }
    return st;
}

static cvl_status record_loss(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    cvl_tensor *const *s = t->src;
    bool fwd = t->op == CVL_OPK_LOSS;
    const cvl_tensor *pred = fwd ? s[0] : s[1], *target = fwd ? s[1] : s[2];
    const cvl_tensor *w = t->n_src > (fwd ? 2 : 3) ? s[fwd ? 2 : 3] : NULL;
    int32_t kind = (int32_t)t->ip[0];
    float arg = (float)t->fp[0];
    cvl_vk_view scratch = {&b->scratch, 0, b->scratch_count}, none = {0};
    if (kind == CVL_OP_CROSS_ENTROPY) {
        uint32_t rows = (uint32_t)pred->shape[0], cols = (uint32_t)pred->shape[1];
        cvl_vk_view wv = w ? V(w) : none;
        if (fwd) return cvl_vk_cross_entropy_ex(seq, V(t), V(pred), V(target), wv, scratch, rows, cols, arg, e);
        return cvl_vk_cross_entropy_bwd_ex(seq, V(t), V(s[0]), V(pred), V(target), wv, scratch, rows, cols, arg, e);
    }
    if (fwd) return cvl_vk_loss(seq, V(t), V(pred), V(target), scratch, kind, arg, e);
    return cvl_vk_loss_bwd(seq, V(t), V(s[0]), V(pred), V(target), kind, arg, e);
}

static cvl_status record_optim(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    const cvl_graph *g = b->base.graph;
    const cvl_optim_spec *o = &g->optim;
    cvl_tensor *const *s = t->src;
    cvl_vk_view none = {0}, state[3] = {none, none, none};
    cvl_vk_optim op = {
        .scalars = {&b->scalars, 0, 16}, .gnorm = t->ip[0] && g->grad_norm ? V(g->grad_norm) : none,
        .clip = (float)o->clip_grad_norm, .momentum = (float)o->momentum, .dampening = (float)o->dampening,
        .weight_decay = (float)o->weight_decay, .nesterov = o->nesterov, .beta1 = o->beta1, .beta2 = o->beta2,
        .eps = (float)o->eps, .decoupled = o->decoupled, .amsgrad = o->amsgrad, .alpha = (float)o->alpha,
        .centered = o->centered,
    };
    int kind;
    if (t->op == CVL_OPK_SGD) {
        kind = CVL_VK_OPTIM_SGD;
        if (o->momentum > 0) state[0] = V(s[2]);
    } else if (t->op == CVL_OPK_ADAM) {
        kind = CVL_VK_OPTIM_ADAM;
        state[0] = V(s[2]);
        state[1] = V(s[3]);
        if (o->amsgrad) state[2] = V(s[4]);
    } else {
        kind = CVL_VK_OPTIM_RMSPROP;
        int k = 2;
        state[0] = V(s[k++]);
        if (o->momentum > 0) state[1] = V(s[k++]);
        if (o->centered) state[2] = V(s[k++]);
    }
    return cvl_vk_optim_step(seq, kind, V(s[0]), V(s[1]), state, &op, e);
}

static cvl_status record_grad_norm(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    const cvl_graph *g = b->base.graph;
    cvl_vk_view *grads = malloc(((size_t)g->n_forward + 1) * sizeof *grads);
    if (grads == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "vulkan: out of memory recording grad_norm");
    uint32_t n = 0;
    for (int32_t i = 0; i < g->n_forward; i++)
        if (g->nodes[i]->op == CVL_OPK_PARAM && g->nodes[i]->grad) grads[n++] = V(g->nodes[i]->grad);
    cvl_vk_view scratch = {&b->scratch, 0, b->scratch_count};
    cvl_status st = cvl_vk_grad_norm(seq, V(t), grads, n, scratch, e);
    free(grads);
    return st;
}

static cvl_status record_rows(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    cvl_tensor *const *s = t->src;
    if (t->op == CVL_OPK_SOFTMAX || t->op == CVL_OPK_SOFTMAX_BWD) {
        int32_t axis = (int32_t)t->ip[0];
        uint32_t outer, inner, D = (uint32_t)t->shape[axis];
        around(t, axis, &outer, &inner);
        if (t->op == CVL_OPK_SOFTMAX) return cvl_vk_softmax(seq, V(t), V(s[0]), outer, D, inner, t->ip[1], e);
        return cvl_vk_softmax_bwd(seq, V(t), V(s[0]), V(s[1]), outer, D, inner, t->ip[1], e);
    }
    const cvl_tensor *x = t->op == CVL_OPK_LAYERNORM ? s[0] : s[1];
    uint32_t D = (uint32_t)x->shape[x->ndim - 1], rows = (uint32_t)(cvl_tensor_numel(x) / D);
    float eps = (float)t->fp[0];
    if (t->op == CVL_OPK_LAYERNORM) return cvl_vk_layernorm(seq, V(t), V(x), V(s[1]), V(s[2]), rows, D, eps, e);
    if (t->op == CVL_OPK_LAYERNORM_BWD) return cvl_vk_layernorm_bwd(seq, V(t), V(s[0]), V(x), V(s[2]), rows, D, eps, e);
    return cvl_vk_layernorm_bwd_params(seq, V(t), V(s[0]), V(x), rows, D, eps, e);
}

static cvl_status record_matmul(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    const cvl_tensor *a = t->src[0], *c = t->src[1];
    bool ta = t->ip[0], tb = t->ip[1];
    uint32_t M = (uint32_t)t->shape[t->ndim - 2], N = (uint32_t)t->shape[t->ndim - 1];
    uint32_t K = (uint32_t)a->shape[a->ndim - (ta ? 2 : 1)];
    uint32_t batch = (uint32_t)(cvl_tensor_numel(t) / ((size_t)M * N));
    cvl_vk_matmul_args args = {.M = M, .N = N, .K = K, .batch = batch, .trans_a = ta, .trans_b = tb,
                               .share_b = c->ndim == 2};
    return cvl_vk_matmul(seq, V(t), V(a), V(c), &args, e);
}

static cvl_status record_conv(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    cvl_tensor *const *s = t->src;
    int mode = t->op == CVL_OPK_CONV2D ? 0 : t->op == CVL_OPK_CONV2D_BWD_DATA ? 1 : 2;
    const cvl_tensor *x = mode == 0 ? s[0] : mode == 1 ? t : s[1];
    const cvl_tensor *w = mode == 2 ? t : s[1];
    const cvl_tensor *y = mode == 0 ? t : s[0];
    cvl_vk_conv_geom cg = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                           (uint32_t)w->shape[0], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)y->shape[2],
                           (uint32_t)y->shape[3], (uint32_t)t->ip[0], (uint32_t)t->ip[1], (uint32_t)t->ip[2],
                           (uint32_t)t->ip[3], (uint32_t)t->ip[4], (uint32_t)t->ip[5], (uint32_t)t->ip[6]};
    if (mode == 1) return cvl_vk_conv2d(seq, V(t), V(w), V(s[0]), &cg, 1, e);
    if (mode == 2) return cvl_vk_conv2d(seq, V(t), V(s[0]), V(x), &cg, 2, e);
    cvl_status st = cvl_vk_conv2d(seq, V(t), V(w), V(x), &cg, 0, e);
    /* the bias, added onto the GEMM's output one channel plane at a time */
    if (st == CVL_OK && t->n_src > 2) st = cvl_vk_bias_add(seq, V(t), V(s[2]), cg.K, cg.P * cg.Q, true, e);
    return st;
}

/* batch norm, pooling (global pooling: one kh x kw = H x W window), slices */
static cvl_status record_norm_pool(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    cvl_tensor *const *s = t->src;
    cvl_vk_view scal = {&b->scalars, 0, 16};
    switch (t->op) {
    case CVL_OPK_BN_STATS: {
        const cvl_tensor *x = s[0];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        return cvl_vk_bn_stats(seq, V(t), V(s[1]), V(s[2]), V(s[3]), V(x), scal, N, C, HW, (float)t->fp[0],
                               (float)t->fp[1], e);
    }
    case CVL_OPK_BN_APPLY: {
        const cvl_tensor *x = s[0];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        return cvl_vk_bn_apply(seq, V(t), V(x), V(s[1]), V(s[2]), V(s[3]), C, HW, e);
    }
    case CVL_OPK_BN_BWD:
    case CVL_OPK_BN_BWD_PARAMS: {
        const cvl_tensor *x = s[1];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        bool params = t->op == CVL_OPK_BN_BWD_PARAMS;
        cvl_vk_view gamma = params ? V(s[2]) : V(s[3]); /* unused by the params pass */
        cvl_vk_view scratch = {&b->scratch, 0, b->scratch_count};
        return cvl_vk_bn_bwd(seq, V(t), V(s[0]), V(x), V(s[2]), gamma, scratch, N, C, HW, params, e);
    }
    case CVL_OPK_SLICE:
    case CVL_OPK_SLICE_BWD: {
        bool fwd = t->op == CVL_OPK_SLICE;
        const cvl_tensor *big = fwd ? s[0] : t;
        int32_t axis = (int32_t)t->ip[0];
        size_t inner = 1;
        for (int32_t i = axis + 1; i < big->ndim; i++) inner *= (size_t)big->shape[i];
        return cvl_vk_slice(seq, V(t), V(s[0]), (uint32_t)big->shape[axis], (uint32_t)(t->ip[2] - t->ip[1]),
                            (uint32_t)t->ip[1], (uint32_t)inner, !fwd, e);
    }
    default: { /* pooling */
        bool fwd = t->op == CVL_OPK_POOL2D || t->op == CVL_OPK_GPOOL, global = t->op == CVL_OPK_GPOOL || t->op == CVL_OPK_GPOOL_BWD;
        const cvl_tensor *x = fwd ? s[0] : s[1], *y = fwd ? t : s[2];
        uint32_t H = (uint32_t)x->shape[2], W = (uint32_t)x->shape[3], k = (uint32_t)t->ip[1];
        cvl_vk_pool_geom pg = {(uint32_t)(x->shape[0] * x->shape[1]), H, W, global ? 1 : (uint32_t)y->shape[2],
                               global ? 1 : (uint32_t)y->shape[3], global ? H : k, global ? W : k,
                               global ? 1 : (uint32_t)t->ip[2], global ? 0 : (uint32_t)t->ip[3]};
        bool is_max = t->ip[0] == CVL_OP_MAX_POOL;
        if (fwd) return cvl_vk_pool2d(seq, V(t), V(x), &pg, is_max, e);
        return cvl_vk_pool2d_bwd(seq, V(t), V(s[0]), V(x), V(y), &pg, is_max, e);
    }
    }
}

cvl_status cvl_vkb_record(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
    cvl_tensor *const *s = t->src;
    cvl_vk_view scal = {&b->scalars, 0, 16};
    switch (t->op) {
    case CVL_OPK_INPUT:
    case CVL_OPK_PARAM:
    case CVL_OPK_BUFFER:
    case CVL_OPK_CONST:
    case CVL_OPK_RESHAPE:
        return CVL_OK;
    case CVL_OPK_ONES:
        return cvl_vk_fill(seq, V(t), scal, CVL_VK_SLOT_ONE, e);
    case CVL_OPK_LINEAR: {
        const cvl_tensor *w = s[1];
        uint32_t out = (uint32_t)w->shape[0], in = (uint32_t)w->shape[1], M = (uint32_t)(cvl_tensor_numel(s[0]) / in);
        bool bias = t->n_src > 2;
        if (bias) {
            cvl_status st = cvl_vk_bias_add(seq, V(t), V(s[2]), out, 1, false, e);
            if (st) return st;
        }
        cvl_vk_matmul_args a = {.M = M, .N = out, .K = in, .trans_b = true, .accumulate = bias};
        return cvl_vk_matmul(seq, V(t), V(s[0]), V(w), &a, e);
    }
    case CVL_OPK_MATMUL:
        return record_matmul(b, seq, t, e);
    case CVL_OPK_CONV2D:
    case CVL_OPK_CONV2D_BWD_DATA:
    case CVL_OPK_CONV2D_BWD_WEIGHT:
        return record_conv(b, seq, t, e);
    case CVL_OPK_UNARY:
        return cvl_vk_unary(seq, V(t), V(s[0]), (int32_t)t->ip[0], e);
    case CVL_OPK_UNARY_BWD:
        return cvl_vk_unary_bwd(seq, V(t), V(s[0]), V(s[1]), (int32_t)t->ip[0], e);
    case CVL_OPK_BINARY: {
        size_t n = cvl_tensor_numel(t);
        if (t->ip[0] == CVL_OP_ADD && cvl_tensor_numel(s[0]) == n && cvl_tensor_numel(s[1]) == n)
            return cvl_vk_add(seq, V(t), V(s[0]), V(s[1]), e);
        cvl_vk_strided st = {.nd = (uint32_t)t->ndim};
        for (int32_t d = 0; d < t->ndim; d++) st.shape[d] = (uint64_t)t->shape[d];
        bstrides(s[0], t->ndim, t->shape, st.st[1]);
        bstrides(s[1], t->ndim, t->shape, st.st[2]);
        return cvl_vk_binary(seq, V(t), V(s[0]), V(s[1]), &st, (int32_t)t->ip[0], e);
    }
    case CVL_OPK_ACCUM:
        return cvl_vk_add(seq, V(t), V(s[0]), V(s[1]), e);
    case CVL_OPK_SCALE:
        return cvl_vk_scale(seq, V(t), V(s[0]), (float)t->fp[0], e);
    case CVL_OPK_SUM_TO:
        return record_sum_to(b, seq, t, e);
    case CVL_OPK_REDUCE:
    case CVL_OPK_REDUCE_BWD:
        return record_reduce(b, seq, t, e);
    case CVL_OPK_PERMUTE:
    case CVL_OPK_CONCAT:
        return record_layout(b, seq, t, e);
    case CVL_OPK_DROPOUT:
    case CVL_OPK_DROPOUT_BWD:
        return cvl_vk_dropout(seq, V(t), V(s[0]), scal, (uint64_t)t->ip[0], t->fp[0], e);
    case CVL_OPK_SOFTMAX:
    case CVL_OPK_SOFTMAX_BWD:
    case CVL_OPK_LAYERNORM:
    case CVL_OPK_LAYERNORM_BWD:
    case CVL_OPK_LAYERNORM_BWD_PARAMS:
        return record_rows(b, seq, t, e);
    case CVL_OPK_EMBEDDING: {
        const cvl_tensor *w = s[1];
        return cvl_vk_embedding(seq, V(t), V(s[0]), V(w), (uint32_t)cvl_tensor_numel(s[0]), (uint32_t)w->shape[0],
                                (uint32_t)w->shape[1], e);
    }
    case CVL_OPK_EMBEDDING_BWD:
        return cvl_vk_embedding_bwd(seq, V(t), V(s[0]), V(s[1]), (uint32_t)cvl_tensor_numel(s[1]),
                                    (uint32_t)t->shape[0], (uint32_t)t->shape[1], e);
    case CVL_OPK_LOSS:
    case CVL_OPK_LOSS_BWD:
        return record_loss(b, seq, t, e);
    case CVL_OPK_GRAD_NORM:
        return record_grad_norm(b, seq, t, e);
    case CVL_OPK_SGD:
    case CVL_OPK_ADAM:
    case CVL_OPK_RMSPROP:
        return record_optim(b, seq, t, e);
    case CVL_OPK_BN_STATS:
    case CVL_OPK_BN_APPLY:
    case CVL_OPK_BN_BWD:
    case CVL_OPK_BN_BWD_PARAMS:
    case CVL_OPK_SLICE:
    case CVL_OPK_SLICE_BWD:
    case CVL_OPK_POOL2D:
    case CVL_OPK_POOL2D_BWD:
    case CVL_OPK_GPOOL:
    case CVL_OPK_GPOOL_BWD:
        return record_norm_pool(b, seq, t, e);
    default:
        return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "vulkan: op %s", cvl_opk_name(t->op));
    }
}
