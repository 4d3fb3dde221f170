/* Winograd F(2x2,3x3) against the im2col path (itself checked against
 * finite differences in test_grad and against PyTorch in test_models):
 * forward and backward-data on odd and even sizes, paddings 0, 1, 2, with
 * and without bias, 1 and 2 threads. Bound: max |a-b| / max |b| <= 2e-5
 * (Winograd reorders the sums; float rounding only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cpu_kernels.h"
#include "harness.h"

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double rel(const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs((double)b[i]));
    }
    return md / fmax(mb, 1e-30);
}

int main(void) {
    struct { int N, C, K, H, W, pad; bool bias; } cases[] = {
        {2, 16, 16, 8, 8, 1, false}, {3, 16, 24, 7, 9, 1, true}, {1, 32, 16, 5, 6, 0, false},
        {2, 16, 32, 6, 5, 2, true},  {4, 64, 64, 4, 4, 1, false},
    };
    uint64_t seed = 1;
    for (int th = 1; th <= 2; th++) {
        cvl_pool *pool = cvl_pool_new(th);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            cvl_conv_geom g = {.N = cases[c].N, .C = cases[c].C, .K = cases[c].K, .H = cases[c].H, .W = cases[c].W,
                               .R = 3, .S = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .ph = cases[c].pad,
                               .pw = cases[c].pad, .groups = 1};
            g.P = g.H + 2 * g.ph - 2;
            g.Q = g.W + 2 * g.pw - 2;
            CHECK(cvl_conv2d_winograd_applies(&g), "case %zu is a Winograd shape", c);
            size_t nx = (size_t)g.N * g.C * g.H * g.W, ny = (size_t)g.N * g.K * g.P * g.Q, nw = (size_t)g.K * g.C * 9;
            float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)g.K * 4), *y1 = malloc(ny * 4),
                  *y2 = malloc(ny * 4), *dy = malloc(ny * 4), *dx1 = malloc(nx * 4), *dx2 = malloc(nx * 4);
            for (size_t i = 0; i < nx; i++) x[i] = frand(&seed);
            for (size_t i = 0; i < nw; i++) w[i] = frand(&seed) * 0.2f;
            for (int i = 0; i < g.K; i++) b[i] = frand(&seed);
            for (size_t i = 0; i < ny; i++) dy[i] = frand(&seed);
            size_t wsn = cvl_conv2d_workspace(&g, th), wsw = cvl_conv2d_winograd_workspace(&g, th);
            float *ws = malloc((wsn > wsw ? wsn : wsw) * 4);
            const float *bias = cases[c].bias ? b : NULL;
            cvl_conv2d_winograd_forward(y1, x, w, bias, &g, ws, pool);
            cvl_conv2d_im2col_forward(y2, x, w, bias, &g, ws, pool);
            double ef = rel(y1, y2, ny);
            cvl_conv2d_winograd_backward_data(dx1, dy, w, &g, ws, pool);
            cvl_conv2d_im2col_backward_data(dx2, dy, w, &g, ws, pool);
            double eb = rel(dx1, dx2, nx);
            CHECK(ef <= 2e-5 && eb <= 2e-5,
                  "%d thread(s): N%d C%d K%d %dx%d pad %d%s: forward %.1e, backward-data %.1e", th, g.N, g.C, g.K, g.H,
                  g.W, g.ph, bias ? " bias" : "", ef, eb);
            free(x), free(w), free(b), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(ws);
        }
        cvl_pool_free(pool);
    }
    cvl_conv_geom small = {.N = 1, .C = 8, .K = 16, .H = 8, .W = 8, .R = 3, .S = 3, .sh = 1, .sw = 1, .dh = 1,
                           .dw = 1, .ph = 1, .pw = 1, .groups = 1, .P = 8, .Q = 8};
    cvl_conv_geom strided = small;
    strided.C = 16;
    strided.sh = strided.sw = 2;
    CHECK(!cvl_conv2d_winograd_ok(&small) && !cvl_conv2d_winograd_applies(&strided),
          "few channels and strided convolutions stay on im2col");
    cvl_conv_geom wide = {.N = 2, .C = 256, .K = 256, .H = 8, .W = 8, .R = 3, .S = 3, .sh = 1, .sw = 1, .dh = 1,
                          .dw = 1, .ph = 1, .pw = 1, .groups = 1, .P = 8, .Q = 8};
    CHECK(cvl_conv2d_winograd_ok(&wide), "256 channels at 8x8 take the Winograd path");
    return tap_done();
}
