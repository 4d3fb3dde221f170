// embedding_bwd: dW (num, D) element (r, d) = sum of dy[k, d] over the
// indices k with idx[k] == r, in ascending k from 0 -- the CPU backend's
// order, so the sums agree bit for bit. One dispatch covers table rows
// [r0, r0 + n / D) and one range of m indices (dy and idx windows); the
// first range (first = 1) starts each sum at 0, later ones continue the
// sum already in dW. No atomics: every invocation scans the range's
// indices (O(num * D * m) compares; embeddings here are small tables).
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer DW { float dw[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer I { int idx[]; };
layout(push_constant) uniform P { uint n, dw_off, dy_off, i_off, m, D, r0, first; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint r = p.r0 + i / p.D, d = i % p.D;
        float acc = p.first != 0u ? 0.0 : dw[p.dw_off + i];
        for (uint k = 0; k < p.m; k++)
            if (idx[p.i_off + k] == int(r)) acc += dy[p.dy_off + k * p.D + d];
        dw[p.dw_off + i] = acc;
    }
}
