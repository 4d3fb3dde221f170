/* atomic_file: the new contents arrive whole; on every failure (missing
 * directory, target is a directory, write error mid-file, abort, crash) the
 * old file is intact and no temporary file is left by a live process. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "io/atomic_file.h"

static char dir[] = "/tmp/cvl-test-atomic-XXXXXX";

static size_t slurp(char *buf, size_t cap, const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return (size_t)-1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Entries of the test directory, apart from . and .. */
static int entries(char names[][256], int cap) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n < cap) snprintf(names[n++], 256, "%s", de->d_name);
    if (d) closedir(d);
    return n;
}

static bool only(const char *a, const char *b) {
    char names[8][256];
    int n = entries(names, 8), want = (a != NULL) + (b != NULL), hits = 0;
    for (int i = 0; i < n; i++) hits += (a && !strcmp(names[i], a)) || (b && !strcmp(names[i], b));
    if (n != want || hits != want)
        for (int i = 0; i < n; i++) printf("# entry: %s\n", names[i]);
    return n == want && hits == want;
}

int main(void) {
    if (mkdtemp(dir) == NULL) return 1;
    umask(022);
    char path[256], buf[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cvl_err e = {0};

    CHECK(cvl_atomic_write(path, "{\"a\":1}\n", 8, &e) == CVL_OK, "new file written (%s)", e.msg);
    CHECK(slurp(buf, sizeof buf, path) == 8 && memcmp(buf, "{\"a\":1}\n", 8) == 0, "with its contents");
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode 0666 & ~umask (%o)", sb.st_mode & 0777);
    CHECK(only("config.json", NULL), "no temporary file left");

    cvl_atomic_file *f;
    CHECK(cvl_atomic_open(&f, path, &e) == CVL_OK, "open for replacing");
    fprintf(cvl_atomic_stream(f), "{\"a\":%d,", 2);
    fprintf(cvl_atomic_stream(f), "\"b\":%d}\n", 3);
    CHECK(slurp(buf, sizeof buf, path) == 8, "the old file stays readable while the new one is written");
    CHECK(strcmp(cvl_atomic_path(f), path) == 0, "knows its target");
    CHECK(cvl_atomic_commit(f, &e) == CVL_OK, "commit");
    CHECK(slurp(buf, sizeof buf, path) == 14 && memcmp(buf, "{\"a\":2,\"b\":3}\n", 14) == 0, "replaced whole");
    CHECK(only("config.json", NULL), "no temporary file left");

    CHECK(cvl_atomic_open(&f, path, &e) == CVL_OK, "open, then give up");
    fprintf(cvl_atomic_stream(f), "half");
    cvl_atomic_abort(f);
    CHECK(slurp(buf, sizeof buf, path) == 14, "abort leaves the old file");
    CHECK(only("config.json", NULL), "and removes the temporary");

    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/x.json", dir);
    CHECK(cvl_atomic_write(missing, "x", 1, &e) == CVL_ERR_IO, "missing directory fails");
    CHECK_STR_CONTAINS(e.msg, "cannot write ", "message");
    CHECK_STR_CONTAINS(e.msg, "/no/such/x.json: No such file or directory", "names the path and why");
    cvl_err_clear(&e);
    char trailing[300];
    snprintf(trailing, sizeof trailing, "%s/", dir);
    CHECK(cvl_atomic_write(trailing, "x", 1, &e) == CVL_ERR_INVALID, "a directory name is refused");
    CHECK_STR_CONTAINS(e.msg, "it names a directory", "says so");

    /* The target is a directory: rename fails after everything was written. */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/ckpt", dir);
    mkdir(sub, 0755);
    cvl_err_clear(&e);
    CHECK(cvl_atomic_write(sub, "data", 4, &e) == CVL_ERR_IO, "cannot replace a directory");
    CHECK_STR_CONTAINS(e.msg, "ckpt: Is a directory", "names it");
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && only("config.json", "ckpt"), "directory intact, no temporary");
    rmdir(sub);

    /* The disk fills part way (a file size limit stands in for it). */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 1000;
    setrlimit(RLIMIT_FSIZE, &lim);
    CHECK(cvl_atomic_open(&f, path, &e) == CVL_OK, "open under a 1000-byte limit");
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 10; i++) fwrite(buf, 1, sizeof buf, cvl_atomic_stream(f));
    cvl_err_clear(&e);
    CHECK(cvl_atomic_commit(f, &e) == CVL_ERR_IO, "a failed write fails the commit");
    CHECK_STR_CONTAINS(e.msg, "config.json: File too large", "with the reason");
    setrlimit(RLIMIT_FSIZE, &old_lim);
    CHECK(slurp(buf, sizeof buf, path) == 14 && memcmp(buf, "{\"a\":2,", 7) == 0, "old file intact");
    CHECK(only("config.json", NULL), "temporary removed");

    /* A process killed mid-write never touches the target. */
    pid_t pid = fork();
    if (pid == 0) {
        cvl_atomic_file *g;
        if (cvl_atomic_open(&g, path, NULL) == CVL_OK) {
            fputs("partial", cvl_atomic_stream(g));
            fflush(cvl_atomic_stream(g));
        }
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && slurp(buf, sizeof buf, path) == 14, "a crash before commit leaves the old file");

    /* Copy: binary bytes exactly. */
    char src[300], dst[300];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", dir);
    unsigned char bin[70000];
    for (size_t i = 0; i < sizeof bin; i++) bin[i] = (unsigned char)(i * 7 + (i >> 8));
    cvl_atomic_write(src, bin, sizeof bin, &e);
    cvl_err_clear(&e);
    CHECK(cvl_atomic_copy(dst, src, &e) == CVL_OK, "copy (%s)", e.msg);
    static unsigned char back[80000];
    CHECK(slurp((char *)back, sizeof back, dst) == sizeof bin && memcmp(back, bin, sizeof bin) == 0, "copied exactly");
    CHECK(cvl_atomic_copy(dst, "/nonexistent/src", &e) == CVL_ERR_IO, "copy from a missing file fails");
    CHECK_STR_CONTAINS(e.msg, "cannot read /nonexistent/src", "naming it");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
