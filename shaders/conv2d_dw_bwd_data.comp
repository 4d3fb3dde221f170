// conv2d_dw_bwd_data: depthwise convolution backward-data, one invocation
// per input element: dx[n][c][h][w] = sum over the taps (r, s) of the
// chunk's filter rows through which (h, w) feeds an output (oh, ow) --
// h + ph - r*dh = oh*sh, w + pw - s*dw = ow*sw -- of W[c][r][s] *
// dy[n][c][oh][ow] (conv2d_dw.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "conv2d_dw.glsl"

void main() {
    uint hw = p.H * p.W, id = flat_id();
    if (id >= p.nn * p.cn * hw) return;
    uint j = id % hw, t = id / hw, c = p.c0 + t % p.cn, n = p.n0 + t / p.cn, h = j / p.W, w = j % p.W;
    uvec2 rr = taps_out(h, p.sh, p.dh, p.ph, p.P_, p.r0, p.r1), ss = taps_out(w, p.sw, p.dw, p.pw, p.Q, 0u, p.S);
    uint yb = p.b_off + (n * p.C + c) * p.P_ * p.Q, wb = p.a_off + c * p.R * p.S;
    float acc = 0.0;
    for (uint r = rr.x; r < rr.y; r++) {
        uint hh = h + p.ph - r * p.dh;
        if (hh % p.sh != 0u) continue;
        uint yr = yb + hh / p.sh * p.Q, wr = wb + r * p.S;
        for (uint s = ss.x; s < ss.y; s++) {
            uint ww = w + p.pw - s * p.dw;
            if (ww % p.sw == 0u) acc = fma(a[wr + s], b[yr + ww / p.sw], acc);
        }
    }
    uint at = p.o_off + (n * p.C + c) * hw + j;
    o[at] = p.accumulate != 0u ? o[at] + acc : acc;
}
