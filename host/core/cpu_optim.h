/* cpu_optim.h -- the optimizer updates on the CPU (torch.optim's formulas),
 * split across the thread pool by element ranges: every element's update
 * is independent, so results do not depend on the thread count. */
#ifndef CVL_CORE_CPU_OPTIM_H
#define CVL_CORE_CPU_OPTIM_H

#include <stddef.h>

#include "core/backend.h"
#include "core/cpu_pool.h"
#include "core/graph_internal.h"

/* op: CVL_OPK_SGD, _ADAM or _RMSPROP; p (n) updated in place from grad
 * scaled by `clip`; state: the node's state sources in order (SGD: momentum
 * buffer; Adam: exp_avg, exp_avg_sq, max_exp_avg_sq; RMSprop: square_avg,
 * momentum buffer, grad_avg; only those the spec uses). */
void cvl_cpu_optim_step(int op, const cvl_optim_spec *o, const cvl_step_scalars *s, float *p, const float *grad,
                        float *const state[3], size_t n, float clip, cvl_pool *pool);

#endif
