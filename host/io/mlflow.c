/* The MLflow file store, written directly (layout in mlflow.h). */
#include "io/mlflow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/metrics_log.h"
#include "util/fsutil.h"

#define MAX_PARAM_VALUE 6000

struct cvl_mlflow_run {
    char root[PATH_MAX];
    char dir[PATH_MAX]; /* root/exp/run_id */
    char exp[32];
    char id[33];
    char *name, *user;
    int64_t start_ms;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void random_bytes(uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* getrandom cannot fail for small requests once the pool is ready; the
     * clock keeps ids distinct even if it somehow did. */
    for (int64_t t = now_ms() ^ (int64_t)getpid() << 20; got < n; got++, t >>= 3) p[got] = (uint8_t)t;
}

/* 'value' as a YAML single-quoted scalar into f; false on control characters. */
static bool yaml_quoted(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
    return true;
}

static bool printable(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

/* A key MLflow accepts: [A-Za-z0-9_.- /], not empty, no "..", no leading '/'. */
static bool valid_key(const char *k) {
    if (k == NULL || k[0] == '\0' || k[0] == '/' || strlen(k) > 250 || strstr(k, "..")) return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_-. /", *p)))
            return false;
    return k[strlen(k) - 1] != '/';
}

/* file:// + the absolute path, percent-encoded as Python's pathlib does
 * (only letters, digits, "/_.-~" stay as they are). */
static void file_uri(char *out, size_t cap, const char *abs) {
    size_t n = (size_t)snprintf(out, cap, "file://");
    for (const unsigned char *p = (const unsigned char *)abs; *p && n + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/_.-~", *p))
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
    }
    out[n] = '\0';
}

static cvl_status abs_path(char out[PATH_MAX], const char *path, cvl_err *e) {
    if (realpath(path, out) == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: %s", path, strerror(errno));
    return CVL_OK;
}

static cvl_status write_experiment_meta(const char *root_abs, const char *id, const char *name, cvl_err *e) {
    char dir[PATH_MAX], path[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", root_abs, id);
    cvl_status st = cvl_mkdirs(dir, e);
    if (st != CVL_OK) return st;
    snprintf(path, sizeof path, "%s/meta.yaml", dir);
    cvl_atomic_file *f;
    if ((st = cvl_atomic_open(&f, path, e)) != CVL_OK) return st;
    FILE *fp = cvl_atomic_stream(f);
    int64_t t = now_ms();
    char uri[3 * PATH_MAX + 8];
    file_uri(uri, sizeof uri, dir);
    fprintf(fp, "artifact_location: %s\n", uri);
    fprintf(fp, "creation_time: %" PRId64 "\nexperiment_id: '%s'\nlast_update_time: %" PRId64
                "\nlifecycle_stage: active\nname: ",
            t, id, t);
    yaml_quoted(fp, name);
    fputc('\n', fp);
    return cvl_atomic_commit(f, e);
}

/* Appends code point c as UTF-8. */
static size_t put_utf8(char *out, size_t n, size_t cap, unsigned long c) {
    char b[4];
    size_t k = c < 0x80 ? (b[0] = (char)c, 1)
               : c < 0x800 ? (b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 63)), 2)
               : c < 0x10000 ? (b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | (c >> 6 & 63)),
                                b[2] = (char)(0x80 | (c & 63)), 3)
                             : (b[0] = (char)(0xf0 | (c >> 18 & 7)), b[1] = (char)(0x80 | (c >> 12 & 63)),
                                b[2] = (char)(0x80 | (c >> 6 & 63)), b[3] = (char)(0x80 | (c & 63)), 4);
    if (n + k < cap) memcpy(out + n, b, k);
    return n + k < cap ? n + k : n;
}

/* The contents of a YAML double-quoted scalar (PyYAML escapes non-ASCII as
 * \xHH, \uHHHH, \UHHHHHHHH unless told otherwise). */
static size_t yaml_unescape(char *out, size_t cap, const char *p) {
    size_t n = 0;
    for (; *p && *p != '"' && n + 1 < cap; p++) {
        if (*p != '\\' || p[1] == '\0') {
            out[n++] = *p;
            continue;
        }
        p++;
        int hex = *p == 'x' ? 2 : *p == 'u' ? 4 : *p == 'U' ? 8 : 0;
        if (hex) {
            char digits[9] = {0};
            memcpy(digits, p + 1, (size_t)hex);
            if (strlen(digits) != (size_t)hex || strspn(digits, "0123456789abcdefABCDEF") != (size_t)hex) break;
            n = put_utf8(out, n, cap, strtoul(digits, NULL, 16));
            p += hex;
            continue;
        }
        const char *from = "tnr0\"/ ", *to = "\t\n\r\0\"\\/ ";
        const char *at = strchr(from, *p);
        out[n++] = at ? to[at - from] : *p;
    }
    out[n] = '\0';
    return n;
}

/* Reads a YAML scalar value for `key` from a meta.yaml MLflow wrote: plain,
 * single- or double-quoted, folded onto indented continuation lines. */
static bool yaml_get(char *out, size_t cap, const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return false;
    char ln[4096], val[4096] = "";
    bool found = false;
    size_t klen = strlen(key);
    while (fgets(ln, sizeof ln, f)) {
        ln[strcspn(ln, "\r\n")] = '\0';
        if (found) {
            if (ln[0] != ' ') break;
            size_t at = strlen(val);
            bool joined = at > 0 && val[at - 1] == '\\'; /* a double-quoted line break with no space */
            if (joined) val[--at] = '\0';
            snprintf(val + at, sizeof val - at, "%s%s", joined ? "" : " ", ln + strspn(ln, " "));
        } else if (strncmp(ln, key, klen) == 0 && ln[klen] == ':') {
            snprintf(val, sizeof val, "%s", ln + klen + 1 + strspn(ln + klen + 1, " "));
            found = true;
        }
    }
    fclose(f);
    if (!found) return false;
    size_t n = 0;
    if (val[0] == '"') return yaml_unescape(out, cap, val + 1), true;
    if (val[0] == '\'') {
        for (const char *p = val + 1; *p && n + 1 < cap; p++) {
            if (p[0] == '\'' && p[1] == '\'') p++;
            else if (*p == '\'') break;
            out[n++] = *p;
        }
    } else {
        n = strlen(val);
        while (n > 0 && val[n - 1] == ' ') n--;
        if (n >= cap) n = cap - 1;
        memcpy(out, val, n);
    }
    out[n] = '\0';
    return true;
}

/* Makes root, .trash and the Default experiment, as MLflow does for a new store. */
static cvl_status ensure_root(char root_abs[PATH_MAX], const char *root, cvl_err *e) {
    struct stat sb;
    bool fresh = stat(root, &sb) != 0;
    cvl_status st = cvl_mkdirs(root, e);
    if (st == CVL_OK) st = abs_path(root_abs, root, e);
    if (st != CVL_OK) return st;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.trash", root_abs);
    if ((st = cvl_mkdirs(path, e)) != CVL_OK) return st;
    snprintf(path, sizeof path, "%s/0/meta.yaml", root_abs);
    if (fresh || stat(path, &sb) != 0) st = write_experiment_meta(root_abs, "0", "Default", e);
    return st;
}

cvl_status cvl_mlflow_experiment(char id_out[32], const char *root, const char *name, cvl_err *e) {
    id_out[0] = '\0';
    if (name == NULL || name[0] == '\0' || !printable(name))
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: experiment name \"%s\" is empty or has control characters",
                           name ? name : "");
    char root_abs[PATH_MAX];
    cvl_status st = ensure_root(root_abs, root, e);
    if (st != CVL_OK) return st;
    DIR *d = opendir(root_abs);
    if (d == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot list: %s", root_abs, strerror(errno));
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.' || strlen(de->d_name) >= 32) continue;
        char path[PATH_MAX + 300], have[1024];
        snprintf(path, sizeof path, "%s/%s/meta.yaml", root_abs, de->d_name);
        if (yaml_get(have, sizeof have, path, "name") && strcmp(have, name) == 0) {
            memcpy(id_out, de->d_name, strlen(de->d_name) + 1); /* < 32 bytes, checked above */
            break;
        }
    }
    closedir(d);
    if (id_out[0]) return CVL_OK;
    /* A fresh 18-digit id, as MLflow makes them; never one whose folder
     * exists already (a deleted experiment's, or one a racing run made). */
    for (int tries = 0;; tries++) {
        uint8_t rnd[8];
        random_bytes(rnd, sizeof rnd);
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | rnd[i];
        snprintf(id_out, 32, "%" PRIu64, (uint64_t)(100000000000000000ULL + v % 900000000000000000ULL));
        char path[PATH_MAX + 40];
        snprintf(path, sizeof path, "%s/%s", root_abs, id_out);
        struct stat sb;
        if (stat(path, &sb) != 0) break;
        if (tries == 100) {
            id_out[0] = '\0';
            return cvl_err_set(e, CVL_ERR_IO, "%s: cannot find an unused experiment id", root_abs);
        }
    }
    st = write_experiment_meta(root_abs, id_out, name, e);
    if (st != CVL_OK) id_out[0] = '\0';
    return st;
}

