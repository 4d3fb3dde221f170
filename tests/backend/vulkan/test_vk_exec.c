/* Execution and memory: barriers only between dependent dispatches, replay
 * with new per-step scalars, the staging path, the sub-allocator, clean
 * errors (over-sized allocation, shared memory, fence timeout), the pipeline
 * cache on disk, and that the validation messenger really counts. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_test.h"

static void test_barriers_and_replay(cvl_vk_device *dev) {
    const size_t n = 1000;
    float scalars[2] = {1.5f, -2.0f};
    cvl_vk_buffer s = vk_test_upload(dev, scalars, 2), x = vk_test_upload(dev, NULL, n), y = vk_test_upload(dev, NULL, n);
    cvl_vk_buffer z = vk_test_upload(dev, NULL, n), r = vk_test_upload(dev, NULL, n);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "step", &e);
    /* x = s0; y = s1 (independent) | z = x + y | r = relu(z) | x = relu(y) (WAR on x) */
    if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&x), cvl_vk_view_of(&s), 0, &e);
    if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&y), cvl_vk_view_of(&s), 1, &e);
    cvl_vk_seq_stats after_fills = cvl_vk_seq_get_stats(seq);
    if (st == CVL_OK) st = cvl_vk_add(seq, cvl_vk_view_of(&z), cvl_vk_view_of(&x), cvl_vk_view_of(&y), &e);
    if (st == CVL_OK) st = cvl_vk_relu(seq, cvl_vk_view_of(&r), cvl_vk_view_of(&z), &e);
    if (st == CVL_OK) st = cvl_vk_relu(seq, (cvl_vk_view){&x, 0, n / 2}, (cvl_vk_view){&y, 0, n / 2}, &e);
    cvl_vk_seq_stats stats = cvl_vk_seq_get_stats(seq);
    CHECK(st == CVL_OK, "recorded (%s)", e.msg);
    CHECK(after_fills.barriers == 0, "no barrier between independent fills");
    /* add after fills: 1; relu(z) after add: 1; relu into x reads y (no write since) but
     * overwrites x, which add read before the last barrier -> already ordered: 0 */
    CHECK(stats.dispatches == 5 && stats.barriers == 2, "5 dispatches, 2 barriers (got %u, %u)", stats.dispatches,
          stats.barriers);
    for (int step = 0; step < 3 && st == CVL_OK; step++) {
        scalars[0] = 1.5f + (float)step;
        scalars[1] = -2.0f + 3.0f * (float)step;
        st = cvl_vk_upload(dev, &s, 0, scalars, sizeof scalars, &e);
        if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
        float *gx = vk_test_download(dev, &x, n), *gr = vk_test_download(dev, &r, n);
        double sum = (double)scalars[0] + scalars[1], want_r = sum > 0 ? sum : 0;
        double want_x_lo = scalars[1] > 0 ? scalars[1] : 0;
        CHECK(st == CVL_OK && gr[0] == (float)want_r && gr[n - 1] == (float)want_r, "replay %d: relu(s0+s1) = %g (got %g)",
              step, want_r, gr[n - 1]);
        CHECK(gx[0] == (float)want_x_lo && gx[n - 1] == scalars[0], "replay %d: x = relu(y) | s0", step);
        free(gx), free(gr);
    }
    cvl_vk_seq_free(seq);
    cvl_vk_buffer *all[] = {&s, &x, &y, &z, &r};
    for (int i = 0; i < 5; i++) cvl_vk_release(dev, all[i]);
}

/* A step of hundreds of dependent dispatches (more descriptor sets than
 * one pool holds): x_{i+1} = x_i + ones, so x_300 = 300. */
