// conv2d_dw_bwd_weight: depthwise convolution backward-weight, one
// workgroup per weight element: dW[c][r][s] = sum over the chunk's
// (image, output position) pairs t = n*P*Q + oh*Q + ow in [t0, t0+nt) of
// dy[n][c][oh][ow] * x[n][c][oh*sh + r*dh - ph][ow*sw + s*dw - pw] (0 in
// padding). Each invocation sums every WG-th pair, then wg_sum adds the
// invocations' sums (subgroupAdd, one value per subgroup): no atomics,
// the same order on every run. Workgroups past cn*R*S (the 2-D grid's
// last row) return at once (conv2d_dw.glsl).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
#include "conv2d_dw.glsl"
#include "wg_sum.glsl"

void main() {
    uint rs = p.R * p.S, e = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (e >= p.cn * rs) return;
    uint c = p.c0 + e / rs, r = e % rs / p.S, s = e % p.S, pq = p.P_ * p.Q;
    int dh = int(r * p.dh) - int(p.ph), dw = int(s * p.dw) - int(p.pw);
    float acc = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.nt; i += WG) {
        uint t = p.t0 + i, n = t / pq, j = t % pq;
        int h = int(j / p.Q * p.sh) + dh, w = int(j % p.Q * p.sw) + dw;
        if (h < 0 || w < 0 || h >= int(p.H) || w >= int(p.W)) continue;
        uint nc = n * p.C + c;
        acc = fma(a[p.a_off + nc * pq + j], b[p.b_off + (nc * p.H + uint(h)) * p.W + uint(w)], acc);
    }
    float sum = wg_sum(acc);
    if (gl_LocalInvocationID.x == 0u) {
        uint at = p.o_off + c * rs + r * p.S + s;
        o[at] = p.accumulate != 0u ? o[at] + sum : sum;
    }
}
