/* The graph's contracts beyond gradients: shape errors that name the
 * component and both shapes, PyTorch's initial distributions, train/eval
 * modes, a training step that allocates nothing, and results that do not
 * depend on the run (same thread count: bitwise; 1 vs 2 threads: within
 * float rounding). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/graph_internal.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
/* From the sanitizer runtime (its header is not in every toolchain). */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
#include <malloc.h>
static size_t heap_in_use(void) { return mallinfo2().uordblks; }
#endif

static void test_shape_errors(void) {
    cvl_graph *g = cvl_graph_new(0);
    cvl_graph_set_label(g, "encoder 'mine'");
    int64_t xs[2] = {8, 20};
    cvl_tensor *x = cvl_input(g, "x", CVL_DTYPE_F32, 2, xs);
    cvl_graph_push_scope(g, "block1");
    cvl_tensor *y = cvl_layer_linear(g, "fc", x, 16, true);
    int64_t ws[2] = {4, 15};
    cvl_tensor *w = cvl_param(g, "w", 2, ws, CVL_INIT_ZEROS, 0);
    cvl_tensor *z = cvl_linear(g, y, w, NULL);
    CHECK(y != NULL && z == NULL, "a mismatched linear returns NULL");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg,
                       "encoder 'mine': at 'block1': linear: input (8, 16) does not match weight (4, 15) (out, in)",
                       "the error names the component, the scope and both shapes");
    CHECK(cvl_unary(g, CVL_OP_RELU, z) == NULL, "a builder given NULL returns NULL");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg, "linear: input (8, 16)", "the first error is kept");
    cvl_graph_free(g);

    g = cvl_graph_new(0);
    int64_t a[3] = {2, 3, 4}, b[2] = {5, 4};
    cvl_tensor *ta = cvl_input(g, "a", CVL_DTYPE_F32, 3, a), *tb = cvl_input(g, "b", CVL_DTYPE_F32, 2, b);
    CHECK(cvl_binary(g, CVL_OP_ADD, ta, tb) == NULL, "non-broadcastable shapes fail");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg, "cannot broadcast (2, 3, 4) with (5, 4)", "message");
    cvl_graph_free(g);

    g = cvl_graph_new(0);
    int64_t im[4] = {1, 3, 8, 8};
    cvl_tensor *img = cvl_input(g, "img", CVL_DTYPE_F32, 4, im);
    CHECK(cvl_layer_conv2d(g, "conv", img, 8, 3, 1, 1, 1, 2, false) == NULL, "3 channels in 2 groups fail");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg, "conv2d 'conv': input (1, 3, 8, 8) with 2 groups", "message");
    cvl_graph_free(g);

    g = cvl_graph_new(0);
    img = cvl_input(g, "img", CVL_DTYPE_F32, 4, im);
    CHECK(cvl_pool2d(g, CVL_OP_MAX_POOL, img, 9, 1, 0) == NULL, "a pool window larger than the input fails");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg, "pool2d: kernel 9 is larger than the input (1, 3, 8, 8)", "message");
    int64_t r[2] = {5, -1};
    cvl_graph_free(g);
    g = cvl_graph_new(0);
    img = cvl_input(g, "img", CVL_DTYPE_F32, 4, im);
    CHECK(cvl_reshape(g, img, 2, r) == NULL, "an impossible reshape fails");
    CHECK_STR_CONTAINS(cvl_graph_error(g)->msg, "reshape: (1, 3, 8, 8) has 192 elements", "message");
    cvl_graph_free(g);
}

