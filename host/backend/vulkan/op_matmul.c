/* op_matmul.c -- batched matmul with transposes (shaders/matmul.comp, the
 * register-tiled GEMM, shaders/matmul_naive.comp, the baseline, and
 * shaders/matmul_f16.comp, the tiled GEMM over float16-stored A and B).
 *
 * Linear layers map onto it as: forward y = x W^T (trans_b), backward
 * dx = dy W, dW = dy^T x (trans_a, accumulate for n_gradients). */
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

/* Largest first; the first that the device's shared memory and workgroup
 * limits allow, and that C fills with at least four workgroups, is taken.
 * GPUs want many invocations per workgroup (latency hiding); a software
 * device runs a workgroup on one core, where fewer invocations with larger
 * register blocks win. BK 8 beat 16 everywhere on lavapipe (bench/README.md). */
static const cvl_vk_matmul_tiles k_tiles_gpu[] = {
    {128, 128, 8, 8, 8}, /* 256 invocations, 8 KiB */
    {64, 64, 8, 4, 4},   /* 256 invocations, 4 KiB */
    {32, 32, 8, 2, 2},   /* 256 invocations, 2 KiB */
};
static const cvl_vk_matmul_tiles k_tiles_cpu[] = {
    {128, 128, 8, 8, 8}, /* 256 invocations, 8 KiB */
    {64, 64, 8, 8, 8},   /* 64 invocations, 4 KiB */
    {32, 32, 8, 4, 4},   /* 64 invocations, 2 KiB */
};

static uint32_t shared_bytes(const cvl_vk_matmul_tiles *t) { return 4 * t->bk * (t->bm + t->bn); }
static uint32_t invocations(const cvl_vk_matmul_tiles *t) { return (t->bm / t->tm) * (t->bn / t->tn); }

cvl_vk_matmul_tiles cvl_vk_matmul_pick_tiles(const cvl_vk_device *dev, uint32_t M, uint32_t N) {
    bool software = dev->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const cvl_vk_matmul_tiles *tiles = software ? k_tiles_cpu : k_tiles_gpu;
    size_t n = 3;
    for (size_t i = 0; i < n; i++) {
        const cvl_vk_matmul_tiles *t = &tiles[i];
        bool fits = shared_bytes(t) <= dev->info.shared_memory && invocations(t) <= dev->info.max_invocations &&
                    invocations(t) % dev->info.subgroup_size == 0;
        bool filled = (uint64_t)M * N >= (uint64_t)t->bm * t->bn * 4 || i + 1 == n;
        if (fits && filled) return *t;
    }
    return tiles[n - 1];
}

cvl_vk_matmul_variant cvl_vk_matmul_pick_variant(const cvl_vk_device *dev) {
    return cvl_vk_matmul_pick_variant_for(dev, false);
}

cvl_vk_matmul_variant cvl_vk_matmul_pick_variant_for(const cvl_vk_device *dev, bool f16) {
    /* COOPMAT (f16 operands) once a cooperative-matrix shader is built in */
    if (f16) return dev->info.storage16 ? CVL_VK_MATMUL_VARIANT_TILED_F16 : CVL_VK_MATMUL_AUTO;
    return CVL_VK_MATMUL_VARIANT_TILED;
}

uint16_t cvl_vk_half_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u)); /* inf, NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504 */
    if (ax < 0x38800000u) {                                   /* below 2^-14: a subnormal half (or 0) */
        if (ax < 0x33000000u) return sign;                    /* below 2^-25 */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u, shift = 126u - (ax >> 23);
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax - 0x38000000u; /* rebias the exponent: 127 - 15 */
    uint32_t q = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1))) q++; /* a carry moves into the exponent */
    return (uint16_t)(sign | q);
}

