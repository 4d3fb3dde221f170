// unary_bwd: dx = dy * f'(x) elementwise (relu: dy where x > 0), KIND as
// in unary.comp, the CPU backend's derivatives (cpu_backend.c unary_df).
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint KIND = 0;
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint n, lo, dx_off, dy_off, x_off; } p;

float erf_(float v) {
    float z = abs(v), t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - r : r - 1.0;
}

float df(float v) {
    if (KIND == 0u) return v > 0.0 ? 1.0 : 0.0;
    if (KIND == 1u) return 0.5 * (1.0 + erf_(v * 0.70710678118654752)) + v * 0.3989422804014327 * exp(-0.5 * v * v);
    if (KIND == 2u) { float s = 1.0 / (1.0 + exp(-v)); return s * (1.0 + v * (1.0 - s)); }
    if (KIND == 3u) { float s = 1.0 / (1.0 + exp(-v)); return s * (1.0 - s); }
    float t = tanh(clamp(v, -15.0, 15.0));
    return 1.0 - t * t;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float g = dy[p.dy_off + i], v = x[p.x_off + i];
        dx[p.dx_off + i] = KIND == 0u ? (v > 0.0 ? g : 0.0) : g * df(v);
    }
}
