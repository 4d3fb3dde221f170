/* op_ew.c -- elementwise ops on the windowed scheme: the generic
 * dispatcher cvl_vk_ew(), unary activations and their gradients, scale,
 * bias (rows and channels) and dropout (shaders/unary.comp,
 * unary_bwd.comp, scale.comp, bias_rows.comp, dropout.comp). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

#define WG 256u

cvl_status cvl_vk_ew(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_spec *spec, const cvl_vk_view *split,
                     uint32_t n_split, const cvl_vk_view *whole, uint32_t n_whole, uint32_t writes,
                     const uint32_t *extra, uint32_t n_extra, uint64_t n, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint32_t nb = n_split + n_whole;
    if (nb > CVL_VK_MAX_BINDINGS || 2 + nb + n_extra > 32)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: %u bindings and %u push words are too many", what, nb, n_extra);
    if (n > UINT32_MAX) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 2^32 elements", what);
    cvl_vk_spec sp = {.n = 1, .v = {WG}};
    if (spec) sp = *spec;
    const cvl_vk_pipeline *p;
    cvl_status st = cvl_vk_pipeline_get(&p, dev, k, &sp, 0, err);
    if (st) return st;
    uint64_t lim = cvl_vk_window_limit(dev);
    for (uint32_t i = 0; i < n_whole; i++)
        if (whole[i].buf && whole[i].count > lim)
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds one storage window",
                               what, (unsigned long long)whole[i].count);
    if (n == 0) return CVL_OK;
    uint64_t chunk = lim / 64 * 64;
    uint64_t at = 0;
    do {
        uint64_t m = n - at < chunk ? n - at : chunk;
        cvl_vk_binding b[CVL_VK_MAX_BINDINGS];
        uint32_t push[32] = {(uint32_t)m, (uint32_t)at};
        for (uint32_t i = 0; i < n_split && st == CVL_OK; i++)
            st = cvl_vk_bind_window(&b[i], &push[2 + i], dev, split[i], at, at + m, (writes >> i) & 1, what, err);
        for (uint32_t i = 0; i < n_whole && st == CVL_OK; i++) {
            /* An absent optional tensor: one element of the first window,
             * read-only; the shader never reads it. */
            bool here = whole[i].buf != NULL;
            st = cvl_vk_bind_window(&b[n_split + i], &push[2 + n_split + i], dev, here ? whole[i] : split[0],
                                    here ? 0 : at, here ? whole[i].count : at + 1,
                                    here && ((writes >> (n_split + i)) & 1), what, err);
        }
        if (st) return st;
        if (n_extra) memcpy(&push[2 + nb], extra, n_extra * 4);
        uint32_t groups[3] = {cvl_vk_grid_groups(dev, m), 1, 1};
        st = cvl_vk_seq_dispatch(seq, p, b, push, groups, what, err);
        at += m;
    } while (st == CVL_OK && at < n);
    return st;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

uint32_t cvl_vk_unary_kind(int32_t op) {
    switch (op) {
    case CVL_OP_RELU: return 0;
    case CVL_OP_GELU: return 1;
    case CVL_OP_SILU: return 2;
    case CVL_OP_SIGMOID: return 3;
    default: return 4; /* tanh */
    }
}

static const char *unary_name(int32_t op) {
    static const char *const names[] = {"relu", "gelu", "silu", "sigmoid", "tanh"};
    return names[cvl_vk_unary_kind(op)];
}

cvl_status cvl_vk_unary(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, int32_t op, cvl_err *err) {
    char what[64];
    snprintf(what, sizeof what, "%s n=%llu", unary_name(op), (unsigned long long)y.count);
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, cvl_vk_unary_kind(op)}};
    cvl_vk_view v[2] = {y, x};
    return cvl_vk_ew(seq, CVL_VK_UNARY, &spec, v, 2, NULL, 0, 1u, NULL, 0, y.count, what, err);
}

cvl_status cvl_vk_unary_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, int32_t op, cvl_err *err) {
    char what[64];
    snprintf(what, sizeof what, "%s_bwd n=%llu", unary_name(op), (unsigned long long)dx.count);
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, cvl_vk_unary_kind(op)}};
    cvl_vk_view v[3] = {dx, dy, x};
    return cvl_vk_ew(seq, CVL_VK_UNARY_BWD, &spec, v, 3, NULL, 0, 1u, NULL, 0, dx.count, what, err);
}

cvl_status cvl_vk_scale(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, float f, cvl_err *err) {
    char what[64];
    snprintf(what, sizeof what, "scale n=%llu by %g", (unsigned long long)y.count, f);
    cvl_vk_view v[2] = {y, x};
    uint32_t extra[1] = {fbits(f)};
    return cvl_vk_ew(seq, CVL_VK_SCALE, NULL, v, 2, NULL, 0, 1u, extra, 1, y.count, what, err);
}

cvl_status cvl_vk_bias_add(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view bias, uint32_t cols, uint32_t inner,
                           bool accumulate, cvl_err *err) {
    char what[80];
    snprintf(what, sizeof what, "bias n=%llu cols %u inner %u", (unsigned long long)y.count, cols, inner);
    cvl_vk_view v[1] = {y}, w[1] = {bias};
    uint32_t extra[3] = {cols, inner, accumulate};
    return cvl_vk_ew(seq, CVL_VK_BIAS_ROWS, NULL, v, 1, w, 1, 1u, extra, 3, y.count, what, err);
}

/* The CPU backend's mixer (splitmix64's finaliser). */
static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

cvl_status cvl_vk_dropout(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scalars, uint64_t stream,
                          double p, cvl_err *err) {
    char what[80];
    snprintf(what, sizeof what, "dropout n=%llu p=%g", (unsigned long long)y.count, p);
    /* keep <=> (h >> 11) * 2^-53 >= p <=> (h >> 11) >= ceil(p * 2^53): exact
     * in integers, since p * 2^53 only scales p's exponent. */
    double t = ceil(p * 9007199254740992.0);
    uint64_t thr = t >= 9007199254740992.0 ? (1ull << 53) : (uint64_t)t;
    uint64_t hs = mix(stream + 0x632be59bd9b4e019ull);
    float k = p < 1 ? (float)(1.0 / (1.0 - p)) : 1.0f; /* p = 1 keeps nothing */
    uint32_t extra[5] = {(uint32_t)hs, (uint32_t)(hs >> 32), (uint32_t)thr, (uint32_t)(thr >> 32),
                         p == 0 ? 0u : fbits(k)};
    cvl_vk_view v[2] = {y, x}, w[1] = {scalars};
    return cvl_vk_ew(seq, CVL_VK_DROPOUT, NULL, v, 2, w, 1, 1u, extra, 5, y.count, what, err);
}

cvl_status cvl_vk_bias_rows(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view bias, uint32_t rows, uint32_t cols, cvl_err *err) {
    cvl_vk_view rows_view = {y.buf, y.offset, (uint64_t)rows * cols};
    return cvl_vk_bias_add(seq, rows_view, bias, cols, 1, false, err);
}
