/* Views over another dataset: index subsets (the splits) and derived
 * targets (extra targets computed from the class label). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

int64_t cvl_data_decl_floats(const cvl_data_decl *d) {
    if (d->kind == CVL_DATA_IMAGE) return d->c * d->h * d->w;
    return d->kind == CVL_DATA_CLASS ? 0 : d->f;
}

int cvl_data_first_image(const cvl_data_decl *inputs, int n) {
    for (int i = 0; i < n; i++)
        if (inputs[i].kind == CVL_DATA_IMAGE) return i;
    return -1;
}

int cvl_data_first_class(const cvl_data_decl *targets, int n) {
    for (int t = 0; t < n; t++)
        if (targets[t].kind == CVL_DATA_CLASS) return t;
    return -1;
}

const char *cvl_data_kind_name(cvl_data_kind k) {
    static const char *const names[] = {"image", "numerical", "class", "boolean", "categorical", "multilabel"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

/* ---- subsets ---- */

typedef struct subset_ds {
    const cvl_dataset *base;
    int64_t *idx, n;
} subset_ds;

static int64_t subset_size(const cvl_dataset *ds) { return ((const subset_ds *)ds->impl)->n; }

static cvl_status subset_get(cvl_sample *smp, const cvl_dataset *ds, int64_t i, cvl_err *e) {
    const subset_ds *s = ds->impl;
    return s->base->vt->get_sample(smp, s->base, s->idx[i], e);
}

static void subset_free(cvl_dataset *ds) {
    subset_ds *s = ds->impl;
    free(s->idx);
    free(s);
    free(ds);
}

static const cvl_dataset_vt subset_vt = {subset_size, subset_get, subset_free};

cvl_status cvl_dataset_subset(cvl_dataset **out, const cvl_dataset *base, const int64_t *idx, int64_t n, cvl_err *e) {
    cvl_dataset *ds = malloc(sizeof *ds);
    subset_ds *s = calloc(1, sizeof *s);
    int64_t *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof *copy);
    if (ds == NULL || s == NULL || copy == NULL) {
        free(ds);
        free(s);
        free(copy);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", base->path);
    }
    *ds = *base;
    if (n > 0) memcpy(copy, idx, (size_t)n * sizeof *copy);
    *s = (subset_ds){base, copy, n};
    ds->vt = &subset_vt;
    ds->impl = s;
    *out = ds;
    return CVL_OK;
}

int64_t cvl_dataset_root_index(const cvl_dataset *ds, int64_t i) {
    while (ds->vt == &subset_vt) {
        const subset_ds *s = ds->impl;
        i = s->idx[i];
        ds = s->base;
    }
    return i;
}

void cvl_dataset_free(cvl_dataset *ds) {
    if (ds != NULL) ds->vt->free(ds);
}

/* ---- derived targets ---- */

typedef struct derive_ds {
    cvl_dataset *base;
    int n;
    cvl_derived_target spec[CVL_DATA_MAX_IO];
} derive_ds;

static int64_t derive_size(const cvl_dataset *ds) {
    const derive_ds *d = ds->impl;
    return d->base->vt->size(d->base);
}

/* The base fills its own targets (a label at 0); the view then looks the
 * label up in each map. The base's targets come first so indices agree. */
static cvl_status derive_get(cvl_sample *s, const cvl_dataset *ds, int64_t i, cvl_err *e) {
    const derive_ds *d = ds->impl;
    cvl_status st = d->base->vt->get_sample(s, d->base, i, e);
    if (st != CVL_OK) return st;
    int32_t lab = s->labels[0];
    int nb = d->base->n_targets;
    for (int k = 0; k < d->n; k++) {
        const cvl_derived_target *t = &d->spec[k];
        if (t->kind == CVL_DATA_CLASS) {
            s->labels[nb + k] = (int32_t)t->map[lab];  /* an index, checked in range at open */
        } else {
            const float *row = t->map + (int64_t)lab * t->f;
            memcpy(s->values[nb + k], row, (size_t)t->f * sizeof(float));
        }
    }
    return CVL_OK;
}

static void derive_free(cvl_dataset *ds) {
    derive_ds *d = ds->impl;
    cvl_dataset_free(d->base);
    free(d);
    free(ds);
}

static const cvl_dataset_vt derive_vt = {derive_size, derive_get, derive_free};

cvl_status cvl_dataset_derive(cvl_dataset **out, cvl_dataset *base, const cvl_derived_target *specs, int n,
                              cvl_err *e) {
    if (base->n_targets < 1 || base->targets[0].kind != CVL_DATA_CLASS)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: derived targets need a class label as target 0", base->path);
    for (int k = 0; k < n; k++)
        if (specs[k].n_labels != base->targets[0].classes)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: derived target '%s' maps %lld labels, the dataset has %lld classes",
                               base->path, specs[k].name, (long long)specs[k].n_labels, (long long)base->targets[0].classes);
    if (base->n_targets + n > CVL_DATA_MAX_IO)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %d derived targets: at most %d targets in all", base->path, n,
                           CVL_DATA_MAX_IO);
    cvl_dataset *ds = malloc(sizeof *ds);
    derive_ds *d = calloc(1, sizeof *d);
    if (ds == NULL || d == NULL) {
        free(ds);
        free(d);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", base->path);
    }
    *ds = *base;
    d->base = base;
    d->n = n;
    for (int k = 0; k < n; k++) {
        const cvl_derived_target *t = &specs[k];
        d->spec[k] = *t;
        cvl_data_decl decl = {.kind = t->kind, .f = t->kind == CVL_DATA_CLASS ? 0 : t->f, .classes = t->classes,
                              .categories = t->categories};
        snprintf(decl.name, sizeof decl.name, "%s", t->name);
        ds->targets[ds->n_targets++] = decl;
    }
    ds->vt = &derive_vt;
    ds->impl = d;
    *out = ds;
    return CVL_OK;
}
