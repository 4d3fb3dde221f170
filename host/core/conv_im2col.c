/* conv_im2col.c -- convolution by im2col + OpenBLAS sgemm, and the choice
 * between it and the Winograd path (conv_winograd.c). */
#include <cblas.h>
#include <string.h>

#include "core/cpu_kernels.h"

/* Samples whose im2col columns are built and multiplied together: wider
 * GEMMs for small images, bounded scratch for large ones. */
/* Output planes at least this large get one GEMM per sample. */
#define CONV_MIN_PLANE 256

static int conv_chunk(const cvl_conv_geom *g, int threads) {
    /* One sample per GEMM when its output plane is large enough: the GEMM
     * then reads and writes NCHW in place (no gather, no scatter). */
    if (g->P * g->Q >= CONV_MIN_PLANE) return 1;
    size_t per = (size_t)(g->C / g->groups) * g->R * g->S * g->P * g->Q;
    int chunk = (int)(((size_t)2 << 20) / (per ? per : 1)); /* ~8 MB of floats per thread */
    int share = (g->N + 2 * threads - 1) / (2 * threads); /* two blocks a thread at least */
    if (chunk < 1) chunk = 1;
    if (chunk > share) chunk = share;
    return chunk;
}

/* Floats of one thread's scratch: im2col columns and a gathered output,
 * or a partial weight gradient and one sample's columns. */
static size_t thread_ws(const cvl_conv_geom *g, int threads) {
    int chunk = conv_chunk(g, threads);
    size_t col = (size_t)(g->C / g->groups) * g->R * g->S * (size_t)chunk * g->P * g->Q;
    size_t out = (size_t)(g->K / g->groups) * (size_t)chunk * g->P * g->Q;
    size_t wpart = ((size_t)g->K * (g->C / g->groups) * g->R * g->S + 15) & ~(size_t)15; /* a partial dW */
    size_t col1 = (size_t)(g->C / g->groups) * g->R * g->S * g->P * g->Q;          /* one sample's columns */
    size_t need = col + out > wpart + col1 ? col + out : wpart + col1;
    return (need + 15) & ~(size_t)15;
}

/* Backward-data of a stride-1 convolution is a forward convolution of dy
 * with the filter rotated by 180 degrees and its channel axes swapped,
 * padded by d*(R-1) - p: the GEMM then has the shape of the forward one
 * (Cg x PQ x Kg*R*S) instead of (Cg*R*S x PQ x Kg) followed by a col2im
 * scatter-add, which is faster wherever Kg*R*S is the longer inner side. */
static bool flip_applies(const cvl_conv_geom *g) {
    return g->sh == 1 && g->sw == 1 && g->ph <= g->dh * (g->R - 1) && g->pw <= g->dw * (g->S - 1);
}

/* Where it measured faster (one thread, CPU time, N 128): input planes
 * large enough for one GEMM per sample (C 32 at 28x28: 31 -> 27 ms; C 64
 * at 32x32: 134-193 -> 120 ms); with gathered chunks of small planes it
 * lost (C 32 -> K 64 at 14x14: 14-18 -> 19-20 ms). */
static bool flip_ok(const cvl_conv_geom *g) {
    return flip_applies(g) && g->H * g->W >= CONV_MIN_PLANE && g->C / g->groups >= 8;
}

cvl_conv_geom cvl_conv_geom_transposed(const cvl_conv_geom *g) {
    cvl_conv_geom t = *g;
    t.C = g->K;
    t.K = g->C;
    t.H = g->P;
    t.W = g->Q;
    t.P = g->H;
    t.Q = g->W;
    t.ph = g->dh * (g->R - 1) - g->ph;
    t.pw = g->dw * (g->S - 1) - g->pw;
    return t;
}

static size_t flip_floats(const cvl_conv_geom *g) {
    return ((size_t)g->K * (g->C / g->groups) * g->R * g->S + 15) & ~(size_t)15;
}

size_t cvl_conv2d_workspace(const cvl_conv_geom *g, int threads) {
    size_t a = thread_ws(g, threads) * (size_t)threads;
    if (flip_ok(g)) {
        size_t b = cvl_conv2d_flip_workspace(g, threads);
        if (b > a) a = b;
    }
    if (cvl_conv2d_winograd_ok(g)) {
        size_t b = cvl_conv2d_winograd_workspace(g, threads);
        if (b > a) a = b;
    }
    if (cvl_conv2d_winograd_bwd_weight_ok(g)) {
        size_t b = cvl_conv2d_winograd_bwd_weight_workspace(g, threads);
        if (b > a) a = b;
    }
    return a;
}

