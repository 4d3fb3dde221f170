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
/* Batch norm over (N, C, HW): statistics (2, C) -- from the batch when the
 * scalar buffer's slot 3 says training, updating the running statistics
 * and num_batches_tracked, else from the running ones -- and y = BN(x).
 * x is walked in windows of whole planes (HW floats; one larger than a
 * window is refused); per-channel tensors are bound whole. */
cvl_status cvl_vk_bn_stats(cvl_vk_seq *seq, cvl_vk_view stats, cvl_vk_view rmean, cvl_vk_view rvar, cvl_vk_view nbt,
                           cvl_vk_view x, cvl_vk_view scalars, uint32_t N, uint32_t C, uint32_t HW, float eps,
                           float momentum, cvl_err *err);
cvl_status cvl_vk_bn_apply(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view stats, cvl_vk_view gamma,
                           cvl_vk_view beta, uint32_t C, uint32_t HW, cvl_err *err);
/* params false: out = dx, with 2 * C floats of scratch; true: out (2, C) =
 * d gamma, d beta (scratch unused). */
cvl_status cvl_vk_bn_bwd(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view stats,
                         cvl_vk_view gamma, cvl_vk_view scratch, uint32_t N, uint32_t C, uint32_t HW, bool params,
                         cvl_err *err);
/* Pooling over `planes` (N * C) planes H x W -> P x Q, window kh x kw
 * (global pooling: kh = H, kw = W, P = Q = 1, stride 1, pad 0). Windows hold
 * whole planes; a plane larger than a window is refused. */
typedef struct cvl_vk_pool_geom {
    uint32_t planes, H, W, P, Q, kh, kw, stride, pad;
} cvl_vk_pool_geom;
cvl_status cvl_vk_pool2d(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_pool_geom *g, bool is_max,
                         cvl_err *err);
cvl_status cvl_vk_pool2d_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view y,
                             const cvl_vk_pool_geom *g, bool is_max, cvl_err *err);
/* x seen as (outer, D, inner): forward y = x[:, start:start+len, :];
 * backward y (outer, D, inner) = x placed at [start, start+len), zeros elsewhere. */
cvl_status cvl_vk_slice(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t D, uint32_t len, uint32_t start,
                        uint32_t inner, bool backward, cvl_err *err);

/* Convolution geometry: x (N,C,H,W), W (K,C/groups,R,S), y (N,K,P,Q). */
typedef struct cvl_vk_conv_geom {
    uint32_t N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups;
} cvl_vk_conv_geom;
/* mode 0: out = y from (a = W, b = x); 1: out = dx from (a = W, b = dy);
 * 2: out = dW from (a = dy, b = x). Implicit GEMM, register-tiled;
 * depthwise (groups == C == K) by direct shaders instead. Split
 * into chunks of images, groups and output channels until every window
 * fits (backward-weight accumulates over image chunks, backward-data over
 * channel chunks); refused naming the op when one filter or one image
 * cannot fit a window. */
cvl_status cvl_vk_conv2d(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                         int mode, cvl_err *err);
/* cvl_vk_conv2d's path for depthwise convolutions (groups == C == K):
 * direct shaders (op_conv2d_dw.c), the arguments checked by the caller. */
cvl_status cvl_vk_conv2d_dw(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b, const cvl_vk_conv_geom *g,
                            int mode, cvl_err *err);
/* The same with a and b stored as IEEE float16 (cvl_vk_view_f16_of views)
 * and out f32 (shaders/conv2d_f16.comp): inputs widened to fp32 as they
 * enter shared memory, fp32 accumulation. Refuses with one line naming
 * conv2d_f16.comp on a device without storageBuffer16BitAccess. */
cvl_status cvl_vk_conv2d_f16(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view a, cvl_vk_view b,
                             const cvl_vk_conv_geom *g, int mode, cvl_err *err);

/* y (rows) = sum over the last axis of x (rows, len). Rows longer than one
 * workgroup's share take more passes through `scratch`, which must hold
 * cvl_vk_reduce_sum_scratch(rows, len) floats (0: pass an empty view). */
uint64_t cvl_vk_reduce_sum_scratch(uint64_t rows, uint64_t len);
cvl_status cvl_vk_reduce_sum(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scratch, uint32_t rows,
                             uint32_t len, cvl_err *err);

/* Matmul variants. AUTO picks the best the device has: COOPMAT where
 * VK_KHR_cooperative_matrix is present and a shader for it is built in
 * (not yet), else TILED. NAIVE is the one-element-per-invocation baseline.
 * TILED_F16 (shaders/matmul_f16.comp) is TILED with A and B stored as
 * float16 (storageBuffer16BitAccess), fp32 accumulation and fp32 C; only
 * cvl_vk_matmul_f16 runs it (the graph is f32). */
