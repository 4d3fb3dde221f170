/* The implicit-GEMM convolution shader against the CPU kernels (im2col +
 * OpenBLAS, themselves checked against finite differences and PyTorch):
 * forward, backward-data and backward-weight on odd shapes with stride 2,
 * padding, dilation 2, groups 2, depthwise and 1x1. Bound: max |a-b| over
 * max |b| <= 1e-5. Validation on; any message fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cpu_kernels.h"
#include "vk_test.h"

static double rel(const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs((double)b[i]));
    }
    return md / fmax(mb, 1e-30);
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL) return vk_test_finish();
    struct { int N, C, H, W, K, R, sh, ph, dh, groups; } cases[] = {
        {2, 3, 9, 7, 5, 3, 1, 1, 1, 1}, {3, 4, 8, 8, 6, 3, 2, 1, 1, 2}, {2, 4, 10, 9, 4, 3, 1, 2, 2, 4},
        {1, 6, 5, 5, 8, 1, 1, 0, 1, 1}, {2, 5, 7, 6, 3, 5, 2, 2, 1, 1},
    };
    cvl_pool *pool = cvl_pool_new(1);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cvl_conv_geom g = {.N = cases[c].N, .C = cases[c].C, .H = cases[c].H, .W = cases[c].W, .K = cases[c].K,
                           .R = cases[c].R, .S = cases[c].R, .sh = cases[c].sh, .sw = cases[c].sh, .ph = cases[c].ph,
                           .pw = cases[c].ph, .dh = cases[c].dh, .dw = cases[c].dh, .groups = cases[c].groups};
        g.P = (g.H + 2 * g.ph - g.dh * (g.R - 1) - 1) / g.sh + 1;
        g.Q = (g.W + 2 * g.pw - g.dw * (g.S - 1) - 1) / g.sw + 1;
        size_t nx = (size_t)g.N * g.C * g.H * g.W, nw = (size_t)g.K * (g.C / g.groups) * g.R * g.S,
               ny = (size_t)g.N * g.K * g.P * g.Q;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *dy = malloc(ny * 4), *ref[3], *got[3];
        vk_test_fill_random(x, nx, (uint32_t)c + 1);
        vk_test_fill_random(w, nw, (uint32_t)c + 7);
        vk_test_fill_random(dy, ny, (uint32_t)c + 13);
        float *ws = malloc(cvl_conv2d_workspace(&g, 1) * 4);
        size_t sizes[3] = {ny, nx, nw};
        for (int m = 0; m < 3; m++) ref[m] = malloc(sizes[m] * 4);
        cvl_conv2d_im2col_forward(ref[0], x, w, NULL, &g, ws, pool);
        cvl_conv2d_im2col_backward_data(ref[1], dy, w, &g, ws, pool);
        cvl_conv2d_backward_weight(ref[2], dy, x, &g, ws, pool);
        cvl_vk_buffer bx = vk_test_upload(dev, x, nx), bw = vk_test_upload(dev, w, nw), bdy = vk_test_upload(dev, dy, ny);
        cvl_vk_buffer out[3] = {vk_test_upload(dev, NULL, ny), vk_test_upload(dev, NULL, nx), vk_test_upload(dev, NULL, nw)};
        cvl_vk_conv_geom vg = {(uint32_t)g.N, (uint32_t)g.C, (uint32_t)g.H, (uint32_t)g.W, (uint32_t)g.K, (uint32_t)g.R,
                               (uint32_t)g.S, (uint32_t)g.P, (uint32_t)g.Q, (uint32_t)g.sh, (uint32_t)g.sw, (uint32_t)g.ph,
                               (uint32_t)g.pw, (uint32_t)g.dh, (uint32_t)g.dw, (uint32_t)g.groups};
        cvl_vk_seq *seq;
        cvl_err e = {0};
        cvl_vk_seq_new(&seq, dev, "conv test", &e);
        cvl_vk_conv2d(seq, cvl_vk_view_of(&out[0]), cvl_vk_view_of(&bw), cvl_vk_view_of(&bx), &vg, 0, &e);
        cvl_vk_conv2d(seq, cvl_vk_view_of(&out[1]), cvl_vk_view_of(&bw), cvl_vk_view_of(&bdy), &vg, 1, &e);
        cvl_vk_conv2d(seq, cvl_vk_view_of(&out[2]), cvl_vk_view_of(&bdy), cvl_vk_view_of(&bx), &vg, 2, &e);
        cvl_vk_seq_end(seq, &e);
        cvl_vk_seq_run(seq, &e);
        double err[3];
        for (int m = 0; m < 3; m++) {
            got[m] = vk_test_download(dev, &out[m], sizes[m]);
            err[m] = rel(got[m], ref[m], sizes[m]);
        }
        CHECK(e.status == CVL_OK && err[0] <= 1e-5 && err[1] <= 1e-5 && err[2] <= 1e-5,
              "N%d C%d %dx%d K%d %dx%d stride %d pad %d dilation %d groups %d: forward %.1e, data %.1e, weight %.1e %s",
              g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.sh, g.ph, g.dh, g.groups, err[0], err[1], err[2], e.msg);
        cvl_vk_seq_free(seq);
        cvl_vk_buffer all[6] = {bx, bw, bdy, out[0], out[1], out[2]};
        for (int i = 0; i < 6; i++) cvl_vk_release(dev, &all[i]);
        for (int m = 0; m < 3; m++) {
            free(ref[m]);
            free(got[m]);
        }
        free(x), free(w), free(dy), free(ws);
    }
    cvl_pool_free(pool);
    cvl_vk_device_free(dev);
    return vk_test_finish();
}
