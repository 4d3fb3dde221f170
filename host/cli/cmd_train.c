/* cmd_train.c -- train, eval, predict, check, config-docs. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "train/train.h"
#include "util/fsutil.h"

/* Options the commands share. */
typedef struct args {
    const char *cmd;
    const char *positional[4096];
    int n_pos;
    const char *sets[128];
    size_t n_sets;
    cvl_train_options opt;
    bool json;
    int top_k;
    const char *out_dir;
} args;

static int bad(const args *a, const char *fmt, const char *what) {
    fprintf(stderr, "cvl-host %s: ", a->cmd);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    return 2;
}

static int parse_long(const args *a, const char *flag, const char *v, long lo, long hi, long *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end || x < lo || x > hi) {
        fprintf(stderr, "cvl-host %s: %s must be %ld..%ld, got '%s'\n", a->cmd, flag, lo, hi, v);
        return 2;
    }
    *out = x;
    return 0;
}

/* `allowed` lists the flags this command takes ("--set --device ..."). */
static int parse(args *a, int argc, char **argv, const char *allowed) {
    memset(a, 0, sizeof *a);
    a->cmd = argv[0];
    a->opt.threads = -1;
    a->top_k = 5;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has = i + 1 < argc;
        if (s[0] != '-' || strcmp(s, "-") == 0) {
            if (a->n_pos == 4096) return bad(a, "%s", "too many arguments");
            a->positional[a->n_pos++] = s;
            continue;
        }
        char flag[64];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(s, "="), s);
        const char *p = strstr(allowed, flag);
        if (p == NULL || (p[strlen(flag)] != ' ' && p[strlen(flag)] != '\0')) return bad(a, "unknown option '%s'", s);
        const char *val = strchr(s, '=') ? strchr(s, '=') + 1 : NULL;
        bool boolean = strcmp(flag, "--quiet") == 0 || strcmp(flag, "--json") == 0;
        if (!boolean && val == NULL) {
            if (!has) return bad(a, "%s needs a value", flag);
            val = argv[++i];
        }
        long x;
        if (strcmp(flag, "--set") == 0) {
            if (a->n_sets == 128) return bad(a, "%s", "too many --set");
            a->sets[a->n_sets++] = val;
        } else if (strcmp(flag, "--threads") == 0) {
            if (parse_long(a, flag, val, 0, 1024, &x)) return 2;
            a->opt.threads = (int)x;
        } else if (strcmp(flag, "--stop-after") == 0) {
            if (parse_long(a, flag, val, 1, 1L << 40, &x)) return 2;
            a->opt.stop_after = x;
        } else if (strcmp(flag, "--top-k") == 0) {
            if (parse_long(a, flag, val, 1, 1000, &x)) return 2;
            a->top_k = (int)x;
        } else if (strcmp(flag, "--device") == 0) {
            a->opt.device = val;
        } else if (strcmp(flag, "--run-dir") == 0) {
            a->opt.run_dir = val;
        } else if (strcmp(flag, "--weights") == 0) {
            a->opt.weights = val;
        } else if (strcmp(flag, "--resume") == 0) {
            a->opt.resume = val;
        } else if (strcmp(flag, "--out") == 0) {
            a->out_dir = val;
        } else if (strcmp(flag, "--quiet") == 0) {
            a->opt.quiet = true;
        } else if (strcmp(flag, "--json") == 0) {
            a->json = true;
        }
    }
    return 0;
}

static int load_config(cvl_config *cfg, const char *path, const args *a) {
    cvl_err e = {0};
    if (cvl_config_load(cfg, path, a->sets, a->n_sets, &e) != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        cvl_config_free(cfg);
        return 1;
    }
    return 0;
}

/* A config from a file, or from a run directory / checkpoint (then the
 * weights come with it). */
static int config_or_run(cvl_config *cfg, const char *what, const args *a, char *weights, size_t n) {
    weights[0] = '\0';
    size_t len = strlen(what);
    if (len > 5 && strcmp(what + len - 5, ".json") == 0) return load_config(cfg, what, a);
    cvl_err e = {0};
    json_t *root;
    if (cvl_locate_run(what, &root, weights, n, &e) != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    cvl_status st = cvl_config_from_json(cfg, root, what, a->sets, a->n_sets, &e);
    json_decref(root);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        cvl_config_free(cfg);
        return 1;
    }
    return 0;
}

static volatile sig_atomic_t g_interrupt;
static void on_sigint(int sig) {
    (void)sig;
    if (g_interrupt) _exit(130); /* a second Ctrl-C: leave now */
    g_interrupt = 1;
}

int cvl_cmd_train(cvl_cli *cli, int argc, char **argv) {
    args a;
    if (parse(&a, argc, argv, "--set --device --threads --run-dir --quiet --weights --resume --stop-after")) return 2;
    if (a.n_pos != 1) {
        fprintf(stderr, "usage: cvl-host train CONFIG [--set key=value]... [--device D] [--threads N] [--run-dir DIR]\n"
                        "                      [--weights FILE] [--resume RUN_DIR] [--stop-after STEPS] [--quiet]\n");
        return 2;
    }
    if (a.opt.resume && a.opt.weights) return bad(&a, "%s", "--resume and --weights do not go together");
    cvl_config cfg;
    if (load_config(&cfg, a.positional[0], &a)) return 1;
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    a.opt.interrupt = &g_interrupt;
    cvl_train_result res;
    cvl_err e = {0};
    cvl_status st = cvl_train(cvl_cli_registry(cli), &cfg, &a.opt, &res, &e);
    sigaction(SIGINT, &old, NULL);
    cvl_config_free(&cfg);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    if (res.interrupted) {
        printf("run %s: stopped after %lld steps; continue with: cvl-host train %s --resume %s\n", res.run_dir,
               (long long)res.steps, a.positional[0], res.run_dir);
        return g_interrupt ? 130 : 0;
    }
    printf("run %s: %lld steps, last loss %.4f, test accuracy %.4f, %.1f s in training steps (%.0f samples/s)%s\n",
           res.run_dir, (long long)res.steps, res.last_loss, res.test_accuracy, res.train_seconds, res.samples_per_s,
           res.early_stopped ? ", stopped early" : "");
    return 0;
}

