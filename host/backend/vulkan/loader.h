/* loader.h -- the Vulkan entry points cvlization calls, loaded at run time.
 *
 * libvulkan.so.1 is dlopen()ed on first use rather than linked, so cvl-host
 * starts (and trains on the CPU) on a machine with no Vulkan loader at all;
 * `--device auto` then falls back with a one-line note instead of the
 * dynamic linker refusing to start the program.
 *
 * Three tables, filled in the order the Vulkan spec allows: global functions
 * (from vkGetInstanceProcAddr(NULL, ...)), instance functions (per
 * VkInstance) and device functions (per VkDevice, from vkGetDeviceProcAddr,
 * which skips the loader's trampoline). To call a new entry point, add it to
 * the right X-list below. */
#ifndef CVL_VK_LOADER_H
#define CVL_VK_LOADER_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "util/err.h"

#define CVL_VK_GLOBAL_FNS(X)                 \
    X(vkCreateInstance)                      \
    X(vkEnumerateInstanceVersion)            \
    X(vkEnumerateInstanceLayerProperties)    \
    X(vkEnumerateInstanceExtensionProperties)

#define CVL_VK_INSTANCE_FNS(X)                   \
    X(vkDestroyInstance)                         \
    X(vkEnumeratePhysicalDevices)                \
    X(vkGetPhysicalDeviceProperties)             \
    X(vkGetPhysicalDeviceProperties2)            \
    X(vkGetPhysicalDeviceFeatures2)              \
    X(vkGetPhysicalDeviceMemoryProperties)       \
    X(vkGetPhysicalDeviceQueueFamilyProperties)  \
    X(vkEnumerateDeviceExtensionProperties)      \
    X(vkCreateDevice)                            \
    X(vkGetDeviceProcAddr)                       \
    X(vkCreateDebugUtilsMessengerEXT)            \
    X(vkDestroyDebugUtilsMessengerEXT)

#define CVL_VK_DEVICE_FNS(X)              \
    X(vkDestroyDevice)                    \
    X(vkGetDeviceQueue)                   \
    X(vkDeviceWaitIdle)                   \
    X(vkAllocateMemory)                   \
    X(vkFreeMemory)                       \
    X(vkMapMemory)                        \
    X(vkUnmapMemory)                      \
    X(vkCreateBuffer)                     \
    X(vkDestroyBuffer)                    \
    X(vkGetBufferMemoryRequirements)      \
    X(vkBindBufferMemory)                 \
    X(vkCreateShaderModule)               \
    X(vkDestroyShaderModule)              \
    X(vkCreatePipelineCache)              \
    X(vkDestroyPipelineCache)             \
    X(vkGetPipelineCacheData)             \
    X(vkCreateComputePipelines)           \
    X(vkDestroyPipeline)                  \
    X(vkCreatePipelineLayout)             \
    X(vkDestroyPipelineLayout)            \
    X(vkCreateDescriptorSetLayout)        \
    X(vkDestroyDescriptorSetLayout)       \
    X(vkCreateDescriptorPool)             \
    X(vkDestroyDescriptorPool)            \
    X(vkAllocateDescriptorSets)           \
    X(vkUpdateDescriptorSets)             \
    X(vkCreateCommandPool)                \
    X(vkDestroyCommandPool)               \
    X(vkAllocateCommandBuffers)           \
    X(vkFreeCommandBuffers)               \
    X(vkBeginCommandBuffer)               \
    X(vkEndCommandBuffer)                 \
    X(vkCmdBindPipeline)                  \
    X(vkCmdBindDescriptorSets)            \
    X(vkCmdPushConstants)                 \
    X(vkCmdDispatch)                      \
    X(vkCmdPipelineBarrier)               \
    X(vkCmdCopyBuffer)                    \
    X(vkCreateFence)                      \
    X(vkDestroyFence)                     \
    X(vkResetFences)                      \
    X(vkWaitForFences)                    \
    X(vkQueueSubmit)

#define CVL_VK_DECLARE(name) PFN_##name name;

typedef struct cvl_vk_global_fns {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    CVL_VK_GLOBAL_FNS(CVL_VK_DECLARE)
} cvl_vk_global_fns;

typedef struct cvl_vk_instance_fns {
    CVL_VK_INSTANCE_FNS(CVL_VK_DECLARE)
} cvl_vk_instance_fns;

typedef struct cvl_vk_device_fns {
    CVL_VK_DEVICE_FNS(CVL_VK_DECLARE)
} cvl_vk_device_fns;

/* The global table, loading libvulkan.so.1 on the first call (thread-safe;
 * the library stays loaded for the life of the process). NULL with a
 * one-line message when there is no usable loader. */
const cvl_vk_global_fns *cvl_vk_load(cvl_err *err);

/* Fills `fns` for `inst`. The debug-utils entries may be NULL (extension
 * absent); every other missing entry is an error. */
cvl_status cvl_vk_load_instance(cvl_vk_instance_fns *fns, const cvl_vk_global_fns *g,
                                VkInstance inst, cvl_err *err);

cvl_status cvl_vk_load_device(cvl_vk_device_fns *fns, const cvl_vk_instance_fns *ifn,
                              VkDevice dev, cvl_err *err);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY", ... for messages. */
const char *cvl_vk_result_name(VkResult r);

/* Keeps the drivers and layers the loader has opened mapped until exit. */
void cvl_vk_pin_drivers(void);

#endif
