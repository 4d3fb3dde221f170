/* evaluate.h -- metrics of a net over a split.
 *
 * An evaluator owns a forward-only net of `val_batch_size` on its own
 * backend, plus one for the last, partial batch (built when first needed),
 * so that every sample counts once and the mean loss is exact. Samples pass
 * through the deterministic transforms only (normalize, pad, resize...). */
#ifndef CVL_TRAIN_EVALUATE_H
#define CVL_TRAIN_EVALUATE_H

#include "data/data_config.h"
#include "train/metrics.h"
#include "train/pipeline.h"

typedef struct cvl_device_ctx cvl_device_ctx;

typedef struct cvl_evaluator {
    const cvl_registry *reg;
    const cvl_config *cfg;
    const cvl_data_config *dc;
    const cvl_data *data; /* declarations and shapes */
    const cvl_device_ctx *dev;
    int threads;
    cvl_net net, tail;
    cvl_backend *be, *tail_be;
    cvl_metrics *m[CVL_NET_MAX];
    double loss;   /* mean over the samples of the last run */
    double losses[CVL_NET_MAX]; /* per target */
    int64_t n;     /* samples of the last run */
} cvl_evaluator;

cvl_status cvl_evaluator_init(cvl_evaluator *ev, const cvl_registry *reg, const cvl_config *cfg,
                              const cvl_data_config *dc, const cvl_data *data, const cvl_device_ctx *dev,
                              int threads, cvl_err *e);
void cvl_evaluator_free(cvl_evaluator *ev);

/* Takes the weights from a training net's backend. */
cvl_status cvl_evaluator_sync(cvl_evaluator *ev, cvl_backend *src, const cvl_net *from, cvl_err *e);

/* Runs over `ds` (at most max_batches batches; 0: all) and fills the metrics. */
cvl_status cvl_evaluator_run(cvl_evaluator *ev, const cvl_dataset *ds, int64_t max_batches, cvl_err *e);

/* {"loss": ..., "accuracy": ..., ...}: the first target's metrics unprefixed,
 * the others as "<target>.<metric>"; `prefix` ("val_", "test_" or "") goes
 * in front of every key. With `full`, per-class accuracy and confusion. */
void cvl_evaluator_json(const cvl_evaluator *ev, json_t *obj, const char *prefix, bool full);

/* The forward outputs of one batch (n samples) for predict and the checks:
 * pred[t] receives n * dim floats of target t's head. */
cvl_status cvl_evaluator_forward(cvl_evaluator *ev, const cvl_batch *b, float **pred, cvl_err *e);

/* ---- the compute device (shared by train, eval, predict, check) ---- */

struct cvl_device_ctx {
    struct cvl_vk_instance *inst;
    struct cvl_vk_device *dev;
};
/* spec: cpu, auto, vulkan, vulkan:N, vulkan:NAME; `show` prints what was chosen. */
cvl_status cvl_device_open(cvl_device_ctx *d, const char *spec, bool show, cvl_err *e);
void cvl_device_close(cvl_device_ctx *d);
cvl_backend *cvl_device_backend(const cvl_device_ctx *d, int threads);

#endif
