/* op_optim.c -- the optimizer updates, in place and windowed like every
 * elementwise op (shaders/sgd.comp, adam.comp, rmsprop.comp): parameter,
 * gradient and state walk the same windows; the scalar buffer (lr, step)
 * and the gradient norm (clipping) are bound whole. Absent state slots
 * alias the parameter's window; the shaders never touch them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

cvl_status cvl_vk_optim_step(cvl_vk_seq *seq, int kind, cvl_vk_view param, cvl_vk_view grad, const cvl_vk_view state[3],
                             const cvl_vk_optim *o, cvl_err *err) {
    static const char *const names[] = {"sgd", "adam", "rmsprop"};
    char what[80];
    snprintf(what, sizeof what, "%s n=%llu", names[kind], (unsigned long long)param.count);
    cvl_vk_view st[3];
    for (int i = 0; i < 3; i++) st[i] = state[i].buf ? state[i] : param;
    cvl_vk_view whole[2] = {o->scalars, o->gnorm};
    float clip = o->gnorm.buf ? o->clip : 0.0f;
    if (kind == CVL_VK_OPTIM_SGD) {
        cvl_vk_view v[3] = {param, grad, st[0]};
        uint32_t extra[5] = {o->nesterov, fbits(o->momentum), fbits(o->dampening), fbits(o->weight_decay), fbits(clip)};
        return cvl_vk_ew(seq, CVL_VK_SGD, NULL, v, 3, whole, 2, 0x5u, extra, 5, param.count, what, err);
    }
    if (kind == CVL_VK_OPTIM_ADAM) {
        cvl_vk_view v[5] = {param, grad, st[0], st[1], st[2]};
        uint32_t extra[8] = {fbits((float)o->beta1), fbits((float)o->beta2), fbits(o->eps), fbits(o->weight_decay),
                             fbits((float)log(o->beta1)), fbits((float)log(o->beta2)), fbits(clip),
                             (o->decoupled ? 1u : 0u) | (o->amsgrad ? 2u : 0u)};
        return cvl_vk_ew(seq, CVL_VK_ADAM, NULL, v, 5, whole, 2, 0x1du, extra, 8, param.count, what, err);
    }
    cvl_vk_view v[5] = {param, grad, st[0], st[1], st[2]};
    uint32_t extra[6] = {fbits(o->alpha), fbits(o->eps), fbits(o->weight_decay), fbits(o->momentum), fbits(clip),
                         o->centered};
    return cvl_vk_ew(seq, CVL_VK_RMSPROP, NULL, v, 5, whole, 2, 0x1du, extra, 6, param.count, what, err);
}
