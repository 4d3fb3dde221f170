/* err.h -- the error record every fallible host function fills.
 *
 * A function that a user can make fail (bad file, bad config, bad plugin)
 * returns a cvl_status and, when it is not CVL_OK, leaves a one-line message
 * in a cvl_err that names the file, key or plugin and what is wrong. Bugs are
 * asserts, never statuses. Nothing in the library calls exit(). */
#ifndef CVL_UTIL_ERR_H
#define CVL_UTIL_ERR_H

#include <cvl/plugin.h>

#define CVL_ERR_MSG_MAX 1024

typedef struct cvl_err {
    cvl_status status;
    char msg[CVL_ERR_MSG_MAX];
} cvl_err;

/* Records status and message (printf-style) in `e` (which may be NULL) and
 * returns `status`. The first error wins: a set error is not overwritten,
 * so the innermost, most specific message reaches the user. */
cvl_status cvl_err_set(cvl_err *e, cvl_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cvl_err_set but always overwrites; for adding context on the way out:
 * cvl_err_wrap(e, "config %s: ", path) prefixes the current message. */
cvl_status cvl_err_prefix(cvl_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cvl_err_clear(cvl_err *e);

/* "invalid", "unsupported", ... for messages. */
const char *cvl_status_name(cvl_status status);

#endif
