/* op_embedding.c -- embedding lookup and its gradient (shaders/embedding.comp,
 * embedding_bwd.comp), windowed on every tensor: the output in whole rows,
 * the indices alongside, the table in row ranges. A table larger than one
 * storage window is walked range by range: the first range writes every
 * output row (zeros where the index lies elsewhere), later ones only the
 * rows whose index they hold. The gradient walks the indices in ranges
 * too, each range continuing the previous one's sum, so the CPU's order
 * (ascending index position) and its bits are kept. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u

static uint32_t min_u32(uint64_t a, uint64_t b) { return (uint32_t)(a < b ? a : b); }

/* Rows of D floats per window; 0 (with the error set) when one row does not fit. */
static uint64_t rows_per_window(const cvl_vk_device *dev, uint32_t D, const char *what, cvl_err *err) {
    uint64_t lim = cvl_vk_window_limit(dev);
    if (D == 0) return lim;
    if (D > lim) {
        cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a row of %u floats exceeds one storage window (%llu floats)", what,
                    D, (unsigned long long)lim);
        return 0;
    }
    return lim / D;
}

static cvl_status pipeline(const cvl_vk_pipeline **p, cvl_vk_device *dev, cvl_vk_kernel k, cvl_err *err) {
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    return cvl_vk_pipeline_get(p, dev, k, &spec, 0, err);
}

cvl_status cvl_vk_embedding(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view idx, cvl_vk_view w, uint32_t m, uint32_t num,
                            uint32_t D, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[80];
    snprintf(what, sizeof what, "embedding %u of (%u, %u)", m, num, D);
    uint64_t per = rows_per_window(dev, D, what, err);
    if (per == 0) return err->status;
    const cvl_vk_pipeline *p;
    cvl_status st = pipeline(&p, dev, CVL_VK_EMBEDDING, err);
    for (uint64_t y0 = 0; st == CVL_OK && y0 < m; y0 += per) {
        uint32_t ny = min_u32(per, m - y0);
        uint64_t t0 = 0;
        do { /* every table range over these output rows; the first writes them all */
            uint32_t t1 = min_u32(t0 + per, num);
            struct {
                uint32_t n, y_off, i_off, w_off, D, r0, r1, first;
            } push = {ny * D, 0, 0, 0, D, (uint32_t)t0, t1, t0 == 0};
            cvl_vk_binding b[3];
            st = cvl_vk_bind_window(&b[0], &push.y_off, dev, y, y0 * D, (y0 + ny) * D, true, what, err);
            if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push.i_off, dev, idx, y0, y0 + ny, false, what, err);
            if (st == CVL_OK)
                st = cvl_vk_bind_window(&b[2], &push.w_off, dev, w, t0 * D, (uint64_t)t1 * D, false, what, err);
            uint32_t groups[3] = {cvl_vk_grid_groups(dev, (uint64_t)ny * D), 1, 1};
            if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
            t0 = t1;
        } while (st == CVL_OK && t0 < num);
    }
    return st;
}

cvl_status cvl_vk_embedding_bwd(cvl_vk_seq *seq, cvl_vk_view dw, cvl_vk_view dy, cvl_vk_view idx, uint32_t m,
                                uint32_t num, uint32_t D, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[80];
    snprintf(what, sizeof what, "embedding_bwd %u into (%u, %u)", m, num, D);
    uint64_t per = rows_per_window(dev, D, what, err);
    if (per == 0) return err->status;
    /* where loops are bounded, at most a third of the budget of indices per
     * dispatch (an invocation visits at most 2 table elements per window) */
    uint64_t scan = cvl_vk_loops_bounded(dev) && per > CVL_VK_LOOP_BUDGET / 3 ? CVL_VK_LOOP_BUDGET / 3 : per;
    const cvl_vk_pipeline *p;
    cvl_status st = pipeline(&p, dev, CVL_VK_EMBEDDING_BWD, err);
    for (uint64_t t0 = 0; st == CVL_OK && t0 < num; t0 += per) {
        uint32_t nt = min_u32(per, num - t0);
        uint64_t k0 = 0;
        do { /* every range of indices, each continuing the sums */
            uint32_t k1 = min_u32(k0 + scan, m);
            struct {
                uint32_t n, dw_off, dy_off, i_off, m, D, r0, first;
            } push = {nt * D, 0, 0, 0, k1 - (uint32_t)k0, D, (uint32_t)t0, k0 == 0};
            cvl_vk_binding b[3];
            st = cvl_vk_bind_window(&b[0], &push.dw_off, dev, dw, t0 * D, (t0 + nt) * D, true, what, err);
            if (st == CVL_OK)
                st = cvl_vk_bind_window(&b[1], &push.dy_off, dev, dy, k0 * D, (uint64_t)k1 * D, false, what, err);
            if (st == CVL_OK) st = cvl_vk_bind_window(&b[2], &push.i_off, dev, idx, k0, k1, false, what, err);
            uint32_t groups[3] = {cvl_vk_grid_groups(dev, (uint64_t)nt * D), 1, 1};
            if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
            k0 = k1;
        } while (st == CVL_OK && k0 < m);
    }
    return st;
}
