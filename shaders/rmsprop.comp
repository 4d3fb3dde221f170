// rmsprop: torch.optim.RMSprop in place over a window of n parameters:
//   g = cc * grad + wd * p; sq = alpha sq + (1 - alpha) g^2
//   centered: ga = alpha ga + (1 - alpha) g, avg = sqrt(sq - ga^2) + eps; else avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum buf + g / avg, p -= lr buf; else p -= lr g / avg
// lr from the scalar buffer (slot 0); cc as in sgd.comp.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer PRM { float prm[]; };
layout(std430, binding = 1) readonly buffer G { float gr[]; };
layout(std430, binding = 2) buffer SQ { float sq[]; };
layout(std430, binding = 3) buffer BUF { float buf[]; };
layout(std430, binding = 4) buffer GA { float ga[]; };
layout(std430, binding = 5) readonly buffer S { uint s[]; };
layout(std430, binding = 6) readonly buffer GN { float gn[]; };
layout(push_constant) uniform P {
    uint n, lo, p_off, g_off, sq_off, b_off, ga_off, s_off, gn_off;
    float alpha, eps, wd, momentum, clip;
    uint centered;
} p;

void main() {
    float lr = uintBitsToFloat(s[p.s_off]);
    float cc = p.clip > 0.0 ? min(1.0, p.clip / (gn[p.gn_off] + 1e-6)) : 1.0;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float w = prm[p.p_off + i], g = gr[p.g_off + i] * cc + p.wd * w;
        float q = p.alpha * sq[p.sq_off + i] + (1.0 - p.alpha) * g * g;
        sq[p.sq_off + i] = q;
        float avg;
        if (p.centered != 0u) {
            float a = p.alpha * ga[p.ga_off + i] + (1.0 - p.alpha) * g;
            ga[p.ga_off + i] = a;
            avg = sqrt(q - a * a) + p.eps;
        } else {
            avg = sqrt(q) + p.eps;
        }
        if (p.momentum > 0.0) {
            float b = p.momentum * buf[p.b_off + i] + g / avg;
            buf[p.b_off + i] = b;
            prm[p.p_off + i] = w - lr * b;
        } else {
            prm[p.p_off + i] = w - lr * g / avg;
        }
    }
}
