/* The CPU backend's fused batch-norm backward (cpu_fuse.h): a ReLU backward
 * read through by the batch-norm backward nodes that follow it, and dgamma /
 * dbeta written by the dx node from the same sums.
 *
 * Each case builds a graph twice: as is (fused) and with a zero-weighted
 * extra reader added (scale(t, 0) summed into the output) that keeps the
 * fusion from applying, and compares every leaf gradient: they add the same
 * terms in the same order but for exact zeros, so the bound is 1e-6
 * relative. The fusion decision itself is checked on both graphs, and the
 * kernel against its unfused form (ReLU mask applied first) on a plane size
 * that is not a multiple of 8. 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/cpu_fuse.h"
#include "core/cpu_kernels.h"
#include "harness.h"

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static cvl_tensor *bn(cvl_graph *g, cvl_tensor *x, const char *tag, cvl_tensor **gamma, cvl_tensor **beta) {
    int64_t C = x->shape[1], one = 1;
    char nm[32];
    snprintf(nm, sizeof nm, "%s.g", tag);
    *gamma = cvl_param(g, nm, 1, &C, CVL_INIT_ONES, 0);
    snprintf(nm, sizeof nm, "%s.b", tag);
    *beta = cvl_param(g, nm, 1, &C, CVL_INIT_ZEROS, 0);
    snprintf(nm, sizeof nm, "%s.rm", tag);
    cvl_tensor *rm = cvl_buffer(g, nm, CVL_DTYPE_F32, 1, &C, CVL_INIT_ZEROS, 0);
    snprintf(nm, sizeof nm, "%s.rv", tag);
    cvl_tensor *rv = cvl_buffer(g, nm, CVL_DTYPE_F32, 1, &C, CVL_INIT_ONES, 0);
    snprintf(nm, sizeof nm, "%s.nbt", tag);
    cvl_tensor *nbt = cvl_buffer(g, nm, CVL_DTYPE_I64, 1, &one, CVL_INIT_ZEROS, 0);
    return cvl_batch_norm(g, x, *gamma, *beta, rm, rv, nbt, 1e-5, 0.1);
}

/* 0: relu(bn(x)) (conv-bn-relu);
 * 1: relu(bn(x) + bn(x2)) (a residual block's end with a projection);
 * 2: relu(bn(x)) + 0.5 x (x read twice: its gradient is accumulated, the
 *    params node is not next to the dx node) */
#define LEAVES 7
static int build(cvl_graph *g, int kind, bool blocked, const int64_t *shape, cvl_tensor **leaf) {
    int n = 0;
    cvl_tensor *x = leaf[n++] = cvl_param(g, "x", 4, shape, CVL_INIT_ZEROS, 0);
    cvl_tensor *y = bn(g, x, "bn1", &leaf[n], &leaf[n + 1]);
    n += 2;
    if (kind == 1) {
        cvl_tensor *x2 = leaf[n++] = cvl_param(g, "x2", 4, shape, CVL_INIT_ZEROS, 0);
        y = cvl_binary(g, CVL_OP_ADD, y, bn(g, x2, "bn2", &leaf[n], &leaf[n + 1]));
        n += 2;
    }
    cvl_tensor *out = cvl_unary(g, CVL_OP_RELU, y);
    if (kind == 2) out = cvl_binary(g, CVL_OP_ADD, out, cvl_scale(g, x, 0.5));
    if (blocked) out = cvl_binary(g, CVL_OP_ADD, out, cvl_scale(g, y, 0.0));
    size_t m = cvl_tensor_numel(out);
    float *r = malloc(m * sizeof *r);
    for (size_t i = 0; i < m; i++) r[i] = frand();
    cvl_tensor *R = cvl_constant(g, out->ndim, out->shape, r);
    free(r);
    cvl_graph_backward(g, cvl_reduce(g, CVL_OP_SUM, cvl_binary(g, CVL_OP_MUL, out, R), CVL_AXIS_ALL, false));
    return n;
}

/* Runs one training step; returns every leaf gradient concatenated and
 * whether a ReLU backward was absorbed. */
