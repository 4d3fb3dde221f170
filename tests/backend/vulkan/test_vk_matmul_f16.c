/* The 16-bit-storage matmul (shaders/matmul_f16.comp, cvl_vk_matmul_f16):
 * A and B stored as float16, fp32 accumulation, fp32 C.
 *
 * Against the double-precision result of the fp32 inputs it may be off by
 * the rounding of the inputs to half: max |got - want| / max |want| <= 2e-3.
 * Against the fp32 tiled matmul (matmul.comp) of the half-rounded inputs it
 * must agree to 1e-5 (same tiling, same fma order: in practice exactly),
 * and to 1e-5 against the double-precision result of the half-rounded
 * inputs -- which shows the products are accumulated in fp32, not fp16.
 * Then again split into 64 KiB windows, the host half conversions, and the
 * one-line refusal on a device without storageBuffer16BitAccess. */
#include <math.h>
#include <string.h>

#include "vk_test.h"

static cvl_vk_device *dev;
static double worst_full, worst_acc;

static void ref_matmul(double *want, const float *a, const float *b, const float *c0, const cvl_vk_matmul_args *g) {
    uint32_t B = g->batch ? g->batch : 1;
    for (uint32_t z = 0; z < B; z++) {
        const float *az = a + (g->share_a ? 0 : (size_t)z * g->M * g->K);
        const float *bz = b + (g->share_b ? 0 : (size_t)z * g->K * g->N);
        for (uint32_t i = 0; i < g->M; i++)
            for (uint32_t j = 0; j < g->N; j++) {
                double s = g->accumulate ? c0[((size_t)z * g->M + i) * g->N + j] : 0;
                for (uint32_t k = 0; k < g->K; k++) {
                    double x = g->trans_a ? az[(size_t)k * g->M + i] : az[(size_t)i * g->K + k];
                    double y = g->trans_b ? bz[(size_t)j * g->K + k] : bz[(size_t)k * g->N + j];
                    s += x * y;
                }
                want[((size_t)z * g->M + i) * g->N + j] = s;
            }
    }
}

/* max |got - want| / max |want| */
static double norm_err(const float *got, const double *want, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        if (!(e <= d)) d = e; /* NaN counts as worst */
        if (fabs(want[i]) > m) m = fabs(want[i]);
    }
    return m > 0 ? d / m : d;
}

static cvl_vk_buffer upload_bytes(const void *host, size_t bytes) {
    cvl_vk_buffer b = {0};
    cvl_err e = {0};
    if (cvl_vk_alloc(&b, dev, bytes, "test", &e) != CVL_OK || cvl_vk_upload(dev, &b, 0, host, bytes, &e) != CVL_OK)
        printf("# upload: %s\n", e.msg);
    return b;
}

/* Runs one matmul into a fresh C holding c0; returns C downloaded. */
static float *run(const cvl_vk_matmul_args *g, bool f16, const void *a, size_t na, const void *b, size_t nb,
                  const float *c0, size_t nc, cvl_err *e) {
    size_t es = f16 ? 2 : 4;
    cvl_vk_buffer da = upload_bytes(a, na * es), db = upload_bytes(b, nb * es), dc = vk_test_upload(dev, c0, nc);
    cvl_vk_seq *seq = NULL;
    cvl_status st = cvl_vk_seq_new(&seq, dev, f16 ? "matmul_f16" : "matmul", e);
    if (st == CVL_OK)
        st = f16 ? cvl_vk_matmul_f16(seq, cvl_vk_view_of(&dc), cvl_vk_view_f16_of(&da), cvl_vk_view_f16_of(&db), g, e)
                 : cvl_vk_matmul(seq, cvl_vk_view_of(&dc), cvl_vk_view_of(&da), cvl_vk_view_of(&db), g, e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, e);
    float *got = st == CVL_OK ? vk_test_download(dev, &dc, nc) : NULL;
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &da);
    cvl_vk_release(dev, &db);
    cvl_vk_release(dev, &dc);
    return got;
}