typedef enum cvl_vk_matmul_variant {
    CVL_VK_MATMUL_AUTO,
    CVL_VK_MATMUL_VARIANT_NAIVE,
    CVL_VK_MATMUL_VARIANT_TILED,
    CVL_VK_MATMUL_VARIANT_COOPMAT,
    CVL_VK_MATMUL_VARIANT_TILED_F16,
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

/* llvmpipe (lavapipe) silently ends every loop of a shader invocation
 * once 65535 iterations have run in it all told. On such a device (type
 * CPU: cvl_vk_loops_bounded) an op whose per-invocation loops grow with
 * the problem keeps them under CVL_VK_LOOP_BUDGET -- the rest is slack for
 * the loops around -- by cutting its work into accumulating pieces; GPUs
 * have no bound. */
#define CVL_VK_LOOP_BUDGET 60000u
static inline bool cvl_vk_loops_bounded(const cvl_vk_device *dev) {
    return dev->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
}

/* The longest reduction (K) one dispatch of a tiled GEMM with tiles t
 * (NULL: the naive shader) may run on dev: unbounded on a GPU; on a
 * software device (llvmpipe ends every loop of an invocation after 65535
 * iterations in all, silently) matmul and convolution split K into
 * accumulating chunks no longer than this. */
uint64_t cvl_vk_gemm_max_reduction(const cvl_vk_device *dev, const cvl_vk_matmul_tiles *t);
/* The tile sizes AUTO uses for this problem on this device. */
cvl_vk_matmul_tiles cvl_vk_matmul_pick_tiles(const cvl_vk_device *dev, uint32_t M, uint32_t N);
/* The variant AUTO resolves to on this device (f32 operands). */
cvl_vk_matmul_variant cvl_vk_matmul_pick_variant(const cvl_vk_device *dev);
/* The same for operands stored as `f16` (float16) or f32: with f16, TILED_F16
 * when the device has storageBuffer16BitAccess (enabled at device creation
 * when present), else AUTO (no variant: cvl_vk_matmul_f16 refuses). */
cvl_vk_matmul_variant cvl_vk_matmul_pick_variant_for(const cvl_vk_device *dev, bool f16);

/* c (batch, M, N) = op(a) (batch, M, K) op(b) (batch, K, N). */
cvl_status cvl_vk_matmul(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b,
                         const cvl_vk_matmul_args *args, cvl_err *err);
/* The same with a and b stored as IEEE float16 (views whose offset is in
 * bytes, a multiple of 2, and whose count is in halves: cvl_vk_view_f16_of)
 * and c f32; products accumulate in fp32. args->variant: AUTO or
 * TILED_F16. Refuses with one line naming matmul_f16.comp on a device
 * without storageBuffer16BitAccess. */
cvl_status cvl_vk_matmul_f16(cvl_vk_seq *seq, cvl_vk_view c, cvl_vk_view a, cvl_vk_view b,
                             const cvl_vk_matmul_args *args, cvl_err *err);
static inline cvl_vk_view cvl_vk_view_f16_of(const cvl_vk_buffer *b) {
    return (cvl_vk_view){b, 0, b->size / 2};
}
/* IEEE binary16 conversions on the host (round to nearest even; subnormals,
 * infinities and NaN kept), for uploading f16 operands. */
uint16_t cvl_vk_half_from_float(float f);
float cvl_vk_float_from_half(uint16_t h);

/* ---- The per-step scalar buffer (cvl_vk_view of 16 words), rewritten by
 * the host before each replay so that schedules never re-record. */
#define CVL_VK_SLOT_LR 0       /* float */
#define CVL_VK_SLOT_STEP 1     /* float: the 1-based optimizer step */
#define CVL_VK_SLOT_ONE 2      /* float 1.0 */
#define CVL_VK_SLOT_TRAINING 3 /* float: 1 training, 0 eval */
#define CVL_VK_SLOT_SEED 4     /* uint64 as two uint32 words (lo, hi): dropout seed */
#define CVL_VK_SLOT_STEP64 6   /* uint64 as two words: the step, exactly */

/* Unary kinds as the shaders number them (specialization constant). */
uint32_t cvl_vk_unary_kind(int32_t cvl_op_kind);
/* y = f(x) / dx = dy * f'(x) for op CVL_OP_RELU, GELU, SILU, SIGMOID, TANH. */
cvl_status cvl_vk_unary(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, int32_t op, cvl_err *err);
cvl_status cvl_vk_unary_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, int32_t op, cvl_err *err);
/* y = f * x. */
cvl_status cvl_vk_scale(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, float f, cvl_err *err);
/* y (rows*cols*inner) = (accumulate ? y : 0) + bias[(i / inner) % cols]:
 * linear bias rows (inner 1) and convolution bias channels (inner P*Q). */
