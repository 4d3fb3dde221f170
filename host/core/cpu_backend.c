/* cpu_backend.c -- runs a planned graph on the CPU: OpenBLAS for GEMMs,
 * plain loops for the rest. Memory is two regions sized by the planner
 * and allocated once in plan(); run() allocates nothing. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/cpu_fuse.h"
#include "core/cpu_kernels.h"
#include "core/cpu_loss.h"
#include "core/cpu_optim.h"
#include "core/cpu_pool.h"
#include "core/graph_internal.h"

void openblas_set_num_threads(int num_threads);

typedef struct cpu_backend {
    cvl_backend base;
    int threads;
    char *regions[2]; /* 0: activation arena, 1: persistent */
    size_t sizes[2];
    size_t activation_bytes;
    float *ws;
    size_t ws_floats;
    cvl_pool *pool;
    cvl_cpu_fusion fuse;
} cpu_backend;

/* ---- parallel helpers: every loop of the step goes through the pool */

typedef struct gemm_job {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float *C;
    float beta;
} gemm_job;

static void gemm_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    gemm_job *j = ctx;
    const float *A = j->ta ? j->A + b : j->A + b * j->lda;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, (int)(e - b), j->N,
                j->K, 1.0f, A, j->lda, j->B, j->ldb, j->beta, j->C + b * j->ldc, j->ldc);
}

// columns [16 b, 16 e) of C
static void gemm_cols16_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    gemm_job *j = ctx;
    b *= 16;
    e = e * 16 < j->N ? e * 16 : j->N;
    const float *B = j->tb ? j->B + b * j->ldb : j->B + b;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, j->M, (int)(e - b),
                j->K, 1.0f, j->A, j->lda, B, j->ldb, j->beta, j->C + b, j->ldc);
}

/* C (M,N) = op(A) op(B) + beta C, split across the pool along the longer
 * side of C: each part packs only its share of the operand it splits (a
 * linear layer's weight at batch 128 is the bigger operand). Columns go
 * in multiples of 16. */
static void par_sgemm(cvl_pool *pool, bool ta, bool tb, int M, int N, int K, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc) {
    gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, A, B, C, beta};
    int T = cvl_pool_size(pool);
    if ((double)M * N * K < 1e6 || (M < 2 * T && N < 32 * T)) {
        gemm_part(&j, 0, M, 0);
        return;
    }
    if (N > M && N >= 32 * T) {
        cvl_pool_run(pool, (N + 15) / 16, gemm_cols16_part, &j);
        return;
    }
    cvl_pool_run(pool, M, gemm_part, &j);
}

typedef struct ew_job {
    float *y;
    const float *a, *c;
    int op;
    float f;
} ew_job;

static float unary_f(int op, float x);
static float unary_df(int op, float x);

static void ew_unary(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    ew_job *j = ctx;
    if (j->op == CVL_OP_RELU)
        for (int64_t i = b; i < e; i++) j->y[i] = j->a[i] > 0 ? j->a[i] : 0.0f;
    else
        for (int64_t i = b; i < e; i++) j->y[i] = unary_f(j->op, j->a[i]);
}
static void ew_unary_bwd(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    ew_job *j = ctx;
    if (j->op == CVL_OP_RELU)
        for (int64_t i = b; i < e; i++) j->y[i] = j->c[i] > 0 ? j->a[i] : 0.0f;
    else
        for (int64_t i = b; i < e; i++) j->y[i] = j->a[i] * unary_df(j->op, j->c[i]);
}
static void ew_add(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    ew_job *j = ctx;
    for (int64_t i = b; i < e; i++) j->y[i] = j->a[i] + j->c[i];
}
static void ew_scale(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    ew_job *j = ctx;
    for (int64_t i = b; i < e; i++) j->y[i] = j->a[i] * j->f;
}

/* Small loops are not worth waking the pool for. */
static void par_ew(cvl_pool *pool, size_t n, cvl_pool_fn fn, ew_job *j) {
    if (n < 16384) fn(j, 0, (int64_t)n, 0);
    else cvl_pool_for(pool, (int64_t)n, fn, j);
}

static void *ptr(cpu_backend *b, const cvl_tensor *t) { return b->regions[t->region] + t->offset; }
#define F(t) ((float *)ptr(b, (t)))

