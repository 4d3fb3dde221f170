#include "train/idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_BYTES ((size_t)1 << 31)

/* The whole (decompressed) file; gzread passes raw files through. */
static cvl_status read_all(const char *path, uint8_t **out, size_t *len, cvl_err *e) {
    gzFile f = gzopen(path, "rb");
    if (f == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot open", path);
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            gzclose(f);
            return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            free(buf);
            gzclose(f);
            return cvl_err_set(e, CVL_ERR_IO, "%s: corrupt gzip data after %zu bytes (%s)", path, n, msg);
        }
        n += (size_t)got;
        if (got == 0) break;
        if (n == cap) {
            if (cap >= MAX_BYTES) {
                free(buf);
                gzclose(f);
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: larger than 2 GB", path);
            }
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) free(buf);
            buf = grown;
        }
    }
    int zerr = Z_OK;
    gzerror(f, &zerr);
    gzclose(f);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        free(buf);
        return cvl_err_set(e, CVL_ERR_IO, "%s: truncated or corrupt gzip stream", path);
    }
    *out = buf;
    *len = n;
    return CVL_OK;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

cvl_status cvl_idx_parse(const uint8_t *buf, size_t len, int want_ndim, size_t *payload, int64_t *dims,
                         const char *path, cvl_err *e) {
    if (len < 4 || buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] != want_ndim) {
        uint32_t magic = len >= 4 ? be32(buf) : 0;
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: wrong magic number 0x%08x (want 0x%08x: unsigned bytes, %d axes)", path,
                           magic, 0x800u | (unsigned)want_ndim, want_ndim);
    }
    size_t hdr = 4 + 4 * (size_t)want_ndim, expect = 1;
    if (len < hdr) return cvl_err_set(e, CVL_ERR_INVALID, "%s: truncated header (%zu bytes)", path, len);
    for (int i = 0; i < want_ndim; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0 || expect > MAX_BYTES / (size_t)dims[i])
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: axis %d has size %lld", path, i, (long long)dims[i]);
        expect *= (size_t)dims[i];
    }
    if (len - hdr != expect)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: dimensions say %zu bytes of data, the file has %zu", path, expect,
                           len - hdr);
    *payload = hdr;
    return CVL_OK;
}

/* Reads and parses one IDX file of `want_ndim` axes; returns its payload. */
static cvl_status parse(const char *path, int want_ndim, uint8_t **data, int64_t *dims, cvl_err *e) {
    uint8_t *buf = NULL;
    size_t len = 0, hdr = 0;
    cvl_status st = read_all(path, &buf, &len, e);
    if (st) return st;
    st = cvl_idx_parse(buf, len, want_ndim, &hdr, dims, path, e);
    if (st) {
        free(buf);
        return st;
    }
    memmove(buf, buf + hdr, len - hdr);
    *data = buf;
    return CVL_OK;
}

/* <root>/<name>.gz if it exists, else <root>/<name>. */
static void pick(char *out, size_t n, const char *root, const char *name) {
    struct stat st;
    snprintf(out, n, "%s/%s.gz", root, name);
    if (stat(out, &st) != 0) snprintf(out, n, "%s/%s", root, name);
}

cvl_status cvl_idx_load(cvl_idx_split *s, const char *root, const char *prefix, int classes, cvl_err *e) {
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return cvl_err_set(e, CVL_ERR_IO, "%s: dataset root does not exist (install dataset-fashion-mnist, or set dataset.root)", root);
    char ipath[1024], lpath[1024], name[256];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    pick(ipath, sizeof ipath, root, name);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    pick(lpath, sizeof lpath, root, name);
    int64_t idims[3], ldims[1];
    cvl_status r = parse(ipath, 3, &s->images, idims, e);
    if (r) return r;
    r = parse(lpath, 1, &s->labels, ldims, e);
    if (r) {
        cvl_idx_free(s);
        return r;
    }
    if (ldims[0] != idims[0]) {
        cvl_idx_free(s);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %lld labels for %lld images in %s", lpath, (long long)ldims[0],
                           (long long)idims[0], ipath);
    }
    for (int64_t i = 0; i < ldims[0]; i++) {
        if (s->labels[i] >= classes) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s: record %lld: label %d out of range [0, %d)", lpath, (long long)i,
                        s->labels[i], classes);
            cvl_idx_free(s);
            return CVL_ERR_INVALID;
        }
    }
    s->n = idims[0];
    s->rows = idims[1];
    s->cols = idims[2];
    return CVL_OK;
}

void cvl_idx_free(cvl_idx_split *s) {
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}
