/* The optimizer plugins against torch.optim: three steps of each case in
 * tests/fixtures/optim.json (written by make_optim_fixtures.py) on the same
 * parameters and gradients, matched within 1e-5 relative to the largest
 * parameter. The gradient is injected exactly: loss = sum(p * G) with G an
 * input, so d loss / d p = G.
 * argv[1]: optim.json; argv[2]: the built-in plugin directory. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "harness.h"
#include "train/model.h"

static void to_floats(const json_t *arr, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)json_number_value(json_array_get(arr, i));
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    json_error_t je;
    json_t *fx = json_load_file(argv[1], 0, &je);
    CHECK(fx != NULL, "fixture %s loads (%s)", argv[1], fx ? "ok" : je.text);
    if (!fx) return tap_done();
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_dir(reg, argv[2], true);
    float p0[15], grads[3][15];
    to_floats(json_object_get(fx, "p0"), p0, 15);
    for (int k = 0; k < 3; k++) to_floats(json_array_get(json_object_get(fx, "grads"), (size_t)k), grads[k], 15);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(fx, "cases"), i, c) {
        const char *name = json_string_value(json_object_get(c, "optimizer"));
        char *params = json_dumps(json_object_get(c, "params"), JSON_COMPACT | JSON_REAL_PRECISION(6));
        double lr = json_number_value(json_object_get(c, "lr"));
        double clip = json_number_value(json_object_get(c, "clip_grad_norm"));
        cvl_graph *g = cvl_graph_new(0);
        int64_t shape[2] = {3, 5};
        cvl_tensor *p = cvl_param(g, "p", 2, shape, CVL_INIT_ZEROS, 0);
        cvl_tensor *G = cvl_input(g, "G", CVL_DTYPE_F32, 2, shape);
        cvl_tensor *loss = cvl_reduce(g, CVL_OP_SUM, cvl_binary(g, CVL_OP_MUL, p, G), CVL_AXIS_ALL, false);
        cvl_graph_backward(g, loss);
        cvl_optim_spec spec = {.clip_grad_norm = clip};
        cvl_err e = {0};
        cvl_status st = cvl_model_optimizer(reg, g, (cvl_component_ref){name, json_object_get(c, "params")}, &spec, &e);
        if (st == CVL_OK) st = cvl_graph_optimizer(g, &spec);
        cvl_backend *be = cvl_backend_cpu_new(1);
        if (st == CVL_OK) st = cvl_backend_plan(be, g, &e);
        CHECK(st == CVL_OK, "%s %s: builds (%s)", name, params, e.msg);
        if (st == CVL_OK) {
            cvl_backend_write(be, p, p0, sizeof p0, &e);
            double worst = 0;
            for (int k = 0; k < 3; k++) {
                cvl_backend_write(be, G, grads[k], sizeof grads[k], &e);
                cvl_step_scalars s = {.lr = lr, .step = k + 1, .training = true};
                cvl_backend_run(be, 0, cvl_graph_size(g), &s, &e);
                float got[15], want[15];
                cvl_backend_read(be, p, got, sizeof got, &e);
                to_floats(json_array_get(json_object_get(c, "steps"), (size_t)k), want, 15);
                double md = 0, mw = 0;
                for (int j = 0; j < 15; j++) {
                    md = fmax(md, fabs((double)got[j] - want[j]));
                    mw = fmax(mw, fabs((double)want[j]));
                }
                worst = fmax(worst, md / mw);
            }
            CHECK(worst <= 1e-5, "%s %s lr %g%s: 3 steps match torch.optim (rel err %.1e)", name, params, lr,
                  clip > 0 ? " with clip_grad_norm" : "", worst);
        }
        free(params);
        cvl_backend_free(be);
        cvl_graph_free(g);
    }
    json_decref(fx);
    cvl_registry_free(reg);
    return tap_done();
}
