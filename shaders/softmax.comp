// softmax: along one axis of x seen as (outer, D, inner); y = softmax or,
// with LOG, log-softmax. One subgroup per row of D elements at stride
// inner: subgroupMax, then subgroupAdd of exp(x - max) (any subgroup size).
// A window holds rows = (outer blocks) * cols rows, cols <= inner: an axis
// too long for one window is split along inner.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint rows, D, inner, cols, y_off, x_off, log_; } p;

void main() {
    uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID, nsg = gl_NumWorkGroups.x * gl_NumSubgroups;
    for (uint r = sg; r < p.rows; r += nsg) {
        uint base = (r / p.cols) * p.D * p.inner + r % p.cols;
        float m = -3.402823466e38;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) m = max(m, x[p.x_off + base + d * p.inner]);
        m = subgroupMax(m);
        float s = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) s += exp(x[p.x_off + base + d * p.inner] - m);
        float lse = m + log(subgroupAdd(s));
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            float v = x[p.x_off + base + d * p.inner] - lse;
            y[p.y_off + base + d * p.inner] = p.log_ != 0u ? v : exp(v);
        }
    }
}