/* The output columns q whose input column q*sw - pw + off lies in [0, W). */
static void valid_cols(const cvl_conv_geom *g, int off, int *q0, int *q1) {
    int lo = 0, hi = g->Q;
    while (lo < hi && lo * g->sw - g->pw + off < 0) lo++;
    while (hi > lo && (hi - 1) * g->sw - g->pw + off >= g->W) hi--;
    *q0 = lo;
    *q1 = hi;
}

// col (Cg*R*S, n*P*Q) for samples [n0, n0+n) of group grp; column index = i*PQ + p*Q + q
static void im2col(float *col, const float *in, const cvl_conv_geom *g, int n0, int n, int grp) {
    int Cg = g->C / g->groups, PQ = g->P * g->Q;
    size_t ld = (size_t)n * PQ;
    for (int c = 0; c < Cg; c++)
        for (int r = 0; r < g->R; r++)
            for (int s = 0; s < g->S; s++) {
                float *row = col + ((size_t)(c * g->R + r) * g->S + s) * ld;
                int off = s * g->dw, q0, q1;
                valid_cols(g, off, &q0, &q1);
                for (int i = 0; i < n; i++) {
                    const float *x = in + ((size_t)(n0 + i) * g->C + grp * Cg + c) * g->H * g->W;
                    float *dst = row + (size_t)i * PQ;
                    for (int p = 0; p < g->P; p++) {
                        int h = p * g->sh - g->ph + r * g->dh;
                        float *d = dst + p * g->Q;
                        if (h < 0 || h >= g->H) {
                            memset(d, 0, (size_t)g->Q * sizeof *d);
                            continue;
                        }
                        const float *xr = x + (size_t)h * g->W - g->pw + off;
                        for (int q = 0; q < q0; q++) d[q] = 0.0f;
                        if (g->sw == 1) {
                            memcpy(d + q0, xr + q0, (size_t)(q1 - q0) * sizeof *d);
                        } else {
                            for (int q = q0; q < q1; q++) d[q] = xr[q * g->sw];
                        }
                        for (int q = q1; q < g->Q; q++) d[q] = 0.0f;
                    }
                }
            }
}

// din += col2im(col): the adjoint of im2col
static void col2im(float *din, const float *col, const cvl_conv_geom *g, int n0, int n, int grp) {
    int Cg = g->C / g->groups, PQ = g->P * g->Q;
    size_t ld = (size_t)n * PQ;
    for (int c = 0; c < Cg; c++)
        for (int r = 0; r < g->R; r++)
            for (int s = 0; s < g->S; s++) {
                const float *row = col + ((size_t)(c * g->R + r) * g->S + s) * ld;
                int off = s * g->dw, q0, q1;
                valid_cols(g, off, &q0, &q1);
                for (int i = 0; i < n; i++) {
                    float *x = din + ((size_t)(n0 + i) * g->C + grp * Cg + c) * g->H * g->W;
                    const float *src = row + (size_t)i * PQ;
                    for (int p = 0; p < g->P; p++) {
                        int h = p * g->sh - g->ph + r * g->dh;
                        if (h < 0 || h >= g->H) continue;
                        float *xr = x + (size_t)h * g->W - g->pw + off;
                        const float *sr = src + p * g->Q;
                        if (g->sw == 1) {
                            for (int q = q0; q < q1; q++) xr[q] += sr[q];
                        } else {
                            for (int q = q0; q < q1; q++) xr[q * g->sw] += sr[q];
                        }
                    }
                }
            }
}

typedef struct conv_job {
    float *out;
    const float *a, *b, *bias;
    const cvl_conv_geom *g;
    float *ws;
    size_t ws_per;
    int threads;
} conv_job;

// tmp (Kg, n*PQ) <- dout samples [n0, n0+n) of group grp
static void gather_dout(float *tmp, const float *dout, const cvl_conv_geom *g, int n0, int n, int grp) {
    int Kg = g->K / g->groups, PQ = g->P * g->Q;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < Kg; k++)
            memcpy(tmp + (size_t)k * n * PQ + (size_t)i * PQ, dout + ((size_t)(n0 + i) * g->K + grp * Kg + k) * PQ,
                   (size_t)PQ * sizeof(float));
}

