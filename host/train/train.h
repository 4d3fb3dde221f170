/* train.h -- the training pipeline: config -> model from plugins -> data ->
 * steps with a learning-rate schedule -> validation each epoch -> test
 * accuracy, with a run directory holding the resolved config and
 * metrics.jsonl. */
#ifndef CVL_TRAIN_TRAIN_H
#define CVL_TRAIN_TRAIN_H

#include "plugins/registry.h"
#include "train/config.h"

typedef struct cvl_train_result {
    char run_dir[1024];
    int64_t steps;
    double last_loss;
    double val_accuracy;  /* last validation; -1 without a validation split */
    double test_accuracy; /* on the test split */
    double train_seconds; /* time in training steps */
    double samples_per_s;
} cvl_train_result;

typedef struct cvl_train_options {
    const char *run_dir; /* NULL: <config run_dir>/<config name>-<time> */
    int threads;         /* < 0: from the config */
    const char *device;  /* NULL: from the config (cpu, auto, vulkan, vulkan:N, vulkan:NAME) */
    bool quiet;          /* no progress output */
} cvl_train_options;

/* The learning rate at optimizer step `step` (1-based) of `total`. */
double cvl_lr_at(const cvl_config *cfg, int64_t step, int64_t total);

cvl_status cvl_train(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                     cvl_train_result *res, cvl_err *e);

#endif
