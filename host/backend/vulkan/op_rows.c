/* op_rows.c -- row-wise ops: softmax and log-softmax with their gradient,
 * layer norm forward and both backward passes (shaders/softmax*.comp,
 * layernorm*.comp). One subgroup per row; windows split by rows (whole
 * blocks of D * inner elements, or the columns of one block), so a tensor
 * past maxStorageBufferRange works as long as one row fits a window. */
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

#define WG 256u

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Runs kernel k over `outer` blocks of D * inner elements, a row being D
 * elements at stride inner. `split` views are bound over the same
 * elements, `whole` views whole. A window holds whole blocks when one
 * fits, else one block's columns [i0, i1) (D rows apart). Push: rows
 * (blocks * cols), D, inner, cols, the offsets of split then whole views,
 * then `extra`. One subgroup per row. */
static cvl_status rows_run(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_view *split, uint32_t n_split,
                           const cvl_vk_view *whole, uint32_t n_whole, uint32_t outer, uint32_t D, uint32_t inner,
                           const uint32_t *extra, uint32_t n_extra, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t block = (uint64_t)D * inner, lim = cvl_vk_window_limit(dev);
    if (outer == 0 || block == 0) return CVL_OK;
    uint64_t span1 = (uint64_t)(D - 1) * inner + 1; /* one row */
    if (span1 > lim)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one row spans %llu floats, more than a storage window", what,
                           (unsigned long long)span1);
    for (uint32_t i = 0; i < n_whole; i++)
        if (whole[i].count > lim)
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds a storage window", what,
                               (unsigned long long)whole[i].count);
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, k, &spec, 0, err);
    bool whole_blocks = block <= lim;
    uint64_t per = whole_blocks ? lim / block : 1;                   /* blocks per window */
    uint64_t width = whole_blocks ? inner : lim - (span1 - 1);        /* columns per window */
    uint32_t sg = dev->info.subgroup_size ? dev->info.subgroup_size : 1, rows_per_group = WG / sg ? WG / sg : 1;
    for (uint64_t at = 0; st == CVL_OK && at < outer; at += per) {
        uint64_t m = outer - at < per ? outer - at : per;
        for (uint64_t i0 = 0; st == CVL_OK && i0 < inner; i0 += width) {
            uint64_t cols = inner - i0 < width ? inner - i0 : width;
            uint64_t lo = at * block + i0, hi = whole_blocks ? (at + m) * block : at * block + (span1 - 1) + i0 + cols;
            uint32_t push[32] = {(uint32_t)(m * cols), D, inner, (uint32_t)cols};
            cvl_vk_binding b[CVL_VK_MAX_BINDINGS];
            for (uint32_t i = 0; i < n_split && st == CVL_OK; i++)
                st = cvl_vk_bind_window(&b[i], &push[4 + i], dev, split[i], lo, hi, i == 0, what, err);
            for (uint32_t i = 0; i < n_whole && st == CVL_OK; i++)
                st = cvl_vk_bind_window(&b[n_split + i], &push[4 + n_split + i], dev, whole[i], 0, whole[i].count,
                                        false, what, err);
            memcpy(&push[4 + n_split + n_whole], extra, n_extra * 4);
            uint64_t g = (m * cols + rows_per_group - 1) / rows_per_group;
            uint32_t groups[3] = {(uint32_t)(g > 65535 ? 65535 : g), 1, 1};
            if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
        }
    }
    return st;
}

cvl_status cvl_vk_softmax(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t outer, uint32_t D, uint32_t inner,
                          bool log, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "%ssoftmax (%u, %u, %u)", log ? "log_" : "", outer, D, inner);
    cvl_vk_view v[2] = {y, x};
    uint32_t extra[1] = {log};
    return rows_run(seq, CVL_VK_SOFTMAX, v, 2, NULL, 0, outer, D, inner, extra, 1, what, err);
}

cvl_status cvl_vk_softmax_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view y, uint32_t outer,
                              uint32_t D, uint32_t inner, bool log, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "%ssoftmax_bwd (%u, %u, %u)", log ? "log_" : "", outer, D, inner);
    cvl_vk_view v[3] = {dx, dy, y};
    uint32_t extra[1] = {log};
    return rows_run(seq, CVL_VK_SOFTMAX_BWD, v, 3, NULL, 0, outer, D, inner, extra, 1, what, err);
}

cvl_status cvl_vk_layernorm(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view gamma, cvl_vk_view beta,
                            uint32_t rows, uint32_t D, float eps, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "layernorm %ux%u", rows, D);
    cvl_vk_view v[2] = {y, x}, w[2] = {gamma, beta};
    uint32_t extra[1] = {fbits(eps)};
    return rows_run(seq, CVL_VK_LAYERNORM, v, 2, w, 2, rows, D, 1, extra, 1, what, err);
}

cvl_status cvl_vk_layernorm_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view gamma,
                                uint32_t rows, uint32_t D, float eps, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "layernorm_bwd %ux%u", rows, D);
    cvl_vk_view v[3] = {dx, dy, x}, w[1] = {gamma};
    uint32_t extra[1] = {fbits(eps)};
    return rows_run(seq, CVL_VK_LAYERNORM_BWD, v, 3, w, 1, rows, D, 1, extra, 1, what, err);
}

cvl_status cvl_vk_layernorm_bwd_params(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, uint32_t rows,
                                       uint32_t D, float eps, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "layernorm_bwd_params %ux%u", rows, D);
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    if (out.count > cvl_vk_window_limit(dev))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: the (2, %u) output exceeds a storage window", what, D);
    /* out (2, D) is not row-shaped: bound whole, rows in windows, later
     * windows accumulating onto the first. */
    cvl_vk_view v[2] = {dy, x};
    cvl_vk_pipeline const *p;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_LAYERNORM_BWD_PARAMS, &spec, WG * 4, err);
    uint64_t lim = cvl_vk_window_limit(dev), per = D ? lim / D : 0;
    if (st == CVL_OK && D > lim)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one row exceeds a storage window", what);
    /* llvmpipe ends every loop of an invocation after 65535 iterations in
     * all (silently); each row costs a lane two passes over D / WG columns
     * and two workgroup sums (a loop over the WG / sg subgroups each) */
    uint64_t sg = dev->info.subgroup_size ? dev->info.subgroup_size : 1;
    uint64_t loops = CVL_VK_LOOP_BUDGET / (2 * (WG / sg) + 3 * (((uint64_t)D + WG - 1) / WG) + 6);
    if (cvl_vk_loops_bounded(dev) && per > loops) per = loops ? loops : 1;
    for (uint64_t at = 0; st == CVL_OK && at < rows; at += per) {
        uint64_t m = rows - at < per ? rows - at : per;
        struct {
            uint32_t rows, D, inner, o_off, dy_off, x_off, eps, acc;
        } push = {(uint32_t)m, D, 1, 0, 0, 0, fbits(eps), at > 0};
        cvl_vk_binding b[3];
        st = cvl_vk_bind_window(&b[0], &push.o_off, dev, out, 0, out.count, true, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push.dy_off, dev, v[0], at * D, (at + m) * D, false, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[2], &push.x_off, dev, v[1], at * D, (at + m) * D, false, what, err);
        uint32_t groups[3] = {(D + WG - 1) / WG, 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
    }
    return st;
}
