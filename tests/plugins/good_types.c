/* A well-formed plugin whose encoder takes one parameter of every type and
 * reports the values it received through host->log, so the test can check
 * that libffi delivered each one intact. */
#include <cvl/plugin.h>
#include <inttypes.h>
#include <stdio.h>

static cvl_status typed_build(const cvl_host *host, cvl_ctx *ctx, int64_t depth, double scale,
                              bool flag, const char *mode, const cvl_int_list *widths,
                              int64_t neg, const cvl_float_list *weights) {
    char list[128] = "";
    int used = 0;
    for (size_t i = 0; i < widths->len && used < 100; i++)
        used += snprintf(list + used, sizeof list - (size_t)used, "%s%" PRId64, i ? "," : "",
                         widths->data[i]);
    char flist[128] = "";
    used = 0;
    for (size_t i = 0; i < weights->len && used < 100; i++)
        used += snprintf(flist + used, sizeof flist - (size_t)used, "%s%g", i ? "," : "", weights->data[i]);
    host->log(ctx, CVL_LOG_INFO,
              "depth=%" PRId64 " scale=%.17g flag=%d mode=%s widths=[%s] neg=%" PRId64 " weights=[%s]",
              depth, scale, flag ? 1 : 0, mode, list, neg, flist);
    if (depth < 0) return host->fail(ctx, CVL_ERR_INVALID, "depth must be >= 0, got %" PRId64, depth);
    return CVL_OK;
}

static const cvl_param_desc typed_params[] = {
    CVL_PARAM_INT_DEF("depth", "18", "number of layers"),
    CVL_PARAM_FLOAT_DEF("scale", "0.5", "a float"),
    CVL_PARAM_BOOL_DEF("flag", "true", "a bool"),
    CVL_PARAM_STRING_DEF("mode", "avg", "a string"),
    CVL_PARAM_INT_LIST_DEF("widths", "[64, 128]", "an int list"),
    CVL_PARAM_INT_DEF("neg", NULL, "a required int"),
    CVL_PARAM_FLOAT_LIST_DEF("weights", "[0.5, 2]", "a float list"),
};
CVL_COMPONENT(typed, CVL_KIND_ENCODER, "typed", "takes every parameter type", CVL_MAKE_VERSION(1, 2, 3),
              typed_params, typed_build);

static cvl_status plain_build(const cvl_host *host, cvl_ctx *ctx) {
    host->log(ctx, CVL_LOG_INFO, "inputs=%u", host->num_inputs(ctx));
    return CVL_OK;
}
CVL_COMPONENT_NOPARAMS(plain_head, CVL_KIND_HEAD, "plain", "a head without parameters",
                       CVL_MAKE_VERSION(0, 1, 0), plain_build);

static const cvl_component_desc *const components[] = {&typed, &plain_head};
CVL_DEFINE_PLUGIN("test-good-types", CVL_MAKE_VERSION(1, 0, 0), components)
