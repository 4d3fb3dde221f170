// layernorm_bwd_params: out (2, D) = (sum over rows of dy * xhat, sum over
// rows of dy), accumulated onto out when acc (a later window of rows).
// A workgroup owns WG columns and walks every row: the row's mean and rstd
// come from a workgroup reduction (subgroupAdd, then one value per
// subgroup in shared memory), then each invocation adds its column.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, binding = 0) buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint rows, D, inner, o_off, dy_off, x_off; float eps; uint acc; } p;
#include "wg_sum.glsl"

void main() {
    uint j = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
    float invD = 1.0 / float(p.D), ag = 0.0, ab = 0.0;
    for (uint r = 0; r < p.rows; r++) {
        uint base = r * p.D;
        float s = 0.0;
        for (uint d = gl_LocalInvocationID.x; d < p.D; d += WG) s += x[p.x_off + base + d];
        float mean = wg_sum(s) * invD, q = 0.0;
        for (uint d = gl_LocalInvocationID.x; d < p.D; d += WG) {
            float c = x[p.x_off + base + d] - mean;
            q += c * c;
        }
        float rstd = inversesqrt(wg_sum(q) * invD + p.eps);
        if (j < p.D) {
            float g = dy[p.dy_off + base + j];
            ag += g * (x[p.x_off + base + j] - mean) * rstd;
            ab += g;
        }
    }
    if (j < p.D) {
        o[p.o_off + j] = p.acc != 0u ? o[p.o_off + j] + ag : ag;
        o[p.o_off + p.D + j] = p.acc != 0u ? o[p.o_off + p.D + j] + ab : ab;
    }
}
