// sgd: torch.optim.SGD's update in place over a window of n parameters.
//   g = cc * grad + wd * p; buf = (step == 1 ? g : momentum * buf + (1 - dampening) * g)
//   p -= lr * (nesterov ? g + momentum * buf : buf)        (momentum > 0)
//   p -= lr * g                                            (momentum == 0)
// lr and step come from the per-step scalar buffer (slots 0, 1); cc is the
// clipping factor min(1, clip / (norm + 1e-6)) when clip > 0.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer PRM { float prm[]; };
layout(std430, binding = 1) readonly buffer G { float gr[]; };
layout(std430, binding = 2) buffer BUF { float buf[]; };
layout(std430, binding = 3) readonly buffer S { uint s[]; };
layout(std430, binding = 4) readonly buffer GN { float gn[]; };
layout(push_constant) uniform P {
    uint n, lo, p_off, g_off, b_off, s_off, gn_off, nesterov;
    float momentum, dampening, wd, clip;
} p;

void main() {
    float lr = uintBitsToFloat(s[p.s_off]), step = uintBitsToFloat(s[p.s_off + 1]);
    float cc = p.clip > 0.0 ? min(1.0, p.clip / (gn[p.gn_off] + 1e-6)) : 1.0;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float g = gr[p.g_off + i] * cc + p.wd * prm[p.p_off + i];
        if (p.momentum > 0.0) {
            float b = step <= 1.0 ? g : p.momentum * buf[p.b_off + i] + (1.0 - p.dampening) * g;
            buf[p.b_off + i] = b;
            g = p.nesterov != 0u ? g + p.momentum * b : b;
        }
        prm[p.p_off + i] -= lr * g;
    }
}
