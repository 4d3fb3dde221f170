// sum_to: y (contiguous over the kept axes) = f * the sum of x over the
// reduced axes -- the gradient of a broadcast operand, reduce sum/mean
// along an axis, a convolution's bias gradient. One subgroup per output:
// its lanes stride over the reduced elements, then subgroupAdd (any
// subgroup size). x's window starts at element x_min; lo is the chunk's
// first output. With acc, adds onto y (a later piece of a long reduction).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P {
    uint n, lo, nk, nr, y_off, x_off, x_min, f;
    uint kshape[4], kst[4], rshape[4], rst[4];
    uint acc;
} p;

void main() {
    float f = uintBitsToFloat(p.f);
    uint R = p.rshape[0] * p.rshape[1] * p.rshape[2] * p.rshape[3];
    uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID, nsg = gl_NumWorkGroups.x * gl_NumSubgroups;
    for (uint o = sg; o < p.n; o += nsg) {
        uint rest = p.lo + o, base = 0;
        for (uint d = p.nk; d-- > 0;) {
            base += (rest % p.kshape[d]) * p.kst[d];
            rest /= p.kshape[d];
        }
        float acc = 0.0;
        for (uint r = gl_SubgroupInvocationID; r < R; r += gl_SubgroupSize) {
            uint q = r, off = 0;
            for (uint d = p.nr; d-- > 0;) {
                off += (q % p.rshape[d]) * p.rst[d];
                q /= p.rshape[d];
            }
            acc += x[p.x_off + base + off - p.x_min];
        }
        acc = subgroupAdd(acc);
        if (subgroupElect()) y[p.y_off + o] = p.acc != 0u ? y[p.y_off + o] + acc * f : acc * f;
    }
}
