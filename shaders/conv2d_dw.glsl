// conv2d_dw.glsl: what the direct depthwise convolution shaders share
// (conv2d_dw.comp, conv2d_dw_bwd_data.comp, conv2d_dw_bwd_weight.comp):
// bindings, push constants and the ranges of kernel taps that reach inside
// the map. Depthwise: groups == C == K, one R x S filter per channel;
// x (N,C,H,W), W (C,1,R,S), y (N,C,P,Q).
//
// One dispatch is one chunk (op_conv2d_dw.c cuts a convolution so that
// every window fits maxStorageBufferRange): images [n0, n0+nn), channels
// [c0, c0+cn), filter rows [r0, r1) (forward and backward-data: a software
// device's loop bound cuts the taps into pieces that accumulate), and in
// backward-weight the (image, output position) pairs [t0, t0+nt) of the
// N*P*Q it sums over. Indices are computed over the whole tensors; o_off,
// a_off, b_off are where element 0 of each tensor would sit in its bound
// window (mod 2^32). With `accumulate` the chunk adds onto the output.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; }; // W (forward, backward-data), dy (backward-weight)
layout(std430, binding = 2) readonly buffer B { float b[]; }; // x (forward, backward-weight), dy (backward-data)
layout(push_constant) uniform P {
    uint C, H, W, R, S, P_, Q, sh, sw, ph, pw, dh, dw, o_off, a_off, b_off;
    uint n0, nn, c0, cn, r0, r1, t0, nt, accumulate;
} p;

// The invocation's index over a 2-D grid of workgroups.
uint flat_id() { return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x; }

// Taps k in [k0, k1) with 0 <= o*st + k*d - pad < L: the ones at output
// position o that read inside the map (forward).
uvec2 taps_in(uint o, uint st, uint d, uint pad, uint L, uint k0, uint k1) {
    int lo = int(pad) - int(o * st), hi = int(L) - 1 + lo; // lo <= k*d <= hi
    if (hi < 0) return uvec2(0u);
    uint first = lo <= 0 ? 0u : (uint(lo) + d - 1u) / d;
    return uvec2(max(first, k0), min(uint(hi) / d + 1u, k1));
}

// Taps k in [k0, k1) through which input position i feeds an output in
// [0, O): 0 <= i + pad - k*d <= (O-1)*st (backward-data; the caller checks
// that the stride divides i + pad - k*d).
uvec2 taps_out(uint i, uint st, uint d, uint pad, uint O, uint k0, uint k1) {
    int hi = int(i + pad), lo = hi - int((O - 1u) * st); // lo <= k*d <= hi
    uint first = lo <= 0 ? 0u : (uint(lo) + d - 1u) / d;
    return uvec2(max(first, k0), min(uint(hi) / d + 1u, k1));
}
