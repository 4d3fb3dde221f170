/* resnet -- residual networks with torchvision's layout and names:
 *   conv1 bn1 [maxpool] layer1..layer4 (each N blocks: layerL.B.conv1, .bn1,
 *   .conv2, .bn2[, .conv3, .bn3], .downsample.0 (1x1 conv), .downsample.1 (BN))
 * then the `pool` of the encoder (the classifier `fc` lives in the head).
 *
 *   resnet18s, resnet34s  small-image stem: conv 3x3 stride 1, no max-pool;
 *                         PyTorch's default (uniform fan-in) initialisation, as
 *                         ../shared/bench/torch_ref.py's ResNet18S
 *   resnet18, resnet34    ImageNet stem: conv 7x7 stride 2, max-pool 3x3 stride 2;
 *   resnet50              torchvision's kaiming-normal (fan-out) convolutions;
 *                         resnet50 uses Bottleneck blocks (stride on the 3x3) */
#include <stdio.h>

#include "common.h"

typedef struct resnet_spec {
    int blocks[4];
    bool bottleneck;
    bool small_stem;
} resnet_spec;

/* A convolution without bias named `name`, initialised the torchvision way
 * (kaiming normal, fan out) or PyTorch's default way. */
static cvl_tensor *conv(const cvl_host *h, cvl_ctx *ctx, const char *name, cvl_tensor *x,
                        int64_t out_ch, int32_t k, int32_t stride, int32_t pad, bool tv_init) {
    if (!tv_init) return h->conv2d(ctx, name, x, out_ch, k, stride, pad, 1, 1, false);
    if (x == NULL) return NULL;
    h->push_scope(ctx, name);
    int64_t shape[4] = {out_ch, h->dim(x, 1), k, k};
    cvl_tensor *w = h->param(ctx, "weight", 4, shape, CVL_INIT_KAIMING_NORMAL_FAN_OUT, 0);
    h->pop_scope(ctx);
    return h->conv2d_apply(ctx, x, w, NULL, stride, pad, 1, 1);
}

static cvl_tensor *bn(const cvl_host *h, cvl_ctx *ctx, const char *name, cvl_tensor *x) {
    return h->batch_norm(ctx, name, x, BN_EPS, BN_MOMENTUM);
}

/* relu(y + shortcut(x)): the identity, or a 1x1 conv + BN named
 * downsample.0 / downsample.1 when the shape changes. */
static cvl_tensor *residual_out(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x, cvl_tensor *y, int64_t out,
                                int32_t stride, bool tv) {
    cvl_tensor *sc = x;
    if (stride != 1 || h->dim(x, 1) != out) {
        h->push_scope(ctx, "downsample");
        sc = bn(h, ctx, "1", conv(h, ctx, "0", x, out, 1, stride, 0, tv));
        h->pop_scope(ctx);
    }
    return h->unary(ctx, CVL_OP_RELU, h->binary(ctx, CVL_OP_ADD, y, sc));
}

// x is (N,Cin,H,W) -> (N,out,H/stride,W/stride)
static cvl_tensor *basic_block(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x, int64_t out,
                               int32_t stride, bool tv) {
    if (x == NULL) return NULL;
    cvl_tensor *y = h->unary(ctx, CVL_OP_RELU, bn(h, ctx, "bn1", conv(h, ctx, "conv1", x, out, 3, stride, 1, tv)));
    y = bn(h, ctx, "bn2", conv(h, ctx, "conv2", y, out, 3, 1, 1, tv));
    return residual_out(h, ctx, x, y, out, stride, tv);
}

// x is (N,Cin,H,W) -> (N,4*planes,H/stride,W/stride)
static cvl_tensor *bottleneck_block(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x, int64_t planes,
                                    int32_t stride, bool tv) {
    if (x == NULL) return NULL;
    int64_t out = 4 * planes;
    cvl_tensor *y = h->unary(ctx, CVL_OP_RELU, bn(h, ctx, "bn1", conv(h, ctx, "conv1", x, planes, 1, 1, 0, tv)));
    y = h->unary(ctx, CVL_OP_RELU, bn(h, ctx, "bn2", conv(h, ctx, "conv2", y, planes, 3, stride, 1, tv)));
    y = bn(h, ctx, "bn3", conv(h, ctx, "conv3", y, out, 1, 1, 0, tv));
    return residual_out(h, ctx, x, y, out, stride, tv);
}

