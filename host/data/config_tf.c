/* The "transforms" list of a config: one object per step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/config_internal.h"
#include "util/strutil.h"

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
    {"pad", CVL_TF_PAD, {"pad"}},
    {"resize", CVL_TF_RESIZE, {"size"}},
    {"center_crop", CVL_TF_CENTER_CROP, {"size"}},
};
#define N_SPECS (sizeof tf_specs / sizeof tf_specs[0])
#define MAX_SIDE 4096

static cvl_status parse_channels(float *out, int *count, const json_t *v, const char *path, const char *where,
                                 cvl_err *e) {
    *count = json_is_array(v) ? (int)json_array_size(v) : 1;
    if (json_is_number(v)) {
        for (int k = 0; k < CVL_TF_MAX_CH; k++) out[k] = (float)json_number_value(v);
        return CVL_OK;
    }
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > CVL_TF_MAX_CH)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected a number or 1..%d numbers", path, where, CVL_TF_MAX_CH);
    for (size_t k = 0; k < CVL_TF_MAX_CH; k++) {
        size_t at = k < n ? k : n - 1; /* the last value repeats for the remaining channels */
        json_t *x = json_array_get(v, at);
        if (!json_is_number(x)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%zu]: expected a number", path, where, at);
        out[k] = (float)json_number_value(x);
    }
    return CVL_OK;
}

/* n integers in [lo, hi] from an integer (repeated n times, when `scalar`)
 * or a list of exactly n. */
static cvl_status parse_ints(int64_t *out, int n, int scalar, int64_t lo, int64_t hi, const json_t *v, const char *path,
                             const char *where, const char *what, cvl_err *e) {
    if (scalar && json_is_integer(v)) {
        for (int k = 0; k < n; k++) out[k] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == (size_t)n) {
        for (int k = 0; k < n; k++) {
            json_t *x = json_array_get(v, (size_t)k);
            if (!json_is_integer(x)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%d]: expected an integer", path, where, k);
            out[k] = json_integer_value(x);
        }
    } else {
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: expected %s", path, where, what);
    }
    for (int k = 0; k < n; k++)
        if (out[k] < lo || out[k] > hi)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: %lld is not in [%lld,%lld]", path, where, (long long)out[k],
                               (long long)lo, (long long)hi);
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
    if (strcmp(key, "mean") == 0) {
        t->mean_auto = 0;
        return parse_channels(t->mean, &t->n_mean, v, path, at, e);
    }
    if (strcmp(key, "std") == 0) {
        cvl_status st = parse_channels(t->std, &t->n_std, v, path, at, e);
        for (int k = 0; st == CVL_OK && k < CVL_TF_MAX_CH; k++)
            if (!(t->std[k] > 0)) st = cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: must be positive", path, at);
        return st;
    }
    if (t->kind == CVL_TF_PAD) { /* "pad": n or [top, bottom, left, right] */
        int64_t p[4];
        cvl_status st = parse_ints(p, 4, 1, 0, MAX_SIDE, v, path, at, "an integer or [top, bottom, left, right]", e);
        for (int k = 0; st == CVL_OK && k < 4; k++) t->pads[k] = (int)p[k];
        return st;
    }
    if (t->kind == CVL_TF_RESIZE || t->kind == CVL_TF_CENTER_CROP) /* "size": [H, W] */
        return parse_ints(t->size, 2, 0, 1, MAX_SIDE, v, path, at, "[H, W]", e);
    if (cvl_dcfg_num(&x, v, path, where, key, e) != CVL_OK) return CVL_ERR_INVALID;
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

cvl_status cvl_dcfg_transform(cvl_transform *t, const json_t *o, int i, const char *path, cvl_err *e) {
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
        char hint[96];
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.name: unknown transform '%s'%s", path, where, name,
                           cvl_dcfg_suggest(hint, sizeof hint, name, names, N_SPECS));
    }
    *t = (cvl_transform){.kind = sp->kind, .p = 1, .std = {1, 1, 1, 1}, .pad = 4, .max_frac = 0.1f, .degrees = 15,
                         .scale_lo = 0.9f, .scale_hi = 1.1f, .brightness = 0.2f, .contrast = 0.2f};
    if (sp->kind == CVL_TF_CUTOUT) t->max_frac = 0.25f;
    if (sp->kind == CVL_TF_NORMALIZE) t->mean_auto = 1;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "name") == 0) continue;
        if (strcmp(key, "p") == 0) {
            double p = 0;
            if (cvl_dcfg_num(&p, v, path, where, key, e) != CVL_OK) return CVL_ERR_INVALID;
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
        if (!ok) return cvl_dcfg_unknown_key(path, where, key, known, nk, e);
        if (parse_tf_key(t, key, v, path, where, e) != CVL_OK) return CVL_ERR_INVALID;
    }
    /* a shape that changed with a coin would give a batch of mixed shapes */
    if (cvl_transform_changes_shape(t) && t->p != 1.0f)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.p: %s changes the image shape, so it must apply always (p 1)",
                           path, where, sp->name);
    if ((t->kind == CVL_TF_RESIZE || t->kind == CVL_TF_CENTER_CROP) && t->size[0] == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.size: required ([H, W])", path, where);
    if (t->kind == CVL_TF_PAD && json_object_get(o, "pad") == NULL)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s.pad: required (an integer or [top, bottom, left, right])", path, where);
    if (t->kind == CVL_TF_SCALE && t->scale_lo > t->scale_hi)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s: min %g > max %g", path, where, t->scale_lo, t->scale_hi);
    return CVL_OK;
}
