/*
 * cvl/plugin.h -- the cvlization plugin ABI, major version 1.
 *
 * This is the only header a plugin needs. A plugin is a shared object that
 * exports exactly one symbol, CVL_PLUGIN_ENTRY (cvl_plugin_entry), and keeps
 * everything else hidden (-fvisibility=hidden). It never links against the
 * host: every host service it uses comes through the cvl_host table that the
 * entry function receives.
 *
 * Life of a plugin
 *   1. The host dlopen()s the .so and looks up "cvl_plugin_entry".
 *   2. It calls entry(host, &desc). `host` states the ABI version the host
 *      speaks; the plugin fills `desc` with the ABI version it was built for
 *      and its components, and returns CVL_OK (anything else: not loaded).
 *   3. The host accepts the plugin when both majors agree, then validates
 *      every component before it registers any of them: a plugin loads whole
 *      or not at all.
 *   4. To build a component, the host converts the config's values to the
 *      declared parameter types and calls the component's constructor
 *      through libffi:
 *          cvl_status ctor(const cvl_host *host, cvl_ctx *ctx, <params>...);
 *      with one C argument per declared parameter, in declared order:
 *          CVL_PARAM_INT      int64_t
 *          CVL_PARAM_FLOAT    double
 *          CVL_PARAM_BOOL     bool
 *          CVL_PARAM_STRING   const char *           (never NULL)
 *          CVL_PARAM_INT_LIST const cvl_int_list *   (never NULL)
 *      Pointers handed to a constructor are valid for that call only.
 *
 * Compatibility rules (the Vulkan-loader / sqlite3_api_routines discipline)
 *   - The first two fields of cvl_host and cvl_plugin_desc, {struct_size,
 *     abi_version}, never change in any major version, so both sides can
 *     always read the other's version and refuse cleanly.
 *   - Within a major version structs only grow at the end. Every public
 *     struct starts with its size; a reader checks the size before it touches
 *     a field that a newer minor version appended (CVL_HAS_FIELD).
 *   - The cvl_host table is append-only: a plugin built against 1.N loads in
 *     every host 1.M; where M < N it must test CVL_HOST_HAS(host, fn) before
 *     calling a function that 1.N appended.
 *   - Host objects are opaque handles. No FILE*, no memory allocated on one
 *     side and freed on the other, no global state in plugins.
 */
#ifndef CVL_PLUGIN_H
#define CVL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

/* major.minor.patch packed as 10.10.12 bits: 1.0.0 == 0x00400000. */
#define CVL_MAKE_VERSION(major, minor, patch) \
    ((((uint32_t)(major)) << 22) | (((uint32_t)(minor)) << 12) | ((uint32_t)(patch)))
#define CVL_VERSION_MAJOR(v) ((uint32_t)(v) >> 22)
#define CVL_VERSION_MINOR(v) (((uint32_t)(v) >> 12) & 0x3ffu)
#define CVL_VERSION_PATCH(v) ((uint32_t)(v) & 0xfffu)

#define CVL_ABI_VERSION_MAJOR 1
#define CVL_ABI_VERSION_MINOR 0
#define CVL_ABI_VERSION CVL_MAKE_VERSION(CVL_ABI_VERSION_MAJOR, CVL_ABI_VERSION_MINOR, 0)

/* ------------------------------------------------------------ basic types */

/* Status codes. Plain int32_t so the ABI never depends on enum sizing. */
typedef int32_t cvl_status;
#define CVL_OK 0
#define CVL_ERR_INVALID 1     /* bad argument, bad shape, bad value */
#define CVL_ERR_UNSUPPORTED 2 /* version or feature the other side lacks */
#define CVL_ERR_NOMEM 3
#define CVL_ERR_IO 4
#define CVL_ERR_INTERNAL 5

