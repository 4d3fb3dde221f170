#define _GNU_SOURCE /* dladdr */
#include "registry.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/strutil.h"

struct cvl_registry {
    cvl_plugin **plugins;
    size_t n_plugins, cap_plugins;
    cvl_component **components;
    size_t n_components, cap_components;
    cvl_warn_fn warn;
    void *warn_user;
};

static void default_warn(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "cvl: warning: %s\n", msg);
}

cvl_registry *cvl_registry_new(cvl_warn_fn warn, void *warn_user) {
    cvl_registry *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->warn = warn ? warn : default_warn;
    r->warn_user = warn_user;
    return r;
}

static void component_free(cvl_component *c) {
    if (c == NULL) return;
    for (uint32_t i = 0; i < c->n_params; i++)
        if (c->has_default && c->has_default[i]) cvl_value_free(&c->defaults[i]);
    free(c->params);
    free(c->defaults);
    free(c->has_default);
    free(c->arg_types);
    free(c);
}

void cvl_registry_free(cvl_registry *r) {
    if (r == NULL) return;
    for (size_t i = 0; i < r->n_components; i++) component_free(r->components[i]);
    free(r->components);
    for (size_t i = 0; i < r->n_plugins; i++) {
        /* Plugins stay mapped until now: descriptors point into them. */
        if (r->plugins[i]->handle) dlclose(r->plugins[i]->handle);
        free(r->plugins[i]->path);
        free(r->plugins[i]);
    }
    free(r->plugins);
    free(r);
}

void cvl_registry_warn(cvl_registry *r, const char *fmt, ...) {
    char msg[CVL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->warn(r->warn_user, msg);
}

const char *cvl_kind_name(cvl_kind kind) {
    switch (kind) {
    case CVL_KIND_ENCODER: return "encoder";
    case CVL_KIND_AGGREGATOR: return "aggregator";
    case CVL_KIND_HEAD: return "head";
    case CVL_KIND_LOSS: return "loss";
    case CVL_KIND_OPTIMIZER: return "optimizer";
    default: return NULL;
    }
}

cvl_kind cvl_kind_from_name(const char *name) {
    for (cvl_kind k = CVL_KIND_ENCODER; k <= CVL_KIND_OPTIMIZER; k++)
        if (strcmp(cvl_kind_name(k), name) == 0) return k;
    return 0;
}

size_t cvl_registry_count(const cvl_registry *r) { return r->n_components; }
size_t cvl_registry_plugin_count(const cvl_registry *r) { return r->n_plugins; }
const cvl_component *cvl_registry_at(const cvl_registry *r, size_t i) {
    return i < r->n_components ? r->components[i] : NULL;
}

const cvl_component *cvl_registry_find(const cvl_registry *r, cvl_kind kind, const char *name) {
    for (size_t i = 0; i < r->n_components; i++) {
        const cvl_component *c = r->components[i];
        if (c->desc->kind == kind && strcmp(c->desc->name, name) == 0) return c;
    }
    return NULL;
}

size_t cvl_registry_names(const cvl_registry *r, cvl_kind kind, const char **out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_components && n < cap; i++)
        if (r->components[i]->desc->kind == kind) out[n++] = r->components[i]->desc->name;
    return n;
}

/* ------------------------------------------------------------ validation */

static bool valid_ident(const char *s, const char *extra) {
    if (s == NULL || *s == '\0' || strlen(s) > 64) return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!(islower(ch) || isdigit(ch) || ch == '_' || (extra && strchr(extra, ch)))) return false;
    }
    return true;
}

static ffi_type *ffi_type_for(cvl_param_type t) {
    switch (t) {
    case CVL_PARAM_INT: return &ffi_type_sint64;
    case CVL_PARAM_FLOAT: return &ffi_type_double;
    case CVL_PARAM_BOOL: return &ffi_type_uint8; /* C bool: one byte, 0 or 1 */
    case CVL_PARAM_STRING:
    case CVL_PARAM_INT_LIST:
    case CVL_PARAM_FLOAT_LIST: return &ffi_type_pointer;
    default: return NULL;
    }
}

