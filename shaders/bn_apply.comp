// bn_apply: y = (x - mean) * rstd * gamma + beta per channel, elementwise
// over elements [lo, lo + n) of (N, C, HW) (cvl_vk_ew's push block).
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer ST { float st[]; };
layout(std430, binding = 3) readonly buffer G { float g[]; };
layout(std430, binding = 4) readonly buffer B { float b[]; };
layout(push_constant) uniform P { uint n, lo, y_off, x_off, st_off, g_off, b_off, C, HW; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint c = ((p.lo + i) / p.HW) % p.C;
        float a = g[p.g_off + c] * st[p.st_off + p.C + c];
        y[p.y_off + i] = x[p.x_off + i] * a + (b[p.b_off + c] - st[p.st_off + c] * a);
    }
}