cvl_status cvl_vk_bias_add(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view bias, uint32_t cols, uint32_t inner,
                           bool accumulate, cvl_err *err);

/* Dropout as the CPU backend does it: element i is kept when
 * mix(seed ^ mix(step * G ^ mix(stream + H)) ^ i) >> 11 >= ceil(p * 2^53),
 * bit for bit, seed and step read from the scalar buffer; kept elements are
 * scaled by (float)(1 / (1 - p)). Outside training (slot 3) y = x. */
cvl_status cvl_vk_dropout(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scalars, uint64_t stream,
                          double p, cvl_err *err);

/* ---- Strided ops over up to CVL_VK_MAX_DIMS axes; shapes and strides in
 * elements, outermost first. Windows: the output is walked in chunks of
 * linear index, each operand bound over the element range that chunk can
 * touch, chunks halved until every window fits. */
#define CVL_VK_MAX_DIMS 6
typedef struct cvl_vk_strided {
    uint32_t nd;
    uint64_t shape[CVL_VK_MAX_DIMS];
    uint64_t st[3][CVL_VK_MAX_DIMS]; /* per operand; 0 along broadcast axes */
} cvl_vk_strided;
/* Drops size-1 axes and merges axes that every operand walks contiguously. */
void cvl_vk_strided_simplify(cvl_vk_strided *s, uint32_t n_operands);
/* y (contiguous over s->shape) = a op b, a and b read through st[1], st[2];
 * op CVL_OP_ADD, SUB, MUL, DIV. */
cvl_status cvl_vk_binary(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view a, cvl_vk_view b, const cvl_vk_strided *s,
                         int32_t op, cvl_err *err);
/* y[idx . st[0]] = f * x[idx . st[1]] over s->shape: permute, concat,
 * broadcast (reduce backward). */
cvl_status cvl_vk_copy_strided(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_strided *s, float f,
                               cvl_err *err);
/* y (contiguous over the kept axes) = f * sum over the reduced axes of x.
 * kept: st[0] = x strides; red: st[0] = x strides. At most 4 axes each
 * (after simplifying). */
cvl_status cvl_vk_sum_to(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, const cvl_vk_strided *kept,
                         const cvl_vk_strided *red, float f, cvl_err *err);

/* ---- Row-wise ops: x seen as (outer, D, inner), one subgroup per row of D
 * elements at stride `inner`; windows split by `outer`. */
cvl_status cvl_vk_softmax(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, uint32_t outer, uint32_t D, uint32_t inner,
                          bool log, cvl_err *err);
cvl_status cvl_vk_softmax_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view y, uint32_t outer,
                              uint32_t D, uint32_t inner, bool log, cvl_err *err);
/* Layer norm over the last axis of x (rows, D). */
cvl_status cvl_vk_layernorm(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view gamma, cvl_vk_view beta,
                            uint32_t rows, uint32_t D, float eps, cvl_err *err);
cvl_status cvl_vk_layernorm_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dy, cvl_vk_view x, cvl_vk_view gamma,
                                uint32_t rows, uint32_t D, float eps, cvl_err *err);
/* out (2, D) = sum over rows of dy * xhat, sum over rows of dy. */
cvl_status cvl_vk_layernorm_bwd_params(cvl_vk_seq *seq, cvl_vk_view out, cvl_vk_view dy, cvl_vk_view x, uint32_t rows,
                                       uint32_t D, float eps, cvl_err *err);

/* ---- Embedding: idx int32 (m), W (num, D), y (m, D); rows outside
 * [0, num) give zeros and no gradient. */
cvl_status cvl_vk_embedding(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view idx, cvl_vk_view w, uint32_t m, uint32_t num,
                            uint32_t D, cvl_err *err);
cvl_status cvl_vk_embedding_bwd(cvl_vk_seq *seq, cvl_vk_view dw, cvl_vk_view dy, cvl_vk_view idx, uint32_t m,
                                uint32_t num, uint32_t D, cvl_err *err);

/* ---- Losses (the batch mean, cpu_loss.c's formulas). */
/* Scratch floats the elementwise losses and grad_norm need for partial sums. */
uint64_t cvl_vk_partials_scratch(const cvl_vk_device *dev, uint64_t n);
/* loss (1) for CVL_OP_BCE_LOGITS, MSE, L1, HUBER over n elements. */
cvl_status cvl_vk_loss(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view x, cvl_vk_view t, cvl_vk_view scratch,
                       int32_t kind, float arg, cvl_err *err);
cvl_status cvl_vk_loss_bwd(cvl_vk_seq *seq, cvl_vk_view dx, cvl_vk_view dloss, cvl_vk_view x, cvl_vk_view t,
                           int32_t kind, float arg, cvl_err *err);
