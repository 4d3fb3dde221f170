/* The fast convolution paths against the im2col path (itself checked
 * against finite differences in test_grad and against PyTorch in
 * test_models), 1 and 2 threads:
 *   - Winograd F(2x2,3x3) forward, backward-data and backward-weight on odd
 *     and even sizes, paddings 0, 1, 2, with and without bias, planes from
 *     2x2 to 17x17 (several GEMM chunks). Forward and backward-data: max
 *     |a-b| / max |b| <= 2e-5 against im2col (Winograd reorders the sums).
 *     Backward-weight sums over every tile of every sample, so both are
 *     compared with a double-precision direct sum: im2col <= 1e-5,
 *     Winograd <= 1e-4 (its transforms add and subtract up to 16 terms
 *     before the long sum).
 *   - backward-data of stride-1 convolutions as a forward convolution with
 *     the rotated filter ("flip"): kernels 1x1, 3x3, 5x5, 3x2, dilation 2,
 *     groups 2, every padding it accepts, planes below and above the
 *     one-GEMM-per-sample size: <= 2e-5 against col2im.
 *   - which path the dispatcher picks for the reference models' shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cpu_kernels.h"
#include "harness.h"

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double rel_d(const float *a, const double *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs(b[i]));
    }
    return md / fmax(mb, 1e-30);
}

/* dW in double by the definition (ungrouped geometry or any groups). */
static void ref_dweight(double *dw, const float *dy, const float *x, const cvl_conv_geom *g) {
    int Cg = g->C / g->groups, Kg = g->K / g->groups;
    size_t nw = (size_t)g->K * Cg * g->R * g->S;
    for (size_t i = 0; i < nw; i++) dw[i] = 0;
    for (int n = 0; n < g->N; n++)
        for (int k = 0; k < g->K; k++)
            for (int c = 0; c < Cg; c++)
                for (int r = 0; r < g->R; r++)
                    for (int s = 0; s < g->S; s++) {
                        double acc = 0;
                        int ci = (k / Kg) * Cg + c;
                        for (int p = 0; p < g->P; p++) {
                            int h = p * g->sh - g->ph + r * g->dh;
                            if (h < 0 || h >= g->H) continue;
                            for (int q = 0; q < g->Q; q++) {
                                int w = q * g->sw - g->pw + s * g->dw;
                                if (w < 0 || w >= g->W) continue;
                                acc += (double)dy[(((size_t)n * g->K + k) * g->P + p) * g->Q + q] *
                                       x[(((size_t)n * g->C + ci) * g->H + h) * g->W + w];
                            }
                        }
                        dw[(((size_t)k * Cg + c) * g->R + r) * g->S + s] += acc;
                    }
}

static size_t max4(size_t a, size_t b, size_t c, size_t d) {
    size_t m = a > b ? a : b;
    m = m > c ? m : c;
    return m > d ? m : d;
}

