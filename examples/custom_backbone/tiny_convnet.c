/* tiny_convnet.c -- a custom backbone, built out of tree as a .so and named
 * in a config: what a researcher trying a new idea writes.
 *
 *   cc $(pkg-config --cflags cvl-plugin) -std=c11 -shared -fPIC -fvisibility=hidden \
 *      -o plugins/tiny_convnet.so tiny_convnet.c
 *   cvl-host --plugin-dir plugins train fashion_mnist.json
 *
 * `tiny_convnet`: `depth` blocks of conv3x3-BatchNorm-SiLU, the channel count
 * doubling after each stride-2 block, then global average pooling. It uses
 * only the host table of <cvl/plugin.h>: parameters get PyTorch's names and
 * initialisation, and autodiff, both backends and checkpoints come for free. */
#include <stdio.h>

#include <cvl/plugin.h>

static cvl_status tiny_build(const cvl_host *h, cvl_ctx *ctx, int64_t width, int64_t depth) {
    if (h->num_inputs(ctx) != 1) return h->fail(ctx, CVL_ERR_INVALID, "takes 1 input, got %u", h->num_inputs(ctx));
    cvl_tensor *x = h->input(ctx, 0);
    if (h->ndim(x) != 4) return h->fail(ctx, CVL_ERR_INVALID, "takes images (N,C,H,W), got %u axes", h->ndim(x));
    if (width < 1 || depth < 1 || depth > 6)
        return h->fail(ctx, CVL_ERR_INVALID, "width must be >= 1 and depth in 1..6, got %lld and %lld",
                       (long long)width, (long long)depth);
    int64_t ch = width;
    for (int64_t i = 0; i < depth; i++) {
        char conv[16], bn[16];
        snprintf(conv, sizeof conv, "conv%lld", (long long)i + 1);
        snprintf(bn, sizeof bn, "bn%lld", (long long)i + 1);
        int32_t stride = i > 0 ? 2 : 1; /* keep the first block at full resolution */
        x = h->conv2d(ctx, conv, x, ch, 3, stride, 1, 1, 1, false);
        x = h->batch_norm(ctx, bn, x, 1e-5, 0.1);
        x = h->unary(ctx, CVL_OP_SILU, x);
        ch *= 2;
    }
    x = h->global_pool(ctx, CVL_OP_AVG_POOL, x);
    if (x == NULL) return CVL_ERR_INVALID; /* the host recorded why */
    return h->add_output(ctx, x);
}

static const cvl_param_desc tiny_params[] = {
    CVL_PARAM_INT_DEF("width", "16", "channels of the first block"),
    CVL_PARAM_INT_DEF("depth", "3", "conv-BN-SiLU blocks"),
};

CVL_COMPONENT(tiny, CVL_KIND_ENCODER, "tiny_convnet", "conv3x3-BN-SiLU blocks, global average pooling",
              CVL_MAKE_VERSION(0, 1, 0), tiny_params, tiny_build);

static const cvl_component_desc *const components[] = {&tiny};
CVL_DEFINE_PLUGIN("tiny-convnet", CVL_MAKE_VERSION(0, 1, 0), components)
