/* The safetensors reader: every check listed in safetensors.h, in the order
 * a file is read, so the first problem is the one reported. */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[CVL_ST_DTYPE_COUNT] = {
    [CVL_ST_BOOL] = {"BOOL", 1},       [CVL_ST_U8] = {"U8", 1},           [CVL_ST_I8] = {"I8", 1},
    [CVL_ST_F8_E4M3] = {"F8_E4M3", 1}, [CVL_ST_F8_E5M2] = {"F8_E5M2", 1}, [CVL_ST_F8_E8M0] = {"F8_E8M0", 1},
    [CVL_ST_I16] = {"I16", 2},         [CVL_ST_U16] = {"U16", 2},         [CVL_ST_F16] = {"F16", 2},
    [CVL_ST_BF16] = {"BF16", 2},       [CVL_ST_I32] = {"I32", 4},         [CVL_ST_U32] = {"U32", 4},
    [CVL_ST_F32] = {"F32", 4},         [CVL_ST_I64] = {"I64", 8},         [CVL_ST_U64] = {"U64", 8},
    [CVL_ST_F64] = {"F64", 8},         [CVL_ST_C64] = {"C64", 8},
};

const char *cvl_st_dtype_name(cvl_st_dtype dt) {
    return (unsigned)dt < CVL_ST_DTYPE_COUNT ? dtypes[dt].name : "?";
}

size_t cvl_st_dtype_size(cvl_st_dtype dt) {
    return (unsigned)dt < CVL_ST_DTYPE_COUNT ? dtypes[dt].size : 0;
}

bool cvl_st_dtype_parse(cvl_st_dtype *out, const char *name) {
    for (int i = 0; i < CVL_ST_DTYPE_COUNT; i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            *out = (cvl_st_dtype)i;
            return true;
        }
    return false;
}

struct cvl_st_file {
    char *name;             /* the path, for messages */
    void *map;              /* the mmap'ed file, or NULL */
    size_t map_size;
    const uint8_t *buf;     /* the byte buffer */
    size_t buf_size;
    json_t *header;         /* owns the tensor names and metadata strings */
    cvl_st_tensor *tensors; /* n, by offset */
    int32_t n;
    const cvl_st_tensor **by_name; /* n, sorted by name */
    int64_t *dims;    /* every tensor's shape, back to back */
    const char **meta; /* n_meta key/value pairs */
    int32_t n_meta;
};

void cvl_st_close(cvl_st_file *f) {
    if (f == NULL) return;
    if (f->map) munmap(f->map, f->map_size);
    json_decref(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f->dims);
    free(f->meta);
    free(f->name);
    free(f);
}

/* "[2, 3]" into buf, cut short with "..." when long. */
static const char *shape_str(char *buf, size_t cap, const int64_t *shape, int32_t ndim) {
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (at < cap) snprintf(buf + at, cap - at, "]");
    if (at + 2 >= cap && cap > 4) memcpy(buf + cap - 4, "...", 4);
    return buf;
}