/* Builds the registry entry for one component, or fails with the reason. */
static cvl_component *component_prepare(const cvl_component_desc *d, const cvl_plugin *p,
                                        cvl_err *e) {
    if (d == NULL) {
        cvl_err_set(e, CVL_ERR_INVALID, "component descriptor is NULL");
        return NULL;
    }
    if (d->struct_size < offsetof(cvl_component_desc, ctor) + sizeof(cvl_ctor_fn)) {
        cvl_err_set(e, CVL_ERR_INVALID, "component descriptor struct_size %u is too small",
                    d->struct_size);
        return NULL;
    }
    if (d->name == NULL || *d->name == '\0') {
        cvl_err_set(e, CVL_ERR_INVALID, "a component has no name");
        return NULL;
    }
    const char *kind = cvl_kind_name(d->kind);
    if (kind == NULL) {
        cvl_err_set(e, CVL_ERR_INVALID, "component '%s' has unknown kind %d", d->name, (int)d->kind);
        return NULL;
    }
    if (!valid_ident(d->name, ".-")) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': name must match [a-z0-9_.-]{1,64}", kind, d->name);
        return NULL;
    }
    if (d->ctor == NULL) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s' has no constructor", kind, d->name);
        return NULL;
    }
    if (d->n_params > 64) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s' declares %u parameters (at most 64)", kind,
                    d->name, d->n_params);
        return NULL;
    }
    if (d->n_params > 0 && d->params == NULL) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s' declares %u parameters but no array", kind,
                    d->name, d->n_params);
        return NULL;
    }
    cvl_component *c = calloc(1, sizeof *c);
    if (c == NULL) {
        cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->desc = d;
    c->plugin = p;
    c->n_params = d->n_params;
    c->params = calloc(d->n_params + 1, sizeof *c->params);
    c->defaults = calloc(d->n_params + 1, sizeof *c->defaults);
    c->has_default = calloc(d->n_params + 1, sizeof *c->has_default);
    c->arg_types = calloc(d->n_params + 2, sizeof *c->arg_types);
    if (!c->params || !c->defaults || !c->has_default || !c->arg_types) {
        cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    uint32_t stride = d->n_params ? d->params[0].struct_size : 0;
    if (d->n_params && stride < offsetof(cvl_param_desc, help) + sizeof(const char *)) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameter struct_size %u is too small", kind,
                    d->name, stride);
        goto fail;
    }
    c->arg_types[0] = &ffi_type_pointer;
    c->arg_types[1] = &ffi_type_pointer;
    for (uint32_t i = 0; i < d->n_params; i++) {
        const cvl_param_desc *pd =
            (const cvl_param_desc *)(const void *)((const char *)d->params + (size_t)i * stride);
        if (pd->struct_size != stride) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameter %u has struct_size %u, expected %u",
                        kind, d->name, i, pd->struct_size, stride);
            goto fail;
        }
        if (!valid_ident(pd->name, NULL)) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameter %u has %s name", kind, d->name, i,
                        pd->name ? "an invalid" : "no");
            goto fail;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(c->params[k]->name, pd->name) == 0) {
                cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameter '%s' is declared twice", kind,
                            d->name, pd->name);
                goto fail;
            }
        }
        c->arg_types[i + 2] = ffi_type_for(pd->type);
        if (c->arg_types[i + 2] == NULL) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameter '%s' has unknown type %d", kind,
                        d->name, pd->name, (int)pd->type);
            goto fail;
        }
        c->params[i] = pd;
        if (pd->default_value != NULL) {
            cvl_err why = {0};
            if (cvl_value_parse(&c->defaults[i], pd->type, pd->default_value, &why) != CVL_OK) {
                cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': default of parameter '%s' (%s): %s",
                            kind, d->name, pd->name, cvl_param_type_name(pd->type), why.msg);
                goto fail;
            }
            c->has_default[i] = true;
        }
    }
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, d->n_params + 2, &ffi_type_sint32, c->arg_types) !=
        FFI_OK) {
        cvl_err_set(e, CVL_ERR_INTERNAL, "%s '%s': libffi cannot describe its constructor", kind,
                    d->name);
        goto fail;
    }
    return c;
