/* Claims plugin ABI 2.0, which this host does not speak. */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c) { (void)h; (void)c; return CVL_OK; }
CVL_COMPONENT_NOPARAMS(comp, CVL_KIND_ENCODER, "from_the_future", "x", 1, build);
static const cvl_component_desc *const components[] = {&comp};
static const cvl_plugin_desc desc = {sizeof(cvl_plugin_desc), CVL_MAKE_VERSION(2, 0, 0), "future", 1, 1, components};
CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out);
CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out) {
    (void)host;
    *out = &desc;
    return CVL_OK;
}
