// cross_entropy: the batch loss of logits z (rows, cols) against int32
// labels, as host/core/cpu_loss.c: per valid row (label in [0, cols))
//   l_i = (1 - a) w_y (lse - z_y) + a / cols * sum_c w_c (lse - z_c)
// (a: label smoothing, w: class weights or all ones), loss = sum l_i /
// sum w_y. MODE 0 writes the loss; MODE 1 writes sum w_y alone (the
// backward's normaliser). One workgroup, rows strided over invocations,
// then subgroupAdd and one value per subgroup through shared memory.
// Logits past one storage window come in ranges of rows, one dispatch
// each: a range that is not the first (first = 0) starts from the running
// (sum l_i, sum w_y) in S, one that is not the last (last = 0) leaves them
// there instead of writing y.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 3) const uint MODE = 0;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer L { int lab[]; };
layout(std430, binding = 3) readonly buffer W { float w[]; };
layout(std430, binding = 4) buffer S { float s[]; };
layout(push_constant) uniform P { uint rows, cols, y_off, z_off, l_off, w_off, s_off, has_w; float a; uint first, last; } p;
shared float sums[2 * WG];

float wt(uint c) { return p.has_w != 0u ? w[p.w_off + c] : 1.0; }

void main() {
    uint lid = gl_LocalInvocationID.x;
    float total = 0.0, wsum = 0.0;
    for (uint r = lid; r < p.rows; r += WG) {
        int l = lab[p.l_off + r];
        if (l < 0 || uint(l) >= p.cols) continue;
        float wy = wt(uint(l));
        wsum += wy;
        if (MODE == 1u) continue;
        uint base = p.z_off + r * p.cols;
        float m = z[base];
        for (uint c = 1; c < p.cols; c++) m = max(m, z[base + c]);
        float s = 0.0;
        for (uint c = 0; c < p.cols; c++) s += exp(z[base + c] - m);
        float lse = m + log(s), li = (1.0 - p.a) * wy * (lse - z[base + uint(l)]);
        if (p.a > 0.0) {
            float sm = 0.0;
            for (uint c = 0; c < p.cols; c++) sm += wt(c) * (lse - z[base + c]);
            li += p.a / float(p.cols) * sm;
        }
        total += li;
    }
    total = subgroupAdd(total);
    wsum = subgroupAdd(wsum);
    if (subgroupElect()) {
        sums[gl_SubgroupID] = total;
        sums[WG + gl_SubgroupID] = wsum;
    }
    barrier();
    if (lid == 0) {
        float t = 0.0, ws = 0.0;
        for (uint k = 0; k < gl_NumSubgroups; k++) t += sums[k], ws += sums[WG + k];
        if (p.first == 0u) t += s[p.s_off], ws += s[p.s_off + 1];
        if (p.last == 0u) {
            s[p.s_off] = t;
            s[p.s_off + 1] = ws;
        } else {
            y[p.y_off] = MODE == 1u ? ws : (ws > 0.0 ? t / ws : 0.0);
        }
    }
}
