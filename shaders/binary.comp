// binary: y = a op b with NumPy broadcasting; OP (specialization constant)
// 0 add, 1 sub, 2 mul, 3 div. y is contiguous over shape[0..nd); a and b
// are read through strides sa, sb (0 along broadcast axes). The window of
// each operand starts at element y_min (a_min, b_min) of the whole tensor;
// lo is the chunk's first linear index.
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint OP = 0;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(push_constant) uniform P {
    uint n, lo, nd, y_off, a_off, b_off, y_min, a_min, b_min, f;
    uint shape[6], sa[6], sb[6];
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint rest = p.lo + i, oa = 0, ob = 0;
        for (uint d = p.nd; d-- > 0;) {
            uint k = rest % p.shape[d];
            rest /= p.shape[d];
            oa += k * p.sa[d];
            ob += k * p.sb[d];
        }
        float u = a[p.a_off + oa - p.a_min], v = b[p.b_off + ob - p.b_min], r;
        if (OP == 0u) r = u + v;
        else if (OP == 1u) r = u - v;
        else if (OP == 2u) r = u * v;
        else r = u / v;
        y[p.y_off + p.lo + i - p.y_min] = r; // y's window starts at element y_min <= lo
    }
}