/* A JSON integer >= 0, as uint64. */
static bool json_nonneg(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Fills t (all but data) from one header entry. `dims` has room for its shape. */
static cvl_status parse_entry(cvl_st_tensor *t, int64_t *dims, const cvl_st_file *f, const char *name,
                              const json_t *entry, cvl_err *e) {
    const char *fn = f->name;
    t->name = name;
    if (!json_is_object(entry)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": entry is not an object", fn, name);
    const json_t *dt = json_object_get(entry, "dtype");
    if (!json_is_string(dt))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": \"dtype\" is missing or not a string", fn, name);
    if (!cvl_st_dtype_parse(&t->dtype, json_string_value(dt)))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": unknown dtype \"%.32s\"", fn, name, json_string_value(dt));

    const json_t *shape = json_object_get(entry, "shape");
    bool ok = json_is_array(shape);
    t->ndim = ok ? (int32_t)json_array_size(shape) : 0;
    t->shape = dims;
    for (int32_t i = 0; ok && i < t->ndim; i++) {
        uint64_t d = 0;
        ok = json_nonneg(json_array_get(shape, (size_t)i), &d);
        dims[i] = (int64_t)d;
    }
    if (!ok)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": \"shape\" is missing or not an array of integers >= 0",
                           fn, name);
    /* numel and bytes stay below 2^62, far beyond any file we could map. */
    const uint64_t limit = (uint64_t)1 << 62;
    uint64_t numel = 1;
    for (int32_t i = 0; i < t->ndim; i++) {
        uint64_t d = (uint64_t)dims[i];
        if (d != 0 && numel > limit / d) numel = limit + 1;
        else numel *= d;
    }
    char sbuf[96];
    if (numel > limit / cvl_st_dtype_size(t->dtype))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": shape %s has too many elements", fn, name,
                           shape_str(sbuf, sizeof sbuf, dims, t->ndim));
    t->numel = (int64_t)numel;
    uint64_t need = numel * cvl_st_dtype_size(t->dtype);

    const json_t *offs = json_object_get(entry, "data_offsets");
    uint64_t begin, end;
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_nonneg(json_array_get(offs, 0), &begin) ||
        !json_nonneg(json_array_get(offs, 1), &end))
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: tensor \"%s\": \"data_offsets\" is missing or not two integers >= 0", fn, name);
    if (begin > end)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] begin after end",
                           fn, name, begin, end);
    if (end > f->buf_size)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] run past the %zu-byte buffer", fn,
                           name, begin, end, f->buf_size);
    if (end - begin != need)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                           " bytes but shape %s of %s needs %" PRIu64,
                           fn, name, begin, end, end - begin, shape_str(sbuf, sizeof sbuf, dims, t->ndim),
                           dtypes[t->dtype].name, need);
    t->offset = (size_t)begin;
    t->nbytes = (size_t)need;
    t->data = f->buf + begin;
    return CVL_OK;
}

static cvl_status parse_metadata(cvl_st_file *f, const json_t *md, cvl_err *e) {
    if (!json_is_object(md))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: \"__metadata__\" is not an object", f->name);
    f->meta = malloc((json_object_size(md) + 1) * 2 * sizeof *f->meta);
    if (f->meta == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", f->name);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)md, key, v) {
        if (!json_is_string(v))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: \"__metadata__\" key \"%s\": value is not a string", f->name, key);
        f->meta[2 * f->n_meta] = key;
        f->meta[2 * f->n_meta + 1] = json_string_value(v);
        f->n_meta++;
    }
    return CVL_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const cvl_st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const cvl_st_tensor *const *)a)->name, (*(const cvl_st_tensor *const *)b)->name);
}

/* The spans, sorted, must tile the buffer exactly: no overlap, no hole. */
static cvl_status check_coverage(const cvl_st_file *f, cvl_err *e) {
    size_t pos = 0;
    const cvl_st_tensor *last = NULL; /* the tensor that ends at pos */
    for (int32_t i = 0; i < f->n; i++) {
        const cvl_st_tensor *t = &f->tensors[i];
        if (t->offset < pos)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensors \"%s\" and \"%s\" overlap at buffer bytes [%zu, %zu)",
                               f->name, last->name, t->name, t->offset, pos);
        if (t->offset > pos)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: buffer bytes [%zu, %zu) belong to no tensor (before \"%s\")",
                               f->name, pos, t->offset, t->name);
        if (t->nbytes > 0) last = t;
        pos = t->offset + t->nbytes;
    }
    if (pos != f->buf_size)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: buffer bytes [%zu, %zu) belong to no tensor", f->name, pos,
                           f->buf_size);
    return CVL_OK;
}

/* Rewrites jansson's messages so the common ones read plainly. */
static cvl_status json_failed(const cvl_st_file *f, const json_error_t *jerr, cvl_err *e) {
    const char *dup = "duplicate object key near '";
    if (strncmp(jerr->text, dup, strlen(dup)) == 0) {
        const char *key = jerr->text + strlen(dup);
        int len = (int)strlen(key);
        if (len > 0 && key[len - 1] == '\'') len--;
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: header has a duplicate key %.*s", f->name, len, key);
    }
    return cvl_err_set(e, CVL_ERR_INVALID, "%s: header is not valid JSON: %s (header byte %d)", f->name, jerr->text,
                       jerr->position);
}