static void check(cvl_vk_matmul_args g, const char *tag) {
    uint32_t B = g.batch ? g.batch : 1;
    size_t na = (size_t)(g.share_a ? 1 : B) * g.M * g.K, nb = (size_t)(g.share_b ? 1 : B) * g.K * g.N;
    size_t nc = (size_t)B * g.M * g.N;
    float *a = calloc(na, 4), *b = calloc(nb, 4), *ar = calloc(na, 4), *br = calloc(nb, 4), *c0 = calloc(nc, 4);
    uint16_t *ah = malloc(na * 2), *bh = malloc(nb * 2);
    double *want = malloc(nc * sizeof *want), *want_r = malloc(nc * sizeof *want_r);
    vk_test_fill_random(a, na, g.M + 7 * g.K);
    vk_test_fill_random(b, nb, g.N + 11 * g.K);
    vk_test_fill_random(c0, nc, 5);
    for (size_t i = 0; i < na; i++) ar[i] = cvl_vk_float_from_half(ah[i] = cvl_vk_half_from_float(a[i]));
    for (size_t i = 0; i < nb; i++) br[i] = cvl_vk_float_from_half(bh[i] = cvl_vk_half_from_float(b[i]));
    ref_matmul(want, a, b, c0, &g);
    ref_matmul(want_r, ar, br, c0, &g);
    cvl_err e = {0}, e32 = {0};
    float *got = run(&g, true, ah, na, bh, nb, c0, nc, &e);
    float *got32 = run(&g, false, ar, na, br, nb, c0, nc, &e32);
    double full = got ? norm_err(got, want, nc) : INFINITY, acc = got ? norm_err(got, want_r, nc) : INFINITY;
    double vs32 = INFINITY;
    if (got && got32) {
        double *w32 = malloc(nc * sizeof *w32);
        for (size_t i = 0; i < nc; i++) w32[i] = got32[i];
        vs32 = norm_err(got, w32, nc);
        free(w32);
    }
    if (full > worst_full) worst_full = full;
    if (acc > worst_acc) worst_acc = acc;
    CHECK(got && full <= 2e-3 && acc <= 1e-5 && vs32 <= 1e-5,
          "%s f16 %ux%ux%u%s%s batch %u%s%s: vs fp32 inputs %.3g (<= 2e-3), vs half-rounded inputs %.3g (<= 1e-5), "
          "vs fp32 tiled on half-rounded inputs %.3g (<= 1e-5) (%s%s)",
          tag, g.M, g.N, g.K, g.trans_a ? " A^T" : "", g.trans_b ? " B^T" : "", B, g.share_b ? " shared B" : "",
          g.accumulate ? " +=" : "", full, acc, vs32, e.msg, e32.msg);
    free(a), free(b), free(ar), free(br), free(c0), free(ah), free(bh), free(want), free(want_r), free(got),
        free(got32);
}

static void test_halves(void) {
    struct {
        float f;
        uint16_t h;
    } cases[] = {{1.0f, 0x3c00},           {-2.0f, 0xc000},           {65504.0f, 0x7bff},
                 {65519.0f, 0x7bff},       {65520.0f, 0x7c00},        {0x1p-24f, 0x0001},
                 {0x1p-25f, 0x0000},       {0x1.8p-25f, 0x0001},      {0x1p-14f, 0x0400},
                 {0x1.ff8p-15f, 0x03ff},   {1.0f + 0x1p-11f, 0x3c00}, {1.0f + 0x3p-11f, 0x3c02},
                 {0.1f, 0x2e66},           {INFINITY, 0x7c00},        {-0.0f, 0x8000}};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cvl_vk_half_from_float(cases[i].f) != cases[i].h) {
            printf("# half(%a) = 0x%04x, want 0x%04x\n", (double)cases[i].f, cvl_vk_half_from_float(cases[i].f),
                   cases[i].h);
            bad++;
        }
    CHECK(bad == 0, "float -> half rounds to nearest even (%d wrong)", bad);
    int trip = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = cvl_vk_float_from_half((uint16_t)h);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan ? !isnan(f) : cvl_vk_half_from_float(f) != h) trip++;
    }
    CHECK(trip == 0 && isnan(cvl_vk_float_from_half(cvl_vk_half_from_float(NAN))),
          "every half survives half -> float -> half (%d do not)", trip);
}