float cvl_vk_float_from_half(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0x1f) x = sign | 0x7f800000u | (m << 13);
    else if (e) x = sign | ((e + 112) << 23) | (m << 13);
    else {
        float f = (float)m * 0x1p-24f; /* subnormal (exact) */
        memcpy(&x, &f, 4);
        x |= sign;
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* Elements [lo, hi) of a float16 view as a window (cvl_vk_bind_window for
 * 2-byte elements). */
static cvl_status bind_half_window(cvl_vk_binding *out, uint32_t *elem_off, const cvl_vk_device *dev, cvl_vk_view v,
                                   uint64_t lo, uint64_t hi, const char *what, cvl_err *err) {
    if (hi > v.count || v.offset % 2 || v.offset + v.count * 2 > v.buf->size)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: a tensor of %llu halves is read up to element %llu", what,
                           (unsigned long long)v.count, (unsigned long long)hi);
    uint64_t align = dev->info.storage_align;
    uint64_t byte_lo = v.buf->offset + v.offset + lo * 2, byte_hi = v.buf->offset + v.offset + hi * 2;
    uint64_t base = byte_lo / align * align;
    *out = (cvl_vk_binding){v.buf->buffer, base, byte_hi - base, false};
    if (out->range == 0) out->range = 4;
    *elem_off = (uint32_t)((byte_lo - base) / 2);
    return CVL_OK;
}

/* llvmpipe (lavapipe) ends every loop of a shader invocation, silently,
 * once 65535 loop iterations have run in it all told: a longer reduction
 * leaves the GEMM short and later loops (the output's) unrun -- measured:
 * a 3x5x150001 matmul off by 900%, conv backward-weight over 64 images of
 * 28x28 short by a third. On a software device a dispatch's reduction
 * stays under it, counting per BK step the k loop, both tile loads' loops,
 * the inner loop (if not unrolled) and slack for the barriers; 60000
 * leaves room for the loops around. t NULL: the naive shader (one loop
 * iteration per k). */
uint64_t cvl_vk_gemm_max_reduction(const cvl_vk_device *dev, const cvl_vk_matmul_tiles *t) {
    if (!cvl_vk_loops_bounded(dev)) return UINT64_MAX;
    if (t == NULL) return CVL_VK_LOOP_BUDGET;
    uint64_t nt = (t->bm / t->tm) * (t->bn / t->tn);
    uint64_t per_step = 4 + (t->bk * t->bm + nt - 1) / nt + (t->bk * t->bn + nt - 1) / nt + t->bk;
    return CVL_VK_LOOP_BUDGET / per_step * t->bk;
}

typedef struct plan {
    uint64_t M, N, K, B, sa, sb, sc;
    bool ta, tb;
} plan;

typedef struct window {
    uint64_t lo, hi;
} window;

/* Elements of A, B, C touched by batches [b0,b1), rows [m0,m1), columns
 * [n0,n1), depth [k0,k1). */
static void windows(window w[3], const plan *p, uint64_t b0, uint64_t b1, uint64_t m0, uint64_t m1, uint64_t n0,
                    uint64_t n1, uint64_t k0, uint64_t k1) {
    w[0].lo = b0 * p->sa + (p->ta ? k0 * p->M + m0 : m0 * p->K + k0);
    w[0].hi = (b1 - 1) * p->sa + (p->ta ? (k1 - 1) * p->M + m1 - 1 : (m1 - 1) * p->K + k1 - 1) + 1;
    w[1].lo = b0 * p->sb + (p->tb ? n0 * p->K + k0 : k0 * p->N + n0);
    w[1].hi = (b1 - 1) * p->sb + (p->tb ? (n1 - 1) * p->K + k1 - 1 : (k1 - 1) * p->N + n1 - 1) + 1;
    w[2].lo = b0 * p->sc + m0 * p->N + n0;
    w[2].hi = (b1 - 1) * p->sc + (m1 - 1) * p->N + n1 - 1 + 1;
}

