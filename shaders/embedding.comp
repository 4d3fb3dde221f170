// embedding: y (m, D) = W[idx[row]] row by row; an index outside [0, num)
// gives a row of zeros (as on the CPU). Element lo + i of y is row
// (lo + i) / D, column (lo + i) % D.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(push_constant) uniform P { uint n, lo, y_off, i_off, w_off, num, D; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint e = p.lo + i, row = e / p.D, d = e % p.D;
        int r = idx[p.i_off + row];
        y[p.y_off + i] = (r >= 0 && uint(r) < p.num) ? w[p.w_off + uint(r) * p.D + d] : 0.0;
    }
}