// samples [b, e): out = conv(in, weight) (+ bias)
static void conv_fwd_part(void *ctx, int64_t b, int64_t e, int t) {
    conv_job *j = ctx;
    const cvl_conv_geom *g = j->g;
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S, chunk = conv_chunk(g, j->threads);
    float *col = j->ws + j->ws_per * (size_t)t, *tmp = col + (size_t)CRS * chunk * PQ;
    for (int n0 = (int)b; n0 < (int)e; n0 += chunk) {
        int n = (int)e - n0 < chunk ? (int)e - n0 : chunk;
        for (int grp = 0; grp < g->groups; grp++) {
            const float *wg = j->b + (size_t)grp * Kg * CRS;
            im2col(col, j->a, g, n0, n, grp);
            if (n == 1) {
                float *y = j->out + ((size_t)n0 * g->K + grp * Kg) * PQ;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Kg, PQ, CRS, 1.0f, wg, CRS, col, PQ, 0.0f, y, PQ);
                if (j->bias)
                    for (int k = 0; k < Kg; k++)
                        for (int q = 0; q < PQ; q++) y[(size_t)k * PQ + q] += j->bias[grp * Kg + k];
                continue;
            }
            // tmp (Kg, n*PQ) = W_g (Kg, CRS) x col (CRS, n*PQ)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Kg, n * PQ, CRS, 1.0f, wg, CRS, col, n * PQ, 0.0f,
                        tmp, n * PQ);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < Kg; k++) {
                    float *y = j->out + ((size_t)(n0 + i) * g->K + grp * Kg + k) * PQ;
                    const float *src = tmp + (size_t)k * n * PQ + (size_t)i * PQ;
                    float bk = j->bias ? j->bias[grp * Kg + k] : 0.0f;
                    for (int q = 0; q < PQ; q++) y[q] = src[q] + bk;
                }
        }
    }
}

void cvl_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                        const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    if (cvl_conv2d_winograd_ok(g)) cvl_conv2d_winograd_forward(out, in, weight, bias, g, ws, pool);
    else cvl_conv2d_im2col_forward(out, in, weight, bias, g, ws, pool);
}

void cvl_conv2d_im2col_forward(float *out, const float *in, const float *weight, const float *bias,
                               const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    int T = cvl_pool_size(pool);
    conv_job j = {out, in, weight, bias, g, ws, thread_ws(g, T), T};
    cvl_pool_run_blocks(pool, g->N, conv_chunk(g, T), conv_fwd_part, &j);
}

// samples [b, e): din = col2im(W^T dout)
static void conv_bwd_data_part(void *ctx, int64_t b, int64_t e, int t) {
    conv_job *j = ctx;
    const cvl_conv_geom *g = j->g;
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S, chunk = conv_chunk(g, j->threads);
    float *col = j->ws + j->ws_per * (size_t)t, *tmp = col + (size_t)CRS * chunk * PQ;
    memset(j->out + (size_t)b * g->C * g->H * g->W, 0, (size_t)(e - b) * g->C * g->H * g->W * sizeof(float));
    for (int n0 = (int)b; n0 < (int)e; n0 += chunk) {
        int n = (int)e - n0 < chunk ? (int)e - n0 : chunk;
        for (int grp = 0; grp < g->groups; grp++) {
            const float *wg = j->b + (size_t)grp * Kg * CRS;
            const float *dy = j->a + ((size_t)n0 * g->K + grp * Kg) * PQ;
            if (n > 1) {
                gather_dout(tmp, j->a, g, n0, n, grp);
                dy = tmp;
            }
            // col (CRS, n*PQ) = W_g^T (CRS, Kg) x dy (Kg, n*PQ)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CRS, n * PQ, Kg, 1.0f, wg, CRS, dy, n * PQ, 0.0f,
                        col, n * PQ);
            col2im(j->out, col, g, n0, n, grp);
        }
    }
}

void cvl_conv2d_backward_data(float *din, const float *dout, const float *weight,
                              const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    if (cvl_conv2d_winograd_ok(g)) cvl_conv2d_winograd_backward_data(din, dout, weight, g, ws, pool);
    else if (flip_ok(g)) cvl_conv2d_flip_backward_data(din, dout, weight, g, ws, pool);
    else cvl_conv2d_im2col_backward_data(din, dout, weight, g, ws, pool);
}

