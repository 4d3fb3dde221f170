// conv2d_gemm.glsl: the body of the convolution shaders, one per direction
// (conv2d.comp, conv2d_bwd_data.comp, conv2d_bwd_weight.comp) and their
// float16-storage twins (*_f16.comp), which define MODE and IN_T and then
// include this. Convolution as an implicit GEMM, register-tiled through
// shared memory like matmul.comp; the im2col matrix is never stored --
// each tile load computes which input element it stands for. Per group g:
//   MODE 0 forward:       y_n (Kg, PQ)   = W_g (Kg, CgRS)   . col_n (CgRS, PQ)     z = (n-n0)*gn + g-g0
//   MODE 1 backward-data: dx_n (Cg, HW)  = W_gT (Cg, KgRS) . dycol_n (KgRS, HW)   z = (n-n0)*gn + g-g0
//   MODE 2 backward-wt:   dW_g (Kg, CgRS) = dy_g (Kg, N*PQ) . colT (N*PQ, CgRS)    z = g-g0
// Tensors: x (N,C,H,W), W (K,C/groups,R,S), y (N,K,P,Q). Out-of-range and
// padding positions load 0. IN_T is the storage type of the two inputs
// (a, b): float, or float16_t (16-bit storage, no fp16 arithmetic: each
// element is widened to fp32 as it enters shared memory, products
// accumulate in fp32 with the same tiling and fma order, the output is
// fp32; offsets count halves for a and b).
//
// One dispatch is one chunk (op_conv2d.c splits a convolution so that
// every window fits maxStorageBufferRange): images [n0, n0+N), groups
// [g0, g0+gn), and within a group the output channels [k0, k0+kn) -- the
// GEMM's rows in modes 0 and 2, a slice of the reduction in mode 1. In
// mode 2, whose reduction runs over (image, output position) pairs, n0 and
// N count those pairs: pairs [n0, n0+N) of the N*P*Q. Indices
// are computed over the whole tensors; o_off, a_off, b_off are where
// element 0 of each tensor would sit in its bound window (mod 2^32, so a
// window starting past element 0 works with uint wrap-around). With
// `accumulate` the chunk adds onto the output (later chunks of a split
// reduction: mode 2 over images, mode 1 over channels).
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 8;
layout(constant_id = 6) const uint TM = 4;
layout(constant_id = 7) const uint TN = 4;

layout(std430, binding = 0) buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer A { IN_T a[]; }; // W (modes 0, 1), dy (mode 2)
layout(std430, binding = 2) readonly buffer B { IN_T b[]; }; // x (modes 0, 2), dy (mode 1)
layout(push_constant) uniform P {
    uint N, C, H, W, K, R, S, P_, Q, sh, sw, ph, pw, dh, dw, groups, o_off, a_off, b_off;
    uint n0, g0, gn, k0, kn, accumulate;
} p;

shared float As[BK * BM];
shared float Bs[BK * BN];

uint Cg() { return p.C / p.groups; }
uint Kg() { return p.K / p.groups; }

// The GEMM's sizes for this mode and chunk.
void dims(out uint M, out uint Nn, out uint Kd) {
    if (MODE == 0) { M = p.kn; Nn = p.P_ * p.Q; Kd = Cg() * p.R * p.S; }
    else if (MODE == 1) { M = Cg(); Nn = p.H * p.W; Kd = p.kn * p.R * p.S; }
    else { M = p.kn; Nn = Cg() * p.R * p.S; Kd = p.N; }
}

// x[n][g*Cg + c][h][w] at output position (oh, ow) through kernel tap (r, s); 0 in padding.
float x_at(uint n, uint g, uint c, uint oh, uint ow, uint r, uint s) {
    int h = int(oh * p.sh + r * p.dh) - int(p.ph), w = int(ow * p.sw + s * p.dw) - int(p.pw);
    if (h < 0 || w < 0 || h >= int(p.H) || w >= int(p.W)) return 0.0;
    return float(b[p.b_off + ((n * p.C + g * Cg() + c) * p.H + uint(h)) * p.W + uint(w)]);
}

