/* cpu_kernels.c -- convolution (im2col + OpenBLAS sgemm), batch norm and
 * pooling on the CPU. */
#include "core/cpu_kernels.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

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
    int share = (g->N + threads - 1) / threads;
    if (chunk < 1) chunk = 1;
    if (chunk > share) chunk = share;
    return chunk;
}

/* Floats of one thread's scratch: im2col columns and a gathered output. */
static size_t thread_ws(const cvl_conv_geom *g, int threads) {
    int chunk = conv_chunk(g, threads);
    size_t col = (size_t)(g->C / g->groups) * g->R * g->S * (size_t)chunk * g->P * g->Q;
    size_t out = (size_t)(g->K / g->groups) * (size_t)chunk * g->P * g->Q;
    size_t wpart = ((size_t)g->K * (g->C / g->groups) * g->R * g->S + 15) & ~(size_t)15; /* a partial dW */
    size_t col1 = (size_t)(g->C / g->groups) * g->R * g->S * g->P * g->Q;          /* one sample's columns */
    size_t need = col + out > wpart + col1 ? col + out : wpart + col1;
    return (need + 15) & ~(size_t)15;
}

size_t cvl_conv2d_workspace(const cvl_conv_geom *g, int threads) {
    size_t a = thread_ws(g, threads) * (size_t)threads;
    if (cvl_conv2d_winograd_ok(g)) {
        size_t b = cvl_conv2d_winograd_workspace(g, threads);
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
    cvl_pool_run(pool, g->N, conv_fwd_part, &j);
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
    else cvl_conv2d_im2col_backward_data(din, dout, weight, g, ws, pool);
}

void cvl_conv2d_im2col_backward_data(float *din, const float *dout, const float *weight,
                                     const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    int T = cvl_pool_size(pool);
    conv_job j = {din, dout, weight, NULL, g, ws, thread_ws(g, T), T};
    cvl_pool_run(pool, g->N, conv_bwd_data_part, &j);
}

/* Floats of a partial weight gradient, rounded up to 16. */
static size_t wpart_floats(const cvl_conv_geom *g) {
    return ((size_t)g->K * (g->C / g->groups) * g->R * g->S + 15) & ~(size_t)15;
}

// samples [b, e): dW (+)= dy_n col_nᵀ per sample into this thread's partial
// (thread 0 writes the output itself). Thread t's scratch: [partial | col].
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

/* ------------------------------------------------------------ batch norm */

/* Sums with 8 independent float lanes (vectorisable without reassociating
 * a single accumulator), folded into double per call: a plane holds at most
 * a few thousand values, so float lanes lose nothing that matters. */
static double lane_sum(const float *x, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
    double s = 0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) s += x[i];
    return s;
}

static double lane_sq_dev(const float *x, int n, float mean) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            float d = x[i + k] - mean;
            acc[k] += d * d;
        }
    double s = 0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) s += (double)(x[i] - mean) * (x[i] - mean);
    return s;
}

/* sum(dy) and sum(dy * (x - mean)) over a plane */
static void lane_dy_sums(const float *dy, const float *x, int n, float mean, double *sdy, double *sdyx) {
    float a[8] = {0}, b[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            a[k] += dy[i + k];
            b[k] += dy[i + k] * (x[i + k] - mean);
        }
    double sa = 0, sb = 0;
    for (int k = 0; k < 8; k++) {
        sa += a[k];
        sb += b[k];
    }
    for (; i < n; i++) {
        sa += dy[i];
        sb += (double)dy[i] * (x[i] - mean);
    }
    *sdy += sa;
    *sdyx += sb;
}

typedef struct bn_job {
    float *out, *aux1, *aux2;
    const float *in, *dout, *stats, *gamma, *beta;
    int N, C, HW;
    double eps, momentum;
} bn_job;

// channels [b, e): batch statistics and running-statistics update
static void bn_stats_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    double count = (double)j->N * j->HW;
    for (int c = (int)b; c < (int)e; c++) {
        double sum = 0, sq = 0;
        for (int n = 0; n < j->N; n++) sum += lane_sum(j->in + ((size_t)n * j->C + c) * j->HW, j->HW);
        double mean = sum / count;
        for (int n = 0; n < j->N; n++) sq += lane_sq_dev(j->in + ((size_t)n * j->C + c) * j->HW, j->HW, (float)mean);
        double var = sq / count;
        j->out[c] = (float)mean;
        j->out[j->C + c] = (float)(1.0 / sqrt(var + j->eps));
        double unbiased = count > 1 ? sq / (count - 1) : var;
        j->aux1[c] = (float)((1 - j->momentum) * j->aux1[c] + j->momentum * mean);
        j->aux2[c] = (float)((1 - j->momentum) * j->aux2[c] + j->momentum * unbiased);
    }
}

