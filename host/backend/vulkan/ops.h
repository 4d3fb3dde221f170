/* ops.h -- the Vulkan ops recorded into a sequence (exec.h), one file per
 * op (op_<name>.c), one shader per op and direction (shaders/<name>.comp).
 *
 * Tensors are f32, contiguous, addressed through views. Shapes follow the
 * CPU kernels: outputs first, then inputs, then sizes. Every op binds
 * windows no larger than maxStorageBufferRange and splits its dispatches
 * when a tensor is larger, so any tensor that fits an allocation works.
 * Errors name the op and its sizes. */
#ifndef CVL_VK_OPS_H
#define CVL_VK_OPS_H

#include "backend/vulkan/exec.h"

typedef struct cvl_vk_view {
    const cvl_vk_buffer *buf;
    uint64_t offset; /* bytes into buf, a multiple of 4 */
    uint64_t count;  /* floats */
} cvl_vk_view;

static inline cvl_vk_view cvl_vk_view_of(const cvl_vk_buffer *b) {
    return (cvl_vk_view){b, 0, b->size / 4};
}

/* y[0..n) = scalars[slot]: the value is read when the sequence runs. */
cvl_status cvl_vk_fill(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view scalars, uint32_t slot, cvl_err *err);
/* y = a + b over y.count elements (a and b hold at least as many). */
cvl_status cvl_vk_add(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view a, cvl_vk_view b, cvl_err *err);
/* y = max(x, 0) over y.count elements. */
cvl_status cvl_vk_relu(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_err *err);

/* dx = dy where x > 0, else 0. */
cvl_status cvl_vk_relu_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_err *err);
/* y (rows, cols) = bias (cols) on every row. */
cvl_status cvl_vk_bias_rows(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view bias, uint32_t rows, uint32_t cols, cvl_err *err);
/* loss (1) = mean cross-entropy of logits (rows, cols) against int32 labels (rows). */
cvl_status cvl_vk_cross_entropy(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                uint32_t rows, uint32_t cols, cvl_err *err);
/* dlogits = dloss * (softmax(logits) - onehot(labels)) / rows. */
cvl_status cvl_vk_cross_entropy_bwd(cvl_vk_seq *seq, cvl_vk_view dlogits, cvl_vk_view dloss, cvl_vk_view logits,
                                    cvl_vk_view labels, uint32_t rows, uint32_t cols, cvl_err *err);
/* torch.optim.SGD in place; lr = scalars[0], step = scalars[1]. */
cvl_status cvl_vk_sgd(cvl_vk_seq *seq, cvl_vk_view param, cvl_vk_view grad, cvl_vk_view buf, cvl_vk_view scalars,
                      float momentum, float dampening, float weight_decay, bool nesterov, cvl_err *err);

/* Batch norm over (N, C, HW): statistics (2, C) -- from the batch when the
 * scalar buffer's slot 3 says training, updating the running statistics
 * and num_batches_tracked, else from the running ones -- and y = BN(x). */
cvl_status cvl_vk_bn_stats(cvl_vk_seq *seq, cvl_vk_view stats, cvl_vk_view rmean, cvl_vk_view rvar, cvl_vk_view nbt,
                           cvl_vk_view x, cvl_vk_view scalars, uint32_t N, uint32_t C, uint32_t HW, float eps,
                           float momentum, cvl_err *err);
cvl_status cvl_vk_bn_apply(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view stats, cvl_vk_view gamma,
                           cvl_vk_view beta, uint32_t C, uint32_t HW, cvl_err *err);
/* params false: out = dx; true: out (2, C) = d gamma, d beta. */
cvl_status cvl_vk_bn_bwd(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view stats,
                         cvl_vk_view gamma, uint32_t N, uint32_t C, uint32_t HW, bool params, cvl_err *err);
