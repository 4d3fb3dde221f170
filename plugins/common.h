/* common.h -- small helpers shared by the built-in plugins. Header-only and
 * static, so every plugin still depends on plugin-api/ alone. */
#ifndef CVL_PLUGINS_COMMON_H
#define CVL_PLUGINS_COMMON_H

#include <cvl/plugin.h>
#include <stdio.h>
#include <string.h>

/* BatchNorm2d defaults, as torch.nn. */
#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* conv (no bias) -> BatchNorm2d -> optional ReLU; names "<conv>", "<bn>". */
static inline cvl_tensor *conv_bn(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x,
                                  const char *conv_name, const char *bn_name, int64_t out_ch,
                                  int32_t k, int32_t stride, int32_t pad, bool relu) {
    x = h->conv2d(ctx, conv_name, x, out_ch, k, stride, pad, 1, 1, false);
    x = h->batch_norm(ctx, bn_name, x, BN_EPS, BN_MOMENTUM);
    return relu ? h->unary(ctx, CVL_OP_RELU, x) : x;
}

/* The `pool` parameter every image encoder takes: how (N,C,H,W) features
 * become what the aggregator sees. "avg"/"max": global pooling to (N,C);
 * "flatten": (N, C*H*W) in NCHW order; "none": (N,C,H,W) unchanged. */
static inline bool pool_valid(const char *pool) {
    return strcmp(pool, "avg") == 0 || strcmp(pool, "max") == 0 ||
           strcmp(pool, "flatten") == 0 || strcmp(pool, "none") == 0;
}

static inline cvl_tensor *apply_pool(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x,
                                     const char *pool) {
    if (strcmp(pool, "avg") == 0) return h->global_pool(ctx, CVL_OP_AVG_POOL, x);
    if (strcmp(pool, "max") == 0) return h->global_pool(ctx, CVL_OP_MAX_POOL, x);
    if (strcmp(pool, "flatten") == 0) return h->flatten(ctx, x);
    return x;
}

/* Checks the single image input of an encoder: (N,C,H,W) with C matching
 * `in_channels` when that is set (> 0). Returns the input or NULL after
 * host->fail. */
static inline cvl_tensor *image_input(const cvl_host *h, cvl_ctx *ctx, int64_t in_channels,
                                      const char *pool) {
    if (h->num_inputs(ctx) != 1) {
        h->fail(ctx, CVL_ERR_INVALID, "takes 1 input, got %u", h->num_inputs(ctx));
        return NULL;
    }
    if (!pool_valid(pool)) {
        h->fail(ctx, CVL_ERR_INVALID, "pool must be avg, max, flatten or none, got '%s'", pool);
        return NULL;
    }
    cvl_tensor *x = h->input(ctx, 0);
    if (h->ndim(x) != 4) {
        h->fail(ctx, CVL_ERR_INVALID, "expects an image input (N,C,H,W), got %u axes", h->ndim(x));
        return NULL;
    }
    if (in_channels > 0 && h->dim(x, 1) != in_channels) {
        h->fail(ctx, CVL_ERR_INVALID, "in_channels is %lld but the input has %lld channels",
                (long long)in_channels, (long long)h->dim(x, 1));
        return NULL;
    }
    return x;
}

/* Pushes a scope named by an integer ("0", "1", ...), as nn.Sequential. */
static inline void push_index(const cvl_host *h, cvl_ctx *ctx, int i) {
    char s[16];
    int n = 0;
    char tmp[16];
    do {
        tmp[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0 && n < 15);
    for (int k = 0; k < n; k++) s[k] = tmp[n - 1 - k];
    s[n] = '\0';
    h->push_scope(ctx, s);
}

/* Linear + activation (+ dropout) per width, layers named
 * <prefix><1-based index><suffix> ("fc1", "fc_hidden2", "dense1"). Widths
 * must be >= 1 (checked: NULL after host->fail otherwise). */
static inline cvl_tensor *dense_stack(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *x,
                                      const cvl_int_list *widths, const char *prefix,
                                      const char *suffix, cvl_op act, double dropout) {
    for (size_t i = 0; i < widths->len && x != NULL; i++) {
        if (widths->data[i] < 1) {
            h->fail(ctx, CVL_ERR_INVALID, "layer width %zu must be >= 1, got %lld", i + 1,
                    (long long)widths->data[i]);
            return NULL;
        }
        char name[192];
        snprintf(name, sizeof name, "%.80s%zu%.80s", prefix, i + 1, suffix);
        x = h->unary(ctx, act, h->linear(ctx, name, x, widths->data[i], true));
        if (dropout > 0) x = h->dropout(ctx, x, dropout);
    }
    return x;
}

/* Ends a constructor: hands on `out`, or reports that a builder failed
 * (the builder already recorded why). */
static inline cvl_status finish(const cvl_host *h, cvl_ctx *ctx, cvl_tensor *out) {
    if (out == NULL) return CVL_ERR_INVALID;
    return h->add_output(ctx, out);
}

#endif
