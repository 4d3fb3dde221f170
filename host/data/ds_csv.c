#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/ds_csv.h"
#include "util/strutil.h"

/* One pass: unquote in place into `text` and record each field's start.
 * Line numbers (1-based, counting the header) go in messages. */
cvl_status cvl_csv_parse_mem(cvl_csv_table *t, const char *buf, size_t len, const char *path, cvl_err *e) {
    memset(t, 0, sizeof *t);
    if (len == 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: empty file", path);
    t->text = malloc(len + 1);
    size_t cap = 64;
    t->cells = malloc(cap * sizeof *t->cells);
    if (t->text == NULL || t->cells == NULL) {
        cvl_csv_table_free(t);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t i = 0, o = 0, n = 0;
    int64_t line = 1, in_row = 0;
    for (;;) {
        if (i == len && in_row == 0) break;
        if (n == cap) {
            char **g = realloc(t->cells, cap * 2 * sizeof *g);
            if (g == NULL) {
                cvl_csv_table_free(t);
                return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
            }
            t->cells = g, cap *= 2;
        }
        t->cells[n++] = t->text + o;
        in_row++;
        if (i < len && buf[i] == '"') {
            for (i++;; i++) {
                if (i >= len) {
                    cvl_csv_table_free(t);
                    return cvl_err_set(e, CVL_ERR_INVALID, "%s:%lld: unterminated quoted field", path, (long long)line);
                }
                if (buf[i] == '"' && i + 1 < len && buf[i + 1] == '"') t->text[o++] = '"', i++;
                else if (buf[i] == '"') break;
                else t->text[o++] = buf[i];
            }
            i++;
            if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
                cvl_csv_table_free(t);
                return cvl_err_set(e, CVL_ERR_INVALID, "%s:%lld: text after a closing quote", path, (long long)line);
            }
        }
        while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') t->text[o++] = buf[i++];
        t->text[o++] = 0;
        if (i < len && buf[i] == ',') {
            i++;
            continue; /* another field follows, possibly empty at the end */
        }
        if (i < len && buf[i] == '\r') i++;
        if (i < len && buf[i] == '\n') i++;
        if (line == 1) t->cols = in_row;
        else if (in_row != t->cols) {
            long long cols = (long long)t->cols;
            cvl_csv_table_free(t);
            return cvl_err_set(e, CVL_ERR_INVALID, "%s:%lld: %lld fields, the header has %lld", path, (long long)line,
                               (long long)in_row, cols);
        }
        line++, in_row = 0;
    }
    t->rows = t->cols > 0 ? (int64_t)n / t->cols : 0;
    return CVL_OK;
}

void cvl_csv_table_free(cvl_csv_table *t) {
    free(t->cells);
    free(t->text);
    memset(t, 0, sizeof *t);
}

/* ---- the dataset: every value checked and converted at open ---- */

const char *cvl_csv_kind_name(cvl_csv_kind k) {
    static const char *const names[CVL_CSV_KINDS] = {"image",  "numerical",  "boolean",          "categorical",
                                                     "target", "multilabel", "numerical_target", "boolean_target"};
    return names[k];
}

int cvl_csv_is_target(cvl_csv_kind k) {
    return k == CVL_CSV_TARGET || k == CVL_CSV_MULTILABEL || k == CVL_CSV_NUMERICAL_TARGET ||
           k == CVL_CSV_BOOLEAN_TARGET;
}

int cvl_csv_has_categories(cvl_csv_kind k) {
    return k == CVL_CSV_CATEGORICAL || k == CVL_CSV_TARGET || k == CVL_CSV_MULTILABEL;
}

/* Floats a column keeps per row: the multi-hot vector for multilabel, one
 * number (value, 0/1 or category index) otherwise. */
static int col_width(const cvl_csv_column *col) { return col->kind == CVL_CSV_MULTILABEL ? col->n_categories : 1; }

typedef struct csv_ds {
    char root[512];
    char *path;         /* the manifest, for messages */
    cvl_csv_table t;
    int n_cols;
    cvl_csv_column cols[CVL_DATA_MAX_IO * 2];
    int64_t at[CVL_DATA_MAX_IO * 2];   /* column index in the table */
    int64_t off[CVL_DATA_MAX_IO * 2];  /* offset of the column in a row of values */
    int64_t width;                     /* floats per row of values */
    float *values;      /* (rows-1, width) */
} csv_ds;

static int64_t csv_size(const cvl_dataset *ds) { return ((const csv_ds *)ds->impl)->t.rows - 1; }

static cvl_status csv_image(float *out, const csv_ds *c, const cvl_data_decl *d, int64_t i, int k, cvl_err *e) {
    const char *rel = c->t.cells[(i + 1) * c->t.cols + c->at[k]];
    char p[1100];
    snprintf(p, sizeof p, "%s/%s", c->root, rel);
    uint8_t *buf;
    size_t len;
    cvl_status st = cvl_data_read_file(&buf, &len, p, e);
    if (st == CVL_OK) {
        st = cvl_image_decode_mem(out, buf, len, d->c, d->h, d->w, p, e);
        free(buf);
    }
    if (st != CVL_OK) return cvl_err_prefix(e, "%s:%lld: ", c->path, (long long)(i + 2));
    return CVL_OK;
}

static cvl_status csv_get(cvl_sample *s, const cvl_dataset *ds, int64_t i, cvl_err *e) {
    const csv_ds *c = ds->impl;
    int in = 0, tg = 0;
    for (int k = 0; k < c->n_cols; k++) {
        const cvl_csv_column *col = &c->cols[k];
        const float *v = c->values + i * c->width + c->off[k];
        switch (col->kind) {
        case CVL_CSV_IMAGE: {
            cvl_status st = csv_image(s->inputs[in], c, &ds->inputs[in], i, k, e);
            if (st != CVL_OK) return st;
            in++;
            break;
        }
        case CVL_CSV_CATEGORICAL:
            for (int j = 0; j < col->n_categories; j++) s->inputs[in][j] = (float)(j == (int)v[0]);
            in++;
            break;
        case CVL_CSV_NUMERICAL:
        case CVL_CSV_BOOLEAN: s->inputs[in++][0] = v[0]; break;
        case CVL_CSV_TARGET: s->labels[tg++] = (int32_t)v[0]; break;
        case CVL_CSV_MULTILABEL:
        case CVL_CSV_NUMERICAL_TARGET:
        case CVL_CSV_BOOLEAN_TARGET:
            memcpy(s->values[tg++], v, (size_t)col_width(col) * sizeof *v);
            break;
        }
    }
    return CVL_OK;
}

static void csv_free(cvl_dataset *ds) {
    csv_ds *c = ds->impl;
    cvl_csv_table_free(&c->t);
    free(c->values);
    free(c->path);
    free(c);
    free(ds);
}

static const cvl_dataset_vt csv_vt = {csv_size, csv_get, csv_free};

#define AT "%s:%lld: column '%s': "

static int category(const cvl_csv_column *col, const char *s, size_t n) {
    for (int k = 0; k < col->n_categories; k++)
        if (strlen(col->categories[k]) == n && strncmp(s, col->categories[k], n) == 0) return k;
    return -1;
}

/* "a|b; c" -> multi-hot over the categories; spaces around a label are
 * ignored, an empty field means no label. */
static cvl_status csv_multilabel(float *out, const char *s, const cvl_csv_column *col, const char *path,
                                 int64_t line, cvl_err *e) {
    memset(out, 0, (size_t)col->n_categories * sizeof *out);
    while (*s == ' ' || *s == '\t') s++;
    if (*s == 0) return CVL_OK;
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        size_t n = strcspn(s, "|;");
        size_t m = n;
        while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t')) m--;
        if (m == 0) return cvl_err_set(e, CVL_ERR_INVALID, AT "empty label in a '|' or ';' list", path, (long long)line, col->name);
        int k = category(col, s, m);
        if (k < 0)
            return cvl_err_set(e, CVL_ERR_INVALID, AT "unknown category '%.*s'", path, (long long)line, col->name,
                               (int)(m < 40 ? m : 40), s);
        out[k] = 1;
        if (s[n] == 0) return CVL_OK;
        s += n + 1;
    }
}

