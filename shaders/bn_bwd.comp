// bn_bwd: per channel (one workgroup each), with batch statistics:
//   mode 0: dx = gamma*rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
//   mode 1: out[c] = sum(dy * xhat) (d gamma), out[C + c] = sum(dy) (d beta)
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer ST { float st[]; };
layout(std430, binding = 4) readonly buffer G { float g[]; };
layout(push_constant) uniform P { uint N, C, HW, mode, o_off, dy_off, x_off, st_off, g_off; } p;
shared float ra[256];
shared float rb[256];

void main() {
    uint c = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    uint count = p.N * p.HW;
    float mean = st[p.st_off + c], rstd = st[p.st_off + p.C + c];
    float a = 0.0, b = 0.0;
    for (uint i = lid; i < count; i += size) {
        uint k = ((i / p.HW) * p.C + c) * p.HW + i % p.HW;
        float d = dy[p.dy_off + k];
        a += d;
        b += d * (x[p.x_off + k] - mean) * rstd;
    }
    ra[lid] = a;
    rb[lid] = b;
    barrier();
    for (uint w = size / 2; w > 0; w /= 2) {
        if (lid < w) {
            ra[lid] += ra[lid + w];
            rb[lid] += rb[lid + w];
        }
        barrier();
    }
    float sdy = ra[0], sdyx = rb[0];
    if (p.mode == 1u) {
        if (lid == 0) {
            o[p.o_off + c] = sdyx;
            o[p.o_off + p.C + c] = sdy;
        }
        return;
    }
    float k = g[p.g_off + c] * rstd, mdy = sdy / float(count), mdyx = sdyx / float(count);
    for (uint i = lid; i < count; i += size) {
        uint j = ((i / p.HW) * p.C + c) * p.HW + i % p.HW;
        o[p.o_off + j] = k * (dy[p.dy_off + j] - mdy - (x[p.x_off + j] - mean) * rstd * mdyx);
    }
}
