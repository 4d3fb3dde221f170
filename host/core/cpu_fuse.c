/* cpu_fuse.c -- which nodes the CPU backend runs fused (see cpu_fuse.h). */
#include "core/cpu_fuse.h"

#include <stdlib.h>
#include <string.h>

static bool is_bn_bwd(const cvl_tensor *t) { return t->op == CVL_OPK_BN_BWD || t->op == CVL_OPK_BN_BWD_PARAMS; }

static void keep_until(int32_t *keep, const cvl_tensor *t, int32_t i) {
    if (keep[t->id] < i) keep[t->id] = i;
}

cvl_status cvl_cpu_fusion_find(cvl_cpu_fusion *f, const cvl_graph *g, cvl_err *e) {
    cvl_cpu_fusion_free(f);
    int32_t n = g->n;
    f->n = n;
    f->relu = malloc((size_t)n * sizeof *f->relu);
    f->params = malloc((size_t)n * sizeof *f->params);
    f->keep = malloc((size_t)n * sizeof *f->keep);
    f->skip = calloc((size_t)n, 1);
    f->done = calloc((size_t)n, 1);
    /* readers[i]: how many source links read node i; bad[i]: one of them is
     * not a batch-norm backward reading it as its gradient (src[0]) */
    int32_t *readers = calloc((size_t)n, sizeof *readers);
    uint8_t *bad = calloc((size_t)n, 1);
    if (!f->relu || !f->params || !f->keep || !f->skip || !f->done || !readers || !bad) {
        free(readers);
        free(bad);
        cvl_cpu_fusion_free(f);
        return cvl_err_set(e, CVL_ERR_NOMEM, "cpu: out of memory planning fused kernels");
    }
    for (int32_t i = 0; i < n; i++) f->relu[i] = f->params[i] = f->keep[i] = -1;
    for (int32_t i = 0; i < n; i++) {
        const cvl_tensor *t = g->nodes[i];
        for (int32_t k = 0; k < t->n_src; k++) {
            int32_t s = t->src[k]->id;
            readers[s]++;
            if (!(is_bn_bwd(t) && k == 0)) bad[s] = 1;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        const cvl_tensor *u = g->nodes[i];
        if (u->op != CVL_OPK_UNARY_BWD || u->ip[0] != CVL_OP_RELU || (u->flags & CVL_NODE_OUTPUT) || bad[i] ||
            readers[i] == 0)
            continue;
        f->skip[i] = 1;
        for (int32_t j = i + 1; j < n; j++) {
            const cvl_tensor *r = g->nodes[j];
            if (is_bn_bwd(r) && r->src[0] == u) {
                f->relu[j] = i;
                keep_until(f->keep, u->src[0], j);
                keep_until(f->keep, u->src[1], j);
            }
        }
    }
    for (int32_t i = 0; i < n; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (t->op != CVL_OPK_BN_BWD) continue;
        for (int32_t j = i + 1; j < n; j++) {
            const cvl_tensor *p = g->nodes[j];
            if (p->op == CVL_OPK_BN_BWD_PARAMS && p->src[0] == t->src[0] && p->src[1] == t->src[1] &&
                p->src[2] == t->src[2]) {
                f->params[i] = j;
                break;
            }
        }
    }
    free(readers);
    free(bad);
    return CVL_OK;
}

void cvl_cpu_fusion_place(cvl_cpu_fusion *f, const cvl_graph *g) {
    /* The dx node may write the params node's bytes only where nothing else
     * can hold them at that step: the next node (its bytes are taken from
     * what dies after the dx node, which the params node still reads) or
     * the persistent region. */
    for (int32_t i = 0; i < f->n; i++) {
        int32_t p = f->params[i];
        if (p < 0) continue;
        if (p == i + 1 || g->nodes[p]->region == 1) f->skip[p] = 2;
        else f->params[i] = -1;
    }
}

void cvl_cpu_fusion_free(cvl_cpu_fusion *f) {
    free(f->relu);
    free(f->params);
    free(f->skip);
    free(f->done);
    free(f->keep);
    memset(f, 0, sizeof *f);
}
