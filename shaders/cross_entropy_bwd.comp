// cross_entropy_bwd: dz_i = dl * (softmax(z_i) - onehot(label_i)) / rows,
// one invocation per row.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer DZ { float dz[]; };
layout(std430, binding = 1) readonly buffer DL { float dl[]; };
layout(std430, binding = 2) readonly buffer Z { float z[]; };
layout(std430, binding = 3) readonly buffer L { int lab[]; };
layout(push_constant) uniform P { uint rows, cols, dz_off, dl_off, z_off, l_off; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    float k = dl[p.dl_off] / float(p.rows);
    for (uint r = gl_GlobalInvocationID.x; r < p.rows; r += stride) {
        uint base = p.z_off + r * p.cols, out_base = p.dz_off + r * p.cols;
        int l = lab[p.l_off + r];
        bool valid = l >= 0 && uint(l) < p.cols;
        float m = z[base];
        for (uint c = 1; c < p.cols; c++) m = max(m, z[base + c]);
        float s = 0.0;
        for (uint c = 0; c < p.cols; c++) s += exp(z[base + c] - m);
        for (uint c = 0; c < p.cols; c++) {
            float g = exp(z[base + c] - m) / s - (int(c) == l ? 1.0 : 0.0);
            dz[out_base + c] = valid ? k * g : 0.0;
        }
    }
}
