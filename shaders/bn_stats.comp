// bn_stats: per channel (one workgroup per channel), stats[c] = mean and
// stats[C + c] = 1/sqrt(var + eps) over (N, HW). In training (scalar
// slot 3 > 0.5) from the batch, updating the running statistics as PyTorch
// does (unbiased variance) and num_batches_tracked (an int64 as two words);
// in evaluation from the running statistics.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer ST { float st[]; };
layout(std430, binding = 1) buffer RM { float rm[]; };
layout(std430, binding = 2) buffer RV { float rv[]; };
layout(std430, binding = 3) buffer NB { uint nb[]; };
layout(std430, binding = 4) readonly buffer X { float x[]; };
layout(std430, binding = 5) readonly buffer S { float s[]; };
layout(push_constant) uniform P {
    uint N, C, HW, st_off, rm_off, rv_off, nb_off, x_off, s_off;
    float eps, momentum;
} p;
shared float red[256];

float reduce_sum(float v) {
    uint lid = gl_LocalInvocationID.x;
    red[lid] = v;
    barrier();
    for (uint w = gl_WorkGroupSize.x / 2; w > 0; w /= 2) {
        if (lid < w) red[lid] += red[lid + w];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    uint c = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    bool training = s[p.s_off + 3] > 0.5;
    if (!training) {
        if (lid == 0) {
            st[p.st_off + c] = rm[p.rm_off + c];
            st[p.st_off + p.C + c] = inversesqrt(rv[p.rv_off + c] + p.eps);
        }
        return;
    }
    uint count = p.N * p.HW;
    float acc = 0.0;
    for (uint i = lid; i < count; i += size) acc += x[p.x_off + ((i / p.HW) * p.C + c) * p.HW + i % p.HW];
    float mean = reduce_sum(acc) / float(count);
    acc = 0.0;
    for (uint i = lid; i < count; i += size) {
        float d = x[p.x_off + ((i / p.HW) * p.C + c) * p.HW + i % p.HW] - mean;
        acc += d * d;
    }
    float sq = reduce_sum(acc);
    if (lid == 0) {
        float var = sq / float(count);
        st[p.st_off + c] = mean;
        st[p.st_off + p.C + c] = inversesqrt(var + p.eps);
        float unbiased = count > 1u ? sq / float(count - 1u) : var;
        rm[p.rm_off + c] = (1.0 - p.momentum) * rm[p.rm_off + c] + p.momentum * mean;
        rv[p.rv_off + c] = (1.0 - p.momentum) * rv[p.rv_off + c] + p.momentum * unbiased;
        if (c == 0u) {
            uint lo = nb[p.nb_off] + 1u;
            nb[p.nb_off] = lo;
            if (lo == 0u) nb[p.nb_off + 1] += 1u;
        }
    }
}