/* y (1) = f * the sum of every element of x: partial sums per window, then
 * one workgroup (scratch: cvl_vk_partials_scratch(x.count) floats). */
cvl_status cvl_vk_sum_all(cvl_vk_seq *seq, cvl_vk_view y, cvl_vk_view x, cvl_vk_view scratch, float f, cvl_err *err);
/* Cross-entropy of logits (rows, cols) against int32 labels, label
 * smoothing `smooth`, class weights w (cols) or an empty view. Logits past
 * one storage window go in ranges of rows whose sums chain through
 * scratch, where the backward also keeps the weight sum: CVL_VK_CE_SCRATCH
 * floats (the forward needs none when the logits fit one window). */
#define CVL_VK_CE_SCRATCH 3u
cvl_status cvl_vk_cross_entropy_ex(cvl_vk_seq *seq, cvl_vk_view loss, cvl_vk_view logits, cvl_vk_view labels,
                                   cvl_vk_view w, cvl_vk_view scratch, uint32_t rows, uint32_t cols, float smooth,
                                   cvl_err *err);
cvl_status cvl_vk_cross_entropy_bwd_ex(cvl_vk_seq *seq, cvl_vk_view dlogits, cvl_vk_view dloss, cvl_vk_view logits,
                                       cvl_vk_view labels, cvl_vk_view w, cvl_vk_view scratch, uint32_t rows,
                                       uint32_t cols, float smooth, cvl_err *err);

/* ---- Optimizers (in place, torch.optim's formulas). lr and step come
 * from the scalar buffer; `gnorm` is the grad_norm node (or an empty view:
 * no clipping), the gradient scaled by min(1, clip / (norm + 1e-6)). */
/* norm (1) = sqrt(sum of squares of every gradient). */
cvl_status cvl_vk_grad_norm(cvl_vk_seq *seq, cvl_vk_view norm, const cvl_vk_view *grads, uint32_t n_grads,
                            cvl_vk_view scratch, cvl_err *err);
uint64_t cvl_vk_grad_norm_scratch(const cvl_vk_device *dev, const cvl_vk_view *grads, uint32_t n_grads);
typedef struct cvl_vk_optim {
    cvl_vk_view scalars, gnorm;
    float clip; /* 0: none */
    float momentum, dampening, weight_decay; /* SGD, RMSprop (momentum), all (weight_decay) */
    bool nesterov;
    double beta1, beta2; /* Adam: double, so that 1 - beta^step keeps its digits */
    float eps;           /* Adam, RMSprop */
    bool decoupled, amsgrad;
    float alpha; /* RMSprop */
    bool centered;
} cvl_vk_optim;
/* state: SGD {momentum buffer}; Adam {m, v, vmax}; RMSprop {square_avg,
 * momentum buffer, grad_avg}; unused slots may be empty views. */
cvl_status cvl_vk_optim_step(cvl_vk_seq *seq, int kind, cvl_vk_view param, cvl_vk_view grad, const cvl_vk_view state[3],
                             const cvl_vk_optim *o, cvl_err *err);
#define CVL_VK_OPTIM_SGD 0
#define CVL_VK_OPTIM_ADAM 1
#define CVL_VK_OPTIM_RMSPROP 2

/* Internal: an elementwise kernel over n elements. `split` views are bound
 * as windows over the same element range (each chunk), `whole` views whole.
 * Push words: n, lo (first element of the chunk), the element offsets of
 * split then whole views, then `extra`. `writes` bit i: binding i is written
 * (split views first). spec: NULL for the local size alone. */
cvl_status cvl_vk_ew(cvl_vk_seq *seq, cvl_vk_kernel k, const cvl_vk_spec *spec, const cvl_vk_view *split,
                     uint32_t n_split, const cvl_vk_view *whole, uint32_t n_whole, uint32_t writes,
                     const uint32_t *extra, uint32_t n_extra, uint64_t n, const char *what, cvl_err *err);

/* Internal to the op files: binds elements [lo, hi) of `v` as a window
 * starting at the aligned-down offset; *elem_off is where lo sits in it. */
cvl_status cvl_vk_bind_window(cvl_vk_binding *out, uint32_t *elem_off, const cvl_vk_device *dev, cvl_vk_view v,
                              uint64_t lo, uint64_t hi, bool write, const char *what, cvl_err *err);
/* The largest window the planner may ask for, in floats (leaves room for
 * the alignment slack). */
uint64_t cvl_vk_window_limit(const cvl_vk_device *dev);
/* Workgroups of 256 invocations for a grid-stride loop over n elements:
 * enough for one element each, capped at 65535 (and the device's limit);
 * the shaders loop over the rest. */
uint32_t cvl_vk_grid_groups(const cvl_vk_device *dev, uint64_t n);

#endif
