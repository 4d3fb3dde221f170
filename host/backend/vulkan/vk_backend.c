/* vk_backend.c -- the Vulkan backend behind host/core/backend.h.
 *
 * plan(): the shared planner places every node in the persistent region or
 * the activation arena; each region is one device allocation, each tensor a
 * view (offset, count) into it. Initial values are computed on the host
 * (the same cvl_init_values as the CPU backend, so both start from the same
 * weights) and uploaded once.
 * run(first, last): the dispatches for nodes [first, last) are recorded
 * into one command buffer the first time that range runs and replayed
 * after; the learning rate and step live in a small scalar buffer, so a
 * schedule never re-records. Barriers come from the recorder's dependency
 * tracking (exec.h).
 *
 * Op coverage grows op by op; today: the leaves, views, linear, matmul,
 * relu and its gradient, add/accumulate, bias gradients, cross-entropy and
 * its gradient, SGD, batch norm (both modes, both backward passes), max
 * and average pooling (global too) with their gradients, and slices --
 * convolutions without bias (implicit GEMM, all three directions) --
 * everything the mlp, the cnn and the ResNets train with.
 * plan() refuses any other op with a message naming it and the node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/ops.h"
#include "backend/vulkan/vk_backend.h"
#include "core/graph_internal.h"

#define MAX_SEQS 8

typedef struct recorded {
    int32_t first, last;
    cvl_vk_seq *seq;
} recorded;

typedef struct vk_backend {
    cvl_backend base;
    cvl_vk_device *dev;
    cvl_vk_buffer region[2];
    bool have_region[2];
    cvl_vk_buffer scalars; /* [lr, step, 1.0] */
    cvl_vk_buffer ones;    /* a row of ones for bias gradients */
    size_t ones_count;
    recorded seqs[MAX_SEQS];
    int n_seqs;
    size_t sizes[2], activations;
} vk_backend;

static cvl_vk_view view(vk_backend *b, const cvl_tensor *t) {
    return (cvl_vk_view){&b->region[t->region], t->offset, cvl_tensor_numel(t) * (t->dtype == CVL_DTYPE_I64 ? 2 : 1)};
}

/* Whether this backend can run node t; *why names what is missing. */
static bool supported(const cvl_tensor *t, const char **why) {
    switch (t->op) {
    case CVL_OPK_INPUT:
    case CVL_OPK_PARAM:
    case CVL_OPK_BUFFER:
    case CVL_OPK_CONST:
    case CVL_OPK_RESHAPE:
    case CVL_OPK_ONES:
    case CVL_OPK_LINEAR:
    case CVL_OPK_ACCUM:
        return true;
    case CVL_OPK_MATMUL:
        if (t->ndim == 2) return true;
        *why = "batched matmul";
        return false;
    case CVL_OPK_UNARY:
    case CVL_OPK_UNARY_BWD:
        if (t->ip[0] == CVL_OP_RELU) return true;
        *why = "activations other than relu";
        return false;
    case CVL_OPK_BINARY:
        if (t->ip[0] == CVL_OP_ADD && cvl_tensor_numel(t->src[0]) == cvl_tensor_numel(t) &&
            cvl_tensor_numel(t->src[1]) == cvl_tensor_numel(t))
            return true;
        *why = "broadcasting arithmetic";
        return false;
    case CVL_OPK_SUM_TO:
        /* (M, N) -> (1, N): the bias gradient of a linear layer */
        if (t->ndim == 2 && t->shape[0] == 1 && t->src[0]->ndim == 2 && t->src[0]->shape[1] == t->shape[1]) return true;
        *why = "sum_to other than over rows";
        return false;
    case CVL_OPK_LOSS:
    case CVL_OPK_LOSS_BWD:
        if (t->ip[0] == CVL_OP_CROSS_ENTROPY && t->fp[0] == 0 && t->n_src == (t->op == CVL_OPK_LOSS ? 2 : 3)) return true;
        *why = "losses other than plain cross-entropy";
        return false;
    case CVL_OPK_SGD:
        *why = "gradient clipping";
        return t->ip[0] == 0;
    case CVL_OPK_CONV2D:
        *why = "convolution bias";
        return t->n_src == 2;
    case CVL_OPK_CONV2D_BWD_DATA:
    case CVL_OPK_CONV2D_BWD_WEIGHT:
    case CVL_OPK_BN_STATS:
    case CVL_OPK_BN_APPLY:
    case CVL_OPK_BN_BWD:
    case CVL_OPK_BN_BWD_PARAMS:
    case CVL_OPK_POOL2D:
    case CVL_OPK_POOL2D_BWD:
    case CVL_OPK_GPOOL:
    case CVL_OPK_GPOOL_BWD:
    case CVL_OPK_SLICE:
    case CVL_OPK_SLICE_BWD:
        return true;
    default:
        *why = cvl_opk_name(t->op);
        return false;
    }
}

