/* op_norm_pool.c -- batch norm (statistics, apply, both backward passes),
 * 2-D pooling and its gradient, and slices (shaders/bn_*.comp,
 * pool2d*.comp, slice.comp), on windows:
 *
 * - pooling: whole planes (of N * C) per window, every operand over the
 *   same planes; a plane larger than a window is refused.
 * - batch norm's per-channel sums (statistics, both backward passes): the
 *   N * C planes of (N, C, HW) walked in chunks of whole planes, each chunk
 *   adding its per-channel sums into a (2, C) buffer -- the statistics
 *   themselves, the parameter gradients, or scratch for dx -- which a last
 *   pass of one invocation per channel finishes. The running statistics
 *   and num_batches_tracked are updated there, once.
 * - bn_apply and the dx pass: chunks of the element range (cvl_vk_ew).
 * - slices: chunks of the output's linear index, x bound over the range
 *   the chunk reads, chunks halved until it fits.
 * Per-channel tensors ((2, C), gamma, ...) are bound whole. */
#include <stdio.h>

#include "backend/vulkan/ops.h"

#define WG 256u
/* Loop iterations one invocation may run: lavapipe ends a shader's loops
 * after 65535 iterations in all (its loop limiter), so batch norm's sums
 * give each workgroup at most WG * SUM_ITERS elements a chunk. */
#define SUM_ITERS 32768u

/* Binds v[i] over elements [lo[i], hi[i]) -- written when bit i of `writes`
 * is set -- with its element offset in offs[i], then dispatches `groups`
 * workgroups with `push`. */
static cvl_status dispatch(cvl_vk_seq *seq, const cvl_vk_pipeline *p, const cvl_vk_view *v, const uint64_t *lo,
                           const uint64_t *hi, uint32_t n, uint32_t writes, uint32_t *offs, const void *push,
                           uint32_t groups, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    cvl_vk_binding b[CVL_VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < n; i++) {
        cvl_status st = cvl_vk_bind_window(&b[i], &offs[i], dev, v[i], lo[i], hi[i], (writes >> i) & 1, what, err);
        if (st) return st;
    }
    uint32_t g[3] = {groups, 1, 1};
    return cvl_vk_seq_dispatch(seq, p, b, push, g, what, err);
}

/* Refuses a plane (of `plane` floats) larger than a window. */
static cvl_status plane_fits(const cvl_vk_device *dev, uint64_t plane, const char *what, cvl_err *err) {
    uint64_t lim = cvl_vk_window_limit(dev);
    if (plane <= lim) return CVL_OK;
    return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one plane of %llu floats exceeds a storage window (%llu floats)",
                       what, (unsigned long long)plane, (unsigned long long)lim);
}

/* Refuses a per-channel tensor larger than a window (they are bound whole). */
static cvl_status small_fits(const cvl_vk_device *dev, const cvl_vk_view *v, uint32_t n, const char *what,
                             cvl_err *err) {
    for (uint32_t i = 0; i < n; i++)
        if (v[i].count > cvl_vk_window_limit(dev))
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: a per-channel tensor of %llu floats exceeds a storage window",
                               what, (unsigned long long)v[i].count);
    return CVL_OK;
}

/* Runs kernel p over `planes` planes in chunks of whole planes: v[i] holds
 * plane[i] floats a plane (0: bound whole). push[np_at] gets the chunk's
 * plane count, push[p0_at] (unless ~0u) its first plane, push[off_at + i]
 * the offsets. Workgroups: `groups`, or 0 for one invocation per element
 * of v[0]'s chunk. At most `max_per` planes a chunk (0: no cap). */
typedef struct planes_job {
    const cvl_vk_pipeline *p;
    const cvl_vk_view *v;
    const uint64_t *plane;
    uint32_t n, writes;
    uint64_t planes;
    uint32_t *push, np_at, p0_at, off_at, groups;
    uint64_t max_per;
} planes_job;

static cvl_status planes_run(cvl_vk_seq *seq, const planes_job *j, const char *what, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    uint64_t lim = cvl_vk_window_limit(dev), per = j->planes ? j->planes : 1;
    for (uint32_t i = 0; i < j->n; i++) {
        if (j->plane[i] == 0) continue;
        cvl_status st = plane_fits(dev, j->plane[i], what, err);
        if (st) return st;
        if (lim / j->plane[i] < per) per = lim / j->plane[i];
    }
    if (j->max_per && j->max_per < per) per = j->max_per;
    cvl_status st = CVL_OK;
    for (uint64_t p0 = 0; st == CVL_OK && p0 < j->planes; p0 += per) {
        uint64_t np = j->planes - p0 < per ? j->planes - p0 : per, lo[CVL_VK_MAX_BINDINGS], hi[CVL_VK_MAX_BINDINGS];
        for (uint32_t i = 0; i < j->n; i++) {
            lo[i] = j->plane[i] ? p0 * j->plane[i] : 0;
            hi[i] = j->plane[i] ? (p0 + np) * j->plane[i] : j->v[i].count;
        }
        j->push[j->np_at] = (uint32_t)np;
        if (j->p0_at != ~0u) j->push[j->p0_at] = (uint32_t)p0;
        uint32_t groups = j->groups ? j->groups : cvl_vk_grid_groups(dev, np * j->plane[0]);
        st = dispatch(seq, j->p, j->v, lo, hi, j->n, j->writes, &j->push[j->off_at], j->push, groups, what, err);
    }
    return st;
}

