/* The safetensors reader and writer: round trips, the files PyTorch writes
 * (tests/fixtures/safetensors, made by make_safetensors_fixtures.py), and
 * every hostile header the reader must refuse, each with its message.
 * argv[1]: the fixture directory. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/safetensors.h"

static char tmpdir[] = "/tmp/cvl-test-st-XXXXXX";

/* 8-byte little-endian n, then hdr, then buf zero bytes. */
static uint8_t *mk_raw(size_t *size, uint64_t n, const char *hdr, size_t buf) {
    size_t h = strlen(hdr);
    *size = 8 + h + buf;
    uint8_t *p = calloc(1, *size);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(n >> (8 * i));
    memcpy(p + 8, hdr, h);
    return p;
}

static uint8_t *mk(size_t *size, const char *hdr, size_t buf) {
    return mk_raw(size, strlen(hdr), hdr, buf);
}

/* Opens bytes that must be refused; the message must hold `want`, name the
 * file first and be one line. */
static void refuse(const uint8_t *p, size_t size, const char *want, const char *what) {
    cvl_st_file *f = (cvl_st_file *)1;
    cvl_err e = {0};
    cvl_status st = cvl_st_open_mem(&f, p, size, "evil.st", &e);
    CHECK(st == CVL_ERR_INVALID && f == NULL, "%s: refused", what);
    CHECK_STR_CONTAINS(e.msg, want, "%s: message", what);
    CHECK(strncmp(e.msg, "evil.st: ", 9) == 0 && strchr(e.msg, '\n') == NULL, "%s: one line naming the file", what);
    cvl_st_close(st == CVL_OK ? f : NULL);
}

static void refuse_hdr(const char *hdr, size_t buf, const char *want, const char *what) {
    size_t size;
    uint8_t *p = mk(&size, hdr, buf);
    refuse(p, size, want, what);
    free(p);
}

#define T1(name, dt, shape, offs) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_hostile_framing(void) {
    size_t size;
    uint8_t *p = mk(&size, "{}", 0);
    refuse(p, 5, "file is 5 bytes, too short for the 8-byte header length", "5-byte file");
    refuse(p, 0, "file is 0 bytes", "empty file");
    free(p);
    p = mk_raw(&size, 1000, "{}", 10);
    refuse(p, size, "header length 1000 runs past the end of the file (20 bytes)", "header past EOF");
    free(p);
    p = mk_raw(&size, (uint64_t)1 << 40, "{}", 0);
    refuse(p, size, "header length 1099511627776 is over the 100000000-byte limit", "huge header");
    free(p);
    p = mk_raw(&size, UINT64_MAX, "{}", 0);
    refuse(p, size, "header length 18446744073709551615 is over the", "header length 2^64-1");
    free(p);
    p = mk_raw(&size, 0, "", 0);
    refuse(p, size, "header does not start with '{'", "empty header");
    free(p);
    refuse_hdr("[1, 2]", 0, "header does not start with '{'", "array header");
    refuse_hdr(" {}", 0, "header does not start with '{'", "leading space");
    refuse_hdr("{\"a\":", 0, "header is not valid JSON: ", "truncated JSON");
    refuse_hdr("{} x", 0, "header is not valid JSON: end of file expected", "trailing garbage");
    refuse_hdr("{\"\xff\":1}", 0, "header is not valid JSON: unable to decode byte 0xff", "not UTF-8");
    p = mk(&size, "{}  ", 0);
    p[8 + 2] = '\0';
    refuse(p, size, "header is not valid JSON", "NUL in the header");
    free(p);
    /* Nesting deep enough to overflow a naive recursive parser's stack. */
    size_t depth = 200000;
    char *deep = malloc(depth + 8);
    strcpy(deep, "{\"a\":");
    memset(deep + 5, '[', depth);
    deep[5 + depth] = '\0';
    refuse_hdr(deep, 0, "header is not valid JSON", "deeply nested header");
    free(deep);
}