static cvl_status alloc_region(vk_backend *b, int r, size_t bytes, cvl_err *e) {
    if (bytes == 0) bytes = 64;
    cvl_status st = cvl_vk_alloc(&b->region[r], b->dev, bytes, r ? "parameters and state" : "activations", e);
    b->have_region[r] = st == CVL_OK;
    return st;
}

static cvl_status vk_plan(cvl_backend *base, cvl_graph *g, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    if (g->err.status) return cvl_err_set(e, g->err.status, "%s", g->err.msg);
    for (int32_t i = 0; i < g->n; i++) {
        const char *why = NULL;
        if (!supported(g->nodes[i], &why))
            return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "vulkan: node %d (%s) is not implemented on Vulkan yet: %s", i,
                               cvl_opk_name(g->nodes[i]->op), why ? why : "");
    }
    size_t pers, arena, acts;
    cvl_status st = cvl_plan_memory(g, &pers, &arena, &acts, e);
    if (st == CVL_OK) st = alloc_region(b, 0, arena, e);
    if (st == CVL_OK) st = alloc_region(b, 1, pers, e);
    if (st) return st;
    b->sizes[0] = arena;
    b->sizes[1] = pers;
    b->activations = acts;
    size_t rows = 1;
    for (int32_t i = 0; i < g->n; i++)
        if (g->nodes[i]->op == CVL_OPK_SUM_TO && (size_t)g->nodes[i]->src[0]->shape[0] > rows)
            rows = (size_t)g->nodes[i]->src[0]->shape[0];
    st = cvl_vk_alloc(&b->scalars, b->dev, 16 * sizeof(float), "step scalars", e);
    if (st == CVL_OK) st = cvl_vk_alloc(&b->ones, b->dev, rows * sizeof(float), "ones", e);
    if (st) return st;
    b->ones_count = rows;
    float *ones = malloc(rows * sizeof *ones);
    if (ones == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rows; i++) ones[i] = 1.0f;
    st = cvl_vk_upload(b->dev, &b->ones, 0, ones, rows * sizeof *ones, e);
    free(ones);
    base->graph = g;
    /* Initial values, computed as the CPU backend does. */
    for (int32_t i = 0; i < g->n && st == CVL_OK; i++) {
        cvl_tensor *t = g->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER && t->op != CVL_OPK_CONST) continue;
        size_t nb = cvl_tensor_nbytes(t);
        void *host = malloc(nb ? nb : 1);
        if (host == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        if (t->op == CVL_OPK_CONST) memcpy(host, t->const_data, nb);
        else cvl_init_values(t, g->seed, host);
        st = cvl_vk_upload(b->dev, &b->region[t->region], t->offset, host, nb, e);
        free(host);
    }
    return st;
}

