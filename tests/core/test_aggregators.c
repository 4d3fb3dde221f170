/* The aggregator plugins: output shapes, messages for inputs that cannot
 * be fused, and a two-input model per aggregator that learns a fixed batch
 * (the loss must fall by 10x within 40 steps of Adam). The attention
 * aggregator's weights must make its output a convex combination: with
 * every input identical, the output equals that input's projection.
 * argv[1]: the built-in plugin directory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/graph_internal.h"
#include "harness.h"
#include "train/model.h"

static cvl_registry *reg;

static cvl_tensor *agg(cvl_graph *g, const char *name, const char *params, cvl_tensor **in, uint32_t n, cvl_err *e) {
    json_t *p = params ? json_loads(params, 0, NULL) : NULL;
    cvl_err_clear(e);
    cvl_tensor *t = cvl_model_apply(reg, g, CVL_KIND_AGGREGATOR, (cvl_component_ref){name, p}, in, n, 0, e);
    json_decref(p);
    return t;
}

static void shapes(void) {
    cvl_err e;
    cvl_graph *g = cvl_graph_new(0);
    int64_t s1[2] = {2, 3}, s2[2] = {2, 4}, s3[4] = {2, 5, 4, 4};
    cvl_tensor *a = cvl_input(g, "a", CVL_DTYPE_F32, 2, s1), *b = cvl_input(g, "b", CVL_DTYPE_F32, 2, s2);
    cvl_tensor *m = cvl_input(g, "m", CVL_DTYPE_F32, 4, s3);
    cvl_tensor *in[2] = {a, b};
    cvl_tensor *t = agg(g, "concat", NULL, in, 2, &e);
    CHECK(t && t->ndim == 2 && t->shape[1] == 7, "concat of (2,3) and (2,4) is (2,7)");
    cvl_tensor *mv[2] = {m, a};
    t = agg(g, "concat", NULL, mv, 2, &e);
    CHECK(t && t->ndim == 4 && t->shape[1] == 8 && t->shape[2] == 4, "a vector is broadcast over a map: (2,8,4,4)");
    cvl_graph_push_scope(g, "c2");
    t = agg(g, "concat", "{\"dense\": [16, 6]}", mv, 2, &e);
    cvl_graph_pop_scope(g);
    CHECK(t && t->ndim == 2 && t->shape[1] == 6 && cvl_graph_find(g, "c2.dense2.weight"),
          "concat with dense layers flattens, then Linear+ReLU to (2,6)");
    t = agg(g, "sum", NULL, in, 2, &e);
    CHECK(t == NULL, "sum of (2,3) and (2,4) fails");
    CHECK_STR_CONTAINS(e.msg, "aggregator 'sum': input 2 has size 4 on axis 1, input 1 has 3 (set project to add a Linear)",
                       "and says how to fix it");
    cvl_graph_free(g);
    g = cvl_graph_new(0);
    a = cvl_input(g, "a", CVL_DTYPE_F32, 2, s1);
    b = cvl_input(g, "b", CVL_DTYPE_F32, 2, s2);
    in[0] = a;
    in[1] = b;
    t = agg(g, "sum", "{\"project\": 6}", in, 2, &e);
    CHECK(t && t->shape[1] == 6 && cvl_graph_find(g, "proj2.bias"), "sum with project 6 is (2,6)");
    cvl_graph_push_scope(g, "att");
    t = agg(g, "attention", "{\"dim\": 5}", in, 2, &e);
    cvl_graph_pop_scope(g);
    CHECK(t && t->ndim == 2 && t->shape[1] == 5, "attention with dim 5 is (2,5) (%s)", e.msg);
    cvl_graph_free(g);
}

/* attention over identical inputs with a shared projection returns it */
static void attention_convex(void) {
    cvl_err e = {0};
    cvl_graph *g = cvl_graph_new(4);
    int64_t s[2] = {3, 4};
    cvl_tensor *x = cvl_input(g, "x", CVL_DTYPE_F32, 2, s);
    cvl_tensor *in[3] = {x, x, x};
    cvl_tensor *t = agg(g, "attention", "{\"dim\": 4}", in, 3, &e);
    t->flags |= CVL_NODE_OUTPUT;
    cvl_backend *be = cvl_backend_cpu_new(1);
    cvl_backend_plan(be, g, &e);
    /* make the three projections equal: copy proj1's weights into proj2, proj3 */
    float w[16], bias[4];
    cvl_backend_read(be, cvl_graph_find(g, "proj1.weight"), w, sizeof w, &e);
    cvl_backend_read(be, cvl_graph_find(g, "proj1.bias"), bias, sizeof bias, &e);
    for (int k = 2; k <= 3; k++) {
        char nw[32], nb[32];
        snprintf(nw, sizeof nw, "proj%d.weight", k);
        snprintf(nb, sizeof nb, "proj%d.bias", k);
        cvl_backend_write(be, cvl_graph_find(g, nw), w, sizeof w, &e);
        cvl_backend_write(be, cvl_graph_find(g, nb), bias, sizeof bias, &e);
    }
    float xv[12];
    for (int i = 0; i < 12; i++) xv[i] = (float)sin(i * 1.3);
    cvl_backend_write(be, x, xv, sizeof xv, &e);
    cvl_step_scalars sc = {.training = false};
    cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e);
    float out[12];
    cvl_backend_read(be, t, out, sizeof out, &e);
    double md = 0;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) {
            double p = bias[k];
            for (int j = 0; j < 4; j++) p += (double)w[k * 4 + j] * xv[i * 4 + j];
            md = fmax(md, fabs(p - out[i * 4 + k]));
        }
    CHECK(md < 1e-5, "attention weights sum to one: identical inputs give their projection (max diff %.1e)", md);
    cvl_backend_free(be);
    cvl_graph_free(g);
}

