// cross_entropy_bwd: dz (rows, cols), one row per invocation, as
// host/core/cpu_loss.c: for a valid label y, p = softmax(z_i),
//   g_c = (1 - a) w_y (p_c - [c == y]) + a / cols (W p_c - w_c),  W = sum_c w_c
// times dloss / sum w_y (wsum from cross_entropy.comp MODE 1); rows with
// an invalid label get zeros.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DZ { float dz[]; };
layout(std430, binding = 1) readonly buffer DL { float dl[]; };
layout(std430, binding = 2) readonly buffer Z { float z[]; };
layout(std430, binding = 3) readonly buffer L { int lab[]; };
layout(std430, binding = 4) readonly buffer W { float w[]; };
layout(std430, binding = 5) readonly buffer WS { float wsum[]; };
layout(push_constant) uniform P { uint rows, cols, dz_off, dl_off, z_off, l_off, w_off, ws_off, has_w; float a; } p;

float wt(uint c) { return p.has_w != 0u ? w[p.w_off + c] : 1.0; }

void main() {
    float ws = wsum[p.ws_off], scale = ws > 0.0 ? dl[p.dl_off] / ws : 0.0;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint r = gl_GlobalInvocationID.x; r < p.rows; r += stride) {
        uint base = r * p.cols;
        int l = lab[p.l_off + r];
        if (l < 0 || uint(l) >= p.cols) {
            for (uint c = 0; c < p.cols; c++) dz[p.dz_off + base + c] = 0.0;
            continue;
        }
        float m = z[p.z_off + base];
        for (uint c = 1; c < p.cols; c++) m = max(m, z[p.z_off + base + c]);
        float s = 0.0, wall = 0.0;
        for (uint c = 0; c < p.cols; c++) s += exp(z[p.z_off + base + c] - m);
        if (p.a > 0.0)
            for (uint c = 0; c < p.cols; c++) wall += wt(c);
        float wy = wt(uint(l));
        for (uint c = 0; c < p.cols; c++) {
            float pc = exp(z[p.z_off + base + c] - m) / s;
            float g = (1.0 - p.a) * wy * (pc - (c == uint(l) ? 1.0 : 0.0));
            if (p.a > 0.0) g += p.a / float(p.cols) * (wall * pc - wt(c));
            dz[p.dz_off + base + c] = g * scale;
        }
    }
}
