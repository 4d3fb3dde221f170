/* cmd_list.c -- `cvl-host --list [KIND] [--json]`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void version_str(uint32_t v, char *buf, size_t n) {
    snprintf(buf, n, "%u.%u.%u", CVL_VERSION_MAJOR(v), CVL_VERSION_MINOR(v), CVL_VERSION_PATCH(v));
}

static json_t *component_json(const cvl_component *c) {
    char ver[32];
    version_str(c->desc->version, ver, sizeof ver);
    json_t *params = json_array();
    for (uint32_t i = 0; i < c->n_params; i++) {
        const cvl_param_desc *p = c->params[i];
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:o, s:b, s:s}", "name", p->name, "type",
                              cvl_param_type_name(p->type), "default",
                              c->has_default[i] ? cvl_value_to_json(&c->defaults[i]) : json_null(),
                              "required", !c->has_default[i], "help", p->help ? p->help : ""));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "kind", cvl_kind_name(c->desc->kind),
                     "name", c->desc->name, "version", ver, "summary",
                     c->desc->summary ? c->desc->summary : "", "plugin", c->plugin->path, "params",
                     params);
}

static void component_text(const cvl_component *c, FILE *out) {
    char ver[32];
    version_str(c->desc->version, ver, sizeof ver);
    fprintf(out, "%-10s %s %s\n", cvl_kind_name(c->desc->kind), c->desc->name, ver);
    if (c->desc->summary && *c->desc->summary) fprintf(out, "           %s\n", c->desc->summary);
    fprintf(out, "           plugin: %s\n", c->plugin->path);
    for (uint32_t i = 0; i < c->n_params; i++) {
        const cvl_param_desc *p = c->params[i];
        char def[256] = "(required)";
        if (c->has_default[i]) cvl_value_format(&c->defaults[i], def, sizeof def);
        char lhs[512];
        snprintf(lhs, sizeof lhs, "%s: %s = %s", p->name, cvl_param_type_name(p->type), def);
        fprintf(out, "             %-34s %s\n", lhs, p->help ? p->help : "");
    }
}

int cvl_cmd_list(cvl_cli *cli, int argc, char **argv) {
    const char *kind_filter = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (argv[i][0] != '-' && kind_filter == NULL) {
            kind_filter = argv[i];
        } else {
            fprintf(stderr, "cvl-host: --list: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    cvl_registry *reg = cvl_cli_registry(cli);
    cvl_kind kind = 0;
    if (kind_filter != NULL) {
        kind = cvl_kind_from_name(kind_filter);
        if (kind == 0) {
            static const char *const kinds[] = {"encoder", "aggregator", "head", "loss", "optimizer"};
            const char *near = cvl_closest(kind_filter, kinds, 5);
            fprintf(stderr,
                    "cvl-host: --list: unknown kind '%s'%s%s%s (kinds: encoder, aggregator, head, "
                    "loss, optimizer)\n",
                    kind_filter, near ? ", did you mean '" : "", near ? near : "", near ? "'?" : "");
            return 2;
        }
    }
    /* Group by kind, then by name: stable, easy to scan. */
    size_t n = cvl_registry_count(reg);
    json_t *arr = as_json ? json_array() : NULL;
    size_t shown = 0;
    for (cvl_kind k = CVL_KIND_ENCODER; k <= CVL_KIND_OPTIMIZER; k++) {
        if (kind && k != kind) continue;
        const cvl_component *sorted[1024];
        size_t m = 0;
        for (size_t i = 0; i < n && m < 1024; i++) {
            const cvl_component *c = cvl_registry_at(reg, i);
            if (c->desc->kind != k) continue;
            size_t at = m++;
            while (at > 0 && strcmp(sorted[at - 1]->desc->name, c->desc->name) > 0) {
                sorted[at] = sorted[at - 1];
                at--;
            }
            sorted[at] = c;
        }
        for (size_t i = 0; i < m; i++, shown++) {
            if (as_json) {
                json_array_append_new(arr, component_json(sorted[i]));
            } else {
                component_text(sorted[i], stdout);
            }
        }
    }
    if (as_json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(arr);
    } else if (shown == 0) {
        printf("no %s%scomponents installed (plugin dirs: --plugin-dir, CVL_PLUGIN_PATH, %s)\n",
               kind_filter ? kind_filter : "", kind_filter ? " " : "",
               cvl_builtin_plugin_dir() ? cvl_builtin_plugin_dir() : "no built-in dir found");
    }
    return 0;
}
