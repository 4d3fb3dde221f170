/* op_conv2d.c -- convolution as an implicit GEMM (shaders/conv2d.comp,
 * conv2d_bwd_data.comp, conv2d_bwd_weight.comp, one body in
 * conv2d_gemm.glsl): forward, backward-data and backward-weight, register-tiled with the same
 * tile choice as the matmul (cvl_vk_matmul_pick_tiles). The im2col matrix
 * is never stored.
 *
 * Windows: a convolution is cut into chunks of images [n0, n1), groups
 * [g0, g1) and, within one group, output channels [k0, k1), halved until
 * every operand's window fits maxStorageBufferRange and the chunk's
 * workgroups fit maxComputeWorkGroupCount[2]. Images first (they are
 * independent in the forward and backward-data directions; backward-weight
 * sums over them, so its later image chunks accumulate into dW), then
 * groups, then channels (a K-range of W and of y's channel planes; the
 * backward-data direction sums over channels, so its later channel chunks
 * accumulate into dx). A weight whose single filter, or an image whose
 * single group of channels (or output channel plane), exceeds a window is
 * refused naming the op.
 *
 * On a software device the GEMM's reduction per dispatch is bounded too
 * (cvl_vk_gemm_max_reduction): backward-weight's pairs of (image, output position) in
 * pieces, backward-data's channels in chunks, both accumulating.
 *
 * The *_f16.comp twins are the same with a and b stored as float16 (16-bit
 * storage), widened to fp32 as they enter shared memory.
 *
 * Depthwise convolutions in fp32 (groups == C == K, where the GEMM has one
 * row per group) go to the direct shaders of op_conv2d_dw.c instead. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

typedef struct span {
    uint64_t lo, hi;
} span;

typedef struct chunk {
    uint64_t n0, n1, g0, g1, k0, k1;
} chunk;

/* Operand roles per mode: which binding holds x, W, y. */
static const int k_role_x[3] = {2, 0, 2}, k_role_w[3] = {1, 1, 0}, k_role_y[3] = {0, 2, 1};

/* Elements of out, a, b a chunk touches (indices as the bindings). */
static void windows(span w[3], const cvl_vk_conv_geom *g, int mode, const chunk *c) {
    uint64_t Cg = g->C / g->groups, Kg = g->K / g->groups, HW = (uint64_t)g->H * g->W;
    uint64_t PQ = (uint64_t)g->P * g->Q, CRS = Cg * g->R * g->S;
    uint64_t ch_lo = c->g0 * Kg + c->k0, ch_hi = (c->g1 - 1) * Kg + c->k1;
    span x = {(c->n0 * g->C + c->g0 * Cg) * HW, ((c->n1 - 1) * g->C + c->g1 * Cg) * HW};
    span y = {(c->n0 * g->K + ch_lo) * PQ, ((c->n1 - 1) * g->K + ch_hi) * PQ};
    span wt = {ch_lo * CRS, ch_hi * CRS};
    w[k_role_x[mode]] = x;
    w[k_role_w[mode]] = wt;
    w[k_role_y[mode]] = y;
}

enum { FITS, FILTER_TOO_LARGE, IMAGE_TOO_LARGE, REDUCTION_TOO_LONG };

/* Chunk sizes (images, groups, channels) so that every window fits `lim`
 * (per binding, in elements), z fits, and backward-data's reduction (channels
 * x R x S) is at most max_kd; FITS, or why not. */
static int split(uint64_t ch[3], const cvl_vk_conv_geom *g, int mode, const uint64_t lim[3], uint64_t max_z,
                 uint64_t max_kd) {
    uint64_t Kg = g->K / g->groups, RS = (uint64_t)g->R * g->S;
    ch[1] = g->groups < max_z ? g->groups : max_z;
    ch[0] = g->N;
    if (mode != 2 && ch[0] > max_z / ch[1]) ch[0] = max_z / ch[1];
    ch[2] = Kg;
    for (;;) {
        span w[3];
        chunk c = {0, ch[0], 0, ch[1], 0, ch[2]};
        windows(w, g, mode, &c);
        bool over[3];
        for (int i = 0; i < 3; i++) over[i] = w[i].hi - w[i].lo > lim[i];
        bool too_long = mode == 1 && ch[2] * RS > max_kd;
        if (!over[0] && !over[1] && !over[2] && !too_long) return FITS;
        int dim;
        if (!over[0] && !over[1] && !over[2]) { /* too long: channels, one group at a time */
            if (ch[1] == 1 && ch[2] == 1) return REDUCTION_TOO_LONG;
            dim = ch[1] > 1 ? 1 : 2;
        } else if (over[k_role_w[mode]]) dim = ch[1] > 1 ? 1 : ch[2] > 1 ? 2 : -1;
        else if (ch[0] > 1) dim = 0;
        else if (over[k_role_y[mode]] && (ch[1] > 1 || ch[2] > 1)) dim = ch[1] > 1 ? 1 : 2;
        else if (over[k_role_x[mode]] && ch[1] > 1) dim = 1;
        else dim = -1;
        if (dim < 0) return over[k_role_w[mode]] ? FILTER_TOO_LARGE : IMAGE_TOO_LARGE;
        ch[dim] = (ch[dim] + 1) / 2;
        if (dim == 1) ch[2] = Kg; /* channels split only within one group */
    }
}