static cvl_status parse_header(cvl_st_file *f, const uint8_t *hdr, size_t len, cvl_err *e) {
    if (len == 0 || hdr[0] != '{') return cvl_err_set(e, CVL_ERR_INVALID, "%s: header does not start with '{'", f->name);
    json_error_t jerr;
    f->header = json_loadb((const char *)hdr, len, JSON_REJECT_DUPLICATES, &jerr);
    if (f->header == NULL) return json_failed(f, &jerr, e);
    if (!json_is_object(f->header)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: header is not a JSON object", f->name);

    size_t n = json_object_size(f->header), ndims = 0;
    const char *key;
    json_t *v;
    json_object_foreach(f->header, key, v) {
        const json_t *shape = json_is_object(v) ? json_object_get(v, "shape") : NULL;
        if (json_is_array(shape)) ndims += json_array_size(shape);
    }
    f->tensors = calloc(n + 1, sizeof *f->tensors);
    f->by_name = calloc(n + 1, sizeof *f->by_name);
    f->dims = calloc(ndims + 1, sizeof *f->dims);
    if (f->tensors == NULL || f->by_name == NULL || f->dims == NULL)
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", f->name);
    size_t at = 0;
    json_object_foreach(f->header, key, v) {
        cvl_status st;
        if (strcmp(key, "__metadata__") == 0) {
            st = parse_metadata(f, v, e);
        } else {
            st = parse_entry(&f->tensors[f->n], f->dims + at, f, key, v, e);
            at += (size_t)f->tensors[f->n].ndim;
            f->n++;
        }
        if (st != CVL_OK) return st;
    }
    qsort(f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_offset);
    for (int32_t i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_name);
    return check_coverage(f, e);
}

static cvl_status parse_file(cvl_st_file *f, const uint8_t *data, size_t size, cvl_err *e) {
    if (size < 8)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: file is %zu bytes, too short for the 8-byte header length", f->name,
                           size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | data[i];
    if (n > CVL_ST_MAX_HEADER)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: header length %" PRIu64 " is over the %" PRIu64 "-byte limit",
                           f->name, n, CVL_ST_MAX_HEADER);
    if (n > size - 8)
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes)", f->name, n, size);
    f->buf = data + 8 + n;
    f->buf_size = size - 8 - (size_t)n;
    return parse_header(f, data + 8, (size_t)n, e);
}

static cvl_st_file *file_new(const char *name) {
    cvl_st_file *f = calloc(1, sizeof *f);
    if (f == NULL) return NULL;
    f->name = strdup(name ? name : "(memory)");
    if (f->name == NULL) {
        free(f);
        return NULL;
    }
    return f;
}

cvl_status cvl_st_open_mem(cvl_st_file **out, const void *data, size_t size, const char *name, cvl_err *e) {
    *out = NULL;
    cvl_st_file *f = file_new(name);
    if (f == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
    cvl_status st = parse_file(f, data, size, e);
    if (st != CVL_OK) {
        cvl_st_close(f);
        return st;
    }
    *out = f;
    return CVL_OK;
}

cvl_status cvl_st_open(cvl_st_file **out, const char *path, cvl_err *e) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cvl_err_set(e, CVL_ERR_IO, "%s: not a regular file", path);
    }
    cvl_st_file *f = file_new(path);
    if (f == NULL) {
        close(fd);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t size = (size_t)sb.st_size;
    const uint8_t *data = (const uint8_t *)"";
    if (size > 0) {
        f->map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            close(fd);
            cvl_st_close(f);
            return cvl_err_set(e, CVL_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(errno));
        }
        f->map_size = size;
        data = f->map;
    }
    close(fd);
    cvl_status st = parse_file(f, data, size, e);
    if (st != CVL_OK) {
        cvl_st_close(f);
        return st;
    }
    *out = f;
    return CVL_OK;
}

