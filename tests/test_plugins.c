/* The plugin loader against good and deliberately broken plugins, and
 * constructor calls through libffi with every parameter type.
 * argv[1]: the directory holding the built test plugins. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "plugins/registry.h"

static char warnings[32][CVL_ERR_MSG_MAX];
static int n_warnings;

static void capture(void *user, const char *msg) {
    (void)user;
    if (n_warnings < 32) snprintf(warnings[n_warnings++], CVL_ERR_MSG_MAX, "%s", msg);
}

/* The one warning that names `file`, or NULL (also NULL when two do). */
static const char *warning_for(const char *file) {
    const char *found = NULL;
    for (int i = 0; i < n_warnings; i++) {
        char needle[PATH_MAX];
        snprintf(needle, sizeof needle, "plugin %s", file);
        if (strstr(warnings[i], needle) == warnings[i]) {
            if (found) return NULL;
            found = warnings[i];
        }
    }
    return found;
}

static char logbuf[4096];
static void capture_log(void *user, const char *msg) {
    (void)user;
    snprintf(logbuf, sizeof logbuf, "%s", msg);
}

static cvl_status build(const cvl_component *c, const char *json, cvl_err *e) {
    json_error_t jerr;
    json_t *params = json ? json_loads(json, 0, &jerr) : NULL;
    if (json && !params) {
        printf("# bad test json: %s\n", jerr.text);
        return CVL_ERR_INTERNAL;
    }
    cvl_tensor *outs[2];
    cvl_build_io io = {.outputs = outs, .cap_outputs = 2, .log = capture_log};
    logbuf[0] = '\0';
    cvl_err_clear(e);
    cvl_status st = cvl_component_build(c, params, &io, e);
    json_decref(params);
    return st;
}

