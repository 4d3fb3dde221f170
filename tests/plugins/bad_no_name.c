/* A component without a name. */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c) { (void)h; (void)c; return CVL_OK; }
CVL_COMPONENT_NOPARAMS(comp, CVL_KIND_ENCODER, NULL, "nameless", 1, build);
static const cvl_component_desc *const components[] = {&comp};
CVL_DEFINE_PLUGIN("test-no-name", 1, components)
