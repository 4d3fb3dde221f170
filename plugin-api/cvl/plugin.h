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
 *          CVL_PARAM_FLOAT_LIST const cvl_float_list * (never NULL)
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
#define CVL_PARAM_FLOAT_LIST 6 /* const cvl_float_list * */

typedef int32_t cvl_log_level;
#define CVL_LOG_DEBUG 0
#define CVL_LOG_INFO 1
#define CVL_LOG_WARN 2
#define CVL_LOG_ERROR 3

typedef struct cvl_int_list {
    const int64_t *data;
    size_t len;
} cvl_int_list;

typedef struct cvl_float_list {
    const double *data;
    size_t len;
} cvl_float_list;

/* Element types of tensors. */
typedef int32_t cvl_dtype;
#define CVL_DTYPE_F32 1
#define CVL_DTYPE_F16 2
#define CVL_DTYPE_BF16 3
#define CVL_DTYPE_I32 4
#define CVL_DTYPE_I64 5

/* Parameter initialisers (PyTorch's defaults for each layer kind). */
typedef int32_t cvl_init;
#define CVL_INIT_ZEROS 1
#define CVL_INIT_ONES 2
/* U(-b, b) with b = 1/sqrt(fan_in): nn.Linear / nn.Conv2d weights
 * (kaiming_uniform_ with a = sqrt(5)) and their biases. fan_in is taken from
 * the shape ([out, in, kh, kw] -> in*kh*kw) unless `arg` > 0 gives it. */
#define CVL_INIT_UNIFORM_FAN_IN 3
/* N(0, sqrt(2 / fan_out)): torchvision ResNet convolutions
 * (kaiming_normal_, mode fan_out, relu). */
#define CVL_INIT_KAIMING_NORMAL_FAN_OUT 4
/* N(0, arg): nn.Embedding (arg = 1). */
#define CVL_INIT_NORMAL 5

/* Ops without parameters, for the generic builders below. */
typedef int32_t cvl_op;
#define CVL_OP_RELU 1
#define CVL_OP_GELU 2
#define CVL_OP_SILU 3
#define CVL_OP_SIGMOID 4
#define CVL_OP_TANH 5
#define CVL_OP_ADD 20
#define CVL_OP_SUB 21
#define CVL_OP_MUL 22
#define CVL_OP_DIV 23
#define CVL_OP_MAX_POOL 40
#define CVL_OP_AVG_POOL 41
#define CVL_OP_SUM 60
#define CVL_OP_MEAN 61
#define CVL_OP_CROSS_ENTROPY 80 /* logits (N,C), labels (N) int; arg: label smoothing */
#define CVL_OP_BCE_LOGITS 81    /* logits, targets in [0,1], same shape; arg: pos_weight (0: none) */
#define CVL_OP_MSE 82
#define CVL_OP_L1 83
#define CVL_OP_HUBER 84         /* arg: delta */

