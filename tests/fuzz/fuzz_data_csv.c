/* libFuzzer: the CSV parser on arbitrary bytes; every parsed table must be
 * rectangular with NUL-terminated cells inside its text. Then the same
 * bytes as a manifest whose columns t,m,n,b,v,c,o are mapped to every
 * non-image kind (class, multilabel, numerical and boolean targets;
 * numerical, categorical and boolean inputs): whatever opens must read
 * back in range for every row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds_csv.h"

static char *cats3[] = {"x", "y", "z"}, *cats2[] = {"x", "y"};
static const cvl_csv_column cols[] = {
    {"t", CVL_CSV_TARGET, cats3, 3},      {"m", CVL_CSV_MULTILABEL, cats3, 3}, {"n", CVL_CSV_NUMERICAL_TARGET, NULL, 0},
    {"b", CVL_CSV_BOOLEAN_TARGET, NULL, 0}, {"v", CVL_CSV_NUMERICAL, NULL, 0}, {"c", CVL_CSV_CATEGORICAL, cats2, 2},
    {"o", CVL_CSV_BOOLEAN, NULL, 0},
};

static int is01(float x) { return x == 0.0f || x == 1.0f; }

static void manifest(const uint8_t *data, size_t size) {
    cvl_dataset *ds;
    cvl_err e = {0};
    int64_t none[3] = {0, 0, 0};
    if (cvl_dataset_csv_open_mem(&ds, "/nonexistent", "fuzz.csv", data, size, cols, 7, none, &e) != CVL_OK) {
        if (e.msg[0] == 0 || strchr(e.msg, '\n') != NULL) __builtin_trap(); /* one line, always */
        return;
    }
    if (ds->n_inputs != 3 || ds->n_targets != 4) __builtin_trap();
    float v[3][4], in[3][4];
    cvl_sample s = {.inputs = {in[0], in[1], in[2]}, .values = {NULL, v[0], v[1], v[2]}};
    int64_t n = ds->vt->size(ds);
    for (int64_t i = 0; i < n && i < 4096; i++) {
        if (ds->vt->get_sample(&s, ds, i, &e) != CVL_OK) __builtin_trap(); /* no image: nothing can fail */
        if (s.labels[0] < 0 || s.labels[0] >= 3) __builtin_trap();
        if (!is01(v[0][0]) || !is01(v[0][1]) || !is01(v[0][2]) || !is01(v[2][0]) || !is01(in[2][0])) __builtin_trap();
        if (!isfinite(v[1][0]) || !isfinite(in[0][0])) __builtin_trap();
        if (in[1][0] + in[1][1] != 1.0f || !is01(in[1][0])) __builtin_trap();
    }
    cvl_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvl_csv_table t;
    cvl_err e = {0};
    if (cvl_csv_parse_mem(&t, (const char *)data, size, "fuzz", &e) != CVL_OK) return 0;
    size_t total = 0;
    for (int64_t i = 0; i < t.rows * t.cols; i++) total += strlen(t.cells[i]);
    if (total > size) __builtin_trap();
    cvl_csv_table_free(&t);
    manifest(data, size);
    return 0;
}
