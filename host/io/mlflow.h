/* mlflow.h -- write a run in MLflow's file-store layout, so that
 * `mlflow ui --backend-store-uri <root>` (or `mlflow ui` in the parent of
 * mlruns/) shows it. No Python involved: these are plain files.
 *
 * THE LAYOUT (MLflow's FileStore, as of MLflow 2.x; readable by 1.x too)
 *
 *   <root>/                         usually runs/mlruns or ./mlruns
 *     .trash/                       deleted experiments (we only create it)
 *     0/meta.yaml                   the "Default" experiment, made with the root
 *     <experiment_id>/meta.yaml     artifact_location: 'file:///abs/<root>/<id>'
 *                                   creation_time: <ms>  experiment_id: '<id>'
 *                                   last_update_time: <ms>  lifecycle_stage: active
 *                                   name: '<name>'
 *     <experiment_id>/<run_id>/
 *       meta.yaml                   artifact_uri, end_time (null while running),
 *                                   entry_point_name, experiment_id,
 *                                   lifecycle_stage, run_id, run_name, run_uuid
 *                                   (= run_id), source_name, source_type (4 =
 *                                   LOCAL), source_version, start_time, status
 *                                   (1 RUNNING, 3 FINISHED, 4 FAILED, 5 KILLED),
 *                                   tags: [], user_id
 *       params/<key>                the value, no newline (logged once)
 *       metrics/<key>               one line per value: "<timestamp ms> <value> <step>"
 *       tags/<key>                  the value, no newline; we set mlflow.runName,
 *                                   mlflow.user, mlflow.source.name, mlflow.source.type
 *       artifacts/                  files copied in by cvl_mlflow_log_artifact
 *
 * Experiment ids are random 18-digit integers (MLflow's own scheme), run ids
 * 32 random hex digits (a uuid4 without dashes). YAML values are written
 * single-quoted, so a name can hold any printable character; control
 * characters are refused. Keys (params, metrics, tags) may hold letters,
 * digits, '_', '-', '.', ' ' and '/', as MLflow allows; '/' makes
 * subdirectories. meta.yaml and params/tags files are written atomically.
 * Two processes creating the same experiment name at once may make two.
 *
 *   char exp[32];
 *   cvl_mlflow_experiment(exp, "runs/mlruns", "fashion_mnist", &e);  // find or create
 *   cvl_mlflow_run *r;
 *   cvl_mlflow_run_start(&r, "runs/mlruns", exp, "cnn-2026-11-24", &e);
 *   cvl_mlflow_log_param(r, "lr", "0.01", &e);
 *   cvl_mlflow_log_metric(r, "train_loss", 0.41, step, 0, &e);       // 0: now
 *   cvl_mlflow_log_artifact(r, "runs/x/report.html", NULL, &e);
 *   cvl_mlflow_run_end(r, CVL_MLFLOW_FINISHED, &e);                  // frees r
 */
#ifndef CVL_IO_MLFLOW_H
#define CVL_IO_MLFLOW_H

#include <stdint.h>

#include "util/err.h"

typedef enum cvl_mlflow_status {
    CVL_MLFLOW_RUNNING = 1,
    CVL_MLFLOW_FINISHED = 3,
    CVL_MLFLOW_FAILED = 4,
    CVL_MLFLOW_KILLED = 5,
} cvl_mlflow_status;

/* The id of the active experiment named `name` under `root`, created (with
 * the root, Default experiment and .trash) when there is none. */
cvl_status cvl_mlflow_experiment(char id_out[32], const char *root, const char *name, cvl_err *e);

typedef struct cvl_mlflow_run cvl_mlflow_run;

/* Creates a RUNNING run in experiment `experiment_id` (which must exist),
 * with its params/, metrics/, artifacts/ and tags/ directories and tags. */
cvl_status cvl_mlflow_run_start(cvl_mlflow_run **out, const char *root, const char *experiment_id,
                                const char *run_name, cvl_err *e);

const char *cvl_mlflow_run_id(const cvl_mlflow_run *r);
const char *cvl_mlflow_run_dir(const cvl_mlflow_run *r); /* <root>/<exp>/<run_id>, absolute */

/* A param has one value for the life of a run: logging the same key again
 * with the same value is fine, with another value an error. Values are at
 * most 6000 bytes (MLflow's limit). */
cvl_status cvl_mlflow_log_param(cvl_mlflow_run *r, const char *key, const char *value, cvl_err *e);

/* Appends "<timestamp_ms> <value> <step>"; timestamp_ms 0 means now. */
cvl_status cvl_mlflow_log_metric(cvl_mlflow_run *r, const char *key, double value, int64_t step, int64_t timestamp_ms,
                                 cvl_err *e);

cvl_status cvl_mlflow_set_tag(cvl_mlflow_run *r, const char *key, const char *value, cvl_err *e);

/* Copies the file `src` to artifacts/[subdir/]<basename of src>. */
cvl_status cvl_mlflow_log_artifact(cvl_mlflow_run *r, const char *src, const char *subdir, cvl_err *e);

/* Records status and end time in meta.yaml and frees r (also on failure). */
cvl_status cvl_mlflow_run_end(cvl_mlflow_run *r, cvl_mlflow_status status, cvl_err *e);

#endif