static cvl_conv_geom conv_geom(const cvl_tensor *x, const cvl_tensor *w, const cvl_tensor *y, const int64_t *ip) {
    cvl_conv_geom g = {
        .N = (int)x->shape[0], .C = (int)x->shape[1], .H = (int)x->shape[2], .W = (int)x->shape[3],
        .K = (int)w->shape[0], .R = (int)w->shape[2], .S = (int)w->shape[3],
        .P = (int)y->shape[2], .Q = (int)y->shape[3],
        .sh = (int)ip[0], .sw = (int)ip[1], .ph = (int)ip[2], .pw = (int)ip[3],
        .dh = (int)ip[4], .dw = (int)ip[5], .groups = (int)ip[6],
    };
    return g;
}

static cvl_pool_geom pool_geom(const cvl_tensor *x, const cvl_tensor *y, const int64_t *ip, bool global) {
    cvl_pool_geom g = {
        .N = (int)x->shape[0], .C = (int)x->shape[1], .H = (int)x->shape[2], .W = (int)x->shape[3],
        .P = global ? 1 : (int)y->shape[2], .Q = global ? 1 : (int)y->shape[3],
        .kh = global ? (int)x->shape[2] : (int)ip[1], .kw = global ? (int)x->shape[3] : (int)ip[1],
        .stride = global ? 1 : (int)ip[2],
        .pad = global ? 0 : (int)ip[3], .max = ip[0] == CVL_OP_MAX_POOL,
    };
    return g;
}

/* -------------------------------------------------------- planning */

static cvl_status cpu_plan(cvl_backend *base, cvl_graph *g, cvl_err *e) {
    cpu_backend *b = (cpu_backend *)base;
    if (g->err.status) return cvl_err_set(e, g->err.status, "%s", g->err.msg);
    size_t pers, arena, acts;
    cvl_status st = cvl_cpu_fusion_find(&b->fuse, g, e);
    if (st) return st;
    st = cvl_plan_memory_keep(g, b->fuse.keep, &pers, &arena, &acts, e);
    if (st) return st;
    cvl_cpu_fusion_place(&b->fuse, g);
    size_t ws = 1;
    for (int32_t i = 0; i < g->n; i++) {
        cvl_tensor *t = g->nodes[i];
        cvl_conv_geom cg;
        if (t->op == CVL_OPK_BN_BWD || t->op == CVL_OPK_BN_BWD_PARAMS) {
            const cvl_tensor *x = t->src[1];
            size_t need = cvl_bn_backward_scratch((int)x->shape[0], (int)x->shape[1]);
            if (need > ws) ws = need;
            continue;
        }
        if (t->op == CVL_OPK_CONV2D) cg = conv_geom(t->src[0], t->src[1], t, t->ip);
        else if (t->op == CVL_OPK_CONV2D_BWD_DATA) cg = conv_geom(t, t->src[1], t->src[0], t->ip);
        else if (t->op == CVL_OPK_CONV2D_BWD_WEIGHT) cg = conv_geom(t->src[1], t, t->src[0], t->ip);
        else continue;
        size_t need = cvl_conv2d_workspace(&cg, cvl_pool_size(b->pool));
        if (need > ws) ws = need;
    }
    for (int r = 0; r < 2; r++) {
        free(b->regions[r]);
        size_t bytes = (r ? pers : arena) + 64;
        b->regions[r] = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        if (b->regions[r] == NULL)
            return cvl_err_set(e, CVL_ERR_NOMEM, "cpu: cannot allocate %zu MB for %s",
                               bytes >> 20, r ? "parameters and state" : "activations");
        b->sizes[r] = r ? pers : arena;
    }
    free(b->ws);
    b->ws = aligned_alloc(64, ((ws * sizeof(float)) + 63) & ~(size_t)63);
    if (b->ws == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "cpu: cannot allocate %zu MB of workspace", (ws * 4) >> 20);
    b->ws_floats = ws;
    b->activation_bytes = acts;
    base->graph = g;
    /* Initial values of everything persistent. */
    for (int32_t i = 0; i < g->n; i++) {
        cvl_tensor *t = g->nodes[i];
        if (t->op == CVL_OPK_PARAM || t->op == CVL_OPK_BUFFER) cvl_init_values(t, g->seed, ptr(b, t));
        else if (t->op == CVL_OPK_CONST) memcpy(ptr(b, t), t->const_data, cvl_tensor_nbytes(t));
    }
    return CVL_OK;
}

