/* loader.h -- batches from a dataset, prefetched by worker threads.
 *
 * Workers fill a ring of preallocated batches (no allocation per batch);
 * next() hands them out in order. Batch b of epoch e holds samples
 * perm(seed, e)[b*B .. b*B+B) (identity when not shuffling), each augmented
 * with randomness from (seed, e, dataset index): the batches are the same,
 * bit for bit, for any number of workers. workers == 0 runs in the caller. */
#ifndef CVL_DATA_LOADER_H
#define CVL_DATA_LOADER_H

#include "data/dataset.h"
#include "data/transform.h"

typedef struct cvl_batch {
    int64_t n;                          /* samples in this batch (< batch only for a last, partial one) */
    int64_t number;                     /* batch number within the epoch */
    float *inputs[CVL_DATA_MAX_IO];     /* input i is (N,C,H,W) or (N,F) */
    int32_t *labels[CVL_DATA_MAX_IO];   /* target t is (N) */
    int64_t *index;                     /* (N) dataset index of each sample */
} cvl_batch;

typedef struct cvl_loader_opts {
    int64_t batch;
    int shuffle, drop_last;
    int workers;                /* 0: synchronous */
    int ring;                   /* batches in flight; 0: 2 * workers + 1 */
    uint64_t seed;
    const cvl_transform *tf;    /* applied to every image input; copied */
    int n_tf;
} cvl_loader_opts;

typedef struct cvl_loader cvl_loader;

cvl_status cvl_loader_init(cvl_loader **out, const cvl_dataset *ds, const cvl_loader_opts *o, cvl_err *e);
/* Starts (or restarts) an epoch; batches of an unfinished epoch are dropped. */
void cvl_loader_start_epoch(cvl_loader *ld, uint64_t epoch);
int64_t cvl_loader_batches(const cvl_loader *ld);
/* The next batch of the epoch, valid until the next call; NULL at the end.
 * A sample that fails to load fails the call with its message. */
cvl_status cvl_loader_next(const cvl_batch **out, cvl_loader *ld, cvl_err *e);
void cvl_loader_free(cvl_loader *ld);

/* Fills one batch (what a worker does); exposed for tests and the grid. */
cvl_status cvl_batch_fill(cvl_batch *b, float *scratch, const cvl_dataset *ds, const int64_t *idx, int64_t n,
                          const cvl_transform *tf, int n_tf, uint64_t seed, uint64_t epoch, cvl_err *e);
cvl_status cvl_batch_alloc(cvl_batch *b, const cvl_dataset *ds, int64_t batch);
void cvl_batch_free(cvl_batch *b);

#endif
