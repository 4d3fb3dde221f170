/* conv_winograd.c -- 3x3, stride-1 convolutions by Winograd F(2x2, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks").
 *
 * Each 2x2 output tile comes from a 4x4 input tile: Y = Aᵀ [U ⊙ V] A with
 * U = G g Gᵀ (the 3x3 filter) and V = Bᵀ d B (the input tile). Summed over
 * input channels, the 16 element-wise products become 16 GEMMs
 *   M[ξ] (K x T) = U[ξ] (K x C) · V[ξ] (C x T)      T = tiles
 * for 16·K·C·T multiply-adds instead of 36·K·C·T: 2.25x fewer FLOPs than
 * direct convolution. Backward-data of a stride-1 convolution is the same
 * operation on dy with the filter rotated by 180° and its channel axes
 * swapped, padded by 2 - pad, so it reuses the forward path. */
#include <cblas.h>
#include <string.h>

#include "core/cpu_kernels.h"

bool cvl_conv2d_winograd_applies(const cvl_conv_geom *g) {
    return g->R == 3 && g->S == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->groups == 1 &&
           g->ph <= 2 && g->pw <= 2 && g->P >= 2 && g->Q >= 2;
}

/* Where it is faster than im2col + sgemm with this implementation: every
 * 3x3 stride-1 shape of the reference models with at least 32 channels in
 * and out. One thread, CPU time, im2col -> Winograd, forward / backward-data
 * / backward-weight in ms: C 32 at 28x28 (N 128): 27/32/31 -> 21/22/23;
 * C 32 -> K 64 at 14x14: 18/17/15 -> 8/10/12; C 64 at 14x14: 33/30/26 ->
 * 16/17/18; N 64: C 64 at 32x32: 62/69/79 -> 39/40/42; C 128 at 16x16:
 * 53/55/55 -> 31/31/32; C 256 at 8x8: 56/55/56 -> 30/33/32; C 512 at 4x4:
 * 58/56/67 -> 38/39/31. Fewer channels (the 1-channel stems) stay on im2col. */
bool cvl_conv2d_winograd_ok(const cvl_conv_geom *g) {
    return cvl_conv2d_winograd_applies(g) && g->C >= 32 && g->K >= 32 && g->P >= 4 && g->Q >= 4;
}

/* Backward-weight: the same shapes. */
bool cvl_conv2d_winograd_bwd_weight_ok(const cvl_conv_geom *g) { return cvl_conv2d_winograd_ok(g); }

/* Floats between the 16 matrices of a transformed tensor holding n floats
 * each: n rounded up so that consecutive matrices start 256 bytes apart
 * modulo 4 KiB. With a plain n (a multiple of 4 KiB for power-of-two
 * planes) the 16 streams a tile transform reads or writes all map to the
 * same cache sets: C 64 at 32x32 ran 1.6x slower than im2col. */
static size_t plane(size_t n) {
    size_t p = (n + 15) & ~(size_t)15;
    return p + (1024 + 64 - p % 1024) % 1024;
}

static int tiles_h(const cvl_conv_geom *g) { return (g->P + 1) / 2; }
static int tiles_w(const cvl_conv_geom *g) { return (g->Q + 1) / 2; }

/* Samples per GEMM batch: ~1 MB of transformed input per thread (the
 * transforms stream through L2), but at least MIN_TILES tiles so that the
 * GEMMs of small planes keep a useful inner size. */
static int wino_chunk(const cvl_conv_geom *g, int threads) {
    const size_t budget = (size_t)1 << 18;
    const int min_tiles = 64;
    int tiles = tiles_h(g) * tiles_w(g);
    size_t per = (size_t)16 * (g->C > g->K ? g->C : g->K) * tiles;
    int chunk = (int)(budget / (per ? per : 1));
    int least = (min_tiles + tiles - 1) / tiles;
    int share = (g->N + 2 * threads - 1) / (2 * threads); /* two blocks a thread at least */
    if (chunk < least) chunk = least;
    if (chunk < 1) chunk = 1;
    if (chunk > share) chunk = share;
    return chunk;
}

static size_t wino_thread_floats(const cvl_conv_geom *g, int threads) {
    size_t t = (size_t)wino_chunk(g, threads) * tiles_h(g) * tiles_w(g);
    return (size_t)16 * plane((size_t)g->C * t) + (size_t)16 * plane((size_t)g->K * t);
}

