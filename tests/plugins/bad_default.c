/* A default that does not parse as its declared type. */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c, int64_t x) { (void)h; (void)c; (void)x; return CVL_OK; }
static const cvl_param_desc params[] = {CVL_PARAM_INT_DEF("width", "sixty-four", "channels")};
CVL_COMPONENT(comp, CVL_KIND_ENCODER, "bad_default", "x", 1, params, build);
static const cvl_component_desc *const components[] = {&comp};
CVL_DEFINE_PLUGIN("test-bad-default", 1, components)
