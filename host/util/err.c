#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages are one line whatever they quote (a tensor name or a CSV field
 * from a hostile file may hold a newline or an escape sequence): control
 * characters become '?'. */
static void one_line(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = *s == '\t' ? ' ' : '?';
}

cvl_status cvl_err_set(cvl_err *e, cvl_status status, const char *fmt, ...) {
    if (e == NULL || e->status != CVL_OK) {
        return status;
    }
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    one_line(e->msg);
    return status;
}

cvl_status cvl_err_prefix(cvl_err *e, const char *fmt, ...) {
    if (e == NULL) {
        return CVL_ERR_INTERNAL;
    }
    char prefix[CVL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t lp = strlen(prefix), lm = strlen(e->msg);
    if (lp + lm >= sizeof e->msg) lm = sizeof e->msg - 1 - lp;
    memmove(e->msg + lp, e->msg, lm);
    memcpy(e->msg, prefix, lp);
    e->msg[lp + lm] = '\0';
    one_line(e->msg);
    return e->status;
}

void cvl_err_clear(cvl_err *e) {
    if (e != NULL) {
        e->status = CVL_OK;
        e->msg[0] = '\0';
    }
}

const char *cvl_status_name(cvl_status status) {
    switch (status) {
    case CVL_OK: return "ok";
    case CVL_ERR_INVALID: return "invalid";
    case CVL_ERR_UNSUPPORTED: return "unsupported";
    case CVL_ERR_NOMEM: return "out of memory";
    case CVL_ERR_IO: return "i/o error";
    case CVL_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}
