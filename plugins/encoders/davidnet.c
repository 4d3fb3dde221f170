/* davidnet -- the DAWNBench CIFAR-10 ResNet-9 (David Page's):
 *   prep:   conv 3x3 -> BN -> ReLU                              (width)
 *   layer1: conv -> BN -> ReLU -> maxpool 2, + residual res1, res2  (2*width)
 *   layer2: conv -> BN -> ReLU -> maxpool 2                     (4*width)
 *   layer3: conv -> BN -> ReLU -> maxpool 2, + residual res1, res2  (8*width)
 *   then the encoder's pool (the original: global max pool).
 * A residual is x + ReLU(BN(conv(ReLU(BN(conv(x)))))). Names:
 * prep.conv, prep.bn, layer1.conv, layer1.bn, layer1.res1.conv, ... */
#include "common.h"

static cvl_tensor *cbr(const cvl_host *h, cvl_ctx *ctx, const char *scope, cvl_tensor *x,
                       int64_t out, bool pool) {
    h->push_scope(ctx, scope);
    x = conv_bn(h, ctx, x, "conv", "bn", out, 3, 1, 1, true);
    h->pop_scope(ctx);
    return pool ? h->pool2d(ctx, CVL_OP_MAX_POOL, x, 2, 2, 0) : x;
}

static cvl_tensor *residual(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x, int64_t ch) {
    cvl_tensor *y = cbr(h, ctx, "res1", x, ch, false);
    y = cbr(h, ctx, "res2", y, ch, false);
    return h->binary(ctx, CVL_OP_ADD, x, y);
}

static cvl_status davidnet_build(const cvl_host *h, cvl_ctx *ctx, int64_t in_channels,
                                 int64_t width, const char *pool) {
    cvl_tensor *x = image_input(h, ctx, in_channels, pool);
    if (x == NULL) return CVL_ERR_INVALID;
    if (width < 1) return h->fail(ctx, CVL_ERR_INVALID, "width must be >= 1, got %lld", (long long)width);
    x = cbr(h, ctx, "prep", x, width, false);         // (N,w,H,W)
    x = cbr(h, ctx, "layer1", x, 2 * width, true);    // (N,2w,H/2,W/2)
    h->push_scope(ctx, "layer1");
    x = residual(h, ctx, x, 2 * width);
    h->pop_scope(ctx);
    x = cbr(h, ctx, "layer2", x, 4 * width, true);    // (N,4w,H/4,W/4)
    x = cbr(h, ctx, "layer3", x, 8 * width, true);    // (N,8w,H/8,W/8)
    h->push_scope(ctx, "layer3");
    x = residual(h, ctx, x, 8 * width);
    h->pop_scope(ctx);
    return finish(h, ctx, apply_pool(h, ctx, x, pool));
}

static const cvl_param_desc davidnet_params[] = {
    CVL_PARAM_INT_DEF("in_channels", "0", "input channels (0: take them from the input)"),
    CVL_PARAM_INT_DEF("width", "64", "channels of the prep layer (then 2x, 4x, 8x)"),
    CVL_PARAM_STRING_DEF("pool", "max", "avg, max, flatten or none"),
};
CVL_COMPONENT(davidnet, CVL_KIND_ENCODER, "davidnet",
              "DAWNBench CIFAR-10 ResNet-9 (David Page's)", CVL_MAKE_VERSION(1, 0, 0),
              davidnet_params, davidnet_build);

static const cvl_component_desc *const components[] = {&davidnet};
CVL_DEFINE_PLUGIN("cvl-davidnet", CVL_MAKE_VERSION(1, 0, 0), components)
