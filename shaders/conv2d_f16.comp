// conv2d_f16: convolution forward, y = W * x (conv2d_gemm.glsl, inputs stored as float16).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#define MODE 0
#define IN_T float16_t
#include "conv2d_gemm.glsl"
