/* cpu_optim.c -- SGD, Adam/AdamW, RMSprop updates (see cpu_optim.h). */
#include "core/cpu_optim.h"

#include <math.h>

typedef struct optim_job {
    int op;
    const cvl_optim_spec *o;
    const cvl_step_scalars *s;
    float *p, *st[3];
    const float *gr;
    float cc;
} optim_job;

static void optim_part(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    const optim_job *j = ctx;
    const cvl_optim_spec *o = j->o;
    const cvl_step_scalars *s = j->s;
    float *p = j->p, cc = j->cc, lr = (float)s->lr, wd = (float)o->weight_decay;
    const float *gr = j->gr;
    if (j->op == CVL_OPK_SGD) {
        float *buf = o->momentum > 0 ? j->st[0] : NULL;
        float mom = (float)o->momentum, damp = (float)o->dampening;
        for (int64_t i = b; i < e; i++) {
            float gi = gr[i] * cc + wd * p[i];
            if (buf) {
                buf[i] = s->step <= 1 ? gi : mom * buf[i] + (1 - damp) * gi;
                gi = o->nesterov ? gi + mom * buf[i] : buf[i];
            }
            p[i] -= lr * gi;
        }
    } else if (j->op == CVL_OPK_ADAM) {
        float *m = j->st[0], *v = j->st[1], *vmax = o->amsgrad ? j->st[2] : NULL;
        float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
        double bc1 = 1 - pow(o->beta1, (double)s->step), bc2 = 1 - pow(o->beta2, (double)s->step);
        float step_size = (float)(s->lr / bc1), sq_bc2 = (float)sqrt(bc2);
        for (int64_t i = b; i < e; i++) {
            float gi = gr[i] * cc;
            if (o->decoupled) p[i] *= 1 - lr * wd;
            else gi += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            float vv = v[i];
            if (vmax) {
                vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
                vv = vmax[i];
            }
            p[i] -= step_size * m[i] / (sqrtf(vv) / sq_bc2 + eps);
        }
    } else {
        int k = 0;
        float *sq = j->st[k++];
        float *buf = o->momentum > 0 ? j->st[k++] : NULL;
        float *ga = o->centered ? j->st[k++] : NULL;
        float a = (float)o->alpha, eps = (float)o->eps, mom = (float)o->momentum;
        for (int64_t i = b; i < e; i++) {
            float gi = gr[i] * cc + wd * p[i];
            sq[i] = a * sq[i] + (1 - a) * gi * gi;
            float avg;
            if (ga) {
                ga[i] = a * ga[i] + (1 - a) * gi;
                avg = sqrtf(sq[i] - ga[i] * ga[i]) + eps;
            } else {
                avg = sqrtf(sq[i]) + eps;
            }
            if (buf) {
                buf[i] = mom * buf[i] + gi / avg;
                p[i] -= lr * buf[i];
            } else {
                p[i] -= lr * gi / avg;
            }
        }
    }
}

void cvl_cpu_optim_step(int op, const cvl_optim_spec *o, const cvl_step_scalars *s, float *p, const float *grad,
                        float *const state[3], size_t n, float clip, cvl_pool *pool) {
    optim_job j = {op, o, s, p, {state[0], state[1], state[2]}, grad, clip};
    /* small tensors (biases, BN parameters) are not worth a wake-up */
    if (n < 16384) optim_part(&j, 0, (int64_t)n, 0);
    else cvl_pool_for(pool, (int64_t)n, optim_part, &j);
}
