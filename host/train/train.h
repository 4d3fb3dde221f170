/* train.h -- the training pipeline and its sibling commands.
 *
 *   train    config -> data -> model from plugins -> quality checks -> steps
 *            with a learning-rate schedule -> validation, checkpoints (best
 *            and last) each epoch -> test metrics, report.html, MLflow
 *   eval     the metrics of a model's weights on the test split
 *   predict  top-k classes of image files
 *   check    the quality checks alone
 *
 * Everything a run writes lives in its run directory (docs/outputs.md). */
#ifndef CVL_TRAIN_TRAIN_H
#define CVL_TRAIN_TRAIN_H

#include <signal.h>

#include "plugins/registry.h"
#include "train/config.h"

typedef struct cvl_train_result {
    char run_dir[1024];
    int64_t steps;
    double last_loss;
    double val_accuracy;  /* last validation's main metric of the first target; NaN without one */
    double test_accuracy; /* the same on the evaluation split at the end */
    double train_seconds; /* time in training steps */
    double samples_per_s;
    bool interrupted; /* stopped by Ctrl-C or stop_after: a checkpoint to resume from was saved */
    bool early_stopped;
} cvl_train_result;

typedef struct cvl_train_options {
    const char *run_dir;  /* NULL: <config run_dir>/<config name>-<time> */
    int threads;          /* < 0: from the config */
    const char *device;   /* NULL: from the config (cpu, auto, vulkan, vulkan:N, vulkan:NAME) */
    bool quiet;           /* no progress output */
    const char *weights;  /* initial weights (safetensors, renamed by the config's weights_map) */
    const char *resume;   /* a run directory to continue */
    int64_t stop_after;   /* > 0: stop as Ctrl-C would after this many optimizer steps */
    volatile sig_atomic_t *interrupt; /* set (by a signal handler): save a checkpoint and stop */
} cvl_train_options;

/* The learning rate at optimizer step `step` (1-based) of `total`. */
double cvl_lr_at(const cvl_config *cfg, int64_t step, int64_t total);

cvl_status cvl_train(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                     cvl_train_result *res, cvl_err *e);

/* The quality checks alone (cvl-host check); results under `dir` (NULL: a
 * temporary directory that is removed). */
cvl_status cvl_check(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt, const char *dir,
                     cvl_err *e);

/* Metrics of `weights` (NULL: the model as initialised) on the evaluation
 * split; *out receives them as a JSON object (new reference). */
cvl_status cvl_eval(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                    const char *weights, json_t **out, cvl_err *e);

/* Top-k classes of each image file for the first target; *out is a JSON
 * array of {"file":..., "top": [{"class": k, "name": ..., "p": ...}]}. */
cvl_status cvl_predict(const cvl_registry *reg, const cvl_config *cfg, const cvl_train_options *opt,
                       const char *weights, const char *const *files, int n_files, int k, json_t **out, cvl_err *e);

/* Finds what a run directory or checkpoint file holds: the config (a new
 * reference) and the weights to use (best, else last, of a run dir). */
cvl_status cvl_locate_run(const char *run_or_ckpt, json_t **config, char *weights, size_t n, cvl_err *e);

#endif
