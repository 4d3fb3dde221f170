/* libFuzzer: the safetensors reader on arbitrary bytes. Whatever it accepts
 * must be in bounds (every tensor's bytes are read), and must survive a
 * write and a second read unchanged (names, dtypes, shapes, bytes, metadata):
 * a difference is a bug and aborts. Built from tests/io/meson.build. */
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static volatile uint8_t sink;

static void check_same(const cvl_st_file *a, const cvl_st_file *b) {
    if (cvl_st_count(a) != cvl_st_count(b) || cvl_st_meta_count(a) != cvl_st_meta_count(b)) abort();
    for (int32_t i = 0; i < cvl_st_count(a); i++) {
        const cvl_st_tensor *x = cvl_st_at(a, i), *y = cvl_st_find(b, x->name);
        if (y == NULL || x->dtype != y->dtype || x->ndim != y->ndim || x->nbytes != y->nbytes) abort();
        if (x->ndim > 0 && memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof *x->shape) != 0) abort();
        if (x->nbytes > 0 && memcmp(x->data, y->data, x->nbytes) != 0) abort();
    }
    for (int32_t i = 0; i < cvl_st_meta_count(a); i++) {
        const char *v = cvl_st_meta(b, cvl_st_meta_key(a, i));
        if (v == NULL || strcmp(v, cvl_st_meta_value(a, i)) != 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvl_err e = {0};
    cvl_st_file *f;
    if (cvl_st_open_mem(&f, data, size, "fuzz", &e) != CVL_OK) {
        if (e.msg[0] == '\0' || strchr(e.msg, '\n')) abort(); /* one line, always */
        return 0;
    }
    uint8_t sum = 0;
    cvl_st_writer *w = cvl_st_writer_new();
    for (int32_t i = 0; i < cvl_st_count(f); i++) {
        const cvl_st_tensor *t = cvl_st_at(f, i);
        for (size_t k = 0; k < t->nbytes; k++) sum += ((const uint8_t *)t->data)[k];
        float *x = malloc((size_t)t->numel * sizeof *x + 1);
        if (x && cvl_st_to_f32(x, t) && t->numel > 0) sum += (uint8_t)(x[0] == x[0]);
        free(x);
        if (cvl_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, &e) != CVL_OK) abort();
    }
    for (int32_t i = 0; i < cvl_st_meta_count(f); i++)
        if (cvl_st_writer_meta(w, cvl_st_meta_key(f, i), cvl_st_meta_value(f, i), &e) != CVL_OK) abort();
    sink = sum;
    uint8_t *out;
    size_t n;
    cvl_st_file *g;
    if (cvl_st_writer_bytes(w, &out, &n, &e) != CVL_OK || cvl_st_open_mem(&g, out, n, "again", &e) != CVL_OK) abort();
    check_same(f, g);
    cvl_st_close(g);
    free(out);
    cvl_st_writer_free(w);
    cvl_st_close(f);
    return 0;
}