int32_t cvl_st_count(const cvl_st_file *f) {
    return f->n;
}

const cvl_st_tensor *cvl_st_at(const cvl_st_file *f, int32_t i) {
    return i >= 0 && i < f->n ? &f->tensors[i] : NULL;
}

const cvl_st_tensor *cvl_st_find(const cvl_st_file *f, const char *name) {
    int32_t lo = 0, hi = f->n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int32_t cvl_st_meta_count(const cvl_st_file *f) {
    return f->n_meta;
}

const char *cvl_st_meta_key(const cvl_st_file *f, int32_t i) {
    return i >= 0 && i < f->n_meta ? f->meta[2 * i] : NULL;
}

const char *cvl_st_meta_value(const cvl_st_file *f, int32_t i) {
    return i >= 0 && i < f->n_meta ? f->meta[2 * i + 1] : NULL;
}

const char *cvl_st_meta(const cvl_st_file *f, const char *key) {
    for (int32_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}

cvl_status cvl_st_expect(const cvl_st_tensor **out, const cvl_st_file *f, const char *name, cvl_st_dtype dtype,
                         int32_t ndim, const int64_t *shape, cvl_err *e) {
    *out = NULL;
    const cvl_st_tensor *t = cvl_st_find(f, name);
    if (t == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "%s: no tensor \"%s\"", f->name, name);
    char have[96], want[96];
    bool same = t->ndim == ndim;
    for (int32_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (t->dtype != dtype || !same)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor \"%s\" is %s %s, expected %s %s", f->name, name,
                           dtypes[t->dtype].name, shape_str(have, sizeof have, t->shape, t->ndim), cvl_st_dtype_name(dtype),
                           shape_str(want, sizeof want, shape, ndim));
    *out = t;
    return CVL_OK;
}

/* IEEE half to float, exactly (subnormals, infinities, NaN included). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else if (exp == 0) {
        float m = ldexpf((float)man, -24); /* subnormal or zero */
        return sign ? -m : m;
    } else {
        bits = sign | (exp + 112) << 23 | man << 13;
    }
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

bool cvl_st_to_f32(float *out, const cvl_st_tensor *t) {
    if (t->dtype == CVL_ST_C64 || t->dtype == CVL_ST_F8_E4M3 || t->dtype == CVL_ST_F8_E5M2 ||
        t->dtype == CVL_ST_F8_E8M0)
        return false;
    const uint8_t *p = t->data;
    size_t sz = cvl_st_dtype_size(t->dtype);
    for (int64_t i = 0; i < t->numel; i++, p += sz) {
        uint8_t v[8] = {0};
        memcpy(v, p, sz); /* the data may be unaligned */
        uint16_t u16;
        uint32_t u32;
        memcpy(&u16, v, 2);
        memcpy(&u32, v, 4);
        switch (t->dtype) {
        case CVL_ST_F32: memcpy(&out[i], v, 4); break;
        case CVL_ST_F64: { double d; memcpy(&d, v, 8); out[i] = (float)d; } break;
        case CVL_ST_F16: out[i] = half_to_float(u16); break;
        case CVL_ST_BF16: u32 = (uint32_t)u16 << 16; memcpy(&out[i], &u32, 4); break;
        case CVL_ST_BOOL: out[i] = v[0] != 0; break;
        case CVL_ST_U8: out[i] = v[0]; break;
        case CVL_ST_I8: out[i] = (int8_t)v[0]; break;
        case CVL_ST_I16: out[i] = (int16_t)u16; break;
        case CVL_ST_U16: out[i] = u16; break;
        case CVL_ST_I32: out[i] = (float)(int32_t)u32; break;
        case CVL_ST_U32: out[i] = (float)u32; break;
        case CVL_ST_I64: { int64_t x; memcpy(&x, v, 8); out[i] = (float)x; } break;
        case CVL_ST_U64: { uint64_t x; memcpy(&x, v, 8); out[i] = (float)x; } break;
        default: return false;
        }
    }
    return true;
}
