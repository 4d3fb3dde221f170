/* cpu_kernels.h -- the CPU implementations of the graph's heavy ops.
 * f32, contiguous, NCHW; weights OIHW. Backward kernels overwrite their
 * outputs. Scratch memory comes from the caller (`ws`, sized by the
 * _workspace functions at plan time); nothing here allocates. */
#ifndef CVL_CORE_CPU_KERNELS_H
#define CVL_CORE_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cpu_pool.h"

typedef struct cvl_conv_geom {
    int N, C, H, W; /* input */
    int K, R, S;    /* weight (K, C/groups, R, S) */
    int P, Q;       /* output */
    int sh, sw, ph, pw, dh, dw, groups;
} cvl_conv_geom;

/* The forward convolution whose output is g's backward-data result when g
 * has stride 1: input and output channels and planes swapped, padding
 * d (R - 1) - p (the weights are used flipped and transposed). */
cvl_conv_geom cvl_conv_geom_transposed(const cvl_conv_geom *g);

/* Floats of scratch the conv kernels need with `threads` threads. */
size_t cvl_conv2d_workspace(const cvl_conv_geom *g, int threads);
// out (N,K,P,Q) = conv(in (N,C,H,W), weight) + bias (K, or NULL)
void cvl_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                        const cvl_conv_geom *g, float *ws, cvl_pool *pool);
// din (N,C,H,W) from dout (N,K,P,Q)
void cvl_conv2d_backward_data(float *din, const float *dout, const float *weight,
                              const cvl_conv_geom *g, float *ws, cvl_pool *pool);
// dweight (K,C/g,R,S) from dout and in
void cvl_conv2d_backward_weight(float *dweight, const float *dout, const float *in,
                                const cvl_conv_geom *g, float *ws, cvl_pool *pool);

/* Winograd F(2x2,3x3) for 3x3, stride-1, dilation-1, ungrouped
 * convolutions; the conv entry points above choose it where it is faster
 * (conv_winograd.c). */
bool cvl_conv2d_winograd_applies(const cvl_conv_geom *g); /* the algorithm can run it */
bool cvl_conv2d_winograd_ok(const cvl_conv_geom *g);      /* and it is the faster path */
size_t cvl_conv2d_winograd_workspace(const cvl_conv_geom *g, int threads);
void cvl_conv2d_winograd_forward(float *out, const float *in, const float *weight, const float *bias,
                                 const cvl_conv_geom *g, float *ws, cvl_pool *pool);
void cvl_conv2d_winograd_backward_data(float *din, const float *dout, const float *weight,
                                       const cvl_conv_geom *g, float *ws, cvl_pool *pool);
bool cvl_conv2d_winograd_bwd_weight_ok(const cvl_conv_geom *g);
size_t cvl_conv2d_winograd_bwd_weight_workspace(const cvl_conv_geom *g, int threads);
void cvl_conv2d_winograd_backward_weight(float *dweight, const float *dout, const float *in,
                                         const cvl_conv_geom *g, float *ws, cvl_pool *pool);
/* Backward-data of a stride-1 convolution as a forward im2col convolution
 * with the rotated filter (conv_im2col.c). */
bool cvl_conv2d_flip_applies(const cvl_conv_geom *g);
size_t cvl_conv2d_flip_workspace(const cvl_conv_geom *g, int threads);
void cvl_conv2d_flip_backward_data(float *din, const float *dout, const float *weight,
                                   const cvl_conv_geom *g, float *ws, cvl_pool *pool);
/* The im2col paths, also the reference the Winograd path is tested against. */
void cvl_conv2d_im2col_forward(float *out, const float *in, const float *weight, const float *bias,
                               const cvl_conv_geom *g, float *ws, cvl_pool *pool);
void cvl_conv2d_im2col_backward_data(float *din, const float *dout, const float *weight,
                                     const cvl_conv_geom *g, float *ws, cvl_pool *pool);
void cvl_conv2d_im2col_backward_weight(float *dweight, const float *dout, const float *in,
                                       const cvl_conv_geom *g, float *ws, cvl_pool *pool);

// stats (2,C): batch mean and 1/sqrt(var+eps) over (N,HW); updates the
// running statistics as PyTorch does (unbiased variance, momentum).
void cvl_bn_stats_train(float *stats, float *rmean, float *rvar, const float *in, int N, int C,
                        int HW, double eps, double momentum, cvl_pool *pool);
void cvl_bn_stats_eval(float *stats, const float *rmean, const float *rvar, int C, double eps);
void cvl_bn_apply(float *out, const float *in, const float *stats, const float *gamma,
                  const float *beta, int N, int C, int HW, cvl_pool *pool);
/* The backward kernels need cvl_bn_backward_scratch(N, C) floats of
 * scratch (8-byte aligned). */
size_t cvl_bn_backward_scratch(int N, int C);
// din from dout using batch statistics (training-mode backward)
void cvl_bn_backward(float *din, const float *dout, const float *in, const float *stats,
                     const float *gamma, int N, int C, int HW, float *scratch, cvl_pool *pool);
// dparams (2,C): dgamma, dbeta
void cvl_bn_backward_params(float *dparams, const float *dout, const float *in,
                            const float *stats, int N, int C, int HW, float *scratch, cvl_pool *pool);
/* Both from one set of sums over (dout, in) (din or dparams may be NULL; gamma only
 * with din). With `relu` (the input of a ReLU that followed the batch norm)
 * the gradient taken is dout where relu > 0, else 0: the ReLU's backward
 * fused in, its output never written. */
void cvl_bn_backward_fused(float *din, float *dparams, const float *dout, const float *relu, const float *in,
                           const float *stats, const float *gamma, int N, int C, int HW, float *scratch,
                           cvl_pool *pool);

typedef struct cvl_pool_geom {
    int N, C, H, W, P, Q, kh, kw, stride, pad; /* window kh x kw (global pooling: H x W) */
    bool max;
} cvl_pool_geom;
void cvl_pool2d_forward(float *out, const float *in, const cvl_pool_geom *g, cvl_pool *pool);
// For max pooling `out` is the forward output: the first position equal to it wins.
void cvl_pool2d_backward(float *din, const float *dout, const float *in, const float *out,
                         const cvl_pool_geom *g, cvl_pool *pool);

#endif
