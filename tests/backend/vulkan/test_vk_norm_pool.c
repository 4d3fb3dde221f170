/* Batch norm, pooling and slices on Vulkan against the CPU backend.
 *
 * 1. Op by op (graph_parity.h), forward and backward: batch norm in
 *    training (output, dx, d gamma, d beta; inputs centred and offset by
 *    4), its running statistics, num_batches_tracked and the eval-mode
 *    output after three steps; max and average pooling (3x3 stride 2 pad
 *    1, 2x2 on odd maps, 3x3 stride 1); global pooling of square and
 *    non-square maps; slices along every axis. Odd shapes (N=5, C=3, 7x9).
 *    Bound: max |vk - cpu| / max |cpu| <= 1e-5.
 * 2. A model: input -> BatchNorm -> relu -> max pool (3x3, stride 2, pad 1)
 *    -> BatchNorm -> avg pool 2x2 -> flatten -> linear -> cross-entropy,
 *    and a second head through global average and max pooling, trained 10
 *    steps with SGD on both backends from the same weights and batches.
 *    Losses, running statistics, num_batches_tracked and eval-mode logits
 *    must agree within 1e-4 relative.
 * All of it on the device as it is, then with 512-byte storage windows
 * (124 floats: one 7x9 plane per window, so batch norm's sums run in 15
 * chunks that split samples, pooling one plane a dispatch, slices in many
 * chunks) and 1 KiB windows (four planes: chunks that hold one channel
 * twice). A plane larger than a window is refused with one line naming
 * the op. bn_stats, bn_apply, pooling and a slice also run at the op level
 * on a tensor past the device's real range (136 MiB). On a software device
 * a window whose loops would pass lavapipe's 65535 iterations is refused.
 * Validation on; any message fails. */
#include "graph_parity.h"

#define BN_EPS 1e-5

static cvl_tensor *xin(cvl_graph *g, int64_t H, int64_t W) { return gp_param(g, "x", 4, 5, 3, H, W); }

static cvl_tensor *bn_of(cvl_graph *g, cvl_tensor *x) {
    int64_t C = x->shape[1], one = 1;
    cvl_tensor *gamma = gp_param(g, "gamma", 1, C, 0, 0, 0), *beta = gp_param(g, "beta", 1, C, 0, 0, 0);
    cvl_tensor *rm = cvl_buffer(g, "rm", CVL_DTYPE_F32, 1, &C, CVL_INIT_ZEROS, 0);
    cvl_tensor *rv = cvl_buffer(g, "rv", CVL_DTYPE_F32, 1, &C, CVL_INIT_ONES, 0);
    cvl_tensor *nbt = cvl_buffer(g, "nbt", CVL_DTYPE_I64, 1, &one, CVL_INIT_ZEROS, 0);
    return cvl_batch_norm(g, x, gamma, beta, rm, rv, nbt, BN_EPS, 0.1);
}
static cvl_tensor *bn(cvl_graph *g) { return bn_of(g, xin(g, 7, 9)); }
static cvl_tensor *bn_offset(cvl_graph *g) { /* mean 4, std 1: the variance pass must not cancel */
    int64_t one = 1;
    float four = 4.0f;
    return bn_of(g, cvl_binary(g, CVL_OP_ADD, xin(g, 7, 9), cvl_constant(g, 1, &one, &four)));
}
static cvl_tensor *bn_1x1(cvl_graph *g) { return bn_of(g, gp_param(g, "x", 4, 7, 5, 1, 1)); }

static cvl_tensor *max3(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_MAX_POOL, xin(g, 7, 9), 3, 2, 1); }
static cvl_tensor *avg3(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_AVG_POOL, xin(g, 7, 9), 3, 2, 1); }
static cvl_tensor *avg3s1(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_AVG_POOL, xin(g, 7, 9), 3, 1, 1); }
static cvl_tensor *max2(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_MAX_POOL, xin(g, 7, 9), 2, 2, 0); }
static cvl_tensor *avg2(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_AVG_POOL, xin(g, 7, 9), 2, 2, 0); }
static cvl_tensor *gavg(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_AVG_POOL, xin(g, 7, 9)); }
static cvl_tensor *gmax(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_MAX_POOL, xin(g, 7, 9)); }
static cvl_tensor *gavg_tall(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_AVG_POOL, xin(g, 9, 7)); }
static cvl_tensor *gmax_tall(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_MAX_POOL, xin(g, 9, 7)); }
static cvl_tensor *gavg_sq(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_AVG_POOL, xin(g, 6, 6)); }