/* Initial values: the distributions PyTorch's defaults draw from. */
static void test_init(void) {
    cvl_graph *g = cvl_graph_new(123);
    int64_t xs[4] = {2, 64, 8, 8};
    cvl_tensor *x = cvl_input(g, "x", CVL_DTYPE_F32, 4, xs);
    cvl_tensor *y = cvl_layer_conv2d(g, "conv", x, 128, 3, 1, 1, 1, 1, true);
    y = cvl_layer_batch_norm(g, "bn", y, 1e-5, 0.1);
    cvl_graph_push_scope(g, "tv");
    int64_t ws[4] = {256, 128, 3, 3};
    cvl_tensor *kn = cvl_param(g, "weight", 4, ws, CVL_INIT_KAIMING_NORMAL_FAN_OUT, 0);
    cvl_graph_pop_scope(g);
    (void)kn;
    cvl_backend *be = cvl_backend_cpu_new(1);
    cvl_err e = {0};
    CHECK(cvl_backend_plan(be, g, &e) == CVL_OK, "plans");
    struct {
        const char *name;
        double bound, want_std; /* bound 0: unbounded (normal) */
    } cases[] = {
        {"conv.weight", 1 / sqrt(64 * 9.0), 1 / sqrt(64 * 9.0) / sqrt(3.0)},
        {"conv.bias", 1 / sqrt(64 * 9.0), 1 / sqrt(64 * 9.0) / sqrt(3.0)},
        {"tv.weight", 0, sqrt(2.0 / (256 * 9))},
    };
    for (int c = 0; c < 3; c++) {
        cvl_tensor *t = cvl_graph_find(g, cases[c].name);
        size_t n = cvl_tensor_numel(t);
        float *v = malloc(n * sizeof *v);
        cvl_backend_read(be, t, v, n * sizeof *v, &e);
        double mean = 0, sq = 0, mx = 0;
        for (size_t i = 0; i < n; i++) {
            mean += v[i];
            sq += (double)v[i] * v[i];
            mx = fmax(mx, fabs(v[i]));
        }
        mean /= (double)n;
        double sd = sqrt(sq / (double)n - mean * mean);
        bool in_bound = cases[c].bound == 0 || mx <= cases[c].bound;
        /* 4 standard errors of the sample std for n values */
        double tol = 4 * cases[c].want_std / sqrt(2.0 * (double)n) + 1e-9;
        CHECK(in_bound && fabs(sd - cases[c].want_std) <= fmax(tol, 0.03 * cases[c].want_std),
              "%s: std %.5f (PyTorch's distribution: %.5f), max |v| %.5f%s", cases[c].name, sd, cases[c].want_std, mx,
              cases[c].bound ? " within the bound" : "");
        free(v);
    }
    float buf[128];
    cvl_backend_read(be, cvl_graph_find(g, "bn.weight"), buf, sizeof buf, &e);
    bool ones = true;
    for (int i = 0; i < 128; i++) ones &= buf[i] == 1.0f;
    cvl_backend_read(be, cvl_graph_find(g, "bn.running_var"), buf, sizeof buf, &e);
    for (int i = 0; i < 128; i++) ones &= buf[i] == 1.0f;
    CHECK(ones, "BatchNorm weight and running_var start at 1");
    cvl_backend_free(be);
    cvl_graph_free(g);

    /* A parameter's values depend on (seed, name) only. */
    cvl_graph *g1 = cvl_graph_new(9), *g2 = cvl_graph_new(9);
    int64_t s1[2] = {4, 4};
    cvl_param(g2, "other", 2, s1, CVL_INIT_UNIFORM_FAN_IN, 0);
    cvl_tensor *p1 = cvl_param(g1, "p", 2, s1, CVL_INIT_UNIFORM_FAN_IN, 0);
    cvl_tensor *p2 = cvl_param(g2, "p", 2, s1, CVL_INIT_UNIFORM_FAN_IN, 0);
    float v1[16], v2[16];
    cvl_init_values(p1, 9, v1);
    cvl_init_values(p2, 9, v2);
    CHECK(memcmp(v1, v2, sizeof v1) == 0, "initial values do not depend on other parameters");
    cvl_graph_free(g1);
    cvl_graph_free(g2);
}

/* A small CNN training graph with SGD. */
typedef struct net {
    cvl_graph *g;
    cvl_tensor *x, *y, *loss, *logits;
} net;

static net make_net(uint64_t seed) {
    net n;
    n.g = cvl_graph_new(seed);
    int64_t xs[4] = {16, 3, 12, 12}, N = 16;
    n.x = cvl_input(n.g, "x", CVL_DTYPE_F32, 4, xs);
    n.y = cvl_input(n.g, "y", CVL_DTYPE_I32, 1, &N);
    cvl_tensor *h = cvl_layer_conv2d(n.g, "conv1", n.x, 8, 3, 1, 1, 1, 1, false);
    h = cvl_unary(n.g, CVL_OP_RELU, cvl_layer_batch_norm(n.g, "bn1", h, 1e-5, 0.1));
    h = cvl_pool2d(n.g, CVL_OP_MAX_POOL, h, 2, 2, 0);
    h = cvl_dropout(n.g, cvl_flatten(n.g, h), 0.25);
    n.logits = cvl_layer_linear(n.g, "fc", h, 5, true);
    n.logits->flags |= CVL_NODE_OUTPUT;
    n.loss = cvl_loss(n.g, CVL_OP_CROSS_ENTROPY, n.logits, n.y, NULL, 0.0);
    cvl_graph_backward(n.g, n.loss);
    cvl_optim_spec o = {.kind = CVL_OPK_SGD, .momentum = 0.9, .weight_decay = 1e-4};
    cvl_graph_optimizer(n.g, &o);
    return n;
}