static cvl_status pipeline(const cvl_vk_pipeline **p, cvl_vk_seq *seq, cvl_vk_kernel k, uint32_t shared,
                           cvl_err *err) {
    cvl_vk_spec spec = {.n = 1, .v = {WG}};
    return cvl_vk_pipeline_get(p, cvl_vk_seq_device(seq), k, &spec, shared, err);
}

/* Sizes the batch-norm shaders index in uint32 and one workgroup per channel. */
static cvl_status bn_check(const cvl_vk_device *dev, uint32_t N, uint32_t C, uint32_t HW, const char *what,
                           cvl_err *err) {
    if ((uint64_t)N * C * HW > UINT32_MAX)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 2^32 elements", what);
    if (C > dev->info.max_group_count[0])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %u channels exceed the device's %u workgroups", what, C,
                           dev->info.max_group_count[0]);
    if (N == 0 || C == 0 || HW == 0) return cvl_err_set(err, CVL_ERR_INVALID, "%s: an empty tensor", what);
    if (HW > WG * SUM_ITERS)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: one plane of %u floats is more than a workgroup sums in one pass (%u)",
                           what, HW, WG * SUM_ITERS);
    return CVL_OK;
}

/* Planes a chunk of the per-channel sums, so that every workgroup (one
 * channel) sums at most WG * SUM_ITERS elements. */
static uint64_t bn_max_per(uint32_t C, uint32_t HW) { return (uint64_t)C * (WG * SUM_ITERS / HW); }

cvl_status cvl_vk_bn_stats(cvl_vk_seq *seq, cvl_vk_view stats, cvl_vk_view rmean, cvl_vk_view rvar, cvl_vk_view nbt,
                           cvl_vk_view x, cvl_vk_view scalars, uint32_t N, uint32_t C, uint32_t HW, float eps,
                           float momentum, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "bn_stats N%u C%u HW%u", N, C, HW);
    struct {
        uint32_t C, HW, p0, np, count, mode, off[6];
        float eps, momentum;
    } push = {C, HW, 0, 0, N * HW, 0, {0}, eps, momentum};
    /* bindings: stats, running mean, running var, num_batches_tracked, x, scalars */
    cvl_vk_view v[6] = {stats, rmean, rvar, nbt, x, scalars};
    const cvl_vk_pipeline *p;
    cvl_status st = bn_check(dev, N, C, HW, what, err);
    if (st == CVL_OK) st = small_fits(dev, v, 4, what, err);
    if (st == CVL_OK) st = pipeline(&p, seq, CVL_VK_BN_STATS, WG * 4, err);
    if (st) return st;
    /* sums of x, then of squared deviations from their mean, into stats */
    uint64_t plane[6] = {0, 0, 0, 0, HW, 0};
    planes_job j = {.p = p, .v = v, .plane = plane, .n = 6, .writes = 1u, .planes = (uint64_t)N * C,
                    .push = (uint32_t *)&push, .np_at = 3, .p0_at = 2, .off_at = 6, .groups = C,
                    .max_per = bn_max_per(C, HW)};
    for (push.mode = 0; push.mode < 2 && st == CVL_OK; push.mode++) st = planes_run(seq, &j, what, err);
    if (st) return st;
    /* the statistics and the running ones, once; x is not read */
    uint64_t lo[6] = {0, 0, 0, 0, 0, 0}, hi[6] = {stats.count, rmean.count, rvar.count, nbt.count, 1, scalars.count};
    push.mode = 2;
    return dispatch(seq, p, v, lo, hi, 6, 0xfu, push.off, &push, cvl_vk_grid_groups(dev, C), what, err);
}

cvl_status cvl_vk_bn_apply(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view stats, cvl_vk_view gamma,
                           cvl_vk_view beta, uint32_t C, uint32_t HW, cvl_err *err) {
    char what[96];
    snprintf(what, sizeof what, "bn_apply n=%llu C%u HW%u", (unsigned long long)y.count, C, HW);
    cvl_vk_view split[2] = {y, x}, whole[3] = {stats, gamma, beta};
    uint32_t extra[2] = {C, HW};
    return cvl_vk_ew(seq, CVL_VK_BN_APPLY, NULL, split, 2, whole, 3, 1u, extra, 2, y.count, what, err);
}