static cvl_tensor *slice0(cvl_graph *g) { return cvl_slice(g, xin(g, 7, 9), 0, 1, 4); }
static cvl_tensor *slice1(cvl_graph *g) { return cvl_slice(g, xin(g, 7, 9), 1, 1, 3); }
static cvl_tensor *slice2(cvl_graph *g) { return cvl_slice(g, xin(g, 7, 9), 2, 3, 4); }
static cvl_tensor *slice3(cvl_graph *g) { return cvl_slice(g, xin(g, 7, 9), 3, 2, 7); }

static const gp_case cases[] = {
    {.name = "batch norm (5,3,7,9)", .build = bn, .tol = 1e-5},
    {.name = "batch norm (5,3,7,9) + 4", .build = bn_offset, .tol = 1e-5},
    {.name = "batch norm (7,5,1,1)", .build = bn_1x1, .tol = 1e-5},
    {.name = "max pool 3x3 s2 p1 on 7x9", .build = max3, .tol = 1e-5},
    {.name = "avg pool 3x3 s2 p1 on 7x9", .build = avg3, .tol = 1e-5},
    {.name = "avg pool 3x3 s1 p1 on 7x9", .build = avg3s1, .tol = 1e-5},
    {.name = "max pool 2x2 on 7x9", .build = max2, .tol = 1e-5},
    {.name = "avg pool 2x2 on 7x9", .build = avg2, .tol = 1e-5},
    {.name = "global avg pool 7x9", .build = gavg, .tol = 1e-5},
    {.name = "global max pool 7x9", .build = gmax, .tol = 1e-5},
    {.name = "global avg pool 9x7", .build = gavg_tall, .tol = 1e-5},
    {.name = "global max pool 9x7", .build = gmax_tall, .tol = 1e-5},
    {.name = "global avg pool 6x6", .build = gavg_sq, .tol = 1e-5},
    {.name = "slice axis 0 [1,4)", .build = slice0, .tol = 0},
    {.name = "slice axis 1 [1,3)", .build = slice1, .tol = 0},
    {.name = "slice axis 2 [3,4)", .build = slice2, .tol = 0},
    {.name = "slice axis 3 [2,7)", .build = slice3, .tol = 0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Batch norm trained three steps: the running statistics and
 * num_batches_tracked after them, then the output in eval mode. */
static void bn_running(cvl_vk_device *dev, const char *tag) {
    gp_case c = {.name = "batch norm running statistics", .build = bn_offset};
    cvl_err e = {0};
    gp_side cpu = {0}, vk = {0};
    bool ok = gp_make(&cpu, &c, cvl_backend_cpu_new(1), &e) && gp_make(&vk, &c, cvl_backend_vulkan_new(dev), &e);
    gp_side *sides[2] = {&cpu, &vk};
    for (int step = 1; ok && step <= 3; step++)
        for (int k = 0; k < 2; k++) {
            gp_inputs(sides[k], &c, &e);
            cvl_step_scalars sc = {.lr = 0.1, .step = step, .training = true};
            cvl_backend_run(sides[k]->be, 0, cvl_graph_size(sides[k]->g), &sc, &e);
        }
    double worst = 0;
    const char *bufs[2] = {"rm", "rv"};
    for (int i = 0; ok && i < 2; i++)
        worst = fmax(worst, gp_diff(&cpu, cvl_graph_find(cpu.g, bufs[i]), &vk, cvl_graph_find(vk.g, bufs[i]), &e));
    int64_t nb[2] = {0, 0};
    for (int k = 0; ok && k < 2; k++) cvl_backend_read(sides[k]->be, cvl_graph_find(sides[k]->g, "nbt"), &nb[k], 8, &e);
    CHECK(ok && e.status == CVL_OK && worst <= 1e-5 && nb[0] == 3 && nb[1] == 3,
          "%s%s: running mean and var agree (%.1e), num_batches_tracked %lld and %lld (%s)", c.name, tag, worst,
          (long long)nb[0], (long long)nb[1], e.msg);
    cvl_step_scalars ev = {.training = false};
    for (int k = 0; ok && k < 2; k++) cvl_backend_run(sides[k]->be, 0, sides[k]->y->id + 1, &ev, &e);
    double d = ok ? gp_diff(&cpu, cpu.y, &vk, vk.y, &e) : 1;
    for (int k = 0; ok && k < 2; k++) cvl_backend_read(sides[k]->be, cvl_graph_find(sides[k]->g, "nbt"), &nb[k], 8, &e);
    CHECK(ok && e.status == CVL_OK && d <= 1e-5 && nb[1] == 3, "batch norm in eval mode%s agrees (%.1e) and counts no batch (%s)",
          tag, d, e.msg);
    if (cpu.be) cvl_backend_free(cpu.be);
    if (vk.be) cvl_backend_free(vk.be);
    cvl_graph_free(cpu.g);
    cvl_graph_free(vk.g);
}

/* The reference itself: global pooling of a 2x3 map covers all six values
 * on both backends (mean 3.5, max 6). */
static void global_values(cvl_vk_device *dev) {
    float x[6] = {1, 2, 6, 3, 5, 4}, got[2][2] = {{0}};
    for (int k = 0; k < 2; k++) {
        cvl_graph *g = cvl_graph_new(0);
        int64_t shape[4] = {1, 1, 2, 3};
        cvl_tensor *in = cvl_input(g, "x", CVL_DTYPE_F32, 4, shape);
        cvl_tensor *a = cvl_global_pool(g, CVL_OP_AVG_POOL, in), *m = cvl_global_pool(g, CVL_OP_MAX_POOL, in);
        a->flags |= CVL_NODE_OUTPUT;
        m->flags |= CVL_NODE_OUTPUT;
        cvl_backend *be = k ? cvl_backend_vulkan_new(dev) : cvl_backend_cpu_new(1);
        cvl_err e = {0};
        cvl_step_scalars sc = {.training = true};
        if (cvl_backend_plan(be, g, &e) == CVL_OK && cvl_backend_write(be, in, x, sizeof x, &e) == CVL_OK &&
            cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e) == CVL_OK) {
            cvl_backend_read(be, a, &got[k][0], 4, &e);
            cvl_backend_read(be, m, &got[k][1], 4, &e);
        }
        CHECK(e.status == CVL_OK && got[k][0] == 3.5f && got[k][1] == 6.0f,
              "global pooling of a 2x3 map on the %s: mean %g, max %g (%s)", k ? "Vulkan backend" : "CPU", got[k][0],
              got[k][1], e.msg);
        cvl_backend_free(be);
        cvl_graph_free(g);
    }
}

/* Past the device's real range (128 MiB on lavapipe): x (17, 2, 1024, 1024)
 * of 136 MiB through bn_stats + bn_apply, a 2x2 max pool and a slice at the
 * op level, checked against the host at samples from every window. */
static void past_the_range(cvl_vk_device *dev) {
    const uint32_t N = 17, C = 2, H = 1024, W = 1024, HW = H * W;
    size_t n = (size_t)N * C * HW;
    float *x = malloc(n * 4), scal[16] = {0}, ones[2] = {1, 1}, zeros[2] = {0, 0};
    vk_test_fill_random(x, n, 5);
    for (size_t i = 0; i < n; i++) x[i] += (float)((i / HW) % C) * 3.0f; /* channel means 0 and 3 */
    scal[CVL_VK_SLOT_TRAINING] = 1.0f;
    cvl_vk_buffer bx = vk_test_upload(dev, x, n), by = vk_test_upload(dev, NULL, n);
    cvl_vk_buffer bp = vk_test_upload(dev, NULL, n / 4), bs = vk_test_upload(dev, NULL, n / 2);
    cvl_vk_buffer st = vk_test_upload(dev, NULL, 2 * C), rm = vk_test_upload(dev, zeros, C),
                  rv = vk_test_upload(dev, ones, C), nb = vk_test_upload(dev, zeros, 2),
                  sc = vk_test_upload(dev, scal, 16), ga = vk_test_upload(dev, ones, C), be = vk_test_upload(dev, zeros, C);
    CHECK(bx.size > dev->info.max_storage_range, "x of %llu bytes exceeds the range (%llu)", (unsigned long long)bx.size,
          (unsigned long long)dev->info.max_storage_range);
    cvl_vk_seq *seq = NULL;
    cvl_err e = {0};
    cvl_vk_pool_geom pg = {N * C, H, W, H / 2, W / 2, 2, 2, 2, 0};
    cvl_status s = cvl_vk_seq_new(&seq, dev, "large norm/pool/slice", &e);
    if (s == CVL_OK)
        s = cvl_vk_bn_stats(seq, cvl_vk_view_of(&st), cvl_vk_view_of(&rm), cvl_vk_view_of(&rv), cvl_vk_view_of(&nb),
                            cvl_vk_view_of(&bx), cvl_vk_view_of(&sc), N, C, HW, 1e-5f, 0.1f, &e);
    if (s == CVL_OK)
        s = cvl_vk_bn_apply(seq, cvl_vk_view_of(&by), cvl_vk_view_of(&bx), cvl_vk_view_of(&st), cvl_vk_view_of(&ga),
                            cvl_vk_view_of(&be), C, HW, &e);
    if (s == CVL_OK) s = cvl_vk_pool2d(seq, cvl_vk_view_of(&bp), cvl_vk_view_of(&bx), &pg, true, &e);
    if (s == CVL_OK) s = cvl_vk_slice(seq, cvl_vk_view_of(&bs), cvl_vk_view_of(&bx), C, 1, 1, HW, false, &e);
    if (s == CVL_OK) s = cvl_vk_seq_run(seq, &e);
    CHECK(s == CVL_OK, "bn_stats, bn_apply, pool2d, slice over %zu floats (%u dispatches) (%s)", n,
          seq ? cvl_vk_seq_get_stats(seq).dispatches : 0, e.msg);
    double sum[2] = {0, 0}, sq[2] = {0, 0};
    for (size_t i = 0; i < n; i++) sum[(i / HW) % C] += x[i];
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - sum[(i / HW) % C] / ((double)N * HW);
        sq[(i / HW) % C] += d * d;
    }
    float got[4];
    cvl_vk_download(dev, got, &st, 0, sizeof got, &e);
    double worst = 0;
    for (uint32_t c = 0; c < C; c++) {
        double mean = sum[c] / ((double)N * HW), rstd = 1.0 / sqrt(sq[c] / ((double)N * HW) + 1e-5);
        worst = fmax(worst, fmax(fabs(got[c] - mean) / 3.0, fabs(got[C + c] - rstd) / rstd));
    }
    CHECK(worst <= 1e-5, "batch statistics of 136 MiB agree with the host (%.1e)", worst);
    double wy = 0;
    int bad = 0;
    for (size_t k = 0; k < 64; k++) {
        size_t i = k * (n / 64) + k * 977 % (n / 64), p = i / HW, hw = i % HW, c = p % C;
        float y, m, sl;
        cvl_vk_download(dev, &y, &by, i * 4, 4, &e);
        wy = fmax(wy, fabs(y - (x[i] - got[c]) * got[C + c]) / 1.8);
        size_t oh = hw / W / 2, ow = hw % W / 2, o = (p * (H / 2) + oh) * (W / 2) + ow, b0 = p * HW + 2 * oh * W + 2 * ow;
        cvl_vk_download(dev, &m, &bp, o * 4, 4, &e);
        float want = fmaxf(fmaxf(x[b0], x[b0 + 1]), fmaxf(x[b0 + W], x[b0 + W + 1]));
        size_t so = (i / HW / C) * HW + hw; /* the slice keeps channel 1 */
        cvl_vk_download(dev, &sl, &bs, so * 4, 4, &e);
        bad += m != want || sl != x[(i / HW / C * C + 1) * HW + hw];
    }
    CHECK(e.status == CVL_OK && wy <= 1e-5 && bad == 0, "bn_apply (%.1e), pool and slice (%d wrong) at 64 samples (%s)",
          wy, bad, e.msg);
    cvl_vk_seq_free(seq);
    cvl_vk_buffer *all[] = {&bx, &by, &bp, &bs, &st, &rm, &rv, &nb, &sc, &ga, &be};
    for (int i = 0; i < 11; i++) cvl_vk_release(dev, all[i]);
    free(x);
}