size_t cvl_conv2d_winograd_workspace(const cvl_conv_geom *g, int threads) {
    /* U (16 K C), a flipped filter for backward-data (C K 9), per-thread V and M
     * sized for whichever of the two directions needs more */
    cvl_conv_geom t = cvl_conv_geom_transposed(g);
    size_t a = wino_thread_floats(g, threads), b = wino_thread_floats(&t, threads);
    return (size_t)16 * plane((size_t)g->K * g->C) + (size_t)9 * g->K * g->C + 16 + (a > b ? a : b) * (size_t)threads;
}

// U[ξ][k][c] = (G g Gᵀ)[ξ] for the filter w (K, C, 3, 3)
static void transform_filter(float *U, const float *w, int K, int C) {
    size_t KC = plane((size_t)K * C);
    for (int k = 0; k < K; k++)
        for (int c = 0; c < C; c++) {
            const float *f = w + ((size_t)k * C + c) * 9;
            float t[4][3]; /* G f */
            for (int j = 0; j < 3; j++) {
                float a = f[j], b = f[3 + j], d = f[6 + j];
                t[0][j] = a;
                t[1][j] = 0.5f * (a + b + d);
                t[2][j] = 0.5f * (a - b + d);
                t[3][j] = d;
            }
            for (int i = 0; i < 4; i++) {
                float a = t[i][0], b = t[i][1], d = t[i][2];
                float u[4] = {a, 0.5f * (a + b + d), 0.5f * (a - b + d), d};
                for (int j = 0; j < 4; j++) U[(size_t)(i * 4 + j) * KC + (size_t)k * C + c] = u[j];
            }
        }
}

// V[ξ][c][tile] = Bᵀ d B for samples [n0, n0+n) (T = n tiles per plane)
static void input_transform(float *V, const float *in, const cvl_conv_geom *g, int n0, int n, size_t T) {
    int C = g->C, TH = tiles_h(g), TW = tiles_w(g);
    size_t pl = plane((size_t)C * T);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) {
            const float *x = in + ((size_t)(n0 + i) * C + c) * g->H * g->W;
            for (int th = 0; th < TH; th++)
                for (int tw = 0; tw < TW; tw++) {
                    float d[4][4];
                    int h0 = 2 * th - g->ph, w0 = 2 * tw - g->pw;
                    if (h0 >= 0 && w0 >= 0 && h0 + 4 <= g->H && w0 + 4 <= g->W) {
                        const float *src = x + h0 * g->W + w0; /* interior: no bounds to check */
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) d[r][s] = src[r * g->W + s];
                    } else {
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                int h = h0 + r, w = w0 + s;
                                d[r][s] = (h >= 0 && h < g->H && w >= 0 && w < g->W) ? x[h * g->W + w] : 0.0f;
                            }
                    }
                    float tmp[4][4]; /* Bᵀ d */
                    for (int s = 0; s < 4; s++) {
                        tmp[0][s] = d[0][s] - d[2][s];
                        tmp[1][s] = d[1][s] + d[2][s];
                        tmp[2][s] = d[2][s] - d[1][s];
                        tmp[3][s] = d[1][s] - d[3][s];
                    }
                    size_t tile = ((size_t)i * TH + th) * TW + tw;
                    for (int r = 0; r < 4; r++) {
                        float v[4] = {tmp[r][0] - tmp[r][2], tmp[r][1] + tmp[r][2], tmp[r][2] - tmp[r][1],
                                      tmp[r][1] - tmp[r][3]};
                        for (int s = 0; s < 4; s++) V[(size_t)(r * 4 + s) * pl + (size_t)c * T + tile] = v[s];
                    }
                }
        }
}

typedef struct wino_job {
    float *out;
    const float *in, *U, *bias;
    const cvl_conv_geom *g;
    float *ws;
    size_t ws_per;
    int threads;
} wino_job;

