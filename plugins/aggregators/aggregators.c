/* aggregators -- fuse the encoded inputs of a multi-input model into one
 * tensor for the heads.
 *   concat     concatenate along the feature axis. (N,F) vectors next to
 *              (N,C,H,W) maps are broadcast over H,W first (as a conditioning
 *              input is in CVlization); optional dense layers follow.
 *   sum        element-wise sum; with `project` > 0 each input first gets a
 *              Linear to that width, so inputs of different widths can add.
 *   attention  each input is projected to `dim`, scored by a shared
 *              Linear(tanh(.)), and the inputs are summed with softmax
 *              weights over the inputs: attention-weighted fusion. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MAX_INPUTS 64

static cvl_status count_inputs(const cvl_host *h, cvl_ctx *ctx, uint32_t *n) {
    *n = h->num_inputs(ctx);
    if (*n < 1) return h->fail(ctx, CVL_ERR_INVALID, "has no inputs");
    if (*n > MAX_INPUTS) return h->fail(ctx, CVL_ERR_INVALID, "takes at most %d inputs, got %u", MAX_INPUTS, *n);
    return CVL_OK;
}

static cvl_status concat_build(const cvl_host *h, cvl_ctx *ctx, const cvl_int_list *dense) {
    uint32_t n;
    if (count_inputs(h, ctx, &n) != CVL_OK) return CVL_ERR_INVALID;
    cvl_tensor *xs[MAX_INPUTS];
    int64_t H = 0, W = 0;
    for (uint32_t i = 0; i < n; i++) {
        cvl_tensor *x = h->input(ctx, i);
        uint32_t nd = h->ndim(x);
        if (nd != 2 && nd != 4)
            return h->fail(ctx, CVL_ERR_INVALID, "input %u has %u axes; concat takes (N,F) or (N,C,H,W)", i, nd);
        if (nd == 4) {
            if (H && (h->dim(x, 2) != H || h->dim(x, 3) != W))
                return h->fail(ctx, CVL_ERR_INVALID, "input %u is %lldx%lld, an earlier map is %lldx%lld",
                               i, (long long)h->dim(x, 2), (long long)h->dim(x, 3), (long long)H, (long long)W);
            H = h->dim(x, 2);
            W = h->dim(x, 3);
        }
        xs[i] = x;
    }
    if (H) {
        // Broadcast each (N,F) to (N,F,H,W): (N,F,1,1) + zeros(1,1,H,W).
        float *zeros = calloc((size_t)(H * W), sizeof *zeros);
        if (zeros == NULL) return h->fail(ctx, CVL_ERR_NOMEM, "out of memory");
        int64_t zshape[4] = {1, 1, H, W};
        cvl_tensor *z = h->constant(ctx, 4, zshape, zeros);
        free(zeros);
        for (uint32_t i = 0; i < n; i++) {
            if (h->ndim(xs[i]) != 2) continue;
            int64_t shape[4] = {h->dim(xs[i], 0), h->dim(xs[i], 1), 1, 1};
            xs[i] = h->binary(ctx, CVL_OP_ADD, h->reshape(ctx, xs[i], 4, shape), z);
        }
    }
    cvl_tensor *x = n == 1 ? xs[0] : h->concat(ctx, n, xs, 1);
    if (dense->len > 0) {
        if (x != NULL && h->ndim(x) == 4) x = h->flatten(ctx, x);
        x = dense_stack(h, ctx, x, dense, "dense", "", CVL_OP_RELU, 0);
    }
    return finish(h, ctx, x);
}

static cvl_status sum_build(const cvl_host *h, cvl_ctx *ctx, int64_t project) {
    uint32_t n;
    if (count_inputs(h, ctx, &n) != CVL_OK) return CVL_ERR_INVALID;
    if (project < 0) return h->fail(ctx, CVL_ERR_INVALID, "project must be >= 0, got %lld", (long long)project);
    cvl_tensor *acc = NULL;
    for (uint32_t i = 0; i < n; i++) {
        cvl_tensor *x = h->input(ctx, i);
        if (project > 0) {
            char name[32];
            snprintf(name, sizeof name, "proj%u", i + 1);
            if (h->ndim(x) > 2) x = h->flatten(ctx, x);
            x = h->linear(ctx, name, x, project, true);
        } else if (acc != NULL && h->ndim(acc) == h->ndim(x)) {
            for (uint32_t a = 0; a < h->ndim(x); a++)
                if (h->dim(x, (int32_t)a) != h->dim(acc, (int32_t)a))
                    return h->fail(ctx, CVL_ERR_INVALID,
                                   "input %u has size %lld on axis %u, input 1 has %lld (set project to add a Linear)",
                                   i + 1, (long long)h->dim(x, (int32_t)a), a, (long long)h->dim(acc, (int32_t)a));
        }
        acc = acc == NULL ? x : h->binary(ctx, CVL_OP_ADD, acc, x);
    }
    return finish(h, ctx, acc);
}

static cvl_status attention_build(const cvl_host *h, cvl_ctx *ctx, int64_t dim) {
    uint32_t n;
    if (count_inputs(h, ctx, &n) != CVL_OK) return CVL_ERR_INVALID;
    if (dim < 1) return h->fail(ctx, CVL_ERR_INVALID, "dim must be >= 1, got %lld", (long long)dim);
    cvl_tensor *proj[MAX_INPUTS];
    int64_t N = h->dim(h->input(ctx, 0), 0);
    for (uint32_t i = 0; i < n; i++) {
        cvl_tensor *x = h->input(ctx, i);
        if (h->ndim(x) > 2) x = h->flatten(ctx, x);
        char name[32];
        snprintf(name, sizeof name, "proj%u", i + 1);
        int64_t shape[3] = {N, 1, dim};
        proj[i] = h->reshape(ctx, h->linear(ctx, name, x, dim, true), 3, shape); // (N,1,D)
    }
    cvl_tensor *stack = n == 1 ? proj[0] : h->concat(ctx, n, proj, 1);           // (N,K,D)
    cvl_tensor *score = h->linear(ctx, "score", h->unary(ctx, CVL_OP_TANH, stack), 1, false); // (N,K,1)
    cvl_tensor *weight = h->softmax(ctx, score, 1, false);                       // (N,K,1)
    cvl_tensor *fused = h->reduce(ctx, CVL_OP_SUM, h->binary(ctx, CVL_OP_MUL, stack, weight), 1, false);
    return finish(h, ctx, fused);                                                // (N,D)
}

static const cvl_param_desc concat_params[] = {
    CVL_PARAM_INT_LIST_DEF("dense", "[]", "widths of Linear+ReLU layers after the concatenation"),
};
static const cvl_param_desc sum_params[] = {
    CVL_PARAM_INT_DEF("project", "0", "project every input to this width first (0: no projection)"),
};
static const cvl_param_desc attention_params[] = {
    CVL_PARAM_INT_DEF("dim", "128", "width every input is projected to"),
};
#define V CVL_MAKE_VERSION(1, 0, 0)
CVL_COMPONENT(concat, CVL_KIND_AGGREGATOR, "concat",
              "concatenate encoded inputs (vectors broadcast over maps), optional dense layers", V,
              concat_params, concat_build);
CVL_COMPONENT(sum, CVL_KIND_AGGREGATOR, "sum", "element-wise sum of encoded inputs", V, sum_params,
              sum_build);
CVL_COMPONENT(attention, CVL_KIND_AGGREGATOR, "attention",
              "attention-weighted fusion of the encoded inputs", V, attention_params,
              attention_build);

static const cvl_component_desc *const components[] = {&concat, &sum, &attention};
CVL_DEFINE_PLUGIN("cvl-aggregators", V, components)