static void print_metrics(const json_t *m, const char *prefix) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v) {
        if (json_is_number(v)) printf("%s%-24s %.6g\n", prefix, key, json_number_value(v));
    }
}

int cvl_cmd_eval(cvl_cli *cli, int argc, char **argv) {
    args a;
    if (parse(&a, argc, argv, "--set --device --threads --weights --json --quiet")) return 2;
    if (a.n_pos != 1) {
        fprintf(stderr, "usage: cvl-host eval CONFIG.json|RUN_DIR|CHECKPOINT [--weights FILE] [--json] [--set k=v]...\n");
        return 2;
    }
    cvl_config cfg;
    char weights[1200];
    if (config_or_run(&cfg, a.positional[0], &a, weights, sizeof weights)) return 1;
    const char *w = a.opt.weights ? a.opt.weights : weights[0] ? weights : NULL;
    a.opt.quiet = true;
    json_t *out = NULL;
    cvl_err e = {0};
    cvl_status st = cvl_eval(cvl_cli_registry(cli), &cfg, &a.opt, w, &out, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    json_object_set_new(out, "weights", w ? json_string(w) : json_null());
    if (a.json) {
        char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
        puts(text);
        free(text);
    } else {
        printf("%s split, %lld samples, weights %s\n", json_string_value(json_object_get(out, "split")),
               (long long)json_integer_value(json_object_get(out, "samples")), w ? w : "(as initialised)");
        print_metrics(json_object_get(out, "metrics"), "  ");
    }
    json_decref(out);
    return 0;
}

int cvl_cmd_predict(cvl_cli *cli, int argc, char **argv) {
    args a;
    if (parse(&a, argc, argv, "--set --device --threads --top-k --json --weights")) return 2;
    if (a.n_pos < 2) {
        fprintf(stderr, "usage: cvl-host predict RUN_DIR|CHECKPOINT|CONFIG.json IMAGE... [--weights FILE] [--top-k K] [--json]\n");
        return 2;
    }
    cvl_config cfg;
    char weights[1200];
    if (config_or_run(&cfg, a.positional[0], &a, weights, sizeof weights)) return 1;
    if (a.opt.weights) snprintf(weights, sizeof weights, "%s", a.opt.weights);
    if (!weights[0]) {
        cvl_config_free(&cfg);
        return bad(&a, "%s: give a run directory, a checkpoint, or a config with --weights FILE", a.positional[0]);
    }
    a.opt.quiet = true;
    json_t *out = NULL;
    cvl_err e = {0};
    cvl_status st =
        cvl_predict(cvl_cli_registry(cli), &cfg, &a.opt, weights, a.positional + 1, a.n_pos - 1, a.top_k, &out, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    if (a.json) {
        char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
        puts(text);
        free(text);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o) {
            printf("%s:", json_string_value(json_object_get(o, "file")));
            size_t j;
            json_t *t;
            json_array_foreach(json_object_get(o, "top"), j, t) {
                const char *name = json_string_value(json_object_get(t, "name"));
                printf("  %s%s%lld %.3f", name ? name : "", name ? "/" : "",
                       (long long)json_integer_value(json_object_get(t, "class")), json_real_value(json_object_get(t, "p")));
            }
            putchar('\n');
        }
    }
    json_decref(out);
    return 0;
}

int cvl_cmd_check(cvl_cli *cli, int argc, char **argv) {
    args a;
    if (parse(&a, argc, argv, "--set --device --threads --weights --out --quiet")) return 2;
    if (a.n_pos != 1) {
        fprintf(stderr, "usage: cvl-host check CONFIG [--out DIR] [--weights FILE] [--set k=v]...\n");
        return 2;
    }
    cvl_config cfg;
    if (load_config(&cfg, a.positional[0], &a)) return 1;
    char dir[1024];
    if (a.out_dir) {
        snprintf(dir, sizeof dir, "%s", a.out_dir);
    } else {
        char stem[256];
        snprintf(dir, sizeof dir, "%s/check-%s", cvl_config_string(&cfg, "run_dir"),
                 cvl_path_stem(stem, sizeof stem, a.positional[0]));
    }
    cvl_err e = {0};
    cvl_status st = cvl_mkdirs(dir, &e);
    if (st == CVL_OK) st = cvl_check(cvl_cli_registry(cli), &cfg, &a.opt, dir, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    printf("checks passed; the augmented batch is %s/augmented_batch.png\n", dir);
    return 0;
}

int cvl_cmd_config_docs(cvl_cli *cli, int argc, char **argv) {
    (void)cli;
    (void)argc;
    (void)argv;
    cvl_config_write_docs(stdout);
    return 0;
}
