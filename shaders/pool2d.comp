// pool2d: max or average (count_include_pad) pooling, one output element
// per invocation; `planes` planes (of N * C) in this window, input HxW,
// output PxQ, window kh x kw (global pooling: the whole map).
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint planes, H, W, P_, Q, kh, kw, stride, pad, is_max, y_off, x_off; } p;

void main() {
    uint n = p.planes * p.P_ * p.Q, gstride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += gstride) {
        uint plane = i / (p.P_ * p.Q), pq = i % (p.P_ * p.Q), oh = pq / p.Q, ow = pq % p.Q;
        uint base = p.x_off + plane * p.H * p.W;
        float acc = p.is_max != 0u ? -3.402823466e38 : 0.0;
        for (uint r = 0; r < p.kh; r++) {
            int h = int(oh * p.stride + r) - int(p.pad);
            if (h < 0 || h >= int(p.H)) continue;
            for (uint s = 0; s < p.kw; s++) {
                int w = int(ow * p.stride + s) - int(p.pad);
                if (w < 0 || w >= int(p.W)) continue;
                float v = x[base + uint(h) * p.W + uint(w)];
                if (p.is_max != 0u) {
                    if (v > acc || isnan(v)) acc = v;
                } else {
                    acc += v;
                }
            }
        }
        y[p.y_off + i] = p.is_max != 0u ? acc : acc * (1.0 / float(p.kh * p.kw));
    }
}
