/* The safetensors writer: deterministic layout, header padded to 8 bytes,
 * written through atomic_file. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "io/safetensors.h"

typedef struct st_entry {
    char *name;
    cvl_st_dtype dtype;
    int32_t ndim;
    int64_t *shape;
    const void *data; /* borrowed */
    size_t nbytes;
} st_entry;

struct cvl_st_writer {
    st_entry *t;
    int32_t n, cap;
    char **meta; /* n_meta key/value pairs, owned */
    int32_t n_meta, cap_meta;
};

cvl_st_writer *cvl_st_writer_new(void) {
    return calloc(1, sizeof(cvl_st_writer));
}

void cvl_st_writer_free(cvl_st_writer *w) {
    if (w == NULL) return;
    for (int32_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].shape);
    }
    for (int32_t i = 0; i < 2 * w->n_meta; i++) free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w);
}

static bool valid_utf8(const char *s) {
    json_t *j = json_string(s); /* jansson checks the encoding */
    json_decref(j);
    return j != NULL;
}

cvl_status cvl_st_writer_add(cvl_st_writer *w, const char *name, cvl_st_dtype dtype, int32_t ndim,
                             const int64_t *shape, const void *data, cvl_err *e) {
    if (name == NULL || strcmp(name, "__metadata__") == 0 || !valid_utf8(name))
        return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: invalid tensor name \"%s\"", name ? name : "(null)");
    if ((unsigned)dtype >= CVL_ST_DTYPE_COUNT || ndim < 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: tensor \"%s\": bad dtype or rank", name);
    for (int32_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: tensor \"%s\" added twice", name);
    const uint64_t limit = (uint64_t)1 << 62;
    uint64_t numel = 1;
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: tensor \"%s\": dimension %d is negative", name, i);
        if (shape[i] != 0 && numel > limit / (uint64_t)shape[i])
            return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: tensor \"%s\": too many elements", name);
        numel *= (uint64_t)shape[i];
    }
    if (numel > limit / cvl_st_dtype_size(dtype))
        return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: tensor \"%s\": too many elements", name);
    if (w->n == w->cap) {
        int32_t cap = w->cap ? 2 * w->cap : 16;
        st_entry *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (t == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
        w->t = t;
        w->cap = cap;
    }
    st_entry *t = &w->t[w->n];
    *t = (st_entry){.name = strdup(name), .dtype = dtype, .ndim = ndim, .data = data,
                    .nbytes = (size_t)(numel * cvl_st_dtype_size(dtype))};
    t->shape = malloc(((size_t)ndim + 1) * sizeof *t->shape);
    if (t->name == NULL || t->shape == NULL) {
        free(t->name);
        free(t->shape);
        return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    }
    if (ndim > 0) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    w->n++;
    return CVL_OK;
}

