/* metrics.h -- evaluation metrics of one target, accumulated batch by batch.
 *
 *   category     accuracy, top-5 accuracy (when there are more than 5
 *                classes), per-class accuracy (recall), the confusion
 *                matrix (rows: true class, columns: predicted)
 *   boolean      accuracy at logit 0, AUROC (ties count half)
 *   multi-label  accuracy per label at logit 0 (mean), macro AUROC over the
 *                labels that have both classes
 *   numerical    MAE, RMSE and R^2 over every value
 *
 * AUROC keeps every score (8 bytes per sample and label); the others keep
 * running sums. */
#ifndef CVL_TRAIN_METRICS_H
#define CVL_TRAIN_METRICS_H

#include <jansson.h>
#include <stdint.h>

#include "train/pipeline.h"

typedef struct cvl_metrics cvl_metrics;

cvl_metrics *cvl_metrics_new(cvl_target_kind kind, int64_t dim);
void cvl_metrics_free(cvl_metrics *m);
void cvl_metrics_reset(cvl_metrics *m);

/* n samples: pred (n, dim); labels (n) for a category, values (n, dim) otherwise. */
void cvl_metrics_add(cvl_metrics *m, const float *pred, const int32_t *labels, const float *values, int64_t n);

int64_t cvl_metrics_count(const cvl_metrics *m);
/* The headline number: accuracy for category, boolean and multi-label, -MAE
 * for numerical (so that higher is better everywhere). */
double cvl_metrics_main(const cvl_metrics *m);
/* Adds the metrics to obj as "<prefix>accuracy", ...; with `full`, the
 * per-class accuracy and the confusion matrix too. */
void cvl_metrics_to_json(const cvl_metrics *m, json_t *obj, const char *prefix, bool full);

#endif
