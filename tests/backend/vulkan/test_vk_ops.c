/* The Vulkan ops (fill, add, relu, reduce_sum, matmul tiled and naive)
 * against double-precision CPU references on odd and round shapes, then
 * again on a device whose maxStorageBufferRange is capped at 64 KiB so
 * that every op must split its dispatches into windows. */
#include "matmul_ref.h"
#include "vk_test.h"

static cvl_vk_device *dev;

static void check_matmul(cvl_vk_matmul_args g, const char *tag) {
    matmul_ref_inputs in = matmul_ref_inputs_new(&g);
    double *want = malloc(in.nc * sizeof *want);
    matmul_ref(want, in.a, in.b, in.c0, &g);
    cvl_vk_buffer da = vk_test_upload(dev, in.a, in.na), db = vk_test_upload(dev, in.b, in.nb);
    cvl_vk_buffer dc = vk_test_upload(dev, in.c0, in.nc);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, tag, &e);
    if (st == CVL_OK) st = cvl_vk_matmul(seq, cvl_vk_view_of(&dc), cvl_vk_view_of(&da), cvl_vk_view_of(&db), &g, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    float *got = vk_test_download(dev, &dc, in.nc);
    double err = vk_test_max_rel(got, want, in.nc);
    char name[96];
    CHECK(st == CVL_OK && err < 1e-5 * (1 + g.K / 64.0), "%s %s %s: max rel err %.3g (%s)", tag,
          g.variant == CVL_VK_MATMUL_VARIANT_NAIVE ? "naive" : "tiled", matmul_ref_name(name, sizeof name, &g), err,
          e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &da);
    cvl_vk_release(dev, &db);
    cvl_vk_release(dev, &dc);
    matmul_ref_inputs_free(&in);
    free(want), free(got);
}

static void test_matmul(const char *tag) {
    static const uint32_t shapes[][3] = {{64, 64, 64}, {1, 1, 1}, {33, 17, 5}, {7, 130, 67}, {129, 65, 31}, {16, 300, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int v = 0; v < 2; v++) {
                cvl_vk_matmul_args g = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2],
                                        .trans_a = t & 1, .trans_b = t >> 1,
                                        .variant = v ? CVL_VK_MATMUL_VARIANT_NAIVE : CVL_VK_MATMUL_AUTO};
                check_matmul(g, tag);
            }
    /* linear layers: shared weights over a batch, accumulated gradients */
    check_matmul((cvl_vk_matmul_args){.M = 20, .N = 24, .K = 19, .batch = 3, .trans_b = true, .share_b = true}, tag);
    check_matmul((cvl_vk_matmul_args){.M = 9, .N = 70, .K = 13, .batch = 4}, tag);
    check_matmul((cvl_vk_matmul_args){.M = 40, .N = 33, .K = 50, .trans_a = true, .accumulate = true}, tag);
    /* every tile size the picker may choose, whatever this device picks */
    static const cvl_vk_matmul_tiles tiles[] = {{128, 128, 8, 8, 8}, {64, 64, 8, 4, 4}, {32, 32, 8, 2, 2},
                                                {64, 32, 16, 4, 2}, {64, 64, 8, 8, 8}, {32, 32, 8, 4, 4}};
    for (size_t i = 0; i < 6; i++)
        check_matmul((cvl_vk_matmul_args){.M = 150, .N = 131, .K = 37, .trans_a = i & 1, .tiles = &tiles[i]}, tag);
    /* long reductions: llvmpipe ends every loop of an invocation after
     * 65535 iterations in all, so a software device splits K (accumulating) */
    for (int t = 0; t < 4; t++)
        check_matmul((cvl_vk_matmul_args){.M = 3, .N = 5, .K = 150001, .trans_a = t & 1, .trans_b = t >> 1}, tag);
    check_matmul((cvl_vk_matmul_args){.M = 3, .N = 5, .K = 150001, .variant = CVL_VK_MATMUL_VARIANT_NAIVE}, tag);
    check_matmul((cvl_vk_matmul_args){.M = 9, .N = 7, .K = 70001, .tiles = &tiles[0], .accumulate = true}, tag);
}

