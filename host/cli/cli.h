/* cli.h -- the cvl-host subcommands; main.c parses the shared options. */
#ifndef CVL_CLI_H
#define CVL_CLI_H

#include "plugins/registry.h"
#include "util/strutil.h"

int cvl_cmd_list(cvl_registry *reg, const char *kind_filter, bool as_json);

#endif