static void test_dir(const char *plugins) {
    char tmpl[] = "/tmp/cvl-test-plugins-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL, "temporary plugin dir");
    if (!dir) return;
    static const char *const names[] = {"good_types", "good_kinds", "bad_no_entry", "bad_abi_major",
                                        "bad_no_name", "bad_no_ctor", "bad_param_type", "bad_default",
                                        "bad_entry_fails", "bad_half", "dup_a", "dup_b"};
    char src[PATH_MAX], dst[PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(src, sizeof src, "%s/%s.so", plugins, names[i]);
        snprintf(dst, sizeof dst, "%s/%s.so", dir, names[i]);
        if (symlink(src, dst) != 0) printf("# symlink %s failed\n", dst);
    }
    snprintf(dst, sizeof dst, "%s/garbage.so", dir);
    FILE *f = fopen(dst, "w");
    for (int i = 0; i < 8; i++) fputs("this is a text file, not an ELF shared object at all.\n", f);
    fclose(f);
    snprintf(dst, sizeof dst, "%s/README.txt", dir); /* not *.so: ignored silently */
    f = fopen(dst, "w");
    fputs("ignored\n", f);
    fclose(f);

    cvl_registry *r = cvl_registry_new(capture, NULL);
    size_t loaded = cvl_registry_load_dir(r, dir, true);
    CHECK(loaded == 4, "4 plugins load (good_types, good_kinds, dup_a, dup_b), got %zu", loaded);
    CHECK(n_warnings == 10, "10 warnings, one per bad file and one for the duplicate, got %d",
          n_warnings);
    for (int i = 0; i < n_warnings; i++) printf("# warning: %s\n", warnings[i]);

#define EXPECT_WARNING(file, text)                                                     \
    do {                                                                               \
        snprintf(dst, sizeof dst, "%s/%s", dir, file);                                 \
        CHECK_STR_CONTAINS(warning_for(dst), text, "%s: warning says '%s'", file, text); \
    } while (0)
    EXPECT_WARNING("garbage.so", "cannot load");
    EXPECT_WARNING("garbage.so", "invalid ELF header");
    EXPECT_WARNING("bad_no_entry.so", "no entry symbol 'cvl_plugin_entry'");
    EXPECT_WARNING("bad_abi_major.so", "built for plugin ABI 2.0, this host speaks 1.0");
    EXPECT_WARNING("bad_no_name.so", "rejected: a component has no name");
    EXPECT_WARNING("bad_no_ctor.so", "rejected: head 'ctorless' has no constructor");
    EXPECT_WARNING("bad_param_type.so", "parameter 'weird' has unknown type 99");
    EXPECT_WARNING("bad_default.so",
                   "default of parameter 'width' (int): 'sixty-four' is not an integer");
    EXPECT_WARNING("bad_entry_fails.so", "entry function failed (status 2, unsupported)");
    EXPECT_WARNING("bad_half.so", "name must match");
    EXPECT_WARNING("dup_b.so", "encoder 'dup' is already provided by");
    snprintf(src, sizeof src, "%s/dup_a.so", dir);
    EXPECT_WARNING("dup_b.so", src);

    CHECK(cvl_registry_find(r, CVL_KIND_ENCODER, "half_good") == NULL,
          "a plugin with one broken component registers nothing");
    const cvl_component *dup = cvl_registry_find(r, CVL_KIND_ENCODER, "dup");
    CHECK(dup && strstr(dup->plugin->path, "dup_a.so"), "the first loaded duplicate wins");
    CHECK(cvl_registry_find(r, CVL_KIND_LOSS, "only_in_b") != NULL,
          "the rest of the plugin with a shadowed duplicate still loads");
    CHECK(cvl_registry_find(r, CVL_KIND_HEAD, "plain") && cvl_registry_find(r, CVL_KIND_ENCODER, "plain"),
          "the same name may exist once per kind");
    CHECK(cvl_registry_find(r, CVL_KIND_AGGREGATOR, "test_agg") &&
              cvl_registry_find(r, CVL_KIND_OPTIMIZER, "test_opt"),
          "all kinds register");
    CHECK(cvl_registry_count(r) == 9, "9 components registered, got %zu", cvl_registry_count(r));

    /* Constructors through libffi. */
    const cvl_component *typed = cvl_registry_find(r, CVL_KIND_ENCODER, "typed");
    CHECK(typed != NULL, "encoder 'typed' registered");
    if (typed) {
        cvl_err e;
        CHECK(build(typed, "{\"neg\": -5}", &e) == CVL_OK, "defaults fill unset parameters");
        CHECK_STR_CONTAINS(logbuf, "depth=18 scale=0.5 flag=1 mode=avg widths=[64,128] neg=-5 weights=[0.5,2]",
                           "the constructor received every default");
        CHECK(build(typed,
                    "{\"depth\": 3, \"scale\": 1.25e-300, \"flag\": false, \"mode\": \"max\","
                    " \"widths\": [], \"neg\": -9223372036854775807, \"weights\": [1, -2.5, 1e-3]}",
                    &e) == CVL_OK,
              "every parameter set");
        CHECK_STR_CONTAINS(logbuf,
                           "depth=3 scale=1.25e-300 flag=0 mode=max widths=[] "
                           "neg=-9223372036854775807 weights=[1,-2.5,0.001]",
                           "every type crosses libffi intact");
        CHECK(build(typed, "{\"depth\": \"7\", \"flag\": \"false\", \"widths\": \"[4, 5]\", \"neg\": \"1\"}", &e) ==
                  CVL_OK,
              "text values (from --set) parse as the declared type");
        CHECK_STR_CONTAINS(logbuf, "depth=7 scale=0.5 flag=0 mode=avg widths=[4,5] neg=1",
                           "text values converted");
        CHECK(build(typed, "{\"scale\": 2, \"neg\": 0}", &e) == CVL_OK && strstr(logbuf, "scale=2 "),
              "an integer is accepted for a float");

        CHECK(build(typed, NULL, &e) == CVL_ERR_INVALID, "a missing required parameter fails");
        CHECK_STR_CONTAINS(e.msg, "encoder 'typed': parameter 'neg': is required (int)", "message");
        CHECK(build(typed, "{\"neg\": 1, \"depth\": 1.5}", &e) == CVL_ERR_INVALID, "float for int fails");
        CHECK_STR_CONTAINS(e.msg, "encoder 'typed': parameter 'depth': expected int, got a number", "message");
        CHECK(build(typed, "{\"neg\": 1, \"depth\": \"abc\"}", &e) == CVL_ERR_INVALID, "bad text for int fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'depth': 'abc' is not an integer", "message");
        CHECK(build(typed, "{\"neg\": 1, \"flag\": 1}", &e) == CVL_ERR_INVALID, "int for bool fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'flag': expected bool, got an integer", "message");
        CHECK(build(typed, "{\"neg\": 1, \"mode\": 3}", &e) == CVL_ERR_INVALID, "int for string fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'mode': expected string, got an integer", "message");
        CHECK(build(typed, "{\"neg\": 1, \"widths\": [1, \"x\"]}", &e) == CVL_ERR_INVALID, "bad list fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'widths': expected int list, element 1 is a string", "message");
        CHECK(build(typed, "{\"neg\": 1, \"weights\": [1, true]}", &e) == CVL_ERR_INVALID, "bad float list fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'weights': expected float list, element 1 is a bool", "message");
        CHECK(build(typed, "{\"neg\": 1, \"weights\": \"0.25, 4\"}", &e) == CVL_OK && strstr(logbuf, "weights=[0.25,4]"),
              "a float list from text");
        CHECK(build(typed, "{\"neg\": 1, \"scale\": \"1e999\"}", &e) == CVL_ERR_INVALID, "overflowing float fails");
        CHECK_STR_CONTAINS(e.msg, "parameter 'scale': '1e999' is not a finite number", "message");
        CHECK(build(typed, "{\"neg\": 1, \"dept\": 4}", &e) == CVL_ERR_INVALID, "an unknown parameter fails");
        CHECK_STR_CONTAINS(e.msg, "encoder 'typed' has no parameter 'dept' (did you mean 'depth'?)", "message");
        CHECK(build(typed, "[1]", &e) == CVL_ERR_INVALID, "parameters that are not an object fail");
        CHECK(build(typed, "{\"neg\": 1, \"depth\": -1}", &e) == CVL_ERR_INVALID, "a constructor can refuse");
        CHECK_STR_CONTAINS(e.msg, "encoder 'typed': depth must be >= 0, got -1", "its message is kept");
    }
    const cvl_component *plain = cvl_registry_find(r, CVL_KIND_HEAD, "plain");
    if (plain) {
        cvl_err e;
        CHECK(build(plain, "{}", &e) == CVL_OK && strstr(logbuf, "head plain: info: inputs=0"),
              "a constructor without parameters is called with host and ctx only");
    }
    cvl_registry_free(r);

    /* A plugin from a newer minor version, with grown structs. */
    n_warnings = 0;
    r = cvl_registry_new(capture, NULL);
    snprintf(src, sizeof src, "%s/good_newer_minor.so", plugins);
    CHECK(cvl_registry_load_file(r, src) && n_warnings == 0, "a plugin built for ABI 1.7 loads in a 1.0 host");
    const cvl_component *newer = cvl_registry_find(r, CVL_KIND_ENCODER, "from_newer_minor");
    if (newer) {
        cvl_err e;
        CHECK(build(newer, "{\"b\": 0.25}", &e) == CVL_OK, "its constructor runs");
        CHECK_STR_CONTAINS(logbuf, "a=7 b=0.25", "its grown parameter array is read with its own stride");
    } else {
        CHECK(0, "from_newer_minor registered");
    }
    cvl_registry_free(r);

    /* Each bad plugin alone, through load_file. */
    static const char *const bad[] = {"bad_no_entry", "bad_abi_major", "bad_no_name", "bad_no_ctor",
                                      "bad_param_type", "bad_default", "bad_entry_fails", "bad_half"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n_warnings = 0;
        r = cvl_registry_new(capture, NULL);
        snprintf(src, sizeof src, "%s/%s.so", plugins, bad[i]);
        bool ok = cvl_registry_load_file(r, src);
        CHECK(!ok && n_warnings == 1 && cvl_registry_count(r) == 0,
              "%s alone: rejected with exactly one warning, nothing registered", bad[i]);
        cvl_registry_free(r);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(dst, sizeof dst, "%s/%s.so", dir, names[i]);
        unlink(dst);
    }
    snprintf(dst, sizeof dst, "%s/garbage.so", dir);
    unlink(dst);
    snprintf(dst, sizeof dst, "%s/README.txt", dir);
    unlink(dst);
    rmdir(dir);
}