static void test_hostile_entries(void) {
    refuse_hdr("{\"a\":1}", 0, "tensor \"a\": entry is not an object", "entry not an object");
    refuse_hdr("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor \"a\": \"dtype\" is missing or not a string",
               "missing dtype");
    refuse_hdr("{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "tensor \"a\": \"dtype\" is missing or not a string", "numeric dtype");
    refuse_hdr("{" T1("a", "F128", "[1]", "[0,4]") "}", 4, "tensor \"a\": unknown dtype \"F128\"", "unknown dtype");
    refuse_hdr("{" T1("a", "F4", "[2]", "[0,1]") "}", 1, "tensor \"a\": unknown dtype \"F4\"", "sub-byte dtype");
    refuse_hdr("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
               "tensor \"a\": \"shape\" is missing or not an array of integers >= 0", "missing shape");
    refuse_hdr("{" T1("a", "F32", "[-1]", "[0,4]") "}", 4, "tensor \"a\": \"shape\" is missing or not an array", "negative dim");
    refuse_hdr("{" T1("a", "F32", "[1.5]", "[0,4]") "}", 4, "tensor \"a\": \"shape\" is missing or not an array", "real dim");
    refuse_hdr("{" T1("a", "F32", "\"3\"", "[0,4]") "}", 4, "tensor \"a\": \"shape\" is missing or not an array", "string shape");
    refuse_hdr("{" T1("a", "F32", "[4294967296,4294967296]", "[0,4]") "}", 4,
               "tensor \"a\": shape [4294967296, 4294967296] has too many elements", "shape product overflows");
    refuse_hdr("{" T1("a", "F64", "[1152921504606846976]", "[0,4]") "}", 4,
               "tensor \"a\": shape [1152921504606846976] has too many elements", "byte count overflows");
    refuse_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
               "tensor \"a\": \"data_offsets\" is missing or not two integers >= 0", "missing data_offsets");
    refuse_hdr("{" T1("a", "F32", "[1]", "[0]") "}", 4, "tensor \"a\": \"data_offsets\" is missing or not two", "one offset");
    refuse_hdr("{" T1("a", "F32", "[1]", "[0,4,8]") "}", 4, "tensor \"a\": \"data_offsets\" is missing or not two",
               "three offsets");
    refuse_hdr("{" T1("a", "F32", "[1]", "[-4,0]") "}", 4, "tensor \"a\": \"data_offsets\" is missing or not two",
               "negative offset");
    refuse_hdr("{" T1("a", "F32", "[1]", "[\"0\",\"4\"]") "}", 4, "tensor \"a\": \"data_offsets\" is missing or not two",
               "string offsets");
    refuse_hdr("{" T1("a", "F32", "[1]", "[8,4]") "}", 8, "tensor \"a\": data_offsets [8, 4] begin after end",
               "begin > end");
    refuse_hdr("{" T1("a", "F32", "[100]", "[0,400]") "}", 16,
               "tensor \"a\": data_offsets [0, 400] run past the 16-byte buffer", "offsets out of range");
    refuse_hdr("{" T1("a", "F32", "[1]", "[18446744073709551615,0]") "}", 4, "header is not valid JSON: too big integer",
               "offset above 2^63");
    refuse_hdr("{" T1("a", "F32", "[2,3]", "[0,12]") "}", 12,
               "tensor \"a\": data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32 needs 24", "span vs shape");
    refuse_hdr("{\"__metadata__\":[1]}", 0, "\"__metadata__\" is not an object", "metadata not an object");
    refuse_hdr("{\"__metadata__\":{\"ok\":\"x\",\"step\":3}}", 0, "\"__metadata__\" key \"step\": value is not a string",
               "metadata value not a string");
    refuse_hdr("{" T1("a", "F32", "[1]", "[0,4]") "," T1("a", "F32", "[1]", "[4,8]") "}", 8,
               "header has a duplicate key \"a\"", "duplicate name");
}

