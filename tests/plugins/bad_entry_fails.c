/* An entry function that reports failure. */
#include <cvl/plugin.h>
CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out);
CVL_PLUGIN_EXPORT cvl_status CVL_PLUGIN_ENTRY(const cvl_host *host, const cvl_plugin_desc **out) {
    (void)host;
    *out = NULL;
    return CVL_ERR_UNSUPPORTED;
}