/* -------------------------------------------------------- elementwise */

static float binop(int op, float a, float c) {
    switch (op) {
    case CVL_OP_ADD: return a + c;
    case CVL_OP_SUB: return a - c;
    case CVL_OP_MUL: return a * c;
    default: return a / c;
    }
}

static void binary(float *y, const cvl_tensor *t, const float *a, const float *c, const cvl_tensor *ta, const cvl_tensor *tc) {
    size_t n = cvl_tensor_numel(t);
    int op = (int)t->ip[0];
    if (cvl_tensor_numel(ta) == n && cvl_tensor_numel(tc) == n) {
        for (size_t i = 0; i < n; i++) y[i] = binop(op, a[i], c[i]);
        return;
    }
    int64_t sa[CVL_MAX_DIMS], sc[CVL_MAX_DIMS], idx[CVL_MAX_DIMS] = {0};
    cvl_tensor_broadcast_strides(ta, t->ndim, t->shape, sa);
    cvl_tensor_broadcast_strides(tc, t->ndim, t->shape, sc);
    int32_t last = t->ndim - 1;
    int64_t inner = t->shape[last];
    for (size_t base = 0; base < n; base += (size_t)inner) {
        int64_t oa = 0, oc = 0;
        for (int32_t d = 0; d < last; d++) {
            oa += idx[d] * sa[d];
            oc += idx[d] * sc[d];
        }
        for (int64_t j = 0; j < inner; j++) y[base + (size_t)j] = binop(op, a[oa + j * sa[last]], c[oc + j * sc[last]]);
        for (int32_t d = last - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
}

// y (shape of t) = sum of x over the axes t was broadcast along
static void sum_to(float *y, const cvl_tensor *t, const float *x, const cvl_tensor *tx) {
    size_t n = cvl_tensor_numel(tx);
    memset(y, 0, cvl_tensor_numel(t) * sizeof *y);
    int64_t st[CVL_MAX_DIMS], idx[CVL_MAX_DIMS] = {0};
    cvl_tensor_broadcast_strides(t, tx->ndim, tx->shape, st);
    for (size_t i = 0; i < n; i++) {
        int64_t o = 0;
        for (int32_t d = 0; d < tx->ndim; d++) o += idx[d] * st[d];
        y[o] += x[i];
        for (int32_t d = tx->ndim - 1; d >= 0; d--) {
            if (++idx[d] < tx->shape[d]) break;
            idx[d] = 0;
        }
    }
}

static float unary_f(int op, float x) {
    switch (op) {
    case CVL_OP_RELU: return x > 0 ? x : 0;
    case CVL_OP_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case CVL_OP_SILU: return x / (1.0f + expf(-x));
    case CVL_OP_SIGMOID: return 1.0f / (1.0f + expf(-x));
    default: return tanhf(x);
    }
}

static float unary_df(int op, float x) {
    switch (op) {
    case CVL_OP_RELU: return x > 0 ? 1.0f : 0.0f;
    case CVL_OP_GELU: return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.3989422804014327f * expf(-0.5f * x * x);
    case CVL_OP_SILU: {
        float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f + x * (1.0f - s));
    }
    case CVL_OP_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f - s);
    }
    default: {
        float th = tanhf(x);
        return 1.0f - th * th;
    }
    }
}

/* (outer, axis, inner) decomposition of a tensor around one axis. */
static void around(const cvl_tensor *t, int32_t axis, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int32_t i = 0; i < axis; i++) *outer *= t->shape[i];
    for (int32_t i = axis + 1; i < t->ndim; i++) *inner *= t->shape[i];
}

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Whether dropout keeps element i: a hash of (seed, step, node, i). */
static bool keep(const cvl_step_scalars *s, int64_t stream, size_t i, double p) {
    uint64_t h = mix(s->seed ^ mix((uint64_t)s->step * 0x9e3779b97f4a7c15ull ^ mix((uint64_t)stream + 0x632be59bd9b4e019ull)) ^ (uint64_t)i);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) >= p;
}

/* -------------------------------------------------------- optimizers */