cvl_status cvl_vk_bn_bwd(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view stats,
                         cvl_vk_view gamma, cvl_vk_view scratch, uint32_t N, uint32_t C, uint32_t HW, bool params,
                         cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "bn_bwd%s N%u C%u HW%u", params ? "_params" : "", N, C, HW);
    /* the sums go to the (2, C) output itself, or to scratch for dx */
    cvl_vk_view sums = params ? out : (cvl_vk_view){scratch.buf, scratch.offset, 2 * (uint64_t)C};
    if (!params && scratch.count < 2 * (uint64_t)C)
        return cvl_err_set(err, CVL_ERR_INVALID, "%s: scratch holds %llu floats, needs %llu", what,
                           (unsigned long long)scratch.count, 2 * (unsigned long long)C);
    /* push: n, lo, offsets of o, dy, x, stats, gamma, a; C, HW, p0, np, count, mode */
    uint32_t push[14] = {0, 0, 0, 0, 0, 0, 0, 0, C, HW, 0, 0, N * HW, 1};
    cvl_vk_view v[6] = {sums, dy, x, stats, gamma, stats}; /* a: unused until dx */
    cvl_vk_view small[3] = {sums, stats, gamma};
    const cvl_vk_pipeline *p;
    cvl_status st = bn_check(dev, N, C, HW, what, err);
    if (st == CVL_OK) st = small_fits(dev, small, 3, what, err);
    if (st == CVL_OK) st = pipeline(&p, seq, CVL_VK_BN_BWD, WG * 8, err);
    if (st) return st;
    uint64_t plane[6] = {0, HW, HW, 0, 0, 0};
    planes_job j = {.p = p, .v = v, .plane = plane, .n = 6, .writes = 1u, .planes = (uint64_t)N * C,
                    .push = push, .np_at = 11, .p0_at = 10, .off_at = 2, .groups = C, .max_per = bn_max_per(C, HW)};
    st = planes_run(seq, &j, what, err);
    if (st) return st;
    /* sum(dy * (x - mean)) * rstd; dy and x are not read */
    uint64_t lo[6] = {0}, hi[6] = {sums.count, 1, 1, stats.count, gamma.count, stats.count};
    push[13] = 2;
    st = dispatch(seq, p, v, lo, hi, 6, 1u, &push[2], push, cvl_vk_grid_groups(dev, C), what, err);
    if (st || params) return st;
    cvl_vk_view split[3] = {out, dy, x}, whole[3] = {stats, gamma, sums};
    uint32_t extra[6] = {C, HW, 0, 0, N * HW, 0};
    return cvl_vk_ew(seq, CVL_VK_BN_BWD, NULL, split, 3, whole, 3, 1u, extra, 6, out.count, what, err);
}

/* Push block of pool2d.comp and pool2d_bwd.comp: the geometry with this
 * chunk's plane count, is_max, then the offsets. */
static void pool_push(uint32_t *push, const cvl_vk_pool_geom *g, bool is_max) {
    uint32_t w[10] = {g->planes, g->H, g->W, g->P, g->Q, g->kh, g->kw, g->stride, g->pad, is_max};
    for (uint32_t i = 0; i < 10; i++) push[i] = w[i];
}

/* A software device (lavapipe) ends a shader's loops after 65535
 * iterations in all: refuse a window that would loop past that (with the
 * grid-stride loop's two rounds) rather than give wrong values. */
static cvl_status pool_loops(const cvl_vk_device *dev, uint64_t iters, const char *what, cvl_err *err) {
    if (!cvl_vk_loops_bounded(dev) || iters <= CVL_VK_LOOP_BUDGET / 2) return CVL_OK;
    return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %llu loop iterations an element exceed what %s runs (65535 in all)",
                       what, (unsigned long long)iters, dev->info.name);
}

static void pool_what(char *what, size_t cap, const char *op, const cvl_vk_pool_geom *g) {
    snprintf(what, cap, "%s %u planes %ux%u k%ux%u s%u p%u", op, g->planes, g->H, g->W, g->kh, g->kw, g->stride,
             g->pad);
}

cvl_status cvl_vk_pool2d(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_pool_geom *g, bool is_max,
                         cvl_err *err) {
    char what[96];
    pool_what(what, sizeof what, "pool2d", g);
    uint32_t push[12];
    pool_push(push, g, is_max);
    cvl_vk_view v[2] = {y, x};
    uint64_t plane[2] = {(uint64_t)g->P * g->Q, (uint64_t)g->H * g->W};
    const cvl_vk_pipeline *p;
    cvl_status st = pool_loops(cvl_vk_seq_device(seq), (uint64_t)g->kh * g->kw, what, err);
    if (st == CVL_OK) st = pipeline(&p, seq, CVL_VK_POOL2D, 0, err);
    if (st) return st;
    planes_job j = {.p = p, .v = v, .plane = plane, .n = 2, .writes = 1u, .planes = g->planes, .push = push,
                    .np_at = 0, .p0_at = ~0u, .off_at = 10};
    return planes_run(seq, &j, what, err);
}