/* On 124-float windows a 16x16 plane (256 floats) fits none: one line. */
static cvl_tensor *big_pool(cvl_graph *g) { return cvl_pool2d(g, CVL_OP_MAX_POOL, gp_param(g, "x", 4, 2, 3, 16, 16), 2, 2, 0); }
static cvl_tensor *big_bn(cvl_graph *g) { return bn_of(g, gp_param(g, "x", 4, 2, 3, 16, 16)); }
/* lavapipe ends a shader's loops after 65535 iterations: a 200x200 window is refused there */
static cvl_tensor *big_gpool(cvl_graph *g) { return cvl_global_pool(g, CVL_OP_MAX_POOL, gp_param(g, "x", 4, 1, 1, 200, 200)); }

static void refused(cvl_vk_device *dev, gp_build build, const char *want) {
    gp_case c = {.name = want, .build = build};
    cvl_err e = {0};
    gp_side vk = {0};
    bool ok = gp_make(&vk, &c, cvl_backend_vulkan_new(dev), &e);
    CHECK(ok, "%s: plans (%s)", want, e.msg);
    cvl_step_scalars sc = {.lr = 0.1, .step = 1, .training = true};
    if (ok) gp_inputs(&vk, &c, &e);
    cvl_status st = ok ? cvl_backend_run(vk.be, 0, cvl_graph_size(vk.g), &sc, &e) : CVL_OK;
    CHECK(st == CVL_ERR_UNSUPPORTED && strchr(e.msg, '\n') == NULL, "refused with one line: %s",
          e.msg);
    CHECK_STR_CONTAINS(e.msg, want, "naming the op and why");
    if (vk.be) cvl_backend_free(vk.be);
    cvl_graph_free(vk.g);
}

