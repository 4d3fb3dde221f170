/* harness.h -- a minimal TAP producer for the C tests (meson protocol 'tap').
 *
 *   CHECK(cond, "what %d", x);          one TAP line; the test goes on
 *   CHECK_NEAR(a, b, tol, "what");      |a-b| <= tol * max(1, |b|)
 *   CHECK_STR_CONTAINS(hay, needle, "what");
 *   max_rel_err(got, want, n)           max |got - want| / max |want|
 *   return tap_done();                  plan line, exit status
 */
#ifndef CVL_TEST_HARNESS_H
#define CVL_TEST_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_result(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void tap_result(int ok, const char *file, int line, const char *fmt, ...) {
    tap_n++;
    if (!ok) tap_failed++;
    printf("%sok %d - ", ok ? "" : "not ", tap_n);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok) printf("# failed at %s:%d\n", file, line);
    fflush(stdout);
}

#define CHECK(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_NEAR(a, b, tol, ...)                                                        \
    do {                                                                                  \
        double a_ = (double)(a), b_ = (double)(b);                                        \
        double s_ = fabs(b_) > 1.0 ? fabs(b_) : 1.0;                                      \
        int ok_ = fabs(a_ - b_) <= (tol) * s_;                                            \
        if (!ok_) printf("# got %.9g, want %.9g (tol %g)\n", a_, b_, (double)(tol));      \
        tap_result(ok_, __FILE__, __LINE__, __VA_ARGS__);                                 \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle, ...)                                              \
    do {                                                                                  \
        const char *h_ = (hay), *n_ = (needle);                                           \
        int ok_ = h_ != NULL && strstr(h_, n_) != NULL;                                   \
        if (!ok_) printf("# '%s' not found in: %s\n", n_, h_ ? h_ : "(null)");            \
        tap_result(ok_, __FILE__, __LINE__, __VA_ARGS__);                                 \
    } while (0)

/* max |got - want| / max |want| over n floats (a NaN difference counts as
 * the worst), the normalised error the parity tests bound. */
static inline double max_rel_err(const float *got, const float *want, size_t n) {
    double md = 0, mw = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= md)) md = d;
        mw = fmax(mw, fabs((double)want[i]));
    }
    return md / fmax(mw, 1e-30);
}

static inline int tap_done(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
