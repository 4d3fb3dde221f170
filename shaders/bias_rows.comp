// bias_rows: y[i] = (acc ? y[i] : 0) + b[(i / inner) % cols] over a window
// of n elements starting at element lo of y: the bias of a linear layer
// (inner 1: one row per sample) or of a convolution (inner P*Q: one value
// per channel plane, added onto the GEMM's output).
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(push_constant) uniform P { uint n, lo, y_off, b_off, cols, inner, acc; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float v = b[p.b_off + ((p.lo + i) / p.inner) % p.cols];
        y[p.y_off + i] = p.acc != 0u ? y[p.y_off + i] + v : v;
    }
}
