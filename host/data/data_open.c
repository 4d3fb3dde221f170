/* Opening a config's splits: the datasets, their test splits, derived
 * targets, the validation (and test) hold-out, and the shape rule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_config.h"
#include "util/strutil.h"

static cvl_status check_dir(const char *dir, const char *cfg, const char *key, cvl_err *e) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cvl_err_set(e, CVL_ERR_IO, "%s: %s: %s: no such directory", cfg, key, dir);
    return CVL_OK;
}

static void fmt_shape(char *buf, size_t len, const int64_t *s) {
    snprintf(buf, len, "[%lld,%lld,%lld]", (long long)s[0], (long long)s[1], (long long)s[2]);
}

/* The shape folder and csv images are decoded to. dataset.decode_shape when
 * given; otherwise input_shape (the model's input) read back through the
 * transforms, which is unique only when no step changes the shape, when the
 * first that does is a resize (decode straight to its size), or when all
 * that do are pads (subtract them). */
static cvl_status decode_shape(int64_t out[3], const cvl_data_config *c, cvl_err *e) {
    if (c->decode_shape[0] != 0) {
        memcpy(out, c->decode_shape, 3 * sizeof *out);
        return CVL_OK;
    }
    if (c->shape[0] == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape: required for %s (or dataset.decode_shape)", c->path,
                           strcmp(c->format, "csv") == 0 ? "an image column" : "the folder format");
    int first = -1, only_pads = 1;
    int64_t dh = 0, dw = 0;
    for (int k = 0; k < c->n_tf; k++) {
        const cvl_transform *t = &c->tf[k];
        if (!cvl_transform_changes_shape(t)) continue;
        if (first < 0) first = k;
        if (t->kind != CVL_TF_PAD) only_pads = 0;
        else dh += t->pads[0] + t->pads[1], dw += t->pads[2] + t->pads[3];
    }
    memcpy(out, c->shape, 3 * sizeof *out);
    if (first < 0) return CVL_OK;
    if (c->tf[first].kind == CVL_TF_RESIZE) {
        out[1] = c->tf[first].size[0], out[2] = c->tf[first].size[1];
        return CVL_OK;
    }
    if (only_pads && c->shape[1] > dh && c->shape[2] > dw) {
        out[1] -= dh, out[2] -= dw;
        return CVL_OK;
    }
    return cvl_err_set(e, CVL_ERR_INVALID,
                       "%s: dataset.decode_shape: required here: transforms[%d] (%s) changes the shape before any resize, so input_shape does not say what size to decode images to",
                       c->path, first, cvl_transform_name(c->tf[first].kind));
}

static cvl_status open_cifar(cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    char paths[6][600];
    const char *p[6];
    for (int i = 0; i < 6; i++) p[i] = paths[i];
    snprintf(paths[0], sizeof paths[0], "%s/train.bin", c->root);
    int c100 = access(paths[0], R_OK) == 0; /* cifar-100-binary layout */
    int lb = c100 ? 2 : 1;
    int classes = c->classes == 10 && c100 ? 100 : c->classes;
    if (c100) {
        snprintf(paths[1], sizeof paths[1], "%s/test.bin", c->root);
        cvl_status st = cvl_dataset_cifar_open(&d->full, p, 1, lb, classes, e);
        return st != CVL_OK ? st : cvl_dataset_cifar_open(&d->test, p + 1, 1, lb, classes, e);
    }
    for (int i = 0; i < 5; i++) snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", c->root, i + 1);
    snprintf(paths[5], sizeof paths[5], "%s/test_batch.bin", c->root);
    cvl_status st = cvl_dataset_cifar_open(&d->full, p, 5, lb, classes, e);
    return st != CVL_OK ? st : cvl_dataset_cifar_open(&d->test, p + 5, 1, lb, classes, e);
}