fail:
    component_free(c);
    return NULL;
}

static bool push(void ***arr, size_t *n, size_t *cap, void *item) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void **g = realloc(*arr, nc * sizeof *g);
        if (g == NULL) return false;
        *arr = g;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return true;
}

/* Validates a plugin's descriptor and prepares all its components; on any
 * failure nothing is registered. */
static bool plugin_register(cvl_registry *r, cvl_plugin *p, cvl_err *e) {
    const cvl_plugin_desc *d = p->desc;
    if (d->struct_size < offsetof(cvl_plugin_desc, components) + sizeof d->components) {
        cvl_err_set(e, CVL_ERR_INVALID, "plugin descriptor struct_size %u is too small",
                    d->struct_size);
        return false;
    }
    if (d->n_components > 4096 || (d->n_components > 0 && d->components == NULL)) {
        cvl_err_set(e, CVL_ERR_INVALID, "plugin descriptor has a bad component list");
        return false;
    }
    cvl_component **prepared = calloc(d->n_components + 1, sizeof *prepared);
    if (prepared == NULL) {
        cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < d->n_components && ok; i++) {
        prepared[i] = component_prepare(d->components[i], p, e);
        if (prepared[i] == NULL) ok = false;
        for (uint32_t k = 0; ok && k < i; k++) {
            if (prepared[k]->desc->kind == prepared[i]->desc->kind &&
                strcmp(prepared[k]->desc->name, prepared[i]->desc->name) == 0) {
                cvl_err_set(e, CVL_ERR_INVALID, "declares %s '%s' twice",
                            cvl_kind_name(prepared[i]->desc->kind), prepared[i]->desc->name);
                ok = false;
            }
        }
    }
    if (ok && !push((void ***)&r->plugins, &r->n_plugins, &r->cap_plugins, p)) {
        cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        ok = false;
    }
    if (!ok) {
        for (uint32_t i = 0; i < d->n_components; i++) component_free(prepared[i]);
        free(prepared);
        return false;
    }
    for (uint32_t i = 0; i < d->n_components; i++) {
        cvl_component *c = prepared[i];
        const cvl_component *prev = cvl_registry_find(r, c->desc->kind, c->desc->name);
        if (prev != NULL) {
            cvl_registry_warn(r, "plugin %s: %s '%s' is already provided by %s; keeping that one",
                              p->path, cvl_kind_name(c->desc->kind), c->desc->name,
                              prev->plugin->path);
            component_free(c);
            continue;
        }
        if (!push((void ***)&r->components, &r->n_components, &r->cap_components, c)) {
            cvl_registry_warn(r, "plugin %s: out of memory registering '%s'", p->path,
                              c->desc->name);
            component_free(c);
        }
    }
    free(prepared);
    return true;
}

/* dlerror() repeats the path; keep only the reason after it. */
static const char *dl_reason(const char *path, const char *msg) {
    if (msg == NULL) return "unknown dlopen error";
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') return msg + n + 2;
    return msg;
}

