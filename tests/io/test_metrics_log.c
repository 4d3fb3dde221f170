/* metrics.jsonl: each line parses back to exactly the values written, in
 * the order given; numbers are shortest round-trip; non-finite values are
 * strings; bad keys write nothing; a resumed log appends; a torn line is
 * ended; a failing write leaves no partial line; a crash loses nothing. */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "io/metrics_log.h"

static char dir[] = "/tmp/cvl-test-metrics-XXXXXX";

/* The lines of path, in `lines` (each malloc'ed); their count. */
static int read_lines(char **lines, int cap, const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    int n = 0;
    char buf[8192];
    while (n < cap && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        lines[n++] = strdup(buf);
    }
    fclose(f);
    return n;
}

static void free_lines(char **lines, int n) {
    for (int i = 0; i < n; i++) free(lines[i]);
}

static off_t size_of(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void test_format(void) {
    char buf[32];
    CHECK(strcmp(cvl_format_double(buf, 0.1), "0.1") == 0, "0.1 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 1.0 / 3), "0.3333333333333333") == 0, "1/3 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 100), "100") == 0, "100 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 123456789.125), "123456789.125") == 0, "123456789.125 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 1e14), "100000000000000") == 0, "1e14 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 1e15), "1e+15") == 0, "1e15 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 1e21), "1e+21") == 0, "1e21 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, -0.0), "-0") == 0, "-0 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, 5e-324), "5e-324") == 0, "smallest subnormal -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, (double)0.1f), "0.10000000149011612") == 0, "float 0.1 -> %s", buf);
    CHECK(strcmp(cvl_format_double(buf, NAN), "NaN") == 0 && strcmp(cvl_format_double(buf, -INFINITY), "-Infinity") == 0,
          "non-finite names");
    /* Random bit patterns: exact round trip, and one digit fewer would not do. */
    uint64_t s = 88172645463325252ULL;
    int bad = 0, long_ = 0;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double v;
        memcpy(&v, &s, 8);
        if (!isfinite(v)) continue;
        cvl_format_double(buf, v);
        bad += strtod(buf, NULL) != v;
        /* significant digits: the mantissa without sign, point, leading or trailing zeros */
        char sig[40] = "", shorter[400];
        size_t k = 0;
        for (const char *p = buf; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9' && (k > 0 || *p != '0')) sig[k++] = *p;
        while (k > 0 && sig[k - 1] == '0') k--;
        int digits = (int)k;
        snprintf(shorter, sizeof shorter, "%.*g", digits > 1 ? digits - 1 : 1, v);
        long_ += digits > 1 && strtod(shorter, NULL) == v;
    }
    CHECK(bad == 0, "20000 random doubles read back exactly (%d not)", bad);
    CHECK(long_ == 0, "and none could be shorter (%d could)", long_);
}