/* Classes are the sub-directories of root; test_root uses the same. */
static cvl_status open_folder(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    int64_t s[3];
    cvl_status st = decode_shape(s, c, e);
    if (st == CVL_OK) st = cvl_dataset_folder_open(&d->full, c->root, s[0], s[1], s[2], e);
    if (st == CVL_OK && c->test_root[0]) st = check_dir(c->test_root, c->path, "dataset.test_root", e);
    if (st == CVL_OK && c->test_root[0]) st = cvl_dataset_folder_open_like(&d->test, c->test_root, d->full, e);
    if (st != CVL_OK) return st;
    int n = (int)d->full->targets[0].classes;
    if (c->classes != 0 && c->classes != n)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.classes is %d but %s has %d class folders", c->path,
                           c->classes, c->root, n);
    c->classes = n;
    if (c->class_names == NULL) {
        c->class_names = calloc((size_t)n, sizeof *c->class_names);
        for (int k = 0; c->class_names != NULL && k < n; k++)
            c->class_names[k] = cvl_strdup(cvl_dataset_folder_class(d->full, k));
        if (c->class_names == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", c->path);
    }
    return CVL_OK;
}

/* Class names come from the first class target. */
static cvl_status open_csv(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    int has_image = 0;
    for (int k = 0; k < c->n_csv_cols; k++) has_image |= c->csv_cols[k].kind == CVL_CSV_IMAGE;
    int64_t s[3] = {0, 0, 0};
    cvl_status st = has_image ? decode_shape(s, c, e) : CVL_OK;
    if (st == CVL_OK) st = cvl_dataset_csv_open(&d->full, c->root, c->csv_file, c->csv_cols, c->n_csv_cols, s, e);
    if (st == CVL_OK && c->test_file[0])
        st = cvl_dataset_csv_open(&d->test, c->root, c->test_file, c->csv_cols, c->n_csv_cols, s, e);
    for (int k = 0; st == CVL_OK && k < c->n_csv_cols; k++) {
        const cvl_csv_column *col = &c->csv_cols[k];
        if (col->kind != CVL_CSV_TARGET) continue;
        cvl_data_config_free_names(c);
        c->classes = col->n_categories;
        c->class_names = calloc((size_t)c->classes, sizeof *c->class_names);
        for (int j = 0; c->class_names != NULL && j < c->classes; j++) c->class_names[j] = cvl_strdup(col->categories[j]);
        if (c->class_names == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", c->path);
        break;
    }
    return st;
}

/* The image datasets' label gets the config's class names, then the
 * derived targets are stacked on full and test alike. */
static cvl_status add_targets(cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    cvl_dataset *sets[2] = {d->full, d->test};
    for (int s = 0; s < 2; s++)
        if (sets[s] != NULL && c->class_names != NULL) sets[s]->targets[0].categories = c->class_names;
    if (c->n_derived == 0) return CVL_OK;
    int64_t classes = d->full->targets[0].classes;
    for (int k = 0; k < c->n_derived; k++)
        if (c->derived[k].n_labels != classes)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.targets[%d].from_label: %lld entries for %lld classes",
                               c->path, k, (long long)c->derived[k].n_labels, (long long)classes);
    cvl_status st = cvl_dataset_derive(&d->full, d->full, c->derived, c->n_derived, e);
    if (st == CVL_OK && d->test != NULL) st = cvl_dataset_derive(&d->test, d->test, c->derived, c->n_derived, e);
    return st;
}

/* The held-out indices come from a (seed, epoch UINT64_MAX) permutation:
 * the first val_split of it is validation, the next test_split the test
 * split (when the dataset has none of its own), the rest training. The same
 * seed always holds out the same samples, and adding test_split leaves the
 * validation split as it was. */
static cvl_status split(cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    int64_t n = d->full->vt->size(d->full);
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *perm);
    if (perm == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", d->full->path);
    cvl_data_shuffle(perm, n, c->seed, UINT64_MAX);
    int64_t nv = (int64_t)floor(c->val_split * (double)n), nt = (int64_t)floor(c->test_split * (double)n);
    cvl_status st = cvl_dataset_subset(&d->val, d->full, perm, nv, e);
    if (st == CVL_OK && c->test_split > 0) st = cvl_dataset_subset(&d->test, d->full, perm + nv, nt, e);
    else nt = 0;
    if (st == CVL_OK) st = cvl_dataset_subset(&d->train, d->full, perm + nv + nt, n - nv - nt, e);
    free(perm);
    return st;
}

/* input_shape is the model's input: the dataset's image shape after the
 * transforms. */
