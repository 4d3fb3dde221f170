/* cvl-bench-vulkan: GFLOPS of the register-tiled matmul shader against the
 * one-element-per-invocation baseline, on the device --device selects; then
 * per-op figures (bench_vulkan_ops.c): convolution GFLOPS in all three
 * directions and the bandwidth of elementwise, row-wise and optimizer ops.
 *
 *   cvl-bench-vulkan [--device vulkan|vulkan:N|vulkan:NAME] [--reps N] [--shapes N] [--all-tiles]
 *                    [--only matmul|ops]
 *
 * --shapes N runs the first N matmul shapes only; --all-tiles also times other tilings.
 *
 * Each measurement records `reps` matmuls into one command sequence (the
 * way a training step runs), replays it once to warm up, then takes the
 * best of five timed replays, the shaders taking turns so that load from
 * other processes hits them alike. Inputs are random; the two shaders' outputs
 * are compared so a fast wrong answer cannot pass. Where the device has
 * 16-bit storage the float16-storage variant (matmul_f16.comp, fp32
 * accumulation) is timed too on the same inputs rounded to half; its
 * column `f16 err` is max |f16 - tiled| / max |tiled| (input rounding). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/vulkan/ops.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A sequence of `reps` matmuls, run once to warm up (pipelines, caches). */
static cvl_vk_seq *record(cvl_vk_device *dev, cvl_vk_buffer *c, cvl_vk_buffer *a, cvl_vk_buffer *b,
                          const cvl_vk_matmul_args *g, int reps, bool f16) {
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "bench", &e);
    for (int r = 0; r < reps && st == CVL_OK; r++)
        st = f16 ? cvl_vk_matmul_f16(seq, cvl_vk_view_of(c), cvl_vk_view_f16_of(a), cvl_vk_view_f16_of(b), g, &e)
                 : cvl_vk_matmul(seq, cvl_vk_view_of(c), cvl_vk_view_of(a), cvl_vk_view_of(b), g, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg);
        cvl_vk_seq_free(seq);
        return NULL;
    }
    return seq;
}

/* Best seconds per matmul of each sequence over ROUNDS rounds; the
 * sequences take turns, so load from other processes hits both alike. */
#define ROUNDS 5
static void time_seqs(double *best, cvl_vk_seq **seqs, int n, int reps) {
    for (int i = 0; i < n; i++) best[i] = seqs[i] ? INFINITY : -1;
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < n; i++) {
            if (seqs[i] == NULL) continue;
            cvl_err e = {0};
            double t0 = now();
            if (cvl_vk_seq_run(seqs[i], &e) != CVL_OK) {
                fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg);
                best[i] = -1;
                cvl_vk_seq_free(seqs[i]);
                seqs[i] = NULL;
                continue;
            }
            double t = (now() - t0) / reps;
            if (t < best[i]) best[i] = t;
        }
}

