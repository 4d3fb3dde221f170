// matmul_f16: C = op(A) op(B) with A and B stored as float16 (matmul_gemm.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#define IN_T float16_t
#include "matmul_gemm.glsl"
