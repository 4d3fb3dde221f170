#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/config_internal.h"
#include "util/strutil.h"

#define DEFAULT_IDX_ROOT "/usr/share/datasets/fashion-mnist"

static const char *const fashion_names[] = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                            "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};

cvl_status cvl_dcfg_unknown_key(const char *path, const char *where, const char *key, const char *const *known,
                                size_t n, cvl_err *e) {
    const char *near = cvl_closest(key, known, n);
    if (near != NULL)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: unknown key (did you mean '%s'?)", path, where, key, near);
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.%s: unknown key", path, where, key);
}

const char *cvl_dcfg_suggest(char *buf, size_t len, const char *s, const char *const *known, size_t n) {
    const char *near = cvl_closest(s, known, n);
    if (near == NULL) return "";
    snprintf(buf, len, " (did you mean '%s'?)", near);
    return buf;
}

cvl_status cvl_dcfg_num(double *out, const json_t *v, const char *path, const char *where, const char *key, cvl_err *e) {
    if (!json_is_number(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s%s%s: expected a number", path, where, *where ? "." : "", key);
    *out = json_number_value(v);
    return CVL_OK;
}

cvl_status cvl_dcfg_int(int64_t *out, const json_t *v, const char *path, const char *where, const char *key, cvl_err *e) {
    if (!json_is_integer(v))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s%s%s: expected an integer", path, where, *where ? "." : "", key);
    *out = json_integer_value(v);
    return CVL_OK;
}

/* [C,H,W] of positive integers. */
static cvl_status parse_shape(int64_t *out, const json_t *v, const char *path, const char *key, cvl_err *e) {
    if (!json_is_array(v) || json_array_size(v) != 3)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected [C,H,W]", path, key);
    for (size_t i = 0; i < 3; i++)
        if (!json_is_integer(json_array_get(v, i)) || (out[i] = json_integer_value(json_array_get(v, i))) < 1 ||
            out[i] > 65536)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%zu]: expected a positive integer", path, key, i);
    return CVL_OK;
}

static cvl_status get_string(char *out, size_t len, const json_t *v, const char *path, const char *key, cvl_err *e) {
    if (!json_is_string(v)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.%s: expected a string", path, key);
    if (strlen(json_string_value(v)) >= len || json_string_value(v)[0] == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.%s: empty or longer than %zu bytes", path, key, len - 1);
    snprintf(out, len, "%s", json_string_value(v));
    return CVL_OK;
}

/* Which format may carry which key, checked once all keys are read. */
static cvl_status check_format_keys(const cvl_data_config *c, const json_t *ds, const char *path, cvl_err *e) {
    int is_csv = strcmp(c->format, "csv") == 0, is_folder = strcmp(c->format, "folder") == 0;
    if (is_csv != (c->csv_file[0] != 0) || is_csv != (c->n_csv_cols != 0))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset: 'file' and 'columns' %s", path,
                           is_csv ? "are required for the csv format" : "belong to the csv format only");
    if (c->test_file[0] && !is_csv)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.test_file: only for the csv format (folder: test_root)", path);
    if (c->test_root[0] && !is_folder)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.test_root: only for the folder format%s", path,
                           is_csv ? " (csv: test_file)" : "");
    if (c->decode_shape[0] && !is_csv && !is_folder)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.decode_shape: only for the folder and csv formats (%s images have their own shape)",
                           path, c->format);
    if (json_object_get(ds, "targets") != NULL && is_csv)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.targets: not for the csv format (map target columns instead)", path);
    return CVL_OK;
}

