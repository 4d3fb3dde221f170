/* fsutil.h -- file-system helpers shared by the host. */
#ifndef CVL_UTIL_FSUTIL_H
#define CVL_UTIL_FSUTIL_H

#include <stddef.h>

#include "util/err.h"

/* mkdir -p: creates `path` and every missing parent. A component that
 * exists but is not a directory, or cannot be created, fails with one line
 * naming it and why. */
cvl_status cvl_mkdirs(const char *path, cvl_err *e);

/* mkdir -p of the directory part of `path` (everything before its last
 * '/'; nothing when there is none). */
cvl_status cvl_mkdirs_parent(const char *path, cvl_err *e);

/* The file name of `path` without directory and without its last
 * extension: "examples/fashion_mnist/cnn.json" -> "cnn". */
char *cvl_path_stem(char *out, size_t n, const char *path);

#endif
