// bn_bwd: batch norm backward with batch statistics st (2, C) = mean, rstd,
// in passes so that the tensors can be walked in windows:
//   mode 1: per channel (one workgroup each) over a chunk of whole planes
//           (plane p holds channel p % C): o[c] += sum(dy * (x - mean)),
//           o[C + c] += sum(dy) (the first chunk holding channel c writes);
//   mode 2: one invocation per channel: o[c] *= rstd -- o (2, C) is then
//           d gamma, d beta;
//   mode 0: elementwise over elements [lo, lo + n) with a (2, C) =
//           sum(dy * xhat), sum(dy) from modes 1-2:
//           dx = gamma*rstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
// The push block starts like cvl_vk_ew's (n, lo, offsets).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, binding = 0) buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer ST { float st[]; };
layout(std430, binding = 4) readonly buffer G { float g[]; };
layout(std430, binding = 5) readonly buffer A { float a[]; };
layout(push_constant) uniform P {
    uint n, lo, o_off, dy_off, x_off, st_off, g_off, a_off, C, HW, p0, np, count, mode;
} p;
#include "wg_sum.glsl"

void sums() {
    uint c = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    uint first = (c + p.C - p.p0 % p.C) % p.C; // the chunk's first plane of channel c
    if (first >= p.np) return;
    uint n = ((p.np - first + p.C - 1) / p.C) * p.HW;
    float mean = st[p.st_off + c], sa = 0.0, sb = 0.0;
    for (uint i = lid; i < n; i += size) {
        uint k = (first + (i / p.HW) * p.C) * p.HW + i % p.HW;
        float d = dy[p.dy_off + k];
        sa += d;
        sb += d * (x[p.x_off + k] - mean);
    }
    sa = wg_sum(sa);
    sb = wg_sum(sb);
    if (lid == 0) {
        bool first_chunk = p.p0 + first < p.C;
        o[p.o_off + c] = first_chunk ? sb : o[p.o_off + c] + sb;
        o[p.o_off + p.C + c] = first_chunk ? sa : o[p.o_off + p.C + c] + sa;
    }
}

void main() {
    if (p.mode == 1u) {
        sums();
        return;
    }
    if (p.mode == 2u) {
        uint c = gl_GlobalInvocationID.x;
        if (c < p.C) o[p.o_off + c] *= st[p.st_off + p.C + c];
        return;
    }
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint c = ((p.lo + i) / p.HW) % p.C;
        float mean = st[p.st_off + c], rstd = st[p.st_off + p.C + c];
        float k = g[p.g_off + c] * rstd;
        float mdy = a[p.a_off + p.C + c] / float(p.count), mdyx = a[p.a_off + c] / float(p.count);
        o[p.o_off + i] = k * (dy[p.dy_off + i] - mdy - (x[p.x_off + i] - mean) * rstd * mdyx);
    }
}
