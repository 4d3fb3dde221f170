/* graph_parity.h -- one op (or a small graph), forward and backward, on the
 * CPU backend and on the Vulkan backend from the same parameters and
 * inputs, compared. A case builds its graph from parameters (random, named,
 * so both backends start from the same values) and returns an output y; a
 * non-scalar y is turned into the loss sum(y * R) with a fixed random R, so
 * d loss / d y = R reaches every gradient rule. The output and every
 * parameter's gradient must agree: max |vk - cpu| / max |cpu| <= the
 * case's bound. With an optimizer the parameters after each of `steps`
 * steps (the learning rate changing every step) are compared instead of
 * the gradients' last values. */
#ifndef CVL_TEST_GRAPH_PARITY_H
#define CVL_TEST_GRAPH_PARITY_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_backend.h"
#include "core/graph_internal.h"
#include "vk_test.h"

typedef cvl_tensor *(*gp_build)(cvl_graph *g);

typedef struct gp_case {
    const char *name;
    gp_build build;
    double tol;
    int32_t int_range;          /* int inputs get values in [0, int_range] (int_range itself invalid) */
    const cvl_optim_spec *optim; /* NULL: compare gradients */
    int steps;                  /* with optim (default 3) */
} gp_case;

static cvl_tensor *gp_param(cvl_graph *g, const char *name, int32_t nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t shape[4] = {d0, d1, d2, d3};
    return cvl_param(g, name, nd, shape, CVL_INIT_NORMAL, 1.0);
}

static cvl_tensor *gp_const(cvl_graph *g, int32_t nd, const int64_t *shape, uint32_t seed, float lo, float hi) {
    size_t n = 1;
    for (int32_t i = 0; i < nd; i++) n *= (size_t)shape[i];
    float *v = malloc(n * sizeof *v);
    vk_test_fill_random(v, n, seed);
    for (size_t i = 0; i < n; i++) v[i] = lo + (v[i] + 1.0f) * 0.5f * (hi - lo);
    cvl_tensor *t = cvl_constant(g, nd, shape, v);
    free(v);
    return t;
}

typedef struct gp_side {
    cvl_graph *g;
    cvl_backend *be;
    cvl_tensor *y;
} gp_side;

static bool gp_make(gp_side *s, const gp_case *c, cvl_backend *be, cvl_err *e) {
    s->g = cvl_graph_new(5);
    s->be = be;
    s->y = c->build(s->g);
    cvl_tensor *loss = s->y;
    if (s->y && cvl_tensor_numel(s->y) != 1) {
        cvl_tensor *r = gp_const(s->g, s->y->ndim, s->y->shape, 99, -1.0f, 1.0f);
        loss = cvl_reduce(s->g, CVL_OP_SUM, cvl_binary(s->g, CVL_OP_MUL, s->y, r), CVL_AXIS_ALL, false);
    }
    if (s->y) s->y->flags |= CVL_NODE_OUTPUT;
    if (loss) cvl_graph_backward(s->g, loss);
    if (c->optim) cvl_graph_optimizer(s->g, c->optim);
    if (cvl_graph_error(s->g)->status) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s", cvl_graph_error(s->g)->msg);
        return false;
    }
    return cvl_backend_plan(be, s->g, e) == CVL_OK;
}

static void gp_inputs(gp_side *s, const gp_case *c, cvl_err *e) {
    for (int32_t i = 0; i < cvl_graph_size(s->g); i++) {
        cvl_tensor *t = cvl_graph_node(s->g, i);
        if (t->op != CVL_OPK_INPUT) continue;
        size_t n = cvl_tensor_numel(t);
        if (t->flags & CVL_NODE_INT) {
            int32_t *v = malloc(n * 4);
            for (size_t k = 0; k < n; k++) v[k] = (int32_t)((k * 7 + 3) % (size_t)(c->int_range + 1));
            cvl_backend_write(s->be, t, v, n * 4, e);
            free(v);
        } else {
            float *v = malloc(n * 4);
            vk_test_fill_random(v, n, 31u + (uint32_t)i);
            for (size_t k = 0; k < n; k++) v[k] = (v[k] + 1.0f) * 0.5f; /* [0, 1): targets */
            cvl_backend_write(s->be, t, v, n * 4, e);
            free(v);
        }
    }
}

