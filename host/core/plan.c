/* plan.c -- memory placement by liveness, and parameter initialisation.
 *
 * Persistent region: parameters, buffers, optimizer state, constants, and
 * every node flagged OUTPUT (the loss, gradients): they survive a step.
 * Activation arena: every other node gets [offset, offset+size) from a
 * first-fit free list while it is live (from the node that writes it to the
 * last node that reads it); a RESHAPE is a view and shares its source's
 * bytes, which then stay live until the view's last reader. In-place
 * optimizer updates write their parameter's bytes and take none. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/cpu_fuse.h"
#include "core/graph_internal.h"

#define ALIGN 64

static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

/* The node that owns the bytes a view reads. */
static cvl_tensor *storage_root(cvl_tensor *t) {
    while (t->op == CVL_OPK_RESHAPE) t = t->src[0];
    return t;
}

typedef struct block {
    size_t off, size;
} block;

typedef struct freelist {
    block *b;
    size_t n, cap;
    size_t top; /* high-water mark */
} freelist;

static bool fl_alloc(freelist *fl, size_t size, size_t *off) {
    for (size_t i = 0; i < fl->n; i++) {
        if (fl->b[i].size >= size) {
            *off = fl->b[i].off;
            fl->b[i].off += size;
            fl->b[i].size -= size;
            if (fl->b[i].size == 0) {
                memmove(&fl->b[i], &fl->b[i + 1], (fl->n - i - 1) * sizeof(block));
                fl->n--;
            }
            return true;
        }
    }
    /* Grow at the top; merge with a free block that ends there. */
    if (fl->n > 0 && fl->b[fl->n - 1].off + fl->b[fl->n - 1].size == fl->top) {
        *off = fl->b[fl->n - 1].off;
        fl->top = *off + size;
        fl->n--;
        return true;
    }
    *off = fl->top;
    fl->top += size;
    return true;
}

static bool fl_free(freelist *fl, size_t off, size_t size) {
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        block *g = realloc(fl->b, cap * sizeof *g);
        if (g == NULL) return false;
        fl->b = g;
        fl->cap = cap;
    }
    size_t i = 0;
    while (i < fl->n && fl->b[i].off < off) i++;
    memmove(&fl->b[i + 1], &fl->b[i], (fl->n - i) * sizeof(block));
    fl->b[i] = (block){off, size};
    fl->n++;
    /* Coalesce neighbours. */
    if (i + 1 < fl->n && fl->b[i].off + fl->b[i].size == fl->b[i + 1].off) {
        fl->b[i].size += fl->b[i + 1].size;
        memmove(&fl->b[i + 1], &fl->b[i + 2], (fl->n - i - 2) * sizeof(block));
        fl->n--;
    }
    if (i > 0 && fl->b[i - 1].off + fl->b[i - 1].size == fl->b[i].off) {
        fl->b[i - 1].size += fl->b[i].size;
        memmove(&fl->b[i], &fl->b[i + 1], (fl->n - i - 1) * sizeof(block));
        fl->n--;
    }
    return true;
}

cvl_status cvl_plan_memory(cvl_graph *g, size_t *persistent, size_t *arena, size_t *activations, cvl_err *e) {
    return cvl_plan_memory_keep(g, NULL, persistent, arena, activations, e);
}

/* keep_until (g->n entries or NULL): node i's bytes also stay live until
 * node keep_until[i] (-1: no extra use), for a backend whose fused kernels
 * read a node at a later step than the graph's links say. */
