/* The MLflow file store: after a run the folder holds exactly the files
 * MLflow's FileStore would, with the contents it reads (each parsed back
 * here line by line); bad keys and changed params are refused. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "io/mlflow.h"

static char tmp[] = "/tmp/cvl-test-mlflow-XXXXXX";

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* The value of `key: value` in a meta.yaml, or NULL. */
static char *yaml_line(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == ':' && p[k + 1] == ' ') {
            size_t n = strcspn(p + k + 2, "\n");
            char *v = malloc(n + 1);
            memcpy(v, p + k + 2, n);
            v[n] = '\0';
            return v;
        }
    return NULL;
}

static bool yaml_is(const char *text, const char *key, const char *want) {
    char *v = yaml_line(text, key);
    bool ok = v && strcmp(v, want) == 0;
    if (!ok) printf("# %s: got '%s', want '%s'\n", key, v ? v : "(absent)", want);
    free(v);
    return ok;
}

/* Every file and directory under root, relative, sorted, one per line. */
static void walk(char *out, size_t cap, const char *root, const char *rel) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    char names[64][256];
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n < 64) snprintf(names[n++], 256, "%s", de->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        char sub[2 * PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]) >= (int)sizeof sub) continue;
        struct stat sb;
        char full[3 * PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", root, sub);
        stat(full, &sb);
        size_t at = strlen(out);
        if (snprintf(out + at, cap - at, "%s%s\n", sub, S_ISDIR(sb.st_mode) ? "/" : "") >= (int)(cap - at)) return;
        if (S_ISDIR(sb.st_mode)) walk(out, cap, root, sub);
    }
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Experiments MLflow's Python made: PyYAML folds long plain names, and
 * double-quotes (escaping non-ASCII, breaking lines with '\\') others. These
 * meta.yaml texts are what PyYAML 6.0's safe_dump wrote for these names. */
static void test_pyyaml_names(void) {
    static const char *const metas[][2] = {
        {"42", "name: a very long experiment name with spaces that PyYAML will fold across lines because\n"
               "  it is longer than eighty characters wide\n"},
        {"45", "name: \"r\\xE9sum\\xE9 \\U0001F600 \\\"dq\\\" \\\\ back\"\n"},
        {"46", "name: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx r\\xE9\\\n"
               "  sum\\xE9 yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"\n"},
        {"47", "name: 'yes'\n"}};
    static const char *const names[] = {
        "a very long experiment name with spaces that PyYAML will fold across lines because it is longer than eighty "
        "characters wide",
        "r\xc3\xa9sum\xc3\xa9 \xf0\x9f\x98\x80 \"dq\" \\ back",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx r\xc3\xa9sum\xc3\xa9 "
        "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
        "yes"};
    char root[PATH_MAX], path[PATH_MAX + 64];
    snprintf(root, sizeof root, "%s/py", tmp);
    mkdir(root, 0755);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", root, metas[i][0]);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/meta.yaml", root, metas[i][0]);
        FILE *f = fopen(path, "w");
        fprintf(f, "artifact_location: file://%s/%s\ncreation_time: 1\nexperiment_id: '%s'\nlast_update_time: 1\n"
                   "lifecycle_stage: active\n%s",
                root, metas[i][0], metas[i][0], metas[i][1]);
        fclose(f);
    }
    for (int i = 0; i < 4; i++) {
        char id[32];
        cvl_err e = {0};
        CHECK(cvl_mlflow_experiment(id, root, names[i], &e) == CVL_OK && strcmp(id, metas[i][0]) == 0,
              "PyYAML's form of experiment %s found by name (got %s)", metas[i][0], id);
    }
}

