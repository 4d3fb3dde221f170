/* optim.c -- optimizer updates as graph nodes (torch.optim's formulas). */
#include <stdio.h>
#include <string.h>

#include "core/graph_internal.h"

/* Persistent state named "optim.<param>.<what>", zero-initialised. */
static cvl_tensor *state(cvl_graph *g, const cvl_tensor *p, const char *what) {
    char name[512];
    snprintf(name, sizeof name, "optim.%s.%s", p->name, what);
    char saved[128];
    snprintf(saved, sizeof saved, "%s", g->prefix);
    g->prefix[0] = '\0';
    size_t scope_len = g->scope_len;
    g->scope_len = 0;
    char c0 = g->scope[0];
    g->scope[0] = '\0';
    cvl_tensor *t = cvl_buffer(g, name, CVL_DTYPE_F32, p->ndim, p->shape, CVL_INIT_ZEROS, 0);
    g->scope[0] = c0;
    g->scope_len = scope_len;
    snprintf(g->prefix, sizeof g->prefix, "%s", saved);
    return t;
}

cvl_status cvl_graph_optimizer(cvl_graph *g, const cvl_optim_spec *spec) {
    if (g->err.status) return g->err.status;
    if (g->loss == NULL) {
        cvl_graph_fail(g, "optimizer: call backward first");
        return g->err.status;
    }
    if (g->has_optimizer) {
        cvl_graph_fail(g, "optimizer: declared twice");
        return g->err.status;
    }
    g->has_optimizer = true;
    g->optim = *spec;
    /* Accumulation: grad_acc += grad every micro-step; the update reads
     * grad_acc / k (as p->grad, so clipping sees it too), then clears it. */
    cvl_tensor *acc[4096];
    int32_t n_acc = 0;
    if (spec->accumulate > 1) {
        for (int32_t i = 0; i < g->n_forward && g->err.status == CVL_OK; i++) {
            cvl_tensor *p = g->nodes[i];
            if (p->op != CVL_OPK_PARAM || p->grad == NULL) continue;
            if (n_acc == 4096) {
                cvl_graph_fail(g, "optimizer: gradient accumulation over more than 4096 parameters");
                return g->err.status;
            }
            cvl_tensor *src[2] = {state(g, p, "grad_acc"), p->grad};
            cvl_tensor *a = cvl_node_new(g, CVL_OPK_ACCUM, CVL_DTYPE_F32, p->ndim, p->shape, 2, src);
            if (a == NULL) break;
            a->flags |= CVL_NODE_INPLACE;
            a->flags &= ~CVL_NODE_NEEDS_GRAD;
            acc[n_acc++] = a;
        }
        g->micro_end = g->n;
        int32_t k = 0;
        for (int32_t i = 0; i < g->n_forward && g->err.status == CVL_OK; i++) {
            cvl_tensor *p = g->nodes[i];
            if (p->op != CVL_OPK_PARAM || p->grad == NULL) continue;
            cvl_tensor *mean = cvl_node_new(g, CVL_OPK_SCALE, CVL_DTYPE_F32, p->ndim, p->shape, 1, &acc[k++]);
            if (mean == NULL) break;
            mean->fp[0] = 1.0 / spec->accumulate;
            mean->flags &= ~CVL_NODE_NEEDS_GRAD;
            p->grad = mean;
        }
    }
    if (spec->clip_grad_norm > 0) {
        int64_t one = 1;
        g->grad_norm = cvl_node_new(g, CVL_OPK_GRAD_NORM, CVL_DTYPE_F32, 1, &one, 0, NULL);
        if (g->grad_norm) g->grad_norm->flags |= CVL_NODE_OUTPUT;
    }
    int32_t n = g->n_forward;
    for (int32_t i = 0; i < n && g->err.status == CVL_OK; i++) {
        cvl_tensor *p = g->nodes[i];
        if (p->op != CVL_OPK_PARAM || p->grad == NULL) continue;
        cvl_tensor *src[CVL_MAX_SRC] = {p, p->grad};
        int32_t ns = 2;
        switch (spec->kind) {
        case CVL_OPK_SGD:
            if (spec->momentum > 0) src[ns++] = state(g, p, "momentum_buffer");
            break;
        case CVL_OPK_ADAM:
            src[ns++] = state(g, p, "exp_avg");
            src[ns++] = state(g, p, "exp_avg_sq");
            if (spec->amsgrad) src[ns++] = state(g, p, "max_exp_avg_sq");
            break;
        case CVL_OPK_RMSPROP:
            src[ns++] = state(g, p, "square_avg");
            if (spec->momentum > 0) src[ns++] = state(g, p, "momentum_buffer");
            if (spec->centered) src[ns++] = state(g, p, "grad_avg");
            break;
        default:
            cvl_graph_fail(g, "optimizer: unknown kind %d", (int)spec->kind);
            return g->err.status;
        }
        if (g->grad_norm) src[ns++] = g->grad_norm;
        cvl_tensor *u = cvl_node_new(g, spec->kind, CVL_DTYPE_F32, p->ndim, p->shape, ns, src);
        if (u == NULL) break;
        u->flags |= CVL_NODE_INPLACE;
        u->flags &= ~CVL_NODE_NEEDS_GRAD;
        u->ip[0] = g->grad_norm != NULL;
    }
    for (int32_t k = 0; k < n_acc && g->err.status == CVL_OK; k++) { /* clear for the next round */
        cvl_tensor *z = cvl_node_new(g, CVL_OPK_SCALE, CVL_DTYPE_F32, acc[k]->ndim, acc[k]->shape, 1, &acc[k]);
        if (z == NULL) break;
        z->fp[0] = 0.0;
        z->flags |= CVL_NODE_INPLACE;
        z->flags &= ~CVL_NODE_NEEDS_GRAD;
    }
    return g->err.status;
}

int32_t cvl_graph_micro_end(const cvl_graph *g) { return g->micro_end > 0 ? g->micro_end : g->n; }
