/* graph_internal.h -- the graph's representation, shared by the files of
 * host/core/ (builders, autodiff, optimizers, backends). */
#ifndef CVL_CORE_GRAPH_INTERNAL_H
#define CVL_CORE_GRAPH_INTERNAL_H

#include "core/graph.h"

#define CVL_MAX_SCOPE_DEPTH 32

struct cvl_graph {
    cvl_tensor **nodes;
    int32_t n, cap;
    char scope[512];
    size_t scope_len;
    size_t scope_marks[CVL_MAX_SCOPE_DEPTH];
    int32_t depth;
    char prefix[128];
    char label[128];
    cvl_err err;
    uint64_t seed;
    int32_t n_forward;   /* nodes before backward was appended */
    int32_t n_backward;  /* nodes before the optimizer was appended */
    cvl_tensor *loss;
    cvl_tensor *grad_norm;
    bool has_optimizer;
    int32_t micro_end;   /* gradient accumulation: nodes of one micro-step (0: none) */
    cvl_optim_spec optim;
};

/* Appends a node; NULL (without a new message) when a source is NULL or an
 * error is already recorded. */
cvl_tensor *cvl_node_new(cvl_graph *g, cvl_opk op, cvl_dtype dtype, int32_t ndim,
                         const int64_t *shape, int32_t n_src, cvl_tensor *const *src);

#endif
