/* cmd_train.c -- `cvl-host train CONFIG [--set k=v]... [--threads N] [--run-dir DIR] [--quiet]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "train/train.h"

static int usage(void) {
    fprintf(stderr, "usage: cvl-host train CONFIG [--set key=value]... [--device D] [--threads N] [--run-dir DIR] [--quiet]\n");
    return 2;
}

int cvl_cmd_train(cvl_cli *cli, int argc, char **argv) {
    const char *config = NULL, *sets[128];
    size_t n_sets = 0;
    cvl_train_options opt = {.threads = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--set") == 0 && i + 1 < argc && n_sets < 128) {
            sets[n_sets++] = argv[++i];
        } else if (strncmp(a, "--set=", 6) == 0 && n_sets < 128) {
            sets[n_sets++] = a + 6;
        } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 0 || t > 1024) {
                fprintf(stderr, "cvl-host train: --threads must be 0..1024, got '%s'\n", argv[i]);
                return 2;
            }
            opt.threads = (int)t;
        } else if (strcmp(a, "--device") == 0 && i + 1 < argc) {
            opt.device = argv[++i];
        } else if (strcmp(a, "--run-dir") == 0 && i + 1 < argc) {
            opt.run_dir = argv[++i];
        } else if (strcmp(a, "--quiet") == 0) {
            opt.quiet = true;
        } else if (a[0] != '-' && config == NULL) {
            config = a;
        } else {
            fprintf(stderr, "cvl-host train: unexpected argument '%s'\n", a);
            return usage();
        }
    }
    if (config == NULL) return usage();
    cvl_err e = {0};
    cvl_config cfg;
    if (cvl_config_load(&cfg, config, sets, n_sets, &e) != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        cvl_config_free(&cfg);
        return 1;
    }
    cvl_train_result res;
    cvl_status st = cvl_train(cvl_cli_registry(cli), &cfg, &opt, &res, &e);
    cvl_config_free(&cfg);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", e.msg);
        return 1;
    }
    printf("run %s: %lld steps, last loss %.4f, test accuracy %.4f, %.1f s in training steps (%.0f samples/s)\n",
           res.run_dir, (long long)res.steps, res.last_loss, res.test_accuracy, res.train_seconds, res.samples_per_s);
    return 0;
}

int cvl_cmd_config_docs(cvl_cli *cli, int argc, char **argv) {
    (void)cli;
    (void)argc;
    (void)argv;
    cvl_config_write_docs(stdout);
    return 0;
}
