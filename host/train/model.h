/* model.h -- assembling a model from registered components:
 * input -> encoder -> head -> loss (one input, one target), and the
 * optimizer. The full declarative model (several inputs and targets, an
 * aggregator) builds on the same calls. */
#ifndef CVL_TRAIN_MODEL_H
#define CVL_TRAIN_MODEL_H

#include <jansson.h>

#include "core/graph.h"
#include "plugins/registry.h"

/* A component reference: a name and its parameters (a JSON object or NULL). */
typedef struct cvl_component_ref {
    const char *name;
    const json_t *params;
} cvl_component_ref;

/* Calls a component's constructor on graph `g` with `inputs`; returns its
 * single output (or NULL with `e` set). */
cvl_tensor *cvl_model_apply(const cvl_registry *r, cvl_graph *g, cvl_kind kind, cvl_component_ref ref,
                            cvl_tensor *const *inputs, uint32_t n_inputs, int64_t target_dim, cvl_err *e);

/* Fills `spec` from an optimizer component. */
cvl_status cvl_model_optimizer(const cvl_registry *r, cvl_graph *g, cvl_component_ref ref,
                               cvl_optim_spec *spec, cvl_err *e);

typedef struct cvl_classifier {
    cvl_tensor *image;  /* input (N,C,H,W) f32 */
    cvl_tensor *labels; /* input (N) i32 */
    cvl_tensor *logits; /* (N, classes) */
    cvl_tensor *loss;   /* scalar */
} cvl_classifier;

/* image -> encoder -> head -> loss, for `classes` categories. */
cvl_status cvl_model_classifier(const cvl_registry *r, cvl_graph *g, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t classes, cvl_component_ref encoder, cvl_component_ref head,
                                cvl_component_ref loss, cvl_classifier *out, cvl_err *e);

#endif
