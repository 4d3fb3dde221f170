// permute: the strided copy y[idx . sy] = f * x[idx . sx] over shape[0..nd)
// -- permute (x strides permuted), concat (y strides of the joined tensor,
// the view offset placing each part), broadcast (x stride 0 along the
// reduced axis of a reduce's gradient). Windows start at elements y_min and
// x_min of the whole tensors; lo is the chunk's first linear index.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P {
    uint n, lo, nd, y_off, x_off, unused_off, y_min, x_min, unused_min, f;
    uint shape[6], sy[6], sx[6];
} p;

void main() {
    float f = uintBitsToFloat(p.f);
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint rest = p.lo + i, oy = 0, ox = 0;
        for (uint d = p.nd; d-- > 0;) {
            uint k = rest % p.shape[d];
            rest /= p.shape[d];
            oy += k * p.sy[d];
            ox += k * p.sx[d];
        }
        y[p.y_off + oy - p.y_min] = f * x[p.x_off + ox - p.x_min];
    }
}
