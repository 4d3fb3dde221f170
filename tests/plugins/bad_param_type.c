/* A parameter of a type the host does not know (99). */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c, int64_t x) { (void)h; (void)c; (void)x; return CVL_OK; }
static const cvl_param_desc params[] = {CVL_PARAM(99, "weird", "1", "a parameter of type 99")};
CVL_COMPONENT(comp, CVL_KIND_ENCODER, "weird_types", "x", 1, params, build);
static const cvl_component_desc *const components[] = {&comp};
CVL_DEFINE_PLUGIN("test-param-type", 1, components)
