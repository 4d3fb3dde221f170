/* Tensors larger than the device's real maxStorageBufferRange (128 MiB on
 * lavapipe): elementwise ops, a reduction and a matmul split into windows;
 * transfers larger than the staging buffer. */
#include "vk_test.h"

static void test_elementwise_and_reduce(cvl_vk_device *dev) {
    uint64_t n = dev->info.max_storage_range / 4 + 1000003; /* just past one window */
    float scalars[1] = {0.5f};
    cvl_vk_buffer s = vk_test_upload(dev, scalars, 1), x = vk_test_upload(dev, NULL, n), y = vk_test_upload(dev, NULL, n);
    uint64_t ns = cvl_vk_reduce_sum_scratch(1, n);
    cvl_vk_buffer scr = vk_test_upload(dev, NULL, ns), sum = vk_test_upload(dev, NULL, 1);
    CHECK(x.size > dev->info.max_storage_range, "tensor of %llu bytes > range %llu", (unsigned long long)x.size,
          (unsigned long long)dev->info.max_storage_range);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "large", &e);
    if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&x), cvl_vk_view_of(&s), 0, &e);
    if (st == CVL_OK) st = cvl_vk_add(seq, cvl_vk_view_of(&y), cvl_vk_view_of(&x), cvl_vk_view_of(&x), &e);
    if (st == CVL_OK) st = cvl_vk_relu(seq, cvl_vk_view_of(&x), cvl_vk_view_of(&y), &e);
    if (st == CVL_OK) st = cvl_vk_reduce_sum(seq, cvl_vk_view_of(&sum), cvl_vk_view_of(&x), (cvl_vk_view){&scr, 0, ns}, 1,
                                             (uint32_t)n, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    CHECK(st == CVL_OK, "fill, add, relu, reduce over %llu floats (%s)", (unsigned long long)n, e.msg);
    CHECK(cvl_vk_seq_get_stats(seq).dispatches >= 8, "split into windows (%u dispatches)", cvl_vk_seq_get_stats(seq).dispatches);
    float first = -1, last = -1, mid = -1, total = -1;
    cvl_vk_download(dev, &first, &x, 0, 4, &e);
    cvl_vk_download(dev, &mid, &x, (n / 2) * 4, 4, &e);
    cvl_vk_download(dev, &last, &x, (n - 1) * 4, 4, &e);
    cvl_vk_download(dev, &total, &sum, 0, 4, &e);
    CHECK(first == 1.0f && mid == 1.0f && last == 1.0f, "every window written (%g %g %g)", first, mid, last);
    CHECK_NEAR(total, (double)n, 1e-6, "sum over the whole tensor");
    cvl_vk_seq_free(seq);
    cvl_vk_buffer *all[] = {&s, &x, &y, &scr, &sum};
    for (int i = 0; i < 5; i++) cvl_vk_release(dev, all[i]);
}

static void test_matmul(cvl_vk_device *dev) {
    /* A (M, K) of 137 MiB; C = A B with B (K, 3) */
    const uint32_t M = 9000, K = 4000, N = 3;
    size_t na = (size_t)M * K;
    float *a = malloc(na * 4), b[3 * 4000];
    vk_test_fill_random(a, na, 3);
    vk_test_fill_random(b, (size_t)K * N, 4);
    cvl_vk_buffer da = vk_test_upload(dev, a, na), db = vk_test_upload(dev, b, (size_t)K * N);
    cvl_vk_buffer dc = vk_test_upload(dev, NULL, (size_t)M * N);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_vk_matmul_args g = {.M = M, .N = N, .K = K};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "large matmul", &e);
    if (st == CVL_OK) st = cvl_vk_matmul(seq, cvl_vk_view_of(&dc), cvl_vk_view_of(&da), cvl_vk_view_of(&db), &g, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    CHECK(st == CVL_OK && cvl_vk_seq_get_stats(seq).dispatches >= 2, "matmul %ux%ux%u with A over the range (%s)", M, N,
          K, e.msg);
    float *got = vk_test_download(dev, &dc, (size_t)M * N);
    double *want = malloc((size_t)M * N * sizeof *want);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) s += (double)a[i * K + k] * b[k * N + j];
            want[i * N + j] = s;
        }
    double err = vk_test_max_rel(got, want, (size_t)M * N);
    CHECK(err < 3e-4, "matches the CPU reference (max rel err %.3g)", err);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &da);
    cvl_vk_release(dev, &db);
    cvl_vk_release(dev, &dc);
    free(a), free(got), free(want);
}

/* Transfers larger than the 64 MiB staging buffer go through it in chunks. */
static void test_staging_chunks(void) {
    cvl_vk_device_opts o = {.force_staging = true, .no_disk_cache = true};
    cvl_vk_device *dev = vk_test_device(&o);
    if (dev == NULL) return;
    const size_t n = (70u << 20) / 4 + 7;
    float *x = malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 1000003);
    cvl_vk_buffer b = vk_test_upload(dev, x, n);
    float *back = vk_test_download(dev, &b, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += back[i] != x[i];
    CHECK(b.mapped == NULL && bad == 0, "70 MiB through the staging buffer and back (%zu wrong)", bad);
    float tail[3];
    cvl_err e = {0};
    CHECK(cvl_vk_download(dev, tail, &b, (n - 3) * 4, sizeof tail, &e) == CVL_OK && tail[2] == x[n - 1],
          "download at an offset");
    cvl_vk_release(dev, &b);
    free(x), free(back);
    cvl_vk_device_free(dev);
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev) {
        test_elementwise_and_reduce(dev);
        test_matmul(dev);
        cvl_vk_device_free(dev);
    }
    test_staging_chunks();
    return vk_test_finish();
}
