/* op_loss.c -- losses and the gradient norm (shaders/loss.comp,
 * loss_bwd.comp, cross_entropy.comp, cross_entropy_bwd.comp,
 * grad_norm.comp). Sums are two-level and deterministic (no atomics): each
 * window of elements gives up to PARTS workgroup partials in a scratch
 * buffer, then one workgroup adds them (grad_norm.comp MODE 1 or 3). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

#define WG 256u
#define PARTS 64u /* workgroups (partial sums) per window */

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t chunk_of(const cvl_vk_device *dev) { return cvl_vk_window_limit(dev) / 64 * 64; }

uint64_t cvl_vk_partials_scratch(const cvl_vk_device *dev, uint64_t n) {
    uint64_t c = chunk_of(dev);
    return PARTS * ((n + c - 1) / c);
}

static uint32_t parts_for(uint64_t m) {
    uint64_t g = (m + WG - 1) / WG;
    return (uint32_t)(g == 0 ? 1 : g > PARTS ? PARTS : g);
}

/* One partials pass of `k` over n elements of views v[0..nv) (windows),
 * writing parts[*used ..] (bound whole); extra push words follow
 * part_base. Advances *used. */
static cvl_status partials(cvl_vk_seq *seq, const cvl_vk_pipeline *p, const cvl_vk_view *v, uint32_t nv, uint64_t n,
                           cvl_vk_view parts, uint64_t *used, const uint32_t *extra, uint32_t n_extra,
                           const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t chunk = chunk_of(dev);
    cvl_status st = CVL_OK;
    for (uint64_t at = 0; st == CVL_OK && at < n; at += chunk) {
        uint64_t m = n - at < chunk ? n - at : chunk;
        uint32_t g = parts_for(m);
        if (*used + g > parts.count)
            return cvl_err_set(err, CVL_ERR_INVALID, "%s: scratch of %llu floats is too small", what,
                               (unsigned long long)parts.count);
        uint32_t push[16] = {(uint32_t)m, (uint32_t)at};
        cvl_vk_binding b[4];
        for (uint32_t i = 0; i < nv && st == CVL_OK; i++)
            st = cvl_vk_bind_window(&b[i], &push[2 + i], dev, v[i], at, at + m, false, what, err);
        /* only this window's partials: the whole scratch may not fit a window */
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[nv], &push[2 + nv], dev, parts, *used, *used + g, true, what, err);
        push[3 + nv] = 0;
        memcpy(&push[4 + nv], extra, n_extra * 4);
        uint32_t groups[3] = {g, 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
        *used += g;
    }
    return st;
}

static cvl_status final_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view parts, uint64_t n, bool root, float f,
                            const char *what, cvl_err *err);

static uint32_t loss_kind(int32_t kind) {
    switch (kind) {
    case CVL_OP_BCE_LOGITS: return 1;
    case CVL_OP_MSE: return 2;
    case CVL_OP_L1: return 3;
    default: return 4; /* huber */
    }
}

static const char *loss_name(int32_t kind) {
    static const char *const names[] = {"", "bce_logits", "mse", "l1", "huber"};
    return names[loss_kind(kind)];
}

cvl_status cvl_vk_loss(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view x, cvl_vk_view t, cvl_vk_view scratch,
                       int32_t kind, float arg, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[80];
    snprintf(what, sizeof what, "%s loss n=%llu", loss_name(kind), (unsigned long long)x.count);
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, loss_kind(kind)}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_LOSS, &spec, WG * 4, err);
    if (st) return st;
    uint64_t used = 0;
    uint32_t extra[2] = {fbits(arg), fbits(x.count ? 1.0f / (float)x.count : 0.0f)};
    cvl_vk_view v[2] = {x, t};
    st = partials(seq, p, v, 2, x.count, scratch, &used, extra, 2, what, err);
    if (st) return st;
    return final_sum(seq, loss, scratch, used, false, 1.0f, what, err);
}

cvl_status cvl_vk_loss_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dloss, cvl_vk_view x, cvl_vk_view t,
                           int32_t kind, float arg, cvl_err *err) {
    char what[80];
    snprintf(what, sizeof what, "%s loss_bwd n=%llu", loss_name(kind), (unsigned long long)x.count);
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, loss_kind(kind)}};
    cvl_vk_view v[3] = {dx, x, t}, w[1] = {dloss};
    uint32_t extra[2] = {fbits(arg), fbits(x.count ? 1.0f / (float)x.count : 0.0f)};
    return cvl_vk_ew(seq, CVL_VK_LOSS_BWD, &spec, v, 3, w, 1, 1u, extra, 2, dx.count, what, err);
}