void cvl_bn_stats_train(float *stats, float *rmean, float *rvar, const float *in, int N, int C,
                        int HW, double eps, double momentum, cvl_pool *pool) {
    bn_job j = {.out = stats, .aux1 = rmean, .aux2 = rvar, .in = in, .N = N, .C = C, .HW = HW, .eps = eps, .momentum = momentum};
    cvl_pool_run(pool, C, bn_stats_part, &j);
}

void cvl_bn_stats_eval(float *stats, const float *rmean, const float *rvar, int C, double eps) {
    for (int c = 0; c < C; c++) {
        stats[c] = rmean[c];
        stats[C + c] = (float)(1.0 / sqrt((double)rvar[c] + eps));
    }
}

// planes [b, e) of (N*C): y = x * a + b per channel
static void bn_apply_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    for (int64_t p = b; p < e; p++) {
        int c = (int)(p % j->C);
        float a = j->gamma[c] * j->stats[j->C + c], sh = j->beta[c] - j->stats[c] * a;
        const float *x = j->in + (size_t)p * j->HW;
        float *y = j->out + (size_t)p * j->HW;
        for (int i = 0; i < j->HW; i++) y[i] = x[i] * a + sh;
    }
}

void cvl_bn_apply(float *out, const float *in, const float *stats, const float *gamma,
                  const float *beta, int N, int C, int HW, cvl_pool *pool) {
    bn_job j = {.out = out, .in = in, .stats = stats, .gamma = gamma, .beta = beta, .N = N, .C = C, .HW = HW};
    cvl_pool_run(pool, (int64_t)N * C, bn_apply_part, &j);
}

// channels [b, e): sums of dy and dy*xhat
static void bn_sums(const bn_job *j, int c, double *sdy, double *sdyx) {
    float mean = j->stats[c], rstd = j->stats[j->C + c];
    double a = 0, b = 0;
    for (int n = 0; n < j->N; n++) {
        size_t o = ((size_t)n * j->C + c) * j->HW;
        lane_dy_sums(j->dout + o, j->in + o, j->HW, mean, &a, &b);
    }
    *sdy = a;
    *sdyx = b * rstd;
}

static void bn_params_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    for (int c = (int)b; c < (int)e; c++) {
        double sdy, sdyx;
        bn_sums(j, c, &sdy, &sdyx);
        j->out[c] = (float)sdyx;
        j->out[j->C + c] = (float)sdy;
    }
}

void cvl_bn_backward_params(float *dparams, const float *dout, const float *in,
                            const float *stats, int N, int C, int HW, cvl_pool *pool) {
    bn_job j = {.out = dparams, .in = in, .dout = dout, .stats = stats, .N = N, .C = C, .HW = HW};
    cvl_pool_run(pool, C, bn_params_part, &j);
}

// dx = gamma*rstd * (dy - mean(dy) - xhat * mean(dy*xhat))
static void bn_bwd_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    double count = (double)j->N * j->HW;
    for (int c = (int)b; c < (int)e; c++) {
        double sdy, sdyx;
        bn_sums(j, c, &sdy, &sdyx);
        float mean = j->stats[c], rstd = j->stats[j->C + c];
        float k = j->gamma[c] * rstd, mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
        for (int n = 0; n < j->N; n++) {
            const float *x = j->in + ((size_t)n * j->C + c) * j->HW, *dy = j->dout + ((size_t)n * j->C + c) * j->HW;
            float *dx = j->out + ((size_t)n * j->C + c) * j->HW;
            for (int i = 0; i < j->HW; i++) dx[i] = k * (dy[i] - mdy - (x[i] - mean) * rstd * mdyx);
        }
    }
}

void cvl_bn_backward(float *din, const float *dout, const float *in, const float *stats,
                     const float *gamma, int N, int C, int HW, cvl_pool *pool) {
    bn_job j = {.out = din, .in = in, .dout = dout, .stats = stats, .gamma = gamma, .N = N, .C = C, .HW = HW};
    cvl_pool_run(pool, C, bn_bwd_part, &j);
}

/* --------------------------------------------------------------- pooling */

typedef struct pool_job {
    float *out;
    const float *in, *dout, *y;
    const cvl_pool_geom *g;
} pool_job;

/* The common case: 2x2 windows, stride 2, no padding. */
static bool pool_2x2(const cvl_pool_geom *g) {
    return g->k == 2 && g->stride == 2 && g->pad == 0 && g->P == g->H / 2 && g->Q == g->W / 2;
}

