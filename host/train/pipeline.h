/* pipeline.h -- the declarative model bound to a dataset.
 *
 *   inputs -> encoders -> aggregator -> heads -> losses (weighted sum)
 *
 * The config's `inputs` and `targets` name the dataset's inputs and targets
 * (an idx/cifar/folder dataset has the input "image" and the target
 * "label"; a csv dataset has its columns). Without them the model is the
 * classic one: the dataset's first input through `image_backbone`, its first
 * target through `head` and `loss`. A net is one graph for one batch size;
 * the trainer keeps one for training and one or two for evaluation.
 *
 * Names: with one input and one target the parameters carry the
 * components' own names (conv1.weight, fc2.weight: PyTorch's names for the
 * reference models). With several, each encoder's parameters are prefixed
 * with its input's name and each head's with its target's name
 * ("image.conv1.weight", "coarse.fc.weight"), and the aggregator's with
 * "aggregator.", so that two components of one kind never collide. */
#ifndef CVL_TRAIN_PIPELINE_H
#define CVL_TRAIN_PIPELINE_H

#include "core/backend.h"
#include "core/graph.h"
#include "data/data_config.h"
#include "plugins/registry.h"
#include "train/config.h"

#define CVL_NET_MAX 8

typedef enum cvl_target_kind {
    CVL_TARGET_CLASS,      /* int32 label; prediction (N, K) logits */
    CVL_TARGET_MULTILABEL, /* float (N, K) multi-hot; logits */
    CVL_TARGET_BOOLEAN,    /* float (N, 1) 0/1; logit */
    CVL_TARGET_NUMERICAL,  /* float (N, F) */
} cvl_target_kind;

typedef struct cvl_net_input {
    char name[64];
    int ds_index;      /* the dataset input it is fed from */
    cvl_tensor *x;     /* graph input */
    int64_t per_sample; /* floats per sample */
} cvl_net_input;

typedef struct cvl_net_target {
    char name[64];
    int ds_index; /* the dataset target */
    cvl_target_kind kind;
    int64_t dim;       /* classes, labels or values */
    double weight;     /* loss weight */
    cvl_tensor *y;     /* graph input: the target */
    cvl_tensor *pred;  /* head output (N, dim) */
    cvl_tensor *loss;  /* scalar */
} cvl_net_target;

typedef struct cvl_net {
    cvl_graph *g;
    int64_t batch;
    int n_inputs, n_targets;
    cvl_net_input in[CVL_NET_MAX];
    cvl_net_target tg[CVL_NET_MAX];
    cvl_tensor *loss; /* the weighted sum */
    int32_t n_fwd;    /* nodes of the forward pass (eval runs [0, n_fwd)) */
} cvl_net;

/* Builds the net for `batch` samples of the data's training split (its
 * declarations, and the image shape after the transforms); with
 * `training`, the backward pass and the optimizer too. Errors name the
 * config file and key path. */
cvl_status cvl_net_build(cvl_net *net, const cvl_registry *reg, const cvl_config *cfg, const cvl_data *data,
                         int64_t batch, bool training, cvl_err *e);
void cvl_net_free(cvl_net *net);

/* Writes the first n samples of `b` into the net's inputs and targets (a
 * partial batch is zero-padded to the net's batch). */
cvl_status cvl_net_feed(const cvl_net *net, cvl_backend *be, const cvl_batch *b, cvl_err *e);

/* Copies every parameter and buffer (not optimizer state) from one
 * backend's graph to another's, by name. */
cvl_status cvl_net_copy_weights(cvl_backend *dst, const cvl_net *to, cvl_backend *src, const cvl_net *from,
                                 cvl_err *e);

const char *cvl_target_kind_name(cvl_target_kind k);

#endif
