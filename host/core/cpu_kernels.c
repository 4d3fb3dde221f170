/* cpu_kernels.c -- convolution (im2col + OpenBLAS sgemm), batch norm and
 * pooling on the CPU. */
#include "core/cpu_kernels.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Samples whose im2col columns are built and multiplied together: wider
 * GEMMs for small images, bounded scratch for large ones. */
static int conv_chunk(const cvl_conv_geom *g) {
    size_t per = (size_t)(g->C / g->groups) * g->R * g->S * g->P * g->Q;
    int chunk = (int)(((size_t)4 << 20) / (per ? per : 1)); /* ~16 MB of floats */
    if (chunk < 1) chunk = 1;
    if (chunk > g->N) chunk = g->N;
    return chunk;
}

static bool is_pointwise(const cvl_conv_geom *g) {
    return g->R == 1 && g->S == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

size_t cvl_conv2d_workspace(const cvl_conv_geom *g) {
    int chunk = conv_chunk(g);
    size_t col = (size_t)(g->C / g->groups) * g->R * g->S * (size_t)chunk * g->P * g->Q;
    size_t out = (size_t)(g->K / g->groups) * (size_t)chunk * g->P * g->Q;
    return col + out;
}

// col (Cg*R*S, n*P*Q) for samples [n0, n0+n) of group grp; column index = i*PQ + p*Q + q
static void im2col(float *col, const float *in, const cvl_conv_geom *g, int n0, int n, int grp) {
    int Cg = g->C / g->groups, PQ = g->P * g->Q;
    size_t ld = (size_t)n * PQ;
    for (int c = 0; c < Cg; c++)
        for (int r = 0; r < g->R; r++)
            for (int s = 0; s < g->S; s++) {
                float *row = col + ((size_t)(c * g->R + r) * g->S + s) * ld;
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
                        const float *xr = x + (size_t)h * g->W;
                        for (int q = 0; q < g->Q; q++) {
                            int w = q * g->sw - g->pw + s * g->dw;
                            d[q] = (w >= 0 && w < g->W) ? xr[w] : 0.0f;
                        }
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
                for (int i = 0; i < n; i++) {
                    float *x = din + ((size_t)(n0 + i) * g->C + grp * Cg + c) * g->H * g->W;
                    const float *src = row + (size_t)i * PQ;
                    for (int p = 0; p < g->P; p++) {
                        int h = p * g->sh - g->ph + r * g->dh;
                        if (h < 0 || h >= g->H) continue;
                        float *xr = x + (size_t)h * g->W;
                        const float *sr = src + p * g->Q;
                        for (int q = 0; q < g->Q; q++) {
                            int w = q * g->sw - g->pw + s * g->dw;
                            if (w >= 0 && w < g->W) xr[w] += sr[q];
                        }
                    }
                }
            }
}

void cvl_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                        const cvl_conv_geom *g, float *ws) {
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S, chunk = conv_chunk(g);
    float *col = ws, *tmp = ws + (size_t)CRS * chunk * PQ;
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        int n = g->N - n0 < chunk ? g->N - n0 : chunk;
        for (int grp = 0; grp < g->groups; grp++) {
            const float *wg = weight + (size_t)grp * Kg * CRS;
            if (is_pointwise(g) && n == 1) {
                // (Kg, Cg) x (Cg, PQ) straight from the input
                const float *x = in + ((size_t)n0 * g->C + grp * Cg) * PQ;
                float *y = out + ((size_t)n0 * g->K + grp * Kg) * PQ;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Kg, PQ, Cg, 1.0f, wg, CRS, x, PQ, 0.0f, y, PQ);
                continue;
            }
            im2col(col, in, g, n0, n, grp);
            // tmp (Kg, n*PQ) = W_g (Kg, CRS) x col (CRS, n*PQ)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Kg, n * PQ, CRS, 1.0f, wg, CRS, col,
                        n * PQ, 0.0f, tmp, n * PQ);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < Kg; k++)
                    memcpy(out + ((size_t)(n0 + i) * g->K + grp * Kg + k) * PQ, tmp + (size_t)k * n * PQ + (size_t)i * PQ,
                           (size_t)PQ * sizeof(float));
        }
    }
    if (bias)
        for (int i = 0; i < g->N; i++)
            for (int k = 0; k < g->K; k++) {
                float *y = out + ((size_t)i * g->K + k) * PQ, b = bias[k];
                for (int j = 0; j < PQ; j++) y[j] += b;
            }
}

// tmp (Kg, n*PQ) <- dout samples [n0, n0+n) of group grp
static void gather_dout(float *tmp, const float *dout, const cvl_conv_geom *g, int n0, int n, int grp) {
    int Kg = g->K / g->groups, PQ = g->P * g->Q;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < Kg; k++)
            memcpy(tmp + (size_t)k * n * PQ + (size_t)i * PQ, dout + ((size_t)(n0 + i) * g->K + grp * Kg + k) * PQ,
                   (size_t)PQ * sizeof(float));
}

