/* memory.c -- block sub-allocator and host transfers (memory.h). */
#include "backend/vulkan/memory.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BLOCK (256ull << 20)
#define STAGING_MAX (64ull << 20)

typedef struct range {
    uint64_t off, size;
} range;

typedef struct block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    uint64_t size;
    uint8_t *mapped;
    bool dedicated; /* holds one allocation; freed with it */
    range *free;    /* sorted by offset, never adjacent */
    uint32_t n_free, cap_free;
    uint32_t n_live;
} block;

struct cvl_vk_memory {
    uint32_t type;         /* memory type of the blocks */
    bool mapped;           /* blocks are host-visible and coherent */
    int32_t staging_type;  /* host-visible coherent type, -1 if none */
    uint64_t block_size, align, largest;
    block *blocks;
    uint32_t n_blocks, cap_blocks;
    uint64_t used;
    /* staging */
    VkDeviceMemory staging_memory;
    VkBuffer staging;
    uint8_t *staging_map;
    uint64_t staging_size;
};

static const VkBufferUsageFlags k_usage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static int32_t find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want,
                         uint32_t heap_min) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want &&
            mp->memoryHeaps[mp->memoryTypes[i].heapIndex].size >= heap_min)
            return (int32_t)i;
    return -1;
}

/* Device-local, mapped when the device-local memory is host-visible over
 * (nearly) its whole heap: a 256 MiB BAR window is not worth it. */
static void choose_types(cvl_vk_memory *m, cvl_vk_device *dev, uint32_t bits) {
    const VkPhysicalDeviceMemoryProperties *mp = &dev->mem_props;
    uint64_t biggest_local = 0;
    for (uint32_t i = 0; i < mp->memoryHeapCount; i++)
        if (mp->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT && mp->memoryHeaps[i].size > biggest_local)
            biggest_local = mp->memoryHeaps[i].size;
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int32_t t = find_type(mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host, (uint32_t)0);
    if (t >= 0 && mp->memoryHeaps[mp->memoryTypes[t].heapIndex].size * 2 < biggest_local) t = -1;
    m->mapped = t >= 0 && !dev->opts.force_staging;
    if (!m->mapped) t = find_type(mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (t < 0) t = find_type(mp, bits, 0, 0);
    m->type = (uint32_t)t;
    m->staging_type = find_type(mp, bits, host, 0);
}

cvl_status cvl_vk_memory_new(cvl_vk_device *dev, cvl_err *err) {
    cvl_vk_memory *m = calloc(1, sizeof *m);
    if (m == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    dev->memory = m;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = k_usage};
    VkBuffer probe;
    VkResult r = dev->fn.vkCreateBuffer(dev->device, &bi, NULL, &probe);
    if (r != VK_SUCCESS) return cvl_vk_check(dev, r, err, "vkCreateBuffer (memory probe)");
    VkMemoryRequirements req;
    dev->fn.vkGetBufferMemoryRequirements(dev->device, probe, &req);
    dev->fn.vkDestroyBuffer(dev->device, probe, NULL);
    choose_types(m, dev, req.memoryTypeBits);
    uint64_t heap = dev->mem_props.memoryHeaps[dev->mem_props.memoryTypes[m->type].heapIndex].size;
    m->largest = min_u64(min_u64(dev->info.max_allocation, dev->info.max_buffer), heap);
    m->block_size = min_u64(dev->opts.block_size ? dev->opts.block_size : DEFAULT_BLOCK, m->largest);
    m->align = dev->info.storage_align > 16 ? dev->info.storage_align : 16;
    if (req.alignment > m->align) m->align = req.alignment;
    return CVL_OK;
}

static void destroy_block(cvl_vk_device *dev, block *b) {
    if (b->buffer) dev->fn.vkDestroyBuffer(dev->device, b->buffer, NULL);
    if (b->memory) dev->fn.vkFreeMemory(dev->device, b->memory, NULL);
    free(b->free);
    memset(b, 0, sizeof *b);
}

void cvl_vk_memory_free(cvl_vk_device *dev) {
    cvl_vk_memory *m = dev->memory;
    if (m == NULL) return;
    for (uint32_t i = 0; i < m->n_blocks; i++) destroy_block(dev, &m->blocks[i]);
    if (m->staging) dev->fn.vkDestroyBuffer(dev->device, m->staging, NULL);
    if (m->staging_memory) dev->fn.vkFreeMemory(dev->device, m->staging_memory, NULL);
    free(m->blocks);
    free(m);
    dev->memory = NULL;
}

/* A buffer over fresh memory of `type`. */
static VkResult make_buffer(cvl_vk_device *dev, VkBuffer *buf, VkDeviceMemory *mem, uint8_t **map, uint64_t size,
                            uint32_t type, VkBufferUsageFlags usage, bool want_map) {
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage};
    VkResult r = dev->fn.vkCreateBuffer(dev->device, &bi, NULL, buf);
    if (r != VK_SUCCESS) return r;
    VkMemoryRequirements req;
    dev->fn.vkGetBufferMemoryRequirements(dev->device, *buf, &req);
    if (!(req.memoryTypeBits & (1u << type))) return VK_ERROR_FEATURE_NOT_PRESENT;
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                               .memoryTypeIndex = type};
    if ((r = dev->fn.vkAllocateMemory(dev->device, &ai, NULL, mem)) != VK_SUCCESS) return r;
    if ((r = dev->fn.vkBindBufferMemory(dev->device, *buf, *mem, 0)) != VK_SUCCESS) return r;
    if (want_map) r = dev->fn.vkMapMemory(dev->device, *mem, 0, VK_WHOLE_SIZE, 0, (void **)map);
    return r;
}

