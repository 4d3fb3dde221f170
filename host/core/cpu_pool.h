/* cpu_pool.h -- a persistent thread pool for the CPU backend.
 * Threads are created once; a parallel loop wakes them through a condition
 * variable (no spinning that would steal a core from the caller) and the
 * caller takes part in the work. Nothing is allocated per loop. Loops whose
 * per-thread results are summed (weight gradients) use the static split of
 * cvl_pool_run; the rest take blocks dynamically (cvl_pool_run_blocks). */
#ifndef CVL_CORE_CPU_POOL_H
#define CVL_CORE_CPU_POOL_H

#include <stdint.h>

typedef struct cvl_pool cvl_pool;

/* `threads` includes the calling thread; 1 runs everything inline. */
cvl_pool *cvl_pool_new(int threads);
void cvl_pool_free(cvl_pool *p);
int cvl_pool_size(const cvl_pool *p);

/* Calls fn(ctx, task, thread) for task in [0, n_tasks); tasks are dealt in
 * contiguous blocks, thread t gets block t, so results that depend on the
 * split are deterministic for a given thread count. Returns when all are
 * done. Not reentrant. */
typedef void (*cvl_pool_fn)(void *ctx, int64_t begin, int64_t end, int thread);
void cvl_pool_run(cvl_pool *p, int64_t n, cvl_pool_fn fn, void *ctx);

/* Calls fn on the blocks [k*grain, (k+1)*grain) of [0, n), handed out one
 * at a time to whichever thread is free (the caller included), and returns
 * when all are done without waiting for a worker that has not woken up: on
 * a machine shared with other work, a descheduled thread no longer holds
 * the whole loop back. Which thread runs a block varies from run to run,
 * so fn's results must not depend on `thread` beyond its choice of
 * scratch; block boundaries depend only on n and grain. */
void cvl_pool_run_blocks(cvl_pool *p, int64_t n, int64_t grain, cvl_pool_fn fn, void *ctx);
/* cvl_pool_run_blocks with four blocks per thread. */
void cvl_pool_for(cvl_pool *p, int64_t n, cvl_pool_fn fn, void *ctx);

#endif