static cvl_status csv_value(float *out, const char *s, const cvl_csv_column *col, const char *path, int64_t line,
                            cvl_err *e) {
    switch (col->kind) {
    case CVL_CSV_IMAGE:
        if (*s == 0) return cvl_err_set(e, CVL_ERR_INVALID, AT "empty image path", path, (long long)line, col->name);
        return CVL_OK;
    case CVL_CSV_NUMERICAL:
    case CVL_CSV_NUMERICAL_TARGET: {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (*s == 0 || *end != 0 || errno != 0 || !isfinite(v) || fabs(v) > 3.4e38)
            return cvl_err_set(e, CVL_ERR_INVALID, AT "'%.40s' is not a number", path, (long long)line, col->name, s);
        *out = (float)v;
        return CVL_OK;
    }
    case CVL_CSV_BOOLEAN:
    case CVL_CSV_BOOLEAN_TARGET: {
        const char *yes[] = {"true", "1", "yes"}, *no[] = {"false", "0", "no"};
        for (int k = 0; k < 3; k++) {
            if (strcasecmp(s, yes[k]) == 0) return *out = 1, CVL_OK;
            if (strcasecmp(s, no[k]) == 0) return *out = 0, CVL_OK;
        }
        return cvl_err_set(e, CVL_ERR_INVALID, AT "'%.40s' is not a boolean (true/false/1/0/yes/no)", path,
                           (long long)line, col->name, s);
    }
    case CVL_CSV_MULTILABEL: return csv_multilabel(out, s, col, path, line, e);
    case CVL_CSV_CATEGORICAL:
    case CVL_CSV_TARGET: break;
    }
    int k = category(col, s, strlen(s));
    if (k >= 0) return *out = (float)k, CVL_OK;
    return cvl_err_set(e, CVL_ERR_INVALID, AT "unknown category '%.40s'", path, (long long)line, col->name, s);
}
#undef AT

