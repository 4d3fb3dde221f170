/* main.c -- cvl-host: a thin command line over libcvl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#ifndef CVL_VERSION_STRING
#define CVL_VERSION_STRING "0.0.0"
#endif

static void usage(FILE *out) {
    fprintf(out,
            "usage: cvl-host [--plugin-dir DIR]... COMMAND\n"
            "\n"
            "commands:\n"
            "  --list [KIND] [--json]   installed components (KIND: encoder, aggregator,\n"
            "                           head, loss, optimizer), with their parameters\n"
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

int main(int argc, char **argv) {
    const char *dirs[64];
    size_t n_dirs = 0;
    const char *command = NULL, *kind = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--plugin-dir") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cvl-host: --plugin-dir needs a directory\n");
                return 2;
            }
            if (n_dirs == sizeof dirs / sizeof dirs[0]) {
                fprintf(stderr, "cvl-host: at most 64 --plugin-dir options\n");
                return 2;
            }
            dirs[n_dirs++] = argv[++i];
        } else if (strncmp(a, "--plugin-dir=", 13) == 0 && n_dirs < 64) {
            dirs[n_dirs++] = a + 13;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("cvl-host %s (plugin ABI %d.%d)\n", CVL_VERSION_STRING, CVL_ABI_VERSION_MAJOR,
                   CVL_ABI_VERSION_MINOR);
            return 0;
        } else if (strcmp(a, "--list") == 0) {
            command = "list";
            if (i + 1 < argc && argv[i + 1][0] != '-') kind = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else {
            fprintf(stderr, "cvl-host: unknown argument '%s' (see cvl-host --help)\n", a);
            return 2;
        }
    }
    if (command == NULL) {
        usage(stderr);
        return 2;
    }
    cvl_registry *reg = cvl_registry_new(NULL, NULL);
    if (reg == NULL) {
        fprintf(stderr, "cvl-host: out of memory\n");
        return 1;
    }
    cvl_registry_load_default(reg, dirs, n_dirs);
    int rc = cvl_cmd_list(reg, kind, as_json);
    cvl_registry_free(reg);
    return rc;
}