/* y (1 float) = f * sum of parts[0, n) (MODE 3), or sqrt of it (MODE 1). */
static cvl_status final_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view parts, uint64_t n, bool root, float f,
                            const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    if (n > cvl_vk_window_limit(dev))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %llu partial sums exceed one storage window", what,
                           (unsigned long long)n);
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, root ? 1u : 3u}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_GRAD_NORM, &spec, WG * 4, err);
    uint32_t push[6] = {(uint32_t)n, 0, 0, 0, 0, fbits(f)};
    cvl_vk_binding b[2];
    if (st == CVL_OK) st = cvl_vk_bind_window(&b[0], &push[2], dev, y, 0, 1, true, what, err);
    if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push[3], dev, parts, 0, n ? n : 1, false, what, err);
    uint32_t groups[3] = {1, 1, 1};
    return st ? st : cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
}

cvl_status cvl_vk_sum_all(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scratch, float f, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[80];
    snprintf(what, sizeof what, "sum of all %llu elements", (unsigned long long)x.count);
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, 2}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_GRAD_NORM, &spec, WG * 4, err);
    uint64_t used = 0;
    uint32_t extra[1] = {0};
    if (st == CVL_OK) st = partials(seq, p, &x, 1, x.count, scratch, &used, extra, 1, what, err);
    return st ? st : final_sum(seq, y, scratch, used, false, f, what, err);
}

uint64_t cvl_vk_grad_norm_scratch(const cvl_vk_device *dev, const cvl_vk_view *grads, uint32_t n_grads) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_grads; i++) total += cvl_vk_partials_scratch(dev, grads[i].count);
    return total ? total : 1;
}

cvl_status cvl_vk_grad_norm(cvl_vk_seq *seq, cvl_vk_view norm, const cvl_vk_view *grads, uint32_t n_grads,
                            cvl_vk_view scratch, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[80];
    snprintf(what, sizeof what, "grad_norm over %u gradients", n_grads);
    const cvl_vk_pipeline *p0;
    cvl_vk_spec s0 = {.n = 4, .v = {WG, 1, 1, 0}};
    cvl_status st = cvl_vk_pipeline_get(&p0, dev, CVL_VK_GRAD_NORM, &s0, WG * 4, err);
    uint64_t used = 0;
    uint32_t extra[1] = {0};
    for (uint32_t i = 0; i < n_grads && st == CVL_OK; i++)
        st = partials(seq, p0, &grads[i], 1, grads[i].count, scratch, &used, extra, 1, what, err);
    return st ? st : final_sum(seq, norm, scratch, used, true, 1.0f, what, err);
}

/* Rows of `cols` logits per dispatch; 0 (with the error set) when one row
 * does not fit a window. On a software device also few enough for its
 * loops: llvmpipe ends every loop of an invocation after 65535 iterations
 * in all (silently); a lane of the forward's one workgroup runs about
 * 4 cols + 2 per row it takes, the backward's 5 cols + 4 for its one row. */
static uint64_t ce_rows_per_window(const cvl_vk_device *dev, uint32_t cols, const char *what, cvl_err *err) {
    uint64_t lim = cvl_vk_window_limit(dev);
    if (cols > lim) {
        cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a row of %u logits exceeds one storage window (%llu floats)", what,
                    cols, (unsigned long long)lim);
        return 0;
    }
    uint64_t rows = cols ? lim / cols : lim;
    if (cvl_vk_loops_bounded(dev)) {
        if (5ull * cols + 4 > CVL_VK_LOOP_BUDGET) {
            cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: rows of %u logits are longer than the loops %s runs", what, cols,
                        dev->info.name);
            return 0;
        }
        uint64_t loops = (uint64_t)WG * (CVL_VK_LOOP_BUDGET / (4ull * cols + 2));
        if (rows > loops) rows = loops;
    }
    return rows;
}

/* cross_entropy.comp over the rows in ranges that fit a window, chaining
 * the running sums through scratch[1..3); MODE 0 writes the loss to y,
 * MODE 1 the weight sum. */