void cvl_conv2d_backward_data(float *din, const float *dout, const float *weight,
                              const cvl_conv_geom *g, float *ws) {
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S, chunk = conv_chunk(g);
    float *col = ws, *tmp = ws + (size_t)CRS * chunk * PQ;
    memset(din, 0, (size_t)g->N * g->C * g->H * g->W * sizeof *din);
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        int n = g->N - n0 < chunk ? g->N - n0 : chunk;
        for (int grp = 0; grp < g->groups; grp++) {
            const float *wg = weight + (size_t)grp * Kg * CRS;
            gather_dout(tmp, dout, g, n0, n, grp);
            // col (CRS, n*PQ) = W_g^T (CRS, Kg) x tmp (Kg, n*PQ)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CRS, n * PQ, Kg, 1.0f, wg, CRS, tmp, n * PQ,
                        0.0f, col, n * PQ);
            col2im(din, col, g, n0, n, grp);
        }
    }
}

void cvl_conv2d_backward_weight(float *dweight, const float *dout, const float *in,
                                const cvl_conv_geom *g, float *ws) {
    int Cg = g->C / g->groups, Kg = g->K / g->groups, PQ = g->P * g->Q;
    int CRS = Cg * g->R * g->S, chunk = conv_chunk(g);
    float *col = ws, *tmp = ws + (size_t)CRS * chunk * PQ;
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        int n = g->N - n0 < chunk ? g->N - n0 : chunk;
        for (int grp = 0; grp < g->groups; grp++) {
            float *dwg = dweight + (size_t)grp * Kg * CRS;
            im2col(col, in, g, n0, n, grp);
            gather_dout(tmp, dout, g, n0, n, grp);
            // dW_g (Kg, CRS) (+)= tmp (Kg, n*PQ) x col^T (n*PQ, CRS)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Kg, CRS, n * PQ, 1.0f, tmp, n * PQ, col, n * PQ,
                        n0 == 0 ? 0.0f : 1.0f, dwg, CRS);
        }
    }
}

/* ------------------------------------------------------------ batch norm */

void cvl_bn_stats_train(float *stats, float *rmean, float *rvar, const float *in, int N, int C,
                        int HW, double eps, double momentum) {
    double count = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) sum += x[i];
        }
        double mean = sum / count;
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                double d = x[i] - mean;
                sq += d * d;
            }
        }
        double var = sq / count;
        stats[c] = (float)mean;
        stats[C + c] = (float)(1.0 / sqrt(var + eps));
        double unbiased = count > 1 ? sq / (count - 1) : var;
        rmean[c] = (float)((1 - momentum) * rmean[c] + momentum * mean);
        rvar[c] = (float)((1 - momentum) * rvar[c] + momentum * unbiased);
    }
}

void cvl_bn_stats_eval(float *stats, const float *rmean, const float *rvar, int C, double eps) {
    for (int c = 0; c < C; c++) {
        stats[c] = rmean[c];
        stats[C + c] = (float)(1.0 / sqrt((double)rvar[c] + eps));
    }
}

void cvl_bn_apply(float *out, const float *in, const float *stats, const float *gamma,
                  const float *beta, int N, int C, int HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float a = gamma[c] * stats[C + c], b = beta[c] - stats[c] * a;
            const float *x = in + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * a + b;
        }
}

void cvl_bn_backward_params(float *dparams, const float *dout, const float *in,
                            const float *stats, int N, int C, int HW) {
    for (int c = 0; c < C; c++) {
        double dg = 0, db = 0;
        float mean = stats[c], rstd = stats[C + c];
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW, *dy = dout + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                dg += (double)dy[i] * (x[i] - mean) * rstd;
                db += dy[i];
            }
        }
        dparams[c] = (float)dg;
        dparams[C + c] = (float)db;
    }
}

void cvl_bn_backward(float *din, const float *dout, const float *in, const float *stats,
                     const float *gamma, int N, int C, int HW) {
    double count = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        float mean = stats[c], rstd = stats[C + c];
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW, *dy = dout + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sdy += dy[i];
                sdyx += (double)dy[i] * (x[i] - mean) * rstd;
            }
        }
        // dx = gamma*rstd * (dy - mean(dy) - xhat * mean(dy*xhat))
        float k = gamma[c] * rstd, mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
        for (int n = 0; n < N; n++) {
            const float *x = in + ((size_t)n * C + c) * HW, *dy = dout + ((size_t)n * C + c) * HW;
            float *dx = din + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) dx[i] = k * (dy[i] - mdy - (x[i] - mean) * rstd * mdyx);
        }
    }
}

/* --------------------------------------------------------------- pooling */

void cvl_pool2d_forward(float *out, const float *in, const cvl_pool_geom *g) {
    float inv = 1.0f / (float)(g->k * g->k);
    for (int nc = 0; nc < g->N * g->C; nc++) {
        const float *x = in + (size_t)nc * g->H * g->W;
        float *y = out + (size_t)nc * g->P * g->Q;
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

void cvl_pool2d_backward(float *din, const float *dout, const float *in, const float *out,
                         const cvl_pool_geom *g) {
    memset(din, 0, (size_t)g->N * g->C * g->H * g->W * sizeof *din);
    float inv = 1.0f / (float)(g->k * g->k);
    for (int nc = 0; nc < g->N * g->C; nc++) {
        const float *x = in + (size_t)nc * g->H * g->W;
        const float *y = out + (size_t)nc * g->P * g->Q, *dy = dout + (size_t)nc * g->P * g->Q;
        float *dx = din + (size_t)nc * g->H * g->W;
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
