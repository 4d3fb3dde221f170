/* The implicit-GEMM convolution shader against the CPU kernels (im2col +
 * OpenBLAS, themselves checked against finite differences and PyTorch):
 * forward, backward-data and backward-weight on odd shapes with stride 2,
 * padding, dilation 2, groups, depthwise and 1x1. Depthwise convolutions
 * (groups == C == K) run the direct shaders (conv2d_dw*.comp): 3x3 and
 * 5x5, stride 1 and 2, padding past the filter's reach, dilation 2. Then again on a device
 * whose storage windows are 1 KiB, so that every convolution is cut into
 * chunks of images (backward-weight accumulating into dW), of groups and of
 * output channels (backward-data accumulating into dx), and once more with
 * maxComputeWorkGroupCount[2] lowered to 4 (the batch chunked to fit z),
 * and backward-weight over 50,000 (image, position) pairs, which lavapipe
 * runs in pieces (its loops stop after 65535 iterations: unsplit, a third
 * of dW was lost). Depthwise: in 1 KiB windows (channels split within an
 * image), in a 3 x 3 workgroup grid, backward-weight over 4.7M pairs a
 * weight (unsplit, past lavapipe's loop bound) and a 256x256 filter (its
 * taps cut into accumulating pieces of filter rows).
 * Bound: max |vk - cpu| / max |cpu| <= 1e-5. A filter or an image that
 * cannot fit a window is refused in one line naming the op. Validation on;
 * any message fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_ref.h"
#include "core/cpu_kernels.h"
#include "vk_test.h"

static cvl_pool *pool;
static double worst;

/* The same geometry for the CPU kernels. */
static cvl_conv_geom cpu_geom(const cvl_vk_conv_geom *g) {
    return (cvl_conv_geom){(int)g->N,  (int)g->C,  (int)g->H,  (int)g->W,  (int)g->K,  (int)g->R,
                           (int)g->S,  (int)g->P,  (int)g->Q,  (int)g->sh, (int)g->sw, (int)g->ph,
                           (int)g->pw, (int)g->dh, (int)g->dw, (int)g->groups};
}

/* All three directions of case `cc` on `dev` against the CPU; `min_chunks`:
 * at least that many dispatches for each direction (the split happened). The
 * outputs start as garbage (NaN), so a chunk that should write and instead
 * adds shows. */
static void check_case(cvl_vk_device *dev, const conv_case *cc, const char *tag, const uint32_t min_chunks[3]) {
    cvl_vk_conv_geom vg = conv_ref_geom(cc);
    cvl_conv_geom g = cpu_geom(&vg);
    conv_ref_sizes sz = conv_ref_sizes_of(&vg);
    size_t nx = sz.x, nw = sz.w, ny = sz.y;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *dy = malloc(ny * 4), *ref[3], *got[3];
    uint32_t seed = (uint32_t)(g.N + 3 * g.C + 5 * g.K + 7 * g.groups);
    vk_test_fill_random(x, nx, seed + 1);
    vk_test_fill_random(w, nw, seed + 7);
    vk_test_fill_random(dy, ny, seed + 13);
    float *ws = malloc(cvl_conv2d_workspace(&g, 1) * 4);
    size_t sizes[3] = {ny, nx, nw};
    for (int m = 0; m < 3; m++) ref[m] = malloc(sizes[m] * 4);
    cvl_conv2d_im2col_forward(ref[0], x, w, NULL, &g, ws, pool);
    cvl_conv2d_im2col_backward_data(ref[1], dy, w, &g, ws, pool);
    cvl_conv2d_backward_weight(ref[2], dy, x, &g, ws, pool);
    float *nan = malloc((nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)) * 4);
    for (size_t i = 0; i < (nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)); i++) nan[i] = NAN;
    cvl_vk_buffer bx = vk_test_upload(dev, x, nx), bw = vk_test_upload(dev, w, nw), bdy = vk_test_upload(dev, dy, ny);
    cvl_vk_buffer out[3] = {vk_test_upload(dev, nan, ny), vk_test_upload(dev, nan, nx), vk_test_upload(dev, nan, nw)};
    cvl_vk_seq *seq;
    cvl_err e = {0};
    cvl_vk_seq_new(&seq, dev, "conv test", &e);
    uint32_t chunks[3], before = 0;
    cvl_vk_view a[3] = {cvl_vk_view_of(&bw), cvl_vk_view_of(&bw), cvl_vk_view_of(&bdy)};
    cvl_vk_view b[3] = {cvl_vk_view_of(&bx), cvl_vk_view_of(&bdy), cvl_vk_view_of(&bx)};
    for (int m = 0; m < 3; m++) {
        if (e.status == CVL_OK) cvl_vk_conv2d(seq, cvl_vk_view_of(&out[m]), a[m], b[m], &vg, m, &e);
        chunks[m] = cvl_vk_seq_get_stats(seq).dispatches - before;
        before += chunks[m];
    }
    if (e.status == CVL_OK) cvl_vk_seq_end(seq, &e);
    if (e.status == CVL_OK) cvl_vk_seq_run(seq, &e);
    double err[3];
    for (int m = 0; m < 3; m++) {
        got[m] = vk_test_download(dev, &out[m], sizes[m]);
        err[m] = max_rel_err(got[m], ref[m], sizes[m]);
        if (err[m] > worst || isnan(err[m])) worst = err[m];
    }
    CHECK(e.status == CVL_OK && err[0] <= 1e-5 && err[1] <= 1e-5 && err[2] <= 1e-5 && chunks[0] >= min_chunks[0] &&
              chunks[1] >= min_chunks[1] && chunks[2] >= min_chunks[2],
          "%s N%d C%d %dx%d K%d %dx%d stride %d pad %d dilation %d groups %d: forward %.1e, data %.1e, weight %.1e "
          "in %u, %u, %u dispatches (>= %u, %u, %u) %s",
          tag, g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.sh, g.ph, g.dh, g.groups, err[0], err[1], err[2], chunks[0],
          chunks[1], chunks[2], min_chunks[0], min_chunks[1], min_chunks[2], e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_buffer all[6] = {bx, bw, bdy, out[0], out[1], out[2]};
    for (int i = 0; i < 6; i++) cvl_vk_release(dev, &all[i]);
    for (int m = 0; m < 3; m++) {
        free(ref[m]);
        free(got[m]);
    }
    free(x), free(w), free(dy), free(ws), free(nan);
}

