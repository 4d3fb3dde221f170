/* Every built-in encoder builds, trains one step, and has the parameter
 * count of its reference architecture:
 *   torchvision resnet18 / resnet34 / resnet50 (3 input channels): their
 *   published counts (11,689,512 / 21,797,672 / 25,557,032) minus the
 *   1000-class fc layer; davidnet: Page's ResNet-9, 6,573,130 with its
 *   10-class classifier; resnet18s / resnet34s / cnn / mlp: the counts
 *   PyTorch reports for the same modules with 10 classes (torch_ref.py's
 *   ResNet18S: 11,172,810; a width-16, 3-channel ResNet-34 with the same
 *   small stem: 1,334,618).
 * A head (classification, 10 classes) and cross-entropy complete each
 * model; one training step must give a finite loss and a non-zero
 * gradient for the first parameter.
 * argv[1]: the built-in plugin directory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/graph_internal.h"
#include "harness.h"
#include "train/model.h"

static void check(const cvl_registry *reg, const char *encoder, const char *params, int64_t C, int64_t H,
                  size_t want_params, const char *must_have) {
    cvl_graph *g = cvl_graph_new(3);
    json_t *ep = json_loads(params, 0, NULL);
    cvl_classifier m;
    cvl_err e = {0};
    cvl_status st = cvl_model_classifier(reg, g, 2, C, H, H, 10, (cvl_component_ref){encoder, ep},
                                         (cvl_component_ref){"classification", NULL},
                                         (cvl_component_ref){"cross_entropy", NULL}, &m, &e);
    json_decref(ep);
    if (st == CVL_OK) st = cvl_graph_backward(g, m.loss);
    CHECK(st == CVL_OK, "%s %s: builds (%s)", encoder, params, st ? (e.status ? e.msg : g->err.msg) : "ok");
    if (st != CVL_OK) {
        cvl_graph_free(g);
        return;
    }
    size_t count = 0;
    cvl_tensor *first = NULL;
    for (int32_t i = 0; i < g->n; i++)
        if (g->nodes[i]->op == CVL_OPK_PARAM) {
            count += cvl_tensor_numel(g->nodes[i]);
            if (!first) first = g->nodes[i];
        }
    CHECK(count == want_params, "%s %s: %zu parameters (reference %zu)", encoder, params, count, want_params);
    CHECK(cvl_graph_find(g, must_have) != NULL, "%s: has torchvision-named '%s'", encoder, must_have);
    cvl_backend *be = cvl_backend_cpu_new(2);
    st = cvl_backend_plan(be, g, &e);
    size_t n_in = (size_t)(2 * C * H * H);
    float *x = malloc(n_in * sizeof *x);
    for (size_t i = 0; i < n_in; i++) x[i] = (float)sin((double)i * 0.37);
    int32_t y[2] = {3, 7};
    cvl_backend_write(be, m.image, x, n_in * sizeof *x, &e);
    cvl_backend_write(be, m.labels, y, sizeof y, &e);
    cvl_step_scalars s = {.lr = 0.01, .step = 1, .training = true};
    cvl_backend_run(be, 0, g->n, &s, &e);
    float loss;
    cvl_backend_read(be, m.loss, &loss, sizeof loss, &e);
    size_t nf = cvl_tensor_numel(first);
    float *gr = malloc(nf * sizeof *gr);
    cvl_backend_read(be, first->grad, gr, nf * sizeof *gr, &e);
    double gsum = 0;
    for (size_t i = 0; i < nf; i++) gsum += fabs(gr[i]);
    CHECK(isfinite(loss) && loss > 0 && gsum > 0, "%s: one training step, loss %.4f, |d %s| = %.3g", encoder, loss,
          first->name, gsum);
    free(gr);
    free(x);
    cvl_backend_free(be);
    cvl_graph_free(g);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_dir(reg, argv[1], true);
    check(reg, "mlp", "{}", 1, 28, 535818, "fc2.weight");
    check(reg, "cnn", "{}", 1, 28, 468010, "bn4.running_var");
    check(reg, "resnet18s", "{}", 1, 32, 11172810, "layer2.0.downsample.1.weight");
    check(reg, "resnet34s", "{\"width\": 16}", 3, 32, 1334618, "layer3.5.conv2.weight");
    check(reg, "resnet18", "{}", 3, 64, 11689512 - 513000 + 5130, "layer4.1.bn2.bias");
    check(reg, "resnet34", "{}", 3, 64, 21797672 - 513000 + 5130, "layer3.5.conv1.weight");
    check(reg, "resnet50", "{}", 3, 64, 25557032 - 2049000 + 20490, "layer4.2.conv3.weight");
    check(reg, "davidnet", "{}", 3, 32, 6573130, "layer3.res2.bn.running_mean");
    cvl_registry_free(reg);
    return tap_done();
}
