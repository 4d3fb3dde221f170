// embedding_bwd: dW (num, D) element (r, d) = sum of dy[i, d] over the m
// indices with idx[i] == r, in ascending i from 0 -- the CPU backend's
// order, so the sums agree bit for bit. No atomics: every invocation scans
// the m indices (O(num * D * m) compares; embeddings here are small tables).
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DW { float dw[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer I { int idx[]; };
layout(push_constant) uniform P { uint n, lo, dw_off, dy_off, i_off, m, D; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint e = p.lo + i, r = e / p.D, d = e % p.D;
        float acc = 0.0;
        for (uint k = 0; k < p.m; k++)
            if (idx[p.i_off + k] == int(r)) acc += dy[p.dy_off + k * p.D + d];
        dw[p.dw_off + i] = acc;
    }
}