typedef struct net {
    cvl_graph *g;
    cvl_tensor *x, *y, *loss, *logits;
    cvl_backend *be;
} net;

static net make(cvl_backend *be, cvl_err *e) {
    net n = {.g = cvl_graph_new(11), .be = be};
    int64_t xs[4] = {8, 3, 9, 9}, N = 8;
    n.x = cvl_input(n.g, "x", CVL_DTYPE_F32, 4, xs);
    n.y = cvl_input(n.g, "y", CVL_DTYPE_I32, 1, &N);
    cvl_tensor *h = cvl_unary(n.g, CVL_OP_RELU, cvl_layer_batch_norm(n.g, "bn1", n.x, 1e-5, 0.1));
    h = cvl_pool2d(n.g, CVL_OP_MAX_POOL, h, 3, 2, 1);          // (8,3,5,5)
    h = cvl_layer_batch_norm(n.g, "bn2", h, 1e-5, 0.1);
    cvl_tensor *a = cvl_pool2d(n.g, CVL_OP_AVG_POOL, h, 2, 2, 0); // (8,3,2,2)
    cvl_tensor *ga = cvl_global_pool(n.g, CVL_OP_AVG_POOL, h), *gm = cvl_global_pool(n.g, CVL_OP_MAX_POOL, h);
    cvl_tensor *f1 = cvl_layer_linear(n.g, "fc1", cvl_flatten(n.g, a), 4, true);
    cvl_tensor *f2 = cvl_layer_linear(n.g, "fc2", ga, 4, false);
    cvl_tensor *f3 = cvl_layer_linear(n.g, "fc3", gm, 4, false);
    n.logits = cvl_binary(n.g, CVL_OP_ADD, cvl_binary(n.g, CVL_OP_ADD, f1, f2), f3);
    n.logits->flags |= CVL_NODE_OUTPUT;
    n.loss = cvl_loss(n.g, CVL_OP_CROSS_ENTROPY, n.logits, n.y, NULL, 0);
    cvl_graph_backward(n.g, n.loss);
    cvl_optim_spec o = {.kind = CVL_OPK_SGD, .momentum = 0.9};
    cvl_graph_optimizer(n.g, &o);
    if (cvl_graph_error(n.g)->status) cvl_err_set(e, CVL_ERR_INVALID, "%s", cvl_graph_error(n.g)->msg);
    else cvl_backend_plan(be, n.g, e);
    return n;
}

