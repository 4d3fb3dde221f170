/* conv_ref.h -- shared pieces of the Vulkan convolution tests (vk_conv,
 * vk_conv_f16): a case (square filter, the same stride, padding and
 * dilation on both axes), its geometry and tensor sizes, and the
 * double-precision convolution in all three directions. */
#ifndef CVL_TEST_CONV_REF_H
#define CVL_TEST_CONV_REF_H

#include <stdint.h>
#include <string.h>

#include "backend/vulkan/ops.h"

typedef struct conv_case {
    uint32_t N, C, H, W, K, R, sh, ph, dh, groups;
} conv_case;

static inline cvl_vk_conv_geom conv_ref_geom(const conv_case *c) {
    cvl_vk_conv_geom g = {.N = c->N, .C = c->C, .H = c->H, .W = c->W, .K = c->K, .R = c->R, .S = c->R, .sh = c->sh,
                          .sw = c->sh, .ph = c->ph, .pw = c->ph, .dh = c->dh, .dw = c->dh, .groups = c->groups};
    g.P = (g.H + 2 * g.ph - g.dh * (g.R - 1) - 1) / g.sh + 1;
    g.Q = (g.W + 2 * g.pw - g.dw * (g.S - 1) - 1) / g.sw + 1;
    return g;
}

/* Floats in x (N, C, H, W), W (K, C/groups, R, S) and y (N, K, P, Q). */
typedef struct conv_ref_sizes {
    size_t x, w, y;
} conv_ref_sizes;

static inline conv_ref_sizes conv_ref_sizes_of(const cvl_vk_conv_geom *g) {
    return (conv_ref_sizes){.x = (size_t)g->N * g->C * g->H * g->W,
                            .w = (size_t)g->K * (g->C / g->groups) * g->R * g->S,
                            .y = (size_t)g->N * g->K * g->P * g->Q};
}

/* y, dx, dW in double from x, W, dy, term by term. */
static inline void conv_ref(double *y, double *dx, double *dw, const float *x, const float *w, const float *dy,
                            const cvl_vk_conv_geom *g) {
    uint32_t Cg = g->C / g->groups, Kg = g->K / g->groups;
    conv_ref_sizes n = conv_ref_sizes_of(g);
    memset(y, 0, n.y * sizeof *y);
    memset(dx, 0, n.x * sizeof *dx);
    memset(dw, 0, n.w * sizeof *dw);
    for (uint32_t b = 0; b < g->N; b++)
        for (uint32_t k = 0; k < g->K; k++)
            for (uint32_t p = 0; p < g->P; p++)
                for (uint32_t q = 0; q < g->Q; q++) {
                    size_t yi = (((size_t)b * g->K + k) * g->P + p) * g->Q + q;
                    for (uint32_t c = 0; c < Cg; c++)
                        for (uint32_t r = 0; r < g->R; r++)
                            for (uint32_t s = 0; s < g->S; s++) {
                                int h = (int)(p * g->sh + r * g->dh) - (int)g->ph;
                                int v = (int)(q * g->sw + s * g->dw) - (int)g->pw;
                                if (h < 0 || v < 0 || h >= (int)g->H || v >= (int)g->W) continue;
                                size_t xi = (((size_t)b * g->C + k / Kg * Cg + c) * g->H + (size_t)h) * g->W + (size_t)v;
                                size_t wi = (((size_t)k * Cg + c) * g->R + r) * g->S + s;
                                y[yi] += (double)w[wi] * x[xi];
                                dx[xi] += (double)w[wi] * dy[yi];
                                dw[wi] += (double)dy[yi] * x[xi];
                            }
                }
}

#endif
