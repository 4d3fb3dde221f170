// adam: torch.optim.Adam / AdamW in place over a window of n parameters:
//   g = cc * grad; AdamW: p *= 1 - lr * wd, Adam: g += wd * p
//   m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; amsgrad: vmax = max(vmax, v), use vmax
//   p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps),  bc = 1 - beta^step
// lr and step come from the scalar buffer (slots 0, 1), so a schedule
// never re-records. bc = -expm1(step * log(beta)) with log(beta) from the
// host in double: 1 - pow(0.999, 1) in float would lose five digits.
// cc as in sgd.comp. flags: 1 decoupled (AdamW), 2 amsgrad.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer PRM { float prm[]; };
layout(std430, binding = 1) readonly buffer G { float gr[]; };
layout(std430, binding = 2) buffer M { float m1[]; };
layout(std430, binding = 3) buffer V { float v2[]; };
layout(std430, binding = 4) buffer VM { float vmax[]; };
layout(std430, binding = 5) readonly buffer S { uint s[]; };
layout(std430, binding = 6) readonly buffer GN { float gn[]; };
layout(push_constant) uniform P {
    uint n, lo, p_off, g_off, m_off, v_off, vm_off, s_off, gn_off;
    float b1, b2, eps, wd, log_b1, log_b2, clip;
    uint flags;
} p;

// exp with our own range reduction: x = k ln2 + r, |r| <= ln2/2, ln2 split
// in two (Cody-Waite) and a degree-9 Taylor series for exp(r). Drivers'
// exp may be far less accurate (llvmpipe's is good to about 1e-5), and
// 1 - beta^step feeds every update of every step.
float exp_(float x) {
    float k = floor(x * 1.44269504 + 0.5);
    float r = (x - k * 0.693145752) - k * 1.42860677e-6;
    float e = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 +
              r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0)))))))));
    return ldexp(e, int(k));
}

// exp(x) - 1: the series near 0, where exp(x) - 1 cancels.
float expm1_(float x) {
    if (abs(x) < 0.5)
        return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 +
               x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (1.0 / 362880.0)))))))));
    return x < -100.0 ? -1.0 : exp_(x) - 1.0;
}

void main() {
    float lr = uintBitsToFloat(s[p.s_off]), step = uintBitsToFloat(s[p.s_off + 1]);
    float bc1 = -expm1_(step * p.log_b1), bc2 = -expm1_(step * p.log_b2);
    float step_size = lr / bc1, sq_bc2 = sqrt(bc2);
    float cc = p.clip > 0.0 ? min(1.0, p.clip / (gn[p.gn_off] + 1e-6)) : 1.0;
    bool decoupled = (p.flags & 1u) != 0u, ams = (p.flags & 2u) != 0u;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float g = gr[p.g_off + i] * cc, w = prm[p.p_off + i];
        if (decoupled) w *= 1.0 - lr * p.wd;
        else g += p.wd * w;
        float m = p.b1 * m1[p.m_off + i] + (1.0 - p.b1) * g;
        float v = p.b2 * v2[p.v_off + i] + (1.0 - p.b2) * g * g;
        m1[p.m_off + i] = m;
        v2[p.v_off + i] = v;
        if (ams) {
            v = max(vmax[p.vm_off + i], v);
            vmax[p.vm_off + i] = v;
        }
        prm[p.p_off + i] = w - step_size * m / (sqrt(v) / sq_bc2 + p.eps);
    }
}
