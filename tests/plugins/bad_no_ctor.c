/* A component without a constructor. */
#include <cvl/plugin.h>
static const cvl_component_desc comp = {sizeof(cvl_component_desc), CVL_KIND_HEAD, "ctorless", "x", 1, 0, NULL, NULL};
static const cvl_component_desc *const components[] = {&comp};
CVL_DEFINE_PLUGIN("test-no-ctor", 1, components)
