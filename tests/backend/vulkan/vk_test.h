/* vk_test.h -- shared set-up for the Vulkan tests: an instance with the
 * Khronos validation layer (synchronization validation included) whose
 * messages are counted, and the device `vulkan` selects (lavapipe in CI).
 * Every test ends with vk_test_finish(), which CHECKs the count is 0. */
#ifndef CVL_TEST_VK_TEST_H
#define CVL_TEST_VK_TEST_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend/vulkan/ops.h"
#include "harness.h"

static cvl_vk_instance *vk_inst;

/* A device for `opts` (NULL: defaults; the disk cache is always off unless
 * the caller asks for it). NULL after a failed CHECK. */
static inline cvl_vk_device *vk_test_device(const cvl_vk_device_opts *opts) {
    cvl_err e = {0};
    if (vk_inst == NULL) {
        /* The loader unloads the driver and the layer with each instance;
         * pinning them keeps their frames named in sanitizer reports, so
         * tests/lsan.supp can tell their allocations from ours. */
        static const char *const pinned[] = {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"};
        for (size_t i = 0; i < 2; i++) dlopen(pinned[i], RTLD_NOW | RTLD_NODELETE);
        cvl_vk_instance_opts io = {.validation = true, .sync_validation = true};
        cvl_status st = cvl_vk_instance_new(&vk_inst, &io, &e);
        CHECK(st == CVL_OK && vk_inst->messenger != VK_NULL_HANDLE, "instance with validation and a messenger (%s)",
              e.msg);
        if (st != CVL_OK) return NULL;
    }
    cvl_device_choice ch;
    cvl_status st = cvl_device_select(&ch, "vulkan", vk_inst, NULL, &e);
    if (st != CVL_OK || ch.kind != CVL_DEVICE_VULKAN) {
        CHECK(0, "a Vulkan device (%s)", e.msg);
        return NULL;
    }
    cvl_vk_device_opts o = {.no_disk_cache = true};
    if (opts) o = *opts;
    cvl_vk_device *dev = NULL;
    st = cvl_vk_device_new(&dev, vk_inst, ch.index, &o, &e);
    if (st != CVL_OK) CHECK(0, "device: %s", e.msg);
    return dev;
}

static inline int vk_test_finish(void) {
    if (vk_inst) {
        CHECK(vk_inst->n_messages == 0, "no validation messages (%u; last: %s)", vk_inst->n_messages,
              vk_inst->last_message);
        cvl_vk_instance_free(vk_inst);
        vk_inst = NULL;
    }
    return tap_done();
}

/* Deterministic values in [-1, 1). */
static inline void vk_test_fill_random(float *x, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        x[i] = (float)((s >> 8) * (1.0 / 8388608.0)) - 1.0f;
    }
}

/* A device buffer holding `n` floats from `host` (NULL: left as is). */
static inline cvl_vk_buffer vk_test_upload(cvl_vk_device *dev, const float *host, size_t n) {
    cvl_vk_buffer b;
    cvl_err e = {0};
    if (cvl_vk_alloc(&b, dev, n * 4, "test", &e) != CVL_OK) {
        printf("# alloc: %s\n", e.msg);
        return b;
    }
    if (host && cvl_vk_upload(dev, &b, 0, host, n * 4, &e) != CVL_OK) printf("# upload: %s\n", e.msg);
    return b;
}

static inline float *vk_test_download(cvl_vk_device *dev, const cvl_vk_buffer *b, size_t n) {
    float *x = malloc(n * 4);
    cvl_err e = {0};
    if (x && cvl_vk_download(dev, x, b, 0, n * 4, &e) != CVL_OK) printf("# download: %s\n", e.msg);
    return x;
}

/* max |got - want| / max(1, |want|) */
static inline double vk_test_max_rel(const float *got, const double *want, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        double d = fabs(got[i] - want[i]) / s;
        if (!(d <= worst)) worst = d; /* NaN counts as worst */
    }
    return worst;
}

#endif