static cvl_status csv_declare(cvl_dataset *ds, const csv_ds *c, const int64_t *shape, cvl_err *e) {
    for (int k = 0; k < c->n_cols; k++) {
        const cvl_csv_column *col = &c->cols[k];
        cvl_data_decl d = {.kind = CVL_DATA_NUMERICAL, .f = 1};
        snprintf(d.name, sizeof d.name, "%s", col->name);
        if (cvl_csv_has_categories(col->kind)) d.classes = col->n_categories, d.categories = col->categories;
        switch (col->kind) {
        case CVL_CSV_IMAGE:
            if (shape[0] != 1 && shape[0] != 3)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: column '%s': images are decoded to [1|3,H,W], not %lld channels",
                                   c->path, col->name, (long long)shape[0]);
            d.kind = CVL_DATA_IMAGE, d.c = shape[0], d.h = shape[1], d.w = shape[2], d.f = 0;
            break;
        case CVL_CSV_NUMERICAL:
        case CVL_CSV_NUMERICAL_TARGET: break;
        case CVL_CSV_BOOLEAN:
        case CVL_CSV_BOOLEAN_TARGET: d.kind = CVL_DATA_BOOLEAN; break;
        case CVL_CSV_CATEGORICAL: d.kind = CVL_DATA_CATEGORICAL, d.f = col->n_categories; break;
        case CVL_CSV_MULTILABEL: d.kind = CVL_DATA_MULTILABEL, d.f = col->n_categories; break;
        case CVL_CSV_TARGET: d.kind = CVL_DATA_CLASS, d.f = 0; break;
        }
        if (cvl_csv_is_target(col->kind)) ds->targets[ds->n_targets++] = d;
        else ds->inputs[ds->n_inputs++] = d;
    }
    return CVL_OK;
}

static cvl_status csv_load(csv_ds *c, const cvl_csv_column *cols, int n_cols, cvl_err *e) {
    c->width = 0;
    for (int k = 0; k < n_cols; k++) {
        c->cols[k] = cols[k];
        c->at[k] = -1;
        c->off[k] = c->width;
        c->width += col_width(&cols[k]);
        for (int64_t j = 0; j < c->t.cols; j++)
            if (strcmp(c->t.cells[j], cols[k].name) == 0) c->at[k] = j;
        if (c->at[k] < 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s:1: missing column '%s'", c->path, cols[k].name);
    }
    c->n_cols = n_cols;
    int64_t n = c->t.rows - 1;
    c->values = calloc((size_t)(n > 0 ? n : 1) * (size_t)c->width, sizeof *c->values);
    if (c->values == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", c->path);
    for (int64_t r = 0; r < n; r++)
        for (int k = 0; k < n_cols; k++)
            if (csv_value(&c->values[r * c->width + c->off[k]], c->t.cells[(r + 1) * c->t.cols + c->at[k]], &cols[k],
                          c->path, r + 2, e) != CVL_OK)
                return CVL_ERR_INVALID;
    if (n == 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: no rows after the header", c->path);
    return CVL_OK;
}

cvl_status cvl_dataset_csv_open_mem(cvl_dataset **out, const char *root, const char *path, const uint8_t *buf,
                                    size_t len, const cvl_csv_column *cols, int n_cols, const int64_t *shape,
                                    cvl_err *e) {
    int n_in = 0, n_tg = 0;
    for (int k = 0; k < n_cols; k++) cvl_csv_is_target(cols[k].kind) ? n_tg++ : n_in++;
    if (n_in > CVL_DATA_MAX_IO || n_tg > CVL_DATA_MAX_IO || n_cols == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dataset.columns: 1..%d inputs and at most %d targets", path,
                           CVL_DATA_MAX_IO, CVL_DATA_MAX_IO);
    cvl_dataset *ds = calloc(1, sizeof *ds);
    csv_ds *c = calloc(1, sizeof *c);
    char *p = cvl_strdup(path);
    if (ds == NULL || c == NULL || p == NULL) {
        free(ds), free(c), free(p);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(c->root, sizeof c->root, "%s", root);
    c->path = p;
    ds->vt = &csv_vt, ds->impl = c;
    snprintf(ds->path, sizeof ds->path, "%s", path);
    cvl_status st = cvl_csv_parse_mem(&c->t, (const char *)buf, len, path, e);
    if (st == CVL_OK) st = csv_load(c, cols, n_cols, e);
    if (st == CVL_OK) st = csv_declare(ds, c, shape, e);
    if (st != CVL_OK) {
        csv_free(ds);
        return st;
    }
    *out = ds;
    return CVL_OK;
}

cvl_status cvl_dataset_csv_open(cvl_dataset **out, const char *root, const char *file, const cvl_csv_column *cols,
                                int n_cols, const int64_t *shape, cvl_err *e) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", root, file);
    uint8_t *buf;
    size_t len;
    cvl_status st = cvl_data_read_file(&buf, &len, path, e);
    if (st != CVL_OK) return st;
    st = cvl_dataset_csv_open_mem(out, root, path, buf, len, cols, n_cols, shape, e);
    free(buf);
    return st;
}
