/* bench_vulkan_ops.c -- the per-op part of cvl-bench-vulkan: GFLOPS of the
 * implicit-GEMM convolution in its three directions (and of conv2d_f16.comp
 * on float16 inputs where the device has 16-bit storage), and memory
 * bandwidth (GB/s of tensor bytes read and written once) of elementwise,
 * broadcast, row-wise and optimizer shaders. Same timing rules as the matmul part:
 * `reps` dispatches recorded into one sequence, one warm-up replay, best
 * of five timed replays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/vulkan/ops.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef cvl_status (*record_fn)(cvl_vk_seq *seq, void *ctx, cvl_err *e);

/* Best seconds per repetition of `fn`, or -1 on an error (printed). */
static double time_op(cvl_vk_device *dev, record_fn fn, void *ctx, int reps) {
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "bench op", &e);
    for (int r = 0; r < reps && st == CVL_OK; r++) st = fn(seq, ctx, &e);
    if (st == CVL_OK) st = cvl_vk_seq_end(seq, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    double best = INFINITY;
    for (int i = 0; i < 5 && st == CVL_OK; i++) {
        double t0 = now_s();
        st = cvl_vk_seq_run(seq, &e);
        double t = (now_s() - t0) / reps;
        if (t < best) best = t;
    }
    if (st != CVL_OK) fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg);
    cvl_vk_seq_free(seq);
    return st == CVL_OK ? best : -1;
}

/* A device buffer of n random floats in [-0.5, 0.5) (positive: (0, 1]). */
static bool buffer(cvl_vk_device *dev, cvl_vk_buffer *b, size_t n, bool positive) {
    cvl_err e = {0};
    float *h = malloc(n * sizeof *h);
    if (h == NULL || cvl_vk_alloc(b, dev, n * 4, "bench", &e) != CVL_OK) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg[0] ? e.msg : "out of memory");
        free(h);
        return false;
    }
    for (size_t i = 0; i < n; i++) h[i] = (float)rand() / (float)RAND_MAX - (positive ? -0.01f : 0.5f);
    bool ok = cvl_vk_upload(dev, b, 0, h, n * 4, &e) == CVL_OK;
    free(h);
    return ok;
}

/* A device buffer of n random halves in [-0.5, 0.5). */
static bool half_buffer(cvl_vk_device *dev, cvl_vk_buffer *b, size_t n) {
    cvl_err e = {0};
    uint16_t *h = malloc(n * sizeof *h);
    if (h == NULL || cvl_vk_alloc(b, dev, n * 2, "bench", &e) != CVL_OK) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg[0] ? e.msg : "out of memory");
        free(h);
        return false;
    }
    for (size_t i = 0; i < n; i++) h[i] = cvl_vk_half_from_float((float)rand() / (float)RAND_MAX - 0.5f);
    bool ok = cvl_vk_upload(dev, b, 0, h, n * 2, &e) == CVL_OK;
    free(h);
    return ok;
}

/* ---- convolution */

typedef struct conv_ctx {
    cvl_vk_buffer *out, *a, *b;
    cvl_vk_conv_geom g;
    int mode;
    bool f16; /* a and b hold halves: conv2d_f16.comp */
} conv_ctx;

static cvl_status rec_conv(cvl_vk_seq *seq, void *ctx, cvl_err *e) {
    conv_ctx *c = ctx;
    if (c->f16)
        return cvl_vk_conv2d_f16(seq, cvl_vk_view_of(c->out), cvl_vk_view_f16_of(c->a), cvl_vk_view_f16_of(c->b),
                                 &c->g, c->mode, e);
    return cvl_vk_conv2d(seq, cvl_vk_view_of(c->out), cvl_vk_view_of(c->a), cvl_vk_view_of(c->b), &c->g, c->mode, e);
}

