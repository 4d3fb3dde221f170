/* fsutil.c -- mkdir -p and path stems. */
#include "util/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static cvl_status mkdir_one(const char *path, cvl_err *e) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return CVL_OK;
        return cvl_err_set(e, CVL_ERR_IO, "%s: exists and is not a directory", path);
    }
    return cvl_err_set(e, CVL_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
}

/* mkdir -p of the first `len` bytes of path. */
static cvl_status mkdirs_n(const char *path, size_t len, cvl_err *e) {
    char buf[PATH_MAX];
    if (len >= sizeof buf) return cvl_err_set(e, CVL_ERR_INVALID, "%s: path too long", path);
    memcpy(buf, path, len);
    buf[len] = '\0';
    if (len == 0) return CVL_OK;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            cvl_status st = mkdir_one(buf, e);
            *p = '/';
            if (st != CVL_OK) return st;
        }
    return mkdir_one(buf, e);
}

cvl_status cvl_mkdirs(const char *path, cvl_err *e) { return mkdirs_n(path, strlen(path), e); }

cvl_status cvl_mkdirs_parent(const char *path, cvl_err *e) {
    const char *slash = strrchr(path, '/');
    return slash == NULL ? CVL_OK : mkdirs_n(path, (size_t)(slash - path), e);
}

char *cvl_path_stem(char *out, size_t n, const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(out, n, "%.*s", (int)len, base);
    return out;
}