cvl_status cvl_vk_pool2d_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view y,
                             const cvl_vk_pool_geom *g, bool is_max, cvl_err *err) {
    char what[96];
    pool_what(what, sizeof what, "pool2d_bwd", g);
    uint32_t push[14];
    pool_push(push, g, is_max);
    cvl_vk_view v[4] = {dx, dy, x, y};
    uint64_t hw = (uint64_t)g->H * g->W, pq = (uint64_t)g->P * g->Q, plane[4] = {hw, pq, hw, pq};
    const cvl_vk_pipeline *p;
    uint64_t s = g->stride ? g->stride : 1, outs = (uint64_t)((g->kh + s - 1) / s) * ((g->kw + s - 1) / s);
    cvl_status st = pool_loops(cvl_vk_seq_device(seq), is_max ? outs * g->kh * g->kw : outs, what, err);
    if (st == CVL_OK) st = pipeline(&p, seq, CVL_VK_POOL2D_BWD, 0, err);
    if (st) return st;
    planes_job j = {.p = p, .v = v, .plane = plane, .n = 4, .writes = 1u, .planes = g->planes, .push = push,
                    .np_at = 0, .p0_at = ~0u, .off_at = 10};
    return planes_run(seq, &j, what, err);
}

/* Elements of x that output elements [lo, hi) of a slice read: [*xlo, *xhi)
 * (empty when none of them is inside the slice). */
static void slice_reads(uint64_t lo, uint64_t hi, uint64_t D, uint64_t len, uint64_t start, uint64_t inner,
                        bool backward, uint64_t *xlo, uint64_t *xhi) {
    if (!backward) { /* y (outer, len, inner) -> x (outer, D, inner): increasing */
        uint64_t a = lo / inner, b = (hi - 1) / inner;
        *xlo = ((a / len) * D + start + a % len) * inner + lo % inner;
        *xhi = ((b / len) * D + start + b % len) * inner + (hi - 1) % inner + 1;
        return;
    }
    /* y (outer, D, inner) <- x (outer, len, inner): the x element at or
     * after output element i, for i = lo and i = hi */
    uint64_t at[2] = {lo, hi}, r[2];
    for (int k = 0; k < 2; k++) {
        uint64_t row = at[k] / inner, o = row / D, d = row % D;
        uint64_t in = d < start ? 0 : d >= start + len ? len * inner : (d - start) * inner + at[k] % inner;
        r[k] = o * len * inner + in;
    }
    *xlo = r[0];
    *xhi = r[1];
}

cvl_status cvl_vk_slice(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t D, uint32_t len, uint32_t start,
                        uint32_t inner, bool backward, cvl_err *err) {
    cvl_vk_device *dev = cvl_vk_seq_device(seq);
    char what[96];
    snprintf(what, sizeof what, "slice%s D%u [%u, %u) inner %u", backward ? "_bwd" : "", D, start, start + len, inner);
    uint64_t n = y.count, lim = cvl_vk_window_limit(dev), chunk = lim / 64 * 64;
    if (n > UINT32_MAX || x.count > UINT32_MAX)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: more than 2^32 elements", what);
    if (n == 0 || len == 0 || inner == 0) return CVL_OK;
    const cvl_vk_pipeline *p;
    cvl_status st = pipeline(&p, seq, CVL_VK_SLICE, 0, err);
    for (uint64_t at = 0; st == CVL_OK && at < n;) {
        uint64_t m = n - at < chunk ? n - at : chunk, xlo, xhi;
        for (;;) { /* one output element reads at most one of x */
            slice_reads(at, at + m, D, len, start, inner, backward, &xlo, &xhi);
            if (xhi - xlo <= lim || m == 1) break;
            m = (m + 1) / 2;
        }
        if (xhi <= xlo) xlo = 0, xhi = 1; /* reads nothing: any one element */
        uint32_t push[10] = {(uint32_t)m, (uint32_t)at, D, len, start, inner, backward, 0, 0, (uint32_t)xlo};
        cvl_vk_view v[2] = {y, x};
        uint64_t lo[2] = {at, xlo}, hi[2] = {at + m, xhi};
        st = dispatch(seq, p, v, lo, hi, 2, 1u, &push[7], push, cvl_vk_grid_groups(dev, m), what, err);
        at += m;
    }
    return st;
}