bool cvl_conv2d_flip_applies(const cvl_conv_geom *g) { return flip_applies(g); }

size_t cvl_conv2d_flip_workspace(const cvl_conv_geom *g, int threads) {
    cvl_conv_geom t = cvl_conv_geom_transposed(g);
    return flip_floats(g) + thread_ws(&t, threads) * (size_t)threads;
}

void cvl_conv2d_flip_backward_data(float *din, const float *dout, const float *weight,
                                   const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    cvl_conv_geom t = cvl_conv_geom_transposed(g);
    int Cg = g->C / g->groups, Kg = g->K / g->groups, RS = g->R * g->S;
    float *flip = ws;
    // flip (C, Kg, R, S): flip[grp*Cg + c][k][rs] = w[grp*Kg + k][c][RS-1-rs]
    for (int grp = 0; grp < g->groups; grp++)
        for (int k = 0; k < Kg; k++)
            for (int c = 0; c < Cg; c++) {
                const float *w = weight + ((size_t)(grp * Kg + k) * Cg + c) * RS;
                float *f = flip + ((size_t)(grp * Cg + c) * Kg + k) * RS;
                for (int r = 0; r < RS; r++) f[RS - 1 - r] = w[r];
            }
    cvl_conv2d_im2col_forward(din, dout, flip, NULL, &t, ws + flip_floats(g), pool);
}

void cvl_conv2d_im2col_backward_data(float *din, const float *dout, const float *weight,
                                     const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    int T = cvl_pool_size(pool);
    conv_job j = {din, dout, weight, NULL, g, ws, thread_ws(g, T), T};
    cvl_pool_run_blocks(pool, g->N, conv_chunk(g, T), conv_bwd_data_part, &j);
}

/* Floats of a partial weight gradient, rounded up to 16. */
static size_t wpart_floats(const cvl_conv_geom *g) {
    return ((size_t)g->K * (g->C / g->groups) * g->R * g->S + 15) & ~(size_t)15;
}

// samples [b, e): dW (+)= dy_n col_nᵀ per sample into this thread's partial
// (thread 0 writes the output itself). Thread t's scratch: [partial | col].
// (One sample per GEMM: chunks of samples measured slower, their columns
// fall out of cache.)
static void conv_bwd_weight_part(void *ctx, int64_t b, int64_t e, int t) {
    conv_job *j = ctx;
    const cvl_conv_geom *g = j->g;
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S;
    float *slot = j->ws + j->ws_per * (size_t)t, *col = slot + wpart_floats(g);
    float *dw = t == 0 ? j->out : slot;
    for (int n = (int)b; n < (int)e; n++)
        for (int grp = 0; grp < g->groups; grp++) {
            im2col(col, j->b, g, n, 1, grp);
            const float *dy = j->a + ((size_t)n * g->K + grp * Kg) * PQ;
            // dW_g (Kg, CRS) (+)= dy (Kg, PQ) x col^T (PQ, CRS)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Kg, CRS, PQ, 1.0f, dy, PQ, col, PQ,
                        n == (int)b ? 0.0f : 1.0f, dw + (size_t)grp * Kg * CRS, CRS);
        }
}

void cvl_conv2d_backward_weight(float *dweight, const float *dout, const float *in,
                                const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    if (cvl_conv2d_winograd_bwd_weight_ok(g)) cvl_conv2d_winograd_backward_weight(dweight, dout, in, g, ws, pool);
    else cvl_conv2d_im2col_backward_weight(dweight, dout, in, g, ws, pool);
}

void cvl_conv2d_im2col_backward_weight(float *dweight, const float *dout, const float *in,
                                       const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    int threads = cvl_pool_size(pool), T = threads > g->N ? g->N : threads;
    conv_job j = {dweight, dout, in, NULL, g, ws, thread_ws(g, threads), threads};
    cvl_pool_run(pool, g->N, conv_bwd_weight_part, &j);
    /* Sum the other threads' partials into thread 0's, in thread order:
     * deterministic for a given thread count. */
    size_t nw = (size_t)g->K * (g->C / g->groups) * g->R * g->S;
    for (int t = 1; t < T; t++) {
        const float *part = ws + j.ws_per * (size_t)t;
        for (size_t i = 0; i < nw; i++) dweight[i] += part[i];
    }
}