static void train_parity(cvl_vk_device *dev, const char *tag) {
    cvl_err e = {0};
    net c = make(cvl_backend_cpu_new(1), &e);
    CHECK(e.status == CVL_OK, "the model plans on the CPU (%s)", e.msg);
    net v = make(cvl_backend_vulkan_new(dev), &e);
    CHECK(e.status == CVL_OK, "the model plans on Vulkan%s (%s)", tag, e.msg);
    if (e.status) {
        cvl_backend_free(c.be);
        cvl_backend_free(v.be);
        cvl_graph_free(c.g);
        cvl_graph_free(v.g);
        return;
    }
    float x[8 * 3 * 81];
    int32_t y[8];
    double worst = 0;
    for (int s = 1; s <= 10; s++) {
        vk_test_fill_random(x, sizeof x / sizeof x[0], (uint32_t)s);
        for (int i = 0; i < 8; i++) y[i] = (i + s) % 4;
        float l[2];
        net *ns[2] = {&c, &v};
        for (int k = 0; k < 2; k++) {
            cvl_backend_write(ns[k]->be, ns[k]->x, x, sizeof x, &e);
            cvl_backend_write(ns[k]->be, ns[k]->y, y, sizeof y, &e);
            cvl_step_scalars sc = {.lr = 0.1, .step = s, .training = true};
            cvl_backend_run(ns[k]->be, 0, cvl_graph_size(ns[k]->g), &sc, &e);
            cvl_backend_read(ns[k]->be, ns[k]->loss, &l[k], sizeof(float), &e);
        }
        worst = fmax(worst, fabs((double)l[0] - l[1]) / fabs((double)l[0]));
    }
    CHECK(e.status == CVL_OK && worst <= 1e-4, "10 training steps%s: losses agree (worst %.1e) (%s)", tag, worst, e.msg);
    const char *bufs[] = {"bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var", "bn2.weight", "fc1.weight"};
    for (int i = 0; i < 6; i++) {
        cvl_tensor *tc = cvl_graph_find(c.g, bufs[i]), *tv = cvl_graph_find(v.g, bufs[i]);
        size_t n = cvl_tensor_numel(tc);
        float a[64], b[64];
        cvl_backend_read(c.be, tc, a, n * 4, &e);
        cvl_backend_read(v.be, tv, b, n * 4, &e);
        double r = max_rel_err(b, a, n);
        CHECK(r <= 1e-4, "%s agrees after training%s (%.1e)", bufs[i], tag, r);
    }
    int64_t nb[2];
    cvl_backend_read(c.be, cvl_graph_find(c.g, "bn2.num_batches_tracked"), &nb[0], 8, &e);
    cvl_backend_read(v.be, cvl_graph_find(v.g, "bn2.num_batches_tracked"), &nb[1], 8, &e);
    CHECK(nb[0] == 10 && nb[1] == 10, "num_batches_tracked counts 10 steps on both%s (%lld, %lld)", tag, (long long)nb[0],
          (long long)nb[1]);
    float la[32], lb[32];
    cvl_step_scalars ev = {.training = false};
    cvl_backend_run(c.be, 0, c.logits->id + 1, &ev, &e);
    cvl_backend_run(v.be, 0, v.logits->id + 1, &ev, &e);
    cvl_backend_read(c.be, c.logits, la, sizeof la, &e);
    cvl_backend_read(v.be, v.logits, lb, sizeof lb, &e);
    CHECK(max_rel_err(lb, la, 32) <= 1e-4, "eval-mode logits (running statistics) agree%s (%.1e)", tag, max_rel_err(lb, la, 32));
    cvl_backend_free(c.be);
    cvl_backend_free(v.be);
    cvl_graph_free(c.g);
    cvl_graph_free(v.g);
}

static void all(cvl_vk_device *dev, const char *tag) {
    for (size_t i = 0; i < N_CASES; i++) gp_run(dev, &cases[i], tag);
    bn_running(dev, tag);
    train_parity(dev, tag);
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL) return vk_test_finish();
    global_values(dev);
    all(dev, "");
    past_the_range(dev);
    if (dev->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU)
        refused(dev, big_gpool, "pool2d 1 planes 200x200 k200x200 s1 p0: 40000 loop iterations an element exceed");
    cvl_vk_device_free(dev);
    cvl_vk_device_opts small = {.max_range = 512, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev == NULL) return vk_test_finish();
    all(dev, " (512-byte windows)");
    refused(dev, big_pool, "pool2d 6 planes 16x16 k2x2 s2 p0: one plane of 256 floats exceeds a storage window");
    refused(dev, big_bn, "bn_stats N2 C3 HW256: one plane of 256 floats exceeds a storage window");
    cvl_vk_device_free(dev);
    small.max_range = 1024;
    dev = vk_test_device(&small);
    if (dev == NULL) return vk_test_finish();
    all(dev, " (1 KiB windows)");
    cvl_vk_device_free(dev);
    return vk_test_finish();
}