static cvl_status check_shape(cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    int ii = cvl_data_first_image(d->full->inputs, d->full->n_inputs);
    const cvl_data_decl *in = &d->full->inputs[ii >= 0 ? ii : 0];
    if (ii < 0) {
        if (c->shape[0] != 0)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape: %s has no image input", c->path, d->full->path);
        return CVL_OK;
    }
    int64_t dec[3] = {in->c, in->h, in->w}, out[3];
    if (cvl_transform_shape(out, NULL, c->tf, c->n_tf, dec, e) != CVL_OK)
        return cvl_err_prefix(e, "%s: ", c->path);
    /* normalize: one value for every channel, or one per channel (no step changes C) */
    for (int k = 0; k < c->n_tf; k++) {
        const cvl_transform *t = &c->tf[k];
        if (t->kind != CVL_TF_NORMALIZE) continue;
        const char *bad = t->n_mean > 1 && t->n_mean != dec[0] ? "mean" : t->n_std > 1 && t->n_std != dec[0] ? "std" : NULL;
        if (bad)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: transforms[%d].%s: %d values for %lld channels (give 1 or %lld)",
                               c->path, k, bad, strcmp(bad, "mean") == 0 ? t->n_mean : t->n_std, (long long)dec[0],
                               (long long)dec[0]);
    }
    memcpy(d->decode_shape, dec, sizeof dec);
    memcpy(d->input_shape, out, sizeof out);
    if (c->shape[0] == 0 || memcmp(c->shape, out, sizeof out) == 0) return CVL_OK;
    char want[64], got[64], raw[64];
    fmt_shape(want, sizeof want, c->shape), fmt_shape(got, sizeof got, out), fmt_shape(raw, sizeof raw, dec);
    if (memcmp(dec, out, sizeof out) == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape %s disagrees with %s, which is %s", c->path, want,
                           d->full->path, got);
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape %s disagrees with the shape after the transforms, %s (%s gives %s)",
                       c->path, want, got, d->full->path, raw);
}

static cvl_status auto_normalize(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    const cvl_data_decl *in = &d->full->inputs[0];
    int ii = cvl_data_first_image(d->full->inputs, d->full->n_inputs);
    if (ii >= 0) in = &d->full->inputs[ii];
    for (int k = 0; k < c->n_tf; k++) {
        if (c->tf[k].kind != CVL_TF_NORMALIZE || !c->tf[k].mean_auto) continue;
        double mean[CVL_TF_MAX_CH], sd[CVL_TF_MAX_CH];
        cvl_status st = cvl_data_stats(mean, sd, NULL, d->train, e);
        if (st != CVL_OK) return st;
        for (int ch = 0; ch < CVL_TF_MAX_CH; ch++) {
            int s = ch < in->c ? ch : 0;
            c->tf[k].mean[ch] = (float)mean[s];
            c->tf[k].std[ch] = sd[s] > 1e-6 ? (float)sd[s] : 1.0f;
        }
        c->tf[k].mean_auto = 0;
    }
    return CVL_OK;
}

cvl_status cvl_data_open(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    memset(d, 0, sizeof *d);
    cvl_status st = check_dir(c->root, c->path, "dataset.root", e);
    if (st == CVL_OK && strcmp(c->format, "idx") == 0) {
        st = cvl_dataset_idx_open(&d->full, c->root, "train", c->classes, e);
        if (st == CVL_OK) st = cvl_dataset_idx_open(&d->test, c->root, "t10k", c->classes, e);
    } else if (st == CVL_OK && strcmp(c->format, "csv") == 0) {
        st = open_csv(d, c, e);
    } else if (st == CVL_OK && strcmp(c->format, "folder") == 0) {
        st = open_folder(d, c, e);
    } else if (st == CVL_OK) {
        st = open_cifar(d, c, e);
    }
    if (st == CVL_OK && strcmp(c->format, "csv") != 0) st = add_targets(d, c, e);
    if (st == CVL_OK) st = split(d, c, e);
    if (st == CVL_OK) st = check_shape(d, c, e);
    if (st == CVL_OK) st = auto_normalize(d, c, e);
    if (st != CVL_OK) {
        cvl_data_close(d);
        return st;
    }
    d->eval = d->test != NULL ? d->test : d->val;
    d->eval_split = d->test != NULL ? "test" : "val";
    return CVL_OK;
}

void cvl_data_close(cvl_data *d) {
    cvl_dataset_free(d->train);
    cvl_dataset_free(d->val);
    cvl_dataset_free(d->test);
    cvl_dataset_free(d->full);
    memset(d, 0, sizeof *d);
}
