// loss_bwd: dx = dloss / n * dl/dx elementwise for the losses of loss.comp
// (KIND as there); dloss is one float, inv_n = 1 / element count.
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint KIND = 2;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer T { float t[]; };
layout(std430, binding = 3) readonly buffer DL { float dl[]; };
layout(push_constant) uniform P { uint n, lo, dx_off, x_off, t_off, dl_off; float arg, inv_n; } p;

void main() {
    float scale = dl[p.dl_off] * p.inv_n;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float xi = x[p.x_off + i], yi = t[p.t_off + i], d = xi - yi, g;
        if (KIND == 1u) {
            float pw = p.arg > 0.0 ? p.arg : 1.0, s = 1.0 / (1.0 + exp(-xi));
            g = pw * yi * (s - 1.0) + (1.0 - yi) * s;
        } else if (KIND == 2u) g = 2.0 * d;
        else if (KIND == 3u) g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
        else g = abs(d) < p.arg ? d : p.arg * (d > 0.0 ? 1.0 : -1.0);
        dx[p.dx_off + i] = g * scale;
    }
}
