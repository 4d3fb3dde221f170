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

/* Binds every view whole (refusing one past a window); push[first_off + i]
 * receives view i's offset. */
static cvl_status bind_all(cvl_vk_binding *b, uint32_t *push, cvl_vk_device *dev, const cvl_vk_view *v,
                           uint32_t n, const char *what, cvl_err *err) {
    for (uint32_t i = 0; i < n; i++) {
        if (v[i].count > cvl_vk_window_limit(dev))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds one storage window", what,
                               (unsigned long long)v[i].count);
        cvl_status st = cvl_vk_bind_window(&b[i], &push[i], dev, v[i], 0, v[i].count ? v[i].count : 1, i == 0, what, err);
        if (st) return st;
    }
    return CVL_OK;
}

cvl_status cvl_vk_cross_entropy_ex(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                   cvl_vk_view w, uint32_t rows, uint32_t cols, float smooth, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "cross_entropy %ux%u%s smoothing %g", rows, cols, w.buf ? " weighted" : "", smooth);
    struct {
        uint32_t rows, cols, off[4], has_w, a;
    } push = {rows, cols, {0}, w.buf != NULL, fbits(smooth)};
    cvl_vk_view v[4] = {loss, logits, labels, w.buf ? w : logits};
    cvl_vk_binding b[4];
    cvl_status st = bind_all(b, push.off, dev, v, 4, what, err);
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, 0}};
    const cvl_vk_pipeline *p;
    if (st == CVL_OK) st = cvl_vk_pipeline_get(&p, dev, CVL_VK_CROSS_ENTROPY, &spec, WG * 8, err);
    uint32_t groups[3] = {1, 1, 1};
    return st ? st : cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
}

cvl_status cvl_vk_cross_entropy_bwd_ex(cvl_vk_seq *seq, cvl_vk_view dlogits, cvl_vk_view dloss, cvl_vk_view logits,
                                       cvl_vk_view labels, cvl_vk_view w, cvl_vk_view scratch, uint32_t rows,
                                       uint32_t cols, float smooth, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "cross_entropy_bwd %ux%u%s smoothing %g", rows, cols, w.buf ? " weighted" : "", smooth);
    cvl_vk_view ws = {scratch.buf, scratch.offset, 1};
    /* the normaliser sum w_y first (MODE 1 of the forward shader) */
    struct {
        uint32_t rows, cols, off[4], has_w, a;
    } p1 = {rows, cols, {0}, w.buf != NULL, fbits(smooth)};
    cvl_vk_view v1[4] = {ws, logits, labels, w.buf ? w : logits};
    cvl_vk_binding b1[4];
    cvl_status st = bind_all(b1, p1.off, dev, v1, 4, what, err);
    cvl_vk_spec s1 = {.n = 4, .v = {WG, 1, 1, 1}};
    const cvl_vk_pipeline *pipe;
    if (st == CVL_OK) st = cvl_vk_pipeline_get(&pipe, dev, CVL_VK_CROSS_ENTROPY, &s1, WG * 8, err);
    uint32_t one[3] = {1, 1, 1};
    if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, pipe, b1, &p1, one, what, err);
    if (st) return st;
    struct {
        uint32_t rows, cols, off[6], has_w, a;
    } p2 = {rows, cols, {0}, w.buf != NULL, fbits(smooth)};
    cvl_vk_view v2[6] = {dlogits, dloss, logits, labels, w.buf ? w : logits, ws};
    cvl_vk_binding b2[6];
    st = bind_all(b2, p2.off, dev, v2, 6, what, err);
    cvl_vk_spec s2 = {.n = 1, .v = {WG}};
    if (st == CVL_OK) st = cvl_vk_pipeline_get(&pipe, dev, CVL_VK_CROSS_ENTROPY_BWD, &s2, 0, err);
    uint32_t groups[3] = {(rows + WG - 1) / WG ? (rows + WG - 1) / WG : 1, 1, 1};
    return st ? st : cvl_vk_seq_dispatch(seq, pipe, b2, &p2, groups, what, err);
}

cvl_status cvl_vk_cross_entropy(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                uint32_t rows, uint32_t cols, cvl_err *err) {
    cvl_vk_view none = {0};
    return cvl_vk_cross_entropy_ex(seq, loss, logits, labels, none, rows, cols, 0.0f, err);
}