static cvl_status new_block(uint32_t *out, cvl_vk_device *dev, uint64_t size, bool dedicated, const char *what,
                            cvl_err *err) {
    cvl_vk_memory *m = dev->memory;
    uint32_t slot = m->n_blocks;
    for (uint32_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].buffer == VK_NULL_HANDLE) slot = i; /* reuse a freed dedicated slot */
    if (slot == m->n_blocks && m->n_blocks == m->cap_blocks) {
        uint32_t cap = m->cap_blocks ? 2 * m->cap_blocks : 8;
        block *bl = realloc(m->blocks, cap * sizeof *bl);
        if (bl == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
        m->blocks = bl;
        m->cap_blocks = cap;
    }
    block *b = &m->blocks[slot];
    memset(b, 0, sizeof *b);
    if (slot == m->n_blocks) m->n_blocks++;
    b->size = size;
    b->dedicated = dedicated;
    b->free = malloc(sizeof *b->free);
    VkResult r = b->free ? make_buffer(dev, &b->buffer, &b->memory, &b->mapped, size, m->type, k_usage, m->mapped)
                         : VK_ERROR_OUT_OF_HOST_MEMORY;
    if (r != VK_SUCCESS) {
        destroy_block(dev, b);
        cvl_err_set(err, r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? CVL_ERR_NOMEM : CVL_ERR_UNSUPPORTED,
                    "tensor %s: a %" PRIu64 "-byte device memory block could not be allocated on %s: %s", what,
                    size, dev->info.name, cvl_vk_result_name(r));
        return cvl_vk_check(dev, r, err, what);
    }
    b->free[0] = (range){0, size};
    b->n_free = b->cap_free = 1;
    *out = slot;
    return CVL_OK;
}

/* First fit in block `b`; UINT64_MAX if it does not fit. */
static uint64_t take(block *b, uint64_t size) {
    for (uint32_t i = 0; i < b->n_free; i++) {
        if (b->free[i].size < size) continue;
        uint64_t off = b->free[i].off;
        b->free[i].off += size;
        b->free[i].size -= size;
        if (b->free[i].size == 0) {
            memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
            b->n_free--;
        }
        b->n_live++;
        return off;
    }
    return UINT64_MAX;
}

