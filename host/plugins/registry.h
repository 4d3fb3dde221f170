/* registry.h -- plugin loading and the component registry.
 *
 * Search order for plugin directories (first found wins on a name clash):
 *   1. every --plugin-dir DIR, in the order given;
 *   2. every entry of CVL_PLUGIN_PATH (colon-separated), in order;
 *   3. the built-in plugin directory, found relative to libcvl itself:
 *      <libdir>/cvlization/plugins after `meson install`, <build>/plugins in
 *      a build tree.
 * Inside a directory, *.so files load in byte order of their names.
 *
 * A plugin loads whole or not at all: the registry validates every
 * component of a plugin before registering any. A broken plugin costs one
 * warning line (naming the file and the reason) and nothing else. When two
 * components share kind and name, the one loaded first stays registered,
 * and the warning names both files. */
#ifndef CVL_PLUGINS_REGISTRY_H
#define CVL_PLUGINS_REGISTRY_H

#include <ffi.h>
#include <jansson.h>
#include <stdarg.h>

#include "plugins/value.h"
#include "util/err.h"

typedef struct cvl_registry cvl_registry;

/* Receives each warning line (without a trailing newline). */
typedef void (*cvl_warn_fn)(void *user, const char *msg);

typedef struct cvl_plugin {
    char *path;
    void *handle;
    const cvl_plugin_desc *desc;
} cvl_plugin;

typedef struct cvl_component {
    const cvl_component_desc *desc; /* lives in the plugin, loaded until registry_free */
    const cvl_plugin *plugin;
    uint32_t n_params;
    const cvl_param_desc **params; /* resolved with the plugin's element stride */
    cvl_value *defaults;           /* defaults[i] valid when has_default[i] */
    bool *has_default;
    ffi_cif cif;
    ffi_type **arg_types; /* host, ctx, then one per param */
} cvl_component;

cvl_registry *cvl_registry_new(cvl_warn_fn warn, void *warn_user);
void cvl_registry_free(cvl_registry *r);

/* Loads one .so. Returns false (after one warning) when it was rejected. */
bool cvl_registry_load_file(cvl_registry *r, const char *path);
/* Loads every *.so in `dir`, in name order. A missing dir warns when
 * `warn_missing`. Returns the number of plugins loaded. */
size_t cvl_registry_load_dir(cvl_registry *r, const char *dir, bool warn_missing);
/* The whole search order above: `dirs` are the --plugin-dir values. */
void cvl_registry_load_default(cvl_registry *r, const char *const *dirs, size_t n_dirs);

/* The built-in plugin directory, or NULL when none exists. Static storage. */
const char *cvl_builtin_plugin_dir(void);

size_t cvl_registry_count(const cvl_registry *r);
const cvl_component *cvl_registry_at(const cvl_registry *r, size_t i);
const cvl_component *cvl_registry_find(const cvl_registry *r, cvl_kind kind, const char *name);
size_t cvl_registry_plugin_count(const cvl_registry *r);

/* "encoder", "aggregator", ... ; NULL for an unknown kind. */
const char *cvl_kind_name(cvl_kind kind);
/* The kind for a name, or 0. */
cvl_kind cvl_kind_from_name(const char *name);

/* Names of all components of `kind`, for "did you mean" suggestions: fills
 * up to `cap` pointers and returns the count. */
size_t cvl_registry_names(const cvl_registry *r, cvl_kind kind, const char **out, size_t cap);

/* Emits a warning through the registry's sink. */
void cvl_registry_warn(cvl_registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ building */

/* What a constructor call consumes and produces. The graph layer extends
 * this through `user`. */
typedef struct cvl_build_io {
    cvl_tensor *const *inputs;
    uint32_t n_inputs;
    cvl_tensor **outputs; /* filled by the constructor, up to cap_outputs */
    uint32_t n_outputs;
    uint32_t cap_outputs;
    void *user;               /* the graph being built (a cvl_graph *) */
    int64_t target_dim;       /* heads: outputs their target needs */
    struct cvl_optim_spec *optim; /* optimizers: filled by the constructor */
    cvl_warn_fn log;          /* receives the component's log lines */
    void *log_user;
} cvl_build_io;

/* The host table handed to plugins. */
const cvl_host *cvl_host_table(void);

/* Resolves `params` (a JSON object, or NULL for all defaults) against the
 * component's declaration and calls its constructor through libffi.
 * Unknown keys, missing required parameters and wrong types fail with a
 * message naming the component and the parameter. */
cvl_status cvl_component_build(const cvl_component *c, const json_t *params, cvl_build_io *io,
                               cvl_err *e);

/* The ctx a constructor sees; exposed so the graph layer can reach `io`. */
struct cvl_ctx {
    const cvl_component *component;
    cvl_build_io *io;
    cvl_err *err;
};

#endif
