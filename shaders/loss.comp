// loss: partial sums of an elementwise loss over a window of n elements,
// each term divided by the element count (inv_n) so the partials add up to
// the batch mean. KIND (specialization constant): 1 BCE with logits
// (arg: pos_weight, 0 none), 2 MSE, 3 L1, 4 Huber (arg: delta); the
// formulas of host/core/cpu_loss.c. Workgroup g writes
// part[part_base + g]: subgroupAdd, then one value per subgroup in shared
// memory. The host sums the partials (reduce_sum.comp).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 3) const uint KIND = 2;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer T { float t[]; };
layout(std430, binding = 2) writeonly buffer R { float part[]; };
layout(push_constant) uniform P { uint n, lo, x_off, t_off, part_off, part_base; float arg, inv_n; } p;
shared float sums[WG];

float term(float xi, float yi) {
    float d = xi - yi;
    if (KIND == 1u) {
        float pw = p.arg > 0.0 ? p.arg : 1.0;
        // softplus(-x) = -log sigmoid(x), without overflow
        float sp_neg = xi < 0.0 ? -xi + log(1.0 + exp(xi)) : log(1.0 + exp(-xi));
        return pw * yi * sp_neg + (1.0 - yi) * (sp_neg + xi);
    }
    if (KIND == 2u) return d * d;
    if (KIND == 3u) return abs(d);
    return abs(d) < p.arg ? 0.5 * d * d : p.arg * (abs(d) - 0.5 * p.arg);
}

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    float acc = 0.0;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) acc += term(x[p.x_off + i], t[p.t_off + i]) * p.inv_n;
    acc = subgroupAdd(acc);
    if (subgroupElect()) sums[gl_SubgroupID] = acc;
    barrier();
    if (gl_LocalInvocationID.x == 0) {
        float s = 0.0;
        for (uint k = 0; k < gl_NumSubgroups; k++) s += sums[k];
        part[p.part_off + p.part_base + gl_WorkGroupID.x] = s;
    }
}
