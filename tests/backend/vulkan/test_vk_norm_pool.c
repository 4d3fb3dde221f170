/* Batch norm, pooling and slices on Vulkan against the CPU backend: a
 * model input -> BatchNorm -> relu -> max pool (3x3, stride 2, pad 1) ->
 * BatchNorm -> avg pool 2x2 -> flatten -> linear -> cross-entropy, and a
 * second head through global average and max pooling, trained 10 steps
 * with SGD on both backends from the same weights and batches (BatchNorm's
 * parameter gradients go through slices). Losses, running statistics,
 * num_batches_tracked and eval-mode logits must agree within 1e-4
 * relative. Validation on; any message fails. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_backend.h"
#include "core/graph_internal.h"
#include "vk_test.h"

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

static double rel(const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs((double)b[i]));
    }
    return md / fmax(mb, 1e-12);
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL) return vk_test_finish();
    cvl_err e = {0};
    net c = make(cvl_backend_cpu_new(1), &e);
    CHECK(e.status == CVL_OK, "the model plans on the CPU (%s)", e.msg);
    net v = make(cvl_backend_vulkan_new(dev), &e);
    CHECK(e.status == CVL_OK, "the model plans on Vulkan (%s)", e.msg);
    if (e.status) return vk_test_finish();
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
    CHECK(e.status == CVL_OK && worst <= 1e-4, "10 training steps: losses agree (worst %.1e) (%s)", worst, e.msg);
    const char *bufs[] = {"bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var", "bn2.weight", "fc1.weight"};
    for (int i = 0; i < 6; i++) {
        cvl_tensor *tc = cvl_graph_find(c.g, bufs[i]), *tv = cvl_graph_find(v.g, bufs[i]);
        size_t n = cvl_tensor_numel(tc);
        float a[64], b[64];
        cvl_backend_read(c.be, tc, a, n * 4, &e);
        cvl_backend_read(v.be, tv, b, n * 4, &e);
        double r = rel(b, a, n);
        CHECK(r <= 1e-4, "%s agrees after training (%.1e)", bufs[i], r);
    }
    int64_t nb[2];
    cvl_backend_read(c.be, cvl_graph_find(c.g, "bn2.num_batches_tracked"), &nb[0], 8, &e);
    cvl_backend_read(v.be, cvl_graph_find(v.g, "bn2.num_batches_tracked"), &nb[1], 8, &e);
    CHECK(nb[0] == 10 && nb[1] == 10, "num_batches_tracked counts 10 steps on both (%lld, %lld)", (long long)nb[0],
          (long long)nb[1]);
    float la[32], lb[32];
    cvl_step_scalars ev = {.training = false};
    cvl_backend_run(c.be, 0, c.logits->id + 1, &ev, &e);
    cvl_backend_run(v.be, 0, v.logits->id + 1, &ev, &e);
    cvl_backend_read(c.be, c.logits, la, sizeof la, &e);
    cvl_backend_read(v.be, v.logits, lb, sizeof lb, &e);
    CHECK(rel(lb, la, 32) <= 1e-4, "eval-mode logits (running statistics) agree (%.1e)", rel(lb, la, 32));
    cvl_backend_free(c.be);
    cvl_backend_free(v.be);
    cvl_graph_free(c.g);
    cvl_graph_free(v.g);
    cvl_vk_device_free(dev);
    return vk_test_finish();
}