static void winograd_cases(int th, cvl_pool *pool, uint64_t *seed) {
    struct { int N, C, K, H, W, pad; bool bias; } cases[] = {
        {2, 16, 16, 8, 8, 1, false}, {3, 16, 24, 7, 9, 1, true}, {1, 32, 16, 5, 6, 0, false},
        {2, 16, 32, 6, 5, 2, true},  {4, 64, 64, 4, 4, 1, false}, {5, 8, 12, 17, 15, 1, false},
        {3, 12, 8, 2, 3, 2, true},   {9, 8, 8, 4, 4, 0, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cvl_conv_geom g = {.N = cases[c].N, .C = cases[c].C, .K = cases[c].K, .H = cases[c].H, .W = cases[c].W,
                           .R = 3, .S = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .ph = cases[c].pad,
                           .pw = cases[c].pad, .groups = 1};
        g.P = g.H + 2 * g.ph - 2;
        g.Q = g.W + 2 * g.pw - 2;
        CHECK(cvl_conv2d_winograd_applies(&g), "case %zu is a Winograd shape", c);
        size_t nx = (size_t)g.N * g.C * g.H * g.W, ny = (size_t)g.N * g.K * g.P * g.Q, nw = (size_t)g.K * g.C * 9;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)g.K * 4), *y1 = malloc(ny * 4),
              *y2 = malloc(ny * 4), *dy = malloc(ny * 4), *dx1 = malloc(nx * 4), *dx2 = malloc(nx * 4),
              *dw1 = malloc(nw * 4), *dw2 = malloc(nw * 4);
        double *dwr = malloc(nw * sizeof(double));
        for (size_t i = 0; i < nx; i++) x[i] = frand(seed);
        for (size_t i = 0; i < nw; i++) w[i] = frand(seed) * 0.2f;
        for (int i = 0; i < g.K; i++) b[i] = frand(seed);
        for (size_t i = 0; i < ny; i++) dy[i] = frand(seed);
        size_t wsn = max4(cvl_conv2d_workspace(&g, th), cvl_conv2d_winograd_workspace(&g, th),
                          cvl_conv2d_winograd_bwd_weight_workspace(&g, th), 1);
        float *ws = malloc(wsn * 4);
        const float *bias = cases[c].bias ? b : NULL;
        cvl_conv2d_winograd_forward(y1, x, w, bias, &g, ws, pool);
        cvl_conv2d_im2col_forward(y2, x, w, bias, &g, ws, pool);
        double ef = max_rel_err(y1, y2, ny);
        cvl_conv2d_winograd_backward_data(dx1, dy, w, &g, ws, pool);
        cvl_conv2d_im2col_backward_data(dx2, dy, w, &g, ws, pool);
        double eb = max_rel_err(dx1, dx2, nx);
        cvl_conv2d_winograd_backward_weight(dw1, dy, x, &g, ws, pool);
        cvl_conv2d_im2col_backward_weight(dw2, dy, x, &g, ws, pool);
        ref_dweight(dwr, dy, x, &g);
        double ew = rel_d(dw1, dwr, nw), ei = rel_d(dw2, dwr, nw);
        CHECK(ef <= 2e-5 && eb <= 2e-5 && ew <= 1e-4 && ei <= 1e-5,
              "%d thread(s): N%d C%d K%d %dx%d pad %d%s: forward %.1e, backward-data %.1e, backward-weight %.1e "
              "(im2col %.1e)",
              th, g.N, g.C, g.K, g.H, g.W, g.ph, bias ? " bias" : "", ef, eb, ew, ei);
        free(x), free(w), free(b), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(dw1), free(dw2);
        free(dwr), free(ws);
    }
}

