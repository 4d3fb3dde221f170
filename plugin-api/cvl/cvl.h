/* cvl.h -- libcvl, the cvlization training pipeline as a C library.
 *
 * cvl-host is a thin command line over these calls; a C program gets the
 * same pipeline (data, plugins, quality checks, checkpoints, run directory,
 * report, MLflow) without a subprocess:
 *
 *   char err[1024];
 *   cvl_lib *lib = cvl_lib_open(NULL, 0, err, sizeof err);   // built-in plugins
 *   cvl_run_options opt = {.threads = -1, .quiet = 1};
 *   cvl_run_summary sum;
 *   const char *sets[] = {"epochs=1"};
 *   if (cvl_lib_train(lib, "examples/fashion_mnist/cnn.json", sets, 1, &opt, &sum, err, sizeof err) != 0)
 *       fprintf(stderr, "%s\n", err);
 *   cvl_lib_close(lib);
 *
 * Build: cc $(pkg-config --cflags --libs cvl) prog.c
 *
 * Every call returns 0 on success; otherwise a non-zero code and a one-line
 * message in `err` naming the file, key or plugin at fault. The types here
 * are plain C, independent of the internal headers, and only grow at their
 * ends (CVL_LIB_API_VERSION says which fields exist). */
#ifndef CVL_CVL_H
#define CVL_CVL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CVL_LIB_API_VERSION 1

typedef struct cvl_lib cvl_lib;

typedef struct cvl_run_options {
    const char *device;  /* NULL: the config's (cpu, auto, vulkan, vulkan:N, vulkan:NAME) */
    int threads;         /* < 0: the config's; 0: all cores */
    const char *run_dir; /* NULL: <run_dir>/<config name>-<time> */
    const char *weights; /* initial weights (safetensors), or NULL */
    const char *resume;  /* a run directory to continue, or NULL */
    long long stop_after; /* > 0: stop, with a checkpoint, after this many optimizer steps */
    int quiet;           /* no progress lines on stderr */
} cvl_run_options;

typedef struct cvl_run_summary {
    char run_dir[1024];
    long long steps;      /* optimizer steps taken in total */
    double last_loss;
    double val_metric;    /* last validation's headline metric (accuracy, or -MAE) */
    double test_metric;   /* the same on the evaluation split at the end */
    double train_seconds; /* in training steps */
    double samples_per_s;
    int interrupted;      /* stopped early by stop_after: resume from run_dir */
} cvl_run_summary;

/* Loads the built-in plugins and those in `plugin_dirs` (and
 * $CVL_PLUGIN_PATH). NULL on failure, with the reason in err. */
cvl_lib *cvl_lib_open(const char *const *plugin_dirs, int n_dirs, char *err, size_t err_len);
void cvl_lib_close(cvl_lib *lib);

/* Trains the model a JSON config describes; `sets` are "key.path=value"
 * overrides as `--set` takes them. */
int cvl_lib_train(cvl_lib *lib, const char *config_path, const char *const *sets, int n_sets,
                  const cvl_run_options *opt, cvl_run_summary *out, char *err, size_t err_len);

/* The metrics of `weights` (NULL: the run's best checkpoint when
 * config_or_run is a run directory) on the evaluation split, as a JSON
 * object in *json_out (free it with cvl_lib_free). */
int cvl_lib_eval(cvl_lib *lib, const char *config_or_run, const char *weights, const cvl_run_options *opt,
                 char **json_out, char *err, size_t err_len);

/* The quality checks alone; the augmented-batch grid goes to out_dir. */
int cvl_lib_check(cvl_lib *lib, const char *config_path, const cvl_run_options *opt, const char *out_dir, char *err,
                  size_t err_len);

void cvl_lib_free(void *p);
const char *cvl_lib_version(void);

#ifdef __cplusplus
}
#endif

#endif