/* A convolution the windows cannot hold is refused when recorded, in one
 * line naming the op (conv2d_dw* when depthwise) and `why`. */
static void check_refused(cvl_vk_device *dev, const conv_case *cc, int mode, const char *why) {
    cvl_vk_conv_geom vg = conv_ref_geom(cc);
    conv_ref_sizes sz = conv_ref_sizes_of(&vg);
    cvl_vk_buffer bx = vk_test_upload(dev, NULL, sz.x), bw = vk_test_upload(dev, NULL, sz.w),
                  by = vk_test_upload(dev, NULL, sz.y);
    cvl_vk_view x = cvl_vk_view_of(&bx), w = cvl_vk_view_of(&bw), y = cvl_vk_view_of(&by);
    cvl_vk_view v[3][3] = {{y, w, x}, {x, w, y}, {w, y, x}};
    cvl_vk_seq *seq;
    cvl_err e = {0};
    cvl_vk_seq_new(&seq, dev, "conv refusal", &e);
    cvl_status st = cvl_vk_conv2d(seq, v[mode][0], v[mode][1], v[mode][2], &vg, mode, &e);
    static const char *const gemm[] = {"conv2d ", "conv2d_bwd_data ", "conv2d_bwd_weight "};
    static const char *const dw[] = {"conv2d_dw ", "conv2d_dw_bwd_data ", "conv2d_dw_bwd_weight "};
    const char *const *names = cc->groups == cc->C && cc->K == cc->C ? dw : gemm;
    CHECK(st == CVL_ERR_UNSUPPORTED && strncmp(e.msg, names[mode], strlen(names[mode])) == 0 && strstr(e.msg, why) &&
              strchr(e.msg, '\n') == NULL,
          "refused in one line: %s", e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &bx);
    cvl_vk_release(dev, &bw);
    cvl_vk_release(dev, &by);
}

