#include "io/metrics_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct cvl_metrics_log {
    int fd;
    char *path;
};

const char *cvl_format_double(char buf[32], double v) {
    if (isnan(v)) return strcpy(buf, "NaN");
    if (isinf(v)) return strcpy(buf, v > 0 ? "Infinity" : "-Infinity");
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* %g switches to an exponent once the integer digits outnumber the
     * precision ("1e+02"); write such numbers out in full below 1e15, where
     * they are integers a double holds exactly, so the digits added are 0s. */
    int exp10 = v != 0 ? (int)floor(log10(fabs(v))) : 0;
    if (exp10 >= prec && exp10 < 15) prec = exp10 + 1;
    snprintf(buf, 32, "%.*g", prec, v);
    return buf;
}

/* A growable line. */
typedef struct line {
    char *p;
    size_t len, cap;
    bool oom;
} line;

static void put(line *l, const char *s, size_t n) {
    if (l->oom) return;
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->len + n + 1) * 2;
        char *p = realloc(l->p, cap);
        if (p == NULL) {
            l->oom = true;
            return;
        }
        l->p = p;
        l->cap = cap;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
    l->p[l->len] = '\0';
}

static void puts_(line *l, const char *s) {
    put(l, s, strlen(s));
}

/* s as a JSON string (jansson escapes it); false when s is not UTF-8. */
static bool put_string(line *l, const char *s) {
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (text == NULL) return false;
    puts_(l, text);
    free(text);
    return true;
}

static cvl_status put_field(line *l, const cvl_metrics_log *m, const cvl_metric_field *f, cvl_err *e) {
    char buf[32];
    puts_(l, ",");
    if (f->key == NULL || !put_string(l, f->key))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: a metric key is missing or not UTF-8", m->path);
    puts_(l, ":");
    switch (f->kind) {
    case CVL_METRIC_KIND_NUM: {
        const char *s = cvl_format_double(buf, f->num);
        if (!isfinite(f->num)) put_string(l, s);
        else puts_(l, s);
        break;
    }
    case CVL_METRIC_KIND_INT:
        snprintf(buf, sizeof buf, "%" PRId64, f->i);
        puts_(l, buf);
        break;
    case CVL_METRIC_KIND_STR:
        if (f->str == NULL || !put_string(l, f->str))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: metric \"%s\": value is missing or not UTF-8", m->path, f->key);
        break;
    default: return cvl_err_set(e, CVL_ERR_INVALID, "%s: metric \"%s\": unknown kind %d", m->path, f->key, (int)f->kind);
    }
    return CVL_OK;
}

static cvl_status check_keys(const cvl_metrics_log *m, const cvl_metric_field *fields, int32_t n, cvl_err *e) {
    static const char *const reserved[] = {"step", "epoch", "time"};
    for (int32_t i = 0; i < n; i++) {
        const char *k = fields[i].key ? fields[i].key : "";
        for (int r = 0; r < 3; r++)
            if (strcmp(k, reserved[r]) == 0)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: metric key \"%s\" is reserved", m->path, k);
        for (int32_t j = 0; j < i; j++)
            if (fields[j].key && strcmp(k, fields[j].key) == 0)
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: metric key \"%s\" given twice", m->path, k);
    }
    return CVL_OK;
}

/* Writes all of s in one go where the kernel allows; on failure cuts the
 * file back to `keep` bytes so no partial line stays. */
static cvl_status append(const cvl_metrics_log *m, const char *s, size_t n, cvl_err *e) {
    struct stat sb;
    off_t keep = fstat(m->fd, &sb) == 0 ? sb.st_size : -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(m->fd, s + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            int rc = keep >= 0 ? ftruncate(m->fd, keep) : 0; /* a failure here leaves the torn tail */
            (void)rc;
            return cvl_err_set(e, CVL_ERR_IO, "%s: cannot append: %s", m->path, strerror(err));
        }
        done += (size_t)w;
    }
    return CVL_OK;
}

cvl_status cvl_metrics_write(cvl_metrics_log *m, int64_t step, int64_t epoch, const cvl_metric_field *fields,
                             int32_t n_fields, cvl_err *e) {
    cvl_status st = check_keys(m, fields, n_fields, e);
    if (st != CVL_OK) return st;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char head[128];
    snprintf(head, sizeof head, "{\"step\":%" PRId64 ",\"epoch\":%" PRId64 ",\"time\":%lld.%03ld", step, epoch,
             (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    line l = {0};
    puts_(&l, head);
    for (int32_t i = 0; i < n_fields && st == CVL_OK; i++) st = put_field(&l, m, &fields[i], e);
    puts_(&l, "}\n");
    if (st == CVL_OK && l.oom) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", m->path);
    if (st == CVL_OK) st = append(m, l.p, l.len, e);
    free(l.p);
    return st;
}

cvl_status cvl_metrics_open(cvl_metrics_log **out, const char *path, cvl_err *e) {
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    cvl_metrics_log *m = calloc(1, sizeof *m);
    if (m == NULL || (m->path = strdup(path)) == NULL) {
        free(m);
        close(fd);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    m->fd = fd;
    struct stat sb;
    char last = '\n';
    if (fstat(fd, &sb) == 0 && sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1) last = '\n';
    if (last != '\n') {
        cvl_status st = append(m, "\n", 1, e);
        if (st != CVL_OK) {
            cvl_metrics_close(m);
            return st;
        }
    }
    *out = m;
    return CVL_OK;
}

void cvl_metrics_close(cvl_metrics_log *m) {
    if (m == NULL) return;
    (void)fsync(m->fd);
    close(m->fd);
    free(m->path);
    free(m);
}
