/* op_reduce.c -- sum over the last axis (shaders/reduce_sum.comp). */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u
#define CHUNK (WG * 32u) /* elements one workgroup sums */

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

uint64_t cvl_vk_reduce_sum_scratch(uint64_t rows, uint64_t len) {
    uint64_t total = 0;
    for (uint64_t g = ceil_div(len, CHUNK); g > 1; g = ceil_div(g, CHUNK)) total += rows * g;
    return total;
}

/* One pass: y (rows, ldy) gets the partial sums of x (rows, len, row stride
 * ldx), ceil(len/CHUNK) per row, in windows no larger than the device binds. */
static cvl_status pass(cvl_vk_seq *seq, const cvl_vk_pipeline *p, cvl_vk_view y, uint64_t ldy, cvl_vk_view x,
                       uint64_t ldx, uint64_t rows, uint64_t len, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t groups = ceil_div(len, CHUNK), lim = cvl_vk_window_limit(dev);
    uint64_t rr = rows < dev->info.max_group_count[1] ? rows : dev->info.max_group_count[1];
    uint64_t gg = groups < dev->info.max_group_count[0] ? groups : dev->info.max_group_count[0];
    /* shrink rows, then groups per dispatch, until both windows bind */
    while (rr > 1 && ((rr - 1) * ldx + len > lim || (rr - 1) * ldy + gg > lim)) rr = (rr + 1) / 2;
    while (gg > 1 && gg * CHUNK > lim) gg = (gg + 1) / 2;
    if (len > lim && gg * CHUNK > lim)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: cannot split rows for this device", what);
    cvl_status st = CVL_OK;
    for (uint64_t r0 = 0; r0 < rows && st == CVL_OK; r0 += rr) {
        uint64_t nr = rows - r0 < rr ? rows - r0 : rr;
        for (uint64_t g0 = 0; g0 < groups && st == CVL_OK; g0 += gg) {
            uint64_t ng = groups - g0 < gg ? groups - g0 : gg;
            uint64_t c0 = g0 * CHUNK, c1 = (g0 + ng) * CHUNK < len ? (g0 + ng) * CHUNK : len;
            cvl_vk_binding b[2];
            uint32_t push[6] = {(uint32_t)(c1 - c0), CHUNK, (uint32_t)ldx, (uint32_t)ldy, 0, 0};
            st = cvl_vk_bind_window(&b[0], &push[5], dev, y, r0 * ldy + g0, (r0 + nr - 1) * ldy + g0 + ng, true,
                                    what, err);
            if (st == CVL_OK)
                st = cvl_vk_bind_window(&b[1], &push[4], dev, x, r0 * ldx + c0, (r0 + nr - 1) * ldx + c1, false,
                                        what, err);
            uint32_t grid[3] = {(uint32_t)ng, (uint32_t)nr, 1};
            if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, push, grid, what, err);
        }
    }
    return st;
}

cvl_status cvl_vk_reduce_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scratch, uint32_t rows,
                             uint32_t len, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "reduce_sum %ux%u", rows, len);
    if (scratch.count < cvl_vk_reduce_sum_scratch(rows, len))
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: scratch holds %llu floats, needs %llu", what,
                           (unsigned long long)scratch.count,
                           (unsigned long long)cvl_vk_reduce_sum_scratch(rows, len));
    if (rows == 0) return CVL_OK;
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_REDUCE_SUM, &spec, WG * 4, err);
    if (st != CVL_OK) return st;
    /* x -> partials (rows, g) -> partials of those ... -> y; every level
     * has its own slice of scratch, so no pass reads what it writes. */
    cvl_vk_view src = x;
    uint64_t src_len = len, used = 0;
    for (uint64_t g = ceil_div(len, CHUNK); g > 1 && st == CVL_OK; g = ceil_div(g, CHUNK)) {
        cvl_vk_view dst = {scratch.buf, scratch.offset + used * 4, rows * g};
        st = pass(seq, p, dst, g, src, src_len, rows, src_len, what, err);
        used += rows * g;
        src = dst;
        src_len = g;
    }
    if (st == CVL_OK) st = pass(seq, p, y, 1, src, src_len, rows, src_len, what, err);
    return st;
}
