/* op_norm_pool.c -- batch norm (statistics, apply, both backward passes),
 * 2-D pooling and its gradient, and slices (shaders/bn_*.comp,
 * pool2d*.comp, slice.comp). Tensors are bound as single windows; one past
 * the device's storage range is refused with a message naming the op. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u

static uint32_t groups_for(const cvl_vk_device *dev, uint64_t n) {
    uint64_t g = (n + WG - 1) / WG;
    uint64_t cap = dev->info.max_group_count[0] < 65535 ? dev->info.max_group_count[0] : 65535;
    return (uint32_t)(g == 0 ? 1 : g > cap ? cap : g);
}

/* Binds n views whole (outputs flagged in `write`), writing their element
 * offsets to offs[0..n) -- which point into `push` -- then dispatches
 * `groups` workgroups with that push block. */
static cvl_status go(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_view *v, const bool *write, uint32_t n,
                     uint32_t *offs, const void *push, uint32_t groups, uint32_t shared, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    cvl_vk_binding b[8];
    for (uint32_t i = 0; i < n; i++) {
        if (v[i].count > cvl_vk_window_limit(dev))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds one storage window", what,
                               (unsigned long long)v[i].count);
        cvl_status st = cvl_vk_bind_window(&b[i], &offs[i], dev, v[i], 0, v[i].count, write[i], what, err);
        if (st) return st;
    }
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, k, &spec, shared, err);
    uint32_t g[3] = {groups, 1, 1};
    return st ? st : cvl_vk_seq_dispatch(seq, p, b, push, g, what, err);
}

cvl_status cvl_vk_bn_stats(cvl_vk_seq *seq, cvl_vk_view stats, cvl_vk_view rmean, cvl_vk_view rvar, cvl_vk_view nbt,
                           cvl_vk_view x, cvl_vk_view scalars, uint32_t N, uint32_t C, uint32_t HW, float eps,
                           float momentum, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "bn_stats N%u C%u HW%u", N, C, HW);
    struct {
        uint32_t N, C, HW, off[6];
        float eps, momentum;
    } push = {N, C, HW, {0}, eps, momentum};
    cvl_vk_view v[6] = {stats, rmean, rvar, nbt, x, scalars};
    bool w[6] = {true, true, true, true, false, false};
    return go(seq, CVL_VK_BN_STATS, v, w, 6, push.off, &push, C, 1024, what, err);
}

cvl_status cvl_vk_bn_apply(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view stats, cvl_vk_view gamma,
                           cvl_vk_view beta, uint32_t C, uint32_t HW, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "bn_apply n=%llu C%u", (unsigned long long)y.count, C);
    uint32_t push[8] = {(uint32_t)y.count, C, HW};
    cvl_vk_view v[5] = {y, x, stats, gamma, beta};
    bool w[5] = {true, false, false, false, false};
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    return go(seq, CVL_VK_BN_APPLY, v, w, 5, &push[3], push, groups_for(dev, y.count), 0, what, err);
}

cvl_status cvl_vk_bn_bwd(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view stats,
                         cvl_vk_view gamma, uint32_t N, uint32_t C, uint32_t HW, bool params, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "bn_bwd%s N%u C%u HW%u", params ? "_params" : "", N, C, HW);
    uint32_t push[9] = {N, C, HW, params ? 1u : 0u};
    cvl_vk_view v[5] = {out, dy, x, stats, gamma};
    bool w[5] = {true, false, false, false, false};
    return go(seq, CVL_VK_BN_BWD, v, w, 5, &push[4], push, C, 2048, what, err);
}

cvl_status cvl_vk_pool2d(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const uint32_t geom[8], bool is_max, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "pool2d %ux%u k%u s%u", geom[1], geom[2], geom[5], geom[6]);
    uint32_t push[11] = {geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7], is_max};
    cvl_vk_view v[2] = {y, x};
    bool w[2] = {true, false};
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    return go(seq, CVL_VK_POOL2D, v, w, 2, &push[9], push, groups_for(dev, y.count), 0, what, err);
}

cvl_status cvl_vk_pool2d_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view y,
                             const uint32_t geom[8], bool is_max, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "pool2d_bwd %ux%u k%u s%u", geom[1], geom[2], geom[5], geom[6]);
    uint32_t push[13] = {geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7], is_max};
    cvl_vk_view v[4] = {dx, dy, x, y};
    bool w[4] = {true, false, false, false};
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    return go(seq, CVL_VK_POOL2D_BWD, v, w, 4, &push[9], push, groups_for(dev, dx.count), 0, what, err);
}

cvl_status cvl_vk_slice(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t D, uint32_t len, uint32_t start,
                        uint32_t inner, bool backward, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "slice%s D%u [%u, %u)", backward ? "_bwd" : "", D, start, start + len);
    uint32_t push[8] = {(uint32_t)y.count, D, len, start, inner, backward ? 1u : 0u};
    cvl_vk_view v[2] = {y, x};
    bool w[2] = {true, false};
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    return go(seq, CVL_VK_SLICE, v, w, 2, &push[6], push, groups_for(dev, y.count), 0, what, err);
}
