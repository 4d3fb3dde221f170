// matmul_naive: the same contract as matmul.comp (push constants included),
// one element of C per invocation straight from global memory. Kept as the
// baseline the tiled shader is measured against, and as a second opinion
// in the tests.
#version 450
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 8) const bool TRANS_A = false;
layout(constant_id = 9) const bool TRANS_B = false;

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(push_constant) uniform P {
    uint M, N, K, lda, ldb, ldc, sa, sb, sc, a_off, b_off, c_off, accumulate;
} p;

void main() {
    uint j = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y;
    if (i >= p.M || j >= p.N) return;
    uint ab = p.a_off + gl_WorkGroupID.z * p.sa;
    uint bb = p.b_off + gl_WorkGroupID.z * p.sb;
    float s = 0.0;
    for (uint k = 0; k < p.K; k++) {
        float x = a[ab + (TRANS_A ? k * p.lda + i : i * p.lda + k)];
        float y = b[bb + (TRANS_B ? j * p.ldb + k : k * p.ldb + j)];
        s = fma(x, y, s);
    }
    uint at = p.c_off + gl_WorkGroupID.z * p.sc + i * p.ldc + j;
    c[at] = p.accumulate != 0 ? c[at] + s : s;
}