/* Elements [lo, hi) of v (element size 4, or 2 for float16) as a window;
 * *base is where element 0 of v would sit in it, mod 2^32. */
static cvl_status bind(cvl_vk_binding *out, uint32_t *base, const cvl_vk_device *dev, cvl_vk_view v, span s, bool half,
                       bool write, const char *what, cvl_err *err) {
    uint32_t off;
    if (!half) {
        cvl_status st = cvl_vk_bind_window(out, &off, dev, v, s.lo, s.hi, write, what, err);
        if (st) return st;
    } else {
        if (s.hi > v.count || v.offset % 2 || v.offset + v.count * 2 > v.buf->size)
            return cvl_err_set(err, CVL_ERR_INVALID, "%s: a tensor of %llu halves is read up to element %llu", what,
                               (unsigned long long)v.count, (unsigned long long)s.hi);
        uint64_t align = dev->info.storage_align;
        uint64_t byte_lo = v.buf->offset + v.offset + s.lo * 2, byte_hi = v.buf->offset + v.offset + s.hi * 2;
        uint64_t start = byte_lo / align * align;
        *out = (cvl_vk_binding){v.buf->buffer, start, byte_hi - start, write};
        if (out->range == 0) out->range = 4;
        off = (uint32_t)((byte_lo - start) / 2);
    }
    *base = (uint32_t)(off - s.lo); /* unsigned wrap-around: the shader adds it back */
    return CVL_OK;
}

