/* cpu_loss.h -- loss nodes (CVL_OPK_LOSS, CVL_OPK_LOSS_BWD) on the CPU. */
#ifndef CVL_CORE_CPU_LOSS_H
#define CVL_CORE_CPU_LOSS_H

#include "core/graph.h"

/* The loss of node t (a CVL_OPK_LOSS) for prediction x, target (int32
 * labels for cross-entropy, floats otherwise) and optional class weights. */
float cvl_cpu_loss_forward(const cvl_tensor *t, const float *x, const void *target, const float *w);
/* dx = dl * d loss / d x for node t (a CVL_OPK_LOSS_BWD: src dl, x, target, w). */
void cvl_cpu_loss_backward(float *dx, const cvl_tensor *t, float dl, const float *x, const void *target, const float *w);

#endif