int main(void) {
    if (mkdtemp(tmp) == NULL) return 1;
    char root[PATH_MAX], abs_root[PATH_MAX], path[PATH_MAX + 200];
    snprintf(root, sizeof root, "%s/runs/mlruns", tmp);
    cvl_err e = {0};
    char exp[32], again[32], dflt[32], other[32];
    int64_t t0 = now_ms();
    CHECK(cvl_mlflow_experiment(exp, root, "fashion mnist 'cnn'", &e) == CVL_OK, "experiment created (%s)", e.msg);
    CHECK(strlen(exp) == 18 && strspn(exp, "0123456789") == 18, "18-digit id %s", exp);
    CHECK(realpath(root, abs_root) != NULL, "root made");
    CHECK(cvl_mlflow_experiment(again, root, "fashion mnist 'cnn'", &e) == CVL_OK && strcmp(again, exp) == 0,
          "found again by name");
    CHECK(cvl_mlflow_experiment(dflt, root, "Default", &e) == CVL_OK && strcmp(dflt, "0") == 0, "Default is 0");
    CHECK(cvl_mlflow_experiment(other, root, "other", &e) == CVL_OK && strcmp(other, exp) != 0 && strcmp(other, "0") != 0,
          "another name, another id");
    char bad_id[32];
    CHECK(cvl_mlflow_experiment(bad_id, root, "bad\nname", &e) == CVL_ERR_INVALID && bad_id[0] == '\0',
          "control characters refused");
    cvl_err_clear(&e);

    snprintf(path, sizeof path, "%s/%s/meta.yaml", root, exp);
    char *meta = slurp(path), want[PATH_MAX + 100];
    CHECK(meta != NULL, "experiment meta.yaml");
    if (meta) {
        snprintf(want, sizeof want, "file://%s/%s", abs_root, exp);
        CHECK(yaml_is(meta, "artifact_location", want), "artifact_location");
        snprintf(want, sizeof want, "'%s'", exp);
        CHECK(yaml_is(meta, "experiment_id", want), "experiment_id quoted as a string");
        CHECK(yaml_is(meta, "lifecycle_stage", "active"), "lifecycle_stage");
        CHECK(yaml_is(meta, "name", "'fashion mnist ''cnn'''"), "name, YAML-quoted");
        char *ct = yaml_line(meta, "creation_time");
        int64_t t = ct ? strtoll(ct, NULL, 10) : 0;
        CHECK(t >= t0 && t <= now_ms(), "creation_time is now in ms");
        CHECK(yaml_is(meta, "last_update_time", ct ? ct : "?"), "last_update_time");
        free(ct);
        free(meta);
    }
    snprintf(path, sizeof path, "%s/0/meta.yaml", root);
    meta = slurp(path);
    CHECK(meta && yaml_is(meta, "name", "'Default'") && yaml_is(meta, "experiment_id", "'0'"), "Default experiment");
    free(meta);

    cvl_mlflow_run *r;
    t0 = now_ms();
    CHECK(cvl_mlflow_run_start(&r, root, exp, "cnn run", &e) == CVL_OK, "run started (%s)", e.msg);
    if (r == NULL) return tap_done();
    char id[40];
    snprintf(id, sizeof id, "%s", cvl_mlflow_run_id(r)); /* r is freed at the end */
    CHECK(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32, "run id is 32 hex digits");
    snprintf(want, sizeof want, "%s/%s/%s", abs_root, exp, id);
    CHECK(strcmp(cvl_mlflow_run_dir(r), want) == 0, "run dir %s", cvl_mlflow_run_dir(r));
    snprintf(path, sizeof path, "%s/meta.yaml", want);
    meta = slurp(path);
    CHECK(meta && yaml_is(meta, "status", "1") && yaml_is(meta, "end_time", "null"), "RUNNING, no end time");
    free(meta);

    CHECK(cvl_mlflow_log_param(r, "lr", "0.01", &e) == CVL_OK, "param lr");
    CHECK(cvl_mlflow_log_param(r, "model/depth", "18", &e) == CVL_OK, "param with a '/'");
    CHECK(cvl_mlflow_log_param(r, "lr", "0.01", &e) == CVL_OK, "same value again is fine");
    CHECK(cvl_mlflow_log_param(r, "lr", "0.1", &e) == CVL_ERR_INVALID, "changed value refused");
    CHECK_STR_CONTAINS(e.msg, "param \"lr\" was logged as \"0.01\", cannot change it to \"0.1\"", "message");
    static const char *const bad[] = {"../evil", "/abs", "a\nb", "", "trailing/", "x:y"};
    int refused = 0;
    for (int i = 0; i < 6; i++) {
        cvl_err_clear(&e);
        refused += cvl_mlflow_log_param(r, bad[i], "1", &e) == CVL_ERR_INVALID &&
                   cvl_mlflow_log_metric(r, bad[i], 1, 0, 0, &e) == CVL_ERR_INVALID &&
                   cvl_mlflow_set_tag(r, bad[i], "1", &e) == CVL_ERR_INVALID;
    }
    CHECK(refused == 6, "6 bad keys refused for params, metrics and tags (%d)", refused);
    CHECK_STR_CONTAINS(e.msg, "mlflow: param name \"x:y\" may only hold letters", "message");
    cvl_err_clear(&e);
    char big[6002];
    memset(big, 'v', 6001);
    big[6001] = '\0';
    CHECK(cvl_mlflow_log_param(r, "long", big, &e) == CVL_ERR_INVALID, "a 6001-byte param refused");
    cvl_err_clear(&e);

    double loss[3] = {2.25, 0.1, 1.0 / 3};
    for (int s = 0; s < 3; s++) cvl_mlflow_log_metric(r, "train_loss", loss[s], s * 100, 1700000000000 + s, &e);
    cvl_mlflow_log_metric(r, "val/accuracy", 0.875, 300, 1700000000005, &e);
    cvl_mlflow_log_metric(r, "diverged", 0.0 / 0.0, 7, 1700000000009, &e);
    CHECK(cvl_mlflow_log_metric(r, "now", 1, 0, 0, &e) == CVL_OK, "metric stamped now (%s)", e.msg);
    CHECK(cvl_mlflow_set_tag(r, "cvl.config", "{\"lr\": 0.01}", &e) == CVL_OK, "tag");
    char art[PATH_MAX];
    snprintf(art, sizeof art, "%s/report.html", tmp);
    FILE *fa = fopen(art, "wb");
    fputs("<html>report</html>\n", fa);
    fclose(fa);
    CHECK(cvl_mlflow_log_artifact(r, art, NULL, &e) == CVL_OK, "artifact (%s)", e.msg);
    CHECK(cvl_mlflow_log_artifact(r, art, "plots/final", &e) == CVL_OK, "artifact in a subdirectory");
    CHECK(cvl_mlflow_log_artifact(r, art, "../../escape", &e) == CVL_ERR_INVALID, "artifact outside artifacts/ refused");
    cvl_err_clear(&e);
    char run_dir[PATH_MAX];
    snprintf(run_dir, sizeof run_dir, "%s", cvl_mlflow_run_dir(r));
    CHECK(cvl_mlflow_run_end(r, CVL_MLFLOW_FINISHED, &e) == CVL_OK, "run ended");

    /* Exactly the expected tree. */
    static char tree[8192], expect[8192];
    walk(tree, sizeof tree, root, "");
    static const char *const entries[] = {
        "", "artifacts/", "artifacts/plots/", "artifacts/plots/final/", "artifacts/plots/final/report.html",
        "artifacts/report.html", "meta.yaml", "metrics/", "metrics/diverged", "metrics/now", "metrics/train_loss",
        "metrics/val/", "metrics/val/accuracy", "params/", "params/lr", "params/model/", "params/model/depth", "tags/",
        "tags/cvl.config", "tags/mlflow.runName", "tags/mlflow.source.name", "tags/mlflow.source.type",
        "tags/mlflow.user"};
    snprintf(expect, sizeof expect, ".trash/\n0/\n0/meta.yaml\n%s/\n", exp);
    for (int i = 0; i < 23; i++) {
        size_t at = strlen(expect);
        snprintf(expect + at, sizeof expect - at, "%s/%s/%s\n", exp, id, entries[i]);
    }
    size_t at = strlen(expect);
    snprintf(expect + at, sizeof expect - at, "%s/meta.yaml\n", exp);
    /* the "other" experiment sorts before or after ours */
    char other_lines[128];
    snprintf(other_lines, sizeof other_lines, "%s/\n%s/meta.yaml\n", other, other);
    char *cut = strstr(tree, other_lines);
    if (cut) memmove(cut, cut + strlen(other_lines), strlen(cut + strlen(other_lines)) + 1);
    CHECK(cut != NULL && strcmp(tree, expect) == 0, "the store holds exactly the expected files");
    if (strcmp(tree, expect) != 0) printf("# got:\n%s# want:\n%s", tree, expect);

    snprintf(path, sizeof path, "%s/metrics/train_loss", run_dir);
    char *m = slurp(path);
    CHECK(m && strcmp(m, "1700000000000 2.25 0\n1700000000001 0.1 100\n1700000000002 0.3333333333333333 200\n") == 0,
          "metric lines: timestamp value step");
    free(m);
    snprintf(path, sizeof path, "%s/metrics/diverged", run_dir);
    m = slurp(path);
    CHECK(m && strcmp(m, "1700000000009 nan 7\n") == 0, "NaN written as Python does");
    free(m);
    snprintf(path, sizeof path, "%s/metrics/now", run_dir);
    m = slurp(path);
    int64_t ts = m ? strtoll(m, NULL, 10) : 0;
    CHECK(ts >= t0 && ts <= now_ms() && strstr(m, " 1 0\n"), "timestamp 0 means now");
    free(m);
    static const char *const files[][2] = {{"params/lr", "0.01"},
                                           {"params/model/depth", "18"},
                                           {"tags/cvl.config", "{\"lr\": 0.01}"},
                                           {"tags/mlflow.runName", "cnn run"},
                                           {"tags/mlflow.source.type", "LOCAL"},
                                           {"tags/mlflow.source.name", "cvl-host"},
                                           {"artifacts/plots/final/report.html", "<html>report</html>\n"}};
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, files[i][0]);
        m = slurp(path);
        CHECK(m && strcmp(m, files[i][1]) == 0, "%s holds '%s' (no newline added)", files[i][0], files[i][1]);
        free(m);
    }
    snprintf(path, sizeof path, "%s/meta.yaml", run_dir);
    meta = slurp(path);
    if (meta) {
        snprintf(want, sizeof want, "file://%s/artifacts", run_dir);
        CHECK(yaml_is(meta, "artifact_uri", want), "artifact_uri");
        CHECK(yaml_is(meta, "run_id", id) && yaml_is(meta, "run_uuid", id), "run_id and run_uuid");
        snprintf(want, sizeof want, "'%s'", exp);
        CHECK(yaml_is(meta, "experiment_id", want), "experiment_id");
        CHECK(yaml_is(meta, "run_name", "'cnn run'") && yaml_is(meta, "status", "3") &&
                  yaml_is(meta, "lifecycle_stage", "active") && yaml_is(meta, "source_type", "4") &&
                  yaml_is(meta, "tags", "[]"),
              "name, FINISHED, active, LOCAL");
        char *st = yaml_line(meta, "start_time"), *en = yaml_line(meta, "end_time");
        int64_t s = st ? strtoll(st, NULL, 10) : 0, en_ms = en ? strtoll(en, NULL, 10) : 0;
        CHECK(s >= t0 && en_ms >= s && en_ms <= now_ms(), "start_time <= end_time, both now");
        free(st);
        free(en);
        /* PyYAML writes keys sorted: so do we. */
        const char *order[] = {"artifact_uri:", "end_time:", "entry_point_name:", "experiment_id:", "lifecycle_stage:",
                               "run_id:", "run_name:", "run_uuid:", "source_name:", "source_type:", "source_version:",
                               "start_time:", "status:", "tags:", "user_id:"};
        const char *prev = meta;
        bool sorted = true;
        for (int i = 0; i < 15; i++) {
            const char *p = strstr(meta, order[i]);
            sorted &= p != NULL && p >= prev;
            prev = p ? p : prev;
        }
        CHECK(sorted, "15 keys in PyYAML's order");
        free(meta);
    }
    CHECK(cvl_mlflow_run_start(&r, root, "123", NULL, &e) == CVL_ERR_INVALID, "run in a missing experiment refused");
    CHECK_STR_CONTAINS(e.msg, "no experiment 123", "message");
    cvl_err_clear(&e);
    test_pyyaml_names();
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmp);
    return tap_done();
}
