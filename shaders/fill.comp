// fill: y[0..n) = s[slot]. The value comes from the per-step scalar buffer,
// so a recorded command buffer picks up a new value on replay.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer S { float s[]; };
layout(push_constant) uniform P { uint n, y_off, s_off; } p;

void main() {
    float v = s[p.s_off];
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[p.y_off + i] = v;
}