// samples [b, e): out = winograd_conv(in)
static void wino_part(void *ctx, int64_t b, int64_t e, int t) {
    wino_job *j = ctx;
    const cvl_conv_geom *g = j->g;
    int C = g->C, K = g->K, TH = tiles_h(g), TW = tiles_w(g), chunk = wino_chunk(g, j->threads);
    float *V = j->ws + j->ws_per * (size_t)t;
    for (int n0 = (int)b; n0 < (int)e; n0 += chunk) {
        int n = (int)e - n0 < chunk ? (int)e - n0 : chunk;
        size_t T = (size_t)n * TH * TW;
        size_t pv = plane((size_t)C * T), pm = plane((size_t)K * T), pu = plane((size_t)K * C);
        float *M = V + 16 * pv;
        input_transform(V, j->in, g, n0, n, T);
        // M[ξ] (K x T) = U[ξ] (K x C) · V[ξ] (C x T)
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, (int)T, C, 1.0f, j->U + xi * pu, C, V + xi * pv,
                        (int)T, 0.0f, M + xi * pm, (int)T);
        // y = Aᵀ m A per tile
        for (int i = 0; i < n; i++)
            for (int k = 0; k < K; k++) {
                float *y = j->out + ((size_t)(n0 + i) * K + k) * g->P * g->Q;
                float bk = j->bias ? j->bias[k] : 0.0f;
                for (int th = 0; th < TH; th++)
                    for (int tw = 0; tw < TW; tw++) {
                        size_t tile = ((size_t)i * TH + th) * TW + tw;
                        float m[4][4];
                        for (int xi = 0; xi < 16; xi++) m[xi / 4][xi % 4] = M[xi * pm + (size_t)k * T + tile];
                        float a[2][4]; /* Aᵀ m */
                        for (int s = 0; s < 4; s++) {
                            a[0][s] = m[0][s] + m[1][s] + m[2][s];
                            a[1][s] = m[1][s] - m[2][s] - m[3][s];
                        }
                        for (int r = 0; r < 2; r++) {
                            int p = 2 * th + r;
                            if (p >= g->P) break;
                            float o0 = a[r][0] + a[r][1] + a[r][2], o1 = a[r][1] - a[r][2] - a[r][3];
                            y[p * g->Q + 2 * tw] = o0 + bk;
                            if (2 * tw + 1 < g->Q) y[p * g->Q + 2 * tw + 1] = o1 + bk;
                        }
                    }
            }
    }
}

static void run(float *out, const float *in, const float *U, const float *bias, const cvl_conv_geom *g,
                float *thread_ws, cvl_pool *pool) {
    int T = cvl_pool_size(pool);
    wino_job j = {out, in, U, bias, g, thread_ws, wino_thread_floats(g, T), T};
    cvl_pool_run_blocks(pool, g->N, wino_chunk(g, T), wino_part, &j);
}

void cvl_conv2d_winograd_forward(float *out, const float *in, const float *weight, const float *bias,
                                 const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    float *U = ws, *thread_ws = ws + (size_t)16 * plane((size_t)g->K * g->C) + (size_t)9 * g->K * g->C + 16;
    transform_filter(U, weight, g->K, g->C);
    run(out, in, U, bias, g, thread_ws, pool);
}

void cvl_conv2d_winograd_backward_data(float *din, const float *dout, const float *weight,
                                       const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    // dx = conv(dy, rot180(w) with C and K swapped), padding 2 - pad
    cvl_conv_geom t = cvl_conv_geom_transposed(g);
    float *U = ws, *flip = ws + (size_t)16 * plane((size_t)g->K * g->C);
    float *thread_ws = flip + (size_t)9 * g->K * g->C + 16;
    for (int k = 0; k < g->K; k++)
        for (int c = 0; c < g->C; c++)
            for (int r = 0; r < 9; r++) flip[((size_t)c * g->K + k) * 9 + (8 - r)] = weight[((size_t)k * g->C + c) * 9 + r];
    transform_filter(U, flip, t.K, t.C);
    run(din, dout, U, NULL, &t, thread_ws, pool);
}

/* ------------------------------------------------------ backward-weight
 * y = Aᵀ [U ⊙ V] A with U = G w Gᵀ is linear in w, so its adjoint is
 *   dw = Gᵀ dU G,   dU[ξ] (K x C) = Σ_tiles D[ξ] (K x T) · V[ξ]ᵀ (T x C)
 * with D = A dy Aᵀ (each 2x2 output-gradient tile spread to 4x4; positions
 * past the output edge are zero) and V the forward's input transform:
 * 16 GEMMs with the tiles as the inner dimension. Each thread sums its
 * samples into its own dU; the partials are added in thread order. */