int main(void) {
    if (mkdtemp(dir) == NULL) return 1;
    test_format();
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    cvl_err e = {0};
    cvl_metrics_log *m;
    CHECK(cvl_metrics_open(&m, path, &e) == CVL_OK, "open a new log (%s)", e.msg);
    time_t before = time(NULL);
    cvl_metric_field f1[] = {CVL_METRIC_STR("split", "train"), CVL_METRIC_NUM("loss", 0.1), CVL_METRIC_NUM("lr", 1e-7),
                             CVL_METRIC_INT("seen", INT64_MAX)};
    CHECK(cvl_metrics_write(m, 0, 0, f1, 4, &e) == CVL_OK, "record 1");
    cvl_metric_field f2[] = {CVL_METRIC_NUM("loss", NAN), CVL_METRIC_NUM("grad_norm", INFINITY),
                             CVL_METRIC_STR("note", "quote \" backslash \\ newline \n tab \t r\xc3\xa9sum\xc3\xa9")};
    CHECK(cvl_metrics_write(m, 1, 0, f2, 3, &e) == CVL_OK, "record 2");
    cvl_metric_field f3[] = {CVL_METRIC_STR("split", "val"), CVL_METRIC_NUM("accuracy", 0.8125),
                             CVL_METRIC_NUM("loss", -123456789.125)};
    CHECK(cvl_metrics_write(m, 937, 1, f3, 3, &e) == CVL_OK, "record 3");
    CHECK(cvl_metrics_write(m, 2, 0, NULL, 0, &e) == CVL_OK, "a record with no fields");
    time_t after = time(NULL);

    off_t size = size_of(path);
    cvl_metric_field bad1[] = {CVL_METRIC_NUM("loss", 1), CVL_METRIC_NUM("step", 2)};
    CHECK(cvl_metrics_write(m, 3, 0, bad1, 2, &e) == CVL_ERR_INVALID, "reserved key refused");
    CHECK_STR_CONTAINS(e.msg, "metrics.jsonl: metric key \"step\" is reserved", "message");
    cvl_err_clear(&e);
    cvl_metric_field bad2[] = {CVL_METRIC_NUM("loss", 1), CVL_METRIC_NUM("loss", 2)};
    CHECK(cvl_metrics_write(m, 3, 0, bad2, 2, &e) == CVL_ERR_INVALID, "repeated key refused");
    CHECK_STR_CONTAINS(e.msg, "metric key \"loss\" given twice", "message");
    cvl_err_clear(&e);
    cvl_metric_field bad3[] = {CVL_METRIC_NUM("loss", 1), CVL_METRIC_STR("split", "\xff\xfe")};
    CHECK(cvl_metrics_write(m, 3, 0, bad3, 2, &e) == CVL_ERR_INVALID, "non-UTF-8 string refused");
    CHECK_STR_CONTAINS(e.msg, "metric \"split\": value is missing or not UTF-8", "message");
    CHECK(size_of(path) == size, "refused records write nothing");
    cvl_err_clear(&e);
    cvl_metrics_close(m);

    char *lines[16];
    int n = read_lines(lines, 16, path);
    CHECK(n == 4, "4 lines (%d)", n);
    if (n == 4) {
        CHECK(strncmp(lines[0], "{\"step\":0,\"epoch\":0,\"time\":", 27) == 0, "step, epoch, time first: %s", lines[0]);
        CHECK_STR_CONTAINS(lines[0], ",\"split\":\"train\",\"loss\":0.1,\"lr\":1e-07,\"seen\":9223372036854775807}",
                           "fields in order, shortest numbers");
        CHECK_STR_CONTAINS(lines[1], "\"loss\":\"NaN\",\"grad_norm\":\"Infinity\"", "non-finite as strings");
        CHECK(strcmp(lines[3] + strlen(lines[3]) - 1, "}") == 0 && strstr(lines[3], "\"epoch\":0,\"time\":"),
              "empty record has the three fixed fields");
        json_error_t jerr;
        json_t *r[4];
        for (int i = 0; i < 4; i++) {
            r[i] = json_loads(lines[i], 0, &jerr);
            CHECK(json_is_object(r[i]), "line %d is a JSON object (%s)", i + 1, r[i] ? "" : jerr.text);
        }
        if (r[0] && r[1] && r[2]) {
            double t = json_real_value(json_object_get(r[0], "time"));
            /* time() reads a coarse clock and the VM clock may be stepped: a 2 s margin */
            CHECK(t >= (double)before - 2 && t < (double)after + 2, "time %.3f is now", t);
            CHECK(json_real_value(json_object_get(r[0], "loss")) == 0.1 &&
                      json_real_value(json_object_get(r[0], "lr")) == 1e-7 &&
                      json_integer_value(json_object_get(r[0], "seen")) == INT64_MAX,
                  "numbers read back exactly");
            CHECK(strcmp(json_string_value(json_object_get(r[1], "note")),
                         "quote \" backslash \\ newline \n tab \t r\xc3\xa9sum\xc3\xa9") == 0,
                  "string with escapes reads back");
            CHECK(json_integer_value(json_object_get(r[2], "step")) == 937 &&
                      json_integer_value(json_object_get(r[2], "epoch")) == 1 &&
                      json_real_value(json_object_get(r[2], "accuracy")) == 0.8125 &&
                      json_real_value(json_object_get(r[2], "loss")) == -123456789.125,
                  "record 3 values");
        }
        for (int i = 0; i < 4; i++) json_decref(r[i]);
    }
    free_lines(lines, n);

    /* Resume: appends. A torn last line is ended first. */
    FILE *fp = fopen(path, "ab");
    fputs("{\"step\":9,\"ep", fp);
    fclose(fp);
    CHECK(cvl_metrics_open(&m, path, &e) == CVL_OK, "reopen a log with a torn last line");
    cvl_metric_field f4[] = {CVL_METRIC_NUM("loss", 0.5)};
    CHECK(cvl_metrics_write(m, 10, 2, f4, 1, &e) == CVL_OK, "append after resume");

    /* The disk fills mid-record: no partial line stays. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    size = size_of(path);
    lim.rlim_cur = (rlim_t)size + 20;
    setrlimit(RLIMIT_FSIZE, &lim);
    cvl_metric_field f5[] = {CVL_METRIC_STR("split", "a long enough string to cross the 20-byte limit")};
    CHECK(cvl_metrics_write(m, 11, 2, f5, 1, &e) == CVL_ERR_IO, "write past the limit fails");
    setrlimit(RLIMIT_FSIZE, &old_lim);
    CHECK_STR_CONTAINS(e.msg, "metrics.jsonl: cannot append: File too large", "message");
    CHECK(size_of(path) == size, "the partial record was cut off (%lld, %lld)", (long long)size_of(path),
          (long long)size);
    cvl_err_clear(&e);
    CHECK(cvl_metrics_write(m, 12, 2, f4, 1, &e) == CVL_OK, "logging goes on afterwards");

    /* A crash right after logging loses nothing: no user-space buffer. */
    pid_t pid = fork();
    if (pid == 0) {
        cvl_metrics_log *c;
        cvl_metric_field fc[] = {CVL_METRIC_STR("split", "child")};
        if (cvl_metrics_open(&c, path, NULL) == CVL_OK) cvl_metrics_write(c, 13, 2, fc, 1, NULL);
        abort();
    }
    int status;
    waitpid(pid, &status, 0);
    cvl_metrics_close(m);
    n = read_lines(lines, 16, path);
    CHECK(n == 8, "8 lines (%d)", n);
    if (n == 8) {
        CHECK(strcmp(lines[4], "{\"step\":9,\"ep") == 0, "the torn line kept as it was");
        CHECK(strncmp(lines[5], "{\"step\":10,\"epoch\":2,", 21) == 0, "the resumed record on its own line");
        CHECK(strncmp(lines[6], "{\"step\":12,", 11) == 0, "then the one after the failure");
        CHECK(WIFSIGNALED(status) && strstr(lines[7], "\"split\":\"child\"}") != NULL,
              "the crashed process's record is there");
    }
    free_lines(lines, n);

    CHECK(cvl_metrics_open(&m, dir, &e) == CVL_ERR_IO, "a directory cannot be a log");
    CHECK_STR_CONTAINS(e.msg, "cannot open for appending: Is a directory", "message");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