static void test_long_sequence(cvl_vk_device *dev) {
    const size_t n = 33;
    const int steps = 300;
    float one = 1.0f;
    cvl_vk_buffer s = vk_test_upload(dev, &one, 1), ones = vk_test_upload(dev, NULL, n);
    cvl_vk_buffer x[2] = {vk_test_upload(dev, NULL, n), vk_test_upload(dev, NULL, n)};
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "long", &e);
    if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&ones), cvl_vk_view_of(&s), 0, &e);
    if (st == CVL_OK) st = cvl_vk_fill(seq, cvl_vk_view_of(&x[0]), cvl_vk_view_of(&s), 0, &e);
    for (int i = 1; i < steps && st == CVL_OK; i++)
        st = cvl_vk_add(seq, cvl_vk_view_of(&x[i % 2]), cvl_vk_view_of(&x[(i + 1) % 2]), cvl_vk_view_of(&ones), &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    float *got = vk_test_download(dev, &x[(steps - 1) % 2], n);
    CHECK(st == CVL_OK && got[0] == (float)steps && got[n - 1] == (float)steps, "%d chained dispatches: %g (%s)",
          steps + 1, got[0], e.msg);
    CHECK(cvl_vk_seq_get_stats(seq).barriers == (uint32_t)steps - 1, "one barrier per dependent add (%u)",
          cvl_vk_seq_get_stats(seq).barriers);
    free(got);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &s);
    cvl_vk_release(dev, &ones);
    cvl_vk_release(dev, &x[0]);
    cvl_vk_release(dev, &x[1]);
}

static void test_allocator(cvl_vk_device *dev) {
    cvl_err e = {0};
    cvl_vk_buffer a, b, c, d;
    cvl_vk_memory_stats s0 = cvl_vk_memory_get_stats(dev);
    CHECK(cvl_vk_alloc(&a, dev, 1000, "a", &e) == CVL_OK, "alloc a");
    CHECK(cvl_vk_alloc(&b, dev, 3, "b", &e) == CVL_OK, "alloc b");
    bool host_visible = dev->mem_props.memoryTypes[0].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    CHECK(cvl_vk_memory_get_stats(dev).mapped == host_visible && (a.mapped != NULL) == host_visible,
          "device memory mapped directly where it is host-visible (%d)", host_visible);
    CHECK(a.buffer == b.buffer && b.offset > a.offset && b.offset % dev->info.storage_align == 0,
          "sub-allocated from one block, aligned (%llu)", (unsigned long long)b.offset);
    cvl_vk_memory_stats s1 = cvl_vk_memory_get_stats(dev);
    CHECK(s1.n_blocks == (s0.n_blocks ? s0.n_blocks : 1), "one block serves both");
    uint64_t a_off = a.offset;
    cvl_vk_release(dev, &a);
    CHECK(cvl_vk_alloc(&c, dev, 500, "c", &e) == CVL_OK && c.offset == a_off, "freed range reused first-fit");
    cvl_vk_release(dev, &c);
    cvl_vk_release(dev, &b);
    CHECK(cvl_vk_memory_get_stats(dev).used == s0.used, "all returned");
    CHECK(cvl_vk_alloc(&d, dev, 2000, "d", &e) == CVL_OK && d.offset == a_off, "free ranges coalesced");
    cvl_vk_release(dev, &d);
    /* bigger than a block: a block of its own, gone when released */
    cvl_vk_buffer big;
    CHECK(cvl_vk_alloc(&big, dev, (300ull << 20), "big", &e) == CVL_OK, "300 MiB tensor (%s)", e.msg);
    CHECK(cvl_vk_memory_get_stats(dev).n_blocks == s1.n_blocks + 1, "dedicated block");
    cvl_vk_release(dev, &big);
    CHECK(cvl_vk_memory_get_stats(dev).n_blocks == s1.n_blocks, "dedicated block freed");
    /* over-sized: a clean error naming the tensor and both sizes */
    cvl_err_clear(&e);
    cvl_vk_buffer huge;
    CHECK(cvl_vk_alloc(&huge, dev, 1ull << 40, "fc1.weight", &e) == CVL_ERR_NOMEM, "1 TiB refused");
    CHECK_STR_CONTAINS(e.msg, "tensor fc1.weight: 1099511627776 bytes exceed the largest allocation", "error: %s", e.msg);
    CHECK(huge.buffer == VK_NULL_HANDLE && cvl_vk_device_usable(dev, NULL) == CVL_OK, "device still usable");
    cvl_err_clear(&e);
    cvl_vk_buffer t;
    CHECK(cvl_vk_alloc(&t, dev, 64, "t", &e) == CVL_OK, "allocations still work after");
    float v[16] = {0};
    CHECK(cvl_vk_upload(dev, &t, 8, v, 64, &e) == CVL_ERR_INVALID, "overrunning upload refused");
    CHECK_STR_CONTAINS(e.msg, "copy of 64 bytes at 8 overruns a 64-byte tensor", "error: %s", e.msg);
    cvl_vk_release(dev, &t);
}

