/* f16_test.h -- shared pieces of the 16-bit-storage tests (vk_matmul_f16,
 * vk_conv_f16): inputs rounded to half, the normalised error, and one run of
 * an op on half or float operands. */
#ifndef CVL_TEST_F16_TEST_H
#define CVL_TEST_F16_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vk_test.h"

/* h[i] = half(f[i]) and fr[i] = float(h[i]): the halves a 16-bit run
 * reads, and the same values as floats for the fp32 runs and references. */
static inline void f16_test_round(const float *f, uint16_t *h, float *fr, size_t n) {
    for (size_t i = 0; i < n; i++) fr[i] = cvl_vk_float_from_half(h[i] = cvl_vk_half_from_float(f[i]));
}

/* max |got - want| / max |want| */
static inline double f16_test_norm_err(const float *got, const double *want, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        if (!(e <= d)) d = e; /* NaN counts as worst */
        if (fabs(want[i]) > m) m = fabs(want[i]);
    }
    return m > 0 ? d / m : d;
}

/* f16_test_norm_err of `got` against the fp32 run's `got32`; INFINITY when
 * either is missing. */
static inline double f16_test_vs_fp32(const float *got, const float *got32, size_t n) {
    if (!got || !got32) return INFINITY;
    double *w32 = malloc(n * sizeof *w32);
    if (!w32) return INFINITY;
    for (size_t i = 0; i < n; i++) w32[i] = got32[i];
    double err = f16_test_norm_err(got, w32, n);
    free(w32);
    return err;
}

/* A device buffer holding `bytes` bytes from `host`. */
static inline cvl_vk_buffer f16_test_upload_bytes(cvl_vk_device *dev, const void *host, size_t bytes) {
    cvl_vk_buffer b = {0};
    cvl_err e = {0};
    if (cvl_vk_alloc(&b, dev, bytes, "test", &e) != CVL_OK || cvl_vk_upload(dev, &b, 0, host, bytes, &e) != CVL_OK)
        printf("# upload: %s\n", e.msg);
    return b;
}

/* Records the op under test into `seq`: out from a and b, which hold halves
 * when f16 is set and floats otherwise; `arg`: the op's arguments. */
typedef cvl_status (*f16_test_op)(cvl_vk_seq *seq, cvl_vk_buffer *out, cvl_vk_buffer *a, cvl_vk_buffer *b, bool f16,
                                  const void *arg, cvl_err *e);

/* Uploads a (na elements) and b (nb; halves when f16, floats otherwise) and
 * an output of n_out floats holding out0 (NULL: left as is), records `op`
 * in a sequence named `name`, runs it and returns the output downloaded, or
 * NULL (e says why). *dispatches (when not NULL): how many the op recorded. */
static inline float *f16_test_run(cvl_vk_device *dev, const char *name, f16_test_op op, const void *arg, bool f16,
                                  const void *a, size_t na, const void *b, size_t nb, const float *out0, size_t n_out,
                                  uint32_t *dispatches, cvl_err *e) {
    size_t es = f16 ? 2 : 4;
    cvl_vk_buffer da = f16_test_upload_bytes(dev, a, na * es), db = f16_test_upload_bytes(dev, b, nb * es);
    cvl_vk_buffer dout = vk_test_upload(dev, out0, n_out);
    cvl_vk_seq *seq = NULL;
    cvl_status st = cvl_vk_seq_new(&seq, dev, name, e);
    if (st == CVL_OK) st = op(seq, &dout, &da, &db, f16, arg, e);
    if (dispatches) *dispatches = seq ? cvl_vk_seq_get_stats(seq).dispatches : 0;
    if (st == CVL_OK) st = cvl_vk_seq_end(seq, e);
    if (st == CVL_OK) st = cvl_vk_seq_run(seq, e);
    float *got = st == CVL_OK ? vk_test_download(dev, &dout, n_out) : NULL;
    cvl_vk_seq_free(seq);
    cvl_vk_release(dev, &da);
    cvl_vk_release(dev, &db);
    cvl_vk_release(dev, &dout);
    return got;
}

#endif
