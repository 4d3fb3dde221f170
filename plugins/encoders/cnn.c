/* cnn -- the reference CNN of ../shared/bench/torch_ref.py, layer for layer:
 *   conv1 bn1 relu, conv2 bn2 relu, maxpool 2        (width channels)
 *   conv3 bn3 relu, conv4 bn4 relu, maxpool 2        (2*width channels)
 *   pool (flatten: NCHW order), then fc1 + ReLU when embed > 0.
 * With width 32, pool flatten, embed 128 and a classification head named fc2
 * it matches the reference's state_dict names and shapes one to one. */
#include "common.h"

static cvl_status cnn_build(const cvl_host *h, cvl_ctx *ctx, int64_t in_channels, int64_t width,
                            const char *pool, int64_t embed) {
    cvl_tensor *x = image_input(h, ctx, in_channels, pool);
    if (x == NULL) return CVL_ERR_INVALID;
    if (width < 1) return h->fail(ctx, CVL_ERR_INVALID, "width must be >= 1, got %lld", (long long)width);
    if (embed < 0) return h->fail(ctx, CVL_ERR_INVALID, "embed must be >= 0, got %lld", (long long)embed);
    x = conv_bn(h, ctx, x, "conv1", "bn1", width, 3, 1, 1, true);       // (N,w,H,W)
    x = conv_bn(h, ctx, x, "conv2", "bn2", width, 3, 1, 1, true);
    x = h->pool2d(ctx, CVL_OP_MAX_POOL, x, 2, 2, 0);                     // (N,w,H/2,W/2)
    x = conv_bn(h, ctx, x, "conv3", "bn3", 2 * width, 3, 1, 1, true);
    x = conv_bn(h, ctx, x, "conv4", "bn4", 2 * width, 3, 1, 1, true);
    x = h->pool2d(ctx, CVL_OP_MAX_POOL, x, 2, 2, 0);                     // (N,2w,H/4,W/4)
    x = apply_pool(h, ctx, x, pool);
    if (embed > 0) {
        if (x != NULL && h->ndim(x) != 2)
            return h->fail(ctx, CVL_ERR_INVALID, "embed needs pool avg, max or flatten, not '%s'", pool);
        x = h->unary(ctx, CVL_OP_RELU, h->linear(ctx, "fc1", x, embed, true));
    }
    return finish(h, ctx, x);
}

static const cvl_param_desc cnn_params[] = {
    CVL_PARAM_INT_DEF("in_channels", "0", "input channels (0: take them from the input)"),
    CVL_PARAM_INT_DEF("width", "32", "channels of the first two convolutions (then 2x)"),
    CVL_PARAM_STRING_DEF("pool", "flatten", "avg, max, flatten or none"),
    CVL_PARAM_INT_DEF("embed", "128", "width of the fc1 + ReLU layer after pooling (0: none)"),
};
CVL_COMPONENT(cnn, CVL_KIND_ENCODER, "cnn", "4-conv BatchNorm CNN of the Fashion-MNIST reference",
              CVL_MAKE_VERSION(1, 0, 0), cnn_params, cnn_build);

static const cvl_component_desc *const components[] = {&cnn};
CVL_DEFINE_PLUGIN("cvl-cnn", CVL_MAKE_VERSION(1, 0, 0), components)
