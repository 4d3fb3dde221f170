// layernorm: y = (x - mean) * rstd * gamma + beta over the last axis of x
// (rows, D); one subgroup per row, mean and variance by subgroupAdd (two
// passes over the row, as the CPU computes them).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer G { float gam[]; };
layout(std430, binding = 3) readonly buffer B { float bet[]; };
layout(push_constant) uniform P { uint rows, D, inner, cols, y_off, x_off, g_off, b_off; float eps; } p;

void main() {
    uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID, nsg = gl_NumWorkGroups.x * gl_NumSubgroups;
    for (uint r = sg; r < p.rows; r += nsg) {
        uint base = r * p.D;
        float s = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) s += x[p.x_off + base + d];
        float mean = subgroupAdd(s) / float(p.D), q = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            float c = x[p.x_off + base + d] - mean;
            q += c * c;
        }
        float rstd = inversesqrt(subgroupAdd(q) / float(p.D) + p.eps);
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize)
            y[p.y_off + base + d] = (x[p.x_off + base + d] - mean) * rstd * gam[p.g_off + d] + bet[p.b_off + d];
    }
}
