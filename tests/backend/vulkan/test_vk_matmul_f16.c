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

#include "f16_test.h"
#include "matmul_ref.h"
#include "vk_test.h"

static cvl_vk_device *dev;
static double worst_full, worst_acc;

static cvl_status record_matmul(cvl_vk_seq *seq, cvl_vk_buffer *c, cvl_vk_buffer *a, cvl_vk_buffer *b, bool f16,
                                const void *arg, cvl_err *e) {
    const cvl_vk_matmul_args *g = arg;
    return f16 ? cvl_vk_matmul_f16(seq, cvl_vk_view_of(c), cvl_vk_view_f16_of(a), cvl_vk_view_f16_of(b), g, e)
               : cvl_vk_matmul(seq, cvl_vk_view_of(c), cvl_vk_view_of(a), cvl_vk_view_of(b), g, e);
}

/* Runs one matmul into a fresh C holding c0; returns C downloaded. */
static float *run(const cvl_vk_matmul_args *g, bool f16, const void *a, size_t na, const void *b, size_t nb,
                  const float *c0, size_t nc, cvl_err *e) {
    return f16_test_run(dev, f16 ? "matmul_f16" : "matmul", record_matmul, g, f16, a, na, b, nb, c0, nc, NULL, e);
}

static void check(cvl_vk_matmul_args g, const char *tag) {
    matmul_ref_inputs in = matmul_ref_inputs_new(&g);
    size_t na = in.na, nb = in.nb, nc = in.nc;
    float *ar = malloc(na * 4), *br = malloc(nb * 4);
    uint16_t *ah = malloc(na * 2), *bh = malloc(nb * 2);
    double *want = malloc(nc * sizeof *want), *want_r = malloc(nc * sizeof *want_r);
    f16_test_round(in.a, ah, ar, na);
    f16_test_round(in.b, bh, br, nb);
    matmul_ref(want, in.a, in.b, in.c0, &g);
    matmul_ref(want_r, ar, br, in.c0, &g);
    cvl_err e = {0}, e32 = {0};
    float *got = run(&g, true, ah, na, bh, nb, in.c0, nc, &e);
    float *got32 = run(&g, false, ar, na, br, nb, in.c0, nc, &e32);
    double full = got ? f16_test_norm_err(got, want, nc) : INFINITY;
    double acc = got ? f16_test_norm_err(got, want_r, nc) : INFINITY, vs32 = f16_test_vs_fp32(got, got32, nc);
    if (full > worst_full) worst_full = full;
    if (acc > worst_acc) worst_acc = acc;
    char name[96];
    CHECK(got && full <= 2e-3 && acc <= 1e-5 && vs32 <= 1e-5,
          "%s f16 %s: vs fp32 inputs %.3g (<= 2e-3), vs half-rounded inputs %.3g (<= 1e-5), "
          "vs fp32 tiled on half-rounded inputs %.3g (<= 1e-5) (%s%s)",
          tag, matmul_ref_name(name, sizeof name, &g), full, acc, vs32, e.msg, e32.msg);
    matmul_ref_inputs_free(&in);
    free(ar), free(br), free(ah), free(bh), free(want), free(want_r), free(got), free(got32);
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
