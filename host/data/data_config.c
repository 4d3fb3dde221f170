#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_config.h"
#include "util/strutil.h"

#define DEFAULT_IDX_ROOT "/usr/share/datasets/fashion-mnist"

static const char *const fashion_names[] = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                            "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};

static cvl_status unknown_key(const char *path, const char *where, const char *key, const char *const *known, size_t n,
                              cvl_err *e) {
    const char *near = cvl_closest(key, known, n);
    if (near != NULL)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: unknown key (did you mean '%s'?)", path, where, key, near);
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: unknown key", path, where, key);
}

static cvl_status get_num(double *out, const json_t *v, const char *path, const char *where, const char *key,
                          cvl_err *e) {
    if (!json_is_number(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s%s%s: expected a number", path, where, *where ? "." : "", key);
    *out = json_number_value(v);
    return CVL_OK;
}

static cvl_status get_int(int64_t *out, const json_t *v, const char *path, const char *where, const char *key,
                          cvl_err *e) {
    if (!json_is_integer(v))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s%s%s: expected an integer", path, where, *where ? "." : "", key);
    *out = json_integer_value(v);
    return CVL_OK;
}

static cvl_status parse_column(cvl_csv_column *col, const json_t *o, const char *path, const char *where, cvl_err *e) {
    static const char *const known[] = {"name", "as", "categories"};
    static const char *const kinds[] = {"image", "numerical", "boolean", "categorical", "target"};
    if (!json_is_object(o)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected an object", path, where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int k = strcmp(key, "name") == 0 ? 0 : strcmp(key, "as") == 0 ? 1 : strcmp(key, "categories") == 0 ? 2 : -1;
        if (k < 0) return unknown_key(path, where, key, known, 3, e);
        if (k < 2 && !json_is_string(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: expected a string", path, where, key);
    }
    json_t *name = json_object_get(o, "name"), *as = json_object_get(o, "as"), *cats = json_object_get(o, "categories");
    if (name == NULL || as == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: 'name' and 'as' are required", path, where);
    snprintf(col->name, sizeof col->name, "%s", json_string_value(name));
    int kind = -1;
    for (int k = 0; k < 5; k++)
        if (strcmp(json_string_value(as), kinds[k]) == 0) kind = k;
    if (kind < 0) {
        const char *near = cvl_closest(json_string_value(as), kinds, 5);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.as: '%s' is not one of image, numerical, boolean, categorical, target%s%s%s",
                           path, where, json_string_value(as), near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    col->kind = (cvl_csv_kind)kind;
    int wants = col->kind == CVL_CSV_CATEGORICAL || col->kind == CVL_CSV_TARGET;
    if (wants != (cats != NULL))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories: %s", path, where,
                           wants ? "required for categorical and target columns" : "only for categorical and target columns");
    if (!wants) return CVL_OK;
    size_t n = json_array_size(cats);
    if (!json_is_array(cats) || n == 0 || n > CVL_DATA_MAX_CLASSES)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories: expected 1..%d strings", path, where, CVL_DATA_MAX_CLASSES);
    col->categories = calloc(n, sizeof *col->categories);
    if (col->categories == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    col->n_categories = (int)n;
    for (size_t k = 0; k < n; k++) {
        json_t *s = json_array_get(cats, k);
        if (!json_is_string(s)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.categories[%zu]: expected a string", path, where, k);
        col->categories[k] = cvl_strdup(json_string_value(s));
    }
    return CVL_OK;
}

static cvl_status parse_columns(cvl_data_config *c, const json_t *v, const char *path, cvl_err *e) {
    size_t n = json_array_size(v);
    size_t max = sizeof c->csv_cols / sizeof c->csv_cols[0];
    if (!json_is_array(v) || n == 0 || n > max)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.columns: expected an array of 1..%zu objects", path, max);
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "dataset.columns[%zu]", i);
        c->n_csv_cols = (int)i + 1;
        if (parse_column(&c->csv_cols[i], json_array_get(v, i), path, where, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    return CVL_OK;
}

static cvl_status parse_dataset(cvl_data_config *c, const json_t *ds, const char *path, cvl_err *e) {
    static const char *const known[] = {"format", "root", "classes", "class_names", "file", "columns"};
    if (!json_is_object(ds)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset: expected an object", path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ds, key, v) {
        if (strcmp(key, "format") == 0 || strcmp(key, "root") == 0) {
            if (!json_is_string(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.%s: expected a string", path, key);
            if (key[0] == 'f') snprintf(c->format, sizeof c->format, "%s", json_string_value(v));
            else snprintf(c->root, sizeof c->root, "%s", json_string_value(v));
        } else if (strcmp(key, "classes") == 0) {
            int64_t n = 0;
            if (get_int(&n, v, path, "dataset", key, e) != CVL_OK) return CVL_ERR_INVALID;
            if (n < 1 || n > CVL_DATA_MAX_CLASSES)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.classes: %lld not in [1,%d]", path, (long long)n,
                                   CVL_DATA_MAX_CLASSES);
            c->classes = (int)n;
        } else if (strcmp(key, "file") == 0) {
            if (!json_is_string(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.file: expected a string", path);
            snprintf(c->csv_file, sizeof c->csv_file, "%s", json_string_value(v));
        } else if (strcmp(key, "columns") == 0) {
            if (parse_columns(c, v, path, e) != CVL_OK) return CVL_ERR_INVALID;
        } else if (strcmp(key, "class_names") != 0) {
            return unknown_key(path, "dataset", key, known, 6, e);
        }
    }
    static const char *const formats[] = {"idx", "cifar", "folder", "csv"};
    int is_csv = strcmp(c->format, "csv") == 0;
    if (strcmp(c->format, "idx") != 0 && strcmp(c->format, "cifar") != 0 && strcmp(c->format, "folder") != 0 && !is_csv) {
        const char *near = cvl_closest(c->format, formats, 4);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.format: '%s' is not one of idx, cifar, folder, csv%s%s%s", path,
                           c->format, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    if (is_csv != (c->csv_file[0] != 0) || is_csv != (c->n_csv_cols != 0))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset: 'file' and 'columns' %s", path,
                           is_csv ? "are required for the csv format" : "belong to the csv format only");
    if (c->root[0] == 0) {
        if (strcmp(c->format, "idx") != 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.root: missing", path);
        snprintf(c->root, sizeof c->root, "%s", DEFAULT_IDX_ROOT);
    }
    json_t *names = json_object_get(ds, "class_names");
    if (names != NULL) {
        if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > CVL_DATA_MAX_CLASSES)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.class_names: expected a non-empty array of strings", path);
        if (c->classes == 0) c->classes = (int)json_array_size(names);
        if ((size_t)c->classes != json_array_size(names))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.class_names: %zu names for %d classes", path,
                               json_array_size(names), c->classes);
        c->class_names = calloc((size_t)c->classes, sizeof *c->class_names);
        if (c->class_names == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
        for (int i = 0; i < c->classes; i++) {
            json_t *s = json_array_get(names, (size_t)i);
            if (!json_is_string(s))
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.class_names[%d]: expected a string", path, i);
            c->class_names[i] = cvl_strdup(json_string_value(s));
        }
    }
    if (c->classes == 0 && strcmp(c->format, "folder") != 0 && !is_csv) c->classes = 10;
    if (c->class_names == NULL && strcmp(c->format, "idx") == 0 && c->classes == 10 && strstr(c->root, "fashion")) {
        c->class_names = calloc(10, sizeof *c->class_names);
        if (c->class_names == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
        for (int i = 0; i < 10; i++) c->class_names[i] = cvl_strdup(fashion_names[i]);
    }
    return CVL_OK;
}

typedef struct tf_spec {
    const char *name;
    cvl_tf_kind kind;
    const char *keys[4];
} tf_spec;

static const tf_spec tf_specs[] = {
    {"normalize", CVL_TF_NORMALIZE, {"mean", "std"}},
    {"random_crop", CVL_TF_RANDOM_CROP, {"pad"}},
    {"hflip", CVL_TF_HFLIP, {0}},
    {"vflip", CVL_TF_VFLIP, {0}},
    {"translate", CVL_TF_TRANSLATE, {"max_frac"}},
    {"rotate", CVL_TF_ROTATE, {"degrees"}},
    {"scale", CVL_TF_SCALE, {"min", "max"}},
    {"brightness_contrast", CVL_TF_BRIGHTNESS_CONTRAST, {"brightness", "contrast"}},
    {"cutout", CVL_TF_CUTOUT, {"size"}},
};
#define N_SPECS (sizeof tf_specs / sizeof tf_specs[0])

static cvl_status parse_channels(float *out, const json_t *v, const char *path, const char *where, cvl_err *e) {
    if (json_is_number(v)) {
        for (int k = 0; k < CVL_TF_MAX_CH; k++) out[k] = (float)json_number_value(v);
        return CVL_OK;
    }
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > CVL_TF_MAX_CH)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected a number or 1..%d numbers", path, where, CVL_TF_MAX_CH);
    for (size_t k = 0; k < CVL_TF_MAX_CH; k++) {
        json_t *x = json_array_get(v, k < n ? k : n - 1);
        if (!json_is_number(x)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%zu]: expected a number", path, where, k);
        out[k] = (float)json_number_value(x);
    }
    return CVL_OK;
}

static cvl_status parse_tf_key(cvl_transform *t, const char *key, const json_t *v, const char *path,
                               const char *where, cvl_err *e) {
    char at[96];
    snprintf(at, sizeof at, "%s.%s", where, key);
    double x = 0;
    if (strcmp(key, "mean") == 0 && json_is_string(v)) {
        if (strcmp(json_string_value(v), "auto") != 0)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected numbers or \"auto\"", path, at);
        t->mean_auto = 1;
        return CVL_OK;
    }
    if (strcmp(key, "mean") == 0) return parse_channels(t->mean, v, path, at, e);
    if (strcmp(key, "std") == 0) {
        cvl_status st = parse_channels(t->std, v, path, at, e);
        for (int k = 0; st == CVL_OK && k < CVL_TF_MAX_CH; k++)
            if (!(t->std[k] > 0)) st = cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: must be positive", path, at);
        return st;
    }
    if (get_num(&x, v, path, where, key, e) != CVL_OK) return CVL_ERR_INVALID;
    int bad = 0;
    if (strcmp(key, "pad") == 0) t->pad = (int)x, bad = x < 0 || x > 1024 || x != floor(x);
    else if (strcmp(key, "max_frac") == 0) t->max_frac = (float)x, bad = x < 0 || x > 1;
    else if (strcmp(key, "size") == 0) t->max_frac = (float)x, bad = x < 0 || x > 1;
    else if (strcmp(key, "degrees") == 0) t->degrees = (float)x, bad = x < 0 || x > 180;
    else if (strcmp(key, "min") == 0) t->scale_lo = (float)x, bad = x <= 0 || x > 10;
    else if (strcmp(key, "max") == 0) t->scale_hi = (float)x, bad = x <= 0 || x > 10;
    else if (strcmp(key, "brightness") == 0) t->brightness = (float)x, bad = x < 0 || x > 10;
    else if (strcmp(key, "contrast") == 0) t->contrast = (float)x, bad = x < 0 || x > 1;
    if (bad) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %g is out of range", path, at, x);
    return CVL_OK;
}

static cvl_status parse_transform(cvl_transform *t, const json_t *o, int i, const char *path, cvl_err *e) {
    char where[48];
    snprintf(where, sizeof where, "transforms[%d]", i);
    if (!json_is_object(o)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected an object", path, where);
    json_t *nv = json_object_get(o, "name");
    if (!json_is_string(nv)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name: expected a string", path, where);
    const char *name = json_string_value(nv);
    const tf_spec *sp = NULL;
    const char *names[N_SPECS];
    for (size_t k = 0; k < N_SPECS; k++) {
        names[k] = tf_specs[k].name;
        if (strcmp(name, names[k]) == 0) sp = &tf_specs[k];
    }
    if (sp == NULL) {
        const char *near = cvl_closest(name, names, N_SPECS);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name: unknown transform '%s'%s%s%s", path, where, name,
                           near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    *t = (cvl_transform){.kind = sp->kind, .p = 1, .std = {1, 1, 1, 1}, .pad = 4, .max_frac = 0.1f, .degrees = 15,
                         .scale_lo = 0.9f, .scale_hi = 1.1f, .brightness = 0.2f, .contrast = 0.2f};
    if (sp->kind == CVL_TF_CUTOUT) t->max_frac = 0.25f;
    if (sp->kind == CVL_TF_NORMALIZE && json_object_get(o, "mean") == NULL) t->mean_auto = 1;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "name") == 0) continue;
        if (strcmp(key, "p") == 0) {
            double p = 0;
            if (get_num(&p, v, path, where, key, e) != CVL_OK) return CVL_ERR_INVALID;
            if (p < 0 || p > 1) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.p: %g is not in [0,1]", path, where, p);
            t->p = (float)p;
            continue;
        }
        const char *known[5] = {"p"};
        size_t nk = 1;
        int ok = 0;
        for (int k = 0; k < 4 && sp->keys[k]; k++) {
            known[nk++] = sp->keys[k];
            ok |= strcmp(key, sp->keys[k]) == 0;
        }
        if (!ok) return unknown_key(path, where, key, known, nk, e);
        if (parse_tf_key(t, key, v, path, where, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    if (t->kind == CVL_TF_SCALE && t->scale_lo > t->scale_hi)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: min %g > max %g", path, where, t->scale_lo, t->scale_hi);
    return CVL_OK;
}

cvl_status cvl_data_config_parse(cvl_data_config *c, const json_t *config, const char *path, cvl_err *e) {
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->val_split = 0.1;
    c->train_batch = c->val_batch = 32;
    c->workers = 2;
    if (!json_is_object(config)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: expected a JSON object", path);
    json_t *ds = json_object_get(config, "dataset");
    if (ds == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset: missing", path);
    if (parse_dataset(c, ds, path, e) != CVL_OK) return CVL_ERR_INVALID;
    json_t *v;
    if ((v = json_object_get(config, "input_shape")) != NULL) {
        if (!json_is_array(v) || json_array_size(v) != 3)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape: expected [C,H,W]", path);
        for (size_t i = 0; i < 3; i++)
            if (!json_is_integer(json_array_get(v, i)) || (c->shape[i] = json_integer_value(json_array_get(v, i))) < 1)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape[%zu]: expected a positive integer", path, i);
    }
    if ((v = json_object_get(config, "transforms")) != NULL) {
        if (!json_is_array(v) || json_array_size(v) > CVL_DATA_MAX_TF)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: transforms: expected an array of at most %d steps", path, CVL_DATA_MAX_TF);
        for (size_t i = 0; i < json_array_size(v); i++)
            if (parse_transform(&c->tf[c->n_tf++], json_array_get(v, i), (int)i, path, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    if ((v = json_object_get(config, "val_split")) != NULL) {
        if (get_num(&c->val_split, v, path, "", "val_split", e) != CVL_OK) return CVL_ERR_INVALID;
        if (c->val_split < 0 || c->val_split >= 1)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: val_split: %g is not in [0,1)", path, c->val_split);
    }
    int64_t x = 0;
    const char *ints[] = {"seed", "train_batch_size", "val_batch_size", "workers"};
    for (int i = 0; i < 4; i++) {
        if ((v = json_object_get(config, ints[i])) == NULL) continue;
        if (get_int(&x, v, path, "", ints[i], e) != CVL_OK) return CVL_ERR_INVALID;
        if (x < (i == 0 || i == 3 ? 0 : 1) || (i == 3 && x > 64))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %lld is out of range", path, ints[i], (long long)x);
        if (i == 0) c->seed = (uint64_t)x;
        if (i == 1) c->train_batch = x;
        if (i == 2) c->val_batch = x;
        if (i == 3) c->workers = (int)x;
    }
    return CVL_OK;
}

void cvl_data_config_free(cvl_data_config *c) {
    for (int k = 0; k < c->n_csv_cols; k++) {
        for (int j = 0; c->csv_cols[k].categories != NULL && j < c->csv_cols[k].n_categories; j++)
            free(c->csv_cols[k].categories[j]);
        free(c->csv_cols[k].categories);
    }
    c->n_csv_cols = 0;
    cvl_data_config_free_names(c);
}

void cvl_data_config_free_names(cvl_data_config *c) {
    for (int i = 0; c->class_names != NULL && i < c->classes; i++) free(c->class_names[i]);
    free(c->class_names);
    c->class_names = NULL;
}