static void flip_cases(int th, cvl_pool *pool, uint64_t *seed) {
    struct { int N, C, K, H, W, R, S, ph, pw, d, groups; } cases[] = {
        {3, 8, 12, 7, 9, 3, 3, 1, 1, 1, 1},   {2, 16, 8, 20, 18, 3, 3, 1, 0, 1, 1}, {2, 8, 8, 9, 11, 5, 5, 2, 1, 1, 1},
        {2, 12, 6, 6, 7, 1, 1, 0, 0, 1, 1},   {3, 8, 10, 11, 10, 3, 3, 2, 2, 2, 1}, {2, 16, 8, 17, 16, 3, 3, 0, 2, 1, 2},
        {1, 8, 8, 5, 5, 3, 2, 2, 1, 1, 1},    {4, 8, 16, 3, 3, 3, 3, 2, 2, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cvl_conv_geom g = {.N = cases[c].N, .C = cases[c].C, .K = cases[c].K, .H = cases[c].H, .W = cases[c].W,
                           .R = cases[c].R, .S = cases[c].S, .sh = 1, .sw = 1, .dh = cases[c].d, .dw = cases[c].d,
                           .ph = cases[c].ph, .pw = cases[c].pw, .groups = cases[c].groups};
        g.P = g.H + 2 * g.ph - g.dh * (g.R - 1);
        g.Q = g.W + 2 * g.pw - g.dw * (g.S - 1);
        CHECK(cvl_conv2d_flip_applies(&g), "flip case %zu applies", c);
        size_t nx = (size_t)g.N * g.C * g.H * g.W, ny = (size_t)g.N * g.K * g.P * g.Q;
        size_t nw = (size_t)g.K * (g.C / g.groups) * g.R * g.S;
        float *w = malloc(nw * 4), *dy = malloc(ny * 4), *dx1 = malloc(nx * 4), *dx2 = malloc(nx * 4);
        for (size_t i = 0; i < nw; i++) w[i] = frand(seed) * 0.2f;
        for (size_t i = 0; i < ny; i++) dy[i] = frand(seed);
        size_t wsn = max4(cvl_conv2d_workspace(&g, th), cvl_conv2d_flip_workspace(&g, th), 1, 1);
        float *ws = malloc(wsn * 4);
        cvl_conv2d_flip_backward_data(dx1, dy, w, &g, ws, pool);
        cvl_conv2d_im2col_backward_data(dx2, dy, w, &g, ws, pool);
        double e = max_rel_err(dx1, dx2, nx);
        CHECK(e <= 2e-5, "%d thread(s): flip N%d C%d K%d %dx%d k%dx%d pad %d,%d dil %d groups %d: %.1e", th, g.N, g.C,
              g.K, g.H, g.W, g.R, g.S, g.ph, g.pw, g.dh, g.groups, e);
        free(w), free(dy), free(dx1), free(dx2), free(ws);
    }
}

int main(void) {
    uint64_t seed = 1;
    for (int th = 1; th <= 2; th++) {
        cvl_pool *pool = cvl_pool_new(th);
        winograd_cases(th, pool, &seed);
        flip_cases(th, pool, &seed);
        cvl_pool_free(pool);
    }
    cvl_conv_geom small = {.N = 1, .C = 8, .K = 16, .H = 8, .W = 8, .R = 3, .S = 3, .sh = 1, .sw = 1, .dh = 1,
                           .dw = 1, .ph = 1, .pw = 1, .groups = 1, .P = 8, .Q = 8};
    cvl_conv_geom strided = small;
    strided.C = 16;
    strided.sh = strided.sw = 2;
    cvl_conv_geom stem = small;
    stem.C = 1;
    stem.H = stem.W = stem.P = stem.Q = 28;
    CHECK(!cvl_conv2d_winograd_ok(&small) && !cvl_conv2d_winograd_applies(&strided) &&
              !cvl_conv2d_winograd_ok(&stem) && !cvl_conv2d_winograd_bwd_weight_ok(&stem),
          "few channels and strided convolutions stay on im2col");
    cvl_conv_geom ref[] = {
        {.N = 2, .C = 32, .K = 32, .H = 28, .W = 28, .P = 28, .Q = 28}, /* cnn conv2 */
        {.N = 2, .C = 32, .K = 64, .H = 14, .W = 14, .P = 14, .Q = 14}, /* cnn conv3 */
        {.N = 2, .C = 64, .K = 64, .H = 32, .W = 32, .P = 32, .Q = 32}, /* resnet18s stage 1 */
        {.N = 2, .C = 512, .K = 512, .H = 4, .W = 4, .P = 4, .Q = 4},   /* resnet18s stage 4 */
    };
    bool all = true;
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        cvl_conv_geom g = ref[i];
        g.R = g.S = 3;
        g.sh = g.sw = g.dh = g.dw = g.ph = g.pw = g.groups = 1;
        all = all && cvl_conv2d_winograd_ok(&g) && cvl_conv2d_winograd_bwd_weight_ok(&g);
    }
    CHECK(all, "the reference models' 3x3 stride-1 convolutions take the Winograd path in all three directions");
    return tap_done();
}
