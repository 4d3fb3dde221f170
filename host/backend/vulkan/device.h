/* device.h -- Vulkan instance, physical-device inventory, device selection
 * and the logical device every other part of the backend works on.
 *
 * Selection (cvl_device_select), as `--device` spells it:
 *   cpu        the CPU backend.
 *   auto       a discrete GPU, then an integrated one, then a virtual one,
 *              then the CPU backend. A software rasteriser (lavapipe, type
 *              CPU) is never chosen by auto: it is slower than the CPU
 *              backend by two orders of magnitude.
 *   vulkan     the best Vulkan device by the same order; a software device
 *              only when it is the only one (the user asked for Vulkan).
 *   vulkan:N   device N as `cvl-host --devices` numbers them.
 *   vulkan:S   the device whose name contains S (case-insensitive), e.g.
 *              vulkan:llvmpipe.
 * A device that lacks what the shaders need (Vulkan 1.1, a compute queue,
 * subgroup arithmetic in compute shaders) is skipped by auto and vulkan,
 * and refused with the reason when named. With no loader or no device,
 * auto falls back to the CPU with a one-line note. */
#ifndef CVL_VK_DEVICE_H
#define CVL_VK_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/vulkan/loader.h"

#define CVL_VK_MAX_HEAPS 16

typedef struct cvl_vk_device_info {
    uint32_t index;
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    VkPhysicalDeviceType type;
    char driver_name[VK_MAX_DRIVER_NAME_SIZE]; /* "" before Vulkan 1.2 */
    char driver_info[VK_MAX_DRIVER_INFO_SIZE];
    uint32_t api_version, driver_version, vendor_id, device_id;
    uint8_t cache_uuid[VK_UUID_SIZE]; /* pipelineCacheUUID */
    uint32_t n_heaps;
    uint64_t heap_size[CVL_VK_MAX_HEAPS];
    bool heap_device_local[CVL_VK_MAX_HEAPS];
    uint32_t subgroup_size;
    bool subgroup_arithmetic; /* in compute shaders */
    uint32_t shared_memory;   /* maxComputeSharedMemorySize, bytes */
    uint32_t max_invocations; /* maxComputeWorkGroupInvocations */
    uint32_t max_group_size[3], max_group_count[3];
    uint32_t max_push_constants;
    uint64_t max_storage_range; /* maxStorageBufferRange, bytes */
    uint64_t max_allocation;    /* maxMemoryAllocationSize */
    uint64_t max_buffer;        /* maxBufferSize (1.3) or max_allocation */
    uint64_t storage_align;     /* minStorageBufferOffsetAlignment */
    bool fp16;                  /* shaderFloat16 */
    bool storage16;             /* storageBuffer16BitAccess */
    bool coopmat;               /* VK_KHR_cooperative_matrix */
    bool compute_queue;
    uint32_t queue_family;
    char unusable[160]; /* why the shaders cannot run here; "" if they can */
} cvl_vk_device_info;

typedef struct cvl_vk_instance_opts {
    /* Khronos validation with a debug-utils messenger that counts every
     * validation message (info and up); also on with CVL_VK_VALIDATION=1. */
    bool validation;
    bool sync_validation; /* synchronization validation too (barrier checks) */
    bool quiet;           /* count messages without printing them */
} cvl_vk_instance_opts;

typedef struct cvl_vk_instance {
    const cvl_vk_global_fns *g;
    cvl_vk_instance_fns fn;
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    uint32_t api_version;
    uint32_t n_devices;
    VkPhysicalDevice *physical;
    cvl_vk_device_info *info;
    bool quiet;
    uint32_t n_messages; /* validation messages so far (loader info not counted) */
    char last_message[512];
} cvl_vk_instance;

/* Creates an instance and takes stock of every physical device. */
cvl_status cvl_vk_instance_new(cvl_vk_instance **out, const cvl_vk_instance_opts *opts,
                               cvl_err *err);
void cvl_vk_instance_free(cvl_vk_instance *inst);

/* "discrete", "integrated", "virtual", "cpu", "other". */
const char *cvl_vk_device_type_name(VkPhysicalDeviceType t);

typedef enum cvl_device_kind { CVL_DEVICE_CPU = 0, CVL_DEVICE_VULKAN = 1 } cvl_device_kind;

typedef struct cvl_device_choice {
    cvl_device_kind kind;
    uint32_t index;  /* the Vulkan device, when kind is VULKAN */
    char note[256];  /* why auto fell back, or "" */
} cvl_device_choice;

/* Resolves `spec` (grammar above). `inst` is NULL when no instance could be
 * made; `no_inst_why` then says why (for the note or the error). */
cvl_status cvl_device_select(cvl_device_choice *out, const char *spec, const cvl_vk_instance *inst,
                             const char *no_inst_why, cvl_err *err);

/* Test hooks and tuning for a logical device. */
typedef struct cvl_vk_device_opts {
    uint64_t max_range;     /* if > 0, pretend maxStorageBufferRange is this (tests) */
    bool force_staging;     /* treat device memory as not mappable (tests the staging path) */
    uint64_t block_size;    /* memory block size; 0: 256 MiB capped by the device */
    double fence_timeout_s; /* 0: 300 s */
    const char *cache_dir;  /* pipeline cache dir; NULL: $XDG_CACHE_HOME or ~/.cache */
    bool no_disk_cache;
    bool no_storage16; /* neither enable nor use storageBuffer16BitAccess (tests the refusal) */
} cvl_vk_device_opts;

typedef struct cvl_vk_memory cvl_vk_memory;
typedef struct cvl_vk_pipelines cvl_vk_pipelines;

typedef struct cvl_vk_device {
    cvl_vk_instance *inst;
    cvl_vk_device_info info; /* limits as used (max_storage_range may be capped) */
    cvl_vk_device_opts opts;
    VkPhysicalDevice physical;
    VkDevice device;
    cvl_vk_device_fns fn;
    VkQueue queue;
    VkCommandPool pool;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint64_t fence_timeout_ns;
    bool lost; /* device lost or a fence timed out: every later call fails */
    char lost_why[256];
    cvl_vk_memory *memory;
    cvl_vk_pipelines *pipelines;
} cvl_vk_device;

cvl_status cvl_vk_device_new(cvl_vk_device **out, cvl_vk_instance *inst, uint32_t index,
                             const cvl_vk_device_opts *opts, cvl_err *err);
/* Waits for the queue to drain, writes the pipeline cache, frees all. */
void cvl_vk_device_free(cvl_vk_device *dev);

/* Turns a failed VkResult from `what` into an error; marks the device lost
 * on VK_ERROR_DEVICE_LOST so later calls fail fast instead of hanging. */
cvl_status cvl_vk_check(cvl_vk_device *dev, VkResult r, cvl_err *err, const char *what);

/* CVL_OK, or an error saying the device was lost and while doing what. */
cvl_status cvl_vk_device_usable(const cvl_vk_device *dev, cvl_err *err);

#endif
