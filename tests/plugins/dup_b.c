/* Two plugins that both provide encoder 'dup'; dup_a loads first and wins. */
#include <cvl/plugin.h>
static cvl_status build(const cvl_host *h, cvl_ctx *c) { h->log(c, CVL_LOG_INFO, "from dup_b"); return CVL_OK; }
CVL_COMPONENT_NOPARAMS(comp, CVL_KIND_ENCODER, "dup", "duplicate b", 1, build);
CVL_COMPONENT_NOPARAMS(own, CVL_KIND_LOSS, "only_in_b", "unique to dup_b", 1, build);
static const cvl_component_desc *const components[] = {&comp, &own};
CVL_DEFINE_PLUGIN("test-dup-b", 1, components)
