/* Every graph op the Vulkan backend gained for the CPU backend's op list,
 * forward and backward against the CPU backend on the same parameters and
 * inputs (graph_parity.h): activations, broadcasting arithmetic, scale,
 * permute, concat, reductions, softmax and log-softmax, layer norm,
 * dropout, embeddings, batched matmul, convolution with a bias and groups,
 * on odd shapes (7x13, 3x5x11) and round ones. Bound: max |vk - cpu| over
 * max |cpu| <= 1e-5 (fp32; summation orders differ), 0 where the result
 * must be bit-identical (dropout's mask, embedding gradients).
 * Then again on a device whose storage windows are 512 bytes (about 124
 * floats), so every elementwise, strided and row-wise op, every reduction
 * and the embeddings (table, output and index ranges) run split into
 * windows; an embedding row wider than a window is refused in one line. Validation on; any message fails. */
#include "graph_parity.h"

static cvl_tensor *P2(cvl_graph *g, const char *n, int64_t a, int64_t b) { return gp_param(g, n, 2, a, b, 0, 0); }
static cvl_tensor *P3(cvl_graph *g, const char *n, int64_t a, int64_t b, int64_t c) { return gp_param(g, n, 3, a, b, c, 0); }

static cvl_tensor *u_gelu(cvl_graph *g) { return cvl_unary(g, CVL_OP_GELU, P3(g, "x", 3, 5, 11)); }
static cvl_tensor *u_silu(cvl_graph *g) { return cvl_unary(g, CVL_OP_SILU, P2(g, "x", 7, 13)); }
static cvl_tensor *u_sigmoid(cvl_graph *g) { return cvl_unary(g, CVL_OP_SIGMOID, P3(g, "x", 3, 5, 11)); }
static cvl_tensor *u_tanh(cvl_graph *g) { return cvl_unary(g, CVL_OP_TANH, cvl_scale(g, P2(g, "x", 16, 32), 3.0)); }
static cvl_tensor *u_relu(cvl_graph *g) { return cvl_unary(g, CVL_OP_RELU, P2(g, "x", 7, 13)); }

/* b in [0.5, 1.5]: a divisor far from 0 */
static cvl_tensor *positive(cvl_graph *g, cvl_tensor *p) {
    int64_t one = 1;
    float half = 0.5f;
    return cvl_binary(g, CVL_OP_ADD, cvl_unary(g, CVL_OP_SIGMOID, p), cvl_constant(g, 1, &one, &half));
}
static cvl_tensor *b_add(cvl_graph *g) { return cvl_binary(g, CVL_OP_ADD, P3(g, "a", 3, 5, 11), P2(g, "b", 5, 1)); }
static cvl_tensor *b_sub(cvl_graph *g) { return cvl_binary(g, CVL_OP_SUB, P2(g, "a", 7, 13), gp_param(g, "b", 1, 13, 0, 0, 0)); }
static cvl_tensor *b_mul(cvl_graph *g) { return cvl_binary(g, CVL_OP_MUL, P3(g, "a", 4, 1, 6), P3(g, "b", 1, 5, 1)); }
static cvl_tensor *b_div(cvl_graph *g) { return cvl_binary(g, CVL_OP_DIV, P3(g, "a", 3, 5, 11), positive(g, P3(g, "b", 3, 1, 11))); }
static cvl_tensor *b_same(cvl_graph *g) { return cvl_binary(g, CVL_OP_MUL, P2(g, "a", 8, 16), P2(g, "b", 8, 16)); }
static cvl_tensor *b_scalar(cvl_graph *g) {
    return cvl_binary(g, CVL_OP_DIV, gp_param(g, "a", 1, 1, 0, 0, 0), positive(g, P2(g, "b", 7, 13)));
}

