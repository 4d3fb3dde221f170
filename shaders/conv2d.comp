// conv2d: convolution forward, y = W * x (conv2d_gemm.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define MODE 0
#define IN_T float
#include "conv2d_gemm.glsl"
