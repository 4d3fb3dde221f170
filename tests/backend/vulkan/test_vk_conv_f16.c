/* The 16-bit-storage convolution (shaders/conv2d_f16.comp,
 * cvl_vk_conv2d_f16): the two inputs stored as float16, fp32 accumulation,
 * fp32 output, in all three directions.
 *
 * Against the double-precision convolution of the fp32 inputs it may be
 * off by the rounding of the inputs to half: max |got - want| / max |want|
 * <= 2e-3. Against the double-precision convolution of the half-rounded
 * inputs it must agree to 1e-5 -- the products are accumulated in fp32, not
 * fp16 -- and to 1e-5 against conv2d.comp run on the half-rounded inputs
 * (same tiling, same fma order: in practice exactly; depthwise fp32 runs
 * the direct conv2d_dw*.comp, another order: 2.4e-7). Odd shapes, stride
 * 2, padding, dilation 2, groups, depthwise; then again in 1 KiB windows
 * (chunks of images, groups and output channels); and the one-line refusal
 * on a device without storageBuffer16BitAccess. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conv_ref.h"
#include "f16_test.h"
#include "vk_test.h"

static cvl_vk_device *dev;
static double worst_full, worst_acc, worst_32;

typedef struct conv_op {
    const cvl_vk_conv_geom *g;
    int mode;
} conv_op;

static cvl_status record_conv(cvl_vk_seq *seq, cvl_vk_buffer *out, cvl_vk_buffer *a, cvl_vk_buffer *b, bool f16,
                              const void *arg, cvl_err *e) {
    const conv_op *op = arg;
    return f16 ? cvl_vk_conv2d_f16(seq, cvl_vk_view_of(out), cvl_vk_view_f16_of(a), cvl_vk_view_f16_of(b), op->g,
                                   op->mode, e)
               : cvl_vk_conv2d(seq, cvl_vk_view_of(out), cvl_vk_view_of(a), cvl_vk_view_of(b), op->g, op->mode, e);
}

/* One convolution in direction `mode` into a fresh output of n_out floats;
 * a and b hold halves (f16) or floats. Returns the output downloaded, or
 * NULL (e says why); *dispatches: how many the op recorded. */
static float *run(const cvl_vk_conv_geom *g, int mode, bool f16, const void *a, size_t na, const void *b, size_t nb,
                  size_t n_out, uint32_t *dispatches, cvl_err *e) {
    conv_op op = {g, mode};
    return f16_test_run(dev, f16 ? "conv2d_f16" : "conv2d", record_conv, &op, f16, a, na, b, nb, NULL, n_out,
                        dispatches, e);
}

