// matmul_gemm.glsl: the body of matmul.comp and matmul_f16.comp, which
// define IN_T (the storage type of A and B: float, or float16_t -- 16-bit
// storage, no fp16 arithmetic: each element is widened to fp32 as it enters
// shared memory, products accumulate in fp32 with the same tiling and fma
// order, C is fp32; offsets and strides count halves for A and B) and then
// include this. C = op(A) * op(B), register-tiled through shared memory.
// C is (M,N) with row stride ldc; op(A) is (M,K): A stored (M,K) row stride
// lda, or (K,M) when TRANS_A; op(B) is (K,N): B stored (K,N), or (N,K) when
// TRANS_B. gl_WorkGroupID.z walks the batch (strides sa, sb, sc; 0 shares
// an operand). Each workgroup computes a BM x BN tile of C; each invocation
// a TM x TN block, strided across the tile so that neighbouring invocations
// touch neighbouring addresses. accumulate != 0: C += op(A) op(B).
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 16;
layout(constant_id = 6) const uint TM = 4;
layout(constant_id = 7) const uint TN = 4;
layout(constant_id = 8) const bool TRANS_A = false;
layout(constant_id = 9) const bool TRANS_B = false;

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { IN_T a[]; };
layout(std430, binding = 2) readonly buffer B { IN_T b[]; };
layout(push_constant) uniform P {
    uint M, N, K, lda, ldb, ldc, sa, sb, sc, a_off, b_off, c_off, accumulate;
} p;

shared float As[BK * BM]; // As[k * BM + i]
shared float Bs[BK * BN]; // Bs[k * BN + j]

void main() {
    const uint RT = BM / TM, CT = BN / TN, NT = RT * CT;
    uint tid = gl_LocalInvocationID.x;
    uint tr = tid / CT, tc = tid % CT;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint ab = p.a_off + gl_WorkGroupID.z * p.sa;
    uint bb = p.b_off + gl_WorkGroupID.z * p.sb;
    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    float ar[TM], br[TN];
    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        for (uint idx = tid; idx < BK * BM; idx += NT) {
            // load along the stored rows, so that the reads coalesce
            uint i = TRANS_A ? idx % BM : idx / BK;
            uint k = TRANS_A ? idx / BM : idx % BK;
            uint gi = m0 + i, gk = k0 + k;
            float v = 0.0;
            if (gi < p.M && gk < p.K) v = float(a[ab + (TRANS_A ? gk * p.lda + gi : gi * p.lda + gk)]);
            As[k * BM + i] = v;
        }
        for (uint idx = tid; idx < BK * BN; idx += NT) {
            uint j = TRANS_B ? idx / BK : idx % BN;
            uint k = TRANS_B ? idx % BK : idx / BN;
            uint gj = n0 + j, gk = k0 + k;
            float v = 0.0;
            if (gj < p.N && gk < p.K) v = float(b[bb + (TRANS_B ? gj * p.ldb + gk : gk * p.ldb + gj)]);
            Bs[k * BN + j] = v;
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
    uint cb = p.c_off + gl_WorkGroupID.z * p.sc;
    for (uint r = 0; r < TM; r++) {
        uint gi = m0 + tr + r * RT;
        if (gi >= p.M) continue;
        for (uint q = 0; q < TN; q++) {
            uint gj = n0 + tc + q * CT;
            if (gj >= p.N) continue;
            uint at = cb + gi * p.ldc + gj;
            c[at] = p.accumulate != 0 ? c[at] + acc[r * TN + q] : acc[r * TN + q];
        }
    }
}
