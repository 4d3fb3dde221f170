/* The reference models against PyTorch.
 *
 * tests/fixtures/make_model_fixtures.py (run by hand with Debian's torch)
 * wrote, for mlp, cnn and resnet18s (width 16): the initial weights, a batch
 * of Fashion-MNIST images and labels, the train-mode logits and loss, every
 * parameter gradient, the BatchNorm running statistics after that forward,
 * and the eval-mode logits. Here the same models are assembled from the
 * built-in plugins, loaded with the same weights, and run on the same
 * batch on the CPU backend. Every tensor must match within 1e-4, relative
 * to the largest magnitude of the reference tensor (max |a-b| / max |b|).
 * argv[1]: the fixture directory; argv[2]: the built-in plugin directory. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "harness.h"
#include "train/model.h"

#define TOL 1e-4

typedef struct fixture {
    unsigned char *buf;
    size_t size;
    json_t *header;
    const unsigned char *data;
} fixture;

static bool fixture_load(fixture *f, const char *path) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    fseek(fp, 0, SEEK_END);
    f->size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->buf = malloc(f->size);
    bool ok = f->buf && fread(f->buf, 1, f->size, fp) == f->size;
    fclose(fp);
    if (!ok || f->size < 8) return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | f->buf[i];
    if (n > f->size - 8) return false;
    f->header = json_loadb((const char *)f->buf + 8, n, 0, NULL);
    f->data = f->buf + 8 + n;
    return f->header != NULL;
}

static void fixture_free(fixture *f) {
    json_decref(f->header);
    free(f->buf);
}

/* The tensor `name` as float (I64 converted); NULL if absent. *n = count. */
static float *fixture_get(const fixture *f, const char *name, size_t *n) {
    json_t *t = json_object_get(f->header, name);
    if (!t) return NULL;
    const char *dtype = json_string_value(json_object_get(t, "dtype"));
    json_t *off = json_object_get(t, "data_offsets");
    size_t b = (size_t)json_integer_value(json_array_get(off, 0)), e = (size_t)json_integer_value(json_array_get(off, 1));
    bool i64 = strcmp(dtype, "I64") == 0;
    *n = (e - b) / (i64 ? 8 : 4);
    float *out = malloc(*n * sizeof *out + 1);
    for (size_t i = 0; i < *n; i++) {
        if (i64) {
            int64_t v;
            memcpy(&v, f->data + b + i * 8, 8);
            out[i] = (float)v;
        } else {
            memcpy(&out[i], f->data + b + i * 4, 4);
        }
    }
    return out;
}

static float *read_tensor(cvl_backend *be, const cvl_tensor *t) {
    size_t n = cvl_tensor_numel(t);
    float *out = malloc(n * sizeof *out);
    cvl_err e = {0};
    if (t->dtype == CVL_DTYPE_I64) {
        int64_t *tmp = malloc(n * sizeof *tmp);
        cvl_backend_read(be, t, tmp, n * sizeof *tmp, &e);
        for (size_t i = 0; i < n; i++) out[i] = (float)tmp[i];
        free(tmp);
    } else {
        cvl_backend_read(be, t, out, n * sizeof *out, &e);
    }
    return out;
}