static void optim_step(cpu_backend *b, const cvl_graph *g, const cvl_tensor *t, const cvl_step_scalars *s) {
    const cvl_optim_spec *o = &g->optim;
    int k = 2;
    float *st[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3 && k < t->n_src; i++) st[i] = F(t->src[k++]);
    float cc = 1.0f;
    if (g->grad_norm) {
        double c = o->clip_grad_norm / ((double)*F(g->grad_norm) + 1e-6);
        cc = c < 1.0 ? (float)c : 1.0f;
    }
    cvl_cpu_optim_step(t->op, o, s, F(t->src[0]), F(t->src[1]), st, cvl_tensor_numel(t), cc, b->pool);
}

/* -------------------------------------------------------- dispatch */

static void run_node(cpu_backend *b, const cvl_graph *g, cvl_tensor *t, const cvl_step_scalars *s) {
    cvl_tensor **src = t->src;
    size_t n = cvl_tensor_numel(t);
    float *y = (t->op == CVL_OPK_RESHAPE) ? NULL : F(t);
    switch (t->op) {
    case CVL_OPK_INPUT:
    case CVL_OPK_PARAM:
    case CVL_OPK_BUFFER:
    case CVL_OPK_CONST:
    case CVL_OPK_RESHAPE:
        break;
    case CVL_OPK_ONES:
        for (size_t i = 0; i < n; i++) y[i] = 1.0f;
        break;
    case CVL_OPK_LINEAR: {
        const cvl_tensor *x = src[0], *w = src[1];
        int64_t in = w->shape[1], out = w->shape[0], M = (int64_t)cvl_tensor_numel(x) / in;
        if (t->n_src > 2) {
            const float *bias = F(src[2]);
            for (int64_t i = 0; i < M; i++) memcpy(y + i * out, bias, (size_t)out * sizeof *y);
        }
        par_sgemm(b->pool, false, true, (int)M, (int)out, (int)in, F(x), (int)in, F(w), (int)in,
                  t->n_src > 2 ? 1.0f : 0.0f, y, (int)out);
        break;
    }
    case CVL_OPK_MATMUL: {
        const cvl_tensor *a = src[0], *c = src[1];
        bool ta = t->ip[0], tb = t->ip[1];
        int64_t M = t->shape[t->ndim - 2], N = t->shape[t->ndim - 1];
        int64_t K = a->shape[a->ndim - (ta ? 2 : 1)];
        int64_t batch = (int64_t)n / (M * N);
        int64_t sa = a->shape[a->ndim - 2] * a->shape[a->ndim - 1];
        int64_t sc = c->ndim == 2 ? 0 : c->shape[c->ndim - 2] * c->shape[c->ndim - 1];
        int lda = (int)a->shape[a->ndim - 1], ldc = (int)c->shape[c->ndim - 1];
        for (int64_t i = 0; i < batch; i++)
            par_sgemm(b->pool, ta, tb, (int)M, (int)N, (int)K, F(a) + i * sa, lda, F(c) + i * sc, ldc, 0.0f,
                      y + i * M * N, (int)N);
        break;
    }
    case CVL_OPK_CONV2D: {
        cvl_conv_geom cg = conv_geom(src[0], src[1], t, t->ip);
        cvl_conv2d_forward(y, F(src[0]), F(src[1]), t->n_src > 2 ? F(src[2]) : NULL, &cg, b->ws, b->pool);
        break;
    }
    case CVL_OPK_CONV2D_BWD_DATA: {
        cvl_conv_geom cg = conv_geom(t, src[1], src[0], t->ip);
        cvl_conv2d_backward_data(y, F(src[0]), F(src[1]), &cg, b->ws, b->pool);
        break;
    }
    case CVL_OPK_CONV2D_BWD_WEIGHT: {
        cvl_conv_geom cg = conv_geom(src[1], t, src[0], t->ip);
        cvl_conv2d_backward_weight(y, F(src[0]), F(src[1]), &cg, b->ws, b->pool);
        break;
    }
    case CVL_OPK_BN_STATS: {
        const cvl_tensor *x = src[0];
        int N = (int)x->shape[0], C = (int)x->shape[1], HW = (int)(cvl_tensor_numel(x) / ((size_t)N * C));
        if (s->training) {
            cvl_bn_stats_train(y, F(src[1]), F(src[2]), F(x), N, C, HW, t->fp[0], t->fp[1], b->pool);
            *(int64_t *)ptr(b, src[3]) += 1;
        } else {
            cvl_bn_stats_eval(y, F(src[1]), F(src[2]), C, t->fp[0]);
        }
        break;
    }
    case CVL_OPK_BN_APPLY: {
        const cvl_tensor *x = src[0];
        int N = (int)x->shape[0], C = (int)x->shape[1], HW = (int)(n / ((size_t)N * C));
        cvl_bn_apply(y, F(x), F(src[1]), F(src[2]), F(src[3]), N, C, HW, b->pool);
        break;
    }
    case CVL_OPK_BN_BWD:
    case CVL_OPK_BN_BWD_PARAMS: {
        /* fused (cpu_fuse.h): the ReLU backward read through, the params
         * node written by its dx node */
        const cvl_cpu_fusion *f = &b->fuse;
        int32_t me = t->id, u = f->relu[me];
        if (t->op == CVL_OPK_BN_BWD_PARAMS && f->skip[me] == 2 && f->done[me]) {
            f->done[me] = 0;
            break;
        }
        const cvl_tensor *x = src[1];
        int N = (int)x->shape[0], C = (int)x->shape[1], HW = (int)(cvl_tensor_numel(x) / ((size_t)N * C));
        const float *dy = u >= 0 ? F(g->nodes[u]->src[0]) : F(src[0]);
        const float *relu = u >= 0 ? F(g->nodes[u]->src[1]) : NULL;
        if (t->op == CVL_OPK_BN_BWD_PARAMS) {
            cvl_bn_backward_fused(NULL, y, dy, relu, F(x), F(src[2]), NULL, N, C, HW, b->ws, b->pool);
            break;
        }
        int32_t p = f->params[me];
        cvl_bn_backward_fused(y, p >= 0 ? F(g->nodes[p]) : NULL, dy, relu, F(x), F(src[2]), F(src[3]), N, C, HW,
                              b->ws, b->pool);
        if (p >= 0) f->done[p] = 1;
        break;
    }
    case CVL_OPK_LAYERNORM:
    case CVL_OPK_LAYERNORM_BWD:
    case CVL_OPK_LAYERNORM_BWD_PARAMS: {
        const cvl_tensor *x = t->op == CVL_OPK_LAYERNORM ? src[0] : src[1];
        int64_t D = x->shape[x->ndim - 1], M = (int64_t)cvl_tensor_numel(x) / D;
        const float *X = F(x), *G = t->op == CVL_OPK_LAYERNORM_BWD_PARAMS ? NULL : F(t->op == CVL_OPK_LAYERNORM ? src[1] : src[2]);
        const float *dY = t->op == CVL_OPK_LAYERNORM ? NULL : F(src[0]);
        if (t->op == CVL_OPK_LAYERNORM_BWD_PARAMS) memset(y, 0, n * sizeof *y);
        for (int64_t i = 0; i < M; i++) {
            const float *xr = X + i * D;
            double mean = 0, var = 0;
            for (int64_t j = 0; j < D; j++) mean += xr[j];
            mean /= (double)D;
            for (int64_t j = 0; j < D; j++) var += (xr[j] - mean) * (xr[j] - mean);
            float rstd = (float)(1.0 / sqrt(var / (double)D + t->fp[0])), mu = (float)mean;
            if (t->op == CVL_OPK_LAYERNORM) {
                const float *B = F(src[2]);
                for (int64_t j = 0; j < D; j++) y[i * D + j] = (xr[j] - mu) * rstd * G[j] + B[j];
            } else if (t->op == CVL_OPK_LAYERNORM_BWD_PARAMS) {
                for (int64_t j = 0; j < D; j++) {
                    y[j] += dY[i * D + j] * (xr[j] - mu) * rstd;
                    y[D + j] += dY[i * D + j];
                }
            } else {
                double a = 0, c = 0;
                for (int64_t j = 0; j < D; j++) {
                    double dg = (double)dY[i * D + j] * G[j];
                    a += dg;
                    c += dg * (xr[j] - mu) * rstd;
                }
                a /= (double)D;
                c /= (double)D;
                for (int64_t j = 0; j < D; j++)
                    y[i * D + j] = (float)(rstd * ((double)dY[i * D + j] * G[j] - a - (xr[j] - mu) * rstd * c));
            }
        }
        break;
    }
    case CVL_OPK_UNARY: {
        ew_job j = {.y = y, .a = F(src[0]), .op = (int)t->ip[0]};
        par_ew(b->pool, n, ew_unary, &j);
        break;
    }
    case CVL_OPK_UNARY_BWD: {
        if (b->fuse.skip[t->id] == 1) break; /* read through by its batch-norm backward readers */
        ew_job j = {.y = y, .a = F(src[0]), .c = F(src[1]), .op = (int)t->ip[0]};
        par_ew(b->pool, n, ew_unary_bwd, &j);
        break;
    }
    case CVL_OPK_BINARY:
        binary(y, t, F(src[0]), F(src[1]), src[0], src[1]);
        break;
    case CVL_OPK_ACCUM: {
        ew_job j = {.y = y, .a = F(src[0]), .c = F(src[1])};
        par_ew(b->pool, n, ew_add, &j);
        break;
    }
    case CVL_OPK_SCALE: {
        ew_job j = {.y = y, .a = F(src[0]), .f = (float)t->fp[0]};
        par_ew(b->pool, n, ew_scale, &j);
        break;
    }
    case CVL_OPK_SUM_TO:
        sum_to(y, t, F(src[0]), src[0]);
        break;
    case CVL_OPK_POOL2D:
    case CVL_OPK_GPOOL: {
        cvl_pool_geom pg = pool_geom(src[0], t, t->ip, t->op == CVL_OPK_GPOOL);
        cvl_pool2d_forward(y, F(src[0]), &pg, b->pool);
        break;
    }
    case CVL_OPK_POOL2D_BWD:
    case CVL_OPK_GPOOL_BWD: {
        cvl_pool_geom pg = pool_geom(src[1], src[2], t->ip, t->op == CVL_OPK_GPOOL_BWD);
        cvl_pool2d_backward(y, F(src[0]), F(src[1]), F(src[2]), &pg, b->pool);
        break;
    }
    case CVL_OPK_PERMUTE: {
        const cvl_tensor *x = src[0];
        const float *X = F(x);
        int64_t xst[CVL_MAX_DIMS], st[CVL_MAX_DIMS], idx[CVL_MAX_DIMS] = {0};
        int64_t acc = 1;
        for (int32_t d = x->ndim - 1; d >= 0; d--) {
            xst[d] = acc;
            acc *= x->shape[d];
        }
        for (int32_t d = 0; d < t->ndim; d++) st[d] = xst[t->ip[d]];
        for (size_t i = 0; i < n; i++) {
            int64_t o = 0;
            for (int32_t d = 0; d < t->ndim; d++) o += idx[d] * st[d];
            y[i] = X[o];
            for (int32_t d = t->ndim - 1; d >= 0; d--) {
                if (++idx[d] < t->shape[d]) break;
                idx[d] = 0;
            }
        }
        break;
    }
    case CVL_OPK_CONCAT: {
        int32_t axis = (int32_t)t->ip[0];
        int64_t outer, inner;
        around(t, axis, &outer, &inner);
        int64_t off = 0;
        for (int32_t k = 0; k < t->n_src; k++) {
            int64_t len = src[k]->shape[axis];
            const float *X = F(src[k]);
            for (int64_t o = 0; o < outer; o++)
                memcpy(y + (o * t->shape[axis] + off) * inner, X + o * len * inner, (size_t)(len * inner) * sizeof *y);
            off += len;
        }
        break;
    }
    case CVL_OPK_SLICE:
    case CVL_OPK_SLICE_BWD: {
        bool fwd = t->op == CVL_OPK_SLICE;
        const cvl_tensor *big = fwd ? src[0] : t;
        int32_t axis = (int32_t)t->ip[0];
        int64_t start = t->ip[1], len = t->ip[2] - t->ip[1], outer, inner;
        around(big, axis, &outer, &inner);
        const float *X = F(src[0]);
        if (!fwd) memset(y, 0, n * sizeof *y);
        for (int64_t o = 0; o < outer; o++) {
            float *dst = fwd ? y + o * len * inner : y + (o * big->shape[axis] + start) * inner;
            const float *from = fwd ? X + (o * big->shape[axis] + start) * inner : X + o * len * inner;
            memcpy(dst, from, (size_t)(len * inner) * sizeof *y);
        }
        break;
    }
    case CVL_OPK_DROPOUT:
    case CVL_OPK_DROPOUT_BWD: {
        const float *x = F(src[0]);
        double p = t->fp[0];
        if (!s->training || p == 0) {
            memcpy(y, x, n * sizeof *y);
            break;
        }
        float k = (float)(1.0 / (1.0 - p));
        for (size_t i = 0; i < n; i++) y[i] = keep(s, t->ip[0], i, p) ? x[i] * k : 0.0f;
        break;
    }
    case CVL_OPK_SOFTMAX:
    case CVL_OPK_SOFTMAX_BWD: {
        bool fwd = t->op == CVL_OPK_SOFTMAX, lg = t->ip[1];
        int32_t axis = (int32_t)t->ip[0];
        int64_t outer, inner, D = t->shape[axis];
        around(t, axis, &outer, &inner);
        const float *X = F(src[0]), *Y = fwd ? NULL : F(src[1]);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t in = 0; in < inner; in++) {
                int64_t base = o * D * inner + in;
                if (fwd) {
                    float m = X[base];
                    for (int64_t d = 1; d < D; d++) m = X[base + d * inner] > m ? X[base + d * inner] : m;
                    double se = 0;
                    for (int64_t d = 0; d < D; d++) se += exp((double)X[base + d * inner] - m);
                    double lse = m + log(se);
                    for (int64_t d = 0; d < D; d++) {
                        double v = (double)X[base + d * inner] - lse;
                        y[base + d * inner] = (float)(lg ? v : exp(v));
                    }
                } else {
                    // softmax: dx = y*(dy - sum(dy*y)); log-softmax: dx = dy - exp(y)*sum(dy)
                    double acc = 0;
                    for (int64_t d = 0; d < D; d++) acc += lg ? X[base + d * inner] : (double)X[base + d * inner] * Y[base + d * inner];
                    for (int64_t d = 0; d < D; d++) {
                        int64_t k = base + d * inner;
                        y[k] = lg ? (float)(X[k] - exp((double)Y[k]) * acc) : (float)(Y[k] * (X[k] - acc));
                    }
                }
            }
        break;
    }
    case CVL_OPK_REDUCE:
    case CVL_OPK_REDUCE_BWD: {
        bool fwd = t->op == CVL_OPK_REDUCE;
        const cvl_tensor *x = fwd ? src[0] : t;
        const float *X = F(src[0]);
        bool mean = t->ip[0] == CVL_OP_MEAN;
        if (t->ip[1] == CVL_AXIS_ALL) {
            size_t nx = cvl_tensor_numel(x);
            if (fwd) {
                double acc = 0;
                for (size_t i = 0; i < nx; i++) acc += X[i];
                y[0] = (float)(mean ? acc / (double)nx : acc);
            } else {
                float v = mean ? X[0] / (float)nx : X[0];
                for (size_t i = 0; i < nx; i++) y[i] = v;
            }
            break;
        }
        int32_t axis = (int32_t)t->ip[1];
        int64_t outer, inner, D = x->shape[axis];
        around(x, axis, &outer, &inner);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t in = 0; in < inner; in++) {
                if (fwd) {
                    double acc = 0;
                    for (int64_t d = 0; d < D; d++) acc += X[(o * D + d) * inner + in];
                    y[o * inner + in] = (float)(mean ? acc / (double)D : acc);
                } else {
                    float v = X[o * inner + in] / (mean ? (float)D : 1.0f);
                    for (int64_t d = 0; d < D; d++) y[(o * D + d) * inner + in] = v;
                }
            }
        break;
    }
    case CVL_OPK_EMBEDDING:
    case CVL_OPK_EMBEDDING_BWD: {
        bool fwd = t->op == CVL_OPK_EMBEDDING;
        const cvl_tensor *idx = fwd ? src[0] : src[1], *w = fwd ? src[1] : t;
        const int32_t *ix = ptr(b, idx);
        int64_t num = w->shape[0], D = w->shape[1], m = (int64_t)cvl_tensor_numel(idx);
        if (!fwd) memset(y, 0, n * sizeof *y);
        const float *X = F(fwd ? src[1] : src[0]);
        for (int64_t i = 0; i < m; i++) {
            int64_t r = ix[i];
            if (r < 0 || r >= num) {
                if (fwd) memset(y + i * D, 0, (size_t)D * sizeof *y);
                continue;
            }
            if (fwd) memcpy(y + i * D, X + r * D, (size_t)D * sizeof *y);
            else
                for (int64_t d = 0; d < D; d++) y[r * D + d] += X[i * D + d];
        }
        break;
    }
    case CVL_OPK_LOSS:
        y[0] = cvl_cpu_loss_forward(t, F(src[0]), ptr(b, src[1]), t->n_src > 2 ? F(src[2]) : NULL);
        break;
    case CVL_OPK_LOSS_BWD:
        cvl_cpu_loss_backward(y, t, F(src[0])[0], F(src[1]), ptr(b, src[2]), t->n_src > 3 ? F(src[3]) : NULL);
        break;
    case CVL_OPK_GRAD_NORM: {
        double acc = 0;
        for (int32_t i = 0; i < g->n_forward; i++) {
            const cvl_tensor *p = g->nodes[i];
            if (p->op != CVL_OPK_PARAM || p->grad == NULL) continue;
            const float *gr = F(p->grad);
            size_t m = cvl_tensor_numel(p);
            for (size_t k = 0; k < m; k++) acc += (double)gr[k] * gr[k];
        }
        y[0] = (float)sqrt(acc);
        break;
    }
    case CVL_OPK_SGD:
    case CVL_OPK_ADAM:
    case CVL_OPK_RMSPROP:
        optim_step(b, g, t, s);
        break;
    default:
        break;
    }
}

