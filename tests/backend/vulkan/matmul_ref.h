/* matmul_ref.h -- shared pieces of the Vulkan matmul tests (vk_ops,
 * vk_matmul_f16): the inputs of a cvl_vk_matmul_args case and the
 * double-precision reference. */
#ifndef CVL_TEST_MATMUL_REF_H
#define CVL_TEST_MATMUL_REF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vk_test.h"

/* A case's operands: A (batch or 1, op(A) M x K), B (batch or 1, op(B)
 * K x N) and C0 (batch, M x N), deterministic values in [-1, 1). */
typedef struct matmul_ref_inputs {
    uint32_t batch; /* g->batch, or 1 */
    size_t na, nb, nc;
    float *a, *b, *c0;
} matmul_ref_inputs;

static inline matmul_ref_inputs matmul_ref_inputs_new(const cvl_vk_matmul_args *g) {
    matmul_ref_inputs in = {.batch = g->batch ? g->batch : 1};
    in.na = (size_t)(g->share_a ? 1 : in.batch) * g->M * g->K;
    in.nb = (size_t)(g->share_b ? 1 : in.batch) * g->K * g->N;
    in.nc = (size_t)in.batch * g->M * g->N;
    in.a = malloc(in.na * 4), in.b = malloc(in.nb * 4), in.c0 = malloc(in.nc * 4);
    vk_test_fill_random(in.a, in.na, g->M + 7 * g->K);
    vk_test_fill_random(in.b, in.nb, g->N + 11 * g->K);
    vk_test_fill_random(in.c0, in.nc, 5);
    return in;
}

static inline void matmul_ref_inputs_free(matmul_ref_inputs *in) {
    free(in->a), free(in->b), free(in->c0);
    in->a = in->b = in->c0 = NULL;
}

/* want (batch, M, N) = op(A) op(B) [+ C0] in doubles. */
static inline void matmul_ref(double *want, const float *a, const float *b, const float *c0,
                              const cvl_vk_matmul_args *g) {
    uint32_t B = g->batch ? g->batch : 1;
    for (uint32_t z = 0; z < B; z++) {
        const float *az = a + (g->share_a ? 0 : (size_t)z * g->M * g->K);
        const float *bz = b + (g->share_b ? 0 : (size_t)z * g->K * g->N);
        for (uint32_t i = 0; i < g->M; i++)
            for (uint32_t j = 0; j < g->N; j++) {
                double s = g->accumulate ? c0[((size_t)z * g->M + i) * g->N + j] : 0;
                for (uint32_t k = 0; k < g->K; k++) {
                    double x = g->trans_a ? az[(size_t)k * g->M + i] : az[(size_t)i * g->K + k];
                    double y = g->trans_b ? bz[(size_t)j * g->K + k] : bz[(size_t)k * g->N + j];
                    s += x * y;
                }
                want[((size_t)z * g->M + i) * g->N + j] = s;
            }
    }
}

/* "MxNxK[ A^T][ B^T] batch B[ shared B][ +=]", as the CHECK lines name a case. */
static inline const char *matmul_ref_name(char *buf, size_t size, const cvl_vk_matmul_args *g) {
    snprintf(buf, size, "%ux%ux%u%s%s batch %u%s%s", g->M, g->N, g->K, g->trans_a ? " A^T" : "",
             g->trans_b ? " B^T" : "", g->batch ? g->batch : 1, g->share_b ? " shared B" : "",
             g->accumulate ? " +=" : "");
    return buf;
}

#endif