static void learns(const char *name, const char *params) {
    cvl_err e = {0};
    cvl_graph *g = cvl_graph_new(7);
    int64_t N = 16, sa[2] = {16, 6}, sb[4] = {16, 2, 4, 4};
    cvl_tensor *a = cvl_input(g, "a", CVL_DTYPE_F32, 2, sa), *b = cvl_input(g, "b", CVL_DTYPE_F32, 4, sb);
    cvl_tensor *y = cvl_input(g, "y", CVL_DTYPE_I32, 1, &N);
    cvl_graph_push_scope(g, "enc_b");
    cvl_tensor *fb = cvl_flatten(g, cvl_unary(g, CVL_OP_RELU, cvl_layer_conv2d(g, "conv", b, 4, 3, 1, 1, 1, 1, true)));
    cvl_graph_pop_scope(g);
    cvl_tensor *in[2] = {a, fb};
    cvl_graph_push_scope(g, "agg");
    cvl_tensor *f = agg(g, name, params, in, 2, &e);
    cvl_graph_pop_scope(g);
    cvl_tensor *logits = cvl_layer_linear(g, "head", f, 3, true);
    cvl_tensor *loss = cvl_loss(g, CVL_OP_CROSS_ENTROPY, logits, y, NULL, 0);
    cvl_graph_backward(g, loss);
    cvl_optim_spec o = {.kind = CVL_OPK_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cvl_graph_optimizer(g, &o);
    CHECK(cvl_graph_error(g)->status == CVL_OK && e.status == CVL_OK, "%s %s: a two-input model builds (%s%s)", name,
          params ? params : "", e.msg, cvl_graph_error(g)->msg);
    if (cvl_graph_error(g)->status || e.status) {
        cvl_graph_free(g);
        return;
    }
    cvl_backend *be = cvl_backend_cpu_new(2);
    cvl_backend_plan(be, g, &e);
    float av[96], bv[512];
    int32_t yv[16];
    for (int i = 0; i < 96; i++) av[i] = (float)sin(i * 0.7);
    for (int i = 0; i < 512; i++) bv[i] = (float)cos(i * 0.3);
    for (int i = 0; i < 16; i++) yv[i] = (i * 7) % 3;
    cvl_backend_write(be, a, av, sizeof av, &e);
    cvl_backend_write(be, b, bv, sizeof bv, &e);
    cvl_backend_write(be, y, yv, sizeof yv, &e);
    float first = 0, last = 0;
    for (int s = 1; s <= 40; s++) {
        cvl_step_scalars sc = {.lr = 0.02, .step = s, .training = true};
        cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e);
        cvl_backend_read(be, loss, s == 1 ? &first : &last, sizeof(float), &e);
    }
    CHECK(last < first / 10, "%s: the loss falls 10x in 40 steps (%.4f -> %.4f)", name, first, last);
    cvl_backend_free(be);
    cvl_graph_free(g);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_dir(reg, argv[1], true);
    shapes();
    attention_convex();
    learns("concat", "{\"dense\": [16]}");
    learns("sum", "{\"project\": 16}");
    learns("attention", "{\"dim\": 16}");
    cvl_registry_free(reg);
    return tap_done();
}
