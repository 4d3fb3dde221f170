/* cpu_loss.c -- the losses on the CPU: cross-entropy on logits (label
 * smoothing and class weights with PyTorch's semantics), BCE with logits
 * (pos_weight), MSE, L1 and Huber, each the batch mean, and their
 * gradients. Accumulation is in double. */
#include "core/cpu_loss.h"

#include <math.h>
#include <string.h>

float cvl_cpu_loss_forward(const cvl_tensor *t, const float *x, const void *target, const float *w) {
    int kind = (int)t->ip[0];
    double arg = t->fp[0];
    const cvl_tensor *pred = t->src[0];
    if (kind == CVL_OP_CROSS_ENTROPY) {
        int64_t N = pred->shape[0], C = pred->shape[1];
        const int32_t *y = target;
        double total = 0, wsum = 0;
        for (int64_t i = 0; i < N; i++) {
            const float *z = x + i * C;
            float m = z[0];
            for (int64_t c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
            double se = 0;
            for (int64_t c = 0; c < C; c++) se += exp((double)z[c] - m);
            double lse = m + log(se);
            int32_t yi = y[i];
            if (yi < 0 || yi >= C) continue; /* checked by the data layer; never index out */
            double wy = w ? w[yi] : 1.0;
            double li = (1 - arg) * wy * (lse - z[yi]);
            if (arg > 0) {
                double sm = 0;
                for (int64_t c = 0; c < C; c++) sm += (w ? w[c] : 1.0) * (lse - z[c]);
                li += arg / (double)C * sm;
            }
            total += li;
            wsum += wy;
        }
        return (float)(wsum > 0 ? total / wsum : 0);
    }
    const float *y = target;
    size_t n = cvl_tensor_numel(pred);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i], l;
        switch (kind) {
        case CVL_OP_BCE_LOGITS: {
            double pw = arg > 0 ? arg : 1.0, xi = x[i];
            double sp_neg = xi < 0 ? -xi + log1p(exp(xi)) : log1p(exp(-xi)); /* softplus(-x) = -log sigmoid(x) */
            double sp_pos = sp_neg + xi;                                       /* softplus(x) = -log(1-sigmoid(x)) */
            l = pw * y[i] * sp_neg + (1 - y[i]) * sp_pos;
            break;
        }
        case CVL_OP_MSE: l = d * d; break;
        case CVL_OP_L1: l = fabs(d); break;
        default: l = fabs(d) < arg ? 0.5 * d * d : arg * (fabs(d) - 0.5 * arg); break;
        }
        total += l;
    }
    return (float)(total / (double)n);
}

void cvl_cpu_loss_backward(float *dx, const cvl_tensor *t, float dl, const float *x, const void *target, const float *w) {
    int kind = (int)t->ip[0];
    double arg = t->fp[0];
    const cvl_tensor *pred = t->src[1];
    if (kind == CVL_OP_CROSS_ENTROPY) {
        int64_t N = pred->shape[0], C = pred->shape[1];
        const int32_t *y = target;
        double wsum = 0;
        for (int64_t i = 0; i < N; i++)
            if (y[i] >= 0 && y[i] < C) wsum += w ? w[y[i]] : 1.0;
        double scale = wsum > 0 ? dl / wsum : 0;
        for (int64_t i = 0; i < N; i++) {
            const float *z = x + i * C;
            float *d = dx + i * C;
            int32_t yi = y[i];
            if (yi < 0 || yi >= C) {
                memset(d, 0, (size_t)C * sizeof *d);
                continue;
            }
            float m = z[0];
            for (int64_t c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
            double se = 0;
            for (int64_t c = 0; c < C; c++) se += exp((double)z[c] - m);
            double wy = w ? w[yi] : 1.0, wall = 0;
            if (arg > 0)
                for (int64_t c = 0; c < C; c++) wall += w ? w[c] : 1.0;
            for (int64_t c = 0; c < C; c++) {
                double p = exp((double)z[c] - m) / se;
                double g = (1 - arg) * wy * (p - (c == yi));
                if (arg > 0) g += arg / (double)C * (wall * p - (w ? w[c] : 1.0));
                d[c] = (float)(g * scale);
            }
        }
        return;
    }
    const float *y = target;
    size_t n = cvl_tensor_numel(pred);
    double scale = dl / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i], gi;
        switch (kind) {
        case CVL_OP_BCE_LOGITS: {
            double pw = arg > 0 ? arg : 1.0, s = 1.0 / (1.0 + exp(-(double)x[i]));
            gi = pw * y[i] * (s - 1.0) + (1 - y[i]) * s;
            break;
        }
        case CVL_OP_MSE: gi = 2 * d; break;
        case CVL_OP_L1: gi = d > 0 ? 1 : (d < 0 ? -1 : 0); break;
        default: gi = fabs(d) < arg ? d : arg * (d > 0 ? 1 : -1); break;
        }
        dx[i] = (float)(gi * scale);
    }
}
