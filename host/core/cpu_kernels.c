/* cpu_kernels.c -- batch norm and pooling on the CPU (convolutions are in
 * conv_im2col.c and conv_winograd.c). */
#include "core/cpu_kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

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

/* sum(dy) and sum(dy * (x - mean)) over a plane; with `relu` (the input of
 * a ReLU whose gradient dy is) the gradient is dy where relu > 0, else 0. */
static void lane_dy_sums(const float *dy, const float *relu, const float *x, int n, float mean, double *sdy,
                         double *sdyx) {
    float a[8] = {0}, b[8] = {0};
    int i = 0;
    if (relu) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) {
                float d = relu[i + k] > 0 ? dy[i + k] : 0.0f;
                a[k] += d;
                b[k] += d * (x[i + k] - mean);
            }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) {
                a[k] += dy[i + k];
                b[k] += dy[i + k] * (x[i + k] - mean);
            }
    }
    double sa = 0, sb = 0;
    for (int k = 0; k < 8; k++) {
        sa += a[k];
        sb += b[k];
    }
    for (; i < n; i++) {
        float d = relu && !(relu[i] > 0) ? 0.0f : dy[i];
        sa += d;
        sb += (double)d * (x[i] - mean);
    }
    *sdy += sa;
    *sdyx += sb;
}

typedef struct bn_job {
    float *out, *aux1, *aux2;
    const float *in, *dout, *stats, *gamma, *beta, *relu;
    int N, C, HW;
    double eps, momentum;
    double *scratch;
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
    cvl_pool_for(pool, C, bn_stats_part, &j);
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
    cvl_pool_for(pool, (int64_t)N * C, bn_apply_part, &j);
}

/* The backward runs plane by plane (each plane of N*C is contiguous, so
 * both passes stream through memory instead of striding by C*HW): pass 1
 * writes each plane's sum(dy) and sum(dy*(x-mean)) to scratch, the channel
 * sums add them in sample order (the same order for any thread count),
 * pass 2 writes dx. */
static void bn_bwd_sums_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    for (int64_t pl = b; pl < e; pl++) {
        int c = (int)(pl % j->C);
        size_t o = (size_t)pl * j->HW;
        double a = 0, sb = 0;
        lane_dy_sums(j->dout + o, j->relu ? j->relu + o : NULL, j->in + o, j->HW, j->stats[c], &a, &sb);
        j->scratch[2 * pl] = a;
        j->scratch[2 * pl + 1] = sb;
    }
}

// planes [b, e): dx = gamma*rstd * (dy - mean(dy) - xhat * mean(dy*xhat)); aux2 holds (mdy, mdyx) per channel
static void bn_bwd_apply_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    bn_job *j = ctx;
    for (int64_t pl = b; pl < e; pl++) {
        int c = (int)(pl % j->C);
        size_t o = (size_t)pl * j->HW;
        float mean = j->stats[c], rstd = j->stats[j->C + c];
        float k = j->gamma[c] * rstd, mdy = j->aux2[c], mdyx = j->aux2[j->C + c];
        const float *x = j->in + o, *dy = j->dout + o;
        float *dx = j->out + o;
        if (j->relu) {
            const float *r = j->relu + o;
            for (int i = 0; i < j->HW; i++)
                dx[i] = k * ((r[i] > 0 ? dy[i] : 0.0f) - mdy - (x[i] - mean) * rstd * mdyx);
        } else {
            for (int i = 0; i < j->HW; i++) dx[i] = k * (dy[i] - mdy - (x[i] - mean) * rstd * mdyx);
        }
    }
}

size_t cvl_bn_backward_scratch(int N, int C) { return (size_t)4 * N * C + 2 * (size_t)C; }

void cvl_bn_backward_params(float *dparams, const float *dout, const float *in,
                            const float *stats, int N, int C, int HW, float *scratch, cvl_pool *pool) {
    cvl_bn_backward_fused(NULL, dparams, dout, NULL, in, stats, NULL, N, C, HW, scratch, pool);
}

void cvl_bn_backward(float *din, const float *dout, const float *in, const float *stats,
                     const float *gamma, int N, int C, int HW, float *scratch, cvl_pool *pool) {
    cvl_bn_backward_fused(din, NULL, dout, NULL, in, stats, gamma, N, C, HW, scratch, pool);
}

void cvl_bn_backward_fused(float *din, float *dparams, const float *dout, const float *relu, const float *in,
                           const float *stats, const float *gamma, int N, int C, int HW, float *scratch,
                           cvl_pool *pool) {
    double *sums = (double *)(void *)scratch;
    float *means = scratch + (size_t)4 * N * C;
    bn_job j = {.out = din, .aux2 = means, .in = in, .dout = dout, .relu = relu, .stats = stats, .gamma = gamma,
                .N = N, .C = C, .HW = HW, .scratch = sums};
    cvl_pool_for(pool, (int64_t)N * C, bn_bwd_sums_part, &j);
    double count = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++) {
            sdy += sums[2 * ((size_t)n * C + c)];
            sdyx += sums[2 * ((size_t)n * C + c) + 1];
        }
        sdyx *= stats[C + c];
        if (dparams) {
            dparams[c] = (float)sdyx;
            dparams[C + c] = (float)sdy;
        }
        means[c] = (float)(sdy / count);
        means[C + c] = (float)(sdyx / count);
    }
    if (din) cvl_pool_for(pool, (int64_t)N * C, bn_bwd_apply_part, &j);
}

/* --------------------------------------------------------------- pooling */

typedef struct pool_job {
    float *out;
    const float *in, *dout, *y;
    const cvl_pool_geom *g;
} pool_job;

/* The common case: 2x2 windows, stride 2, no padding. */
static bool pool_2x2(const cvl_pool_geom *g) {
    return g->kh == 2 && g->kw == 2 && g->stride == 2 && g->pad == 0 && g->P == g->H / 2 && g->Q == g->W / 2;
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
    float inv = 1.0f / (float)(g->kh * g->kw);
    for (int64_t nc = b; nc < e; nc++) {
        const float *x = j->in + (size_t)nc * g->H * g->W;
        float *y = j->out + (size_t)nc * g->P * g->Q;
        for (int p = 0; p < g->P; p++)
            for (int q = 0; q < g->Q; q++) {
                float acc = g->max ? -FLT_MAX : 0.0f;
                for (int r = 0; r < g->kh; r++) {
                    int h = p * g->stride - g->pad + r;
                    if (h < 0 || h >= g->H) continue;
                    for (int s = 0; s < g->kw; s++) {
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
    cvl_pool_for(pool, (int64_t)g->N * g->C, pool_fwd_part, &j);
}

static void pool_bwd_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    pool_job *j = ctx;
    const cvl_pool_geom *g = j->g;
    float inv = 1.0f / (float)(g->kh * g->kw);
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
                for (int r = 0; r < g->kh && !done; r++) {
                    int h = p * g->stride - g->pad + r;
                    if (h < 0 || h >= g->H) continue;
                    for (int s = 0; s < g->kw; s++) {
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
    cvl_pool_for(pool, (int64_t)g->N * g->C, pool_bwd_part, &j);
}