int main(void) {
    pool = cvl_pool_new(1);
    static const conv_case cases[] = {
        {2, 3, 9, 7, 5, 3, 1, 1, 1, 1}, {3, 4, 8, 8, 6, 3, 2, 1, 1, 2}, {2, 4, 10, 9, 4, 3, 1, 2, 2, 4},
        {1, 6, 5, 5, 8, 1, 1, 0, 1, 1}, {2, 5, 7, 6, 3, 5, 2, 2, 1, 1},
    };
    /* In 1 KiB windows (252 floats): one image per chunk, and groups split
     * for the grouped and depthwise ones (6 and 8 x 63 floats an image),
     * output channels split for the last (W is 864 floats). */
    static const conv_case split_cases[] = {
        {5, 3, 7, 9, 5, 3, 2, 1, 2, 1}, /* N5 C3 7x9 K5, stride 2, pad 1, dilation 2 */
        {5, 6, 7, 9, 9, 3, 2, 1, 2, 3}, /* groups 3 */
        {5, 8, 7, 9, 8, 3, 1, 1, 1, 8}, /* depthwise */
        {3, 8, 5, 5, 12, 3, 1, 1, 1, 1},
    };
    /* depthwise (direct shaders), N5 C6 7x9: 3x3 and 5x5, stride 1 and 2,
     * padding (3: past the filter's reach), dilation 2 */
    static const conv_case dw_cases[] = {
        {5, 6, 7, 9, 6, 3, 1, 1, 1, 6}, {5, 6, 7, 9, 6, 3, 2, 1, 1, 6}, {5, 6, 7, 9, 6, 3, 2, 0, 2, 6},
        {5, 6, 7, 9, 6, 5, 1, 2, 1, 6}, {5, 6, 7, 9, 6, 5, 2, 3, 2, 6}, {5, 6, 7, 9, 6, 3, 1, 3, 2, 6},
    };
    size_t n_cases = sizeof cases / sizeof cases[0], n_split = sizeof split_cases / sizeof split_cases[0];
    size_t n_dw = sizeof dw_cases / sizeof dw_cases[0];
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev) {
        static const uint32_t one[3] = {1, 1, 1};
        for (size_t c = 0; c < n_cases; c++) check_case(dev, &cases[c], "whole", one);
        for (size_t c = 0; c < n_split; c++) check_case(dev, &split_cases[c], "whole", one);
        for (size_t c = 0; c < n_dw; c++) check_case(dev, &dw_cases[c], "whole", one);
        bool software = dev->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
        /* z = images x groups past the device's limit: the batch is chunked */
        uint32_t z = dev->info.max_group_count[2];
        dev->info.max_group_count[2] = 4;
        static const uint32_t z_chunks[3] = {5, 5, 1}; /* 3 groups */
        check_case(dev, &split_cases[1], "z <= 4", z_chunks);
        dev->info.max_group_count[2] = z;
        /* depthwise in a 3 x 3 grid of workgroups (256 invocations each):
         * images chunked forward and backward-data (3 of 5 at most), one
         * channel's 9 weights a chunk backward-weight */
        uint32_t gx = dev->info.max_group_count[0], gy = dev->info.max_group_count[1];
        dev->info.max_group_count[0] = dev->info.max_group_count[1] = 3;
        static const uint32_t grid_chunks[3] = {2, 2, 8}; /* 5 x 8 x 63 outputs: 10 workgroups */
        check_case(dev, &split_cases[2], "3x3 workgroups", grid_chunks);
        dev->info.max_group_count[0] = gx, dev->info.max_group_count[1] = gy;
        /* long reductions, in both software tilings (32x32/4x4, 64x64/8x8) */
        static const conv_case long_cases[] = {{64, 1, 28, 28, 8, 3, 1, 1, 1, 1}, {24, 32, 28, 28, 64, 3, 1, 1, 1, 1}};
        static const uint32_t pieces[2][3] = {{1, 1, 1}, {1, 1, 2}};
        for (size_t c = 0; c < 2; c++) check_case(dev, &long_cases[c], "long", pieces[software]);
        /* depthwise past lavapipe's loop bound: backward-weight sums 32 x
         * 384 x 384 = 4.7M pairs a weight (73,728 loop iterations for each
         * of 64 invocations); a 256x256 filter is 65,792 iterations of the
         * tap loops for each output (forward) */
        static const conv_case dw_long[] = {{32, 2, 384, 384, 2, 3, 1, 1, 1, 2}, {1, 2, 258, 258, 2, 256, 1, 0, 1, 2}};
        static const uint32_t dw_pieces[2][2][3] = {{{1, 1, 1}, {1, 1, 1}}, {{1, 1, 2}, {2, 2, 1}}};
        for (size_t c = 0; c < 2; c++) check_case(dev, &dw_long[c], "long", dw_pieces[software][c]);
        cvl_vk_device_free(dev);
    }
    cvl_vk_device_opts small = {.max_range = 1024, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev) {
        /* one image at a time; then 2 of 3 groups, 4 of 8 groups, 3 of 12 channels */
        static const uint32_t chunks[4][3] = {{5, 5, 5}, {10, 10, 10}, {10, 10, 10}, {12, 12, 12}};
        for (size_t c = 0; c < n_split; c++) check_case(dev, &split_cases[c], "1 KiB windows", chunks[c]);
        /* depthwise: an image (6 x 63 floats) in two chunks of 3 channels */
        static const uint32_t dw_chunks[3] = {10, 10, 10};
        for (size_t c = 0; c < n_dw; c++) check_case(dev, &dw_cases[c], "1 KiB windows", dw_chunks);
        static const conv_case big_image = {1, 2, 12, 12, 4, 3, 1, 1, 1, 1}; /* 288 floats an image */
        static const conv_case big_filter = {1, 32, 3, 3, 4, 3, 1, 1, 1, 1}; /* 288 floats a filter */
        for (int m = 0; m < 3; m++) check_refused(dev, &big_image, m, "one image");
        check_refused(dev, &big_filter, 0, "one filter");
        static const conv_case big_plane = {1, 2, 16, 16, 2, 3, 1, 1, 1, 2}; /* depthwise, 256 floats a plane */
        for (int m = 0; m < 3; m++) check_refused(dev, &big_plane, m, "one channel plane");
        cvl_vk_device_free(dev);
    }
    printf("# worst max |vk - cpu| / max |cpu|: %.3g\n", worst);
    cvl_pool_free(pool);
    return vk_test_finish();
}