float load_a(uint n, uint g, uint i, uint k) {
    if (MODE == 0) return float(a[p.a_off + (g * Kg() + p.k0 + i) * Cg() * p.R * p.S + k]); // W_g[k0+i][k]
    if (MODE == 1) {                                                                 // W_g[k0+kk][i][r][s]
        uint rs = p.R * p.S, kk = p.k0 + k / rs, t = k % rs;
        return float(a[p.a_off + ((g * Kg() + kk) * Cg() + i) * rs + t]);
    }
    uint pq = p.P_ * p.Q, t = p.n0 + k, nn = t / pq, j = t % pq;                     // dy[nn][g*Kg+k0+i][j]
    return float(a[p.a_off + (nn * p.K + g * Kg() + p.k0 + i) * pq + j]);
}

float load_b(uint n, uint g, uint k, uint j) {
    if (MODE == 0) {                                                                 // col_n[k][j]
        uint rs = p.R * p.S, c = k / rs, r = (k % rs) / p.S, s = k % p.S;
        return x_at(n, g, c, j / p.Q, j % p.Q, r, s);
    }
    if (MODE == 1) {                                                                 // dy_n[k0+kk][oh][ow] feeding (h, w)
        uint rs = p.R * p.S, kk = p.k0 + k / rs, r = (k % rs) / p.S, s = k % p.S;
        int hh = int(j / p.W) + int(p.ph) - int(r * p.dh), ww = int(j % p.W) + int(p.pw) - int(s * p.dw);
        if (hh < 0 || ww < 0 || hh % int(p.sh) != 0 || ww % int(p.sw) != 0) return 0.0;
        uint oh = uint(hh) / p.sh, ow = uint(ww) / p.sw;
        if (oh >= p.P_ || ow >= p.Q) return 0.0;
        return float(b[p.b_off + ((n * p.K + g * Kg() + kk) * p.P_ + oh) * p.Q + ow]);
    }
    uint pq = p.P_ * p.Q, t = p.n0 + k, nn = t / pq, jj = t % pq;                    // col[(nn, jj)][j]
    uint rs = p.R * p.S, c = j / rs, r = (j % rs) / p.S, s = j % p.S;
    return x_at(nn, g, c, jj / p.Q, jj % p.Q, r, s);
}

void main() {
    const uint RT = BM / TM, CT = BN / TN, NT = RT * CT;
    uint M, Nn, Kd;
    dims(M, Nn, Kd);
    uint z = gl_WorkGroupID.z;
    uint g = p.g0 + (MODE == 2 ? z : z % p.gn), n = MODE == 2 ? 0 : p.n0 + z / p.gn;
    uint tid = gl_LocalInvocationID.x, tr = tid / CT, tc = tid % CT;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    float ar[TM], br[TN];
    for (uint k0 = 0; k0 < Kd; k0 += BK) {
        for (uint idx = tid; idx < BK * BM; idx += NT) {
            uint i = idx / BK, k = idx % BK, gi = m0 + i, gk = k0 + k;
            As[k * BM + i] = (gi < M && gk < Kd) ? load_a(n, g, gi, gk) : 0.0;
        }
        for (uint idx = tid; idx < BK * BN; idx += NT) {
            uint j = idx % BN, k = idx / BN, gj = n0 + j, gk = k0 + k;
            Bs[k * BN + j] = (gj < Nn && gk < Kd) ? load_b(n, g, gk, gj) : 0.0;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            for (uint r = 0; r < TM; r++) ar[r] = As[k * BM + tr + r * RT];
            for (uint q = 0; q < TN; q++) br[q] = Bs[k * BN + tc + q * CT];
            for (uint r = 0; r < TM; r++)
                for (uint q = 0; q < TN; q++) acc[r * TN + q] = fma(ar[r], br[q], acc[r * TN + q]);
        }
        barrier();
    }
    for (uint r = 0; r < TM; r++) {
        uint gi = m0 + tr + r * RT;
        if (gi >= M) continue;
        for (uint q = 0; q < TN; q++) {
            uint gj = n0 + tc + q * CT;
            if (gj >= Nn) continue;
            uint at;
            if (MODE == 0) at = ((n * p.K + g * Kg() + p.k0 + gi) * p.P_ * p.Q) + gj;
            else if (MODE == 1) at = ((n * p.C + g * Cg() + gi) * p.H * p.W) + gj;
            else at = (g * Kg() + p.k0 + gi) * Cg() * p.R * p.S + gj;
            at += p.o_off;
            o[at] = p.accumulate != 0 ? o[at] + acc[r * TN + q] : acc[r * TN + q];
        }
    }
}
