/* cvl-bench-train -- trains a reference model on Fashion-MNIST with the
 * recipe of ../shared/bench/torch_ref.py and prints one JSON line with the
 * same keys and the same timing rules:
 *   - data decoded and normalised before any timing; the batch upload is
 *     the batch gather, untimed;
 *   - a step (forward, loss, backward, optimizer update) is timed; the
 *     first 5 steps are warm-up (trained, not timed);
 *   - train_samples_per_s = timed samples / timed seconds;
 *   - FLOPs: 6 x forward MACs of conv and linear layers.
 * With --profile it also prints, per op kind, the time share and GFLOPS of
 * one step, and the fraction of the machine's measured sgemm peak.
 *
 *   cvl-bench-train --model {mlp,cnn,resnet18s} [--threads 2] [--batch 128]
 *                   [--steps N] [--epochs 1] [--seed 0] [--no-eval] [--profile]
 *                   [--device cpu|auto|vulkan|vulkan:N|vulkan:NAME]
 *                   [--data-dir /usr/share/datasets/fashion-mnist]
 * --device trains on that device (a Vulkan step is one replayed command
 * buffer, timed to its fence); the test accuracy is computed on the CPU
 * from the trained weights either way.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/backend.h"
#include "core/graph_internal.h"
#include "backend/vulkan/vk_backend.h"
#include "train/evaluate.h"
#include "train/model.h"

#define WARMUP 5

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads a gzipped IDX file; returns its payload and dims. */
static unsigned char *read_idx(const char *path, int *ndim, int dims[3], size_t *n) {
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    unsigned char hdr[16];
    if (gzread(f, hdr, 4) != 4) {
        gzclose(f);
        return NULL;
    }
    *ndim = hdr[3];
    if (*ndim < 1 || *ndim > 3 || gzread(f, hdr + 4, (unsigned)(4 * *ndim)) != 4 * *ndim) {
        gzclose(f);
        return NULL;
    }
    *n = 1;
    for (int i = 0; i < *ndim; i++) {
        dims[i] = (hdr[4 + 4 * i] << 24) | (hdr[5 + 4 * i] << 16) | (hdr[6 + 4 * i] << 8) | hdr[7 + 4 * i];
        *n *= (size_t)dims[i];
    }
    unsigned char *data = malloc(*n);
    if (!data || gzread(f, data, (unsigned)*n) != (int)*n) {
        free(data);
        data = NULL;
    }
    gzclose(f);
    return data;
}

typedef struct split {
    float *x; /* (n, 1, side, side) normalised */
    int32_t *y;
    int n, side;
} split;

static bool load_split(split *s, const char *dir, const char *prefix, bool pad32) {
    char path[1024];
    int nd, dims[3];
    size_t n;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    unsigned char *img = read_idx(path, &nd, dims, &n);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    int nd2, dims2[3];
    size_t n2;
    unsigned char *lab = read_idx(path, &nd2, dims2, &n2);
    if (!img || !lab || nd != 3 || dims[1] != 28 || dims[2] != 28 || n2 != (size_t)dims[0]) {
        fprintf(stderr, "cvl-bench-train: cannot read %s/%s-*-idx?-ubyte.gz\n", dir, prefix);
        free(img);
        free(lab);
        return false;
    }
    s->n = dims[0];
    s->side = pad32 ? 32 : 28;
    int off = pad32 ? 2 : 0, S = s->side;
    s->x = calloc((size_t)s->n * S * S, sizeof(float));
    s->y = malloc((size_t)s->n * sizeof(int32_t));
    const float zero = (0.0f - 0.2860f) / 0.3530f;
    for (size_t i = 0; i < (size_t)s->n * S * S; i++) s->x[i] = zero;
    for (int i = 0; i < s->n; i++) {
        s->y[i] = lab[i];
        for (int h = 0; h < 28; h++)
            for (int w = 0; w < 28; w++)
                s->x[((size_t)i * S + h + off) * S + w + off] = (img[((size_t)i * 28 + h) * 28 + w] / 255.0f - 0.2860f) / 0.3530f;
    }
    free(img);
    free(lab);
    return true;
}

typedef struct recipe {
    const char *encoder, *enc_params, *head_params, *optim, *optim_params;
    double lr;
    bool pad32;
} recipe;

