/* The mlp reference model (784-512-256-10, SGD with momentum and weight
 * decay) trained for 20 steps on the CPU backend and on the Vulkan backend
 * (lavapipe, validation on) from the same initial weights on the same
 * Fashion-MNIST batches. Every step's loss must agree within 1e-3
 * relative, and so must the final weights of the output layer (max |a-b|
 * over max |b|): GEMM summation orders differ, nothing else may.
 * An op the Vulkan backend lacks is refused at plan time by name.
 * argv[1]: the built-in plugin directory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_backend.h"
#include "core/graph_internal.h"
#include "train/idx.h"
#include "train/model.h"
#include "vk_test.h"

#define B 32
#define STEPS 20

typedef struct run {
    cvl_graph *g;
    cvl_classifier m;
    cvl_backend *be;
} run;

static bool build(run *r, const cvl_registry *reg, cvl_backend *be, cvl_err *e) {
    r->g = cvl_graph_new(3);
    r->be = be;
    json_t *hp = json_pack("{s:s}", "layer_name", "fc3");
    json_t *op = json_pack("{s:f, s:f}", "momentum", 0.9, "weight_decay", 5e-4);
    cvl_status st = cvl_model_classifier(reg, r->g, B, 1, 28, 28, 10, (cvl_component_ref){"mlp", NULL},
                                         (cvl_component_ref){"classification", hp},
                                         (cvl_component_ref){"cross_entropy", NULL}, &r->m, e);
    cvl_optim_spec spec = {0};
    if (st == CVL_OK) st = cvl_graph_backward(r->g, r->m.loss);
    if (st == CVL_OK) st = cvl_model_optimizer(reg, r->g, (cvl_component_ref){"sgd", op}, &spec, e);
    if (st == CVL_OK) st = cvl_graph_optimizer(r->g, &spec);
    if (st == CVL_OK) st = cvl_backend_plan(be, r->g, e);
    json_decref(hp);
    json_decref(op);
    return st == CVL_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_dir(reg, argv[1], true);
    cvl_idx_split data;
    cvl_err e = {0};
    CHECK(cvl_idx_load(&data, "/usr/share/datasets/fashion-mnist", "t10k", 10, &e) == CVL_OK, "Fashion-MNIST (%s)", e.msg);
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL || data.n == 0) return vk_test_finish();

    run cpu, vk;
    CHECK(build(&cpu, reg, cvl_backend_cpu_new(2), &e), "mlp on the CPU (%s)", e.msg);
    cvl_err_clear(&e);
    CHECK(build(&vk, reg, cvl_backend_vulkan_new(dev), &e), "mlp on Vulkan (%s)", e.msg);
    float x[B * 784];
    int32_t y[B];
    double worst = 0;
    float first[2] = {0}, last[2] = {0};
    for (int s = 0; s < STEPS && e.status == CVL_OK; s++) {
        for (int i = 0; i < B; i++) {
            int64_t k = (int64_t)(s * B + i) % data.n;
            for (int p = 0; p < 784; p++) x[i * 784 + p] = (data.images[k * 784 + p] / 255.0f - 0.2860f) / 0.3530f;
            y[i] = data.labels[k];
        }
        float loss[2];
        run *rs[2] = {&cpu, &vk};
        for (int r = 0; r < 2; r++) {
            cvl_backend_write(rs[r]->be, rs[r]->m.image, x, sizeof x, &e);
            cvl_backend_write(rs[r]->be, rs[r]->m.labels, y, sizeof y, &e);
            cvl_step_scalars sc = {.lr = 0.05, .step = s + 1, .training = true};
            cvl_backend_run(rs[r]->be, 0, cvl_graph_size(rs[r]->g), &sc, &e);
            cvl_backend_read(rs[r]->be, rs[r]->m.loss, &loss[r], sizeof(float), &e);
        }
        if (s == 0) memcpy(first, loss, sizeof loss);
        memcpy(last, loss, sizeof loss);
        worst = fmax(worst, fabs((double)loss[0] - loss[1]) / fabs((double)loss[0]));
    }
    CHECK(e.status == CVL_OK, "20 steps ran on both backends (%s)", e.msg);
    CHECK(worst <= 1e-3, "the losses agree at every step (worst relative difference %.1e; %.4f -> %.4f on the CPU)", worst,
          first[0], last[0]);
    CHECK(last[0] < first[0] * 0.8f && last[1] < first[1] * 0.8f, "both learn (Vulkan %.4f -> %.4f)", first[1], last[1]);
    float wc[10 * 256], wv[10 * 256];
    cvl_backend_read(cpu.be, cvl_graph_find(cpu.g, "fc3.weight"), wc, sizeof wc, &e);
    cvl_backend_read(vk.be, cvl_graph_find(vk.g, "fc3.weight"), wv, sizeof wv, &e);
    double md = 0, mb = 0;
    for (int i = 0; i < 10 * 256; i++) {
        md = fmax(md, fabs((double)wc[i] - wv[i]));
        mb = fmax(mb, fabs((double)wc[i]));
    }
    CHECK(md / mb <= 1e-3, "the trained fc3.weight agrees (relative %.1e)", md / mb);
    cvl_plan_stats ps;
    vk.be->ops->stats(vk.be, &ps);
    CHECK(ps.arena_bytes < ps.activation_bytes, "the planner's arena serves Vulkan too (%zu < %zu bytes)", ps.arena_bytes,
          ps.activation_bytes);

    /* A model with an op Vulkan lacks is refused at plan time, by name. */
    cvl_graph *g = cvl_graph_new(0);
    int64_t shape[4] = {1, 1, 8, 8};
    cvl_tensor *img = cvl_input(g, "img", CVL_DTYPE_F32, 4, shape);
    cvl_layer_conv2d(g, "conv", img, 2, 3, 1, 1, 1, 1, false);
    cvl_backend *other = cvl_backend_vulkan_new(dev);
    cvl_err_clear(&e);
    CHECK(cvl_backend_plan(other, g, &e) == CVL_ERR_UNSUPPORTED, "a convolution is refused for now");
    CHECK_STR_CONTAINS(e.msg, "vulkan: node 2 (conv2d) is not implemented on Vulkan yet", "naming the node and the op");
    cvl_backend_free(other);
    cvl_graph_free(g);

    cvl_backend_free(cpu.be);
    cvl_backend_free(vk.be);
    cvl_graph_free(cpu.g);
    cvl_graph_free(vk.g);
    cvl_vk_device_free(dev);
    cvl_idx_free(&data);
    cvl_registry_free(reg);
    return vk_test_finish();
}
