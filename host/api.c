/* api.c -- the public C API (cvl/cvl.h) over the internal pipeline. */
#include <cvl/cvl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

#ifndef CVL_VERSION_STRING
#define CVL_VERSION_STRING "unknown"
#endif

struct cvl_lib {
    cvl_registry *reg;
};

static int fail(char *err, size_t n, const char *msg) {
    if (err && n) snprintf(err, n, "%s", msg);
    return 1;
}

cvl_lib *cvl_lib_open(const char *const *plugin_dirs, int n_dirs, char *err, size_t err_len) {
    cvl_lib *lib = calloc(1, sizeof *lib);
    if (lib) lib->reg = cvl_registry_new(NULL, NULL);
    if (lib == NULL || lib->reg == NULL) {
        free(lib);
        fail(err, err_len, "out of memory");
        return NULL;
    }
    cvl_registry_load_default(lib->reg, plugin_dirs, n_dirs > 0 ? (size_t)n_dirs : 0);
    return lib;
}

void cvl_lib_close(cvl_lib *lib) {
    if (lib == NULL) return;
    cvl_registry_free(lib->reg);
    free(lib);
}

static cvl_train_options options(const cvl_run_options *o) {
    cvl_train_options t = {.threads = -1};
    if (o == NULL) return t;
    t.device = o->device;
    t.threads = o->threads;
    t.run_dir = o->run_dir;
    t.weights = o->weights;
    t.resume = o->resume;
    t.stop_after = o->stop_after;
    t.quiet = o->quiet != 0;
    return t;
}

int cvl_lib_train(cvl_lib *lib, const char *config_path, const char *const *sets, int n_sets,
                  const cvl_run_options *opt, cvl_run_summary *out, char *err, size_t err_len) {
    if (lib == NULL || config_path == NULL) return fail(err, err_len, "cvl_lib_train: no library or config");
    cvl_err e = {0};
    cvl_config cfg;
    if (cvl_config_load(&cfg, config_path, sets, n_sets > 0 ? (size_t)n_sets : 0, &e) != CVL_OK) {
        cvl_config_free(&cfg);
        return fail(err, err_len, e.msg);
    }
    cvl_train_options t = options(opt);
    cvl_train_result r;
    cvl_status st = cvl_train(lib->reg, &cfg, &t, &r, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) return fail(err, err_len, e.msg);
    if (out) {
        memset(out, 0, sizeof *out);
        snprintf(out->run_dir, sizeof out->run_dir, "%s", r.run_dir);
        out->steps = r.steps;
        out->last_loss = r.last_loss;
        out->val_metric = r.val_accuracy;
        out->test_metric = r.test_accuracy;
        out->train_seconds = r.train_seconds;
        out->samples_per_s = r.samples_per_s;
        out->interrupted = r.interrupted;
    }
    return 0;
}

int cvl_lib_eval(cvl_lib *lib, const char *config_or_run, const char *weights, const cvl_run_options *opt,
                 char **json_out, char *err, size_t err_len) {
    if (json_out) *json_out = NULL;
    if (lib == NULL || config_or_run == NULL) return fail(err, err_len, "cvl_lib_eval: no library or config");
    cvl_err e = {0};
    cvl_config cfg;
    char found[1200] = "";
    size_t len = strlen(config_or_run);
    cvl_status st;
    if (len > 5 && strcmp(config_or_run + len - 5, ".json") == 0) {
        st = cvl_config_load(&cfg, config_or_run, NULL, 0, &e);
    } else {
        json_t *root = NULL;
        st = cvl_locate_run(config_or_run, &root, found, sizeof found, &e);
        if (st == CVL_OK) st = cvl_config_from_json(&cfg, root, config_or_run, NULL, 0, &e);
        else memset(&cfg, 0, sizeof cfg);
        json_decref(root);
    }
    json_t *res = NULL;
    cvl_train_options t = options(opt);
    t.quiet = true;
    if (st == CVL_OK) st = cvl_eval(lib->reg, &cfg, &t, weights ? weights : found[0] ? found : NULL, &res, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) return fail(err, err_len, e.msg);
    if (json_out) *json_out = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(res);
    return 0;
}

int cvl_lib_check(cvl_lib *lib, const char *config_path, const cvl_run_options *opt, const char *out_dir, char *err,
                  size_t err_len) {
    if (lib == NULL || config_path == NULL) return fail(err, err_len, "cvl_lib_check: no library or config");
    cvl_err e = {0};
    cvl_config cfg;
    cvl_status st = cvl_config_load(&cfg, config_path, NULL, 0, &e);
    cvl_train_options t = options(opt);
    if (st == CVL_OK) st = cvl_check(lib->reg, &cfg, &t, out_dir, &e);
    cvl_config_free(&cfg);
    return st != CVL_OK ? fail(err, err_len, e.msg) : 0;
}

void cvl_lib_free(void *p) { free(p); }

const char *cvl_lib_version(void) { return CVL_VERSION_STRING; }
