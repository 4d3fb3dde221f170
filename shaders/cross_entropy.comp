// cross_entropy: loss = mean over rows of logsumexp(z_i) - z_i[label_i].
// One workgroup; each invocation takes rows lid, lid + size, ...; a shared
// memory tree sums the partials. Labels outside [0, cols) count as 0 loss.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer L { int lab[]; };
layout(push_constant) uniform P { uint rows, cols, y_off, z_off, l_off; } p;
shared float part[256];

void main() {
    uint lid = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    float acc = 0.0;
    for (uint r = lid; r < p.rows; r += size) {
        uint base = p.z_off + r * p.cols;
        float m = z[base];
        for (uint c = 1; c < p.cols; c++) m = max(m, z[base + c]);
        float s = 0.0;
        for (uint c = 0; c < p.cols; c++) s += exp(z[base + c] - m);
        int l = lab[p.l_off + r];
        if (l >= 0 && uint(l) < p.cols) acc += m + log(s) - z[base + uint(l)];
    }
    part[lid] = acc;
    barrier();
    for (uint w = size / 2; w > 0; w /= 2) {
        if (lid < w) part[lid] += part[lid + w];
        barrier();
    }
    if (lid == 0) y[p.y_off] = part[0] / float(p.rows);
}
