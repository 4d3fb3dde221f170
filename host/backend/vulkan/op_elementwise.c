/* op_elementwise.c -- fill, add, relu (shaders/fill.comp, add.comp, relu.comp). */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u

uint64_t cvl_vk_window_limit(const cvl_vk_device *dev) {
    uint64_t lim = (dev->info.max_storage_range - dev->info.storage_align) / 4;
    return lim > (1ull << 31) ? (1ull << 31) : lim; /* element offsets are uint32 */
}

cvl_status cvl_vk_bind_window(cvl_vk_binding *out, uint32_t *elem_off, const cvl_vk_device *dev, cvl_vk_view v,
                              uint64_t lo, uint64_t hi, bool write, const char *what, cvl_err *err) {
    if (hi > v.count || v.offset + v.count * 4 > v.buf->size)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: a tensor of %llu floats is read up to element %llu", what,
                           (unsigned long long)v.count, (unsigned long long)hi);
    uint64_t align = dev->info.storage_align;
    uint64_t byte_lo = v.buf->offset + v.offset + lo * 4, byte_hi = v.buf->offset + v.offset + hi * 4;
    uint64_t base = byte_lo / align * align;
    *out = (cvl_vk_binding){v.buf->buffer, base, byte_hi - base, write};
    if (out->range == 0) out->range = 4; /* an empty window still needs a valid binding */
    *elem_off = (uint32_t)((byte_lo - base) / 4);
    return CVL_OK;
}

uint32_t cvl_vk_grid_groups(const cvl_vk_device *dev, uint64_t n) {
    uint64_t g = (n + WG - 1) / WG;
    uint64_t cap = dev->info.max_group_count[0] < 65535 ? dev->info.max_group_count[0] : 65535;
    return (uint32_t)(g == 0 ? 1 : g > cap ? cap : g); /* the shaders loop over the rest */
}

static cvl_status pipeline(const cvl_vk_pipeline **p, cvl_vk_seq *seq, cvl_vk_kernel k, cvl_err *err) {
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    return cvl_vk_pipeline_get(p, cvl_vk_seq_device(seq), k, &spec, 0, err);
}

/* One op over n elements of up to three views, split into windows. */
static cvl_status run_split(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_view *v, uint32_t nv, uint64_t n,
                            const char *name, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    const cvl_vk_pipeline *p;
    char what[96];
    snprintf(what, sizeof what, "%s n=%llu", name, (unsigned long long)n);
    cvl_status st = pipeline(&p, seq, k, err);
    uint64_t chunk = cvl_vk_window_limit(dev) / 64 * 64;
    for (uint64_t at = 0; st == CVL_OK && at < n; at += chunk) {
        uint64_t m = n - at < chunk ? n - at : chunk;
        cvl_vk_binding b[3];
        uint32_t push[4] = {(uint32_t)m};
        for (uint32_t i = 0; i < nv && st == CVL_OK; i++)
            st = cvl_vk_bind_window(&b[i], &push[1 + i], dev, v[i], at, at + m, i == 0, what, err);
        uint32_t groups[3] = {cvl_vk_grid_groups(dev, m), 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
    }
    return st;
}

cvl_status cvl_vk_fill(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view scalars, uint32_t slot, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    const cvl_vk_pipeline *p;
    char what[96];
    snprintf(what, sizeof what, "fill n=%llu", (unsigned long long)y.count);
    cvl_status st = pipeline(&p, seq, CVL_VK_FILL, err);
    uint64_t chunk = cvl_vk_window_limit(dev) / 64 * 64;
    for (uint64_t at = 0; st == CVL_OK && at < y.count; at += chunk) {
        uint64_t m = y.count - at < chunk ? y.count - at : chunk;
        cvl_vk_binding b[2];
        uint32_t push[3] = {(uint32_t)m};
        st = cvl_vk_bind_window(&b[0], &push[1], dev, y, at, at + m, true, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push[2], dev, scalars, slot, slot + 1, false, what, err);
        uint32_t groups[3] = {cvl_vk_grid_groups(dev, m), 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
    }
    return st;
}

cvl_status cvl_vk_add(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view a, cvl_vk_view b, cvl_err *err) {
    cvl_vk_view v[3] = {y, a, b};
    return run_split(seq, CVL_VK_ADD, v, 3, y.count, "add", err);
}

cvl_status cvl_vk_relu(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_err *err) {
    cvl_vk_view v[2] = {y, x};
    return run_split(seq, CVL_VK_RELU, v, 2, y.count, "relu", err);
}

cvl_status cvl_vk_relu_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_err *err) {
    cvl_vk_view v[3] = {dx, dy, x};
    return run_split(seq, CVL_VK_RELU_BWD, v, 3, dx.count, "relu_bwd", err);
}
