/* exec.c -- command sequence recording with hazard-tracked barriers. */
#include "backend/vulkan/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETS_PER_POOL 128

typedef struct span {
    VkBuffer buffer;
    VkDeviceSize lo, hi;
} span;

typedef struct span_list {
    span *v;
    uint32_t n, cap;
} span_list;

struct cvl_vk_seq {
    cvl_vk_device *dev;
    char label[96];
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool *pools;
    uint32_t n_pools, sets_in_last;
    span_list reads, writes; /* since the last barrier */
    bool ended;
    cvl_vk_seq_stats stats;
    char ops[256]; /* the first dispatches' names, for errors */
};

static bool push_span(span_list *l, span s) {
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 16;
        span *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

static bool overlaps(const span_list *l, span s) {
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].buffer == s.buffer && l->v[i].lo < s.hi && s.lo < l->v[i].hi) return true;
    return false;
}

static void barrier(cvl_vk_seq *seq, VkPipelineStageFlags src_stage, VkAccessFlags src,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src, .dstAccessMask = dst};
    seq->dev->fn.vkCmdPipelineBarrier(seq->cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

cvl_status cvl_vk_seq_new(cvl_vk_seq **out, cvl_vk_device *dev, const char *label, cvl_err *err) {
    *out = NULL;
    cvl_status st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    cvl_vk_seq *seq = calloc(1, sizeof *seq);
    if (seq == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    seq->dev = dev;
    snprintf(seq->label, sizeof seq->label, "%s", label ? label : "sequence");
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = dev->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VkResult r = dev->fn.vkAllocateCommandBuffers(dev->device, &ai, &seq->cb);
    if (r != VK_SUCCESS) seq->cb = VK_NULL_HANDLE;
    if (r == VK_SUCCESS) r = dev->fn.vkCreateFence(dev->device, &fi, NULL, &seq->fence);
    if (r == VK_SUCCESS) r = dev->fn.vkBeginCommandBuffer(seq->cb, &bi);
    if (r != VK_SUCCESS) {
        st = cvl_vk_check(dev, r, err, seq->label);
        cvl_vk_seq_free(seq);
        return st;
    }
    /* Against the previous submission (a replay of this very sequence, an
     * upload through staging): everything written before is visible. */
    barrier(seq, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    *out = seq;
    return CVL_OK;
}

void cvl_vk_seq_free(cvl_vk_seq *seq) {
    if (seq == NULL) return;
    cvl_vk_device *dev = seq->dev;
    /* A sequence that timed out may still be executing: wait for the queue
     * (a hung device is reported lost by the driver and returns at once). */
    if (dev->lost) dev->fn.vkDeviceWaitIdle(dev->device);
    {
        for (uint32_t i = 0; i < seq->n_pools; i++) dev->fn.vkDestroyDescriptorPool(dev->device, seq->pools[i], NULL);
        if (seq->fence) dev->fn.vkDestroyFence(dev->device, seq->fence, NULL);
        if (seq->cb) dev->fn.vkFreeCommandBuffers(dev->device, dev->pool, 1, &seq->cb);
    }
    free(seq->pools);
    free(seq->reads.v);
    free(seq->writes.v);
    free(seq);
}

cvl_vk_device *cvl_vk_seq_device(cvl_vk_seq *seq) { return seq->dev; }

cvl_vk_seq_stats cvl_vk_seq_get_stats(const cvl_vk_seq *seq) { return seq->stats; }

static cvl_status new_set(VkDescriptorSet *out, cvl_vk_seq *seq, const cvl_vk_pipeline *p, cvl_err *err) {
    cvl_vk_device *dev = seq->dev;
    if (seq->n_pools == 0 || seq->sets_in_last == SETS_PER_POOL) {
        VkDescriptorPool *pools = realloc(seq->pools, (seq->n_pools + 1) * sizeof *pools);
        if (pools == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
        seq->pools = pools;
        VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * CVL_VK_MAX_BINDINGS};
        VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = SETS_PER_POOL, .poolSizeCount = 1, .pPoolSizes = &size};
        VkResult r = dev->fn.vkCreateDescriptorPool(dev->device, &ci, NULL, &seq->pools[seq->n_pools]);
        if (r != VK_SUCCESS) return cvl_vk_check(dev, r, err, "vkCreateDescriptorPool");
        seq->n_pools++;
        seq->sets_in_last = 0;
    }
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = seq->pools[seq->n_pools - 1], .descriptorSetCount = 1,
                                      .pSetLayouts = &p->set_layout};
    VkResult r = dev->fn.vkAllocateDescriptorSets(dev->device, &ai, out);
    seq->sets_in_last++;
    return cvl_vk_check(dev, r, err, "vkAllocateDescriptorSets");
}

/* A barrier if this dispatch depends on anything since the last one. */
static cvl_status track(cvl_vk_seq *seq, const cvl_vk_binding *b, uint32_t n, cvl_err *err) {
    bool need = false;
    for (uint32_t i = 0; i < n && !need; i++) {
        span s = {b[i].buffer, b[i].offset, b[i].offset + b[i].range};
        need = overlaps(&seq->writes, s) || (b[i].write && overlaps(&seq->reads, s));
    }
    if (need) {
        barrier(seq, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        seq->stats.barriers++;
        seq->reads.n = seq->writes.n = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        span s = {b[i].buffer, b[i].offset, b[i].offset + b[i].range};
        if (!push_span(b[i].write ? &seq->writes : &seq->reads, s))
            return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    }
    return CVL_OK;
}

cvl_status cvl_vk_seq_dispatch(cvl_vk_seq *seq, const cvl_vk_pipeline *p, const cvl_vk_binding *b,
                               const void *push, const uint32_t groups[3], const char *what, cvl_err *err) {
    cvl_vk_device *dev = seq->dev;
    if (seq->ended) return cvl_err_set(err, CVL_ERR_INTERNAL, "%s: %s recorded after the end", seq->label, what);
    cvl_status st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    for (int i = 0; i < 3; i++)
        if (groups[i] == 0 || groups[i] > dev->info.max_group_count[i])
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s: %u workgroups along %c; %s allows 1..%u", what,
                               groups[i], "xyz"[i], dev->info.name, dev->info.max_group_count[i]);
    for (uint32_t i = 0; i < p->n_buffers; i++)
        if (b[i].range > dev->info.max_storage_range || b[i].offset % dev->info.storage_align)
            return cvl_err_set(err, CVL_ERR_INTERNAL, "%s: binding %u (%llu bytes at %llu) is not bindable", what,
                               i, (unsigned long long)b[i].range, (unsigned long long)b[i].offset);
    VkDescriptorSet set;
    if ((st = new_set(&set, seq, p, err)) != CVL_OK) return st;
    VkDescriptorBufferInfo info[CVL_VK_MAX_BINDINGS];
    VkWriteDescriptorSet w[CVL_VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < p->n_buffers; i++) {
        info[i] = (VkDescriptorBufferInfo){b[i].buffer, b[i].offset, b[i].range};
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = i,
                                      .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &info[i]};
    }
    dev->fn.vkUpdateDescriptorSets(dev->device, p->n_buffers, w, 0, NULL);
    if ((st = track(seq, b, p->n_buffers, err)) != CVL_OK) return st;
    dev->fn.vkCmdBindPipeline(seq->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    dev->fn.vkCmdBindDescriptorSets(seq->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    dev->fn.vkCmdPushConstants(seq->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size, push);
    dev->fn.vkCmdDispatch(seq->cb, groups[0], groups[1], groups[2]);
    size_t len = strlen(seq->ops);
    if (seq->stats.dispatches < 4 && len + 2 < sizeof seq->ops)
        snprintf(seq->ops + len, sizeof seq->ops - len, "%s%s", len ? ", " : "", what);
    else if (seq->stats.dispatches == 4 && len + 6 < sizeof seq->ops)
        snprintf(seq->ops + len, sizeof seq->ops - len, ", ...");
    seq->stats.dispatches++;
    return CVL_OK;
}

cvl_status cvl_vk_seq_end(cvl_vk_seq *seq, cvl_err *err) {
    if (seq->ended) return CVL_OK;
    barrier(seq, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
    seq->ended = true;
    return cvl_vk_check(seq->dev, seq->dev->fn.vkEndCommandBuffer(seq->cb), err, seq->label);
}

cvl_status cvl_vk_seq_run(cvl_vk_seq *seq, cvl_err *err) {
    cvl_vk_device *dev = seq->dev;
    cvl_status st = cvl_vk_device_usable(dev, err);
    if (st == CVL_OK && !seq->ended) st = cvl_vk_seq_end(seq, err);
    if (st != CVL_OK) return st;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &seq->cb};
    VkResult r = dev->fn.vkResetFences(dev->device, 1, &seq->fence);
    if (r == VK_SUCCESS) r = dev->fn.vkQueueSubmit(dev->queue, 1, &si, seq->fence);
    if (r == VK_SUCCESS) r = dev->fn.vkWaitForFences(dev->device, 1, &seq->fence, VK_TRUE, dev->fence_timeout_ns);
    if (r == VK_SUCCESS) return CVL_OK;
    if (r == VK_TIMEOUT) {
        dev->lost = true;
        snprintf(dev->lost_why, sizeof dev->lost_why, "%s timed out after %.3g s", seq->label,
                 (double)dev->fence_timeout_ns * 1e-9);
        return cvl_err_set(err, CVL_ERR_INTERNAL, "%s: %s timed out after %.3g s (%s)", dev->info.name,
                           seq->label, (double)dev->fence_timeout_ns * 1e-9, seq->ops);
    }
    char what[400];
    snprintf(what, sizeof what, "%s (%s)", seq->label, seq->ops);
    return cvl_vk_check(dev, r, err, what);
}