bool cvl_registry_load_file(cvl_registry *r, const char *path) {
    for (size_t i = 0; i < r->n_plugins; i++) {
        if (strcmp(r->plugins[i]->path, path) == 0) return true; /* same file twice in the path */
    }
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        cvl_registry_warn(r, "plugin %s: cannot load: %s", path, dl_reason(path, dlerror()));
        return false;
    }
    void *sym = dlsym(h, CVL_PLUGIN_ENTRY_NAME);
    if (sym == NULL) {
        cvl_registry_warn(r, "plugin %s: no entry symbol '%s' (not a cvlization plugin?)", path,
                          CVL_PLUGIN_ENTRY_NAME);
        dlclose(h);
        return false;
    }
    cvl_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object pointer -> function pointer, POSIX-sanctioned */
    const cvl_plugin_desc *desc = NULL;
    cvl_status st = entry(cvl_host_table(), &desc);
    uint32_t host_major = CVL_ABI_VERSION_MAJOR;
    if (desc != NULL && desc->struct_size >= 2 * sizeof(uint32_t) &&
        CVL_VERSION_MAJOR(desc->abi_version) != host_major) {
        cvl_registry_warn(r, "plugin %s: built for plugin ABI %u.%u, this host speaks %u.%u", path,
                          CVL_VERSION_MAJOR(desc->abi_version), CVL_VERSION_MINOR(desc->abi_version),
                          host_major, (unsigned)CVL_ABI_VERSION_MINOR);
        dlclose(h);
        return false;
    }
    if (st != CVL_OK) {
        cvl_registry_warn(r, "plugin %s: entry function failed (status %d, %s)", path, (int)st,
                          cvl_status_name(st));
        dlclose(h);
        return false;
    }
    if (desc == NULL) {
        cvl_registry_warn(r, "plugin %s: entry function returned no descriptor", path);
        dlclose(h);
        return false;
    }
    cvl_plugin *p = calloc(1, sizeof *p);
    char *copy = cvl_strdup(path);
    if (p == NULL || copy == NULL) {
        free(p);
        free(copy);
        cvl_registry_warn(r, "plugin %s: out of memory", path);
        dlclose(h);
        return false;
    }
    p->path = copy;
    p->handle = h;
    p->desc = desc;
    cvl_err e = {0};
    if (!plugin_register(r, p, &e)) {
        cvl_registry_warn(r, "plugin %s: rejected: %s", path, e.msg);
        free(p->path);
        free(p);
        dlclose(h);
        return false;
    }
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t cvl_registry_load_dir(cvl_registry *r, const char *dir, bool warn_missing) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (warn_missing) cvl_registry_warn(r, "plugin dir %s: cannot open", dir);
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || !cvl_str_ends_with(ent->d_name, ".so")) continue;
        char *name = cvl_strdup(ent->d_name);
        if (name == NULL || !push((void ***)&names, &n, &cap, name)) {
            free(name);
            break;
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    size_t loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (len > 0 && (size_t)len < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            loaded += cvl_registry_load_file(r, path);
        }
        free(names[i]);
    }
    free(names);
    return loaded;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cvl_builtin_plugin_dir(void) {
    static char dir[PATH_MAX];
    static bool done;
    if (done) return dir[0] ? dir : NULL;
    done = true;
    Dl_info info;
    if (dladdr((void *)&cvl_builtin_plugin_dir, &info) == 0 || info.dli_fname == NULL) return NULL;
    char lib[PATH_MAX];
    if (realpath(info.dli_fname, lib) == NULL) return NULL;
    char *slash = strrchr(lib, '/');
    if (slash == NULL) return NULL;
    *slash = '\0';
    /* Installed: <libdir>/cvlization/plugins. Build tree: <build>/host/.. /plugins. */
    const char *rel[] = {CVL_PLUGIN_SUBDIR, "../plugins"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX];
        int len = snprintf(cand, sizeof cand, "%s/%s", lib, rel[i]);
        if (len > 0 && (size_t)len < sizeof cand && is_dir(cand) && realpath(cand, dir) != NULL)
            return dir;
    }
    dir[0] = '\0';
    return NULL;
}

void cvl_registry_load_default(cvl_registry *r, const char *const *dirs, size_t n_dirs) {
    for (size_t i = 0; i < n_dirs; i++) cvl_registry_load_dir(r, dirs[i], true);
    const char *env = getenv("CVL_PLUGIN_PATH");
    if (env != NULL && *env != '\0') {
        char *copy = cvl_strdup(env);
        char *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok;
             tok = strtok_r(NULL, ":", &save))
            cvl_registry_load_dir(r, tok, true);
        free(copy);
    }
    const char *builtin = cvl_builtin_plugin_dir();
    if (builtin != NULL) cvl_registry_load_dir(r, builtin, false);
}
