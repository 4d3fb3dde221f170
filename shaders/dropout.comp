// dropout (forward and backward alike): y = keep(i) ? x * k : 0 in
// training, y = x otherwise or when p = 0 (k_bits 0). keep(i) is the CPU
// backend's hash, bit for bit, in 64-bit arithmetic built from 32-bit
// words (no shaderInt64 needed):
//   base = seed ^ mix(step * G ^ mix(stream + H))    (mix(stream + H) = hs, from the host)
//   keep = (mix(base ^ i) >> 11) >= thr               (thr = ceil(p * 2^53))
// seed and step come from the scalar buffer (slots 4-5, 6-7), so a new
// mask every step needs no re-record.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer S { uint s[]; };
layout(push_constant) uniform P { uint n, lo, y_off, x_off, s_off, hs_lo, hs_hi, thr_lo, thr_hi, k_bits; } p;

// uvec2 = (low word, high word)
uvec2 mul64(uvec2 a, uvec2 b) {
    uint hi, lo;
    umulExtended(a.x, b.x, hi, lo);
    return uvec2(lo, hi + a.x * b.y + a.y * b.x);
}
uvec2 shr64(uvec2 a, uint n) { return uvec2((a.x >> n) | (a.y << (32u - n)), a.y >> n); } // 0 < n < 32

uvec2 mix64(uvec2 z) {
    z ^= shr64(z, 30u);
    z = mul64(z, uvec2(0x1ce4e5b9u, 0xbf58476du));
    z ^= shr64(z, 27u);
    z = mul64(z, uvec2(0x133111ebu, 0x94d049bbu));
    return z ^ shr64(z, 31u);
}

void main() {
    bool training = uintBitsToFloat(s[p.s_off + 3]) > 0.5;
    bool pass = !training || p.k_bits == 0u;
    float k = uintBitsToFloat(p.k_bits);
    uvec2 seed = uvec2(s[p.s_off + 4], s[p.s_off + 5]), step = uvec2(s[p.s_off + 6], s[p.s_off + 7]);
    uvec2 base = seed ^ mix64(mul64(step, uvec2(0x7f4a7c15u, 0x9e3779b9u)) ^ uvec2(p.hs_lo, p.hs_hi));
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float v = x[p.x_off + i];
        if (!pass) {
            uvec2 h = shr64(mix64(base ^ uvec2(p.lo + i, 0u)), 11u);
            bool keep = h.y > p.thr_hi || (h.y == p.thr_hi && h.x >= p.thr_lo);
            v = keep ? v * k : 0.0;
        }
        y[p.y_off + i] = v;
    }
}