static void test_staging(void) {
    cvl_vk_device_opts o = {.force_staging = true, .no_disk_cache = true};
    cvl_vk_device *dev = vk_test_device(&o);
    if (dev == NULL) return;
    CHECK(!cvl_vk_memory_get_stats(dev).mapped, "staging device does not map");
    const size_t n = 5000;
    float *a = malloc(n * 4);
    double *want = malloc(n * sizeof *want);
    vk_test_fill_random(a, n, 9);
    for (size_t i = 0; i < n; i++) want[i] = 2.0 * a[i];
    cvl_vk_buffer da = vk_test_upload(dev, a, n), dy = vk_test_upload(dev, NULL, n);
    CHECK(da.mapped == NULL, "buffer has no host view");
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "staging", &e);
    if (st == CVL_OK) st = cvl_vk_add(seq, cvl_vk_view_of(&dy), cvl_vk_view_of(&da), cvl_vk_view_of(&da), &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    float *got = vk_test_download(dev, &dy, n);
    CHECK(st == CVL_OK && vk_test_max_rel(got, want, n) == 0, "upload, add, download through staging (%s)", e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &da);
    cvl_vk_release(dev, &dy);
    free(a), free(want), free(got);
    cvl_vk_device_free(dev);
}

static void test_errors(cvl_vk_device *dev) {
    cvl_err e = {0};
    /* a tiling that needs more shared memory than the device has */
    cvl_vk_matmul_tiles t = {256, 256, 64, 16, 16}; /* 128 KiB */
    cvl_vk_matmul_args g = {.M = 300, .N = 300, .K = 64, .tiles = &t};
    cvl_vk_buffer a = vk_test_upload(dev, NULL, 300 * 300);
    cvl_vk_seq *seq = NULL;
    CHECK(cvl_vk_seq_new(&seq, dev, "errors", &e) == CVL_OK, "sequence");
    cvl_status st = cvl_vk_matmul(seq, cvl_vk_view_of(&a), cvl_vk_view_of(&a), cvl_vk_view_of(&a), &g, &e);
    CHECK(st == CVL_ERR_UNSUPPORTED, "oversized tiling refused");
    CHECK_STR_CONTAINS(e.msg, "matmul 300x300x64 batch 1: shader matmul [256 1 1 256 256 64 16 16 0 0] needs 131072 "
                              "bytes of shared memory", "error names op, sizes, tiles: %s", e.msg);
    cvl_err_clear(&e);
    g.variant = CVL_VK_MATMUL_VARIANT_COOPMAT;
    g.tiles = NULL;
    CHECK(cvl_vk_matmul(seq, cvl_vk_view_of(&a), cvl_vk_view_of(&a), cvl_vk_view_of(&a), &g, &e) == CVL_ERR_UNSUPPORTED,
          "cooperative-matrix variant refused cleanly");
    CHECK_STR_CONTAINS(e.msg, "no cooperative-matrix shader", "error: %s", e.msg);
    cvl_err_clear(&e);
    g = (cvl_vk_matmul_args){.M = 300, .N = 301, .K = 300};
    CHECK(cvl_vk_matmul(seq, cvl_vk_view_of(&a), cvl_vk_view_of(&a), cvl_vk_view_of(&a), &g, &e) == CVL_ERR_INVALID,
          "a view too small for the shape is refused");
    CHECK_STR_CONTAINS(e.msg, "matmul 300x301x300 batch 1: a tensor of 90000 floats", "error: %s", e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &a);
}

/* A fence timeout fails with the sequence and its ops, and the device then
 * refuses work instead of hanging. */
static void test_timeout(void) {
    cvl_vk_device_opts o = {.fence_timeout_s = 1e-6, .no_disk_cache = true};
    cvl_vk_device *dev = vk_test_device(&o);
    if (dev == NULL) return;
    const uint32_t n = 384;
    cvl_vk_buffer a = vk_test_upload(dev, NULL, n * n), c = vk_test_upload(dev, NULL, n * n);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_vk_matmul_args g = {.M = n, .N = n, .K = n, .variant = CVL_VK_MATMUL_VARIANT_NAIVE};
    cvl_status st = cvl_vk_seq_new(&seq, dev, "slow step", &e);
    for (int i = 0; i < 4 && st == CVL_OK; i++)
        st = cvl_vk_matmul(seq, cvl_vk_view_of(&c), cvl_vk_view_of(&a), cvl_vk_view_of(&a), &g, &e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, &e);
    CHECK(st == CVL_ERR_INTERNAL, "timed out (status %d)", st);
    CHECK_STR_CONTAINS(e.msg, "slow step timed out after 1e-06 s (matmul 384x384x384 batch 1", "error: %s", e.msg);
    cvl_err_clear(&e);
    CHECK(cvl_vk_seq_run(seq, &e) == CVL_ERR_INTERNAL, "the device refuses more work");
    CHECK_STR_CONTAINS(e.msg, "is unusable: slow step timed out", "error: %s", e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &a);
    cvl_vk_release(dev, &c);
    cvl_vk_device_free(dev);
}