typedef int32_t cvl_kind;
#define CVL_KIND_ENCODER 1    /* input tensor -> feature tensor (a backbone) */
#define CVL_KIND_AGGREGATOR 2 /* several encoded inputs -> one tensor */
#define CVL_KIND_HEAD 3       /* aggregated features -> one target's prediction */
#define CVL_KIND_LOSS 4       /* prediction, target -> scalar loss */
#define CVL_KIND_OPTIMIZER 5  /* parameters, gradients -> update */

typedef int32_t cvl_param_type;
#define CVL_PARAM_INT 1      /* int64_t */
#define CVL_PARAM_FLOAT 2    /* double */
#define CVL_PARAM_BOOL 3     /* bool */
#define CVL_PARAM_STRING 4   /* const char * */
#define CVL_PARAM_INT_LIST 5 /* const cvl_int_list * */

typedef int32_t cvl_log_level;
#define CVL_LOG_DEBUG 0
#define CVL_LOG_INFO 1
#define CVL_LOG_WARN 2
#define CVL_LOG_ERROR 3

typedef struct cvl_int_list {
    const int64_t *data;
    size_t len;
} cvl_int_list;

/* Opaque host objects. */
typedef struct cvl_ctx cvl_ctx;       /* one constructor call's context */
typedef struct cvl_tensor cvl_tensor; /* a node of the graph being built */

/* --------------------------------------------------------- descriptors */

/*
 * One parameter of a component. `default_value` is text in the type's own
 * syntax -- "64", "0.1", "true"/"false", any string, "[1, 2, 3]" -- and is
 * parsed by the host when the plugin loads; a default that does not parse
 * rejects the plugin. NULL means the parameter is required.
 * Names match [a-z_][a-z0-9_]* and are unique within a component.
 * Parameters form an array whose elements all carry the same struct_size.
 */
typedef struct cvl_param_desc {
    uint32_t struct_size; /* sizeof(cvl_param_desc) */
    cvl_param_type type;
    const char *name;
    const char *default_value;
    const char *help; /* one line; may be NULL */
} cvl_param_desc;

/* A constructor, cast to a generic function pointer. Its real signature is
 * cvl_status fn(const cvl_host *, cvl_ctx *, <declared params>...). */
typedef void (*cvl_ctor_fn)(void);
#define CVL_CTOR(fn) ((cvl_ctor_fn)(void (*)(void))(fn))

typedef struct cvl_component_desc {
    uint32_t struct_size; /* sizeof(cvl_component_desc) */
    cvl_kind kind;
    const char *name;    /* unique per kind, [a-z0-9_.-]+ */
    const char *summary; /* one line */
    uint32_t version;    /* CVL_MAKE_VERSION */
    uint32_t n_params;
    const cvl_param_desc *params;
    cvl_ctor_fn ctor;
} cvl_component_desc;

typedef struct cvl_plugin_desc {
    uint32_t struct_size; /* frozen across majors */
    uint32_t abi_version; /* frozen across majors: CVL_ABI_VERSION built against */
    const char *name;     /* package name, for messages */
    uint32_t version;     /* package version, CVL_MAKE_VERSION */
    uint32_t n_components;
    const cvl_component_desc *const *components;
} cvl_plugin_desc;

/* ------------------------------------------------------------ host table */

/*
 * Services the host hands to every plugin. Append-only within a major.
 * Functions taking a cvl_ctx may only be called from inside the constructor
 * call that received that ctx.
 */
