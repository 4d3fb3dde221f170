#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cvl_atomic_file {
    FILE *fp;
    char *path; /* the target */
    char *tmp;  /* the temporary file beside it */
    char *dir;  /* the directory both live in */
};

static unsigned tmp_counter; /* distinct names for threads of one process */

static void atomic_free(cvl_atomic_file *f) {
    free(f->path);
    free(f->tmp);
    free(f->dir);
    free(f);
}

/* Splits `path` into its directory ("." when none) and its last component. */
static cvl_status split_path(char **dir, const char **base, const char *path, cvl_err *e) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (**base == '\0') return cvl_err_set(e, CVL_ERR_INVALID, "cannot write %s: it names a directory", path);
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash == path) n = 1; /* "/name": the root directory */
    *dir = malloc(n + 1);
    if (*dir == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "cannot write %s: out of memory", path);
    memcpy(*dir, slash ? path : ".", n);
    (*dir)[n] = '\0';
    return CVL_OK;
}

cvl_status cvl_atomic_open(cvl_atomic_file **out, const char *path, cvl_err *e) {
    *out = NULL;
    cvl_atomic_file *f = calloc(1, sizeof *f);
    const char *base;
    if (f == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "cannot write %s: out of memory", path);
    if (split_path(&f->dir, &base, path, e) != CVL_OK) {
        atomic_free(f);
        return e ? e->status : CVL_ERR_INVALID;
    }
    size_t cap = strlen(path) + 64;
    f->path = strdup(path);
    f->tmp = malloc(cap);
    if (f->path == NULL || f->tmp == NULL) {
        atomic_free(f);
        return cvl_err_set(e, CVL_ERR_NOMEM, "cannot write %s: out of memory", path);
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned n = __atomic_fetch_add(&tmp_counter, 1, __ATOMIC_RELAXED);
        snprintf(f->tmp, cap, "%s/.%s.tmp-%ld-%u", f->dir, base, (long)getpid(), n);
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        cvl_status st = cvl_err_set(e, CVL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        atomic_free(f);
        return st;
    }
    f->fp = fdopen(fd, "wb");
    if (f->fp == NULL) {
        cvl_status st = cvl_err_set(e, CVL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(f->tmp);
        atomic_free(f);
        return st;
    }
    *out = f;
    return CVL_OK;
}

FILE *cvl_atomic_stream(cvl_atomic_file *f) {
    return f->fp;
}

const char *cvl_atomic_path(const cvl_atomic_file *f) {
    return f->path;
}

void cvl_atomic_abort(cvl_atomic_file *f) {
    if (f == NULL) return;
    if (f->fp) fclose(f->fp);
    unlink(f->tmp);
    atomic_free(f);
}

/* Makes the rename durable. Best effort: the new file is already in place,
 * and some file systems refuse fsync on a directory. */
static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

cvl_status cvl_atomic_commit(cvl_atomic_file *f, cvl_err *e) {
    int err = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp)) err = errno ? errno : EIO;
    if (!err && fsync(fileno(f->fp)) != 0) err = errno;
    if (fclose(f->fp) != 0 && !err) err = errno;
    f->fp = NULL;
    if (!err && rename(f->tmp, f->path) != 0) err = errno;
    if (err) {
        cvl_status st = cvl_err_set(e, CVL_ERR_IO, "cannot write %s: %s", f->path, strerror(err));
        unlink(f->tmp);
        atomic_free(f);
        return st;
    }
    sync_dir(f->dir);
    atomic_free(f);
    return CVL_OK;
}

cvl_status cvl_atomic_write(const char *path, const void *data, size_t size, cvl_err *e) {
    cvl_atomic_file *f;
    cvl_status st = cvl_atomic_open(&f, path, e);
    if (st != CVL_OK) return st;
    if (size > 0) fwrite(data, 1, size, f->fp);
    return cvl_atomic_commit(f, e);
}

cvl_status cvl_atomic_copy(const char *dst, const char *src, cvl_err *e) {
    FILE *in = fopen(src, "rb");
    if (in == NULL) return cvl_err_set(e, CVL_ERR_IO, "cannot read %s: %s", src, strerror(errno));
    cvl_atomic_file *f;
    cvl_status st = cvl_atomic_open(&f, dst, e);
    if (st != CVL_OK) {
        fclose(in);
        return st;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, f->fp);
    int read_err = ferror(in) ? (errno ? errno : EIO) : 0;
    fclose(in);
    if (read_err) {
        cvl_atomic_abort(f);
        return cvl_err_set(e, CVL_ERR_IO, "cannot read %s: %s", src, strerror(read_err));
    }
    return cvl_atomic_commit(f, e);
}