cvl_status cvl_st_writer_meta(cvl_st_writer *w, const char *key, const char *value, cvl_err *e) {
    if (key == NULL || value == NULL || !valid_utf8(key) || !valid_utf8(value))
        return cvl_err_set(e, CVL_ERR_INVALID, "safetensors writer: metadata \"%s\" is not a UTF-8 string",
                           key ? key : "(null)");
    char *v = strdup(value);
    if (v == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    for (int32_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0) {
            free(w->meta[2 * i + 1]);
            w->meta[2 * i + 1] = v;
            return CVL_OK;
        }
    if (w->n_meta == w->cap_meta) {
        int32_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **m = realloc(w->meta, (size_t)cap * 2 * sizeof *m);
        if (m == NULL) {
            free(v);
            return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
        }
        w->meta = m;
        w->cap_meta = cap;
    }
    w->meta[2 * w->n_meta] = strdup(key);
    w->meta[2 * w->n_meta + 1] = v;
    if (w->meta[2 * w->n_meta] == NULL) {
        free(v);
        return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->n_meta++;
    return CVL_OK;
}

/* Larger elements first keeps every tensor aligned to its element size. */
static int cmp_layout(const void *a, const void *b) {
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    size_t sx = cvl_st_dtype_size(x->dtype), sy = cvl_st_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The layout order and the padded header (8-byte length prefix included). */
typedef struct st_plan {
    const st_entry **order;
    char *head; /* 8 + head_len bytes */
    size_t head_len, total;
} st_plan;

static cvl_status plan_file(st_plan *p, const cvl_st_writer *w, cvl_err *e) {
    *p = (st_plan){0};
    p->order = malloc(((size_t)w->n + 1) * sizeof *p->order);
    json_t *hdr = json_object();
    if (p->order == NULL || hdr == NULL) {
        json_decref(hdr);
        return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    }
    for (int32_t i = 0; i < w->n; i++) p->order[i] = &w->t[i];
    qsort(p->order, (size_t)w->n, sizeof *p->order, cmp_layout);
    size_t off = 0;
    for (int32_t i = 0; i < w->n; i++) {
        const st_entry *t = p->order[i];
        json_t *shape = json_array();
        for (int32_t d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_t *entry = json_pack("{s:s, s:o, s:[I,I]}", "dtype", cvl_st_dtype_name(t->dtype), "shape", shape,
                                  "data_offsets", (json_int_t)off, (json_int_t)(off + t->nbytes));
        if (json_object_set_new(hdr, t->name, entry) != 0) {
            json_decref(hdr);
            return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
        }
        off += t->nbytes;
    }
    if (w->n_meta > 0) {
        json_t *md = json_object();
        for (int32_t i = 0; i < w->n_meta; i++) json_object_set_new(md, w->meta[2 * i], json_string(w->meta[2 * i + 1]));
        json_object_set_new(hdr, "__metadata__", md);
    }
    char *text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (text == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    p->head = malloc(8 + padded);
    if (p->head == NULL) {
        free(text);
        return cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    }
    for (int i = 0; i < 8; i++) p->head[i] = (char)(((uint64_t)padded >> (8 * i)) & 0xff);
    memcpy(p->head + 8, text, len);
    memset(p->head + 8 + len, ' ', padded - len);
    free(text);
    p->head_len = 8 + padded;
    p->total = p->head_len + off;
    return CVL_OK;
}

static void plan_free(st_plan *p) {
    free(p->order);
    free(p->head);
}

cvl_status cvl_st_writer_save(const cvl_st_writer *w, const char *path, cvl_err *e) {
    st_plan p;
    cvl_status st = plan_file(&p, w, e);
    cvl_atomic_file *f = NULL;
    if (st == CVL_OK) st = cvl_atomic_open(&f, path, e);
    if (st == CVL_OK) {
        FILE *fp = cvl_atomic_stream(f);
        fwrite(p.head, 1, p.head_len, fp);
        for (int32_t i = 0; i < w->n; i++)
            if (p.order[i]->nbytes > 0) fwrite(p.order[i]->data, 1, p.order[i]->nbytes, fp);
        st = cvl_atomic_commit(f, e);
    }
    plan_free(&p);
    return st;
}

cvl_status cvl_st_writer_bytes(const cvl_st_writer *w, uint8_t **out, size_t *size, cvl_err *e) {
    *out = NULL;
    *size = 0;
    st_plan p;
    cvl_status st = plan_file(&p, w, e);
    uint8_t *buf = st == CVL_OK ? malloc(p.total) : NULL;
    if (st == CVL_OK && buf == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "safetensors writer: out of memory");
    if (st == CVL_OK) {
        memcpy(buf, p.head, p.head_len);
        size_t at = p.head_len;
        for (int32_t i = 0; i < w->n; i++) {
            if (p.order[i]->nbytes > 0) memcpy(buf + at, p.order[i]->data, p.order[i]->nbytes);
            at += p.order[i]->nbytes;
        }
        *out = buf;
        *size = p.total;
    }
    plan_free(&p);
    return st;
}