static cvl_status cpu_run(cvl_backend *base, int32_t first, int32_t last, const cvl_step_scalars *s, cvl_err *e) {
    cpu_backend *b = (cpu_backend *)base;
    cvl_graph *g = base->graph;
    if (g == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "cpu: run before plan");
    if (first < 0) first = 0;
    if (last > g->n) last = g->n;
    if (first == 0 && b->fuse.done) memset(b->fuse.done, 0, (size_t)b->fuse.n); /* a new step */
    for (int32_t i = first; i < last; i++) run_node(b, g, g->nodes[i], s);
    return CVL_OK;
}

static cvl_status cpu_write(cvl_backend *base, const cvl_tensor *t, const void *data, size_t bytes, cvl_err *e) {
    cpu_backend *b = (cpu_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "cpu", true, e);
    if (bad) return bad;
    memcpy(ptr(b, t), data, bytes);
    return CVL_OK;
}

static cvl_status cpu_read(cvl_backend *base, const cvl_tensor *t, void *data, size_t bytes, cvl_err *e) {
    cpu_backend *b = (cpu_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "cpu", false, e);
    if (bad) return bad;
    memcpy(data, ptr(b, t), bytes);
    return CVL_OK;
}

static void cpu_stats(const cvl_backend *base, cvl_plan_stats *out) {
    const cpu_backend *b = (const cpu_backend *)base;
    out->persistent_bytes = b->sizes[1];
    out->arena_bytes = b->sizes[0];
    out->activation_bytes = b->activation_bytes;
    out->workspace_bytes = b->ws_floats * sizeof(float);
}

static void cpu_free(cvl_backend *base) {
    cpu_backend *b = (cpu_backend *)base;
    free(b->regions[0]);
    free(b->regions[1]);
    free(b->ws);
    cvl_cpu_fusion_free(&b->fuse);
    cvl_pool_free(b->pool);
    free(b);
}

static const cvl_backend_ops cpu_ops = {
    .name = "cpu", .plan = cpu_plan, .run = cpu_run, .write = cpu_write, .read = cpu_read,
    .stats = cpu_stats, .free = cpu_free,
};

cvl_backend *cvl_backend_cpu_new(int threads) {
    cpu_backend *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->base.ops = &cpu_ops;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    b->threads = threads;
    /* Our pool owns the parallelism; OpenBLAS runs each call on one thread,
     * so the two never fight over the cores. */
    openblas_set_num_threads(1);
    b->pool = cvl_pool_new(threads);
    if (b->pool == NULL) {
        free(b);
        return NULL;
    }
    return &b->base;
}
