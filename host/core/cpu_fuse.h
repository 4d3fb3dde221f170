/* cpu_fuse.h -- kernels the CPU backend runs fused, decided at plan time.
 *
 * The graph stays as autodiff wrote it; the backend only runs some nodes
 * together:
 *   - a ReLU backward whose every reader is a batch-norm backward (dx or
 *     dparams) is not run: those readers take dy where the ReLU's input > 0
 *     straight from the ReLU backward's own sources;
 *   - a batch-norm backward computes its node's dgamma/dbeta too when that
 *     node comes right after it (or lives in the persistent region), from
 *     the same sums: one pass over (dy, x) fewer.
 * The memory planner is told that the absorbed ReLU's sources are read as
 * late as the fused kernels read them (cvl_plan_memory_keep). */
#ifndef CVL_CORE_CPU_FUSE_H
#define CVL_CORE_CPU_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/graph_internal.h"
#include "util/err.h"

typedef struct cvl_cpu_fusion {
    int32_t n;
    int32_t *relu;      /* batch-norm backward nodes: the ReLU backward whose output they read through, or -1 */
    int32_t *params;    /* batch-norm backward (dx) nodes: the params node they also compute, or -1 */
    uint8_t *skip;      /* 1: a ReLU backward nobody reads; 2: params written by their dx node */
    uint8_t *done;      /* params node: already written in this step */
    int32_t *keep;      /* for cvl_plan_memory_keep */
} cvl_cpu_fusion;

/* Before cvl_plan_memory_keep (node placement unknown yet): the ReLU
 * absorption and the liveness it needs. */
cvl_status cvl_cpu_fusion_find(cvl_cpu_fusion *f, const cvl_graph *g, cvl_err *e);
/* After placement: which params nodes their dx node may write early. */
void cvl_cpu_fusion_place(cvl_cpu_fusion *f, const cvl_graph *g);
void cvl_cpu_fusion_free(cvl_cpu_fusion *f);

/* plan.c: cvl_plan_memory with extra uses: node i's bytes stay live until
 * node keep_until[i] (-1: none). */
cvl_status cvl_plan_memory_keep(cvl_graph *g, const int32_t *keep_until, size_t *persistent, size_t *arena,
                                size_t *activations, cvl_err *e);

#endif
