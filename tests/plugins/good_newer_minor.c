/* A plugin built against a hypothetical ABI 1.7 whose structs grew fields
 * at the end. A 1.0 host must load it, reading only the fields it knows and
 * stepping through the parameter array by the plugin's struct_size. */
#include <cvl/plugin.h>

typedef struct param_v1_7 {
    cvl_param_desc base;
    const char *unit; /* appended in "1.7" */
    double max_value; /* appended in "1.7" */
} param_v1_7;

typedef struct component_v1_7 {
    cvl_component_desc base;
    const char *license; /* appended in "1.7" */
} component_v1_7;

static cvl_status build(const cvl_host *host, cvl_ctx *ctx, int64_t a, double b) {
    host->log(ctx, CVL_LOG_INFO, "a=%lld b=%g", (long long)a, b);
    return CVL_OK;
}

static const param_v1_7 params[] = {
    {{sizeof(param_v1_7), CVL_PARAM_INT, "a", "7", "first"}, "px", 10.0},
    {{sizeof(param_v1_7), CVL_PARAM_FLOAT, "b", "2.5", "second"}, "s", 3.0},
};
static const component_v1_7 comp = {
    {sizeof(component_v1_7), CVL_KIND_ENCODER, "from_newer_minor", "built against 1.7",
     CVL_MAKE_VERSION(1, 7, 0), 2, &params[0].base, CVL_CTOR(build)},
    "MIT"};
static const cvl_component_desc *const components[] = {&comp.base};
static const cvl_plugin_desc desc = {sizeof(cvl_plugin_desc) + 16, CVL_MAKE_VERSION(1, 7, 0),
                                     "newer-minor", 1, 1, components};

CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out);
CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out) {
    *out = &desc;
    /* A newer plugin checks for the host functions it needs. */
    return CVL_HOST_HAS(host, add_output) ? CVL_OK : CVL_ERR_UNSUPPORTED;
}