/* Trains `steps` steps on fixed data; returns the final loss and fc.weight[0..4]. */
static void train(net *n, cvl_backend *be, int steps, float *loss, float *w) {
    static float x[16 * 3 * 12 * 12];
    static int32_t y[16];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)sin((double)i * 0.173);
    for (int i = 0; i < 16; i++) y[i] = i % 5;
    cvl_err e = {0};
    cvl_backend_write(be, n->x, x, sizeof x, &e);
    cvl_backend_write(be, n->y, y, sizeof y, &e);
    for (int s = 1; s <= steps; s++) {
        cvl_step_scalars sc = {.lr = 0.05, .step = s, .seed = 11, .training = true};
        cvl_backend_run(be, 0, cvl_graph_size(n->g), &sc, &e);
    }
    cvl_backend_read(be, n->loss, loss, sizeof *loss, &e);
    float fw[5 * 8 * 6 * 6];
    cvl_backend_read(be, cvl_graph_find(n->g, "fc.weight"), fw, sizeof fw, &e);
    memcpy(w, fw, 5 * sizeof *w);
}

static void test_steps(void) {
    net n = make_net(5);
    cvl_backend *be = cvl_backend_cpu_new(2);
    cvl_err e = {0};
    CHECK(cvl_backend_plan(be, n.g, &e) == CVL_OK, "small CNN plans (%s)", e.msg);
    float loss0, w0[5];
    train(&n, be, 1, &loss0, w0);
    size_t before = heap_in_use();
    float loss, w[5];
    train(&n, be, 20, &loss, w);
    size_t after = heap_in_use();
    CHECK(after == before, "20 training steps allocate nothing (heap in use %zu -> %zu bytes)", before, after);
    CHECK(loss < 0.5f * loss0, "the loss falls on a fixed batch: %.4f -> %.4f", loss0, loss);

    /* eval mode: BatchNorm running statistics, no dropout: two runs agree */
    float l1[80], l2[80];
    cvl_step_scalars ev = {.training = false, .step = 1};
    cvl_backend_run(be, 0, n.logits->id + 1, &ev, &e);
    cvl_backend_read(be, n.logits, l1, sizeof l1, &e);
    ev.step = 2;
    cvl_backend_run(be, 0, n.logits->id + 1, &ev, &e);
    cvl_backend_read(be, n.logits, l2, sizeof l2, &e);
    CHECK(memcmp(l1, l2, sizeof l1) == 0, "eval mode is deterministic (no dropout, running statistics)");
    cvl_backend_free(be);
    cvl_graph_free(n.g);

    /* The same run twice, same thread count: bitwise equal. 1 vs 2 threads: close. */
    float a_loss, a_w[5], b_loss, b_w[5], c_loss, c_w[5];
    int threads[3] = {2, 2, 1};
    float *losses[3] = {&a_loss, &b_loss, &c_loss}, *ws[3] = {a_w, b_w, c_w};
    for (int r = 0; r < 3; r++) {
        net m = make_net(5);
        cvl_backend *b = cvl_backend_cpu_new(threads[r]);
        cvl_backend_plan(b, m.g, &e);
        train(&m, b, 10, losses[r], ws[r]);
        cvl_backend_free(b);
        cvl_graph_free(m.g);
    }
    CHECK(a_loss == b_loss && memcmp(a_w, b_w, sizeof a_w) == 0, "two runs with 2 threads are bitwise identical");
    double d = 0;
    for (int i = 0; i < 5; i++) d = fmax(d, fabs(a_w[i] - c_w[i]));
    CHECK(d < 1e-4 && fabs(a_loss - c_loss) < 1e-4, "1 and 2 threads agree within 1e-4 (max diff %.2e)", d);
}

int main(void) {
    test_shape_errors();
    test_init();
    test_steps();
    return tap_done();
}