/* geom: planes (N*C), H, W, P, Q, k, stride, pad. */
cvl_status cvl_vk_pool2d(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const uint32_t geom[8], bool is_max, cvl_err *err);
cvl_status cvl_vk_pool2d_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view y,
                             const uint32_t geom[8], bool is_max, cvl_err *err);
/* x seen as (outer, D, inner): forward y = x[:, start:start+len, :];
 * backward y (outer, D, inner) = x placed at [start, start+len), zeros elsewhere. */
cvl_status cvl_vk_slice(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t D, uint32_t len, uint32_t start,
                        uint32_t inner, bool backward, cvl_err *err);

/* Convolution geometry: x (N,C,H,W), W (K,C/groups,R,S), y (N,K,P,Q). */
typedef struct cvl_vk_conv_geom {
    uint32_t N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups;
} cvl_vk_conv_geom;
/* mode 0: out = y from (a = W, b = x); 1: out = dx from (a = W, b = dy);
 * 2: out = dW from (a = dy, b = x). Implicit GEMM, register-tiled. */
cvl_status cvl_vk_conv2d(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                         int mode, cvl_err *err);

/* y (rows) = sum over the last axis of x (rows, len). Rows longer than one
 * workgroup's share take more passes through `scratch`, which must hold
 * cvl_vk_reduce_sum_scratch(rows, len) floats (0: pass an empty view). */
uint64_t cvl_vk_reduce_sum_scratch(uint64_t rows, uint64_t len);
cvl_status cvl_vk_reduce_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scratch, uint32_t rows,
                             uint32_t len, cvl_err *err);

/* Matmul variants. AUTO picks the best the device has: COOPMAT where
 * VK_KHR_cooperative_matrix is present and a shader for it is built in
 * (not yet), else TILED. NAIVE is the one-element-per-invocation baseline. */
typedef enum cvl_vk_matmul_variant {
    CVL_VK_MATMUL_AUTO,
    CVL_VK_MATMUL_VARIANT_NAIVE,
    CVL_VK_MATMUL_VARIANT_TILED,
    CVL_VK_MATMUL_VARIANT_COOPMAT,
} cvl_vk_matmul_variant;

typedef struct cvl_vk_matmul_tiles {
    uint32_t bm, bn, bk, tm, tn; /* workgroup tile BMxBN over BK; TMxTN per invocation */
} cvl_vk_matmul_tiles;

typedef struct cvl_vk_matmul_args {
    uint32_t M, N, K, batch; /* batch 0 means 1 */
    bool trans_a, trans_b;   /* A stored (K,M); B stored (N,K) */
    bool share_a, share_b;   /* one A (or B) for the whole batch */
    bool accumulate;         /* C += op(A) op(B) */
    cvl_vk_matmul_variant variant;
    const cvl_vk_matmul_tiles *tiles; /* NULL: chosen from the device's limits */
} cvl_vk_matmul_args;

/* The tile sizes AUTO uses for this problem on this device. */
cvl_vk_matmul_tiles cvl_vk_matmul_pick_tiles(const cvl_vk_device *dev, uint32_t M, uint32_t N);
/* The variant AUTO resolves to on this device. */
cvl_vk_matmul_variant cvl_vk_matmul_pick_variant(const cvl_vk_device *dev);

/* c (batch, M, N) = op(a) (batch, M, K) op(b) (batch, K, N). */
cvl_status cvl_vk_matmul(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b,
                         const cvl_vk_matmul_args *args, cvl_err *err);

/* Internal to the op files: binds elements [lo, hi) of `v` as a window
 * starting at the aligned-down offset; *elem_off is where lo sits in it. */
cvl_status cvl_vk_bind_window(cvl_vk_binding *out, uint32_t *elem_off, const cvl_vk_device *dev, cvl_vk_view v,
                              uint64_t lo, uint64_t hi, bool write, const char *what, cvl_err *err);
/* The largest window the planner may ask for, in floats (leaves room for
 * the alignment slack). */
uint64_t cvl_vk_window_limit(const cvl_vk_device *dev);

#endif
