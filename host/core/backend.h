/* backend.h -- what runs a graph: memory planning, data transfer, execution.
 *
 * A backend owns every byte of tensor data. The graph only describes nodes;
 * cvl_backend_plan() places each node in one of two regions -- a persistent
 * region (parameters, buffers, optimizer state, constants, gradients and
 * other outputs) and an activation arena reused by liveness -- and sizes
 * both once, so a training step allocates nothing. Data crosses between the
 * host and the backend only through write/read. */
#ifndef CVL_CORE_BACKEND_H
#define CVL_CORE_BACKEND_H

#include "core/graph.h"

typedef struct cvl_backend cvl_backend;

/* Per-step scalars, read by the optimizer updates and by dropout. */
typedef struct cvl_step_scalars {
    double lr;
    int64_t step; /* 1-based optimizer step (Adam's bias correction) */
    uint64_t seed; /* dropout masks derive from (seed, step, node) */
    bool training; /* BatchNorm batch statistics and dropout on */
} cvl_step_scalars;

typedef struct cvl_plan_stats {
    size_t persistent_bytes;
    size_t arena_bytes;
    size_t activation_bytes; /* sum over arena tensors, for comparison */
    size_t workspace_bytes;
} cvl_plan_stats;

typedef struct cvl_backend_ops {
    const char *name;
    cvl_status (*plan)(cvl_backend *b, cvl_graph *g, cvl_err *e);
    /* Runs nodes [first, last). */
    cvl_status (*run)(cvl_backend *b, int32_t first, int32_t last, const cvl_step_scalars *s, cvl_err *e);
    cvl_status (*write)(cvl_backend *b, const cvl_tensor *t, const void *data, size_t bytes, cvl_err *e);
    cvl_status (*read)(cvl_backend *b, const cvl_tensor *t, void *data, size_t bytes, cvl_err *e);
    void (*stats)(const cvl_backend *b, cvl_plan_stats *out);
    void (*free)(cvl_backend *b);
} cvl_backend_ops;

struct cvl_backend {
    const cvl_backend_ops *ops;
    cvl_graph *graph;
};

/* The CPU backend: OpenBLAS for GEMMs, `threads` worker threads (0: all cores). */
cvl_backend *cvl_backend_cpu_new(int threads);

static inline cvl_status cvl_backend_plan(cvl_backend *b, cvl_graph *g, cvl_err *e) { return b->ops->plan(b, g, e); }
static inline cvl_status cvl_backend_run(cvl_backend *b, int32_t first, int32_t last, const cvl_step_scalars *s, cvl_err *e) {
    return b->ops->run(b, first, last, s, e);
}
static inline cvl_status cvl_backend_write(cvl_backend *b, const cvl_tensor *t, const void *d, size_t n, cvl_err *e) {
    return b->ops->write(b, t, d, n, e);
}
static inline cvl_status cvl_backend_read(cvl_backend *b, const cvl_tensor *t, void *d, size_t n, cvl_err *e) {
    return b->ops->read(b, t, d, n, e);
}
static inline void cvl_backend_free(cvl_backend *b) {
    if (b) b->ops->free(b);
}

/* Initial values of a parameter or buffer (PyTorch's default distributions),
 * deterministic in (seed, name). `out` holds numel elements of t's dtype. */
void cvl_init_values(const cvl_tensor *t, uint64_t seed, void *out);

/* The size check of write/read, shared by the backends: CVL_OK when
 * `bytes` is the tensor's size, else an error naming it ("cpu: writing 12
 * bytes into fc1.weight of 16 bytes"). */
cvl_status cvl_backend_check_bytes(const cvl_tensor *t, size_t bytes, const char *backend, bool writing, cvl_err *e);

/* Memory placement shared by every backend: fills region/offset/last_use of
 * each node; returns the two region sizes (bytes, 64-byte aligned). */
cvl_status cvl_plan_memory(cvl_graph *g, size_t *persistent, size_t *arena, size_t *activations, cvl_err *e);

#endif
