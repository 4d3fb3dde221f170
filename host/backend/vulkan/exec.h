/* exec.h -- recorded command sequences: record once, replay every step.
 *
 * A sequence is one primary command buffer. Dispatches are recorded in
 * order; the recorder tracks, per buffer range, what has been read and
 * written since the last barrier and inserts one global memory barrier
 * only when a dispatch reads what an earlier one wrote, or writes what an
 * earlier one read or wrote. Independent dispatches (two fills, the chunks
 * of one split op) run back to back with no barrier between them. Every
 * sequence also opens with a barrier against the previous submission and
 * closes with one that makes its writes visible to the host.
 *
 * Per-step scalars (learning rate, step count) live in a small buffer the
 * kernels read (fill.comp shows how); the host rewrites it between replays,
 * so a schedule never needs a re-record.
 *
 * Errors: cvl_vk_seq_run waits on a fence with the device's timeout. A
 * timeout or a lost device fails with the sequence's label and its
 * dispatches ("matmul 64x33x17, ..."), and the device refuses all later
 * work instead of hanging. Not thread-safe: one sequence records at a time
 * per device. */
#ifndef CVL_VK_EXEC_H
#define CVL_VK_EXEC_H

#include "backend/vulkan/memory.h"
#include "backend/vulkan/pipeline.h"

/* A bound window of a buffer. */
typedef struct cvl_vk_binding {
    VkBuffer buffer;
    VkDeviceSize offset, range;
    bool write;
} cvl_vk_binding;

typedef struct cvl_vk_seq cvl_vk_seq;

cvl_status cvl_vk_seq_new(cvl_vk_seq **out, cvl_vk_device *dev, const char *label, cvl_err *err);
void cvl_vk_seq_free(cvl_vk_seq *seq);

cvl_vk_device *cvl_vk_seq_device(cvl_vk_seq *seq);

/* Records one dispatch of `p` over groups[3] workgroups with bindings
 * b[0..p->n_buffers) and push constants of p->push_size bytes. `what`
 * names the op and its sizes for error messages. */
cvl_status cvl_vk_seq_dispatch(cvl_vk_seq *seq, const cvl_vk_pipeline *p, const cvl_vk_binding *b,
                               const void *push, const uint32_t groups[3], const char *what, cvl_err *err);

/* Ends recording; after this the sequence can only be run. */
cvl_status cvl_vk_seq_end(cvl_vk_seq *seq, cvl_err *err);

/* Submits and waits (with the device's timeout). May be called any number
 * of times; the host may change buffers between calls. */
cvl_status cvl_vk_seq_run(cvl_vk_seq *seq, cvl_err *err);

typedef struct cvl_vk_seq_stats {
    uint32_t dispatches;
    uint32_t barriers; /* between dispatches; the opening and closing ones are not counted */
} cvl_vk_seq_stats;
cvl_vk_seq_stats cvl_vk_seq_get_stats(const cvl_vk_seq *seq);

#endif
