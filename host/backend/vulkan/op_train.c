/* op_train.c -- the ops a training step needs beyond GEMMs and elementwise
 * arithmetic: bias rows, cross-entropy forward and backward, the SGD update
 * (shaders/bias_rows.comp, cross_entropy.comp, cross_entropy_bwd.comp,
 * sgd.comp). Each binds its tensors as single windows: a tensor past the
 * device's storage range is refused with a message naming the op. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u

static uint32_t groups_for(const cvl_vk_device *dev, uint64_t n) {
    uint64_t g = (n + WG - 1) / WG;
    uint64_t cap = dev->info.max_group_count[0] < 65535 ? dev->info.max_group_count[0] : 65535;
    return (uint32_t)(g == 0 ? 1 : g > cap ? cap : g);
}

/* Binds every view whole; push[first_off + i] receives view i's offset. */
static cvl_status bind_all(cvl_vk_binding *b, uint32_t *push, uint32_t first_off, cvl_vk_device *dev,
                           const cvl_vk_view *v, const bool *write, uint32_t n, const char *what, cvl_err *err) {
    for (uint32_t i = 0; i < n; i++) {
        if (v[i].count > cvl_vk_window_limit(dev))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds one storage window", what,
                               (unsigned long long)v[i].count);
        cvl_status st = cvl_vk_bind_window(&b[i], &push[first_off + i], dev, v[i], 0, v[i].count, write[i], what, err);
        if (st) return st;
    }
    return CVL_OK;
}

static cvl_status dispatch(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_binding *b, const void *push, uint32_t groups,
                           uint32_t local, const char *what, cvl_err *err) {
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {local}};
    cvl_status st = cvl_vk_pipeline_get(&p, cvl_vk_seq_device(seq), k, &spec, local == 256 && k == CVL_VK_CROSS_ENTROPY ? 1024 : 0, err);
    uint32_t g[3] = {groups, 1, 1};
    return st ? st : cvl_vk_seq_dispatch(seq, p, b, push, g, what, err);
}

cvl_status cvl_vk_bias_rows(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view bias, uint32_t rows, uint32_t cols, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "bias_rows %ux%u", rows, cols);
    uint32_t push[4] = {rows * cols, cols};
    cvl_vk_binding b[2];
    cvl_vk_view v[2] = {y, bias};
    bool w[2] = {true, false};
    cvl_status st = bind_all(b, push, 2, cvl_vk_seq_device(seq), v, w, 2, what, err);
    return st ? st : dispatch(seq, CVL_VK_BIAS_ROWS, b, push, groups_for(cvl_vk_seq_device(seq), (uint64_t)rows * cols), WG, what, err);
}

cvl_status cvl_vk_cross_entropy(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                uint32_t rows, uint32_t cols, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "cross_entropy %ux%u", rows, cols);
    uint32_t push[5] = {rows, cols};
    cvl_vk_binding b[3];
    cvl_vk_view v[3] = {loss, logits, labels};
    bool w[3] = {true, false, false};
    cvl_status st = bind_all(b, push, 2, cvl_vk_seq_device(seq), v, w, 3, what, err);
    return st ? st : dispatch(seq, CVL_VK_CROSS_ENTROPY, b, push, 1, WG, what, err);
}

cvl_status cvl_vk_cross_entropy_bwd(cvl_vk_seq *seq, cvl_vk_view dlogits, cvl_vk_view dloss, cvl_vk_view logits,
                                    cvl_vk_view labels, uint32_t rows, uint32_t cols, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "cross_entropy_bwd %ux%u", rows, cols);
    uint32_t push[6] = {rows, cols};
    cvl_vk_binding b[4];
    cvl_vk_view v[4] = {dlogits, dloss, logits, labels};
    bool w[4] = {true, false, false, false};
    cvl_status st = bind_all(b, push, 2, cvl_vk_seq_device(seq), v, w, 4, what, err);
    return st ? st : dispatch(seq, CVL_VK_CROSS_ENTROPY_BWD, b, push, groups_for(cvl_vk_seq_device(seq), rows), WG, what, err);
}

cvl_status cvl_vk_sgd(cvl_vk_seq *seq, cvl_vk_view param, cvl_vk_view grad, cvl_vk_view buf, cvl_vk_view scalars,
                      float momentum, float dampening, float weight_decay, bool nesterov, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "sgd n=%llu", (unsigned long long)param.count);
    struct {
        uint32_t n, p_off, g_off, b_off, s_off, nesterov;
        float momentum, dampening, wd;
    } push = {(uint32_t)param.count, 0, 0, 0, 0, nesterov, momentum, dampening, weight_decay};
    uint32_t offs[4];
    cvl_vk_binding b[4];
    cvl_vk_view v[4] = {param, grad, buf, scalars};
    bool w[4] = {true, false, true, false};
    cvl_status st = bind_all(b, offs, 0, cvl_vk_seq_device(seq), v, w, 4, what, err);
    push.p_off = offs[0];
    push.g_off = offs[1];
    push.b_off = offs[2];
    push.s_off = offs[3];
    return st ? st : dispatch(seq, CVL_VK_SGD, b, &push, groups_for(cvl_vk_seq_device(seq), param.count), WG, what, err);
}
