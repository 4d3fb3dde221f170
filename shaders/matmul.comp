// matmul: C = op(A) op(B), register-tiled (matmul_gemm.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define IN_T float
#include "matmul_gemm.glsl"