static cvl_status ce_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view logits, cvl_vk_view labels, cvl_vk_view w,
                         cvl_vk_view scratch, uint32_t rows, uint32_t cols, float smooth, uint32_t mode,
                         const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t per = ce_rows_per_window(dev, cols, what, err);
    if (per == 0) return err->status;
    bool chained = per < rows;
    if (chained && scratch.count < CVL_VK_CE_SCRATCH)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: the logits need %llu windows and %u scratch floats, not %llu",
                           what, (unsigned long long)((rows + per - 1) / per), CVL_VK_CE_SCRATCH,
                           (unsigned long long)scratch.count);
    if (w.buf && w.count > cvl_vk_window_limit(dev))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %llu class weights exceed one storage window", what,
                           (unsigned long long)w.count);
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, mode}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_CROSS_ENTROPY, &spec, WG * 8, err);
    /* the running sums; one range never reads them (y stands in) */
    cvl_vk_view run = chained ? (cvl_vk_view){scratch.buf, scratch.offset + 4, 2} : y;
    uint64_t r0 = 0;
    while (st == CVL_OK) {
        uint32_t n = (uint32_t)(rows - r0 < per ? rows - r0 : per);
        struct {
            uint32_t rows, cols, y_off, z_off, l_off, w_off, s_off, has_w, a, first, last;
        } push = {n, cols, 0, 0, 0, 0, 0, w.buf != NULL, fbits(smooth), r0 == 0, r0 + n >= rows};
        cvl_vk_binding b[5];
        st = cvl_vk_bind_window(&b[0], &push.y_off, dev, y, 0, 1, true, what, err);
        if (st == CVL_OK)
            st = cvl_vk_bind_window(&b[1], &push.z_off, dev, logits, r0 * cols, (r0 + n) * cols, false, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[2], &push.l_off, dev, labels, r0, r0 + n, false, what, err);
        if (st == CVL_OK) /* no weights: a stand-in the shader never reads */
            st = cvl_vk_bind_window(&b[3], &push.w_off, dev, w.buf ? w : labels, 0, w.buf ? w.count : 1, false, what,
                                    err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[4], &push.s_off, dev, run, 0, chained ? 2 : 1, true, what, err);
        uint32_t groups[3] = {1, 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
        r0 += n;
        if (r0 >= rows) break;
    }
    return st;
}

cvl_status cvl_vk_cross_entropy_ex(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                   cvl_vk_view w, cvl_vk_view scratch, uint32_t rows, uint32_t cols, float smooth,
                                   cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "cross_entropy %ux%u%s smoothing %g", rows, cols, w.buf ? " weighted" : "", smooth);
    return ce_sum(seq, loss, logits, labels, w, scratch, rows, cols, smooth, 0, what, err);
}

cvl_status cvl_vk_cross_entropy_bwd_ex(cvl_vk_seq *seq, cvl_vk_view dlogits, cvl_vk_view dloss, cvl_vk_view logits,
                                       cvl_vk_view labels, cvl_vk_view w, cvl_vk_view scratch, uint32_t rows,
                                       uint32_t cols, float smooth, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "cross_entropy_bwd %ux%u%s smoothing %g", rows, cols, w.buf ? " weighted" : "", smooth);
    /* the normaliser sum w_y first (MODE 1 of the forward shader), into scratch[0] */
    cvl_vk_view ws = {scratch.buf, scratch.offset, 1};
    cvl_status st = ce_sum(seq, ws, logits, labels, w, scratch, rows, cols, smooth, 1, what, err);
    if (st) return st;
    uint64_t per = ce_rows_per_window(dev, cols, what, err);
    const cvl_vk_pipeline *pipe;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    st = cvl_vk_pipeline_get(&pipe, dev, CVL_VK_CROSS_ENTROPY_BWD, &spec, 0, err);
    for (uint64_t r0 = 0; st == CVL_OK && r0 < rows; r0 += per) {
        uint32_t n = (uint32_t)(rows - r0 < per ? rows - r0 : per);
        struct {
            uint32_t rows, cols, dz_off, dl_off, z_off, l_off, w_off, ws_off, has_w, a;
        } push = {n, cols, 0, 0, 0, 0, 0, 0, w.buf != NULL, fbits(smooth)};
        cvl_vk_binding b[6];
        st = cvl_vk_bind_window(&b[0], &push.dz_off, dev, dlogits, r0 * cols, (r0 + n) * cols, true, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push.dl_off, dev, dloss, 0, 1, false, what, err);
        if (st == CVL_OK)
            st = cvl_vk_bind_window(&b[2], &push.z_off, dev, logits, r0 * cols, (r0 + n) * cols, false, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[3], &push.l_off, dev, labels, r0, r0 + n, false, what, err);
        if (st == CVL_OK)
            st = cvl_vk_bind_window(&b[4], &push.w_off, dev, w.buf ? w : labels, 0, w.buf ? w.count : 1, false, what,
                                    err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[5], &push.ws_off, dev, ws, 0, 1, false, what, err);
        uint32_t groups[3] = {(n + WG - 1) / WG ? (n + WG - 1) / WG : 1, 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, pipe, b, &push, groups, what, err);
    }
    return st;
}
