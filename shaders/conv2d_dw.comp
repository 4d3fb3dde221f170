// conv2d_dw: depthwise convolution forward, one invocation per output
// element y[n][c][oh][ow] = sum over the taps (r, s) of the chunk's filter
// rows that read inside the map of W[c][r][s] * x[n][c][h][w]
// (conv2d_dw.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "conv2d_dw.glsl"

void main() {
    uint pq = p.P_ * p.Q, id = flat_id();
    if (id >= p.nn * p.cn * pq) return;
    uint j = id % pq, t = id / pq, c = p.c0 + t % p.cn, n = p.n0 + t / p.cn, oh = j / p.Q, ow = j % p.Q;
    uvec2 rr = taps_in(oh, p.sh, p.dh, p.ph, p.H, p.r0, p.r1), ss = taps_in(ow, p.sw, p.dw, p.pw, p.W, 0u, p.S);
    uint xb = p.b_off + (n * p.C + c) * p.H * p.W, wb = p.a_off + c * p.R * p.S;
    float acc = 0.0;
    for (uint r = rr.x; r < rr.y; r++) {
        uint xr = xb + (oh * p.sh + r * p.dh - p.ph) * p.W + ow * p.sw - p.pw, wr = wb + r * p.S;
        for (uint s = ss.x; s < ss.y; s++) acc = fma(a[wr + s], b[xr + s * p.dw], acc);
    }
    uint at = p.o_off + (n * p.C + c) * pq + j;
    o[at] = p.accumulate != 0u ? o[at] + acc : acc;
}