static const recipe *find_recipe(const char *model) {
    static const recipe r[] = {
        {"mlp", "{}", "{\"layer_name\": \"fc3\"}", "sgd", "{\"momentum\": 0.9}", 0.05, false},
        {"cnn", "{}", "{\"layer_name\": \"fc2\"}", "sgd", "{\"momentum\": 0.9, \"weight_decay\": 5e-4}", 0.05, false},
        {"resnet18s", "{}", "{}", "adam", "{}", 1e-3, true},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (strcmp(r[i].encoder, model) == 0) return &r[i];
    return NULL;
}

/* Forward MACs of conv and linear nodes, per sample (torch_ref's count). */
static double fwd_macs(const cvl_graph *g, int32_t n_fwd, int64_t batch) {
    double macs = 0;
    for (int32_t i = 0; i < n_fwd; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (t->op == CVL_OPK_CONV2D) {
            const cvl_tensor *w = t->src[1];
            macs += (double)cvl_tensor_numel(t) * (double)(w->shape[1] * w->shape[2] * w->shape[3]);
        } else if (t->op == CVL_OPK_LINEAR) {
            macs += (double)cvl_tensor_numel(t) * (double)t->src[1]->shape[1];
        }
    }
    return macs / (double)batch;
}

/* 2*M*N*K of a node's GEMM-shaped work, 0 for others. */
static double node_flops(const cvl_tensor *t) {
    switch (t->op) {
    case CVL_OPK_CONV2D: return 2.0 * (double)cvl_tensor_numel(t) * (double)(t->src[1]->shape[1] * t->src[1]->shape[2] * t->src[1]->shape[3]);
    case CVL_OPK_CONV2D_BWD_DATA: return 2.0 * (double)cvl_tensor_numel(t->src[0]) * (double)(t->src[1]->shape[1] * t->src[1]->shape[2] * t->src[1]->shape[3]);
    case CVL_OPK_CONV2D_BWD_WEIGHT: return 2.0 * (double)cvl_tensor_numel(t->src[0]) * (double)(t->shape[1] * t->shape[2] * t->shape[3]);
    case CVL_OPK_LINEAR: return 2.0 * (double)cvl_tensor_numel(t) * (double)t->src[1]->shape[1];
    case CVL_OPK_MATMUL: {
        const cvl_tensor *a = t->src[0];
        return 2.0 * (double)cvl_tensor_numel(t) * (double)a->shape[a->ndim - (t->ip[0] ? 2 : 1)];
    }
    default: return 0;
    }
}

void openblas_set_num_threads(int num_threads);

/* sgemm GFLOPS of OpenBLAS alone on `threads` threads (1024^3). */
static double sgemm_peak(int threads) {
    openblas_set_num_threads(threads);
    int n = 1024;
    float *a = calloc((size_t)n * n, 4), *b = calloc((size_t)n * n, 4), *c = calloc((size_t)n * n, 4);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double gf = 2.0 * n * n * n / (now() - t0) / 1e9;
        best = gf > best ? gf : best;
    }
    free(a);
    free(b);
    free(c);
    openblas_set_num_threads(1);
    return best;
}

static void profile(cvl_backend *be, const cvl_graph *g, const cvl_step_scalars *s, int threads) {
    double t_op[CVL_OPK_COUNT] = {0}, f_op[CVL_OPK_COUNT] = {0}, total = 0;
    cvl_err e = {0};
    for (int rep = 0; rep < 3; rep++)
        for (int32_t i = 0; i < g->n; i++) {
            double t0 = now();
            cvl_backend_run(be, i, i + 1, s, &e);
            double dt = now() - t0;
            t_op[g->nodes[i]->op] += dt;
            f_op[g->nodes[i]->op] += node_flops(g->nodes[i]);
            total += dt;
        }
    double peak = sgemm_peak(threads);
    if (getenv("CVL_PROFILE_NODES")) {
        for (int32_t i = 0; i < g->n; i++) {
            double t0 = now();
            cvl_backend_run(be, i, i + 1, s, &e);
            double dt = now() - t0;
            char sh[64];
            if (dt > 1e-3)
                printf("{\"node\": %d, \"op\": \"%s\", \"shape\": \"%s\", \"ms\": %.3f, \"gflops\": %.1f}\n", i,
                       cvl_opk_name(g->nodes[i]->op), cvl_shape_str(g->nodes[i], sh, sizeof sh), dt * 1e3,
                       node_flops(g->nodes[i]) / dt / 1e9);
        }
    }
    for (int k = 0; k < CVL_OPK_COUNT; k++) {
        if (t_op[k] == 0) continue;
        double gf = f_op[k] / t_op[k] / 1e9;
        printf("{\"op\": \"%s\", \"time_share\": %.4f, \"ms_per_step\": %.3f", cvl_opk_name(k), t_op[k] / total,
               t_op[k] / 3 * 1e3);
        if (f_op[k] > 0) printf(", \"gflops\": %.2f, \"sgemm_peak_fraction\": %.3f", gf, gf / peak);
        printf("}\n");
    }
    printf("{\"sgemm_peak_gflops\": %.2f}\n", peak);
}