static void test_hostile_layout(void) {
    refuse_hdr("{" T1("a", "F32", "[2]", "[0,8]") "," T1("b", "F32", "[2]", "[4,12]") "}", 12,
               "tensors \"a\" and \"b\" overlap at buffer bytes [4, 8)", "overlapping spans");
    refuse_hdr("{" T1("b", "F32", "[2]", "[0,8]") "," T1("a", "F32", "[2]", "[0,8]") "}", 8,
               "tensors \"a\" and \"b\" overlap at buffer bytes [0, 8)", "identical spans");
    refuse_hdr("{" T1("a", "F32", "[2]", "[0,8]") "," T1("z", "F32", "[0]", "[4,4]") "}", 8,
               "tensors \"a\" and \"z\" overlap", "empty tensor inside another");
    refuse_hdr("{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[8,12]") "}", 12,
               "buffer bytes [4, 8) belong to no tensor (before \"b\")", "hole between spans");
    refuse_hdr("{" T1("a", "F32", "[1]", "[4,8]") "}", 8, "buffer bytes [0, 4) belong to no tensor (before \"a\")",
               "hole at the start");
    refuse_hdr("{" T1("a", "F32", "[1]", "[0,4]") "}", 8, "buffer bytes [4, 8) belong to no tensor", "trailing bytes");
    refuse_hdr("{}", 4, "buffer bytes [0, 4) belong to no tensor", "bytes with no tensors");

    /* What is allowed: empty tensors at a boundary, an empty file, unknown fields. */
    size_t size;
    uint8_t *p = mk(&size,
                    "{" T1("a", "F32", "[0,3]", "[0,0]") "," T1("b", "U8", "[2]", "[0,2]") "," T1("c", "I8", "[0]", "[2,2]") ","
                    "\"d\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[2,3],\"extra\":[1]}}   ",
                    3);
    cvl_st_file *f;
    cvl_err e = {0};
    CHECK(cvl_st_open_mem(&f, p, size, "ok.st", &e) == CVL_OK, "empty tensors and unknown fields are fine (%s)", e.msg);
    if (f) {
        CHECK(cvl_st_count(f) == 4 && cvl_st_find(f, "a")->numel == 0 && cvl_st_find(f, "d")->numel == 1 &&
                  cvl_st_find(f, "d")->ndim == 0,
              "four tensors, a scalar among them");
        CHECK(strcmp(cvl_st_at(f, 0)->name, "a") == 0 && strcmp(cvl_st_at(f, 3)->name, "d") == 0, "listed by offset");
        CHECK(cvl_st_meta_count(f) == 0 && cvl_st_meta(f, "x") == NULL, "no metadata");
        cvl_st_close(f);
    }
    free(p);
    p = mk(&size, "{}", 0);
    CHECK(cvl_st_open_mem(&f, p, size, "empty.st", &e) == CVL_OK && cvl_st_count(f) == 0, "header {} and no buffer");
    cvl_st_close(f);
    free(p);
}

static void test_open_errors(void) {
    cvl_st_file *f;
    cvl_err e = {0};
    CHECK(cvl_st_open(&f, "/nonexistent/x.safetensors", &e) == CVL_ERR_IO && f == NULL, "missing file refused");
    CHECK_STR_CONTAINS(e.msg, "/nonexistent/x.safetensors: cannot open: No such file or directory", "names the path");
    cvl_err_clear(&e);
    CHECK(cvl_st_open(&f, tmpdir, &e) == CVL_ERR_IO, "a directory is refused");
    CHECK_STR_CONTAINS(e.msg, ": not a regular file", "says why");
    /* A hostile file on disk gets the same checks as one in memory, and its path. */
    char path[256];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
    size_t size;
    uint8_t *p = mk(&size, "{" T1("a", "F32", "[1]", "[0,4]") "}", 5);
    FILE *fp = fopen(path, "wb");
    fwrite(p, 1, size, fp);
    fclose(fp);
    free(p);
    cvl_err_clear(&e);
    CHECK(cvl_st_open(&f, path, &e) == CVL_ERR_INVALID, "hostile file refused");
    CHECK(strstr(e.msg, path) == e.msg, "message starts with the path: %s", e.msg);
    CHECK_STR_CONTAINS(e.msg, "buffer bytes [4, 5) belong to no tensor", "names the stray byte");
}

/* Tensors of every width (aligned or not), a scalar, an empty one, and
 * metadata with characters JSON must escape. */