static void pool_fwd_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    pool_job *j = ctx;
    const cvl_pool_geom *g = j->g;
    if (pool_2x2(g)) {
        for (int64_t nc = b; nc < e; nc++) {
            const float *x = j->in + (size_t)nc * g->H * g->W;
            float *y = j->out + (size_t)nc * g->P * g->Q;
            for (int p = 0; p < g->P; p++) {
                const float *r0 = x + 2 * p * g->W, *r1 = r0 + g->W;
                for (int q = 0; q < g->Q; q++) {
                    float a = r0[2 * q], c = r0[2 * q + 1], d = r1[2 * q], f = r1[2 * q + 1];
                    if (g->max) {
                        float m = a;
                        if (c > m || isnan(c)) m = c;
                        if (d > m || isnan(d)) m = d;
                        if (f > m || isnan(f)) m = f;
                        y[p * g->Q + q] = isnan(a) ? a : m;
                    } else {
                        y[p * g->Q + q] = (a + c + d + f) * 0.25f;
                    }
                }
            }
        }
        return;
    }
    float inv = 1.0f / (float)(g->k * g->k);
    for (int64_t nc = b; nc < e; nc++) {
        const float *x = j->in + (size_t)nc * g->H * g->W;
        float *y = j->out + (size_t)nc * g->P * g->Q;
        for (int p = 0; p < g->P; p++)
            for (int q = 0; q < g->Q; q++) {
                float acc = g->max ? -FLT_MAX : 0.0f;
                for (int r = 0; r < g->k; r++) {
                    int h = p * g->stride - g->pad + r;
                    if (h < 0 || h >= g->H) continue;
                    for (int s = 0; s < g->k; s++) {
                        int w = q * g->stride - g->pad + s;
                        if (w < 0 || w >= g->W) continue;
                        float v = x[h * g->W + w];
                        if (g->max) {
                            if (v > acc || isnan(v)) acc = v;
                        } else {
                            acc += v;
                        }
                    }
                }
                y[p * g->Q + q] = g->max ? acc : acc * inv;
            }
    }
}

void cvl_pool2d_forward(float *out, const float *in, const cvl_pool_geom *g, cvl_pool *pool) {
    pool_job j = {.out = out, .in = in, .g = g};
    cvl_pool_run(pool, (int64_t)g->N * g->C, pool_fwd_part, &j);
}

static void pool_bwd_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    pool_job *j = ctx;
    const cvl_pool_geom *g = j->g;
    float inv = 1.0f / (float)(g->k * g->k);
    /* 2x2 windows tile an even plane exactly: every input gets written below. */
    if (!(pool_2x2(g) && g->H % 2 == 0 && g->W % 2 == 0))
        memset(j->out + (size_t)b * g->H * g->W, 0, (size_t)(e - b) * g->H * g->W * sizeof(float));
    if (pool_2x2(g)) {
        for (int64_t nc = b; nc < e; nc++) {
            const float *x = j->in + (size_t)nc * g->H * g->W;
            const float *y = j->y + (size_t)nc * g->P * g->Q, *dy = j->dout + (size_t)nc * g->P * g->Q;
            float *dx = j->out + (size_t)nc * g->H * g->W;
            for (int p = 0; p < g->P; p++)
                for (int q = 0; q < g->Q; q++) {
                    size_t o = (size_t)(2 * p) * g->W + 2 * q;
                    float d = dy[p * g->Q + q];
                    if (!g->max) {
                        dx[o] = dx[o + 1] = dx[o + g->W] = dx[o + g->W + 1] = d * 0.25f;
                        continue;
                    }
                    /* the first position holding the maximum, in window order */
                    float m = y[p * g->Q + q];
                    size_t at = x[o] == m ? o : x[o + 1] == m ? o + 1 : x[o + g->W] == m ? o + g->W : o + g->W + 1;
                    dx[o] = dx[o + 1] = dx[o + g->W] = dx[o + g->W + 1] = 0.0f;
                    dx[at] = d;
                }
        }
        return;
    }
    for (int64_t nc = b; nc < e; nc++) {
        const float *x = j->in + (size_t)nc * g->H * g->W;
        const float *y = j->y + (size_t)nc * g->P * g->Q, *dy = j->dout + (size_t)nc * g->P * g->Q;
        float *dx = j->out + (size_t)nc * g->H * g->W;
        for (int p = 0; p < g->P; p++)
            for (int q = 0; q < g->Q; q++) {
                float d = dy[p * g->Q + q];
                bool done = false;
                for (int r = 0; r < g->k && !done; r++) {
                    int h = p * g->stride - g->pad + r;
                    if (h < 0 || h >= g->H) continue;
                    for (int s = 0; s < g->k; s++) {
                        int w = q * g->stride - g->pad + s;
                        if (w < 0 || w >= g->W) continue;
                        if (!g->max) {
                            dx[h * g->W + w] += d * inv;
                        } else if (x[h * g->W + w] == y[p * g->Q + q]) {
                            dx[h * g->W + w] += d;
                            done = true;
                            break;
                        }
                    }
                }
            }
    }
}

void cvl_pool2d_backward(float *din, const float *dout, const float *in, const float *out,
                         const cvl_pool_geom *g, cvl_pool *pool) {
    pool_job j = {.out = din, .in = in, .dout = dout, .y = out, .g = g};
    cvl_pool_run(pool, (int64_t)g->N * g->C, pool_bwd_part, &j);
}
