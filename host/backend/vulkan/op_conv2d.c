/* op_conv2d.c -- convolution as an implicit GEMM (shaders/conv2d.comp):
 * forward, backward-data and backward-weight, register-tiled with the same
 * tile choice as the matmul (cvl_vk_matmul_pick_tiles). The im2col matrix
 * is never stored. Tensors are bound as single windows. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

cvl_status cvl_vk_conv2d(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                         int mode, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    static const char *const names[] = {"conv2d", "conv2d_bwd_data", "conv2d_bwd_weight"};
    char what[128];
    snprintf(what, sizeof what, "%s N%u C%u %ux%u K%u %ux%u s%u p%u d%u g%u", names[mode], g->N, g->C, g->H, g->W, g->K,
             g->R, g->S, g->sh, g->ph, g->dh, g->groups);
    uint32_t Cg = g->C / g->groups, Kg = g->K / g->groups, M, Nn;
    if (mode == 0) M = Kg, Nn = g->P * g->Q;
    else if (mode == 1) M = Cg, Nn = g->H * g->W;
    else M = Kg, Nn = Cg * g->R * g->S;
    cvl_vk_matmul_tiles t = cvl_vk_matmul_pick_tiles(dev, M, Nn);
    uint32_t local = (t.bm / t.tm) * (t.bn / t.tn);
    cvl_vk_spec spec = {.n = 9, .v = {local, 1, 1, t.bm, t.bn, t.bk, t.tm, t.tn, (uint32_t)mode}};
    const cvl_vk_pipeline *p;
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_CONV2D, &spec, 4 * t.bk * (t.bm + t.bn), err);
    if (st) return st;
    uint32_t push[19] = {g->N, g->C, g->H, g->W, g->K, g->R, g->S, g->P, g->Q, g->sh, g->sw, g->ph, g->pw,
                         g->dh, g->dw, g->groups};
    cvl_vk_view v[3] = {out, a, b};
    cvl_vk_binding bind[3];
    for (int i = 0; i < 3; i++) {
        if (v[i].count > cvl_vk_window_limit(dev))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a tensor of %llu floats exceeds one storage window", what,
                               (unsigned long long)v[i].count);
        st = cvl_vk_bind_window(&bind[i], &push[16 + i], dev, v[i], 0, v[i].count, i == 0, what, err);
        if (st) return st;
    }
    uint32_t z = mode == 2 ? g->groups : g->N * g->groups;
    if (z > dev->info.max_group_count[2])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %u workgroups along z exceed the device's %u", what, z,
                           dev->info.max_group_count[2]);
    uint32_t groups[3] = {(Nn + t.bn - 1) / t.bn, (M + t.bm - 1) / t.bm, z};
    return cvl_vk_seq_dispatch(seq, p, bind, push, groups, what, err);
}
