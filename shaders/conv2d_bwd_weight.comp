// conv2d_bwd_weight: convolution backward-weight, dW from dy and x (conv2d_gemm.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define MODE 2
#define IN_T float
#include "conv2d_gemm.glsl"
