/* session.h -- what train, eval, predict and check share: the config's
 * data opened, the compute device, the nets on their backends, and the
 * run directory. Internal to libcvl (the public API is cvl/cvl.h). */
#ifndef CVL_TRAIN_SESSION_H
#define CVL_TRAIN_SESSION_H

#include <stdio.h>

#include "data/data_config.h"
#include "train/evaluate.h"
#include "train/pipeline.h"
#include "train/train.h"

typedef struct cvl_session {
    const cvl_registry *reg;
    const cvl_config *cfg;
    cvl_data_config dc;
    cvl_data data;
    cvl_device_ctx dev;
    int threads;
    bool show, tty;
    bool training;
    cvl_net net;     /* the training net (training sessions) */
    cvl_backend *be;
    cvl_evaluator ev;
    char run_dir[1024];
} cvl_session;

/* Opens the data, the device and the nets. `training`: a training net too.
 * Does not make a run directory. */
cvl_status cvl_session_open(cvl_session *s, const cvl_registry *reg, const cvl_config *cfg, const char *device,
                            int threads, bool quiet, bool training, cvl_err *e);
void cvl_session_close(cvl_session *s);

/* The split evaluation reports on: test when the dataset has one, else val. */
const cvl_dataset *cvl_session_eval_split(const cvl_session *s, const char **name);

/* <run_dir>/<name>. */
const char *cvl_run_path(char *buf, size_t n, const char *run_dir, const char *name);

/* The quality checks (docs/checks.md) on an open training session; each
 * check prints one line when `show`. The augmented-batch grid is written to
 * <dir>/augmented_batch.png. */
cvl_status cvl_quality_checks(cvl_session *s, const char *dir, cvl_err *e);

/* Names the first parameter of the training net that is not finite, or "". */
void cvl_session_first_nonfinite(cvl_session *s, char *out, size_t n);

/* report.html of a run directory, from its metrics.jsonl and results.json. */
cvl_status cvl_run_report(const char *run_dir, const cvl_session *s, cvl_err *e);

#endif