static void test_round_trip(void) {
    float w[6] = {1.5f, -2.25f, 3e-38f, 0.0f, -0.0f, 1e30f};
    int64_t step = -9007199254740993LL;
    uint16_t bf[4] = {0x3f80, 0xc049, 0x0001, 0x7f80};
    uint8_t bytes[5] = {1, 2, 3, 254, 255};
    double d[2] = {3.141592653589793, -1e300};
    cvl_err e = {0};
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    snprintf(path2, sizeof path2, "%s/rt2.safetensors", tmpdir);
    for (int pass = 0; pass < 2; pass++) {
        cvl_st_writer *wr = cvl_st_writer_new();
        /* The second pass adds in another order: the file must not change. */
        for (int k = 0; k < 6; k++) {
            int i = pass ? 5 - k : k;
            cvl_status st = CVL_OK;
            if (i == 0) st = cvl_st_writer_add(wr, "u8.bytes", CVL_ST_U8, 1, (int64_t[]){5}, bytes, &e);
            if (i == 1) st = cvl_st_writer_add(wr, "fc.weight", CVL_ST_F32, 2, (int64_t[]){2, 3}, w, &e);
            if (i == 2) st = cvl_st_writer_add(wr, "bn.num_batches_tracked", CVL_ST_I64, 0, NULL, &step, &e);
            if (i == 3) st = cvl_st_writer_add(wr, "optim.bf", CVL_ST_BF16, 1, (int64_t[]){4}, bf, &e);
            if (i == 4) st = cvl_st_writer_add(wr, "empty", CVL_ST_F32, 2, (int64_t[]){0, 7}, NULL, &e);
            if (i == 5) st = cvl_st_writer_add(wr, "d", CVL_ST_F64, 1, (int64_t[]){2}, d, &e);
            CHECK(st == CVL_OK, "pass %d: add tensor %d (%s)", pass, i, e.msg);
        }
        cvl_st_writer_meta(wr, "config", "{\"lr\": 0.1, \"name\": \"r\xc3\xa9sum\xc3\xa9\\n\"}\t\x01", &e);
        cvl_st_writer_meta(wr, "step", "1", &e);
        cvl_st_writer_meta(wr, "step", "1200", &e); /* replaces */
        CHECK(cvl_st_writer_add(wr, "d", CVL_ST_F32, 0, NULL, w, &e) == CVL_ERR_INVALID, "duplicate name refused");
        CHECK_STR_CONTAINS(e.msg, "tensor \"d\" added twice", "says which");
        cvl_err_clear(&e);
        CHECK(cvl_st_writer_add(wr, "__metadata__", CVL_ST_F32, 0, NULL, w, &e) == CVL_ERR_INVALID, "reserved name refused");
        cvl_err_clear(&e);
        CHECK(cvl_st_writer_add(wr, "neg", CVL_ST_F32, 1, (int64_t[]){-1}, w, &e) == CVL_ERR_INVALID, "negative dim refused");
        cvl_err_clear(&e);
        CHECK(cvl_st_writer_save(wr, pass ? path2 : path, &e) == CVL_OK, "pass %d: saved (%s)", pass, e.msg);
        cvl_st_writer_free(wr);
    }

    FILE *a = fopen(path, "rb"), *b = fopen(path2, "rb");
    static uint8_t ba[4096], bb[4096];
    size_t na = a ? fread(ba, 1, sizeof ba, a) : 0, nb = b ? fread(bb, 1, sizeof bb, b) : 1;
    if (a) fclose(a);
    if (b) fclose(b);
    CHECK(na == nb && memcmp(ba, bb, na) == 0, "insertion order does not change the bytes (%zu, %zu)", na, nb);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | ba[i];
    CHECK(hl % 8 == 0 && ba[8 + hl - 1] == ' ' && ba[8] == '{', "header is %llu bytes, space-padded to 8",
          (unsigned long long)hl);

    cvl_st_file *f;
    CHECK(cvl_st_open(&f, path, &e) == CVL_OK, "reads back (%s)", e.msg);
    if (f == NULL) return;
    CHECK(cvl_st_count(f) == 6, "6 tensors");
    for (int32_t i = 0; i < cvl_st_count(f); i++) {
        const cvl_st_tensor *t = cvl_st_at(f, i);
        CHECK(t->offset % cvl_st_dtype_size(t->dtype) == 0 && ((uintptr_t)t->data % cvl_st_dtype_size(t->dtype)) == 0,
              "%s at offset %zu is aligned for %s", t->name, t->offset, cvl_st_dtype_name(t->dtype));
    }
    const cvl_st_tensor *t;
    CHECK(cvl_st_expect(&t, f, "fc.weight", CVL_ST_F32, 2, (int64_t[]){2, 3}, &e) == CVL_OK &&
              memcmp(t->data, w, sizeof w) == 0,
          "F32 [2, 3] bit for bit");
    CHECK(cvl_st_expect(&t, f, "bn.num_batches_tracked", CVL_ST_I64, 0, NULL, &e) == CVL_OK &&
              memcmp(t->data, &step, 8) == 0,
          "I64 scalar");
    CHECK(cvl_st_expect(&t, f, "optim.bf", CVL_ST_BF16, 1, (int64_t[]){4}, &e) == CVL_OK && memcmp(t->data, bf, 8) == 0,
          "BF16");
    float bff[4];
    CHECK(cvl_st_to_f32(bff, t) && bff[0] == 1.0f && bff[1] == -3.140625f && bff[2] == 0x1p-133f && isinf(bff[3]),
          "BF16 converts exactly (%g %g %g %g)", bff[0], bff[1], bff[2], bff[3]);
    CHECK(cvl_st_expect(&t, f, "u8.bytes", CVL_ST_U8, 1, (int64_t[]){5}, &e) == CVL_OK && memcmp(t->data, bytes, 5) == 0,
          "U8, odd length");
    CHECK(cvl_st_expect(&t, f, "d", CVL_ST_F64, 1, (int64_t[]){2}, &e) == CVL_OK && memcmp(t->data, d, 16) == 0, "F64");
    CHECK(cvl_st_expect(&t, f, "empty", CVL_ST_F32, 2, (int64_t[]){0, 7}, &e) == CVL_OK && t->nbytes == 0, "empty tensor");
    CHECK(strcmp(cvl_st_meta(f, "step"), "1200") == 0, "metadata replaced");
    CHECK(strcmp(cvl_st_meta(f, "config"), "{\"lr\": 0.1, \"name\": \"r\xc3\xa9sum\xc3\xa9\\n\"}\t\x01") == 0,
          "metadata with quotes, UTF-8 and control characters");
    CHECK(cvl_st_meta_count(f) == 2, "two metadata entries");
    CHECK(cvl_st_expect(&t, f, "fc.weight", CVL_ST_F32, 2, (int64_t[]){3, 2}, &e) == CVL_ERR_INVALID && t == NULL,
          "wrong shape refused");
    CHECK_STR_CONTAINS(e.msg, "rt.safetensors: tensor \"fc.weight\" is F32 [2, 3], expected F32 [3, 2]", "names both shapes");
    cvl_err_clear(&e);
    CHECK(cvl_st_expect(&t, f, "fc.bias", CVL_ST_F32, 1, (int64_t[]){3}, &e) == CVL_ERR_INVALID, "missing tensor refused");
    CHECK_STR_CONTAINS(e.msg, "rt.safetensors: no tensor \"fc.bias\"", "names it");
    cvl_st_close(f);

    /* A failed save leaves the old file as it was. */
    cvl_st_writer *wr = cvl_st_writer_new();
    cvl_st_writer_add(wr, "x", CVL_ST_F32, 1, (int64_t[]){1}, w, &e);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.safetensors", tmpdir);
    cvl_err_clear(&e);
    CHECK(cvl_st_writer_save(wr, bad, &e) == CVL_ERR_IO, "save into a missing directory fails");
    CHECK_STR_CONTAINS(e.msg, "no-such-dir/x.safetensors", "names the path");
    uint8_t *mem;
    size_t msize;
    CHECK(cvl_st_writer_bytes(wr, &mem, &msize, &e) == CVL_OK && msize == 8 + 56 + 4, "in-memory form, %zu bytes", msize);
    CHECK(msize >= 64 && memcmp(mem + 8, "{\"x\":{\"data_offsets\":[0,4],\"dtype\":\"F32\",\"shape\":[1]}}  ", 56) == 0,
          "header text with sorted keys and padding");
    CHECK(cvl_st_open_mem(&f, mem, msize, "mem", &e) == CVL_OK && cvl_st_count(f) == 1, "in-memory form reads back");
    cvl_st_close(f);
    free(mem);
    cvl_st_writer_free(wr);
}

