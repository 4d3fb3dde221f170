/* Targets and columns of a config's dataset: "dataset.columns" (csv) and
 * "dataset.targets" (targets derived from the class label of idx, cifar
 * and folder datasets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/config_internal.h"
#include "util/strutil.h"

#define MAX_F 4096

/* "categories": 1..CVL_DATA_MAX_CLASSES distinct strings. A multilabel
 * field separates its labels with '|' or ';', so a name may not hold them. */
static cvl_status parse_categories(char ***out, int *n_out, const json_t *cats, int multilabel, const char *path,
                                   const char *where, cvl_err *e) {
    size_t n = json_array_size(cats);
    if (!json_is_array(cats) || n == 0 || n > CVL_DATA_MAX_CLASSES)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories: expected 1..%d strings", path, where, CVL_DATA_MAX_CLASSES);
    char **names = calloc(n, sizeof *names);
    if (names == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    *out = names;
    *n_out = (int)n;
    for (size_t k = 0; k < n; k++) {
        json_t *s = json_array_get(cats, k);
        if (!json_is_string(s)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories[%zu]: expected a string", path, where, k);
        const char *name = json_string_value(s);
        if (multilabel && strpbrk(name, "|;") != NULL)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories[%zu]: '%s' holds a '|' or ';', which separate multilabel entries",
                               path, where, k, name);
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], name) == 0)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories[%zu]: '%s' is listed twice", path, where, k, name);
        if ((names[k] = cvl_strdup(name)) == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    return CVL_OK;
}

static void free_categories(char **names, int n) {
    for (int k = 0; names != NULL && k < n; k++) free(names[k]);
    free(names);
}

/* The "as" value among `kinds`, or an error listing them. */
static int parse_kind(const json_t *as, const char *const *kinds, int n, const char *path, const char *where, cvl_err *e) {
    for (int k = 0; k < n; k++)
        if (strcmp(json_string_value(as), kinds[k]) == 0) return k;
    char list[256] = "", hint[96];
    for (int k = 0; k < n; k++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", kinds[k]);
    cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.as: '%s' is not one of %s%s", path, where, json_string_value(as), list,
                cvl_dcfg_suggest(hint, sizeof hint, json_string_value(as), kinds, (size_t)n));
    return -1;
}

/* Checks the object's keys against `known` (the first two, name and as,
 * must be strings and are required). */
static cvl_status check_keys(const json_t *o, const char *const *known, size_t n, const char *path, const char *where,
                             cvl_err *e) {
    if (!json_is_object(o)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected an object", path, where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        size_t k = 0;
        while (k < n && strcmp(key, known[k]) != 0) k++;
        if (k == n) return cvl_dcfg_unknown_key(path, where, key, known, n, e);
        if (k < 2 && !json_is_string(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: expected a string", path, where, key);
    }
    if (json_object_get(o, "name") == NULL || json_object_get(o, "as") == NULL)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: 'name' and 'as' are required", path, where);
    return CVL_OK;
}

/* ---- csv columns ---- */

static cvl_status parse_column(cvl_csv_column *col, const json_t *o, const char *path, const char *where, cvl_err *e) {
    static const char *const known[] = {"name", "as", "categories"};
    const char *kinds[CVL_CSV_KINDS];
    for (int k = 0; k < CVL_CSV_KINDS; k++) kinds[k] = cvl_csv_kind_name((cvl_csv_kind)k);
    if (check_keys(o, known, 3, path, where, e) != CVL_OK) return CVL_ERR_INVALID;
    snprintf(col->name, sizeof col->name, "%s", json_string_value(json_object_get(o, "name")));
    int kind = parse_kind(json_object_get(o, "as"), kinds, CVL_CSV_KINDS, path, where, e);
    if (kind < 0) return CVL_ERR_INVALID;
    col->kind = (cvl_csv_kind)kind;
    json_t *cats = json_object_get(o, "categories");
    int wants = cvl_csv_has_categories(col->kind);
    if (wants != (cats != NULL))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories: %s", path, where,
                           wants ? "required for categorical, target and multilabel columns"
                                 : "only for categorical, target and multilabel columns");
    if (!wants) return CVL_OK;
    return parse_categories(&col->categories, &col->n_categories, cats, col->kind == CVL_CSV_MULTILABEL, path, where, e);
}

cvl_status cvl_dcfg_columns(cvl_data_config *c, const json_t *v, const char *path, cvl_err *e) {
    size_t n = json_array_size(v);
    size_t max = sizeof c->csv_cols / sizeof c->csv_cols[0];
    if (!json_is_array(v) || n == 0 || n > max)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.columns: expected an array of 1..%zu objects", path, max);
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "dataset.columns[%zu]", i);
        c->n_csv_cols = (int)i + 1;
        if (parse_column(&c->csv_cols[i], json_array_get(v, i), path, where, e) != CVL_OK) return CVL_ERR_INVALID;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->csv_cols[j].name, c->csv_cols[i].name) == 0)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name: column '%s' is mapped twice", path, where, c->csv_cols[i].name);
    }
    return CVL_OK;
}