int main(int argc, char **argv) {
    const char *model = "cnn", *data_dir = "/usr/share/datasets/fashion-mnist", *device = "cpu";
    int threads = 2, batch = 128, epochs = 1, max_steps = -1;
    unsigned long long seed = 0;
    bool eval = true, prof = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) model = argv[++i];
        else if (!strcmp(a, "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--batch") && v) batch = atoi(argv[++i]);
        else if (!strcmp(a, "--epochs") && v) epochs = atoi(argv[++i]);
        else if ((!strcmp(a, "--steps") || !strcmp(a, "--max-steps")) && v) max_steps = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && v) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--data-dir") && v) data_dir = argv[++i];
        else if (!strcmp(a, "--device") && v) device = argv[++i];
        else if (!strcmp(a, "--no-eval")) eval = false;
        else if (!strcmp(a, "--profile")) prof = true;
        else {
            fprintf(stderr, "usage: cvl-bench-train --model {mlp,cnn,resnet18s} [--threads N] [--batch N] [--steps N]"
                            " [--epochs N] [--seed N] [--no-eval] [--profile] [--device SPEC] [--data-dir DIR]\n");
            return 2;
        }
    }
    const recipe *rc = find_recipe(model);
    if (rc == NULL || batch < 1 || threads < 1) {
        fprintf(stderr, "cvl-bench-train: unknown model '%s' or bad sizes\n", model);
        return 2;
    }
    split tr, te;
    if (!load_split(&tr, data_dir, "train", rc->pad32) || (eval && !load_split(&te, data_dir, "t10k", rc->pad32))) return 1;
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    cvl_registry_load_default(reg, NULL, 0);

    cvl_err e = {0};
    json_t *ep = json_loads(rc->enc_params, 0, NULL), *hp = json_loads(rc->head_params, 0, NULL);
    json_t *op = json_loads(rc->optim_params, 0, NULL);
    cvl_graph *g = cvl_graph_new(seed);
    cvl_classifier m;
    int S = tr.side;
    cvl_status st = cvl_model_classifier(reg, g, batch, 1, S, S, 10, (cvl_component_ref){rc->encoder, ep},
                                         (cvl_component_ref){"classification", hp}, (cvl_component_ref){"cross_entropy", NULL}, &m, &e);
    int32_t n_fwd = cvl_graph_size(g);
    cvl_optim_spec spec = {0};
    if (st == CVL_OK) st = cvl_graph_backward(g, m.loss);
    if (st == CVL_OK) st = cvl_model_optimizer(reg, g, (cvl_component_ref){rc->optim, op}, &spec, &e);
    if (st == CVL_OK) st = cvl_graph_optimizer(g, &spec);
    cvl_device_ctx dctx = {0};
    if (st == CVL_OK) st = cvl_device_open(&dctx, device, true, &e);
    cvl_backend *be = dctx.dev ? cvl_backend_vulkan_new(dctx.dev) : cvl_backend_cpu_new(threads);
    if (st == CVL_OK) st = cvl_backend_plan(be, g, &e);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-bench-train: %s\n", e.status ? e.msg : cvl_graph_error(g)->msg);
        return 1;
    }
    size_t params = 0;
    for (int32_t i = 0; i < n_fwd; i++)
        if (g->nodes[i]->op == CVL_OPK_PARAM) params += cvl_tensor_numel(g->nodes[i]);
    double macs = fwd_macs(g, n_fwd, batch);

    int steps_per_epoch = tr.n / batch, step = 0, timed_steps = 0;
    double timed_s = 0, *times = calloc((size_t)steps_per_epoch * epochs + 1, sizeof *times);
    float last_loss = 0;
    int *perm = malloc((size_t)tr.n * sizeof *perm);
    float *xb = malloc((size_t)batch * S * S * sizeof *xb);
    int32_t *yb = malloc((size_t)batch * sizeof *yb);
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    bool done = false;
    for (int ep_i = 0; ep_i < epochs && !done; ep_i++) {
        for (int i = 0; i < tr.n; i++) perm[i] = i;
        for (int i = tr.n - 1; i > 0; i--) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            int j = (int)(rng % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int s = 0; s < steps_per_epoch; s++) {
            if (max_steps >= 0 && step >= max_steps) {
                done = true;
                break;
            }
            for (int k = 0; k < batch; k++) {
                int idx = perm[s * batch + k];
                memcpy(xb + (size_t)k * S * S, tr.x + (size_t)idx * S * S, (size_t)S * S * sizeof *xb);
                yb[k] = tr.y[idx];
            }
            cvl_backend_write(be, m.image, xb, (size_t)batch * S * S * sizeof *xb, &e);
            cvl_backend_write(be, m.labels, yb, (size_t)batch * sizeof *yb, &e);
            cvl_step_scalars sc = {.lr = rc->lr, .step = step + 1, .seed = seed, .training = true};
            double t0 = now();
            cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e);
            double dt = now() - t0;
            if (step >= WARMUP) {
                timed_s += dt;
                times[timed_steps++] = dt;
            }
            cvl_backend_read(be, m.loss, &last_loss, sizeof last_loss, &e);
            step++;
        }
    }
    if (prof) {
        cvl_step_scalars sc = {.lr = 0, .step = step + 1, .seed = seed, .training = true};
        profile(be, g, &sc, threads);
    }
    double test_acc = -1;
    if (eval) {
        /* A forward-only graph for batches of 1000, weights copied by name. */
        cvl_graph *ge = cvl_graph_new(seed);
        cvl_classifier me;
        int eb = 1000;
        cvl_model_classifier(reg, ge, eb, 1, S, S, 10, (cvl_component_ref){rc->encoder, ep},
                             (cvl_component_ref){"classification", hp}, (cvl_component_ref){"cross_entropy", NULL}, &me, &e);
        cvl_backend *bee = cvl_backend_cpu_new(threads);
        cvl_backend_plan(bee, ge, &e);
        for (int32_t i = 0; i < ge->n; i++) {
            cvl_tensor *t = ge->nodes[i];
            if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
            cvl_tensor *src = cvl_graph_find(g, t->name);
            size_t nb = cvl_tensor_nbytes(t);
            void *buf = malloc(nb);
            cvl_backend_read(be, src, buf, nb, &e);
            cvl_backend_write(bee, t, buf, nb, &e);
            free(buf);
        }
        int correct = 0;
        float *logits = malloc((size_t)eb * 10 * sizeof *logits);
        for (int i = 0; i + eb <= te.n; i += eb) {
            cvl_backend_write(bee, me.image, te.x + (size_t)i * S * S, (size_t)eb * S * S * sizeof(float), &e);
            cvl_step_scalars sc = {.training = false};
            cvl_backend_run(bee, 0, me.logits->id + 1, &sc, &e);
            cvl_backend_read(bee, me.logits, logits, (size_t)eb * 10 * sizeof *logits, &e);
            for (int k = 0; k < eb; k++) {
                int best = 0;
                for (int c = 1; c < 10; c++)
                    if (logits[k * 10 + c] > logits[k * 10 + best]) best = c;
                correct += best == te.y[i + k];
            }
        }
        test_acc = (double)correct / te.n;
        free(logits);
        cvl_backend_free(bee);
        cvl_graph_free(ge);
    }
    /* median step time */
    for (int i = 1; i < timed_steps; i++)
        for (int j = i; j > 0 && times[j - 1] > times[j]; j--) {
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    double sps = timed_s > 0 ? timed_steps * (double)batch / timed_s : 0;
    double med = timed_steps ? times[timed_steps / 2] : 0;
    double train_flops = 6 * macs;
    printf("{\"model\": \"%s\", \"train_samples_per_s\": %.2f, \"epoch_s\": %.2f, \"test_acc\": ", model, sps,
           sps > 0 ? steps_per_epoch * batch / sps : 0);
    if (test_acc >= 0) printf("%.4f", test_acc);
    else printf("null");
    printf(", \"params\": %zu, \"threads\": %d, \"runtime\": \"cvlization-%s\", \"device\": \"%s\", \"epochs\": %d, \"batch\": %d,"
           " \"steps\": %d, \"timed_steps\": %d, \"warmup_steps\": %d, \"train_time_s\": %.3f,"
           " \"step_ms_min\": %.3f, \"step_ms_median\": %.3f, \"median_samples_per_s\": %.2f, \"last_loss\": %.4f,"
           " \"fwd_macs_per_sample\": %.0f, \"train_flops_per_sample\": %.0f, \"achieved_gflops\": %.2f, \"seed\": %llu}\n",
           params, threads, dctx.dev ? "vulkan" : "cpu", dctx.dev ? dctx.dev->info.name : "cpu", epochs, batch, step,
           timed_steps, step < WARMUP ? step : WARMUP, timed_s,
           timed_steps ? times[0] * 1e3 : 0, med * 1e3, med > 0 ? batch / med : 0, last_loss, macs, train_flops,
           sps * train_flops / 1e9, seed);
    json_decref(ep);
    json_decref(hp);
    json_decref(op);
    free(times);
    free(perm);
    free(xb);
    free(yb);
    cvl_backend_free(be);
    cvl_device_close(&dctx);
    cvl_graph_free(g);
    cvl_registry_free(reg);
    free(tr.x);
    free(tr.y);
    if (eval) {
        free(te.x);
        free(te.y);
    }
    return 0;
}
