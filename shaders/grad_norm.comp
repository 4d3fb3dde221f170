// grad_norm: two-level sums without atomics, for the gradient norm, the
// sum over every element (reduce over all axes) and the losses' partials.
//   MODE 0: partial sums of squares of a window of n elements of x,
//           workgroup g writing part[part_base + g];
//   MODE 2: the same with plain sums;
//   MODE 1: one workgroup adds part[0, n) and writes sqrt(sum) to binding 0
//           (the norm, bound in place of x);
//   MODE 3: the same, writing f * sum.
// Every level reduces with subgroupAdd, then one value per subgroup
// through shared memory (any subgroup size).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 3) const uint MODE = 0;
layout(std430, binding = 0) buffer X { float x[]; }; // modes 1, 3: the result (1 float)
layout(std430, binding = 1) buffer R { float part[]; };
layout(push_constant) uniform P { uint n, lo, x_off, part_off, part_base; float f; } p;
shared float sums[WG];

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    bool final_ = MODE == 1u || MODE == 3u;
    float acc = 0.0;
    if (!final_) {
        for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
            float g = x[p.x_off + i];
            acc += MODE == 0u ? g * g : g;
        }
    } else {
        for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG) acc += part[p.part_off + i];
    }
    acc = subgroupAdd(acc);
    if (subgroupElect()) sums[gl_SubgroupID] = acc;
    barrier();
    if (gl_LocalInvocationID.x == 0) {
        float s = 0.0;
        for (uint k = 0; k < gl_NumSubgroups; k++) s += sums[k];
        if (!final_) part[p.part_off + p.part_base + gl_WorkGroupID.x] = s;
        else x[p.x_off] = MODE == 1u ? sqrt(s) : s * p.f;
    }
}
