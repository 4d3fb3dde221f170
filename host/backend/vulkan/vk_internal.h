/* vk_internal.h -- the Vulkan backend's state, shared by vk_backend.c
 * (plan, run, transfers) and vk_record.c (which op each node records). */
#ifndef CVL_VK_INTERNAL_H
#define CVL_VK_INTERNAL_H

#include "backend/vulkan/ops.h"
#include "backend/vulkan/vk_backend.h"
#include "core/graph_internal.h"

#define CVL_VKB_MAX_SEQS 8

typedef struct cvl_vkb_recorded {
    int32_t first, last;
    cvl_vk_seq *seq;
} cvl_vkb_recorded;

typedef struct cvl_vkb {
    cvl_backend base;
    cvl_vk_device *dev;
    cvl_vk_buffer region[2]; /* 0: activation arena, 1: persistent */
    bool have_region[2];
    cvl_vk_buffer scalars;   /* 16 words, CVL_VK_SLOT_* */
    cvl_vk_buffer ones;      /* a row of ones for bias gradients */
    size_t ones_count;
    cvl_vk_buffer scratch;   /* partial sums of losses and grad_norm, CE's weight sum */
    size_t scratch_count;
    cvl_vkb_recorded seqs[CVL_VKB_MAX_SEQS];
    int n_seqs;
    size_t sizes[2], activations;
} cvl_vkb;

/* The tensor's bytes as a view (int64 tensors count two words an element). */
cvl_vk_view cvl_vkb_view(const cvl_vkb *b, const cvl_tensor *t);
/* Whether the backend can run node t; *why names what is missing. */
bool cvl_vkb_supported(const cvl_tensor *t, const char **why);
/* Floats of scratch the graph's nodes need (at least 1). */
uint64_t cvl_vkb_scratch_need(const cvl_vkb *b, const cvl_graph *g);
/* Rows of the ones vector the bias gradients need (at least 1). */
uint64_t cvl_vkb_ones_need(const cvl_graph *g);
/* Records node t's dispatches. */
cvl_status cvl_vkb_record(cvl_vkb *b, cvl_vk_seq *seq, const cvl_tensor *t, cvl_err *e);

#endif