/* max |got - want| / max |want| over tensor t of both sides. */
static double gp_diff(gp_side *cpu, const cvl_tensor *tc, gp_side *vk, const cvl_tensor *tv, cvl_err *e) {
    size_t n = cvl_tensor_numel(tc);
    float *a = malloc(n * 4), *b = malloc(n * 4);
    cvl_backend_read(cpu->be, tc, a, n * 4, e);
    cvl_backend_read(vk->be, tv, b, n * 4, e);
    double r = max_rel_err(b, a, n);
    free(a);
    free(b);
    return r;
}

/* Runs case c on the CPU and on dev; one CHECK for the whole case, naming
 * the worst tensor. `tag` says which device configuration. */
static void gp_run(cvl_vk_device *dev, const gp_case *c, const char *tag) {
    cvl_err e = {0};
    gp_side cpu = {0}, vk = {0};
    bool ok = gp_make(&cpu, c, cvl_backend_cpu_new(1), &e);
    if (ok) ok = gp_make(&vk, c, cvl_backend_vulkan_new(dev), &e);
    double worst = 0;
    char where[96] = "";
    int steps = c->optim ? (c->steps ? c->steps : 3) : 1;
    for (int step = 1; ok && step <= steps && e.status == CVL_OK; step++) {
        gp_side *sides[2] = {&cpu, &vk};
        for (int k = 0; k < 2; k++) {
            gp_inputs(sides[k], c, &e);
            cvl_step_scalars sc = {.lr = 0.05 * step, .step = step, .seed = 0x1234567890abcdefull, .training = true};
            cvl_backend_run(sides[k]->be, 0, cvl_graph_size(sides[k]->g), &sc, &e);
        }
        if (e.status) break;
        double d = gp_diff(&cpu, cpu.y, &vk, vk.y, &e);
        if (d > worst || isnan(d)) worst = d, snprintf(where, sizeof where, "output at step %d", step);
        for (int32_t i = 0; i < cpu.g->n_forward; i++) {
            cvl_tensor *p = cvl_graph_node(cpu.g, i), *q = cvl_graph_node(vk.g, i);
            if (p->op != CVL_OPK_PARAM || p->grad == NULL) continue;
            d = c->optim ? gp_diff(&cpu, p, &vk, q, &e) : gp_diff(&cpu, p->grad, &vk, q->grad, &e);
            if (d > worst || isnan(d))
                worst = d, snprintf(where, sizeof where, "%s of %s at step %d", c->optim ? "value" : "gradient", p->name, step);
        }
    }
    CHECK(ok && e.status == CVL_OK && worst <= c->tol, "%s%s: forward and backward agree with the CPU (worst %.1e, %s; bound %.0e) %s",
          c->name, tag, worst, where, c->tol, e.msg);
    if (cpu.be) cvl_backend_free(cpu.be);
    if (vk.be) cvl_backend_free(vk.be);
    cvl_graph_free(cpu.g);
    cvl_graph_free(vk.g);
}

/* Case c cannot run on dev: planning or the first step fails cleanly with
 * one line that contains `want` (the op and why). */
static inline void gp_refused(cvl_vk_device *dev, const gp_case *c, const char *want) {
    cvl_err e = {0};
    gp_side vk = {0};
    if (gp_make(&vk, c, cvl_backend_vulkan_new(dev), &e)) {
        gp_inputs(&vk, c, &e);
        cvl_step_scalars sc = {.lr = 0.05, .step = 1, .training = true};
        if (e.status == CVL_OK) cvl_backend_run(vk.be, 0, cvl_graph_size(vk.g), &sc, &e);
    }
    CHECK(e.status != CVL_OK && strstr(e.msg, want) != NULL && strchr(e.msg, '\n') == NULL,
          "%s: refused with one line naming it (%s)", c->name, e.msg);
    if (vk.be) cvl_backend_free(vk.be);
    cvl_graph_free(vk.g);
}

#endif
