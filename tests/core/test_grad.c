/* Every op's gradient against central finite differences.
 *
 * For each case a small graph computes out = op(leaves); the loss is
 * sum(out * R) with R a fixed random tensor, so every output element
 * contributes with its own weight. The analytic gradient of each leaf comes
 * from cvl_graph_backward; the numeric one from (L(x+h) - L(x-h)) / 2h per
 * element, accumulated in double. Forward passes run in float32, so the
 * step is h = 1e-2 and the test bound is a normalised error
 * ||analytic - numeric|| / max(||numeric||, 1e-3) <= 1e-2 per leaf
 * (ggml's test-backend-ops grad mode works the same way). Inputs of
 * piecewise ops (relu, max, abs, huber) are kept away from their kinks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "harness.h"

#define H 1e-2
#define TOL 1e-2

static uint64_t rng = 42;
static float frand(void) { /* uniform in [-1, 1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Values for a leaf: away from 0 by at least 0.1 when `kinked`. */
static void fill(float *x, size_t n, bool kinked, bool positive) {
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        if (kinked) v = v < 0 ? v - 0.1f : v + 0.1f;
        if (positive) v = fabsf(v) + 0.5f;
        x[i] = v;
    }
}

typedef struct leaf_spec {
    int ndim;
    int64_t shape[4];
    bool positive; /* e.g. a divisor */
    bool distinct; /* values 0.05 apart, shuffled: no near-ties for max */
} leaf_spec;

typedef cvl_tensor *(*build_fn)(cvl_graph *g, cvl_tensor **x, void *user);

static float loss_at(cvl_backend *be, cvl_tensor *loss, int32_t n_fwd) {
    cvl_step_scalars s = {.lr = 0, .step = 1, .seed = 7, .training = true};
    cvl_err e = {0};
    cvl_backend_run(be, 0, n_fwd, &s, &e);
    float l;
    cvl_backend_read(be, loss, &l, sizeof l, &e);
    return l;
}

/* Runs one case; `extra` writes non-differentiable inputs (labels). */
static void gradcheck(const char *name, int n_leaves, const leaf_spec *specs, bool kinked, build_fn build,
                      void *user, void (*extra)(cvl_backend *, cvl_graph *)) {
    cvl_graph *g = cvl_graph_new(1);
    cvl_tensor *x[8];
    for (int i = 0; i < n_leaves; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "x%d", i);
        x[i] = cvl_param(g, nm, specs[i].ndim, specs[i].shape, CVL_INIT_ZEROS, 0);
    }
    cvl_tensor *out = build(g, x, user);
    cvl_tensor *loss = NULL;
    if (out) {
        size_t n = cvl_tensor_numel(out);
        float *r = malloc(n * sizeof *r);
        fill(r, n, false, false);
        cvl_tensor *R = cvl_constant(g, out->ndim, out->shape, r);
        free(r);
        loss = cvl_reduce(g, CVL_OP_SUM, cvl_binary(g, CVL_OP_MUL, out, R), CVL_AXIS_ALL, false);
    }
    int32_t n_fwd = cvl_graph_size(g);
    cvl_graph_backward(g, loss);
    if (cvl_graph_error(g)->status) {
        CHECK(0, "%s: graph builds (%s)", name, cvl_graph_error(g)->msg);
        cvl_graph_free(g);
        return;
    }
    cvl_backend *be = cvl_backend_cpu_new(1);
    cvl_err e = {0};
    if (cvl_backend_plan(be, g, &e) != CVL_OK) {
        CHECK(0, "%s: plan (%s)", name, e.msg);
        cvl_backend_free(be);
        cvl_graph_free(g);
        return;
    }
    float *vals[8];
    for (int i = 0; i < n_leaves; i++) {
        size_t n = cvl_tensor_numel(x[i]);
        vals[i] = malloc(n * sizeof(float));
        fill(vals[i], n, kinked, specs[i].positive);
        if (specs[i].distinct) {
            for (size_t k = 0; k < n; k++) vals[i][k] = (float)k * 0.05f - (float)n * 0.025f;
            for (size_t k = n - 1; k > 0; k--) {
                size_t j = (size_t)((frand() + 1.0f) * 0.5f * (float)(k + 1)) % (k + 1);
                float tmp = vals[i][k];
                vals[i][k] = vals[i][j];
                vals[i][j] = tmp;
            }
        }
        cvl_backend_write(be, x[i], vals[i], n * sizeof(float), &e);
    }
    if (extra) extra(be, g);
    cvl_step_scalars s = {.lr = 0, .step = 1, .seed = 7, .training = true};
    cvl_backend_run(be, 0, cvl_graph_size(g), &s, &e);
    for (int i = 0; i < n_leaves; i++) {
        size_t n = cvl_tensor_numel(x[i]);
        float *ana = calloc(n, sizeof *ana);
        if (x[i]->grad) cvl_backend_read(be, x[i]->grad, ana, n * sizeof(float), &e);
        double num2 = 0, diff2 = 0;
        for (size_t k = 0; k < n; k++) {
            float keep = vals[i][k];
            vals[i][k] = keep + (float)H;
            cvl_backend_write(be, x[i], vals[i], n * sizeof(float), &e);
            double lp = loss_at(be, loss, n_fwd);
            vals[i][k] = keep - (float)H;
            cvl_backend_write(be, x[i], vals[i], n * sizeof(float), &e);
            double lm = loss_at(be, loss, n_fwd);
            vals[i][k] = keep;
            cvl_backend_write(be, x[i], vals[i], n * sizeof(float), &e);
            double num = (lp - lm) / (2 * H);
            num2 += num * num;
            diff2 += (ana[k] - num) * (ana[k] - num);
        }
        double err = sqrt(diff2) / fmax(sqrt(num2), 1e-3);
        CHECK(err <= TOL && x[i]->grad != NULL, "%s: d/dx%d normalised error %.2e <= %.0e", name, i, err, TOL);
        free(ana);
        free(vals[i]);
    }
    cvl_backend_free(be);
    cvl_graph_free(g);
}

