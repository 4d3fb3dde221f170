/* IDX and CIFAR datasets: both are whole files of bytes held in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/dataset.h"

#define MAX_FILE ((size_t)1 << 31)

static cvl_status gunzip(uint8_t **out, size_t *len, const uint8_t *in, size_t n, const char *path, cvl_err *e) {
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: zlib init failed", path);
    size_t cap = n * 4 + 1024, got = 0;
    uint8_t *buf = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int rc = Z_OK;
    while (buf != NULL && rc != Z_STREAM_END) {
        if (got == cap) {
            if (cap >= MAX_FILE) break;
            cap *= 2;
            uint8_t *g = realloc(buf, cap);
            if (g == NULL) free(buf);
            buf = g;
            if (buf == NULL) break;
        }
        z.next_out = buf + got;
        z.avail_out = (uInt)(cap - got);
        rc = inflate(&z, Z_NO_FLUSH);
        got = cap - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    }
    size_t at = z.total_in;
    inflateEnd(&z);
    if (buf == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    if (rc != Z_STREAM_END) {
        free(buf);
        if (rc == Z_OK || rc == Z_BUF_ERROR)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: truncated gzip stream (input ends at byte %zu)", path, at);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: corrupt gzip data near byte %zu", path, at);
    }
    *out = buf;
    *len = got;
    return CVL_OK;
}

cvl_status cvl_data_read_file(uint8_t **out, size_t *len, const char *path, cvl_err *e) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *g = cap < MAX_FILE ? realloc(buf, cap * 2) : NULL;
        if (g == NULL) free(buf);
        buf = g;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory or larger than 2 GB", path);
    if (bad) {
        free(buf);
        return cvl_err_set(e, CVL_ERR_IO, "%s: read error", path);
    }
    if (n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        uint8_t *raw = NULL;
        size_t rn = 0;
        cvl_status st = gunzip(&raw, &rn, buf, n, path, e);
        free(buf);
        if (st != CVL_OK) return st;
        buf = raw;
        n = rn;
    }
    *out = buf;
    *len = n;
    return CVL_OK;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

cvl_status cvl_idx_read_mem(uint8_t **payload, int64_t *dims, const uint8_t *buf, size_t len, int want_ndim,
                            const char *path, cvl_err *e) {
    if (len < 4) return cvl_err_set(e, CVL_ERR_INVALID, "%s: truncated IDX header (%zu bytes)", path, len);
    uint32_t magic = be32(buf);
    uint32_t want = 0x0800u | (uint32_t)want_ndim;
    if (magic != want)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: wrong magic 0x%08x (want 0x%08x: unsigned bytes, %d dims)", path,
                           magic, want, want_ndim);
    size_t head = 4 + 4 * (size_t)want_ndim;
    if (len < head) return cvl_err_set(e, CVL_ERR_INVALID, "%s: truncated IDX header (%zu bytes)", path, len);
    uint64_t count = 1;
    for (int i = 0; i < want_ndim; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        count *= (uint64_t)dims[i];
        if (count > MAX_FILE) return cvl_err_set(e, CVL_ERR_INVALID, "%s: dimensions too large", path);
    }
    if (count != len - head)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: dimensions disagree with the file size (header says %llu bytes of data, file has %zu)",
                           path, (unsigned long long)count, len - head);
    *payload = (uint8_t *)buf + head;
    return CVL_OK;
}

/* ---- one in-memory byte dataset serves both formats ---- */

typedef struct bytes_ds {
    uint8_t *pixels; /* n * c*h*w, planar */
    uint8_t *labels; /* n */
    int64_t n;
} bytes_ds;

static int64_t bytes_size(const cvl_dataset *ds) { return ((const bytes_ds *)ds->impl)->n; }

static cvl_status bytes_get(cvl_sample *s, const cvl_dataset *ds, int64_t i, cvl_err *e) {
    (void)e;
    const bytes_ds *b = ds->impl;
    int64_t m = ds->inputs[0].c * ds->inputs[0].h * ds->inputs[0].w;
    const uint8_t *p = b->pixels + i * m;
    for (int64_t k = 0; k < m; k++) s->inputs[0][k] = p[k] * (1.0f / 255.0f);
    s->labels[0] = b->labels[i];
    return CVL_OK;
}

static void bytes_free(cvl_dataset *ds) {
    bytes_ds *b = ds->impl;
    free(b->pixels);
    free(b->labels);
    free(b);
    free(ds);
}

static const cvl_dataset_vt bytes_vt = {bytes_size, bytes_get, bytes_free};

static cvl_dataset *bytes_new(int64_t c, int64_t h, int64_t w, int classes, const char *path) {
    cvl_dataset *ds = calloc(1, sizeof *ds);
    bytes_ds *b = calloc(1, sizeof *b);
    if (ds == NULL || b == NULL) {
        free(ds);
        free(b);
        return NULL;
    }
    ds->vt = &bytes_vt;
    ds->impl = b;
    ds->n_inputs = ds->n_targets = 1;
    ds->inputs[0] = (cvl_data_decl){.name = "image", .kind = CVL_DATA_IMAGE, .c = c, .h = h, .w = w};
    ds->targets[0] = (cvl_data_decl){.name = "label", .kind = CVL_DATA_CLASS, .classes = classes};
    snprintf(ds->path, sizeof ds->path, "%s", path);
    return ds;
}