/* Records one node. */
static cvl_status record(vk_backend *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e) {
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
        return cvl_vk_fill(seq, view(b, t), scal, 2, e);
    case CVL_OPK_LINEAR: {
        const cvl_tensor *w = s[1];
        uint32_t out = (uint32_t)w->shape[0], in = (uint32_t)w->shape[1], M = (uint32_t)(cvl_tensor_numel(s[0]) / in);
        bool bias = t->n_src > 2;
        if (bias) {
            cvl_status st = cvl_vk_bias_rows(seq, view(b, t), view(b, s[2]), M, out, e);
            if (st) return st;
        }
        cvl_vk_matmul_args a = {.M = M, .N = out, .K = in, .trans_b = true, .accumulate = bias};
        return cvl_vk_matmul(seq, view(b, t), view(b, s[0]), view(b, w), &a, e);
    }
    case CVL_OPK_MATMUL: {
        bool ta = t->ip[0], tb = t->ip[1];
        uint32_t M = (uint32_t)t->shape[0], N = (uint32_t)t->shape[1];
        uint32_t K = (uint32_t)s[0]->shape[ta ? 0 : 1];
        cvl_vk_matmul_args a = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb};
        return cvl_vk_matmul(seq, view(b, t), view(b, s[0]), view(b, s[1]), &a, e);
    }
    case CVL_OPK_UNARY:
        return cvl_vk_relu(seq, view(b, t), view(b, s[0]), e);
    case CVL_OPK_UNARY_BWD:
        return cvl_vk_relu_bwd(seq, view(b, t), view(b, s[0]), view(b, s[1]), e);
    case CVL_OPK_BINARY:
    case CVL_OPK_ACCUM:
        return cvl_vk_add(seq, view(b, t), view(b, s[0]), view(b, s[1]), e);
    case CVL_OPK_SUM_TO: {
        // (1, N) = ones (1, M) x dy (M, N)
        uint32_t M = (uint32_t)s[0]->shape[0], N = (uint32_t)t->shape[1];
        cvl_vk_matmul_args a = {.M = 1, .N = N, .K = M};
        cvl_vk_view ones = {&b->ones, 0, M};
        return cvl_vk_matmul(seq, view(b, t), ones, view(b, s[0]), &a, e);
    }
    case CVL_OPK_LOSS: {
        uint32_t rows = (uint32_t)s[0]->shape[0], cols = (uint32_t)s[0]->shape[1];
        return cvl_vk_cross_entropy(seq, view(b, t), view(b, s[0]), view(b, s[1]), rows, cols, e);
    }
    case CVL_OPK_LOSS_BWD: {
        uint32_t rows = (uint32_t)s[1]->shape[0], cols = (uint32_t)s[1]->shape[1];
        return cvl_vk_cross_entropy_bwd(seq, view(b, t), view(b, s[0]), view(b, s[1]), view(b, s[2]), rows, cols, e);
    }
    case CVL_OPK_SGD: {
        const cvl_optim_spec *o = &b->base.graph->optim;
        cvl_vk_view buf = o->momentum > 0 ? view(b, s[2]) : view(b, s[0]);
        return cvl_vk_sgd(seq, view(b, s[0]), view(b, s[1]), buf, scal, (float)o->momentum, (float)o->dampening,
                          (float)o->weight_decay, o->nesterov, e);
    }
    case CVL_OPK_CONV2D:
    case CVL_OPK_CONV2D_BWD_DATA:
    case CVL_OPK_CONV2D_BWD_WEIGHT: {
        int mode = t->op == CVL_OPK_CONV2D ? 0 : t->op == CVL_OPK_CONV2D_BWD_DATA ? 1 : 2;
        const cvl_tensor *x = mode == 0 ? s[0] : mode == 1 ? t : s[1];
        const cvl_tensor *w = mode == 2 ? t : s[1];
        const cvl_tensor *y = mode == 0 ? t : s[0];
        cvl_vk_conv_geom cg = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                               (uint32_t)w->shape[0], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)y->shape[2],
                               (uint32_t)y->shape[3], (uint32_t)t->ip[0], (uint32_t)t->ip[1], (uint32_t)t->ip[2],
                               (uint32_t)t->ip[3], (uint32_t)t->ip[4], (uint32_t)t->ip[5], (uint32_t)t->ip[6]};
        if (mode == 0) return cvl_vk_conv2d(seq, view(b, t), view(b, w), view(b, x), &cg, 0, e);
        if (mode == 1) return cvl_vk_conv2d(seq, view(b, t), view(b, w), view(b, s[0]), &cg, 1, e);
        return cvl_vk_conv2d(seq, view(b, t), view(b, s[0]), view(b, x), &cg, 2, e);
    }
    case CVL_OPK_BN_STATS: {
        const cvl_tensor *x = s[0];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        return cvl_vk_bn_stats(seq, view(b, t), view(b, s[1]), view(b, s[2]), view(b, s[3]), view(b, x), scal, N, C, HW,
                               (float)t->fp[0], (float)t->fp[1], e);
    }
    case CVL_OPK_BN_APPLY: {
        const cvl_tensor *x = s[0];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        return cvl_vk_bn_apply(seq, view(b, t), view(b, x), view(b, s[1]), view(b, s[2]), view(b, s[3]), C, HW, e);
    }
    case CVL_OPK_BN_BWD:
    case CVL_OPK_BN_BWD_PARAMS: {
        const cvl_tensor *x = s[1];
        uint32_t N = (uint32_t)x->shape[0], C = (uint32_t)x->shape[1], HW = (uint32_t)(cvl_tensor_numel(x) / ((size_t)N * C));
        bool params = t->op == CVL_OPK_BN_BWD_PARAMS;
        cvl_vk_view gamma = params ? view(b, s[2]) : view(b, s[3]); /* unused by the params pass */
        return cvl_vk_bn_bwd(seq, view(b, t), view(b, s[0]), view(b, x), view(b, s[2]), gamma, N, C, HW, params, e);
    }
    case CVL_OPK_POOL2D:
    case CVL_OPK_POOL2D_BWD:
    case CVL_OPK_GPOOL:
    case CVL_OPK_GPOOL_BWD: {
        bool fwd = t->op == CVL_OPK_POOL2D || t->op == CVL_OPK_GPOOL, global = t->op == CVL_OPK_GPOOL || t->op == CVL_OPK_GPOOL_BWD;
        const cvl_tensor *x = fwd ? s[0] : s[1], *y = fwd ? t : s[2];
        uint32_t H = (uint32_t)x->shape[2], W = (uint32_t)x->shape[3];
        uint32_t geom[8] = {(uint32_t)(x->shape[0] * x->shape[1]), H, W, global ? 1 : (uint32_t)y->shape[2],
                            global ? 1 : (uint32_t)y->shape[3], global ? H : (uint32_t)t->ip[1],
                            global ? 1 : (uint32_t)t->ip[2], global ? 0 : (uint32_t)t->ip[3]};
        bool is_max = t->ip[0] == CVL_OP_MAX_POOL;
        if (global && H != W) return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "vulkan: global pooling of a %ux%u (non-square) map", H, W);
        if (fwd) return cvl_vk_pool2d(seq, view(b, t), view(b, x), geom, is_max, e);
        return cvl_vk_pool2d_bwd(seq, view(b, t), view(b, s[0]), view(b, x), view(b, y), geom, is_max, e);
    }
    case CVL_OPK_SLICE:
    case CVL_OPK_SLICE_BWD: {
        bool fwd = t->op == CVL_OPK_SLICE;
        const cvl_tensor *big = fwd ? s[0] : t;
        int32_t axis = (int32_t)t->ip[0];
        size_t inner = 1;
        for (int32_t i = axis + 1; i < big->ndim; i++) inner *= (size_t)big->shape[i];
        return cvl_vk_slice(seq, view(b, t), view(b, s[0]), (uint32_t)big->shape[axis], (uint32_t)(t->ip[2] - t->ip[1]),
                            (uint32_t)t->ip[1], (uint32_t)inner, !fwd, e);
    }
    default:
        return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "vulkan: op %s", cvl_opk_name(t->op));
    }
}