static int bench_conv(cvl_vk_device *dev, uint32_t N, uint32_t C, uint32_t H, uint32_t K, uint32_t R, uint32_t stride,
                      uint32_t groups, int reps) {
    uint32_t pad = R / 2, P = (H + 2 * pad - R) / stride + 1;
    cvl_vk_conv_geom g = {N, C, H, H, K, R, R, P, P, stride, stride, pad, pad, 1, 1, groups};
    size_t nx = (size_t)N * C * H * H, nw = (size_t)K * (C / groups) * R * R, ny = (size_t)N * K * P * P;
    cvl_vk_buffer x, w, y, dx, dw;
    if (!buffer(dev, &x, nx, false) || !buffer(dev, &w, nw, false) || !buffer(dev, &y, ny, false) ||
        !buffer(dev, &dx, nx, false) || !buffer(dev, &dw, nw, false))
        return 1;
    /* the same inputs' shapes as halves for conv2d_f16.comp (outputs fp32) */
    bool f16 = dev->info.storage16;
    cvl_vk_buffer xh, wh, yh;
    if (f16 && (!half_buffer(dev, &xh, nx) || !half_buffer(dev, &wh, nw) || !half_buffer(dev, &yh, ny))) return 1;
    double flop = 2.0 * N * K * P * P * (double)(C / groups) * R * R;
    conv_ctx cs[3] = {{&y, &w, &x, g, 0, false}, {&dx, &w, &y, g, 1, false}, {&dw, &y, &x, g, 2, false}};
    conv_ctx ch[3] = {{&y, &wh, &xh, g, 0, true}, {&dx, &wh, &yh, g, 1, true}, {&dw, &yh, &xh, g, 2, true}};
    double t[6] = {0};
    for (int m = 0; m < 3; m++) { /* fp32 and f16 back to back, so that the load hits both alike */
        t[m] = time_op(dev, rec_conv, &cs[m], reps);
        if (f16) t[3 + m] = time_op(dev, rec_conv, &ch[m], reps);
    }
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%ux%ux%u K%u %ux%u/%u g%u", N, C, H, H, K, R, R, stride, groups);
    printf("conv2d %-28s", shape);
    for (int i = 0; i < (f16 ? 6 : 3); i++) printf(" %8.2f", t[i] > 0 ? flop / t[i] * 1e-9 : -1);
    printf("\n");
    cvl_vk_buffer *all[8] = {&x, &w, &y, &dx, &dw, &xh, &wh, &yh};
    for (int i = 0; i < (f16 ? 8 : 5); i++) cvl_vk_release(dev, all[i]);
    int bad = 0;
    for (int i = 0; i < (f16 ? 6 : 3); i++) bad |= !(t[i] > 0);
    return bad;
}

/* ---- bandwidth */

typedef struct bw_ctx {
    int kind;
    cvl_vk_buffer *b[5], *scal;
    uint32_t rows, cols;
} bw_ctx;

enum { BW_GELU, BW_ADD_BCAST, BW_SOFTMAX, BW_LAYERNORM, BW_ADAM, BW_KINDS };

static cvl_status rec_bw(cvl_vk_seq *seq, void *ctx, cvl_err *e) {
    bw_ctx *c = ctx;
    cvl_vk_view v[5];
    for (int i = 0; i < 5; i++) v[i] = c->b[i] ? cvl_vk_view_of(c->b[i]) : (cvl_vk_view){0};
    switch (c->kind) {
    case BW_GELU: return cvl_vk_unary(seq, v[0], v[1], CVL_OP_GELU, e);
    case BW_ADD_BCAST: { /* (rows, cols) + (cols) */
        cvl_vk_strided s = {.nd = 2, .shape = {c->rows, c->cols}, .st = {{0}, {c->cols, 1}, {0, 1}}};
        return cvl_vk_binary(seq, v[0], v[1], v[2], &s, CVL_OP_ADD, e);
    }
    case BW_SOFTMAX: return cvl_vk_softmax(seq, v[0], v[1], c->rows, c->cols, 1, false, e);
    case BW_LAYERNORM: return cvl_vk_layernorm(seq, v[0], v[1], v[2], v[3], c->rows, c->cols, 1e-5f, e);
    default: {
        cvl_vk_view state[3] = {v[2], v[3], {0}};
        cvl_vk_optim o = {.scalars = cvl_vk_view_of(c->scal), .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8f};
        return cvl_vk_optim_step(seq, CVL_VK_OPTIM_ADAM, v[0], v[1], state, &o, e);
    }
    }
}

