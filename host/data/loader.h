/* loader.h -- batches from a dataset, prefetched by worker threads.
 *
 * Workers fill a ring of preallocated batches (no allocation per batch);
 * next() hands them out in order. Batch b of epoch e holds samples
 * perm(seed, e)[b*B .. b*B+B) (identity when not shuffling), each
 * transformed with randomness from (seed, e, dataset index): the batches are
 * the same, bit for bit, for any number of workers. workers == 0 runs in the
 * caller.
 *
 * Transforms: every image input goes through the list; `training` selects
 * whether the random steps run (see transform.h). The batch's image inputs
 * have the shape after the transforms (cvl_batch.input_decl). */
#ifndef CVL_DATA_LOADER_H
#define CVL_DATA_LOADER_H

#include "data/dataset.h"
#include "data/transform.h"

typedef struct cvl_batch {
    int64_t n;                          /* samples in this batch (< batch only for a last, partial one) */
    int64_t number;                     /* batch number within the epoch */
    int n_inputs, n_targets;
    cvl_data_decl input_decl[CVL_DATA_MAX_IO];  /* the dataset's, images with their shape after the transforms */
    cvl_data_decl target_decl[CVL_DATA_MAX_IO]; /* the dataset's */
    float *inputs[CVL_DATA_MAX_IO];     /* input i: (N,C,H,W) or (N,F) */
    int32_t *labels[CVL_DATA_MAX_IO];   /* class target t: (N) int32; NULL for float targets */
    float *values[CVL_DATA_MAX_IO];     /* float target t: (N,F); NULL for class targets */
    int64_t *index;                     /* (N) dataset index of each sample */
} cvl_batch;

typedef struct cvl_loader_opts {
    int64_t batch;
    int shuffle, drop_last;
    int training;               /* 1: random transform steps run too; 0: deterministic steps only */
    int workers;                /* 0: synchronous */
    int ring;                   /* batches in flight; 0: 2 * workers + 1 */
    uint64_t seed;
    const cvl_transform *tf;    /* applied to every image input; copied */
    int n_tf;
} cvl_loader_opts;

typedef struct cvl_loader cvl_loader;

/* Fails when the transforms cannot apply to the dataset's images (a crop
 * larger than its input): the message names transforms[k]. */
cvl_status cvl_loader_init(cvl_loader **out, const cvl_dataset *ds, const cvl_loader_opts *o, cvl_err *e);
/* Starts (or restarts) an epoch; batches of an unfinished epoch are dropped. */
void cvl_loader_start_epoch(cvl_loader *ld, uint64_t epoch);
int64_t cvl_loader_batches(const cvl_loader *ld);
/* Input i as batches hold it (images with their shape after the transforms). */
const cvl_data_decl *cvl_loader_input_decl(const cvl_loader *ld, int i);
/* The next batch of the epoch, valid until the next call; NULL at the end.
 * A sample that fails to load fails the call with its message. */
cvl_status cvl_loader_next(const cvl_batch **out, cvl_loader *ld, cvl_err *e);
void cvl_loader_free(cvl_loader *ld);

#endif
