/* One good component and one broken one: nothing of this plugin may load. */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c) { (void)h; (void)c; return CVL_OK; }
CVL_COMPONENT_NOPARAMS(good, CVL_KIND_ENCODER, "half_good", "fine on its own", 1, build);
static const cvl_component_desc broken = {sizeof(cvl_component_desc), CVL_KIND_ENCODER, "Half Bad!", "bad name", 1, 0, NULL, CVL_CTOR(build)};
static const cvl_component_desc *const components[] = {&good, &broken};
CVL_DEFINE_PLUGIN("test-half", 1, components)