/* Chunk sizes (batch, M, N, K) so every window binds; false if none do. */
static bool split(uint64_t ch[4], const plan *p, uint64_t lim, uint64_t max_m, uint64_t max_b) {
    ch[0] = p->B < max_b ? p->B : max_b;
    ch[1] = p->M < max_m ? p->M : max_m;
    ch[2] = p->N;
    ch[3] = p->K;
    for (int iter = 0; iter < 256; iter++) {
        window w[3];
        windows(w, p, 0, ch[0], 0, ch[1], 0, ch[2], 0, ch[3]);
        bool over_a = w[0].hi - w[0].lo > lim, over_b = w[1].hi - w[1].lo > lim, over_c = w[2].hi - w[2].lo > lim;
        if (!over_a && !over_b && !over_c) return true;
        int dim = ch[0] > 1 ? 0 : over_c ? 1 : over_a ? (p->ta ? 3 : 1) : (p->tb ? 2 : 3);
        if (ch[dim] == 1) return false;
        ch[dim] = (ch[dim] + 1) / 2;
    }
    return false;
}

/* The pipeline for args, the elements of C per workgroup and the longest
 * reduction one dispatch may run (cvl_vk_gemm_max_reduction). */
static cvl_status get_pipeline(const cvl_vk_pipeline **pl, uint32_t groups_per[2], uint64_t *max_k, cvl_vk_device *dev,
                               const cvl_vk_matmul_args *a, bool f16, cvl_err *err) {
    if (f16 && !dev->info.storage16)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "matmul_f16.comp needs storageBuffer16BitAccess (VK_KHR_16bit_storage), which %s lacks",
                           dev->info.name);
    cvl_vk_matmul_variant v = a->variant == CVL_VK_MATMUL_AUTO ? cvl_vk_matmul_pick_variant_for(dev, f16) : a->variant;
    if (f16 != (v == CVL_VK_MATMUL_VARIANT_TILED_F16))
        return cvl_err_set(err, CVL_ERR_INVALID, "%s", f16 ? "float16 operands need the TILED_F16 variant"
                                                            : "the TILED_F16 variant needs cvl_vk_matmul_f16");
    if (v == CVL_VK_MATMUL_VARIANT_COOPMAT)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "matmul %ux%ux%u: no cooperative-matrix shader for %s yet",
                           a->M, a->N, a->K, dev->info.name);
    if (v == CVL_VK_MATMUL_VARIANT_NAIVE) {
        cvl_vk_spec spec = {.n = 10, .v = {16, 16, 1, 0, 0, 0, 0, 0, a->trans_a, a->trans_b}};
        groups_per[0] = groups_per[1] = 16;
        *max_k = cvl_vk_gemm_max_reduction(dev, NULL);
        return cvl_vk_pipeline_get(pl, dev, CVL_VK_MATMUL_NAIVE, &spec, 0, err);
    }
    cvl_vk_matmul_tiles t = a->tiles ? *a->tiles : cvl_vk_matmul_pick_tiles(dev, a->M, a->N);
    if (t.tm == 0 || t.tn == 0 || t.bk == 0 || t.bm % t.tm || t.bn % t.tn)
        return cvl_err_set(err, CVL_ERR_INVALID, "matmul tiles %ux%ux%u/%ux%u are not a valid tiling", t.bm, t.bn,
                           t.bk, t.tm, t.tn);
    cvl_vk_spec spec = {.n = 10, .v = {invocations(&t), 1, 1, t.bm, t.bn, t.bk, t.tm, t.tn, a->trans_a, a->trans_b}};
    groups_per[0] = t.bn;
    groups_per[1] = t.bm;
    *max_k = cvl_vk_gemm_max_reduction(dev, &t);
    return cvl_vk_pipeline_get(pl, dev, f16 ? CVL_VK_MATMUL_F16 : CVL_VK_MATMUL, &spec, shared_bytes(&t), err);
}

