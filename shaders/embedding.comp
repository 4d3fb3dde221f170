// embedding: y (rows, D) = W[idx[row]] row by row, over one range of table
// rows [r0, r1) bound as a window (w element 0 is row r0). The first range
// (first = 1) writes every row, zeros where the index lies outside it --
// an index outside [0, num) gives zeros, as on the CPU; later ranges write
// only the rows whose index they hold.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(push_constant) uniform P { uint n, y_off, i_off, w_off, D, r0, r1, first; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint row = i / p.D, d = i % p.D;
        int r = idx[p.i_off + row];
        if (r >= 0 && uint(r) >= p.r0 && uint(r) < p.r1)
            y[p.y_off + i] = w[p.w_off + (uint(r) - p.r0) * p.D + d];
        else if (p.first != 0u)
            y[p.y_off + i] = 0.0;
    }
}