static float *random_floats(size_t n, unsigned seed) {
    float *x = malloc(n * sizeof *x);
    srand(seed);
    for (size_t i = 0; x && i < n; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return x;
}

static int bench_shape(cvl_vk_device *dev, uint32_t M, uint32_t N, uint32_t K, bool tb, int reps, bool all_tiles) {
    cvl_err e = {0};
    cvl_vk_buffer a, b, c;
    float *ha = random_floats((size_t)M * K, 1), *hb = random_floats((size_t)K * N, 2);
    size_t nc = (size_t)M * N;
    float *c_naive = malloc(nc * 4), *c_tiled = malloc(nc * 4), *c_f16 = malloc(nc * 4);
    bool f16 = cvl_vk_matmul_pick_variant_for(dev, true) == CVL_VK_MATMUL_VARIANT_TILED_F16;
    cvl_vk_buffer a16 = {0}, b16 = {0};
    if (f16) {
        uint16_t *h = malloc((size_t)(M > N ? M : N) * K * 2);
        for (size_t i = 0; i < (size_t)M * K; i++) h[i] = cvl_vk_half_from_float(ha[i]);
        if (cvl_vk_alloc(&a16, dev, (uint64_t)M * K * 2, "A f16", &e) ||
            cvl_vk_upload(dev, &a16, 0, h, (uint64_t)M * K * 2, &e))
            f16 = false;
        for (size_t i = 0; f16 && i < (size_t)K * N; i++) h[i] = cvl_vk_half_from_float(hb[i]);
        if (f16 && (cvl_vk_alloc(&b16, dev, (uint64_t)K * N * 2, "B f16", &e) ||
                    cvl_vk_upload(dev, &b16, 0, h, (uint64_t)K * N * 2, &e)))
            f16 = false;
        free(h);
        if (!f16) fprintf(stderr, "cvl-bench-vulkan: f16 operands: %s\n", e.msg);
    }
    if (cvl_vk_alloc(&a, dev, (uint64_t)M * K * 4, "A", &e) || cvl_vk_alloc(&b, dev, (uint64_t)K * N * 4, "B", &e) ||
        cvl_vk_alloc(&c, dev, nc * 4, "C", &e) || cvl_vk_upload(dev, &a, 0, ha, a.size, &e) ||
        cvl_vk_upload(dev, &b, 0, hb, b.size, &e)) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg);
        return 1;
    }
    double flop = 2.0 * M * N * K;
    static const cvl_vk_matmul_tiles other[] = {{128, 128, 8, 8, 8}, {64, 64, 8, 4, 4}, {64, 64, 8, 8, 8},
                                                {128, 64, 8, 8, 8}, {32, 32, 8, 4, 4}, {64, 64, 16, 4, 4}};
    enum { N_OTHER = sizeof other / sizeof other[0] };
    cvl_vk_seq *seqs[3 + N_OTHER] = {0};
    double best[3 + N_OTHER];
    cvl_vk_matmul_args g = {.M = M, .N = N, .K = K, .trans_b = tb, .variant = CVL_VK_MATMUL_VARIANT_NAIVE};
    seqs[0] = record(dev, &c, &a, &b, &g, reps, false);
    cvl_vk_download(dev, c_naive, &c, 0, nc * 4, &e);
    g.variant = CVL_VK_MATMUL_AUTO;
    seqs[1] = record(dev, &c, &a, &b, &g, reps, false);
    cvl_vk_download(dev, c_tiled, &c, 0, nc * 4, &e);
    if (f16) {
        seqs[2] = record(dev, &c, &a16, &b16, &g, reps, true);
        cvl_vk_download(dev, c_f16, &c, 0, nc * 4, &e);
    }
    int n_seqs = 3;
    for (size_t i = 0; all_tiles && i < N_OTHER; i++) {
        g.tiles = &other[i];
        seqs[n_seqs++] = record(dev, &c, &a, &b, &g, reps, false);
    }
    time_seqs(best, seqs, n_seqs, reps);
    double diff = 0, d16 = 0, cmax = 0;
    for (size_t i = 0; i < nc; i++) diff = fmax(diff, fabs(c_naive[i] - c_tiled[i]));
    for (size_t i = 0; f16 && i < nc; i++) d16 = fmax(d16, fabs(c_f16[i] - c_tiled[i])), cmax = fmax(cmax, fabs(c_tiled[i]));
    char f16_gf[32] = "-", f16_err[32] = "-";
    if (seqs[2] && best[2] > 0) {
        snprintf(f16_gf, sizeof f16_gf, "%.2f", flop / best[2] * 1e-9);
        snprintf(f16_err, sizeof f16_err, "%.1e", cmax > 0 ? d16 / cmax : d16);
    }
    cvl_vk_matmul_tiles t = cvl_vk_matmul_pick_tiles(dev, M, N);
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%ux%u%s", M, N, K, tb ? " B^T" : "");
    double tn = best[0], tt = best[1];
    if (tn > 0 && tt > 0)
        printf("%-18s %10.2f %10.2f %8.2fx   %ux%ux%u/%ux%u   %.1e   %8s  %8s\n", shape, flop / tn * 1e-9,
               flop / tt * 1e-9, tn / tt, t.bm, t.bn, t.bk, t.tm, t.tn, diff, f16_gf, f16_err);
    for (int i = 3; i < n_seqs; i++)
        if (best[i] > 0)
            printf("%-18s %10s %10.2f %8.2fx   %ux%ux%u/%ux%u\n", "", "", flop / best[i] * 1e-9, tn / best[i],
                   other[i - 3].bm, other[i - 3].bn, other[i - 3].bk, other[i - 3].tm, other[i - 3].tn);
    for (int i = 0; i < n_seqs; i++) cvl_vk_seq_free(seqs[i]);
    cvl_vk_release(dev, &a);
    cvl_vk_release(dev, &b);
    cvl_vk_release(dev, &c);
    if (a16.size) cvl_vk_release(dev, &a16);
    if (b16.size) cvl_vk_release(dev, &b16);
    free(ha), free(hb), free(c_naive), free(c_tiled), free(c_f16);
    return tn > 0 && tt > 0 ? 0 : 1;
}

int cvl_bench_vulkan_ops(cvl_vk_device *dev, int reps);

int main(int argc, char **argv) {
    const char *spec = "vulkan", *only = NULL;
    int reps = 4;
    bool all_tiles = false;
    size_t n_shapes = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) spec = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--all-tiles") == 0) all_tiles = true;
        else if (strcmp(argv[i], "--shapes") == 0 && i + 1 < argc) n_shapes = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: cvl-bench-vulkan [--device SPEC] [--reps N] [--shapes N] [--all-tiles] [--only matmul|ops]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    cvl_err e = {0};
    cvl_vk_instance *inst = NULL;
    cvl_vk_instance_new(&inst, NULL, &e);
    cvl_device_choice ch;
    if (cvl_device_select(&ch, spec, inst, e.msg, &e) != CVL_OK || ch.kind != CVL_DEVICE_VULKAN) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg[0] ? e.msg : "no Vulkan device selected");
        cvl_vk_instance_free(inst);
        return 1;
    }
    cvl_vk_device *dev = NULL;
    if (cvl_vk_device_new(&dev, inst, ch.index, NULL, &e) != CVL_OK) {
        fprintf(stderr, "cvl-bench-vulkan: %s\n", e.msg);
        cvl_vk_instance_free(inst);
        return 1;
    }
    printf("device: %s (%s), %d matmuls per replay, best of %d\n", dev->info.name, dev->info.driver_info, reps, ROUNDS);
    static const uint32_t shapes[][4] = {{256, 256, 256, 0}, {512, 512, 512, 0}, {1024, 1024, 256, 0},
                                         {128, 1024, 784, 1}, {1000, 64, 300, 1}};
    int rc = 0;
    if (only == NULL || strcmp(only, "matmul") == 0) {
        printf("%-18s %10s %10s %9s   %-14s  %s  %8s  %8s\n", "shape MxNxK", "naive GF/s", "tiled GF/s", "speedup",
               "tiles", "max|diff|", "f16 GF/s", "f16 err");
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && i < n_shapes; i++)
            rc |= bench_shape(dev, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], reps, all_tiles);
    }
    if (only == NULL || strcmp(only, "ops") == 0) rc |= cvl_bench_vulkan_ops(dev, reps);
    cvl_vk_device_free(dev);
    cvl_vk_instance_free(inst);
    return rc;
}
