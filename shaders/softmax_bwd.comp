// softmax_bwd: dx from dy and the forward's output y, per row as in
// softmax.comp: softmax dx = y * (dy - sum(dy * y)); log-softmax
// dx = dy - exp(y) * sum(dy).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint rows, D, inner, cols, dx_off, dy_off, y_off, log_; } p;

void main() {
    bool lg = p.log_ != 0u;
    uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID, nsg = gl_NumWorkGroups.x * gl_NumSubgroups;
    for (uint r = sg; r < p.rows; r += nsg) {
        uint base = (r / p.cols) * p.D * p.inner + r % p.cols;
        float acc = 0.0;
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            uint k = base + d * p.inner;
            acc += lg ? dy[p.dy_off + k] : dy[p.dy_off + k] * y[p.y_off + k];
        }
        acc = subgroupAdd(acc);
        for (uint d = gl_SubgroupInvocationID; d < p.D; d += gl_SubgroupSize) {
            uint k = base + d * p.inner;
            float g = dy[p.dy_off + k], v = y[p.y_off + k];
            dx[p.dx_off + k] = lg ? g - exp(v) * acc : v * (g - acc);
        }
    }
}
