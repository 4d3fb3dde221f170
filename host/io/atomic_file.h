/* atomic_file.h -- replace a file all at once or not at all.
 *
 * Every output a run leaves behind (checkpoints, the resolved config, PNG
 * grids, report.html, MLflow meta files) goes through here, so a crash, a
 * full disk or a kill at any moment leaves either the old file or the new
 * one at `path`, never a torn one.
 *
 * How: the bytes go to a temporary file in the same directory as `path`
 * (".<name>.tmp-<pid>-<n>", created O_EXCL with mode 0666 & ~umask), which is
 * flushed and fsync'ed, then rename()d over `path`, then the directory is
 * fsync'ed so the rename itself survives a power cut. On any failure the
 * temporary file is unlinked and `path` is left as it was.
 *
 *   cvl_atomic_file *f;
 *   if (cvl_atomic_open(&f, "runs/x/config.json", &e) != CVL_OK) return e.status;
 *   fprintf(cvl_atomic_stream(f), "...");        // or fwrite, any number of times
 *   return cvl_atomic_commit(f, &e);             // frees f, whatever happens
 *
 * Write errors on the stream are sticky (ferror) and reported by commit with
 * the path and strerror. One-shot form: cvl_atomic_write(path, data, size, &e).
 */
#ifndef CVL_IO_ATOMIC_FILE_H
#define CVL_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

typedef struct cvl_atomic_file cvl_atomic_file;

/* Creates the temporary file next to `path`. The directory must exist. */
cvl_status cvl_atomic_open(cvl_atomic_file **out, const char *path, cvl_err *e);

/* The stream to write the new contents to. Owned by `f`: do not fclose it. */
FILE *cvl_atomic_stream(cvl_atomic_file *f);

/* The path the file will have once committed. */
const char *cvl_atomic_path(const cvl_atomic_file *f);

/* Flush, fsync, rename over the target, fsync the directory. Frees `f` on
 * success and on failure; on failure the target is untouched. */
cvl_status cvl_atomic_commit(cvl_atomic_file *f, cvl_err *e);

/* Gives up: removes the temporary file and frees `f` (NULL is fine). */
void cvl_atomic_abort(cvl_atomic_file *f);

/* Writes `size` bytes of `data` as the whole new contents of `path`. */
cvl_status cvl_atomic_write(const char *path, const void *data, size_t size, cvl_err *e);

/* Copies the file `src` to `dst` atomically (for artifacts). */
cvl_status cvl_atomic_copy(const char *dst, const char *src, cvl_err *e);

#endif