static void test_values(void) {
    cvl_value v;
    cvl_err e = {0};
    CHECK(cvl_value_parse(&v, CVL_PARAM_INT_LIST, "1,2 , 3", &e) == CVL_OK && v.u.list.len == 3 &&
              v.u.list.data[2] == 3,
          "an int list without brackets parses");
    cvl_value_free(&v);
    cvl_err_clear(&e);
    CHECK(cvl_value_parse(&v, CVL_PARAM_INT_LIST, "[1, 2", &e) != CVL_OK, "an unclosed list fails");
    cvl_err_clear(&e);
    CHECK(cvl_value_parse(&v, CVL_PARAM_INT, "12abc", &e) != CVL_OK, "trailing junk after an int fails");
    cvl_err_clear(&e);
    CHECK(cvl_value_parse(&v, CVL_PARAM_INT, "99999999999999999999", &e) != CVL_OK, "an int overflow fails");
    cvl_err_clear(&e);
    CHECK(cvl_value_parse(&v, CVL_PARAM_BOOL, "yes", &e) != CVL_OK, "'yes' is not a bool");
    cvl_err_clear(&e);
    CHECK(cvl_value_parse(&v, CVL_PARAM_FLOAT, "nan", &e) != CVL_OK, "nan is not a valid float default");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_plugins PLUGIN_BUILD_DIR\n");
        return 2;
    }
    test_dir(argv[1]);
    test_values();
    return tap_done();
}