static cvl_status conv2d(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                         int mode, bool f16, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    static const char *const names[] = {"conv2d", "conv2d_bwd_data", "conv2d_bwd_weight"};
    char what[128];
    if (mode < 0 || mode > 2) return cvl_err_set(err, CVL_ERR_INVALID, "conv2d: mode %d is not 0, 1 or 2", mode);
    snprintf(what, sizeof what, "%s%s N%u C%u %ux%u K%u %ux%u s%u p%u d%u g%u", names[mode], f16 ? "_f16" : "", g->N,
             g->C, g->H, g->W, g->K, g->R, g->S, g->sh, g->ph, g->dh, g->groups);
    if (f16 && !dev->info.storage16)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "%s: conv2d_f16.comp needs storageBuffer16BitAccess (VK_KHR_16bit_storage), which %s lacks",
                           what, dev->info.name);
    if (g->groups == 0 || g->C % g->groups || g->K % g->groups || g->sh == 0 || g->sw == 0)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: groups must divide C and K, strides must be positive", what);
    if (g->N == 0 || g->K == 0 || g->C == 0 || (uint64_t)g->H * g->W == 0 || (uint64_t)g->P * g->Q == 0)
        return CVL_OK;
    if (!f16 && g->groups == g->C && g->K == g->C) return cvl_vk_conv2d_dw(seq, out, a, b, g, mode, err);
    uint32_t Cg = g->C / g->groups, Kg = g->K / g->groups;
    uint64_t lim4 = cvl_vk_window_limit(dev), lim2 = 2 * lim4 < (1ull << 31) ? 2 * lim4 : (1ull << 31);
    uint64_t lim[3] = {lim4, f16 ? lim2 : lim4, f16 ? lim2 : lim4}, ch[3];
    if ((uint64_t)g->N * g->P * g->Q > UINT32_MAX)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: N x P x Q exceeds 2^32", what);
    uint32_t M, Nn;
    if (mode == 0) M = Kg, Nn = g->P * g->Q;
    else if (mode == 1) M = Cg, Nn = g->H * g->W;
    else M = Kg, Nn = Cg * g->R * g->S;
    /* backward-data's tiles do not depend on the split: its reduction bound is known before */
    cvl_vk_matmul_tiles t = cvl_vk_matmul_pick_tiles(dev, M, Nn);
    uint64_t max_kd = cvl_vk_gemm_max_reduction(dev, &t);
    int why = split(ch, g, mode, lim, dev->info.max_group_count[2], mode == 1 ? max_kd : UINT64_MAX);
    if (why == FILTER_TOO_LARGE)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "%s: one filter (%u x %ux%u = %llu floats) exceeds one storage window (%llu floats)", what,
                           Cg, g->R, g->S, (unsigned long long)Cg * g->R * g->S, (unsigned long long)lim4);
    if (why == IMAGE_TOO_LARGE)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "%s: one image (%u channels of %ux%u in, %ux%u per output channel) does not fit one storage "
                           "window (%llu floats)", what, Cg, g->H, g->W, g->P, g->Q, (unsigned long long)lim4);
    if (mode != 1) t = cvl_vk_matmul_pick_tiles(dev, (uint32_t)ch[2], Nn), max_kd = cvl_vk_gemm_max_reduction(dev, &t);
    if (why == REDUCTION_TOO_LONG || (mode == 0 && (uint64_t)Cg * g->R * g->S > max_kd))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "%s: a reduction of %u x %ux%u exceeds the %llu steps %s runs in one loop", what,
                           mode == 0 ? Cg : 1, g->R, g->S, (unsigned long long)max_kd, dev->info.name);
    uint32_t local = (t.bm / t.tm) * (t.bn / t.tn);
    cvl_vk_spec spec = {.n = 8, .v = {local, 1, 1, t.bm, t.bn, t.bk, t.tm, t.tn}};
    static const cvl_vk_kernel kernels[2][3] = {
        {CVL_VK_CONV2D, CVL_VK_CONV2D_BWD_DATA, CVL_VK_CONV2D_BWD_WEIGHT},
        {CVL_VK_CONV2D_F16, CVL_VK_CONV2D_BWD_DATA_F16, CVL_VK_CONV2D_BWD_WEIGHT_F16}};
    const cvl_vk_pipeline *p;
    cvl_status st = cvl_vk_pipeline_get(&p, dev, kernels[f16][mode], &spec,
                                        4 * t.bk * (t.bm + t.bn), err);
    if (st) return st;
    uint64_t gx = (Nn + t.bn - 1) / t.bn, gy = ((mode == 1 ? M : ch[2]) + t.bm - 1) / t.bm;
    if (gx > dev->info.max_group_count[0] || gy > dev->info.max_group_count[1])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %llux%llu workgroups exceed the device's %ux%u", what,
                           (unsigned long long)gx, (unsigned long long)gy, dev->info.max_group_count[0],
                           dev->info.max_group_count[1]);
    cvl_vk_view v[3] = {out, a, b};
    for (uint64_t n0 = 0; n0 < g->N && st == CVL_OK; n0 += ch[0])
        for (uint64_t g0 = 0; g0 < g->groups && st == CVL_OK; g0 += ch[1])
            for (uint64_t k0 = 0; k0 < Kg && st == CVL_OK; k0 += ch[2]) {
                chunk c = {n0, n0 + ch[0] < g->N ? n0 + ch[0] : g->N, g0, g0 + ch[1] < g->groups ? g0 + ch[1] : g->groups,
                           k0, k0 + ch[2] < Kg ? k0 + ch[2] : Kg};
                span w[3];
                windows(w, g, mode, &c);
                /* backward-weight: pairs (image, output position) [t0, t1) of the chunk's images per dispatch */
                uint64_t PQ = (uint64_t)g->P * g->Q, t_end = mode == 2 ? c.n1 * PQ : 0;
                uint64_t t0 = mode == 2 ? c.n0 * PQ : 0;
                do {
                    uint64_t t1 = t_end - t0 < max_kd ? t_end : t0 + max_kd;
                    bool acc = (mode == 2 && t0 > 0) || (mode == 1 && k0 > 0);
                    uint32_t push[25] = {(uint32_t)(mode == 2 ? t1 - t0 : c.n1 - c.n0), g->C, g->H, g->W, g->K,
                                         g->R, g->S, g->P, g->Q, g->sh, g->sw, g->ph, g->pw, g->dh, g->dw,
                                         g->groups, 0, 0, 0, (uint32_t)(mode == 2 ? t0 : c.n0), (uint32_t)c.g0,
                                         (uint32_t)(c.g1 - c.g0), (uint32_t)c.k0, (uint32_t)(c.k1 - c.k0),
                                         acc ? 1u : 0u};
                    cvl_vk_binding bd[3];
                    for (int i = 0; i < 3 && st == CVL_OK; i++)
                        st = bind(&bd[i], &push[16 + i], dev, v[i], w[i], f16 && i > 0, i == 0, what, err);
                    uint64_t z = mode == 2 ? c.g1 - c.g0 : (c.n1 - c.n0) * (c.g1 - c.g0);
                    uint32_t groups[3] = {(uint32_t)gx,
                                          (uint32_t)(((mode == 1 ? M : c.k1 - c.k0) + t.bm - 1) / t.bm), (uint32_t)z};
                    if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, bd, push, groups, what, err);
                    t0 = t1;
                } while (st == CVL_OK && t0 < t_end);
            }
    return st;
}

cvl_status cvl_vk_conv2d(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                         int mode, cvl_err *err) {
    return conv2d(seq, out, a, b, g, mode, false, err);
}

cvl_status cvl_vk_conv2d_f16(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b,
                             const cvl_vk_conv_geom *g, int mode, cvl_err *err) {
    return conv2d(seq, out, a, b, g, mode, true, err);
}