/* meta.yaml of a run, keys sorted as PyYAML writes them. */
static cvl_status write_run_meta(const cvl_mlflow_run *r, cvl_mlflow_status status, int64_t end_ms, cvl_err *e) {
    char path[PATH_MAX + 16], uri[3 * PATH_MAX + 32], artifacts[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.yaml", r->dir);
    snprintf(artifacts, sizeof artifacts, "%s/artifacts", r->dir);
    file_uri(uri, sizeof uri, artifacts);
    cvl_atomic_file *f;
    cvl_status st = cvl_atomic_open(&f, path, e);
    if (st != CVL_OK) return st;
    FILE *fp = cvl_atomic_stream(f);
    fprintf(fp, "artifact_uri: %s\n", uri);
    if (end_ms > 0) fprintf(fp, "end_time: %" PRId64 "\n", end_ms);
    else fprintf(fp, "end_time: null\n");
    fprintf(fp, "entry_point_name: ''\nexperiment_id: '%s'\nlifecycle_stage: active\nrun_id: %s\nrun_name: ", r->exp,
            r->id);
    yaml_quoted(fp, r->name);
    fprintf(fp, "\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: %" PRId64
                "\nstatus: %d\ntags: []\nuser_id: ",
            r->id, r->start_ms, (int)status);
    yaml_quoted(fp, r->user);
    fputc('\n', fp);
    return cvl_atomic_commit(f, e);
}

static void run_free(cvl_mlflow_run *r) {
    if (r == NULL) return;
    free(r->name);
    free(r->user);
    free(r);
}

static char *user_name(void) {
    const char *u = getenv("USER");
    struct passwd *pw = (u && *u) ? NULL : getpwuid(getuid());
    if (pw) u = pw->pw_name;
    return strdup(u && *u && printable(u) ? u : "unknown");
}

cvl_status cvl_mlflow_run_start(cvl_mlflow_run **out, const char *root, const char *experiment_id,
                                const char *run_name, cvl_err *e) {
    *out = NULL;
    if (experiment_id == NULL || experiment_id[0] == '\0' || strspn(experiment_id, "0123456789") != strlen(experiment_id) ||
        strlen(experiment_id) >= 32)
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: experiment id \"%s\" is not a number",
                           experiment_id ? experiment_id : "");
    if (run_name && !printable(run_name))
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: run name has control characters");
    cvl_mlflow_run *r = calloc(1, sizeof *r);
    if (r == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "mlflow: out of memory");
    cvl_status st = abs_path(r->root, root, e);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s/meta.yaml", r->root, experiment_id);
    struct stat sb;
    if (st == CVL_OK && stat(path, &sb) != 0)
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: no experiment %s (no meta.yaml)", r->root, experiment_id);
    uint8_t rnd[16];
    random_bytes(rnd, sizeof rnd);
    for (int i = 0; i < 16; i++) snprintf(r->id + 2 * i, 3, "%02x", rnd[i]);
    snprintf(r->exp, sizeof r->exp, "%s", experiment_id);
    r->start_ms = now_ms();
    r->user = user_name();
    if (run_name) {
        r->name = strdup(run_name);
    } else {
        char buf[64];
        time_t t = (time_t)(r->start_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "cvl-%Y%m%d-%H%M%S", &tm);
        r->name = strdup(buf);
    }
    if (st == CVL_OK && (r->user == NULL || r->name == NULL)) st = cvl_err_set(e, CVL_ERR_NOMEM, "mlflow: out of memory");
    if (st == CVL_OK && snprintf(r->dir, sizeof r->dir, "%s/%s/%s", r->root, r->exp, r->id) >= (int)sizeof r->dir)
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: path too long", r->root);
    static const char *const sub[] = {"", "/params", "/metrics", "/artifacts", "/tags"};
    for (int i = 0; i < 5 && st == CVL_OK; i++) {
        snprintf(path, sizeof path, "%s%s", r->dir, sub[i]);
        st = cvl_mkdirs(path, e);
    }
    if (st == CVL_OK) st = write_run_meta(r, CVL_MLFLOW_RUNNING, 0, e);
    if (st == CVL_OK) st = cvl_mlflow_set_tag(r, "mlflow.runName", r->name, e);
    if (st == CVL_OK) st = cvl_mlflow_set_tag(r, "mlflow.user", r->user, e);
    if (st == CVL_OK) st = cvl_mlflow_set_tag(r, "mlflow.source.name", "cvl-host", e);
    if (st == CVL_OK) st = cvl_mlflow_set_tag(r, "mlflow.source.type", "LOCAL", e);
    if (st != CVL_OK) {
        run_free(r);
        return st;
    }
    *out = r;
    return CVL_OK;
}

