/* cli.h -- the cvl-host subcommands. main.c parses the options every
 * command shares (--plugin-dir) and dispatches; each command lives in its
 * own cmd_<name>.c and registers itself in main.c's command table. */
#ifndef CVL_CLI_H
#define CVL_CLI_H

#include "plugins/registry.h"
#include "util/strutil.h"

typedef struct cvl_cli {
    const char *plugin_dirs[64];
    size_t n_plugin_dirs;
    cvl_registry *registry; /* loaded on first use */
} cvl_cli;

/* The registry with every plugin loaded (search order in registry.h). */
cvl_registry *cvl_cli_registry(cvl_cli *cli);

/* A command gets the arguments after its name: argv[0] is the command. It
 * returns the process exit status: 0 ok, 1 failure, 2 usage error. */
typedef int (*cvl_cmd_fn)(cvl_cli *cli, int argc, char **argv);

int cvl_cmd_list(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_train(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_eval(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_predict(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_check(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_config_docs(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_devices(cvl_cli *cli, int argc, char **argv);
int cvl_cmd_data(cvl_cli *cli, int argc, char **argv);

#endif
