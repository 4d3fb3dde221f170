/* op_conv2d_dw.c -- depthwise convolution (groups == C == K: one R x S
 * filter per channel), fp32, by direct shaders instead of the implicit
 * GEMM, whose tiles a one-row GEMM per group leaves almost empty
 * (shaders/conv2d_dw.comp, conv2d_dw_bwd_data.comp,
 * conv2d_dw_bwd_weight.comp, sharing conv2d_dw.glsl):
 *
 * - forward: one invocation per output element, summing the taps that
 *   read inside the map;
 * - backward-data: one invocation per input element, summing the taps
 *   through which it feeds an output (stride, padding, dilation);
 * - backward-weight: one workgroup per weight element, its invocations
 *   summing every WG-th (image, output position) pair, then a workgroup
 *   sum (subgroupAdd): no atomics, deterministic.
 * Workgroups of 256 invocations (64 for lavapipe's backward-weight) in a
 * 2-D grid.
 *
 * Windows: chunks of images [n0, n1) and channels [c0, c1), images halved
 * first, then channels, until the x, W and y windows fit and the chunk's
 * workgroups fit the device's 2-D grid. Every channel is independent, so
 * only backward-weight sums across chunks: its later image chunks add onto
 * dW. One channel plane of x or y larger than a window is refused.
 *
 * On a software device (llvmpipe ends every loop of an invocation after
 * 65535 iterations in all, silently) the per-invocation loops are cut into
 * pieces that accumulate: forward and backward-data take at most
 * CVL_VK_LOOP_BUDGET / (S + 1) filter rows a dispatch, backward-weight at most
 * WG_SUM_CPU * (CVL_VK_LOOP_BUDGET - WG_SUM_CPU) pairs. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u
#define WG_SUM_CPU 64u /* lavapipe's backward-weight: 64-invocation workgroups measured 2x faster than 256 */

typedef struct span {
    uint64_t lo, hi;
} span;

/* Operand roles per mode (bindings of x, W, y), as cvl_vk_conv2d has them. */
static const int k_role_x[3] = {2, 0, 2}, k_role_w[3] = {1, 1, 0}, k_role_y[3] = {0, 2, 1};

/* Elements of out, a, b that images [n0, n1) and channels [c0, c1) touch. */
static void windows(span w[3], const cvl_vk_conv_geom *g, int mode, uint64_t n0, uint64_t n1, uint64_t c0,
                    uint64_t c1) {
    uint64_t HW = (uint64_t)g->H * g->W, PQ = (uint64_t)g->P * g->Q, RS = (uint64_t)g->R * g->S;
    w[k_role_x[mode]] = (span){(n0 * g->C + c0) * HW, ((n1 - 1) * g->C + c1) * HW};
    w[k_role_y[mode]] = (span){(n0 * g->C + c0) * PQ, ((n1 - 1) * g->C + c1) * PQ};
    w[k_role_w[mode]] = (span){c0 * RS, c1 * RS};
}

/* Workgroups a chunk of nn images and cn channels dispatches. */
static uint64_t chunk_groups(const cvl_vk_conv_geom *g, int mode, uint64_t nn, uint64_t cn, uint32_t wg) {
    if (mode == 2) return cn * g->R * g->S;
    uint64_t per = mode == 0 ? (uint64_t)g->P * g->Q : (uint64_t)g->H * g->W;
    return (nn * cn * per + wg - 1) / wg;
}

/* A 2-D grid of at least n workgroups: as many in x as the device allows. */
static void grid(uint32_t out[3], const cvl_vk_device *dev, uint64_t n) {
    uint64_t gx = n < dev->info.max_group_count[0] ? n : dev->info.max_group_count[0];
    out[0] = (uint32_t)gx;
    out[1] = (uint32_t)((n + gx - 1) / gx);
    out[2] = 1;
}

