// slice: along one axis of a tensor seen as (outer, D, inner), over output
// elements [lo, lo + n); x is bound from its element x_min on.
//   mode 0 (forward):  y (outer, len, inner) = x[:, start:start+len, :]
//   mode 1 (backward): y (outer, D, inner) = dy in [start, start+len), 0 elsewhere
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint n, lo, D, len, start, inner, mode, y_off, x_off, x_min; } p;

void main() {
    uint gstride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gstride) {
        uint at = p.lo + i, j = at % p.inner, rest = at / p.inner;
        if (p.mode == 0u) {
            uint d = rest % p.len, o = rest / p.len;
            y[p.y_off + i] = x[p.x_off + (o * p.D + p.start + d) * p.inner + j - p.x_min];
        } else {
            uint d = rest % p.D, o = rest / p.D;
            bool in_range = d >= p.start && d < p.start + p.len;
            y[p.y_off + i] = in_range ? x[p.x_off + (o * p.len + d - p.start) * p.inner + j - p.x_min] : 0.0;
        }
    }
}