static cvl_status vk_run(cvl_backend *base, int32_t first, int32_t last, const cvl_step_scalars *sc, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_graph *g = base->graph;
    if (g == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "vulkan: run before plan");
    if (first < 0) first = 0;
    if (last > g->n) last = g->n;
    float s[16] = {(float)sc->lr, (float)sc->step, 1.0f, sc->training ? 1.0f : 0.0f};
    cvl_status st = cvl_vk_upload(b->dev, &b->scalars, 0, s, sizeof s, e);
    if (st) return st;
    cvl_vk_seq *seq = NULL;
    for (int i = 0; i < b->n_seqs; i++)
        if (b->seqs[i].first == first && b->seqs[i].last == last) seq = b->seqs[i].seq;
    if (seq == NULL) {
        char label[64];
        snprintf(label, sizeof label, "graph nodes %d..%d", first, last);
        st = cvl_vk_seq_new(&seq, b->dev, label, e);
        for (int32_t i = first; i < last && st == CVL_OK; i++) st = record(b, seq, g->nodes[i], e);
        if (st == CVL_OK) st = cvl_vk_seq_end(seq, e);
        if (st) {
            cvl_vk_seq_free(seq);
            return st;
        }
        if (b->n_seqs == MAX_SEQS) {
            cvl_vk_seq_free(b->seqs[0].seq);
            memmove(&b->seqs[0], &b->seqs[1], (MAX_SEQS - 1) * sizeof b->seqs[0]);
            b->n_seqs--;
        }
        b->seqs[b->n_seqs++] = (recorded){first, last, seq};
    }
    return cvl_vk_seq_run(seq, e);
}

static cvl_status vk_write(cvl_backend *base, const cvl_tensor *t, const void *data, size_t bytes, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "vulkan", true, e);
    if (bad) return bad;
    return cvl_vk_upload(b->dev, &b->region[t->region], t->offset, data, bytes, e);
}

static cvl_status vk_read(cvl_backend *base, const cvl_tensor *t, void *data, size_t bytes, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "vulkan", false, e);
    if (bad) return bad;
    return cvl_vk_download(b->dev, data, &b->region[t->region], t->offset, bytes, e);
}

static void vk_stats(const cvl_backend *base, cvl_plan_stats *out) {
    const vk_backend *b = (const vk_backend *)base;
    *out = (cvl_plan_stats){.persistent_bytes = b->sizes[1], .arena_bytes = b->sizes[0], .activation_bytes = b->activations};
}

static void vk_free(cvl_backend *base) {
    vk_backend *b = (vk_backend *)base;
    for (int i = 0; i < b->n_seqs; i++) cvl_vk_seq_free(b->seqs[i].seq);
    for (int r = 0; r < 2; r++)
        if (b->have_region[r]) cvl_vk_release(b->dev, &b->region[r]);
    if (b->scalars.size) cvl_vk_release(b->dev, &b->scalars);
    if (b->ones.size) cvl_vk_release(b->dev, &b->ones);
    free(b);
}

static const cvl_backend_ops vk_ops = {
    .name = "vulkan", .plan = vk_plan, .run = vk_run, .write = vk_write, .read = vk_read,
    .stats = vk_stats, .free = vk_free,
};

cvl_backend *cvl_backend_vulkan_new(cvl_vk_device *dev) {
    vk_backend *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->base.ops = &vk_ops;
    b->dev = dev;
    return &b->base;
}
