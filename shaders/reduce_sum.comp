// reduce_sum: partial row sums. x is (rows, len) with row stride ldx; the
// workgroup (g, r) sums x[r, g*chunk .. min((g+1)*chunk, len)) and writes
// y[r * ldy + g]. With one group per row (chunk >= len) that is the sum;
// otherwise the host runs a second pass over the partials. Subgroup
// arithmetic first, then one value per subgroup through shared memory.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint len, chunk, ldx, ldy, x_off, y_off; } p;

shared float partial[WG];

void main() {
    uint lid = gl_LocalInvocationID.x, g = gl_WorkGroupID.x, r = gl_WorkGroupID.y;
    uint begin = g * p.chunk, end = min(begin + p.chunk, p.len);
    uint base = p.x_off + r * p.ldx;
    float s = 0.0;
    for (uint i = begin + lid; i < end; i += WG) s += x[base + i];
    s = subgroupAdd(s);
    if (subgroupElect()) partial[gl_SubgroupID] = s;
    barrier();
    if (gl_SubgroupID == 0) {
        float t = 0.0;
        for (uint j = gl_SubgroupInvocationID; j < gl_NumSubgroups; j += gl_SubgroupSize) t += partial[j];
        t = subgroupAdd(t);
        if (subgroupElect()) y[p.y_off + r * p.ldy + g] = t;
    }
}
