/* data_util.h -- helpers shared by the data tests (one temp dir per test
 * program, configs from JSON text, one-sample reads). */
#ifndef CVL_TEST_DATA_UTIL_H
#define CVL_TEST_DATA_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_config.h"

static char tmpdir[256];

static inline int tmp_setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cvl-test-data-XXXXXX");
    return mkdtemp(tmpdir) != NULL;
}

static inline void tmp_teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
}

static inline void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return;
    if (n > 0 && fwrite(p, 1, n, f) != n) printf("# short write to %s\n", path);
    fclose(f);
}

static inline void write_text(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }

static inline cvl_status open_cfg(cvl_data *d, cvl_data_config *c, const char *json, cvl_err *e) {
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    memset(d, 0, sizeof *d);
    memset(c, 0, sizeof *c);
    if (j == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "test: bad json %s", je.text);
    cvl_status st = cvl_data_config_parse(c, j, "cnn.json", e);
    json_decref(j);
    if (st == CVL_OK) st = cvl_data_open(d, c, e);
    return st;
}

/* The error text from opening `json` (data must fail). */
static inline const char *open_err(const char *json) {
    static cvl_err e;
    cvl_err_clear(&e);
    cvl_data d;
    cvl_data_config c;
    cvl_status st = open_cfg(&d, &c, json, &e);
    if (st == CVL_OK) cvl_data_close(&d);
    cvl_data_config_free(&c);
    return st == CVL_OK ? "(opened)" : e.msg;
}

/* Sample i's image input (0) and class labels; float targets are dropped. */
static inline cvl_status get_image(float *img, int32_t *labels, const cvl_dataset *ds, int64_t i) {
    cvl_sample s;
    memset(&s, 0, sizeof s);
    s.inputs[0] = img;
    static float sink[CVL_DATA_MAX_IO][4096];
    for (int t = 0; t < ds->n_targets; t++)
        if (cvl_data_is_float_target(&ds->targets[t])) s.values[t] = sink[t];
    cvl_err e = {0};
    cvl_status st = ds->vt->get_sample(&s, ds, i, &e);
    if (st != CVL_OK) printf("# get_sample: %s\n", e.msg);
    for (int t = 0; t < ds->n_targets; t++) labels[t] = s.labels[t];
    return st;
}

/* All steps of tf (training) on a (c,h,w) image of sample 0, seed 1. */
static inline void apply1(float *img, float *tmp, const cvl_transform *tf, int64_t c, int64_t h, int64_t w) {
    int64_t shape[3] = {c, h, w};
    cvl_transform_apply(img, tmp, tf, 1, shape, 1, 1, 0, 0);
}

#endif