const char *cvl_mlflow_run_id(const cvl_mlflow_run *r) {
    return r->id;
}

const char *cvl_mlflow_run_dir(const cvl_mlflow_run *r) {
    return r->dir;
}

/* <run dir>/<sub>/<key>, with the key's own subdirectories made. */
static cvl_status key_path(char out[PATH_MAX], const cvl_mlflow_run *r, const char *sub, const char *what,
                           const char *key, cvl_err *e) {
    if (!valid_key(key))
        return cvl_err_set(e, CVL_ERR_INVALID,
                           "mlflow: %s name \"%s\" may only hold letters, digits, '_', '-', '.', ' ' and '/'", what,
                           key ? key : "");
    if (snprintf(out, PATH_MAX, "%s/%s/%s", r->dir, sub, key) >= PATH_MAX)
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: %s name \"%s\" makes too long a path", what, key);
    char *slash = strrchr(out, '/');
    *slash = '\0';
    cvl_status st = cvl_mkdirs(out, e);
    *slash = '/';
    return st;
}

cvl_status cvl_mlflow_set_tag(cvl_mlflow_run *r, const char *key, const char *value, cvl_err *e) {
    char path[PATH_MAX];
    cvl_status st = key_path(path, r, "tags", "tag", key, e);
    if (st != CVL_OK) return st;
    return cvl_atomic_write(path, value, strlen(value), e);
}