/* ------------------------------------------------------------- cases */

static cvl_tensor *b_linear(cvl_graph *g, cvl_tensor **x, void *u) { (void)u; return cvl_linear(g, x[0], x[1], x[2]); }
static cvl_tensor *b_linear3d(cvl_graph *g, cvl_tensor **x, void *u) { (void)u; return cvl_linear(g, x[0], x[1], NULL); }
static cvl_tensor *b_matmul(cvl_graph *g, cvl_tensor **x, void *u) {
    int *t = u;
    return cvl_matmul(g, x[0], x[1], t[0], t[1]);
}
typedef struct conv_case { int stride, pad, dil, groups; bool bias; } conv_case;
static cvl_tensor *b_conv(cvl_graph *g, cvl_tensor **x, void *u) {
    conv_case *c = u;
    return cvl_conv2d(g, x[0], x[1], c->bias ? x[2] : NULL, c->stride, c->stride, c->pad, c->pad, c->dil, c->dil, c->groups);
}
static cvl_tensor *b_bn(cvl_graph *g, cvl_tensor **x, void *u) {
    (void)u;
    int64_t C = x[0]->shape[1], one = 1;
    cvl_tensor *rm = cvl_buffer(g, "rm", CVL_DTYPE_F32, 1, &C, CVL_INIT_ZEROS, 0);
    cvl_tensor *rv = cvl_buffer(g, "rv", CVL_DTYPE_F32, 1, &C, CVL_INIT_ONES, 0);
    cvl_tensor *nbt = cvl_buffer(g, "nbt", CVL_DTYPE_I64, 1, &one, CVL_INIT_ZEROS, 0);
    return cvl_batch_norm(g, x[0], x[1], x[2], rm, rv, nbt, 1e-5, 0.1);
}
static cvl_tensor *b_ln(cvl_graph *g, cvl_tensor **x, void *u) { (void)u; return cvl_layer_norm(g, x[0], x[1], x[2], 1e-5); }
static cvl_tensor *b_unary(cvl_graph *g, cvl_tensor **x, void *u) { return cvl_unary(g, *(int *)u, x[0]); }
static cvl_tensor *b_binary(cvl_graph *g, cvl_tensor **x, void *u) { return cvl_binary(g, *(int *)u, x[0], x[1]); }
static cvl_tensor *b_scale(cvl_graph *g, cvl_tensor **x, void *u) { (void)u; return cvl_scale(g, x[0], -1.75); }
typedef struct pool_case { int kind, k, stride, pad; } pool_case;
static cvl_tensor *b_pool(cvl_graph *g, cvl_tensor **x, void *u) {
    pool_case *p = u;
    return cvl_pool2d(g, p->kind, x[0], p->k, p->stride, p->pad);
}
static cvl_tensor *b_gpool(cvl_graph *g, cvl_tensor **x, void *u) { return cvl_global_pool(g, *(int *)u, x[0]); }
static cvl_tensor *b_views(cvl_graph *g, cvl_tensor **x, void *u) {
    (void)u;
    // (2,3,4) -> permute (4,2,3) -> slice axis 2 [1,3) -> concat with x1 (4,2,1) on axis 2 -> flatten
    int32_t perm[3] = {2, 0, 1};
    cvl_tensor *p = cvl_permute(g, x[0], 3, perm);
    cvl_tensor *s = cvl_slice(g, p, 2, 1, 3);
    cvl_tensor *parts[2] = {s, x[1]};
    cvl_tensor *c = cvl_concat(g, 2, parts, 2);
    int64_t shape[2] = {4, 6};
    return cvl_reshape(g, cvl_flatten(g, c), 2, shape);
}
static cvl_tensor *b_dropout(cvl_graph *g, cvl_tensor **x, void *u) { (void)u; return cvl_dropout(g, x[0], 0.3); }
static cvl_tensor *b_softmax(cvl_graph *g, cvl_tensor **x, void *u) { return cvl_softmax(g, x[0], 1, *(int *)u); }
typedef struct red_case { int kind, axis; bool keep; } red_case;
static cvl_tensor *b_reduce(cvl_graph *g, cvl_tensor **x, void *u) {
    red_case *r = u;
    return cvl_reduce(g, r->kind, x[0], r->axis, r->keep);
}

