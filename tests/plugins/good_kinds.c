/* A well-formed plugin with one component of each remaining kind. */
#include <cvl/plugin.h>

static cvl_status noop(const cvl_host *host, cvl_ctx *ctx, double x) {
    (void)host;
    (void)ctx;
    (void)x;
    return CVL_OK;
}
static const cvl_param_desc p[] = {CVL_PARAM_FLOAT_DEF("x", "1e-3", "a number")};
CVL_COMPONENT(agg, CVL_KIND_AGGREGATOR, "test_agg", "test aggregator", CVL_MAKE_VERSION(1, 0, 0), p, noop);
CVL_COMPONENT(loss, CVL_KIND_LOSS, "test_loss", "test loss", CVL_MAKE_VERSION(1, 0, 0), p, noop);
CVL_COMPONENT(opt, CVL_KIND_OPTIMIZER, "test_opt", "test optimizer", CVL_MAKE_VERSION(1, 0, 0), p, noop);
/* Same name as good_types' head but another kind: allowed. */
CVL_COMPONENT(enc, CVL_KIND_ENCODER, "plain", "an encoder named like a head", CVL_MAKE_VERSION(1, 0, 0), p, noop);
static const cvl_component_desc *const components[] = {&agg, &loss, &opt, &enc};
CVL_DEFINE_PLUGIN("test-good-kinds", CVL_MAKE_VERSION(1, 0, 0), components)