static int bench_bw(cvl_vk_device *dev, int kind, uint32_t rows, uint32_t cols, int reps) {
    static const char *const names[] = {"gelu", "add (R,C)+(C)", "softmax rows", "layernorm rows", "adam update"};
    /* buffers: full-size count, and bytes moved per element */
    static const int nbuf[] = {2, 2, 2, 2, 4};
    static const double bytes_per[] = {8, 12, 8, 8, 28};
    size_t n = (size_t)rows * cols;
    bw_ctx c = {.kind = kind, .rows = rows, .cols = cols};
    cvl_vk_buffer bufs[5], scal;
    for (int i = 0; i < nbuf[kind]; i++) {
        if (!buffer(dev, &bufs[i], n, kind == BW_ADAM && i == 3)) return 1;
        c.b[i] = &bufs[i];
    }
    int extra = 0;
    if (kind == BW_ADD_BCAST || kind == BW_LAYERNORM) { /* the broadcast row; gamma and beta */
        for (int i = 0; i < (kind == BW_LAYERNORM ? 2 : 1); i++, extra++) {
            if (!buffer(dev, &bufs[2 + i], cols, false)) return 1;
            c.b[2 + i] = &bufs[2 + i];
        }
    }
    float s[16] = {1e-3f, 10.0f, 1.0f, 1.0f};
    cvl_err e = {0};
    if (!buffer(dev, &scal, 16, false) || cvl_vk_upload(dev, &scal, 0, s, sizeof s, &e)) return 1;
    c.scal = &scal;
    double t = time_op(dev, rec_bw, &c, reps);
    char shape[48];
    snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    if (t > 0) printf("%-16s %-14s %8.2f GB/s  %8.3f ms\n", names[kind], shape, bytes_per[kind] * (double)n / t * 1e-9, t * 1e3);
    for (int i = 0; i < nbuf[kind] + extra; i++) cvl_vk_release(dev, &bufs[i]);
    cvl_vk_release(dev, &scal);
    return t > 0 ? 0 : 1;
}

int cvl_bench_vulkan_ops(cvl_vk_device *dev, int reps);
int cvl_bench_vulkan_ops(cvl_vk_device *dev, int reps) {
    int rc = 0;
    printf("\n%-35s %8s %8s %8s", "convolution (GFLOPS)", "fwd", "bwd-data", "bwd-wt");
    if (dev->info.storage16) printf(" %8s %8s %8s", "f16 fwd", "f16 data", "f16 wt");
    printf("\n");
    rc |= bench_conv(dev, 8, 32, 28, 64, 3, 1, 1, reps);  /* the cnn's second layer, batch 8 */
    rc |= bench_conv(dev, 8, 64, 16, 64, 3, 1, 1, reps);  /* a resnet18s stage-2 block */
    rc |= bench_conv(dev, 8, 64, 16, 128, 1, 2, 1, reps); /* a 1x1 stride-2 shortcut */
    rc |= bench_conv(dev, 8, 64, 16, 64, 3, 1, 64, reps); /* depthwise */
    printf("\n%-16s %-14s %13s  %11s\n", "bandwidth", "shape", "(bytes moved)", "per op");
    rc |= bench_bw(dev, BW_GELU, 1024, 4096, reps);
    rc |= bench_bw(dev, BW_ADD_BCAST, 1024, 4096, reps);
    rc |= bench_bw(dev, BW_SOFTMAX, 4096, 1000, reps);
    rc |= bench_bw(dev, BW_LAYERNORM, 4096, 768, reps);
    rc |= bench_bw(dev, BW_ADAM, 1024, 4096, reps);
    return rc;
}