static cvl_tensor *labels, *target;
static cvl_tensor *b_embedding(cvl_graph *g, cvl_tensor **x, void *u) {
    (void)u;
    int64_t shape[2] = {2, 3};
    labels = cvl_input(g, "idx", CVL_DTYPE_I32, 2, shape);
    return cvl_embedding(g, labels, x[0]);
}
static void write_idx(cvl_backend *be, cvl_graph *g) {
    (void)g;
    int32_t idx[6] = {0, 4, 2, 4, 1, 0};
    cvl_err e = {0};
    cvl_backend_write(be, labels, idx, sizeof idx, &e);
}
typedef struct loss_case { int kind; double arg; bool weights; } loss_case;
static cvl_tensor *b_loss(cvl_graph *g, cvl_tensor **x, void *u) {
    loss_case *c = u;
    if (c->kind == CVL_OP_CROSS_ENTROPY) {
        int64_t n = x[0]->shape[0];
        labels = cvl_input(g, "labels", CVL_DTYPE_I32, 1, &n);
        cvl_tensor *w = NULL;
        if (c->weights) {
            float wv[5] = {0.5f, 2.0f, 1.0f, 0.25f, 3.0f};
            int64_t C = 5;
            w = cvl_constant(g, 1, &C, wv);
        }
        return cvl_loss(g, c->kind, x[0], labels, w, c->arg);
    }
    target = cvl_input(g, "target", CVL_DTYPE_F32, x[0]->ndim, x[0]->shape);
    return cvl_loss(g, c->kind, x[0], target, NULL, c->arg);
}
static void write_target(cvl_backend *be, cvl_graph *g) {
    (void)g;
    size_t n = cvl_tensor_numel(target);
    float v[64];
    for (size_t i = 0; i < n; i++) v[i] = (frand() + 1.0f) * 0.5f; /* in [0, 1): also valid BCE targets */
    cvl_err e = {0};
    cvl_backend_write(be, target, v, n * sizeof(float), &e);
}
static void write_labels(cvl_backend *be, cvl_graph *g) {
    (void)g;
    int32_t y[4] = {3, 0, 4, 1};
    cvl_err e = {0};
    cvl_backend_write(be, labels, y, sizeof y, &e);
}
int main(void) {
    {
        leaf_spec s[3] = {{2, {3, 5}, 0}, {2, {4, 5}, 0}, {1, {4}, 0}};
        gradcheck("linear", 3, s, false, b_linear, NULL, NULL);
        leaf_spec s3[2] = {{3, {2, 3, 5}, 0}, {2, {4, 5}, 0}};
        gradcheck("linear 3-d input, no bias", 2, s3, false, b_linear3d, NULL, NULL);
    }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int t[2] = {ta, tb};
            leaf_spec s[2] = {{2, {ta ? 4 : 3, ta ? 3 : 4}, 0}, {2, {tb ? 5 : 4, tb ? 4 : 5}, 0}};
            char nm[64];
            snprintf(nm, sizeof nm, "matmul%s%s", ta ? " A^T" : "", tb ? " B^T" : "");
            gradcheck(nm, 2, s, false, b_matmul, t, NULL);
        }
    {
        int t[2] = {0, 0};
        leaf_spec s[2] = {{3, {2, 3, 4}, 0}, {3, {2, 4, 2}, 0}};
        gradcheck("matmul batched", 2, s, false, b_matmul, t, NULL);
        leaf_spec s2[2] = {{3, {2, 3, 4}, 0}, {2, {4, 2}, 0}};
        gradcheck("matmul batched x shared", 2, s2, false, b_matmul, t, NULL);
    }
    {
        conv_case cases[] = {{1, 1, 1, 1, true}, {2, 1, 1, 1, false}, {1, 2, 2, 1, false}, {2, 0, 1, 2, true}, {1, 1, 1, 4, false}};
        const char *names[] = {"conv2d 3x3 pad 1 bias", "conv2d stride 2", "conv2d dilation 2", "conv2d groups 2 stride 2", "conv2d depthwise"};
        for (int i = 0; i < 5; i++) {
            int C = 4, K = cases[i].groups == 4 ? 4 : 6;
            leaf_spec s[3] = {{4, {2, C, 7, 6}, 0}, {4, {K, C / cases[i].groups, 3, 3}, 0}, {1, {K}, 0}};
            gradcheck(names[i], cases[i].bias ? 3 : 2, s, false, b_conv, &cases[i], NULL);
        }
        conv_case pw = {1, 0, 1, 1, false};
        leaf_spec s[2] = {{4, {3, 5, 4, 4}, 0}, {4, {2, 5, 1, 1}, 0}};
        gradcheck("conv2d 1x1", 2, s, false, b_conv, &pw, NULL);
    }
    {
        leaf_spec s[3] = {{4, {3, 4, 3, 2}, 0}, {1, {4}, 0}, {1, {4}, 0}};
        gradcheck("batch_norm (N,C,H,W) training", 3, s, false, b_bn, NULL, NULL);
        leaf_spec s2[3] = {{2, {5, 3}, 0}, {1, {3}, 0}, {1, {3}, 0}};
        gradcheck("batch_norm (N,C) training", 3, s2, false, b_bn, NULL, NULL);
        leaf_spec s3[3] = {{3, {2, 3, 6}, 0}, {1, {6}, 0}, {1, {6}, 0}};
        gradcheck("layer_norm", 3, s3, false, b_ln, NULL, NULL);
    }
    {
        int ops[] = {CVL_OP_RELU, CVL_OP_GELU, CVL_OP_SILU, CVL_OP_SIGMOID, CVL_OP_TANH};
        const char *names[] = {"relu", "gelu", "silu", "sigmoid", "tanh"};
        for (int i = 0; i < 5; i++) {
            leaf_spec s[1] = {{3, {2, 3, 4}, 0}};
            gradcheck(names[i], 1, s, true, b_unary, &ops[i], NULL);
        }
    }
    {
        int ops[] = {CVL_OP_ADD, CVL_OP_SUB, CVL_OP_MUL, CVL_OP_DIV};
        const char *names[] = {"add", "sub", "mul", "div"};
        leaf_spec shapes[][2] = {
            {{3, {2, 3, 4}, 0}, {3, {2, 3, 4}, 1}},
            {{3, {2, 3, 4}, 0}, {2, {3, 1}, 1}},
            {{2, {3, 1}, 0}, {3, {2, 1, 4}, 1}},
            {{3, {2, 3, 4}, 0}, {1, {1}, 1}},
        };
        const char *bn[] = {"same shape", "broadcast (3,1)", "broadcast both", "scalar"};
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++) {
                char nm[64];
                snprintf(nm, sizeof nm, "%s %s", names[i], bn[k]);
                gradcheck(nm, 2, shapes[k], false, b_binary, &ops[i], NULL);
            }
        leaf_spec s[1] = {{2, {3, 4}, 0}};
        gradcheck("scale", 1, s, false, b_scale, NULL, NULL);
    }
    {
        pool_case cases[] = {{CVL_OP_MAX_POOL, 2, 2, 0}, {CVL_OP_MAX_POOL, 3, 2, 1}, {CVL_OP_AVG_POOL, 2, 2, 0}, {CVL_OP_AVG_POOL, 3, 1, 1}};
        const char *names[] = {"max_pool 2/2", "max_pool 3/2 pad 1", "avg_pool 2/2", "avg_pool 3/1 pad 1"};
        for (int i = 0; i < 4; i++) {
            leaf_spec s[1] = {{4, {2, 3, 5, 6}, 0, 1}};
            gradcheck(names[i], 1, s, false, b_pool, &cases[i], NULL);
        }
        int kinds[] = {CVL_OP_AVG_POOL, CVL_OP_MAX_POOL};
        leaf_spec s[1] = {{4, {2, 3, 4, 3}, 0, 1}};
        gradcheck("global avg pool", 1, s, false, b_gpool, &kinds[0], NULL);
        gradcheck("global max pool", 1, s, false, b_gpool, &kinds[1], NULL);
    }
    {
        leaf_spec s[2] = {{3, {2, 3, 4}, 0}, {3, {4, 2, 1}, 0}};
        gradcheck("permute, slice, concat, flatten, reshape", 2, s, false, b_views, NULL, NULL);
        leaf_spec d[1] = {{2, {6, 7}, 0}};
        gradcheck("dropout p=0.3 (training)", 1, d, false, b_dropout, NULL, NULL);
        int lg[2] = {0, 1};
        leaf_spec sm[1] = {{3, {3, 4, 2}, 0}};
        gradcheck("softmax axis 1", 1, sm, false, b_softmax, &lg[0], NULL);
        gradcheck("log_softmax axis 1", 1, sm, false, b_softmax, &lg[1], NULL);
        red_case rc[] = {{CVL_OP_SUM, 1, false}, {CVL_OP_MEAN, 2, true}, {CVL_OP_MEAN, CVL_AXIS_ALL, false}};
        const char *rn[] = {"sum axis 1", "mean axis 2 keepdim", "mean all"};
        for (int i = 0; i < 3; i++) gradcheck(rn[i], 1, sm, false, b_reduce, &rc[i], NULL);
        leaf_spec emb[1] = {{2, {5, 3}, 0}};
        gradcheck("embedding", 1, emb, false, b_embedding, NULL, write_idx);
    }
    {
        loss_case ce[] = {{CVL_OP_CROSS_ENTROPY, 0, false}, {CVL_OP_CROSS_ENTROPY, 0.1, false}, {CVL_OP_CROSS_ENTROPY, 0.2, true}};
        const char *cn[] = {"cross_entropy", "cross_entropy label_smoothing 0.1", "cross_entropy smoothing 0.2 class weights"};
        leaf_spec s[1] = {{2, {4, 5}, 0}};
        for (int i = 0; i < 3; i++) gradcheck(cn[i], 1, s, false, b_loss, &ce[i], write_labels);
        loss_case others[] = {{CVL_OP_MSE, 0, 0}, {CVL_OP_L1, 0, 0}, {CVL_OP_HUBER, 0.5, 0}};
        const char *on[] = {"mse", "l1", "huber delta 0.5"};
        leaf_spec s2[1] = {{2, {3, 4}, 0, 0}};
        for (int i = 0; i < 3; i++) gradcheck(on[i], 1, s2, true, b_loss, &others[i], write_target);
        loss_case bce[] = {{CVL_OP_BCE_LOGITS, 0, 0}, {CVL_OP_BCE_LOGITS, 2.5, 0}};
        gradcheck("bce_with_logits", 1, s2, false, b_loss, &bce[0], write_target);
        gradcheck("bce_with_logits pos_weight 2.5", 1, s2, false, b_loss, &bce[1], write_target);
    }
    return tap_done();
}