typedef struct cvl_host {
    uint32_t struct_size; /* frozen across majors */
    uint32_t abi_version; /* frozen across majors: the ABI the host speaks */

    /* A message for the user, attributed to the component being built. */
    void (*log)(cvl_ctx *ctx, cvl_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Records why construction failed and returns `status`, so a
     * constructor can `return host->fail(ctx, CVL_ERR_INVALID, "...")`.
     * The host prefixes the component's kind and name. */
    cvl_status (*fail)(cvl_ctx *ctx, cvl_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* The tensors this component consumes (an encoder: 1; an aggregator:
     * one per encoded input; a loss: prediction then target). */
    uint32_t (*num_inputs)(cvl_ctx *ctx);
    cvl_tensor *(*input)(cvl_ctx *ctx, uint32_t index);
    /* The tensor(s) this component produces, in order. */
    cvl_status (*add_output)(cvl_ctx *ctx, cvl_tensor *t);
} cvl_host;

/* True when `s` (a struct that starts with struct_size) is large enough to
 * hold `field`, i.e. the other side was built with a version that has it. */
#define CVL_HAS_FIELD(s, type, field) \
    ((s)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))
#define CVL_HOST_HAS(host, field) \
    (CVL_HAS_FIELD(host, cvl_host, field) && (host)->field != NULL)

/* ------------------------------------------------------------- the entry */

#define CVL_PLUGIN_ENTRY cvl_plugin_entry
#define CVL_PLUGIN_ENTRY_NAME "cvl_plugin_entry"

#if defined(_WIN32)
#define CVL_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CVL_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* The entry point's signature is frozen across all major versions. */
typedef cvl_status (*cvl_plugin_entry_fn)(const cvl_host *host, const cvl_plugin_desc **out);

/* --------------------------------------------------- declaration helpers */

#define CVL_PARAM(type_, name_, default_, help_) \
    { sizeof(cvl_param_desc), (type_), (name_), (default_), (help_) }
#define CVL_PARAM_INT_DEF(name, def, help) CVL_PARAM(CVL_PARAM_INT, name, def, help)
#define CVL_PARAM_FLOAT_DEF(name, def, help) CVL_PARAM(CVL_PARAM_FLOAT, name, def, help)
#define CVL_PARAM_BOOL_DEF(name, def, help) CVL_PARAM(CVL_PARAM_BOOL, name, def, help)
#define CVL_PARAM_STRING_DEF(name, def, help) CVL_PARAM(CVL_PARAM_STRING, name, def, help)
#define CVL_PARAM_INT_LIST_DEF(name, def, help) CVL_PARAM(CVL_PARAM_INT_LIST, name, def, help)

#define CVL_ARRAY_LEN(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* Declares a component descriptor named `var` with the parameter array
 * `params` (declared with the CVL_PARAM_* macros). */
#define CVL_COMPONENT(var, kind_, name_, summary_, version_, params_, ctor_)             \
    static const cvl_component_desc var = {sizeof(cvl_component_desc), (kind_), (name_), \
                                           (summary_), (version_), CVL_ARRAY_LEN(params_), \
                                           (params_), CVL_CTOR(ctor_)}
#define CVL_COMPONENT_NOPARAMS(var, kind_, name_, summary_, version_, ctor_)             \
    static const cvl_component_desc var = {sizeof(cvl_component_desc), (kind_), (name_), \
                                           (summary_), (version_), 0, NULL, CVL_CTOR(ctor_)}

/* Defines the entry point for a plugin whose components are listed in the
 * array `components_` (const cvl_component_desc *const[]). */
#define CVL_DEFINE_PLUGIN(name_, version_, components_)                                    \
    static const cvl_plugin_desc cvl_plugin_desc_ = {                                      \
        sizeof(cvl_plugin_desc), CVL_ABI_VERSION,        (name_),                          \
        (version_),              CVL_ARRAY_LEN(components_), (components_)};               \
    CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host,                    \
                                                  const cvl_plugin_desc **out);            \
    CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host,                    \
                                                  const cvl_plugin_desc **out) {           \
        *out = &cvl_plugin_desc_; /* set even on refusal: the host names our ABI */        \
        if (CVL_VERSION_MAJOR(host->abi_version) != CVL_ABI_VERSION_MAJOR) {               \
            return CVL_ERR_UNSUPPORTED;                                                    \
        }                                                                                  \
        return CVL_OK;                                                                     \
    }

#ifdef __cplusplus
}
#endif

#endif /* CVL_PLUGIN_H */