static cvl_status idx_file(uint8_t **data, int64_t *dims, const char *root, const char *split, const char *kind,
                           int ndim, char *path, size_t path_len, cvl_err *e) {
    snprintf(path, path_len, "%s/%s-%s-idx%d-ubyte.gz", root, split, kind, ndim);
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) path[strlen(path) - 3] = 0; /* the raw file */
    else fclose(probe);
    uint8_t *buf;
    size_t len;
    cvl_status st = cvl_data_read_file(&buf, &len, path, e);
    if (st != CVL_OK) return st;
    uint8_t *payload;
    st = cvl_idx_read_mem(&payload, dims, buf, len, ndim, path, e);
    if (st == CVL_OK) memmove(buf, payload, (size_t)(len - (size_t)(payload - buf)));
    if (st != CVL_OK) free(buf);
    else *data = buf;
    return st;
}

cvl_status cvl_dataset_idx_open(cvl_dataset **out, const char *root, const char *split, int classes, cvl_err *e) {
    char ipath[600], lpath[600];
    int64_t idims[3], ldims[1];
    uint8_t *img = NULL, *lab = NULL;
    cvl_status st = idx_file(&img, idims, root, split, "images", 3, ipath, sizeof ipath, e);
    if (st == CVL_OK) st = idx_file(&lab, ldims, root, split, "labels", 1, lpath, sizeof lpath, e);
    if (st == CVL_OK && ldims[0] != idims[0])
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: %lld labels for %lld images in %s", lpath, (long long)ldims[0],
                         (long long)idims[0], ipath);
    for (int64_t i = 0; st == CVL_OK && i < ldims[0]; i++)
        if (lab[i] >= classes)
            st = cvl_err_set(e, CVL_ERR_INVALID, "%s: record %lld (offset %lld): label %d out of range [0,%d)", lpath,
                             (long long)i, (long long)(8 + i), lab[i], classes);
    cvl_dataset *ds = st == CVL_OK ? bytes_new(1, idims[1], idims[2], classes, ipath) : NULL;
    if (st == CVL_OK && ds == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", ipath);
    if (st != CVL_OK) {
        free(img);
        free(lab);
        return st;
    }
    bytes_ds *b = ds->impl;
    b->pixels = img;
    b->labels = lab;
    b->n = idims[0];
    *out = ds;
    return CVL_OK;
}

#define CIFAR_PIX 3072

cvl_status cvl_cifar_check_mem(int64_t *n, size_t len, int label_bytes, const uint8_t *buf, int classes,
                               const char *path, cvl_err *e) {
    size_t rec = (size_t)label_bytes + CIFAR_PIX;
    if (len == 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: empty file", path);
    if (len % rec != 0)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: size %zu is not a whole number of %zu-byte records (%zu bytes left over at offset %zu)",
                           path, len, rec, len % rec, len - len % rec);
    *n = (int64_t)(len / rec);
    for (int64_t i = 0; i < *n; i++) {
        int lab = buf[(size_t)i * rec + (size_t)label_bytes - 1];
        if (lab >= classes)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: record %lld (offset %zu): label %d out of range [0,%d)", path,
                               (long long)i, (size_t)i * rec + (size_t)label_bytes - 1, lab, classes);
    }
    return CVL_OK;
}

cvl_status cvl_dataset_cifar_open(cvl_dataset **out, const char *const *files, int n_files, int label_bytes,
                                  int classes, cvl_err *e) {
    cvl_dataset *ds = bytes_new(3, 32, 32, classes, n_files > 0 ? files[0] : "cifar");
    if (ds == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "cifar: out of memory");
    bytes_ds *b = ds->impl;
    cvl_status st = CVL_OK;
    for (int f = 0; f < n_files && st == CVL_OK; f++) {
        uint8_t *buf;
        size_t len;
        int64_t n;
        st = cvl_data_read_file(&buf, &len, files[f], e);
        if (st != CVL_OK) break;
        st = cvl_cifar_check_mem(&n, len, label_bytes, buf, classes, files[f], e);
        uint8_t *px = st == CVL_OK ? realloc(b->pixels, (size_t)(b->n + n) * CIFAR_PIX) : NULL;
        if (px != NULL) b->pixels = px;
        uint8_t *lb = px != NULL ? realloc(b->labels, (size_t)(b->n + n)) : NULL;
        if (lb != NULL) b->labels = lb;
        if (st == CVL_OK && (px == NULL || lb == NULL)) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", files[f]);
        for (int64_t i = 0; st == CVL_OK && i < n; i++) {
            const uint8_t *r = buf + (size_t)i * (CIFAR_PIX + (size_t)label_bytes);
            b->labels[b->n + i] = r[label_bytes - 1];
            memcpy(b->pixels + (size_t)(b->n + i) * CIFAR_PIX, r + label_bytes, CIFAR_PIX);
        }
        if (st == CVL_OK) b->n += n;
        free(buf);
    }
    if (st != CVL_OK) {
        bytes_free(ds);
        return st;
    }
    *out = ds;
    return CVL_OK;
}
