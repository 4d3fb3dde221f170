/* memory.h -- device memory: a few large blocks, sub-allocated.
 *
 * Each block is one VkDeviceMemory with one VkBuffer bound over all of it,
 * so a tensor is (buffer, offset, size) and binding it costs a descriptor,
 * not an allocation. Blocks are block_size (256 MiB, capped by the device's
 * maxMemoryAllocationSize and maxBufferSize); a request larger than that
 * gets a block of its own, freed with it. Offsets are aligned to
 * minStorageBufferOffsetAlignment, so every allocation can be bound as is.
 *
 * Memory type: device-local. Where that type is also host-visible and
 * coherent (lavapipe, integrated GPUs, resizable BAR) it is mapped and
 * uploads are a memcpy; otherwise uploads and downloads go through a
 * host-visible staging buffer and a copy on the queue.
 *
 * A tensor may be larger than maxStorageBufferRange: the kernels bind
 * windows of it (kernels.h). Bigger than the device's largest allocation
 * is a clean CVL_ERR_NOMEM naming the tensor and both sizes. */
#ifndef CVL_VK_MEMORY_H
#define CVL_VK_MEMORY_H

#include "backend/vulkan/device.h"

typedef struct cvl_vk_buffer {
    VkBuffer buffer;      /* the block's buffer */
    VkDeviceSize offset;  /* bytes into it, storage-aligned */
    VkDeviceSize size;    /* bytes asked for */
    uint32_t block;
    uint8_t *mapped;      /* host view of the bytes, or NULL (staging) */
} cvl_vk_buffer;

typedef struct cvl_vk_memory_stats {
    uint32_t n_blocks;
    uint64_t reserved; /* bytes in blocks */
    uint64_t used;     /* bytes handed out (aligned) */
    bool mapped;       /* uploads are memcpys */
} cvl_vk_memory_stats;

cvl_status cvl_vk_memory_new(cvl_vk_device *dev, cvl_err *err);
void cvl_vk_memory_free(cvl_vk_device *dev);

/* `what` names the tensor in errors ("conv1.weight"). */
cvl_status cvl_vk_alloc(cvl_vk_buffer *out, cvl_vk_device *dev, uint64_t bytes, const char *what, cvl_err *err);
void cvl_vk_release(cvl_vk_device *dev, cvl_vk_buffer *buf);

/* Host <-> device copies of `bytes` at `offset` into the buffer. The
 * device must not be using those bytes (no sequence running). */
cvl_status cvl_vk_upload(cvl_vk_device *dev, const cvl_vk_buffer *dst, uint64_t offset, const void *src,
                         uint64_t bytes, cvl_err *err);
cvl_status cvl_vk_download(cvl_vk_device *dev, void *dst, const cvl_vk_buffer *src, uint64_t offset,
                           uint64_t bytes, cvl_err *err);

cvl_vk_memory_stats cvl_vk_memory_get_stats(const cvl_vk_device *dev);

#endif
