// unary: y = f(x) elementwise, f chosen by the KIND specialization constant
// (0 relu, 1 gelu (erf form), 2 silu, 3 sigmoid, 4 tanh), the formulas of
// the CPU backend (host/core/cpu_backend.c unary_f).
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint KIND = 0;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform P { uint n, lo, y_off, x_off; } p;

// erf through erfc's Chebyshev fit (fractional error < 1.2e-7); GLSL has none.
float erf_(float v) {
    float z = abs(v), t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - r : r - 1.0;
}

float f(float v) {
    if (KIND == 0u) return v > 0.0 ? v : 0.0;
    if (KIND == 1u) return 0.5 * v * (1.0 + erf_(v * 0.70710678118654752));
    if (KIND == 2u) return v / (1.0 + exp(-v));
    if (KIND == 3u) return 1.0 / (1.0 + exp(-v));
    return tanh(clamp(v, -15.0, 15.0)); // some drivers compute tanh through exp(2x): no inf/inf
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[p.y_off + i] = f(x[p.x_off + i]);
}