static void test_pipeline_cache(void) {
    char dir[] = "/tmp/cvl-vk-cache-XXXXXX";
    if (mkdtemp(dir) == NULL) return;
    char sub[256], path[4200];
    snprintf(sub, sizeof sub, "%s/nested/dir", dir);
    cvl_vk_device_opts o = {.cache_dir = sub};
    cvl_vk_device *dev = vk_test_device(&o);
    if (dev == NULL) return;
    CHECK(!cvl_vk_pipeline_cache_loaded(dev), "no cache file yet");
    cvl_vk_pipeline_cache_path(path, sizeof path, dev);
    cvl_vk_buffer a = vk_test_upload(dev, NULL, 64);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_vk_matmul_args g = {.M = 8, .N = 8, .K = 8};
    if (cvl_vk_seq_new(&seq, dev, "cache", &e) == CVL_OK)
        cvl_vk_matmul(seq, cvl_vk_view_of(&a), cvl_vk_view_of(&a), cvl_vk_view_of(&a), &g, &e);
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &a);
    uint32_t vendor = dev->info.vendor_id;
    cvl_vk_device_free(dev); /* writes the cache */
    FILE *f = fopen(path, "rb");
    uint32_t hdr[4] = {0};
    CHECK(f && fread(hdr, 4, 4, f) == 4, "cache file written at %s", path);
    if (f) fclose(f);
    CHECK(hdr[0] == 32 && hdr[1] == 1 && hdr[2] == vendor, "file holds a version-one header for this vendor");
    char tmp_left[4300];
    snprintf(tmp_left, sizeof tmp_left, "%s.%ld.tmp", path, (long)getpid());
    CHECK(access(tmp_left, F_OK) != 0, "no temporary file left behind");
    dev = vk_test_device(&o);
    CHECK(dev && cvl_vk_pipeline_cache_loaded(dev), "cache accepted by the same device");
    cvl_vk_device_free(dev);
    /* a foreign header (another driver build) is ignored, not fed to the driver */
    f = fopen(path, "r+b");
    if (f) {
        fseek(f, 20, SEEK_SET);
        fputc(0x5a ^ 0xff, f);
        fclose(f);
    }
    dev = vk_test_device(&o);
    CHECK(dev && !cvl_vk_pipeline_cache_loaded(dev), "cache with another pipelineCacheUUID ignored");
    cvl_vk_device_free(dev);
    f = fopen(path, "wb");
    if (f) {
        fwrite("short", 1, 5, f);
        fclose(f);
    }
    dev = vk_test_device(&o);
    CHECK(dev && !cvl_vk_pipeline_cache_loaded(dev), "truncated cache ignored");
    cvl_vk_device_free(dev);
    unlink(path);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "clean up");
}

/* The messenger counts: a deliberately invalid call is seen once. */
static void test_messenger(cvl_vk_device *dev) {
    uint32_t before = vk_inst->n_messages;
    vk_inst->quiet = true;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 0,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer b = VK_NULL_HANDLE;
    VkResult r = dev->fn.vkCreateBuffer(dev->device, &bi, NULL, &b);
    if (r == VK_SUCCESS && b) dev->fn.vkDestroyBuffer(dev->device, b, NULL);
    CHECK(vk_inst->n_messages > before, "validation reports a zero-sized buffer (%u)", vk_inst->n_messages - before);
    CHECK_STR_CONTAINS(vk_inst->last_message, "size", "message text kept");
    vk_inst->n_messages = before;
    vk_inst->quiet = false;
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev) {
        test_barriers_and_replay(dev);
        test_long_sequence(dev);
        test_allocator(dev);
        test_errors(dev);
        cvl_vk_device_free(dev);
    }
    test_staging();
    test_timeout();
    test_pipeline_cache();
    dev = vk_test_device(NULL);
    if (dev) {
        test_messenger(dev);
        cvl_vk_device_free(dev);
    }
    return vk_test_finish();
}