cvl_status cvl_vk_alloc(cvl_vk_buffer *out, cvl_vk_device *dev, uint64_t bytes, const char *what, cvl_err *err) {
    memset(out, 0, sizeof *out);
    cvl_vk_memory *m = dev->memory;
    cvl_status st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    if (bytes == 0) bytes = 1;
    if (bytes > m->largest)
        return cvl_err_set(err, CVL_ERR_NOMEM,
                           "tensor %s: %" PRIu64 " bytes exceed the largest allocation %s allows (%" PRIu64 " bytes)",
                           what, bytes, dev->info.name, m->largest);
    uint64_t size = (bytes + m->align - 1) / m->align * m->align;
    uint32_t bi = UINT32_MAX;
    uint64_t off = UINT64_MAX;
    for (uint32_t i = 0; i < m->n_blocks && off == UINT64_MAX; i++)
        if (m->blocks[i].buffer && !m->blocks[i].dedicated && (off = take(&m->blocks[i], size)) != UINT64_MAX) bi = i;
    if (off == UINT64_MAX) {
        bool dedicated = size > m->block_size;
        if ((st = new_block(&bi, dev, dedicated ? size : m->block_size, dedicated, what, err)) != CVL_OK) return st;
        off = take(&m->blocks[bi], size);
    }
    block *b = &m->blocks[bi];
    m->used += size;
    *out = (cvl_vk_buffer){.buffer = b->buffer, .offset = off, .size = bytes, .block = bi,
                           .mapped = b->mapped ? b->mapped + off : NULL};
    return CVL_OK;
}

void cvl_vk_release(cvl_vk_device *dev, cvl_vk_buffer *buf) {
    cvl_vk_memory *m = dev->memory;
    if (buf == NULL || buf->buffer == VK_NULL_HANDLE || m == NULL) return;
    block *b = &m->blocks[buf->block];
    uint64_t size = (buf->size + m->align - 1) / m->align * m->align;
    m->used -= size;
    b->n_live--;
    if (b->dedicated) {
        destroy_block(dev, b);
    } else {
        /* insert, then merge with the neighbours */
        uint32_t i = 0;
        while (i < b->n_free && b->free[i].off < buf->offset) i++;
        if (b->n_free == b->cap_free) {
            range *f = realloc(b->free, 2 * b->cap_free * sizeof *f);
            if (f == NULL) return; /* the range leaks until the block goes; nothing breaks */
            b->free = f;
            b->cap_free *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
        b->free[i] = (range){buf->offset, size};
        b->n_free++;
        if (i + 1 < b->n_free && b->free[i].off + b->free[i].size == b->free[i + 1].off) {
            b->free[i].size += b->free[i + 1].size;
            memmove(&b->free[i + 1], &b->free[i + 2], (b->n_free - i - 2) * sizeof *b->free);
            b->n_free--;
        }
        if (i > 0 && b->free[i - 1].off + b->free[i - 1].size == b->free[i].off) {
            b->free[i - 1].size += b->free[i].size;
            memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
            b->n_free--;
        }
    }
    memset(buf, 0, sizeof *buf);
}

cvl_vk_memory_stats cvl_vk_memory_get_stats(const cvl_vk_device *dev) {
    cvl_vk_memory_stats s = {0};
    const cvl_vk_memory *m = dev->memory;
    for (uint32_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].buffer) s.n_blocks++, s.reserved += m->blocks[i].size;
    s.used = m->used;
    s.mapped = m->mapped;
    return s;
}

/* ---------------------------------------------------------------- staging */

static cvl_status ensure_staging(cvl_vk_device *dev, cvl_err *err) {
    cvl_vk_memory *m = dev->memory;
    if (m->staging) return CVL_OK;
    if (m->staging_type < 0)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s has no host-visible memory for staging", dev->info.name);
    m->staging_size = min_u64(STAGING_MAX, m->largest);
    VkResult r = make_buffer(dev, &m->staging, &m->staging_memory, &m->staging_map, m->staging_size,
                             (uint32_t)m->staging_type, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             true);
    return cvl_vk_check(dev, r, err, "staging buffer");
}

/* One copy on the queue, waited for; the barriers order it against the
 * compute work submitted before and after. */