cvl_status cvl_plan_memory_keep(cvl_graph *g, const int32_t *keep_until, size_t *persistent, size_t *arena,
                                size_t *activations, cvl_err *e) {
    int32_t n = g->n;
    for (int32_t i = 0; i < n; i++) g->nodes[i]->last_use = i;
    /* A view that must survive the step keeps its storage alive. */
    for (int32_t i = 0; i < n; i++)
        if (g->nodes[i]->op == CVL_OPK_RESHAPE && (g->nodes[i]->flags & CVL_NODE_OUTPUT))
            storage_root(g->nodes[i])->flags |= CVL_NODE_OUTPUT;
    for (int32_t i = 0; i < n; i++) {
        cvl_tensor *t = g->nodes[i];
        for (int32_t k = 0; k < t->n_src; k++) {
            cvl_tensor *r = storage_root(t->src[k]);
            if (r->last_use < i) r->last_use = i;
        }
        if (t->op == CVL_OPK_RESHAPE) {
            cvl_tensor *r = storage_root(t);
            if (r->last_use < t->last_use) r->last_use = t->last_use;
        }
    }
    if (keep_until)
        for (int32_t i = 0; i < n; i++) {
            cvl_tensor *r = storage_root(g->nodes[i]);
            if (keep_until[i] > r->last_use) r->last_use = keep_until[i];
        }
    /* Views extend their root: walk again, since a view's readers come later. */
    for (int32_t i = n - 1; i >= 0; i--) {
        cvl_tensor *t = g->nodes[i];
        if (t->op == CVL_OPK_RESHAPE) {
            cvl_tensor *r = storage_root(t);
            if (r->last_use < t->last_use) r->last_use = t->last_use;
        }
    }
    /* The optimizer reads every gradient through the graph, not src links. */
    if (g->grad_norm) {
        for (int32_t i = 0; i < n; i++)
            if (g->nodes[i]->grad) {
                cvl_tensor *r = storage_root(g->nodes[i]->grad);
                r->flags |= CVL_NODE_OUTPUT;
            }
    }
    size_t pers = 0, act_total = 0;
    freelist fl = {0};
    int32_t **dying = calloc((size_t)n + 1, sizeof *dying);
    int32_t *n_dying = calloc((size_t)n + 1, sizeof *n_dying);
    if (dying == NULL || n_dying == NULL) {
        free(dying);
        free(n_dying);
        return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory planning the graph");
    }
    cvl_status st = CVL_OK;
    for (int32_t i = 0; i < n && st == CVL_OK; i++) {
        cvl_tensor *t = g->nodes[i];
        size_t bytes = align_up(cvl_tensor_nbytes(t));
        if (t->op == CVL_OPK_RESHAPE) {
            cvl_tensor *r = storage_root(t);
            t->region = r->region;
            t->offset = r->offset;
        } else if (t->flags & CVL_NODE_INPLACE) {
            t->region = t->src[0]->region;
            t->offset = t->src[0]->offset;
        } else if ((t->flags & (CVL_NODE_PERSIST | CVL_NODE_OUTPUT)) || t->op == CVL_OPK_INPUT) {
            /* Inputs too: they are written before the step starts, so an
             * input added after other nodes must not share memory with
             * activations that die before it is read. */
            t->region = 1;
            t->offset = pers;
            pers += bytes;
        } else {
            t->region = 0;
            fl_alloc(&fl, bytes, &t->offset);
            act_total += bytes;
            int32_t d = t->last_use;
            int32_t *grown = realloc(dying[d], (size_t)(n_dying[d] + 1) * sizeof *grown);
            if (grown == NULL) {
                st = cvl_err_set(e, CVL_ERR_NOMEM, "out of memory planning the graph");
                break;
            }
            dying[d] = grown;
            dying[d][n_dying[d]++] = i;
        }
        /* Free what dies after this node (never the node itself before it is written). */
        for (int32_t k = 0; k < n_dying[i]; k++) {
            cvl_tensor *x = g->nodes[dying[i][k]];
            if (!fl_free(&fl, x->offset, align_up(cvl_tensor_nbytes(x)))) {
                st = cvl_err_set(e, CVL_ERR_NOMEM, "out of memory planning the graph");
                break;
            }
        }
    }
    for (int32_t i = 0; i <= n; i++) free(dying[i]);
    free(dying);
    free(n_dying);
    free(fl.b);
    *persistent = pers;
    *arena = fl.top;
    *activations = act_total;
    return st;
}

/* ------------------------------------------------------------- init */

/* splitmix64: the stream of a parameter is seeded by (seed, its name), so
 * values do not depend on creation order or on other parameters. */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }

static double normal01(uint64_t *s) {
    double u1 = uniform01(s), u2 = uniform01(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void cvl_init_values(const cvl_tensor *t, uint64_t seed, void *out) {
    size_t n = cvl_tensor_numel(t);
    if (t->dtype == CVL_DTYPE_I64) {
        int64_t v = t->init == CVL_INIT_ONES ? 1 : 0;
        for (size_t i = 0; i < n; i++) ((int64_t *)out)[i] = v;
        return;
    }
    float *o = out;
    uint64_t s = seed ^ 0x5bd1e995u;
    for (const char *p = t->name ? t->name : ""; *p; p++) s = (s ^ (uint8_t)*p) * 0x100000001b3ull;
    /* fan_in: dims after the first (conv OIHW: I*kh*kw; linear [out,in]: in). */
    double fan_in = 1, fan_out = (double)t->shape[0];
    for (int32_t i = 1; i < t->ndim; i++) fan_in *= (double)t->shape[i];
    for (int32_t i = 2; i < t->ndim; i++) fan_out *= (double)t->shape[i];
    switch (t->init) {
    case CVL_INIT_ONES:
        for (size_t i = 0; i < n; i++) o[i] = 1.0f;
        break;
    case CVL_INIT_UNIFORM_FAN_IN: {
        double fi = t->init_arg > 0 ? t->init_arg : (t->ndim >= 2 ? fan_in : (double)t->shape[0]);
        double bound = 1.0 / sqrt(fi);
        for (size_t i = 0; i < n; i++) o[i] = (float)((2.0 * uniform01(&s) - 1.0) * bound);
        break;
    }
    case CVL_INIT_KAIMING_NORMAL_FAN_OUT: {
        double std = sqrt(2.0 / fan_out);
        for (size_t i = 0; i < n; i++) o[i] = (float)(normal01(&s) * std);
        break;
    }
    case CVL_INIT_NORMAL:
        for (size_t i = 0; i < n; i++) o[i] = (float)(normal01(&s) * (t->init_arg > 0 ? t->init_arg : 1.0));
        break;
    default:
        memset(o, 0, n * sizeof *o);
        break;
    }
}

cvl_status cvl_backend_check_bytes(const cvl_tensor *t, size_t bytes, const char *backend, bool writing, cvl_err *e) {
    if (bytes == cvl_tensor_nbytes(t)) return CVL_OK;
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s %zu bytes %s %s of %zu bytes", backend, writing ? "writing" : "reading",
                       bytes, writing ? "into" : "from", t->name ? t->name : cvl_opk_name(t->op), cvl_tensor_nbytes(t));
}
