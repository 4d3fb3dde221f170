/* my_plugin.c -- the smallest useful cvlization plugin, built out of tree:
 *
 *   cc $(pkg-config --cflags cvl-plugin) -shared -fPIC -fvisibility=hidden \
 *      -o my_plugin.so my_plugin.c
 *   cvl-host --plugin-dir . --list encoder
 *
 * It provides one encoder, `passthrough`, that hands its input on unchanged
 * and logs the parameters it was given. See docs/writing-plugins.md. */
#include <cvl/plugin.h>

/* The constructor: host table, context, then one C argument per declared
 * parameter, in declared order, with the types the header lists. */
static cvl_status passthrough_build(const cvl_host *host, cvl_ctx *ctx, int64_t repeat,
                                    const char *note) {
    if (host->num_inputs(ctx) != 1)
        return host->fail(ctx, CVL_ERR_INVALID, "takes 1 input, got %u", host->num_inputs(ctx));
    if (repeat < 1) return host->fail(ctx, CVL_ERR_INVALID, "repeat must be >= 1, got %lld", (long long)repeat);
    host->log(ctx, CVL_LOG_INFO, "repeat=%lld note=%s", (long long)repeat, note);
    return host->add_output(ctx, host->input(ctx, 0));
}

static const cvl_param_desc passthrough_params[] = {
    CVL_PARAM_INT_DEF("repeat", "1", "how many times to say hello"),
    CVL_PARAM_STRING_DEF("note", "hello", "a note to log"),
};

CVL_COMPONENT(passthrough, CVL_KIND_ENCODER, "passthrough", "hands its input on unchanged",
              CVL_MAKE_VERSION(0, 1, 0), passthrough_params, passthrough_build);

static const cvl_component_desc *const components[] = {&passthrough};

CVL_DEFINE_PLUGIN("my-plugin", CVL_MAKE_VERSION(0, 1, 0), components)
