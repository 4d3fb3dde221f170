// layernorm_bwd: dx = rstd * (dy*g - mean(dy*g) - xhat * mean(dy*g*xhat))
// per row of x (rows, D); one subgroup per row, sums by subgroupAdd.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer G { float gam[]; };
layout(push_constant) uniform P { uint rows, D, inner, cols, dx_off, dy_off, x_off, g_off; float eps; } p;

void main() {
    uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID, nsg = gl_NumWorkGroups.x * gl_NumSubgroups;
    float invD = 1.0 / float(p.D);
    for (uint r = sg; r < p.rows; r += nsg) {
        uint base = r * p.D;
        float s = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) s += x[p.x_off + base + d];
        float mean = subgroupAdd(s) * invD, q = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            float c = x[p.x_off + base + d] - mean;
            q += c * c;
        }
        float rstd = inversesqrt(subgroupAdd(q) * invD + p.eps), a = 0.0, c = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            float dg = dy[p.dy_off + base + d] * gam[p.g_off + d];
            a += dg;
            c += dg * (x[p.x_off + base + d] - mean) * rstd;
        }
        a = subgroupAdd(a) * invD;
        c = subgroupAdd(c) * invD;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            float xh = (x[p.x_off + base + d] - mean) * rstd;
            dx[p.dx_off + base + d] = rstd * (dy[p.dy_off + base + d] * gam[p.g_off + d] - a - xh * c);
        }
    }
}