static cvl_tensor *perm3(cvl_graph *g) {
    int32_t p[3] = {2, 0, 1};
    return cvl_permute(g, P3(g, "x", 3, 5, 11), 3, p);
}
static cvl_tensor *perm4(cvl_graph *g) {
    int32_t p[4] = {0, 2, 3, 1};
    return cvl_permute(g, gp_param(g, "x", 4, 2, 3, 4, 5), 4, p);
}
static cvl_tensor *cat1(cvl_graph *g) {
    cvl_tensor *xs[3] = {P3(g, "a", 3, 2, 5), P3(g, "b", 3, 4, 5), P3(g, "c", 3, 1, 5)};
    return cvl_concat(g, 3, xs, 1);
}
static cvl_tensor *cat_last(cvl_graph *g) {
    cvl_tensor *xs[2] = {P2(g, "a", 7, 13), P2(g, "b", 7, 3)};
    return cvl_concat(g, 2, xs, 1);
}
static cvl_tensor *cat0(cvl_graph *g) {
    cvl_tensor *xs[2] = {P2(g, "a", 7, 13), P2(g, "b", 2, 13)};
    return cvl_concat(g, 2, xs, 0);
}
static cvl_tensor *red_sum1(cvl_graph *g) { return cvl_reduce(g, CVL_OP_SUM, P3(g, "x", 3, 5, 11), 1, true); }
static cvl_tensor *red_mean2(cvl_graph *g) { return cvl_reduce(g, CVL_OP_MEAN, P3(g, "x", 3, 5, 11), 2, false); }
/* 4 sums of 600000 (and a broadcast gradient of the same length): past
 * llvmpipe's 65535 loop iterations per invocation unless split. */
static cvl_tensor *red_long(cvl_graph *g) { return cvl_reduce(g, CVL_OP_SUM, P3(g, "x", 2, 600000, 2), 1, false); }
/* layer norm over 30000 rows: its parameter gradients walk every row in
 * one invocation unless a software device takes them in ranges */
static cvl_tensor *ln_long(cvl_graph *g) {
    return cvl_layer_norm(g, P2(g, "x", 30000, 8), gp_param(g, "gamma", 1, 8, 0, 0, 0), gp_param(g, "beta", 1, 8, 0, 0, 0), 1e-5);
}
static cvl_tensor *red_mean0(cvl_graph *g) { return cvl_reduce(g, CVL_OP_MEAN, P2(g, "x", 7, 13), 0, false); }
static cvl_tensor *red_all(cvl_graph *g) { return cvl_reduce(g, CVL_OP_MEAN, P3(g, "x", 9, 5, 11), CVL_AXIS_ALL, false); }
static cvl_tensor *scale(cvl_graph *g) { return cvl_scale(g, P2(g, "x", 7, 13), -0.37); }

static cvl_tensor *sm_last(cvl_graph *g) { return cvl_softmax(g, cvl_scale(g, P2(g, "x", 7, 13), 3.0), -1, false); }
static cvl_tensor *sm_mid(cvl_graph *g) { return cvl_softmax(g, P3(g, "x", 3, 5, 11), 1, false); }
static cvl_tensor *lsm_last(cvl_graph *g) { return cvl_softmax(g, P2(g, "x", 16, 10), -1, true); }
static cvl_tensor *lsm_first(cvl_graph *g) { return cvl_softmax(g, P3(g, "x", 3, 5, 11), 0, true); }

static cvl_tensor *ln(cvl_graph *g) {
    return cvl_layer_norm(g, P2(g, "x", 7, 13), gp_param(g, "gamma", 1, 13, 0, 0, 0), gp_param(g, "beta", 1, 13, 0, 0, 0), 1e-5);
}
static cvl_tensor *ln3(cvl_graph *g) {
    return cvl_layer_norm(g, P3(g, "x", 3, 5, 32), gp_param(g, "gamma", 1, 32, 0, 0, 0), gp_param(g, "beta", 1, 32, 0, 0, 0), 1e-3);
}

static cvl_tensor *drop(cvl_graph *g) { return cvl_dropout(g, P2(g, "x", 7, 13), 0.3); }
static cvl_tensor *drop_big(cvl_graph *g) { return cvl_dropout(g, P2(g, "x", 33, 64), 0.5); }

