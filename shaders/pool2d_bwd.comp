// pool2d_bwd: one input element per invocation gathers from every output
// whose window holds it (no write races). Max pooling routes the gradient
// to the first position of the window equal to the output, as the CPU does.
// `planes` planes (of N * C) in this window; window kh x kw.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint planes, H, W, P_, Q, kh, kw, stride, pad, is_max, dx_off, dy_off, x_off, y_off; } p;

void main() {
    uint n = p.planes * p.H * p.W, gstride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += gstride) {
        uint plane = i / (p.H * p.W), hw = i % (p.H * p.W);
        int h = int(hw / p.W), w = int(hw % p.W);
        uint xb = p.x_off + plane * p.H * p.W, yb = plane * p.P_ * p.Q;
        float acc = 0.0, inv = 1.0 / float(p.kh * p.kw);
        // only the outputs whose window can hold (h, w): lavapipe ends a
        // shader's loops after 65535 iterations in all
        int hp = h + int(p.pad), wp = w + int(p.pad);
        uint oh0 = hp >= int(p.kh) ? uint(hp - int(p.kh)) / p.stride + 1u : 0u;
        uint ow0 = wp >= int(p.kw) ? uint(wp - int(p.kw)) / p.stride + 1u : 0u;
        uint oh1 = min(p.P_, uint(hp) / p.stride + 1u), ow1 = min(p.Q, uint(wp) / p.stride + 1u);
        for (uint oh = oh0; oh < oh1; oh++) {
            int r = hp - int(oh * p.stride);
            if (r < 0 || r >= int(p.kh)) continue;
            for (uint ow = ow0; ow < ow1; ow++) {
                int s = wp - int(ow * p.stride);
                if (s < 0 || s >= int(p.kw)) continue;
                float d = dy[p.dy_off + yb + oh * p.Q + ow];
                if (p.is_max == 0u) {
                    acc += d * inv;
                    continue;
                }
                // the first window position holding the maximum
                float m = y[p.y_off + yb + oh * p.Q + ow];
                int first = -1;
                for (uint rr = 0; rr < p.kh && first < 0; rr++) {
                    int hh = int(oh * p.stride + rr) - int(p.pad);
                    if (hh < 0 || hh >= int(p.H)) continue;
                    for (uint ss = 0; ss < p.kw; ss++) {
                        int ww = int(ow * p.stride + ss) - int(p.pad);
                        if (ww < 0 || ww >= int(p.W)) continue;
                        if (x[xb + uint(hh) * p.W + uint(ww)] == m) {
                            first = hh * int(p.W) + ww;
                            break;
                        }
                    }
                }
                if (first == int(hw)) acc += d;
            }
        }
        dx[p.dx_off + i] = acc;
    }
}
