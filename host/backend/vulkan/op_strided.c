/* op_strided.c -- ops that read through strides: broadcasting arithmetic
 * (shaders/binary.comp), strided copies for permute, concat and broadcast
 * (permute.comp), and sums over axes (sum_to.comp: broadcast gradients,
 * reduce, conv bias gradients).
 *
 * Windows: the output's linear index is walked in chunks. For a chunk
 * [lo, hi) every operand is bound over the element range it can touch --
 * computed from the first axis where lo and hi-1 differ -- and the shader
 * subtracts that range's start. A chunk whose ranges do not fit a window is
 * halved; one element always fits. */
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/ops.h"

#define WG 256u

void cvl_vk_strided_simplify(cvl_vk_strided *s, uint32_t n_ops) {
    uint32_t nd = 0;
    for (uint32_t d = 0; d < s->nd; d++) {
        if (s->shape[d] == 1) continue;
        s->shape[nd] = s->shape[d];
        for (uint32_t k = 0; k < n_ops; k++) s->st[k][nd] = s->st[k][d];
        nd++;
    }
    /* merge axis d-1 into d when every operand steps over d contiguously */
    uint32_t out = 0;
    for (uint32_t d = 0; d < nd; d++) {
        bool merge = out > 0;
        for (uint32_t k = 0; k < n_ops && merge; k++)
            merge = s->st[k][out - 1] == s->st[k][d] * s->shape[d];
        if (merge) {
            s->shape[out - 1] *= s->shape[d];
            for (uint32_t k = 0; k < n_ops; k++) s->st[k][out - 1] = s->st[k][d];
        } else {
            s->shape[out] = s->shape[d];
            for (uint32_t k = 0; k < n_ops; k++) s->st[k][out] = s->st[k][d];
            out++;
        }
    }
    if (out == 0) {
        s->shape[0] = 1;
        for (uint32_t k = 0; k < n_ops; k++) s->st[k][0] = 0;
        out = 1;
    }
    s->nd = out;
}

