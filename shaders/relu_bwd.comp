// relu_bwd: dx = dy where x > 0, else 0, elementwise over n elements.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint n, dx_off, dy_off, x_off; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride)
        dx[p.dx_off + i] = x[p.x_off + i] > 0.0 ? dy[p.dy_off + i] : 0.0;
}