static cvl_status resnet_build(const cvl_host *h, cvl_ctx *ctx, const resnet_spec *spec,
                               int64_t in_channels, int64_t width, const char *pool) {
    cvl_tensor *x = image_input(h, ctx, in_channels, pool);
    if (x == NULL) return CVL_ERR_INVALID;
    if (width < 1) return h->fail(ctx, CVL_ERR_INVALID, "width must be >= 1, got %lld", (long long)width);
    bool tv = !spec->small_stem;
    if (spec->small_stem) {
        x = conv(h, ctx, "conv1", x, width, 3, 1, 1, tv);
    } else {
        x = conv(h, ctx, "conv1", x, width, 7, 2, 3, tv);
    }
    x = h->unary(ctx, CVL_OP_RELU, bn(h, ctx, "bn1", x));
    if (!spec->small_stem) x = h->pool2d(ctx, CVL_OP_MAX_POOL, x, 3, 2, 1);
    for (int stage = 0; stage < 4; stage++) {
        char name[16];
        snprintf(name, sizeof name, "layer%d", stage + 1);
        h->push_scope(ctx, name);
        int64_t planes = width << stage;
        for (int b = 0; b < spec->blocks[stage]; b++) {
            int32_t stride = (stage > 0 && b == 0) ? 2 : 1;
            push_index(h, ctx, b);
            x = spec->bottleneck ? bottleneck_block(h, ctx, x, planes, stride, tv)
                                 : basic_block(h, ctx, x, planes, stride, tv);
            h->pop_scope(ctx);
        }
        h->pop_scope(ctx);
    }
    return finish(h, ctx, apply_pool(h, ctx, x, pool));
}

#define RESNET(fn, spec_init)                                                                 \
    static cvl_status fn(const cvl_host *h, cvl_ctx *ctx, int64_t in_channels, int64_t width, \
                         const char *pool) {                                                  \
        static const resnet_spec spec = spec_init;                                           \
        return resnet_build(h, ctx, &spec, in_channels, width, pool);                         \
    }
#define SPEC(a, b, c, d, bott, small) {{a, b, c, d}, bott, small}
RESNET(resnet18s_build, SPEC(2, 2, 2, 2, false, true))
RESNET(resnet34s_build, SPEC(3, 4, 6, 3, false, true))
RESNET(resnet18_build, SPEC(2, 2, 2, 2, false, false))
RESNET(resnet34_build, SPEC(3, 4, 6, 3, false, false))
RESNET(resnet50_build, SPEC(3, 4, 6, 3, true, false))

static const cvl_param_desc resnet_params[] = {
    CVL_PARAM_INT_DEF("in_channels", "0", "input channels (0: take them from the input)"),
    CVL_PARAM_INT_DEF("width", "64", "channels of the stem and stage 1 (then 2x per stage)"),
    CVL_PARAM_STRING_DEF("pool", "avg", "avg, max, flatten or none"),
};
#define V CVL_MAKE_VERSION(1, 0, 0)
CVL_COMPONENT(resnet18s, CVL_KIND_ENCODER, "resnet18s",
              "ResNet-18 for small images (3x3 stem, no max-pool), torchvision names", V,
              resnet_params, resnet18s_build);
CVL_COMPONENT(resnet34s, CVL_KIND_ENCODER, "resnet34s",
              "ResNet-34 for small images (3x3 stem, no max-pool), torchvision names", V,
              resnet_params, resnet34s_build);
CVL_COMPONENT(resnet18, CVL_KIND_ENCODER, "resnet18", "ResNet-18, torchvision layout and init", V,
              resnet_params, resnet18_build);
CVL_COMPONENT(resnet34, CVL_KIND_ENCODER, "resnet34", "ResNet-34, torchvision layout and init", V,
              resnet_params, resnet34_build);
CVL_COMPONENT(resnet50, CVL_KIND_ENCODER, "resnet50",
              "ResNet-50 (Bottleneck), torchvision layout and init", V, resnet_params,
              resnet50_build);

static const cvl_component_desc *const components[] = {&resnet18s, &resnet34s, &resnet18,
                                                       &resnet34, &resnet50};
CVL_DEFINE_PLUGIN("cvl-resnet", V, components)