int main(void) {
    test_halves();
    dev = vk_test_device(NULL);
    if (dev) {
        CHECK(dev->info.storage16, "%s has storageBuffer16BitAccess (enabled at device creation)", dev->info.name);
        CHECK(cvl_vk_matmul_pick_variant_for(dev, true) == CVL_VK_MATMUL_VARIANT_TILED_F16 &&
                  cvl_vk_matmul_pick_variant(dev) == CVL_VK_MATMUL_VARIANT_TILED,
              "f16 operands pick TILED_F16, f32 operands TILED");
        check((cvl_vk_matmul_args){.M = 37, .N = 53, .K = 29}, "full");
        check((cvl_vk_matmul_args){.M = 64, .N = 64, .K = 64}, "full");
        check((cvl_vk_matmul_args){.M = 37, .N = 53, .K = 29, .trans_b = true}, "full");
        check((cvl_vk_matmul_args){.M = 64, .N = 64, .K = 64, .trans_b = true}, "full");
        check((cvl_vk_matmul_args){.M = 40, .N = 33, .K = 50, .trans_a = true, .accumulate = true}, "full");
        check((cvl_vk_matmul_args){.M = 150, .N = 131, .K = 300, .trans_a = true, .trans_b = true}, "full");
        check((cvl_vk_matmul_args){.M = 20, .N = 24, .K = 19, .batch = 3, .trans_b = true, .share_b = true}, "full");
        static const cvl_vk_matmul_tiles tiles[] = {{64, 64, 8, 4, 4}, {32, 32, 8, 2, 2}};
        for (size_t i = 0; i < 2; i++)
            check((cvl_vk_matmul_args){.M = 70, .N = 45, .K = 37, .trans_b = i & 1, .tiles = &tiles[i]}, "full");
        /* the wrong entry point for the variant */
        cvl_vk_matmul_args g = {.M = 4, .N = 4, .K = 4, .variant = CVL_VK_MATMUL_VARIANT_NAIVE};
        float z[16] = {0};
        cvl_err e = {0};
        float *got = run(&g, true, z, 16, z, 16, z, 16, &e);
        CHECK(got == NULL && strstr(e.msg, "TILED_F16"), "f16 operands with NAIVE refused: %s", e.msg);
        free(got);
        cvl_vk_device_free(dev);
    }
    cvl_vk_device_opts small = {.max_range = 64 << 10, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev) {
        check((cvl_vk_matmul_args){.M = 200, .N = 90, .K = 150}, "split");
        check((cvl_vk_matmul_args){.M = 60, .N = 200, .K = 150, .trans_a = true, .trans_b = true}, "split");
        check((cvl_vk_matmul_args){.M = 50, .N = 40, .K = 30, .batch = 20, .share_b = true}, "split");
        cvl_vk_device_free(dev);
    }
    cvl_vk_device_opts no16 = {.no_storage16 = true, .no_disk_cache = true};
    dev = vk_test_device(&no16);
    if (dev) {
        cvl_vk_matmul_args g = {.M = 4, .N = 4, .K = 4};
        float z[16] = {0};
        cvl_err e = {0};
        float *got = run(&g, true, z, 16, z, 16, z, 16, &e);
        CHECK(cvl_vk_matmul_pick_variant_for(dev, true) == CVL_VK_MATMUL_AUTO && got == NULL &&
                  strstr(e.msg, "matmul_f16.comp") && strchr(e.msg, '\n') == NULL,
              "without 16-bit storage: refused in one line: %s", e.msg);
        free(got);
        cvl_vk_device_free(dev);
    }
    printf("# worst normalised error: %.3g vs the fp32 inputs, %.3g vs the half-rounded inputs\n", worst_full,
           worst_acc);
    return vk_test_finish();
}