static float *grads(int kind, bool blocked, int threads, size_t *len, bool *fused) {
    int64_t shape[4] = {3, 4, 5, 7};
    cvl_graph *g = cvl_graph_new(3);
    cvl_tensor *leaf[LEAVES];
    uint64_t keep = rng;
    int n = build(g, kind, blocked, shape, leaf);
    rng = keep; /* the same R for the fused and the blocked graph */
    cvl_cpu_fusion f = {0};
    cvl_err e = {0};
    *fused = false;
    if (cvl_cpu_fusion_find(&f, g, &e) == CVL_OK)
        for (int32_t i = 0; i < f.n; i++) *fused = *fused || f.skip[i] == 1;
    cvl_cpu_fusion_free(&f);
    cvl_backend *be = cvl_backend_cpu_new(threads);
    float *out = NULL;
    *len = 0;
    if (cvl_backend_plan(be, g, &e) == CVL_OK) {
        uint64_t s = 99;
        for (int i = 0; i < n; i++) {
            size_t k = cvl_tensor_numel(leaf[i]);
            float *v = malloc(k * sizeof *v);
            for (size_t j = 0; j < k; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                v[j] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0) + (i % 3 == 1 ? 1.0f : 0.0f);
            }
            cvl_backend_write(be, leaf[i], v, k * sizeof *v, &e);
            free(v);
            *len += k;
        }
        out = malloc(*len * sizeof *out);
        cvl_step_scalars sc = {.lr = 0, .step = 1, .seed = 1, .training = true};
        cvl_backend_run(be, 0, cvl_graph_size(g), &sc, &e);
        size_t o = 0;
        for (int i = 0; i < n; i++) {
            size_t k = cvl_tensor_numel(leaf[i]);
            cvl_backend_read(be, leaf[i]->grad, out + o, k * sizeof *out, &e);
            o += k;
        }
    }
    cvl_backend_free(be);
    cvl_graph_free(g);
    return out;
}

static void kernel_case(int threads) {
    int N = 3, C = 5, HW = 13;
    size_t n = (size_t)N * C * HW;
    float *dy = malloc(n * 4), *r = malloc(n * 4), *x = malloc(n * 4), *dz = malloc(n * 4), *dx1 = malloc(n * 4),
          *dx2 = malloc(n * 4), st[10], gm[5], dp1[10], dp2[10];
    for (size_t i = 0; i < n; i++) {
        dy[i] = frand();
        r[i] = frand();
        x[i] = frand();
        dz[i] = r[i] > 0 ? dy[i] : 0.0f;
    }
    for (int c = 0; c < C; c++) {
        st[c] = 0.1f * frand();
        st[C + c] = 1.0f + 0.5f * frand();
        gm[c] = frand();
    }
    float *scratch = malloc(cvl_bn_backward_scratch(N, C) * 4);
    cvl_pool *pool = cvl_pool_new(threads);
    cvl_bn_backward_fused(dx1, dp1, dy, r, x, st, gm, N, C, HW, scratch, pool);
    cvl_bn_backward(dx2, dz, x, st, gm, N, C, HW, scratch, pool);
    cvl_bn_backward_params(dp2, dz, x, st, N, C, HW, scratch, pool);
    CHECK(max_rel_err(dx1, dx2, n) == 0 && max_rel_err(dp1, dp2, 10) == 0,
          "%d thread(s): fused kernel (ReLU mask read through, dx and dparams at once) equals mask-then-backward", threads);
    cvl_pool_free(pool);
    free(dy), free(r), free(x), free(dz), free(dx1), free(dx2), free(scratch);
}

int main(void) {
    const char *names[] = {"conv-bn-relu", "relu(bn + bn)", "relu(bn(x)) + 0.5x"};
    for (int th = 1; th <= 2; th++) {
        kernel_case(th);
        for (int kind = 0; kind < 3; kind++) {
            size_t n1, n2;
            bool f1, f2;
            float *a = grads(kind, false, th, &n1, &f1);
            float *b = grads(kind, true, th, &n2, &f2);
            CHECK(f1 && !f2, "%s: the ReLU backward is fused, and not with another reader", names[kind]);
            double err = a && b && n1 == n2 ? max_rel_err(a, b, n1) : 1;
            CHECK(err <= 1e-6, "%d thread(s): %s: fused gradients match the unfused ones (%.1e)", th, names[kind],
                  err);
            free(a);
            free(b);
        }
    }
    return tap_done();
}