static cvl_status copy_now(cvl_vk_device *dev, VkBuffer src, VkBuffer dst, VkBufferCopy region, cvl_err *err) {
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = dev->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VkCommandBuffer cb;
    VkResult r = dev->fn.vkAllocateCommandBuffers(dev->device, &ai, &cb);
    if (r != VK_SUCCESS) return cvl_vk_check(dev, r, err, "staging copy");
    VkFence fence = VK_NULL_HANDLE;
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkMemoryBarrier before = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                              .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT};
    if ((r = dev->fn.vkCreateFence(dev->device, &fi, NULL, &fence)) == VK_SUCCESS &&
        (r = dev->fn.vkBeginCommandBuffer(cb, &bi)) == VK_SUCCESS) {
        dev->fn.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                                     &before, 0, NULL, 0, NULL);
        dev->fn.vkCmdCopyBuffer(cb, src, dst, 1, &region);
        dev->fn.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &after,
                                     0, NULL, 0, NULL);
        r = dev->fn.vkEndCommandBuffer(cb);
    }
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    if (r == VK_SUCCESS) r = dev->fn.vkQueueSubmit(dev->queue, 1, &si, fence);
    if (r == VK_SUCCESS) r = dev->fn.vkWaitForFences(dev->device, 1, &fence, VK_TRUE, dev->fence_timeout_ns);
    if (r == VK_TIMEOUT) {
        dev->lost = true;
        snprintf(dev->lost_why, sizeof dev->lost_why, "a %" PRIu64 "-byte staging copy timed out", region.size);
        return cvl_err_set(err, CVL_ERR_INTERNAL, "%s: %s", dev->info.name, dev->lost_why);
    }
    cvl_status st = cvl_vk_check(dev, r, err, "staging copy");
    if (fence) dev->fn.vkDestroyFence(dev->device, fence, NULL);
    dev->fn.vkFreeCommandBuffers(dev->device, dev->pool, 1, &cb);
    return st;
}

static cvl_status check_range(const cvl_vk_buffer *b, uint64_t offset, uint64_t bytes, cvl_err *err) {
    if (offset > b->size || bytes > b->size - offset)
        return cvl_err_set(err, CVL_ERR_INVALID, "copy of %" PRIu64 " bytes at %" PRIu64 " overruns a %" PRIu64
                           "-byte tensor", bytes, offset, b->size);
    return CVL_OK;
}

cvl_status cvl_vk_upload(cvl_vk_device *dev, const cvl_vk_buffer *dst, uint64_t offset, const void *src,
                         uint64_t bytes, cvl_err *err) {
    cvl_status st = check_range(dst, offset, bytes, err);
    if (st == CVL_OK) st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    if (dst->mapped) {
        memcpy(dst->mapped + offset, src, bytes);
        return CVL_OK;
    }
    if ((st = ensure_staging(dev, err)) != CVL_OK) return st;
    cvl_vk_memory *m = dev->memory;
    for (uint64_t done = 0; done < bytes && st == CVL_OK; done += m->staging_size) {
        uint64_t n = min_u64(m->staging_size, bytes - done);
        memcpy(m->staging_map, (const uint8_t *)src + done, n);
        st = copy_now(dev, m->staging, dst->buffer, (VkBufferCopy){0, dst->offset + offset + done, n}, err);
    }
    return st;
}

cvl_status cvl_vk_download(cvl_vk_device *dev, void *dst, const cvl_vk_buffer *src, uint64_t offset,
                           uint64_t bytes, cvl_err *err) {
    cvl_status st = check_range(src, offset, bytes, err);
    if (st == CVL_OK) st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    if (src->mapped) {
        memcpy(dst, src->mapped + offset, bytes);
        return CVL_OK;
    }
    if ((st = ensure_staging(dev, err)) != CVL_OK) return st;
    cvl_vk_memory *m = dev->memory;
    for (uint64_t done = 0; done < bytes && st == CVL_OK; done += m->staging_size) {
        uint64_t n = min_u64(m->staging_size, bytes - done);
        st = copy_now(dev, src->buffer, m->staging, (VkBufferCopy){src->offset + offset + done, 0, n}, err);
        if (st == CVL_OK) memcpy((uint8_t *)dst + done, m->staging_map, n);
    }
    return st;
}