static cvl_status parse_dataset(cvl_data_config *c, const json_t *ds, const char *path, cvl_err *e) {
    static const char *const known[] = {"format", "root", "classes", "class_names", "file", "columns",
                                        "targets", "test_root", "test_file", "decode_shape"};
    if (!json_is_object(ds)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset: expected an object", path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ds, key, v) {
        cvl_status st = CVL_OK;
        if (strcmp(key, "format") == 0) {
            st = get_string(c->format, sizeof c->format, v, path, key, e);
        } else if (strcmp(key, "root") == 0) {
            st = get_string(c->root, sizeof c->root, v, path, key, e);
        } else if (strcmp(key, "classes") == 0) {
            int64_t n = 0;
            if (cvl_dcfg_int(&n, v, path, "dataset", key, e) != CVL_OK) return CVL_ERR_INVALID;
            if (n < 1 || n > CVL_DATA_MAX_CLASSES)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.classes: %lld not in [1,%d]", path, (long long)n,
                                   CVL_DATA_MAX_CLASSES);
            c->classes = (int)n;
        } else if (strcmp(key, "file") == 0) {
            st = get_string(c->csv_file, sizeof c->csv_file, v, path, key, e);
        } else if (strcmp(key, "test_file") == 0) {
            st = get_string(c->test_file, sizeof c->test_file, v, path, key, e);
        } else if (strcmp(key, "test_root") == 0) {
            st = get_string(c->test_root, sizeof c->test_root, v, path, key, e);
        } else if (strcmp(key, "columns") == 0) {
            st = cvl_dcfg_columns(c, v, path, e);
        } else if (strcmp(key, "targets") == 0) {
            st = cvl_dcfg_targets(c, v, path, e);
        } else if (strcmp(key, "decode_shape") == 0) {
            st = parse_shape(c->decode_shape, v, path, "dataset.decode_shape", e);
        } else if (strcmp(key, "class_names") != 0) {
            return cvl_dcfg_unknown_key(path, "dataset", key, known, sizeof known / sizeof *known, e);
        }
        if (st != CVL_OK) return st;
    }
    static const char *const formats[] = {"idx", "cifar", "folder", "csv"};
    int is_csv = strcmp(c->format, "csv") == 0;
    if (c->format[0] == 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.format: missing (idx, cifar, folder or csv)", path);
    if (strcmp(c->format, "idx") != 0 && strcmp(c->format, "cifar") != 0 && strcmp(c->format, "folder") != 0 && !is_csv) {
        char hint[96];
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.format: '%s' is not one of idx, cifar, folder, csv%s", path,
                           c->format, cvl_dcfg_suggest(hint, sizeof hint, c->format, formats, 4));
    }
    if (check_format_keys(c, ds, path, e) != CVL_OK) return CVL_ERR_INVALID;
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
    if ((v = json_object_get(config, "input_shape")) != NULL &&
        parse_shape(c->shape, v, path, "input_shape", e) != CVL_OK)
        return CVL_ERR_INVALID;
    if ((v = json_object_get(config, "transforms")) != NULL) {
        if (!json_is_array(v) || json_array_size(v) > CVL_DATA_MAX_TF)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: transforms: expected an array of at most %d steps", path, CVL_DATA_MAX_TF);
        for (size_t i = 0; i < json_array_size(v); i++)
            if (cvl_dcfg_transform(&c->tf[c->n_tf++], json_array_get(v, i), (int)i, path, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    const char *fracs[] = {"val_split", "test_split"};
    for (int i = 0; i < 2; i++) {
        if ((v = json_object_get(config, fracs[i])) == NULL) continue;
        double *x = i == 0 ? &c->val_split : &c->test_split;
        if (cvl_dcfg_num(x, v, path, "", fracs[i], e) != CVL_OK) return CVL_ERR_INVALID;
        if (*x < 0 || *x >= 1) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %g is not in [0,1)", path, fracs[i], *x);
    }
    if (c->val_split + c->test_split >= 1)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: test_split: %g + val_split %g leaves no training data", path,
                           c->test_split, c->val_split);
    if (c->test_split > 0 && (strcmp(c->format, "idx") == 0 || strcmp(c->format, "cifar") == 0 || c->test_root[0] ||
                              c->test_file[0]))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: test_split: the dataset has its own test split (%s)", path,
                           c->test_root[0] ? "dataset.test_root" : c->test_file[0] ? "dataset.test_file"
                           : strcmp(c->format, "idx") == 0 ? "the t10k files" : "the test batch");
    int64_t x = 0;
    const char *ints[] = {"seed", "train_batch_size", "val_batch_size", "workers"};
    for (int i = 0; i < 4; i++) {
        if ((v = json_object_get(config, ints[i])) == NULL) continue;
        if (cvl_dcfg_int(&x, v, path, "", ints[i], e) != CVL_OK) return CVL_ERR_INVALID;
        if (x < (i == 0 || i == 3 ? 0 : 1) || (i == 3 && x > 64))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %lld is out of range", path, ints[i], (long long)x);
        if (i == 0) c->seed = (uint64_t)x;
        if (i == 1) c->train_batch = x;
        if (i == 2) c->val_batch = x;
        if (i == 3) c->workers = (int)x;
    }
    return CVL_OK;
}

cvl_loader_opts cvl_data_loader_opts(const cvl_data_config *c, int training) {
    return (cvl_loader_opts){.batch = training ? c->train_batch : c->val_batch, .shuffle = training,
                             .training = training, .workers = c->workers, .seed = c->seed, .tf = c->tf, .n_tf = c->n_tf};
}

void cvl_data_config_free(cvl_data_config *c) {
    cvl_dcfg_free_targets(c);
    cvl_data_config_free_names(c);
}
void cvl_data_config_free_names(cvl_data_config *c) {
    for (int i = 0; c->class_names != NULL && i < c->classes; i++) free(c->class_names[i]);
    free(c->class_names);
    c->class_names = NULL;
}