cvl_status cvl_mlflow_log_param(cvl_mlflow_run *r, const char *key, const char *value, cvl_err *e) {
    char path[PATH_MAX];
    cvl_status st = key_path(path, r, "params", "param", key, e);
    if (st != CVL_OK) return st;
    size_t n = strlen(value);
    if (n > MAX_PARAM_VALUE)
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: param \"%s\": value is %zu bytes, over MLflow's %d", key, n,
                           MAX_PARAM_VALUE);
    FILE *f = fopen(path, "rb");
    if (f) {
        char old[MAX_PARAM_VALUE + 2];
        size_t got = fread(old, 1, sizeof old - 1, f);
        fclose(f);
        old[got] = '\0';
        if (got == n && memcmp(old, value, n) == 0) return CVL_OK;
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: param \"%s\" was logged as \"%.64s\", cannot change it to \"%.64s\"",
                           key, old, value);
    }
    return cvl_atomic_write(path, value, n, e);
}

cvl_status cvl_mlflow_log_metric(cvl_mlflow_run *r, const char *key, double value, int64_t step, int64_t timestamp_ms,
                                 cvl_err *e) {
    char path[PATH_MAX];
    cvl_status st = key_path(path, r, "metrics", "metric", key, e);
    if (st != CVL_OK) return st;
    char num[32], ln[96];
    cvl_format_double(num, value);
    /* Python's float() reads these, and MLflow writes them so. */
    const char *v = strcmp(num, "NaN") == 0 ? "nan" : strcmp(num, "Infinity") == 0 ? "inf"
                                                  : strcmp(num, "-Infinity") == 0 ? "-inf" : num;
    int len = snprintf(ln, sizeof ln, "%" PRId64 " %s %" PRId64 "\n", timestamp_ms ? timestamp_ms : now_ms(), v, step);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    ssize_t w = write(fd, ln, (size_t)len); /* one write: a line is never split */
    int err = w == len ? 0 : w < 0 ? errno : EIO;
    close(fd);
    if (err) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot append: %s", path, strerror(err));
    return CVL_OK;
}

cvl_status cvl_mlflow_log_artifact(cvl_mlflow_run *r, const char *src, const char *subdir, cvl_err *e) {
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: artifact %s: not a file name", src);
    if (subdir && (subdir[0] == '/' || strstr(subdir, "..")))
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: artifact subdirectory \"%s\" leaves artifacts/", subdir);
    char dir[PATH_MAX], path[PATH_MAX + 256];
    if (snprintf(dir, sizeof dir, "%s/artifacts%s%s", r->dir, subdir && *subdir ? "/" : "", subdir ? subdir : "") >=
        (int)sizeof dir)
        return cvl_err_set(e, CVL_ERR_INVALID, "mlflow: artifact subdirectory \"%s\" makes too long a path", subdir);
    cvl_status st = cvl_mkdirs(dir, e);
    if (st != CVL_OK) return st;
    snprintf(path, sizeof path, "%s/%s", dir, base);
    return cvl_atomic_copy(path, src, e);
}

cvl_status cvl_mlflow_run_end(cvl_mlflow_run *r, cvl_mlflow_status status, cvl_err *e) {
    cvl_status st = write_run_meta(r, status, now_ms(), e);
    run_free(r);
    return st;
}
