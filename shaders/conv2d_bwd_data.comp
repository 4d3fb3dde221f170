// conv2d_bwd_data: convolution backward-data, dx from W and dy (conv2d_gemm.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define MODE 1
#define IN_T float
#include "conv2d_gemm.glsl"