cvl_status cvl_vk_conv2d_dw(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                            int mode, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    static const char *const names[] = {"conv2d_dw", "conv2d_dw_bwd_data", "conv2d_dw_bwd_weight"};
    static const cvl_vk_kernel kernels[] = {CVL_VK_CONV2D_DW, CVL_VK_CONV2D_DW_BWD_DATA, CVL_VK_CONV2D_DW_BWD_WEIGHT};
    char what[128];
    snprintf(what, sizeof what, "%s N%u C%u %ux%u %ux%u s%u p%u d%u", names[mode], g->N, g->C, g->H, g->W, g->R, g->S,
             g->sh, g->ph, g->dh);
    bool software = dev->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    uint32_t wg = software && mode == 2 ? WG_SUM_CPU : WG;
    uint64_t lim = cvl_vk_window_limit(dev), PQ = (uint64_t)g->P * g->Q;
    uint64_t max_groups = (uint64_t)dev->info.max_group_count[0] * dev->info.max_group_count[1];
    /* chunk sizes: images, then channels, halved until everything fits */
    uint64_t nn = g->N, cn = g->C;
    for (;;) {
        span w[3];
        windows(w, g, mode, 0, nn, 0, cn);
        bool over_w = w[k_role_w[mode]].hi - w[k_role_w[mode]].lo > lim;
        bool over_xy = w[k_role_x[mode]].hi - w[k_role_x[mode]].lo > lim ||
                       w[k_role_y[mode]].hi - w[k_role_y[mode]].lo > lim;
        bool over_g = chunk_groups(g, mode, nn, cn, wg) > max_groups;
        if (!over_w && !over_xy && !over_g) break;
        if (nn > 1 && !over_w && (over_xy || mode != 2)) nn = (nn + 1) / 2;
        else if (cn > 1) cn = (cn + 1) / 2;
        else if (over_w || (over_g && mode == 2))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                               "%s: one %ux%u filter exceeds one storage window (%llu floats) or the device's "
                               "workgroup grid", what, g->R, g->S, (unsigned long long)lim);
        else
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                               "%s: one channel plane (%ux%u in, %ux%u out) does not fit one storage window "
                               "(%llu floats) or the device's workgroup grid", what, g->H, g->W, g->P, g->Q, (unsigned long long)lim);
    }
    /* a software device's loop bound: filter rows (forward, backward-data) or pairs (backward-weight) a piece */
    uint64_t rows = software ? CVL_VK_LOOP_BUDGET / ((uint64_t)g->S + 1) : g->R;
    uint64_t pairs = software ? (uint64_t)wg * (CVL_VK_LOOP_BUDGET - wg) : UINT64_MAX;
    if (rows == 0)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a filter row of %u taps exceeds the %u steps %s runs in one loop",
                           what, g->S, CVL_VK_LOOP_BUDGET, dev->info.name);
    if (rows > g->R) rows = g->R;
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {wg}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, kernels[mode], &spec, mode == 2 ? 4 * wg : 0, err);
    cvl_vk_view v[3] = {out, a, b};
    /* backward-weight sums over images: channels outside, so that image chunks and pieces accumulate */
    uint64_t outer_n = mode == 2 ? cn : nn, outer_end = mode == 2 ? g->C : g->N;
    uint64_t inner_n = mode == 2 ? nn : cn, inner_end = mode == 2 ? g->N : g->C;
    for (uint64_t o0 = 0; o0 < outer_end && st == CVL_OK; o0 += outer_n)
        for (uint64_t i0 = 0; i0 < inner_end && st == CVL_OK; i0 += inner_n) {
            uint64_t o1 = o0 + outer_n < outer_end ? o0 + outer_n : outer_end;
            uint64_t i1 = i0 + inner_n < inner_end ? i0 + inner_n : inner_end;
            uint64_t n0 = mode == 2 ? i0 : o0, n1 = mode == 2 ? i1 : o1;
            uint64_t c0 = mode == 2 ? o0 : i0, c1 = mode == 2 ? o1 : i1;
            span w[3];
            windows(w, g, mode, n0, n1, c0, c1);
            /* pieces: filter rows [r0, r1), or pairs [t0, t1) of the chunk's images */
            uint64_t lo = mode == 2 ? n0 * PQ : 0, end = mode == 2 ? n1 * PQ : g->R, step = mode == 2 ? pairs : rows;
            for (uint64_t q0 = lo, q1; q0 < end && st == CVL_OK; q0 = q1) {
                q1 = end - q0 < step ? end : q0 + step;
                uint32_t push[25] = {g->C, g->H, g->W, g->R, g->S, g->P, g->Q, g->sh, g->sw, g->ph, g->pw, g->dh,
                                     g->dw, 0, 0, 0, (uint32_t)n0, (uint32_t)(n1 - n0), (uint32_t)c0,
                                     (uint32_t)(c1 - c0), mode == 2 ? 0 : (uint32_t)q0, mode == 2 ? g->R : (uint32_t)q1,
                                     mode == 2 ? (uint32_t)q0 : 0, mode == 2 ? (uint32_t)(q1 - q0) : 0, q0 > 0 ? 1u : 0u};
                cvl_vk_binding bd[3];
                for (int i = 0; i < 3 && st == CVL_OK; i++) {
                    uint32_t off = 0;
                    st = cvl_vk_bind_window(&bd[i], &off, dev, v[i], w[i].lo, w[i].hi, i == 0, what, err);
                    push[13 + i] = (uint32_t)(off - w[i].lo); /* unsigned wrap-around: the shader adds it back */
                }
                uint32_t groups[3];
                grid(groups, dev, chunk_groups(g, mode, n1 - n0, c1 - c0, wg));
                if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, bd, push, groups, what, err);
            }
        }
    return st;
}