static void check_model(const char *dir, const cvl_registry *reg, const char *file, const char *encoder,
                        const char *enc_params, const char *head_params, int64_t C, int64_t H) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, file);
    fixture f;
    if (!fixture_load(&f, path)) {
        CHECK(0, "%s: fixture %s loads", file, path);
        return;
    }
    size_t n_in, n_y;
    float *input = fixture_get(&f, "input", &n_in), *target = fixture_get(&f, "target", &n_y);
    int64_t N = (int64_t)n_y;
    cvl_graph *g = cvl_graph_new(0);
    json_t *ep = json_loads(enc_params, 0, NULL), *hp = json_loads(head_params, 0, NULL);
    cvl_classifier m;
    cvl_err e = {0};
    cvl_status st = cvl_model_classifier(reg, g, N, C, H, H, 10, (cvl_component_ref){encoder, ep},
                                         (cvl_component_ref){"classification", hp},
                                         (cvl_component_ref){"cross_entropy", NULL}, &m, &e);
    json_decref(ep);
    json_decref(hp);
    if (st == CVL_OK) st = cvl_graph_backward(g, m.loss);
    CHECK(st == CVL_OK, "%s: model assembles from plugins (%s)", file, st ? (e.status ? e.msg : cvl_graph_error(g)->msg) : "ok");
    if (st != CVL_OK) {
        free(input);
        free(target);
        fixture_free(&f);
        cvl_graph_free(g);
        return;
    }
    cvl_backend *be = cvl_backend_cpu_new(2);
    st = cvl_backend_plan(be, g, &e);
    CHECK(st == CVL_OK, "%s: plans (%s)", file, e.msg);

    /* Load every parameter and buffer under its PyTorch name. */
    int loaded = 0, expected = 0, matched_names = 0;
    for (int32_t i = 0; i < cvl_graph_size(g); i++) {
        cvl_tensor *t = cvl_graph_node(g, i);
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
        expected++;
        char key[512];
        snprintf(key, sizeof key, "param.%s", t->name);
        size_t n;
        float *v = fixture_get(&f, key, &n);
        if (v == NULL || n != cvl_tensor_numel(t)) {
            printf("# %s: no fixture tensor %s with %zu elements\n", file, key, cvl_tensor_numel(t));
            free(v);
            continue;
        }
        matched_names++;
        if (t->dtype == CVL_DTYPE_I64) {
            int64_t iv = (int64_t)v[0];
            cvl_backend_write(be, t, &iv, sizeof iv, &e);
        } else {
            cvl_backend_write(be, t, v, n * sizeof(float), &e);
        }
        loaded++;
        free(v);
    }
    /* The fixture holds exactly the model's state_dict. */
    int fixture_params = 0;
    const char *k;
    json_t *val;
    json_object_foreach(f.header, k, val) fixture_params += strncmp(k, "param.", 6) == 0;
    CHECK(loaded == expected && matched_names == fixture_params,
          "%s: all %d state_dict tensors map one to one onto PyTorch's names (%d in the fixture)", file, expected,
          fixture_params);

    int32_t *labels = malloc((size_t)N * sizeof *labels);
    for (int64_t i = 0; i < N; i++) labels[i] = (int32_t)target[i];
    cvl_backend_write(be, m.image, input, n_in * sizeof(float), &e);
    cvl_backend_write(be, m.labels, labels, (size_t)N * sizeof *labels, &e);
    cvl_step_scalars s = {.lr = 0, .step = 1, .seed = 0, .training = true};
    cvl_backend_run(be, 0, cvl_graph_size(g), &s, &e);

    size_t n;
    float *ref = fixture_get(&f, "logits", &n), *got = read_tensor(be, m.logits);
    double err = max_rel_err(got, ref, n);
    CHECK(err <= TOL, "%s: train-mode logits match PyTorch (rel err %.2e)", file, err);
    free(ref);
    free(got);
    ref = fixture_get(&f, "loss", &n);
    got = read_tensor(be, m.loss);
    CHECK(fabs(got[0] - ref[0]) <= TOL * fabs(ref[0]), "%s: loss %.6f matches PyTorch's %.6f", file, got[0], ref[0]);
    free(ref);
    free(got);

    double worst = 0;
    const char *worst_name = "";
    int n_grads = 0;
    for (int32_t i = 0; i < cvl_graph_size(g); i++) {
        cvl_tensor *t = cvl_graph_node(g, i);
        char key[512];
        if (t->op == CVL_OPK_PARAM) {
            snprintf(key, sizeof key, "grad.%s", t->name);
            ref = fixture_get(&f, key, &n);
            if (!ref || !t->grad) {
                worst = INFINITY;
                worst_name = t->name;
                free(ref);
                continue;
            }
            got = read_tensor(be, t->grad);
        } else if (t->op == CVL_OPK_BUFFER) {
            snprintf(key, sizeof key, "after.%s", t->name);
            ref = fixture_get(&f, key, &n);
            if (!ref) continue;
            got = read_tensor(be, t);
        } else {
            continue;
        }
        err = max_rel_err(got, ref, n);
        if (err > worst) {
            worst = err;
            worst_name = t->name;
        }
        n_grads++;
        free(ref);
        free(got);
    }
    CHECK(worst <= TOL, "%s: %d gradients and running statistics match PyTorch (worst %.2e at %s)", file, n_grads,
          worst, worst_name);

    /* Eval mode: running statistics, after the train-mode forward above. */
    s.training = false;
    cvl_backend_run(be, 0, m.logits->id + 1, &s, &e);
    ref = fixture_get(&f, "eval_logits", &n);
    got = read_tensor(be, m.logits);
    err = max_rel_err(got, ref, n);
    CHECK(err <= TOL, "%s: eval-mode logits match PyTorch (rel err %.2e)", file, err);
    free(ref);
    free(got);

    cvl_plan_stats ps;
    be->ops->stats(be, &ps);
    CHECK(ps.arena_bytes < ps.activation_bytes, "%s: the planner reuses memory: arena %zu KB < %zu KB of activations",
          file, ps.arena_bytes >> 10, ps.activation_bytes >> 10);
    free(labels);
    free(input);
    free(target);
    cvl_backend_free(be);
    cvl_graph_free(g);
    fixture_free(&f);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_models FIXTURE_DIR PLUGIN_DIR\n");
        return 2;
    }
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_dir(reg, argv[2], true);
    check_model(argv[1], reg, "mlp", "mlp", "{}", "{\"layer_name\": \"fc3\"}", 1, 28);
    check_model(argv[1], reg, "cnn", "cnn", "{}", "{\"layer_name\": \"fc2\"}", 1, 28);
    check_model(argv[1], reg, "resnet18s_w16", "resnet18s", "{\"width\": 16}", "{}", 1, 32);
    cvl_registry_free(reg);
    return tap_done();
}
