/* Opening a config's splits, dataset statistics, the augmented-sample grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "data/data_config.h"
#include "util/strutil.h"

static cvl_status check_root(const char *root, const char *cfg, cvl_err *e) {
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return cvl_err_set(e, CVL_ERR_IO, "%s: dataset.root: %s: no such directory", cfg, root);
    return CVL_OK;
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

/* A folder has no test split; its classes are its sub-directories. */
static cvl_status open_folder(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    if (c->shape[0] == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape: required for the folder format", c->path);
    cvl_status st = cvl_dataset_folder_open(&d->full, c->root, c->shape[0], c->shape[1], c->shape[2], e);
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
    }
    return CVL_OK;
}

/* A manifest has no test split; class names come from the first target. */
static cvl_status open_csv(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    int has_image = 0;
    for (int k = 0; k < c->n_csv_cols; k++) has_image |= c->csv_cols[k].kind == CVL_CSV_IMAGE;
    if (has_image && c->shape[0] == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape: required for an image column", c->path);
    cvl_status st = cvl_dataset_csv_open(&d->full, c->root, c->csv_file, c->csv_cols, c->n_csv_cols, c->shape, e);
    if (st != CVL_OK || d->full->n_targets == 0) return st;
    for (int k = 0; k < c->n_csv_cols; k++) {
        const cvl_csv_column *col = &c->csv_cols[k];
        if (col->kind != CVL_CSV_TARGET) continue;
        cvl_data_config_free_names(c);
        c->classes = col->n_categories;
        c->class_names = calloc((size_t)c->classes, sizeof *c->class_names);
        for (int j = 0; c->class_names != NULL && j < c->classes; j++) c->class_names[j] = cvl_strdup(col->categories[j]);
        break;
    }
    return CVL_OK;
}

/* The held-out validation indices are the first val_split of a (seed, epoch
 * UINT64_MAX) permutation: the same for every run with the same seed. */
static cvl_status split(cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    int64_t n = d->full->vt->size(d->full);
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *perm);
    if (perm == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", d->full->path);
    cvl_data_shuffle(perm, n, c->seed, UINT64_MAX);
    int64_t nv = (int64_t)floor(c->val_split * (double)n);
    cvl_status st = cvl_dataset_subset(&d->val, d->full, perm, nv, e);
    if (st == CVL_OK) st = cvl_dataset_subset(&d->train, d->full, perm + nv, n - nv, e);
    free(perm);
    return st;
}

cvl_status cvl_data_open(cvl_data *d, cvl_data_config *c, cvl_err *e) {
    memset(d, 0, sizeof *d);
    cvl_status st = check_root(c->root, c->path, e);
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
    if (st == CVL_OK) st = split(d, c, e);
    const cvl_data_decl *in = st == CVL_OK ? &d->full->inputs[0] : NULL;
    if (st == CVL_OK && c->shape[0] != 0 && (c->shape[0] != in->c || c->shape[1] != in->h || c->shape[2] != in->w))
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape [%lld,%lld,%lld] disagrees with %s, which is [%lld,%lld,%lld]",
                         c->path, (long long)c->shape[0], (long long)c->shape[1], (long long)c->shape[2],
                         d->full->path, (long long)in->c, (long long)in->h, (long long)in->w);
    for (int k = 0; st == CVL_OK && k < c->n_tf; k++) {
        if (c->tf[k].kind != CVL_TF_NORMALIZE || !c->tf[k].mean_auto) continue;
        double mean[CVL_TF_MAX_CH], sd[CVL_TF_MAX_CH];
        st = cvl_data_stats(mean, sd, NULL, d->train, e);
        for (int ch = 0; st == CVL_OK && ch < CVL_TF_MAX_CH; ch++) {
            int s = ch < in->c ? ch : 0;
            c->tf[k].mean[ch] = (float)mean[s];
            c->tf[k].std[ch] = sd[s] > 1e-6 ? (float)sd[s] : 1.0f;
        }
        c->tf[k].mean_auto = 0;
    }
    if (st != CVL_OK) cvl_data_close(d);
    return st;
}

void cvl_data_close(cvl_data *d) {
    cvl_dataset_free(d->train);
    cvl_dataset_free(d->val);
    cvl_dataset_free(d->test);
    cvl_dataset_free(d->full);
    memset(d, 0, sizeof *d);
}

cvl_status cvl_data_stats(double *mean, double *std, int64_t *counts, const cvl_dataset *ds, cvl_err *e) {
    const cvl_data_decl *in = &ds->inputs[0];
    int image = in->kind == CVL_DATA_IMAGE; /* else only the class counts */
    int64_t m = image ? in->h * in->w : 0, n = ds->vt->size(ds);
    float *buf[CVL_DATA_MAX_IO] = {0};
    for (int i = 0; i < ds->n_inputs; i++) {
        const cvl_data_decl *d = &ds->inputs[i];
        buf[i] = malloc((size_t)(d->kind == CVL_DATA_IMAGE ? d->c * d->h * d->w : d->f) * sizeof(float));
    }
    double s[CVL_TF_MAX_CH] = {0}, s2[CVL_TF_MAX_CH] = {0};
    int64_t nc = !image ? 0 : in->c < CVL_TF_MAX_CH ? in->c : CVL_TF_MAX_CH;
    cvl_status st = CVL_OK;
    for (int i = 0; i < ds->n_inputs; i++)
        if (buf[i] == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", ds->path);
    if (ds->n_targets == 0) counts = NULL;
    if (counts != NULL) memset(counts, 0, (size_t)ds->targets[0].classes * sizeof *counts);
    for (int64_t i = 0; st == CVL_OK && i < n; i++) {
        int32_t lab[CVL_DATA_MAX_IO];
        st = ds->vt->get_sample(buf, lab, ds, i, e);
        if (st == CVL_OK && counts != NULL) counts[lab[0]]++;
        for (int64_t ch = 0; st == CVL_OK && ch < nc; ch++) {
            double a = 0, a2 = 0; /* per sample, then summed: keeps double rounding small */
            for (int64_t k = 0; k < m; k++) {
                double v = buf[0][ch * m + k];
                a += v;
                a2 += v * v;
            }
            s[ch] += a;
            s2[ch] += a2;
        }
    }
    for (int i = 0; i < ds->n_inputs; i++) free(buf[i]);
    double cnt = (double)n * (double)m;
    for (int64_t ch = 0; ch < CVL_TF_MAX_CH; ch++) {
        mean[ch] = ch < nc && cnt > 0 ? s[ch] / cnt : 0;
        std[ch] = ch < nc && cnt > 0 ? sqrt(fmax(0, s2[ch] / cnt - mean[ch] * mean[ch])) : 0;
    }
    return st;
}