/* ---- derived targets ---- */

/* A category given by index or by name. */
static int category_of(const json_t *x, char *const *cats, int n) {
    if (json_is_integer(x)) return json_integer_value(x) >= 0 && json_integer_value(x) < n ? (int)json_integer_value(x) : -1;
    for (int k = 0; json_is_string(x) && k < n; k++)
        if (strcmp(cats[k], json_string_value(x)) == 0) return k;
    return -1;
}

static cvl_status bad_category(const json_t *x, int n, const char *path, const char *at, cvl_err *e) {
    if (json_is_integer(x))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %lld is not in [0,%d)", path, at, (long long)json_integer_value(x), n);
    if (json_is_string(x))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: unknown category '%.40s'", path, at, json_string_value(x));
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected a category (an index or a name)", path, at);
}

/* One entry of from_label into row (f floats). */
static cvl_status map_entry(float *row, cvl_derived_target *t, const json_t *x, const char *path, const char *at,
                            cvl_err *e) {
    switch (t->kind) {
    case CVL_DATA_CLASS: {
        int k = category_of(x, t->categories, (int)t->classes);
        if (k < 0) return bad_category(x, (int)t->classes, path, at, e);
        row[0] = (float)k;
        return CVL_OK;
    }
    case CVL_DATA_BOOLEAN:
        if (json_is_boolean(x)) row[0] = json_is_true(x) ? 1.0f : 0.0f;
        else if (json_is_integer(x) && (json_integer_value(x) == 0 || json_integer_value(x) == 1)) row[0] = (float)json_integer_value(x);
        else return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected true, false, 0 or 1", path, at);
        return CVL_OK;
    case CVL_DATA_MULTILABEL: {
        if (!json_is_array(x)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected a list of categories", path, at);
        memset(row, 0, (size_t)t->f * sizeof *row);
        size_t j;
        json_t *y;
        json_array_foreach(x, j, y) {
            int k = category_of(y, t->categories, (int)t->classes);
            char at2[128];
            snprintf(at2, sizeof at2, "%s[%zu]", at, j);
            if (k < 0) return bad_category(y, (int)t->classes, path, at2, e);
            row[k] = 1;
        }
        return CVL_OK;
    }
    default: /* numerical: a number (f 1) or f numbers */
        if (json_is_number(x) && t->f == 1) {
            row[0] = (float)json_number_value(x);
            return CVL_OK;
        }
        if (!json_is_array(x) || json_array_size(x) != (size_t)t->f)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected %s", path, at,
                               t->f == 1 ? "a number" : "a list of as many numbers as entry 0");
        for (int64_t j = 0; j < t->f; j++) {
            json_t *y = json_array_get(x, (size_t)j);
            if (!json_is_number(y)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%lld]: expected a number", path, at, (long long)j);
            row[j] = (float)json_number_value(y);
        }
        return CVL_OK;
    }
}