// D[ξ][k][tile] = A dy Aᵀ for samples [n0, n0+n)
static void grad_transform(float *D, const float *dout, const cvl_conv_geom *g, int n0, int n, size_t T) {
    int K = g->K, TH = tiles_h(g), TW = tiles_w(g);
    size_t pl = plane((size_t)K * T);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            const float *dy = dout + ((size_t)(n0 + i) * K + k) * g->P * g->Q;
            for (int th = 0; th < TH; th++)
                for (int tw = 0; tw < TW; tw++) {
                    int p = 2 * th, q = 2 * tw;
                    bool r1 = p + 1 < g->P, c1 = q + 1 < g->Q;
                    float a = dy[p * g->Q + q], b = c1 ? dy[p * g->Q + q + 1] : 0.0f;
                    float c = r1 ? dy[(p + 1) * g->Q + q] : 0.0f, d = r1 && c1 ? dy[(p + 1) * g->Q + q + 1] : 0.0f;
                    float t[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}}; /* A dy */
                    size_t tile = ((size_t)i * TH + th) * TW + tw;
                    for (int r = 0; r < 4; r++) {
                        float v[4] = {t[r][0], t[r][0] + t[r][1], t[r][0] - t[r][1], -t[r][1]};
                        for (int s = 0; s < 4; s++) D[(size_t)(r * 4 + s) * pl + (size_t)k * T + tile] = v[s];
                    }
                }
        }
}

static size_t dU_floats(const cvl_conv_geom *g) { return (size_t)16 * plane((size_t)g->K * g->C); }

typedef struct wino_bw_job {
    const float *dout, *in;
    const cvl_conv_geom *g;
    float *dU, *ws;
    size_t ws_per;
    int threads;
} wino_bw_job;

static void wino_bw_part(void *ctx, int64_t b, int64_t e, int t) {
    wino_bw_job *j = ctx;
    const cvl_conv_geom *g = j->g;
    int C = g->C, K = g->K, chunk = wino_chunk(g, j->threads);
    float *V = j->ws + j->ws_per * (size_t)t, *dU = j->dU + dU_floats(g) * (size_t)t;
    for (int n0 = (int)b; n0 < (int)e; n0 += chunk) {
        int n = (int)e - n0 < chunk ? (int)e - n0 : chunk;
        size_t T = (size_t)n * tiles_h(g) * tiles_w(g);
        size_t pv = plane((size_t)C * T), pd = plane((size_t)K * T), pu = plane((size_t)K * C);
        float *D = V + 16 * pv;
        input_transform(V, j->in, g, n0, n, T);
        grad_transform(D, j->dout, g, n0, n, T);
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, C, (int)T, 1.0f, D + xi * pd, (int)T, V + xi * pv,
                        (int)T, n0 == (int)b ? 0.0f : 1.0f, dU + xi * pu, C);
    }
}

size_t cvl_conv2d_winograd_bwd_weight_workspace(const cvl_conv_geom *g, int threads) {
    return (dU_floats(g) + wino_thread_floats(g, threads)) * (size_t)threads;
}

void cvl_conv2d_winograd_backward_weight(float *dweight, const float *dout, const float *in,
                                         const cvl_conv_geom *g, float *ws, cvl_pool *pool) {
    int threads = cvl_pool_size(pool), used = threads < g->N ? threads : g->N;
    wino_bw_job j = {dout, in, g, ws, ws + dU_floats(g) * (size_t)threads, wino_thread_floats(g, threads), threads};
    cvl_pool_run(pool, g->N, wino_bw_part, &j);
    size_t KC = (size_t)g->K * g->C, pu = plane(KC);
    for (int t = 1; t < used; t++) {
        const float *part = ws + dU_floats(g) * (size_t)t;
        for (size_t i = 0; i < 16 * pu; i++) ws[i] += part[i];
    }
    // dw[k][c] = Gᵀ dU G
    for (size_t kc = 0; kc < KC; kc++) {
        float u[4][4], h[3][4];
        for (int xi = 0; xi < 16; xi++) u[xi / 4][xi % 4] = ws[(size_t)xi * pu + kc];
        for (int s = 0; s < 4; s++) {
            h[0][s] = u[0][s] + 0.5f * (u[1][s] + u[2][s]);
            h[1][s] = 0.5f * (u[1][s] - u[2][s]);
            h[2][s] = 0.5f * (u[1][s] + u[2][s]) + u[3][s];
        }
        float *w = dweight + kc * 9;
        for (int r = 0; r < 3; r++) {
            w[r * 3 + 0] = h[r][0] + 0.5f * (h[r][1] + h[r][2]);
            w[r * 3 + 1] = 0.5f * (h[r][1] - h[r][2]);
            w[r * 3 + 2] = 0.5f * (h[r][1] + h[r][2]) + h[r][3];
        }
    }
}