static void check(const conv_case *cc, const char *tag, uint32_t min_chunks) {
    static const char *const dir[] = {"forward", "backward-data", "backward-weight"};
    cvl_vk_conv_geom g = conv_ref_geom(cc);
    conv_ref_sizes sz = conv_ref_sizes_of(&g);
    size_t nx = sz.x, nw = sz.w, ny = sz.y;
    size_t n[3] = {nx, nw, ny};
    float *f[3], *fr[3];
    uint16_t *h[3];
    double *want[3], *want_r[3];
    for (int t = 0; t < 3; t++) { /* x, W, dy */
        f[t] = malloc(n[t] * 4), fr[t] = malloc(n[t] * 4), h[t] = malloc(n[t] * 2);
        vk_test_fill_random(f[t], n[t], g.N + 3 * g.C + 5 * g.K + 7 * g.groups + 11 * (uint32_t)t);
        f16_test_round(f[t], h[t], fr[t], n[t]);
    }
    size_t n_out[3] = {ny, nx, nw};
    for (int m = 0; m < 3; m++) {
        want[m] = malloc(n_out[m] * sizeof **want);
        want_r[m] = malloc(n_out[m] * sizeof **want_r);
    }
    conv_ref(want[0], want[1], want[2], f[0], f[1], f[2], &g);
    conv_ref(want_r[0], want_r[1], want_r[2], fr[0], fr[1], fr[2], &g);
    static const int in_a[3] = {1, 1, 2}, in_b[3] = {0, 2, 0}; /* (W, x), (W, dy), (dy, x) */
    for (int m = 0; m < 3; m++) {
        int ia = in_a[m], ib = in_b[m];
        cvl_err e = {0}, e32 = {0};
        uint32_t chunks = 0;
        float *got = run(&g, m, true, h[ia], n[ia], h[ib], n[ib], n_out[m], &chunks, &e);
        float *got32 = run(&g, m, false, fr[ia], n[ia], fr[ib], n[ib], n_out[m], NULL, &e32);
        double full = got ? f16_test_norm_err(got, want[m], n_out[m]) : INFINITY;
        double acc = got ? f16_test_norm_err(got, want_r[m], n_out[m]) : INFINITY;
        double vs32 = f16_test_vs_fp32(got, got32, n_out[m]);
        worst_full = fmax(worst_full, full), worst_acc = fmax(worst_acc, acc), worst_32 = fmax(worst_32, vs32);
        CHECK(got && full <= 2e-3 && acc <= 1e-5 && vs32 <= 1e-5 && chunks >= min_chunks,
              "%s f16 %s N%u C%u %ux%u K%u %ux%u stride %u pad %u dilation %u groups %u: vs fp32 inputs %.3g (<= 2e-3), "
              "vs half-rounded inputs %.3g (<= 1e-5), vs conv2d.comp on half-rounded inputs %.3g (<= 1e-5), "
              "%u dispatches (>= %u) (%s%s)",
              tag, dir[m], g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.sh, g.ph, g.dh, g.groups, full, acc, vs32, chunks,
              min_chunks, e.msg, e32.msg);
        free(got), free(got32);
    }
    for (int t = 0; t < 3; t++) free(f[t]), free(fr[t]), free(h[t]), free(want[t]), free(want_r[t]);
}

int main(void) {
    static const conv_case cases[] = {
        {2, 3, 9, 7, 5, 3, 1, 1, 1, 1},    {5, 3, 7, 9, 5, 3, 2, 1, 2, 1}, /* stride 2, pad 1, dilation 2 */
        {3, 6, 8, 8, 9, 3, 2, 1, 1, 3},    /* groups 3 */
        {2, 8, 7, 9, 8, 3, 1, 1, 1, 8},    /* depthwise */
        {2, 5, 7, 6, 3, 5, 2, 2, 1, 1},    {1, 6, 5, 5, 8, 1, 1, 0, 1, 1}, /* 5x5; 1x1 */
        {2, 16, 12, 11, 40, 3, 1, 1, 1, 1}, /* several tiles in every direction */
    };
    dev = vk_test_device(NULL);
    if (dev) {
        CHECK(dev->info.storage16, "%s has storageBuffer16BitAccess (enabled at device creation)", dev->info.name);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) check(&cases[c], "whole", 1);
        cvl_vk_device_free(dev);
    }
    /* 1 KiB windows: 252 floats of output, 504 halves of input */
    cvl_vk_device_opts small = {.max_range = 1024, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev) {
        check(&cases[1], "split", 2);
        check(&(conv_case){5, 16, 7, 9, 16, 3, 1, 1, 1, 16}, "split", 10);
        check(&(conv_case){3, 8, 5, 5, 24, 3, 1, 1, 1, 1}, "split", 6);
        cvl_vk_device_free(dev);
    }
    cvl_vk_device_opts no16 = {.no_storage16 = true, .no_disk_cache = true};
    dev = vk_test_device(&no16);
    if (dev) {
        cvl_vk_conv_geom g = conv_ref_geom(&cases[0]);
        uint16_t z[1024] = {0};
        cvl_err e = {0};
        float *got = run(&g, 0, true, z, 1024, z, 1024, 1024, NULL, &e);
        CHECK(got == NULL && strstr(e.msg, "conv2d_f16.comp") && strstr(e.msg, "storageBuffer16BitAccess") &&
                  strchr(e.msg, '\n') == NULL,
              "without 16-bit storage: refused in one line: %s", e.msg);
        free(got);
        cvl_vk_device_free(dev);
    }
    printf("# worst normalised error: %.3g vs the fp32 inputs, %.3g vs the half-rounded inputs, %.3g vs conv2d.comp\n",
           worst_full, worst_acc, worst_32);
    return vk_test_finish();
}