/* f16: a and b hold float16 (matmul_f16.comp). */
static cvl_status matmul(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b, const cvl_vk_matmul_args *args,
                         bool f16, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint32_t batch = args->batch ? args->batch : 1;
    char what[128];
    snprintf(what, sizeof what, "matmul%s %ux%ux%u%s%s batch %u", f16 ? "_f16" : "", args->M, args->N, args->K,
             args->trans_a ? " A^T" : "", args->trans_b ? " B^T" : "", batch);
    if (args->M == 0 || args->N == 0) return CVL_OK;
    const cvl_vk_pipeline *pl;
    uint32_t per[2] = {1, 1};
    uint64_t max_k = UINT64_MAX;
    cvl_status st = get_pipeline(&pl, per, &max_k, dev, args, f16, err);
    if (st != CVL_OK) return cvl_err_prefix(err, "%s: ", what);
    plan p = {args->M, args->N, args->K, batch, 0, 0, (uint64_t)args->M * args->N, args->trans_a, args->trans_b};
    p.sa = args->share_a ? 0 : (uint64_t)args->M * args->K;
    p.sb = args->share_b ? 0 : (uint64_t)args->K * args->N;
    uint64_t ch[4];
    uint64_t max_m = (uint64_t)dev->info.max_group_count[1] * per[1];
    if (args->K == 0 || !split(ch, &p, cvl_vk_window_limit(dev), max_m, dev->info.max_group_count[2]))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %s", what,
                           args->K == 0 ? "K is 0" : "operands cannot be split to fit maxStorageBufferRange");
    if (ch[3] > max_k) ch[3] = max_k; /* the K chunks accumulate */
    if ((p.N + per[0] - 1) / per[0] > dev->info.max_group_count[0])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: N too large for one dispatch", what);
    for (uint64_t b0 = 0; b0 < p.B && st == CVL_OK; b0 += ch[0])
        for (uint64_t m0 = 0; m0 < p.M && st == CVL_OK; m0 += ch[1])
            for (uint64_t n0 = 0; n0 < p.N && st == CVL_OK; n0 += ch[2])
                for (uint64_t k0 = 0; k0 < p.K && st == CVL_OK; k0 += ch[3]) {
                    uint64_t b1 = b0 + ch[0] < p.B ? b0 + ch[0] : p.B, m1 = m0 + ch[1] < p.M ? m0 + ch[1] : p.M;
                    uint64_t n1 = n0 + ch[2] < p.N ? n0 + ch[2] : p.N, k1 = k0 + ch[3] < p.K ? k0 + ch[3] : p.K;
                    window w[3];
                    windows(w, &p, b0, b1, m0, m1, n0, n1, k0, k1);
                    cvl_vk_binding bd[3];
                    uint32_t push[13] = {(uint32_t)(m1 - m0), (uint32_t)(n1 - n0), (uint32_t)(k1 - k0),
                                         (uint32_t)(p.ta ? p.M : p.K), (uint32_t)(p.tb ? p.K : p.N), (uint32_t)p.N,
                                         (uint32_t)p.sa, (uint32_t)p.sb, (uint32_t)p.sc, 0, 0, 0,
                                         (args->accumulate || k0 > 0) ? 1u : 0u};
                    st = cvl_vk_bind_window(&bd[0], &push[11], dev, c, w[2].lo, w[2].hi, true, what, err);
                    if (st == CVL_OK && f16) {
                        st = bind_half_window(&bd[1], &push[9], dev, a, w[0].lo, w[0].hi, what, err);
                        if (st == CVL_OK) st = bind_half_window(&bd[2], &push[10], dev, b, w[1].lo, w[1].hi, what, err);
                    } else if (st == CVL_OK) {
                        st = cvl_vk_bind_window(&bd[1], &push[9], dev, a, w[0].lo, w[0].hi, false, what, err);
                        if (st == CVL_OK) st = cvl_vk_bind_window(&bd[2], &push[10], dev, b, w[1].lo, w[1].hi, false, what, err);
                    }
                    uint32_t groups[3] = {(uint32_t)((n1 - n0 + per[0] - 1) / per[0]),
                                          (uint32_t)((m1 - m0 + per[1] - 1) / per[1]), (uint32_t)(b1 - b0)};
                    if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, pl, bd, push, groups, what, err);
                }
    return st;
}

cvl_status cvl_vk_matmul(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b,
                         const cvl_vk_matmul_args *args, cvl_err *err) {
    return matmul(seq, c, a, b, args, false, err);
}

cvl_status cvl_vk_matmul_f16(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b,
                             const cvl_vk_matmul_args *args, cvl_err *err) {
    return matmul(seq, c, a, b, args, true, err);
}