/* Reduce over every axis. */
#define CVL_AXIS_ALL 0x7fffffff

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

    /* ------------------------------------------------- graph building
     * Every builder returns NULL on error, after recording a message that
     * names the component and the shapes involved; a builder given a NULL
     * tensor returns NULL at once. So a constructor chains builders and
     * checks once, at the end (add_output of NULL fails). Tensors are
     * NCHW; weights are PyTorch's layouts (conv OIHW, linear [out, in]). */

    /* Shape of a tensor; a negative axis counts from the end. */
    uint32_t (*ndim)(const cvl_tensor *t);
    int64_t (*dim)(const cvl_tensor *t, int32_t axis);
    /* The number of outputs this head must produce for its target (classes
     * for a category, labels for multi-label, values for a number). */
    int64_t (*target_dim)(cvl_ctx *ctx);

    /* Name scopes: a parameter `weight` created inside scopes "layer1",
     * "0", "conv1" is named "layer1.0.conv1.weight", as PyTorch's state_dict
     * would name it. Pops must match pushes within one constructor. */
    void (*push_scope)(cvl_ctx *ctx, const char *name);
    void (*pop_scope)(cvl_ctx *ctx);

    /* A trained parameter, and a buffer that is saved but not trained
     * (BatchNorm's running statistics). `arg` as the cvl_init says. */
    cvl_tensor *(*param)(cvl_ctx *ctx, const char *name, uint32_t ndim, const int64_t *shape,
                         cvl_init init, double arg);
    cvl_tensor *(*buffer)(cvl_ctx *ctx, const char *name, uint32_t ndim, const int64_t *shape,
                          cvl_dtype dtype, cvl_init init, double arg);

    /* Layers: create their parameters inside scope `name`, with PyTorch's
     * names (weight, bias, running_mean, running_var, num_batches_tracked)
     * and PyTorch's default initialisation. */
    cvl_tensor *(*conv2d)(cvl_ctx *ctx, const char *name, cvl_tensor *x, int64_t out_channels,
                          int32_t kernel, int32_t stride, int32_t padding, int32_t dilation,
                          int32_t groups, bool bias);
    cvl_tensor *(*linear)(cvl_ctx *ctx, const char *name, cvl_tensor *x, int64_t out_features,
                          bool bias);
    /* BatchNorm over axis 1 of (N,C) or (N,C,H,W): batch statistics in
     * training, running statistics in evaluation. */
    cvl_tensor *(*batch_norm)(cvl_ctx *ctx, const char *name, cvl_tensor *x, double eps,
                              double momentum);
    cvl_tensor *(*layer_norm)(cvl_ctx *ctx, const char *name, cvl_tensor *x, double eps);
    cvl_tensor *(*embedding)(cvl_ctx *ctx, const char *name, cvl_tensor *indices, int64_t num,
                             int64_t dim);

    /* Ops on tensors the component already holds. */
    cvl_tensor *(*conv2d_apply)(cvl_ctx *ctx, cvl_tensor *x, cvl_tensor *weight,
                                cvl_tensor *bias, int32_t stride, int32_t padding,
                                int32_t dilation, int32_t groups);
    cvl_tensor *(*unary)(cvl_ctx *ctx, cvl_op op, cvl_tensor *x);
    /* ADD, SUB, MUL, DIV with NumPy broadcasting. */
    cvl_tensor *(*binary)(cvl_ctx *ctx, cvl_op op, cvl_tensor *a, cvl_tensor *b);
    cvl_tensor *(*scale)(cvl_ctx *ctx, cvl_tensor *x, double factor);
    /* Batched: (..., M, K) x (..., K, N); transposes of the last two axes. */
    cvl_tensor *(*matmul)(cvl_ctx *ctx, cvl_tensor *a, cvl_tensor *b, bool trans_a,
                          bool trans_b);
    /* MAX_POOL or AVG_POOL (count_include_pad), floor mode. */
    cvl_tensor *(*pool2d)(cvl_ctx *ctx, cvl_op op, cvl_tensor *x, int32_t kernel, int32_t stride,
                          int32_t padding);
    /* MAX_POOL or AVG_POOL over all of H and W: (N,C,H,W) -> (N,C). */
    cvl_tensor *(*global_pool)(cvl_ctx *ctx, cvl_op op, cvl_tensor *x);
    /* -1 in `shape` is inferred. */
    cvl_tensor *(*reshape)(cvl_ctx *ctx, cvl_tensor *x, uint32_t ndim, const int64_t *shape);
    /* (N, ...) -> (N, product of the rest), in memory order. */
    cvl_tensor *(*flatten)(cvl_ctx *ctx, cvl_tensor *x);
    cvl_tensor *(*permute)(cvl_ctx *ctx, cvl_tensor *x, uint32_t ndim, const int32_t *perm);
    cvl_tensor *(*concat)(cvl_ctx *ctx, uint32_t n, cvl_tensor *const *xs, int32_t axis);
    /* [start, end) along axis. */
    cvl_tensor *(*slice)(cvl_ctx *ctx, cvl_tensor *x, int32_t axis, int64_t start, int64_t end);
    /* Inverted dropout in training, identity in evaluation. */
    cvl_tensor *(*dropout)(cvl_ctx *ctx, cvl_tensor *x, double p);
    cvl_tensor *(*softmax)(cvl_ctx *ctx, cvl_tensor *x, int32_t axis, bool log);
    /* SUM or MEAN over `axis` (or CVL_AXIS_ALL). */
    cvl_tensor *(*reduce)(cvl_ctx *ctx, cvl_op op, cvl_tensor *x, int32_t axis, bool keepdim);
    /* A loss, averaged over the batch, as a scalar tensor. `weights` may be
     * NULL (CROSS_ENTROPY: per-class weights (C), as PyTorch's `weight`). */
    cvl_tensor *(*loss)(cvl_ctx *ctx, cvl_op op, cvl_tensor *prediction, cvl_tensor *target,
                        cvl_tensor *weights, double arg);
    /* A constant tensor from host data (copied), e.g. class weights. */
    cvl_tensor *(*constant)(cvl_ctx *ctx, uint32_t ndim, const int64_t *shape,
                            const float *data);

    /* Optimizers: declare the update of every trained parameter. The
     * learning rate is a per-step scalar owned by the schedule; these take
     * the rest. Formulas are torch.optim's, to the letter. */
    cvl_status (*optim_sgd)(cvl_ctx *ctx, double momentum, double dampening,
                            double weight_decay, bool nesterov);
    /* Adam (decoupled = false: L2 added to the gradient) and AdamW
     * (decoupled = true: p -= lr * weight_decay * p before the step). */
    cvl_status (*optim_adam)(cvl_ctx *ctx, double beta1, double beta2, double eps,
                             double weight_decay, bool decoupled, bool amsgrad);
    cvl_status (*optim_rmsprop)(cvl_ctx *ctx, double alpha, double eps, double weight_decay,
                                double momentum, bool centered);
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
#define CVL_PARAM_FLOAT_LIST_DEF(name, def, help) CVL_PARAM(CVL_PARAM_FLOAT_LIST, name, def, help)

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