static void test_elementwise(const char *tag) {
    static const size_t sizes[] = {1, 7, 256, 1000, 65537};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *a = malloc(n * 4), *b = malloc(n * 4), scalars[4] = {0, 2.5f, -3.25f, 0};
        double *sum = malloc(n * sizeof *sum), *relu = malloc(n * sizeof *relu), *fill = malloc(n * sizeof *fill);
        vk_test_fill_random(a, n, 1 + (uint32_t)n);
        vk_test_fill_random(b, n, 2 + (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            sum[i] = (double)a[i] + b[i];
            relu[i] = a[i] > 0 ? a[i] : 0;
            fill[i] = -3.25;
        }
        cvl_vk_buffer da = vk_test_upload(dev, a, n), db = vk_test_upload(dev, b, n), dsum = vk_test_upload(dev, NULL, n);
        cvl_vk_buffer drelu = vk_test_upload(dev, NULL, n), dfill = vk_test_upload(dev, NULL, n);
        cvl_vk_buffer ds = vk_test_upload(dev, scalars, 4);
        cvl_vk_seq *seq = NULL;
        cvl_err e = {0};
        cvl_status st = cvl_vk_seq_new(&seq, dev, tag, &e);
        if (st == CVL_OK) st = cvl_vk_add(seq, cvl_vk_view_of(&dsum), cvl_vk_view_of(&da), cvl_vk_view_of(&db), &e);
        if (st == CVL_OK) st = cvl_vk_relu(seq, cvl_vk_view_of(&drelu), cvl_vk_view_of(&da), &e);
        if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&dfill), cvl_vk_view_of(&ds), 2, &e);
        if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
        float *gs = vk_test_download(dev, &dsum, n), *gr = vk_test_download(dev, &drelu, n);
        float *gf = vk_test_download(dev, &dfill, n);
        CHECK(st == CVL_OK && vk_test_max_rel(gs, sum, n) < 1e-6, "%s add n=%zu (%s)", tag, n, e.msg);
        CHECK(st == CVL_OK && vk_test_max_rel(gr, relu, n) == 0, "%s relu n=%zu", tag, n);
        CHECK(st == CVL_OK && vk_test_max_rel(gf, fill, n) == 0, "%s fill n=%zu from scalar slot 2", tag, n);
        cvl_vk_seq_free(seq);
        cvl_vk_buffer *all[] = {&da, &db, &dsum, &drelu, &dfill, &ds};
        for (size_t i = 0; i < 6; i++) cvl_vk_release(dev, all[i]);
        free(a), free(b), free(sum), free(relu), free(fill), free(gs), free(gr), free(gf);
    }
}

static void check_reduce(uint32_t rows, uint32_t len, const char *tag) {
    size_t n = (size_t)rows * len;
    float *x = malloc(n * 4);
    double *want = calloc(rows, sizeof *want);
    vk_test_fill_random(x, n, rows * 31 + len);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < len; i++) want[r] += x[r * len + i];
    uint64_t ns = cvl_vk_reduce_sum_scratch(rows, len);
    cvl_vk_buffer dx = vk_test_upload(dev, x, n), dy = vk_test_upload(dev, NULL, rows);
    cvl_vk_buffer dscr = vk_test_upload(dev, NULL, ns ? ns : 1);
    cvl_vk_view scratch = {&dscr, 0, ns};
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, tag, &e);
    if (st == CVL_OK) st = cvl_vk_reduce_sum(seq, cvl_vk_view_of(&dy), cvl_vk_view_of(&dx), scratch, rows, len, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    float *got = vk_test_download(dev, &dy, rows);
    /* the sum of len values in [-1,1): absolute error grows like sqrt(len) */
    double worst = 0;
    for (size_t r = 0; r < rows; r++) worst = fmax(worst, fabs(got[r] - want[r]));
    CHECK(st == CVL_OK && worst < 1e-5 * sqrt((double)len) + 1e-6, "%s reduce_sum %ux%u (%s pass): max abs err %.3g (%s)",
          tag, rows, len, ns ? "multi" : "one", worst, e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &dx);
    cvl_vk_release(dev, &dy);
    cvl_vk_release(dev, &dscr);
    free(x), free(want), free(got);
}

static void test_reduce(const char *tag) {
    check_reduce(1, 1, tag);
    check_reduce(3, 7, tag);
    check_reduce(64, 256, tag);
    check_reduce(5, 1000, tag);
    check_reduce(2, 100003, tag); /* two passes */
}

int main(void) {
    dev = vk_test_device(NULL);
    if (dev) {
        test_elementwise("full");
        test_reduce("full");
        test_matmul("full");
        cvl_vk_device_free(dev);
    }
    /* every op again, split into 64 KiB windows */
    cvl_vk_device_opts small = {.max_range = 64 << 10, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev) {
        CHECK(dev->info.max_storage_range == 64 << 10, "max storage range capped to 64 KiB");
        test_elementwise("split");
        check_reduce(3, 40000, "split");
        check_reduce(2, 100003, "split");
        check_matmul((cvl_vk_matmul_args){.M = 200, .N = 90, .K = 150}, "split");
        check_matmul((cvl_vk_matmul_args){.M = 200, .N = 90, .K = 150, .trans_a = true}, "split");
        check_matmul((cvl_vk_matmul_args){.M = 60, .N = 200, .K = 150, .trans_b = true}, "split");
        check_matmul((cvl_vk_matmul_args){.M = 60, .N = 200, .K = 150, .trans_a = true, .trans_b = true}, "split");
        check_matmul((cvl_vk_matmul_args){.M = 50, .N = 40, .K = 30, .batch = 20, .share_b = true}, "split");
        check_matmul((cvl_vk_matmul_args){.M = 200, .N = 90, .K = 150, .variant = CVL_VK_MATMUL_VARIANT_NAIVE}, "split");
        cvl_vk_device_free(dev);
    }
    return vk_test_finish();
}