/* A file PyTorch wrote against the values it reported. */
static void check_fixture(const char *path, const json_t *want) {
    cvl_st_file *f;
    cvl_err e = {0};
    CHECK(cvl_st_open(&f, path, &e) == CVL_OK, "%s opens (%s)", path, e.msg);
    if (f == NULL) return;
    const json_t *tensors = json_object_get(want, "tensors"), *meta = json_object_get(want, "metadata");
    CHECK(cvl_st_count(f) == (int32_t)json_object_size(tensors), "%d tensors", cvl_st_count(f));
    const char *name;
    json_t *w;
    json_object_foreach((json_t *)tensors, name, w) {
        const cvl_st_tensor *t = cvl_st_find(f, name);
        cvl_st_dtype dt;
        cvl_st_dtype_parse(&dt, json_string_value(json_object_get(w, "dtype")));
        const json_t *shape = json_object_get(w, "shape"), *values = json_object_get(w, "values");
        int ok = t != NULL && t->dtype == dt && t->ndim == (int32_t)json_array_size(shape) &&
                 t->numel == (int64_t)json_array_size(values);
        for (int32_t i = 0; ok && i < t->ndim; i++) ok = t->shape[i] == json_integer_value(json_array_get(shape, (size_t)i));
        CHECK(ok, "%s: %s with the expected shape", name, json_string_value(json_object_get(w, "dtype")));
        if (!ok) continue;
        int bad = 0;
        if (dt == CVL_ST_I64) {
            for (int64_t i = 0; i < t->numel; i++) {
                int64_t v;
                memcpy(&v, (const uint8_t *)t->data + 8 * i, 8);
                bad += v != json_integer_value(json_array_get(values, (size_t)i));
            }
        } else {
            float *x = malloc((size_t)t->numel * sizeof *x + 1);
            ok = cvl_st_to_f32(x, t);
            for (int64_t i = 0; ok && i < t->numel; i++) {
                const json_t *v = json_array_get(values, (size_t)i);
                double ref = json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
                bad += (double)x[i] != ref || !signbit(x[i]) != !signbit(ref);
            }
            free(x);
        }
        CHECK(ok && bad == 0, "%s: %lld values exact (%d differ)", name, (long long)t->numel, bad);
    }
    const char *key;
    json_object_foreach((json_t *)meta, key, w) {
        const char *have = cvl_st_meta(f, key);
        CHECK(have && strcmp(have, json_string_value(w)) == 0, "metadata %s = %s", key, have ? have : "(absent)");
    }
    CHECK(cvl_st_meta_count(f) == (int32_t)json_object_size(meta), "%d metadata entries", cvl_st_meta_count(f));
    cvl_st_close(f);
}

static void test_fixtures(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/torch_plain.json", dir);
    json_error_t jerr;
    json_t *want = json_load_file(path, 0, &jerr);
    CHECK(want != NULL, "expected values load (%s)", jerr.text);
    if (want == NULL) return;
    /* Every .safetensors there holds the same tensors: the plain writer's
     * file, and the official package's where it was available. */
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (len < 12 || strcmp(de->d_name + len - 12, ".safetensors") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        check_fixture(path, want);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 1, "%d fixture files", n);
    json_decref(want);
}

int main(int argc, char **argv) {
    if (mkdtemp(tmpdir) == NULL) return 1;
    test_hostile_framing();
    test_hostile_entries();
    test_hostile_layout();
    test_open_errors();
    test_round_trip();
    test_fixtures(argc > 1 ? argv[1] : "tests/fixtures/safetensors");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return tap_done();
}