static void unravel(uint64_t i, uint32_t nd, const uint64_t *shape, uint64_t *idx) {
    for (uint32_t d = nd; d-- > 0;) {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
}

/* Elements [*min, *max] an operand with strides st can touch over linear indices [lo, hi). */
static void touch(uint64_t lo, uint64_t hi, uint32_t nd, const uint64_t *shape, const uint64_t *st, uint64_t *min,
                  uint64_t *max) {
    uint64_t a[CVL_VK_MAX_DIMS], b[CVL_VK_MAX_DIMS];
    unravel(lo, nd, shape, a);
    unravel(hi - 1, nd, shape, b);
    uint64_t base = 0;
    uint32_t d = 0;
    while (d < nd && a[d] == b[d]) base += a[d] * st[d], d++;
    if (d == nd) {
        *min = *max = base;
        return;
    }
    *min = base + a[d] * st[d];
    *max = base + b[d] * st[d];
    for (uint32_t k = d + 1; k < nd; k++) *max += (shape[k] - 1) * st[k];
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Push block of binary.comp and permute.comp (28 words). */
typedef struct strided_push {
    uint32_t n, lo, nd, off[3], min[3], f;
    uint32_t shape[CVL_VK_MAX_DIMS], sp[CVL_VK_MAX_DIMS], sq[CVL_VK_MAX_DIMS];
} strided_push;

/* Runs a strided kernel over s->shape: operand k < n_ops has strides
 * st[k]; `contig0` means operand 0 (the output) is contiguous and its
 * strides are not pushed (binary); the last two operands' strides go in
 * sp and sq. */
static cvl_status strided_run(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_spec *spec, const cvl_vk_view *v,
                              uint32_t n_ops, const cvl_vk_strided *s, float f, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t n = 1;
    for (uint32_t d = 0; d < s->nd; d++) n *= s->shape[d];
    if (n == 0) return CVL_OK;
    if (s->nd > CVL_VK_MAX_DIMS) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 6 axes", what);
    if (n > UINT32_MAX) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 2^32 elements", what);
    const cvl_vk_pipeline *p;
    cvl_status st = cvl_vk_pipeline_get(&p, dev, k, spec, 0, err);
    uint64_t lim = cvl_vk_window_limit(dev), chunk = lim / 64 * 64, at = 0;
    while (st == CVL_OK && at < n) {
        uint64_t m = n - at < chunk ? n - at : chunk, lo[3], hi[3];
        for (;;) {
            bool fits = true;
            for (uint32_t i = 0; i < n_ops; i++) {
                touch(at, at + m, s->nd, s->shape, s->st[i], &lo[i], &hi[i]);
                fits = fits && hi[i] - lo[i] + 1 <= lim;
            }
            if (fits || m == 1) break;
            m = (m + 1) / 2;
        }
        strided_push push = {.n = (uint32_t)m, .lo = (uint32_t)at, .nd = s->nd, .f = fbits(f)};
        for (uint32_t d = 0; d < s->nd; d++) {
            push.shape[d] = (uint32_t)s->shape[d];
            push.sp[d] = (uint32_t)s->st[n_ops - 2][d];
            push.sq[d] = (uint32_t)s->st[n_ops - 1][d];
        }
        cvl_vk_binding b[3];
        for (uint32_t i = 0; i < n_ops && st == CVL_OK; i++) {
            push.min[i] = (uint32_t)lo[i];
            st = cvl_vk_bind_window(&b[i], &push.off[i], dev, v[i], lo[i], hi[i] + 1, i == 0, what, err);
        }
        uint32_t groups[3] = {cvl_vk_grid_groups(dev, m), 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
        at += m;
    }
    return st;
}

cvl_status cvl_vk_binary(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view a, cvl_vk_view b, const cvl_vk_strided *s,
                         int32_t op, cvl_err *err) {
    static const char *const names[] = {"add", "sub", "mul", "div"};
    uint32_t kind = op >= CVL_OP_ADD && op <= CVL_OP_DIV ? (uint32_t)(op - CVL_OP_ADD) : 0;
    char what[96];
    snprintf(what, sizeof what, "%s (broadcast) n=%llu over %u axes", names[kind], (unsigned long long)y.count, s->nd);
    cvl_vk_strided c = *s;
    uint64_t acc = 1; /* the output is contiguous */
    for (uint32_t d = c.nd; d-- > 0;) c.st[0][d] = acc, acc *= c.shape[d];
    cvl_vk_strided_simplify(&c, 3);
    cvl_vk_spec spec = {.n = 4, .v = {WG, 1, 1, kind}};
    cvl_vk_view v[3] = {y, a, b};
    return strided_run(seq, CVL_VK_BINARY, &spec, v, 3, &c, 1.0f, what, err);
}

cvl_status cvl_vk_copy_strided(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_strided *s, float f,
                               cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "strided copy n=%llu over %u axes", (unsigned long long)x.count, s->nd);
    cvl_vk_strided c = *s;
    cvl_vk_strided_simplify(&c, 2);
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_vk_view v[2] = {y, x};
    return strided_run(seq, CVL_VK_PERMUTE, &spec, v, 2, &c, f, what, err);
}

/* Push block of sum_to.comp (25 words). */
typedef struct sum_push {
    uint32_t n, lo, nk, nr, y_off, x_off, x_min, f;
    uint32_t kshape[4], kst[4], rshape[4], rst[4];
    uint32_t acc;
} sum_push;

/* One pass of sum_to over reduced axes R (x already offset to their start). */
static cvl_status sum_pass(cvl_vk_seq *seq, const cvl_vk_pipeline *p, cvl_vk_view y, cvl_vk_view x,
                           const cvl_vk_strided *K, const cvl_vk_strided *R, float f, bool acc, const char *what,
                           cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t n = 1, span = 0, lim = cvl_vk_window_limit(dev), chunk = lim / 64 * 64, at = 0;
    for (uint32_t d = 0; d < K->nd; d++) n *= K->shape[d];
    for (uint32_t d = 0; d < R->nd; d++) span += (R->shape[d] - 1) * R->st[0][d];
    uint32_t per_group = WG / (dev->info.subgroup_size ? dev->info.subgroup_size : 1); /* outputs per workgroup */
    if (per_group == 0) per_group = 1;
    cvl_status st = CVL_OK;
    while (st == CVL_OK && at < n) {
        uint64_t m = n - at < chunk ? n - at : chunk, lo, hi;
        for (;;) {
            touch(at, at + m, K->nd, K->shape, K->st[0], &lo, &hi);
            if (hi + span - lo + 1 <= lim || m == 1) break;
            m = (m + 1) / 2;
        }
        sum_push push = {.n = (uint32_t)m, .lo = (uint32_t)at, .nk = K->nd, .nr = R->nd, .x_min = (uint32_t)lo,
                         .f = fbits(f), .acc = acc};
        for (uint32_t d = 0; d < 4; d++) {
            push.kshape[d] = d < K->nd ? (uint32_t)K->shape[d] : 1;
            push.kst[d] = d < K->nd ? (uint32_t)K->st[0][d] : 0;
            push.rshape[d] = d < R->nd ? (uint32_t)R->shape[d] : 1;
            push.rst[d] = d < R->nd ? (uint32_t)R->st[0][d] : 0;
        }
        cvl_vk_binding b[2];
        st = cvl_vk_bind_window(&b[0], &push.y_off, dev, y, at, at + m, true, what, err);
        if (st == CVL_OK) st = cvl_vk_bind_window(&b[1], &push.x_off, dev, x, lo, hi + span + 1, false, what, err);
        uint64_t g = (m + per_group - 1) / per_group;
        uint32_t groups[3] = {(uint32_t)(g > 65535 ? 65535 : g), 1, 1};
        if (st == CVL_OK) st = cvl_vk_seq_dispatch(seq, p, b, &push, groups, what, err);
        at += m;
    }
    return st;
}

/* Rows of the outer reduced axis one pass may take on a software device:
 * llvmpipe ends every loop of an invocation after 65535 iterations in all
 * (silently), and a lane of sum_to.comp runs about 1 + nr iterations per
 * reduced element it visits (one in sg of them), for each output its
 * subgroup takes. 0: not even one row fits. */
static uint64_t loop_rows(const cvl_vk_device *dev, const cvl_vk_strided *K, const cvl_vk_strided *R) {
    if (!cvl_vk_loops_bounded(dev)) return UINT64_MAX;
    uint64_t sg = dev->info.subgroup_size ? dev->info.subgroup_size : 1, inner = 1, n = 1;
    for (uint32_t d = 1; d < R->nd; d++) inner *= R->shape[d];
    for (uint32_t d = 0; d < K->nd; d++) n *= K->shape[d];
    uint64_t per_group = WG / sg ? WG / sg : 1, outs = (n + 65535 * per_group - 1) / (65535 * per_group);
    return CVL_VK_LOOP_BUDGET * sg / ((2 + R->nd) * outs) / inner; /* the lanes share a piece's rows * inner elements */
}

/* When one output's reduced elements span more than a window (or, on a
 * software device, more than its loops run), the outermost reduced axis is
 * cut into pieces, later pieces adding onto the first. */
cvl_status cvl_vk_sum_to(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_strided *kept,
                         const cvl_vk_strided *red, float f, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    cvl_vk_strided K = *kept, R = *red;
    cvl_vk_strided_simplify(&K, 1);
    cvl_vk_strided_simplify(&R, 1);
    char what[96];
    snprintf(what, sizeof what, "sum_to %llu outputs from %llu elements", (unsigned long long)y.count,
             (unsigned long long)x.count);
    if (K.nd > 4 || R.nd > 4) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 4 kept or summed axes", what);
    uint64_t lim = cvl_vk_window_limit(dev), rest = 0;
    for (uint32_t d = 1; d < R.nd; d++) rest += (R.shape[d] - 1) * R.st[0][d];
    /* rows of the outer reduced axis per piece, one kept element beside them */
    uint64_t piece = rest + 1 <= lim && R.st[0][0] ? (lim - 1 - rest) / R.st[0][0] + 1 : R.shape[0];
    if (rest + 1 > lim || piece == 0)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one output's inner summed axes span more than a storage window",
                           what);
    if (piece > R.shape[0]) piece = R.shape[0];
    uint64_t rows = loop_rows(dev, &K, &R);
    if (rows == 0)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one row of the summed axes is longer than the loops %s runs",
                           what, dev->info.name);
    if (piece > rows) piece = rows;
    const cvl_vk_pipeline *p;
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    cvl_status st = cvl_vk_pipeline_get(&p, dev, CVL_VK_SUM_TO, &spec, 0, err);
    for (uint64_t r0 = 0; st == CVL_OK && r0 < R.shape[0]; r0 += piece) {
        cvl_vk_strided Rp = R;
        Rp.shape[0] = R.shape[0] - r0 < piece ? R.shape[0] - r0 : piece;
        uint64_t skip = r0 * R.st[0][0];
        cvl_vk_view xs = {x.buf, x.offset + skip * 4, x.count - skip};
        st = sum_pass(seq, p, y, xs, &K, &Rp, f, r0 > 0, what, err);
    }
    return st;
}
