// bias_rows: y (rows, cols) = b (cols) repeated on every row; n = rows * cols.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(push_constant) uniform P { uint n, cols, y_off, b_off; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[p.y_off + i] = b[p.b_off + i % p.cols];
}