static cvl_status parse_target(cvl_derived_target *t, const json_t *o, const char *path, const char *where, cvl_err *e) {
    static const char *const known[] = {"name", "as", "from_label", "categories"};
    static const char *const kinds[] = {"target", "multilabel", "numerical_target", "boolean_target"};
    static const cvl_data_kind as_kind[] = {CVL_DATA_CLASS, CVL_DATA_MULTILABEL, CVL_DATA_NUMERICAL, CVL_DATA_BOOLEAN};
    if (check_keys(o, known, 4, path, where, e) != CVL_OK) return CVL_ERR_INVALID;
    snprintf(t->name, sizeof t->name, "%s", json_string_value(json_object_get(o, "name")));
    int kind = parse_kind(json_object_get(o, "as"), kinds, 4, path, where, e);
    if (kind < 0) return CVL_ERR_INVALID;
    t->kind = as_kind[kind];
    json_t *cats = json_object_get(o, "categories"), *map = json_object_get(o, "from_label");
    int wants = t->kind == CVL_DATA_CLASS || t->kind == CVL_DATA_MULTILABEL;
    if (wants != (cats != NULL))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories: %s", path, where,
                           wants ? "required for target and multilabel" : "only for target and multilabel");
    if (wants) {
        char **names = NULL;
        int n = 0;
        cvl_status st = parse_categories(&names, &n, cats, t->kind == CVL_DATA_MULTILABEL, path, where, e);
        t->categories = names, t->classes = n;
        if (st != CVL_OK) return st;
    }
    size_t n = json_array_size(map);
    if (map == NULL || !json_is_array(map) || n == 0 || n > CVL_DATA_MAX_CLASSES)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.from_label: expected a list with one entry per class", path, where);
    t->f = t->kind == CVL_DATA_MULTILABEL ? t->classes : 1;
    json_t *first = json_array_get(map, 0);
    if (t->kind == CVL_DATA_NUMERICAL && json_is_array(first)) t->f = (int64_t)json_array_size(first);
    if (t->f < 1 || t->f > MAX_F)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.from_label[0]: expected 1..%d numbers", path, where, MAX_F);
    t->n_labels = (int64_t)n;
    float *rows = calloc(n * (size_t)t->f, sizeof *rows);
    if (rows == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    t->map = rows;
    for (size_t k = 0; k < n; k++) {
        char at[96];
        snprintf(at, sizeof at, "%s.from_label[%zu]", where, k);
        if (map_entry(rows + k * (size_t)t->f, t, json_array_get(map, k), path, at, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    return CVL_OK;
}

cvl_status cvl_dcfg_targets(cvl_data_config *c, const json_t *v, const char *path, cvl_err *e) {
    size_t n = json_array_size(v), max = CVL_DATA_MAX_IO - 1; /* the label is target 0 */
    if (!json_is_array(v) || n > max)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.targets: expected an array of at most %zu objects", path, max);
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "dataset.targets[%zu]", i);
        c->n_derived = (int)i + 1;
        cvl_derived_target *t = &c->derived[i];
        if (parse_target(t, json_array_get(v, i), path, where, e) != CVL_OK) return CVL_ERR_INVALID;
        int dup = strcmp(t->name, "label") == 0;
        for (size_t j = 0; j < i; j++) dup |= strcmp(c->derived[j].name, t->name) == 0;
        if (dup) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name: '%s' is already a target", path, where, t->name);
    }
    return CVL_OK;
}

void cvl_dcfg_free_targets(cvl_data_config *c) {
    for (int k = 0; k < c->n_csv_cols; k++) free_categories(c->csv_cols[k].categories, c->csv_cols[k].n_categories);
    c->n_csv_cols = 0;
    for (int k = 0; k < c->n_derived; k++) {
        free_categories((char **)c->derived[k].categories, (int)c->derived[k].classes);
        free(c->derived[k].map);
    }
    c->n_derived = 0;
}
