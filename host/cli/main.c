/* main.c -- cvl-host: a thin command line over libcvl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#ifndef CVL_VERSION_STRING
#define CVL_VERSION_STRING "0.0.0"
#endif

typedef struct command {
    const char *name;
    cvl_cmd_fn fn;
    const char *usage;
} command;

/* One line per command; keep the table sorted by name. */
static const command commands[] = {
    {"--devices", cvl_cmd_devices, "--devices [--json] [--select SPEC]  the CPU and Vulkan devices; what --device SPEC picks"},
    {"--list", cvl_cmd_list,
     "--list [KIND] [--json]   installed components (KIND: encoder, aggregator, head,\n"
     "                           loss, optimizer) with their parameters"},
    {"check", cvl_cmd_check, "check CONFIG [--out DIR]  the quality checks alone (docs/checks.md)"},
    {"config-docs", cvl_cmd_config_docs, "config-docs              every config key with its type and default (markdown)"},
    {"data", cvl_cmd_data, "data CONFIG [--grid FILE] [--json]  dataset sizes, class counts, mean/std, augmented grid"},
    {"eval", cvl_cmd_eval,
     "eval CONFIG|RUN_DIR|CHECKPOINT [--weights FILE] [--json]\n"
     "                           metrics on the test split (else the validation split)"},
    {"predict", cvl_cmd_predict,
     "predict RUN_DIR|CHECKPOINT|CONFIG.json IMAGE... [--weights FILE] [--top-k K] [--json]\n"
     "                           top-k classes of image files"},
    {"train", cvl_cmd_train,
     "train CONFIG [--set k=v]... [--device D] [--threads N] [--run-dir DIR] [--weights FILE]\n"
     "                           [--resume RUN_DIR] [--stop-after STEPS] [--quiet]\n"
     "                           train a model; the run goes to a new run directory"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: cvl-host [--plugin-dir DIR]... COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out,
            "  --version                versions of cvl-host and of the plugin ABI\n"
            "  --help                   this text\n"
            "\n"
            "options:\n"
            "  --plugin-dir DIR         also load plugins from DIR (repeatable; searched\n"
            "                           before CVL_PLUGIN_PATH and the built-in dir)\n"
            "\n"
            "environment:\n"
            "  CVL_PLUGIN_PATH          colon-separated plugin dirs, searched after --plugin-dir\n");
}

cvl_registry *cvl_cli_registry(cvl_cli *cli) {
    if (cli->registry == NULL) {
        cli->registry = cvl_registry_new(NULL, NULL);
        if (cli->registry == NULL) {
            fprintf(stderr, "cvl-host: out of memory\n");
            exit(1);
        }
        cvl_registry_load_default(cli->registry, cli->plugin_dirs, cli->n_plugin_dirs);
    }
    return cli->registry;
}

int main(int argc, char **argv) {
    cvl_cli cli = {0};
    /* --plugin-dir may appear anywhere; collect it and pass the rest on. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL) return 1;
    int n_rest = 0;
    for (int i = 1; i < argc; i++) {
        const char *dir = NULL;
        if (strcmp(argv[i], "--plugin-dir") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cvl-host: --plugin-dir needs a directory\n");
                free(rest);
                return 2;
            }
            dir = argv[++i];
        } else if (strncmp(argv[i], "--plugin-dir=", 13) == 0) {
            dir = argv[i] + 13;
        } else {
            rest[n_rest++] = argv[i];
            continue;
        }
        if (cli.n_plugin_dirs == sizeof cli.plugin_dirs / sizeof cli.plugin_dirs[0]) {
            fprintf(stderr, "cvl-host: at most 64 --plugin-dir options\n");
            free(rest);
            return 2;
        }
        cli.plugin_dirs[cli.n_plugin_dirs++] = dir;
    }
    int rc = 2;
    if (n_rest == 0) {
        usage(stderr);
    } else if (strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
               strcmp(rest[0], "help") == 0) {
        usage(stdout);
        rc = 0;
    } else if (strcmp(rest[0], "--version") == 0) {
        printf("cvl-host %s (plugin ABI %d.%d)\n", CVL_VERSION_STRING, CVL_ABI_VERSION_MAJOR,
               CVL_ABI_VERSION_MINOR);
        rc = 0;
    } else {
        const command *cmd = NULL;
        const char *names[32];
        size_t n = sizeof commands / sizeof commands[0];
        for (size_t i = 0; i < n; i++) {
            names[i] = commands[i].name;
            if (strcmp(commands[i].name, rest[0]) == 0) cmd = &commands[i];
        }
        if (cmd != NULL) {
            rc = cmd->fn(&cli, n_rest, rest);
        } else {
            const char *near = cvl_closest(rest[0], names, n);
            fprintf(stderr, "cvl-host: unknown command '%s'%s%s%s (see cvl-host --help)\n",
                    rest[0], near ? ", did you mean '" : "", near ? near : "", near ? "'?" : "");
        }
    }
    cvl_registry_free(cli.registry);
    free(rest);
    return rc;
}