static cvl_tensor *embed(cvl_graph *g) {
    int64_t shape[2] = {5, 3};
    cvl_tensor *idx = cvl_input(g, "idx", CVL_DTYPE_I32, 2, shape);
    return cvl_embedding(g, idx, P2(g, "w", 10, 6)); /* indices 0..10: 10 is out of range */
}
/* 300-float table, 36 indices (50 out of range): 512-byte windows cut the
 * table into 3 row ranges, the output into 2 and the gradient's index scan
 * into 2 -- still bit-identical. */
static cvl_tensor *embed_big(cvl_graph *g) {
    int64_t shape[2] = {4, 9};
    cvl_tensor *idx = cvl_input(g, "idx", CVL_DTYPE_I32, 2, shape);
    return cvl_embedding(g, idx, P2(g, "w", 50, 6));
}
/* 70000 indices: each gradient element's scan would loop past llvmpipe's
 * 65535 iterations; a software device scans them in ranges. */
static cvl_tensor *embed_long(cvl_graph *g) {
    int64_t n = 70000;
    return cvl_embedding(g, cvl_input(g, "idx", CVL_DTYPE_I32, 1, &n), P2(g, "w", 5, 2));
}
/* Rows of 200 floats: wider than a 512-byte window. */
static cvl_tensor *embed_wide(cvl_graph *g) {
    int64_t n = 3;
    return cvl_embedding(g, cvl_input(g, "idx", CVL_DTYPE_I32, 1, &n), P2(g, "w", 4, 200));
}
static cvl_tensor *mm_shared(cvl_graph *g) { return cvl_matmul(g, P3(g, "a", 3, 5, 7), P2(g, "b", 4, 7), false, true); }
static cvl_tensor *mm_batched(cvl_graph *g) { return cvl_matmul(g, P3(g, "a", 2, 7, 5), P3(g, "b", 2, 7, 4), true, false); }
static cvl_tensor *conv_bias(cvl_graph *g) {
    return cvl_layer_conv2d(g, "conv", gp_param(g, "x", 4, 2, 4, 7, 9), 6, 3, 1, 1, 1, 2, true);
}
static cvl_tensor *conv_dw(cvl_graph *g) {
    return cvl_layer_conv2d(g, "conv", gp_param(g, "x", 4, 2, 4, 8, 8), 4, 3, 2, 1, 1, 4, true);
}

