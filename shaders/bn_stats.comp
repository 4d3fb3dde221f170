// bn_stats: batch statistics over (N, HW) per channel, in passes so that x
// can be walked in windows of whole planes (a plane: HW floats of one
// sample and channel; plane p holds channel p % C). st (2, C) accumulates:
//   mode 0: st[c] = sum of x over the chunk's planes of channel c (added
//           onto earlier chunks), one workgroup per channel;
//   mode 1: st[C + c] = the same for (x - mean)^2, mean = st[c] / count;
//   mode 2: one invocation per channel turns the sums into mean and
//           1/sqrt(var + eps) and updates the running statistics as
//           PyTorch does (unbiased variance) and num_batches_tracked (an
//           int64 as two words, by channel 0 only).
// In evaluation (scalar slot 3 <= 0.5) modes 0 and 1 do nothing and mode 2
// takes the running statistics.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, binding = 0) buffer ST { float st[]; };
layout(std430, binding = 1) buffer RM { float rm[]; };
layout(std430, binding = 2) buffer RV { float rv[]; };
layout(std430, binding = 3) buffer NB { uint nb[]; };
layout(std430, binding = 4) readonly buffer X { float x[]; };
layout(std430, binding = 5) readonly buffer S { float s[]; };
layout(push_constant) uniform P {
    uint C, HW, p0, np, count, mode, st_off, rm_off, rv_off, nb_off, x_off, s_off;
    float eps, momentum;
} p;
#include "wg_sum.glsl"

void finish(uint c, bool training) {
    if (!training) {
        st[p.st_off + c] = rm[p.rm_off + c];
        st[p.st_off + p.C + c] = 1.0 / sqrt(rv[p.rv_off + c] + p.eps);
        return;
    }
    float mean = st[p.st_off + c] / float(p.count), sq = st[p.st_off + p.C + c];
    float var = sq / float(p.count);
    st[p.st_off + c] = mean;
    st[p.st_off + p.C + c] = 1.0 / sqrt(var + p.eps);
    float unbiased = p.count > 1u ? sq / float(p.count - 1u) : var;
    rm[p.rm_off + c] = (1.0 - p.momentum) * rm[p.rm_off + c] + p.momentum * mean;
    rv[p.rv_off + c] = (1.0 - p.momentum) * rv[p.rv_off + c] + p.momentum * unbiased;
    if (c == 0u) {
        uint lo = nb[p.nb_off] + 1u;
        nb[p.nb_off] = lo;
        if (lo == 0u) nb[p.nb_off + 1] += 1u;
    }
}

void main() {
    bool training = s[p.s_off + 3] > 0.5;
    if (p.mode == 2u) {
        if (gl_GlobalInvocationID.x < p.C) finish(gl_GlobalInvocationID.x, training);
        return;
    }
    if (!training) return;
    uint c = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    // the chunk's first plane of channel c (chunk-relative), and how many
    uint first = (c + p.C - p.p0 % p.C) % p.C;
    if (first >= p.np) return;
    uint planes = (p.np - first + p.C - 1) / p.C, n = planes * p.HW;
    float mean = p.mode == 1u ? st[p.st_off + c] / float(p.count) : 0.0;
    float acc = 0.0;
    for (uint i = lid; i < n; i += size) {
        float v = x[p.x_off + (first + (i / p.HW) * p.C) * p.HW + i % p.HW];
        if (p.mode == 1u) v = (v - mean) * (v - mean);
        acc += v;
    }
    float sum = wg_sum(acc);
    if (lid == 0) {
        uint at = p.st_off + (p.mode == 1u ? p.C : 0u) + c;
        st[at] = p.p0 + first < p.C ? sum : st[at] + sum; // the first chunk holding channel c writes
    }
}