static const gp_case cases[] = {
    {.name = "gelu 3x5x11", .build = u_gelu, .tol = 1e-5}, {.name = "silu 7x13", .build = u_silu, .tol = 1e-5}, {.name = "sigmoid 3x5x11", .build = u_sigmoid, .tol = 1e-5},
    {.name = "tanh 16x32", .build = u_tanh, .tol = 1e-5}, {.name = "relu 7x13", .build = u_relu, .tol = 1e-6},
    {.name = "add (3,5,11)+(5,1)", .build = b_add, .tol = 1e-5}, {.name = "sub (7,13)-(13)", .build = b_sub, .tol = 1e-5}, {.name = "mul (4,1,6)*(1,5,1)", .build = b_mul, .tol = 1e-5},
    {.name = "div (3,5,11)/(3,1,11)", .build = b_div, .tol = 1e-5}, {.name = "mul same shape 8x16", .build = b_same, .tol = 1e-5}, {.name = "div (1)/(7,13)", .build = b_scalar, .tol = 1e-5},
    {.name = "scale 7x13", .build = scale, .tol = 1e-6},
    {.name = "permute (3,5,11)->(11,3,5)", .build = perm3, .tol = 1e-6}, {.name = "permute 4-D", .build = perm4, .tol = 1e-6},
    {.name = "concat axis 1", .build = cat1, .tol = 1e-6}, {.name = "concat last axis", .build = cat_last, .tol = 1e-6}, {.name = "concat axis 0", .build = cat0, .tol = 1e-6},
    {.name = "reduce sum axis 1 keepdim", .build = red_sum1, .tol = 1e-5}, {.name = "reduce mean last axis", .build = red_mean2, .tol = 1e-5},
    {.name = "reduce mean axis 0", .build = red_mean0, .tol = 1e-5}, {.name = "reduce sum axis 1 of 2x600000x2", .build = red_long, .tol = 1e-5}, {.name = "reduce mean all 9x5x11", .build = red_all, .tol = 1e-5},
    {.name = "softmax last axis 7x13", .build = sm_last, .tol = 1e-5}, {.name = "softmax axis 1 3x5x11", .build = sm_mid, .tol = 1e-5},
    {.name = "log_softmax 16x10", .build = lsm_last, .tol = 1e-5}, {.name = "log_softmax axis 0 3x5x11", .build = lsm_first, .tol = 1e-5},
    {.name = "layernorm 7x13", .build = ln, .tol = 1e-5}, {.name = "layernorm 3x5x32", .build = ln3, .tol = 1e-5}, {.name = "layernorm 30000x8", .build = ln_long, .tol = 1e-5},
    {.name = "dropout p=0.3 7x13 (bit-identical)", .build = drop, .tol = 0}, {.name = "dropout p=0.5 33x64 (bit-identical)", .build = drop_big, .tol = 0},
    {.name = "embedding (5,3) of (10,6)", .build = embed, .tol = 0, .int_range = 10},
    {.name = "embedding (4,9) of (50,6)", .build = embed_big, .tol = 0, .int_range = 50},
    {.name = "embedding 70000 of (5,2)", .build = embed_long, .tol = 0, .int_range = 5},
    {.name = "batched matmul shared B^T", .build = mm_shared, .tol = 1e-5}, {.name = "batched matmul A^T", .build = mm_batched, .tol = 1e-5},
    {.name = "conv2d bias groups 2", .build = conv_bias, .tol = 1e-5}, {.name = "conv2d depthwise stride 2 bias", .build = conv_dw, .tol = 1e-5},
};
#define N_CASES (sizeof cases / sizeof cases[0])
/* Not run again in 512-byte windows: the convolutions (test_vk_conv.c
 * splits them) and the long reduction (thousands of windows). */
static bool whole_only(const gp_case *c) { return c->build == conv_bias || c->build == conv_dw || c->build == red_long || c->build == embed_long ||
                                                c->build == ln_long; }

/* Dropout outside training passes x through, on both. */
static void dropout_eval(cvl_vk_device *dev) {
    cvl_graph *g = cvl_graph_new(5);
    cvl_tensor *y = drop(g);
    y->flags |= CVL_NODE_OUTPUT;
    cvl_backend *be = cvl_backend_vulkan_new(dev);
    cvl_err e = {0};
    cvl_backend_plan(be, g, &e);
    cvl_step_scalars sc = {.training = false, .seed = 7, .step = 3};
    cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e);
    float a[91], b[91];
    cvl_backend_read(be, cvl_graph_node(g, 0), a, sizeof a, &e);
    cvl_backend_read(be, y, b, sizeof b, &e);
    CHECK(e.status == CVL_OK && memcmp(a, b, sizeof a) == 0, "dropout in eval mode is the identity (%s)", e.msg);
    cvl_backend_free(be);
    cvl_graph_free(g);
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL) return vk_test_finish();
    for (size_t i = 0; i < N_CASES; i++) gp_run(dev, &cases[i], "");
    dropout_eval(dev);
    cvl_vk_device_free(dev);
    cvl_vk_device_opts small = {.max_range = 512, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev == NULL) return vk_test_finish();
    for (size_t i = 0; i < N_CASES; i++)
        if (!whole_only(&cases[i])) gp_run(dev, &cases[i], " (512-byte windows)");
    gp_case wide = {.name = "embedding of (4,200) in 512-byte windows", .build = embed_wide, .int_range = 4};
    gp_refused(dev, &wide, "embedding 3 of (4, 200): a row of 200 floats exceeds one storage window");
    cvl_vk_device_free(dev);
    return vk_test_finish();
}
