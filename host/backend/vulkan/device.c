/* device.c -- instance, device inventory and selection, logical device. */
#include "backend/vulkan/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/memory.h"
#include "backend/vulkan/pipeline.h"

static const char *const k_validation_layer = "VK_LAYER_KHRONOS_validation";

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
    cvl_vk_instance *inst = user;
    /* Every validation or performance message counts; the loader's own
     * informational chatter (type GENERAL) only from warnings up. */
    bool general = !(types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                              VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT));
    if (general && severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
    /* ... except the layer talking about itself: its "I am active" banner, and
     * the note that its own shader cache file does not exist yet (a fresh
     * machine's first run), neither of which is about our use of the API. */
    const char *id = data && data->pMessageIdName ? data->pMessageIdName : "";
    if (strstr(id, "createinstance-status-message")) return VK_FALSE;
    if (strstr(id, "UNASSIGNED-cache-file-error") &&
        severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
        return VK_FALSE;
    inst->n_messages++;
    const char *msg = data && data->pMessage ? data->pMessage : "(no text)";
    snprintf(inst->last_message, sizeof inst->last_message, "%s", msg);
    if (!inst->quiet) fprintf(stderr, "vulkan validation: %s\n", msg);
    return VK_FALSE;
}

static bool has_layer(const cvl_vk_global_fns *g, const char *name) {
    uint32_t n = 0;
    if (g->vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties *p = calloc(n, sizeof *p);
    bool found = false;
    if (p && g->vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

static bool has_instance_ext(const cvl_vk_global_fns *g, const char *layer, const char *name) {
    uint32_t n = 0;
    if (g->vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    bool found = false;
    if (p && g->vkEnumerateInstanceExtensionProperties(layer, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

static bool has_device_ext(const cvl_vk_instance *inst, VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (inst->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    bool found = false;
    if (p && inst->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

const char *cvl_vk_device_type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

/* The queue family with compute (a compute-only one preferred: it is the
 * asynchronous compute engine on GPUs that have one). */
static void find_queue(cvl_vk_device_info *d, const cvl_vk_instance *inst, VkPhysicalDevice pd) {
    uint32_t n = 0;
    inst->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    if (q == NULL) return;
    inst->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0) continue;
        bool compute_only = !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT);
        if (!d->compute_queue || compute_only) d->queue_family = i;
        d->compute_queue = true;
        if (compute_only) break;
    }
    free(q);
}

static void read_properties(cvl_vk_device_info *d, const cvl_vk_instance *inst, VkPhysicalDevice pd) {
    VkPhysicalDeviceProperties base;
    inst->fn.vkGetPhysicalDeviceProperties(pd, &base);
    uint32_t api = base.apiVersion < inst->api_version ? base.apiVersion : inst->api_version;
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceMaintenance4Properties m4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
    sub.pNext = &m3;
    /* Chain only what the device knows: an unknown struct is a validation error. */
    void **tail = &m3.pNext;
    if (api >= VK_API_VERSION_1_2) { *tail = &drv; tail = &drv.pNext; }
    if (api >= VK_API_VERSION_1_3) { *tail = &m4; tail = &m4.pNext; }
    inst->fn.vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceLimits *l = &base.limits;
    snprintf(d->name, sizeof d->name, "%s", base.deviceName);
    d->type = base.deviceType;
    d->api_version = base.apiVersion;
    d->driver_version = base.driverVersion;
    d->vendor_id = base.vendorID;
    d->device_id = base.deviceID;
    memcpy(d->cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);
    snprintf(d->driver_name, sizeof d->driver_name, "%s", drv.driverName);
    snprintf(d->driver_info, sizeof d->driver_info, "%s", drv.driverInfo);
    d->subgroup_size = sub.subgroupSize;
    d->subgroup_arithmetic = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    d->shared_memory = l->maxComputeSharedMemorySize;
    d->max_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        d->max_group_size[i] = l->maxComputeWorkGroupSize[i];
        d->max_group_count[i] = l->maxComputeWorkGroupCount[i];
    }
    d->max_push_constants = l->maxPushConstantsSize;
    d->max_storage_range = l->maxStorageBufferRange;
    d->max_allocation = m3.maxMemoryAllocationSize;
    d->max_buffer = api >= VK_API_VERSION_1_3 ? m4.maxBufferSize : m3.maxMemoryAllocationSize;
    d->storage_align = l->minStorageBufferOffsetAlignment;
}

static void read_features(cvl_vk_device_info *d, const cvl_vk_instance *inst, VkPhysicalDevice pd) {
    uint32_t api = d->api_version < inst->api_version ? d->api_version : inst->api_version;
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    bool f16_known = api >= VK_API_VERSION_1_2 || has_device_ext(inst, pd, "VK_KHR_shader_float16_int8");
    if (f16_known) s16.pNext = &f16;
    inst->fn.vkGetPhysicalDeviceFeatures2(pd, &f2);
    d->storage16 = s16.storageBuffer16BitAccess;
    d->fp16 = f16_known && f16.shaderFloat16;
    d->coopmat = has_device_ext(inst, pd, "VK_KHR_cooperative_matrix");
    VkPhysicalDeviceMemoryProperties mp;
    inst->fn.vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    d->n_heaps = mp.memoryHeapCount < CVL_VK_MAX_HEAPS ? mp.memoryHeapCount : CVL_VK_MAX_HEAPS;
    for (uint32_t i = 0; i < d->n_heaps; i++) {
        d->heap_size[i] = mp.memoryHeaps[i].size;
        d->heap_device_local[i] = mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    }
}

/* What every shader needs; the reason when the device lacks it. */
static void check_usable(cvl_vk_device_info *d, uint32_t instance_api) {
    uint32_t api = d->api_version < instance_api ? d->api_version : instance_api;
    if (api < VK_API_VERSION_1_1)
        snprintf(d->unusable, sizeof d->unusable, "needs Vulkan 1.1, has %u.%u",
                 VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
    else if (!d->compute_queue)
        snprintf(d->unusable, sizeof d->unusable, "has no compute queue");
    else if (!d->subgroup_arithmetic)
        snprintf(d->unusable, sizeof d->unusable, "lacks subgroup arithmetic in compute shaders");
    else if (d->max_invocations < 256)
        snprintf(d->unusable, sizeof d->unusable, "allows %u invocations per workgroup, needs 256",
                 d->max_invocations);
}

static cvl_status enumerate(cvl_vk_instance *inst, cvl_err *err) {
    uint32_t n = 0;
    VkResult r = inst->fn.vkEnumeratePhysicalDevices(inst->instance, &n, NULL);
    if (r != VK_SUCCESS)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "vkEnumeratePhysicalDevices: %s", cvl_vk_result_name(r));
    inst->physical = calloc(n ? n : 1, sizeof *inst->physical);
    inst->info = calloc(n ? n : 1, sizeof *inst->info);
    if (inst->physical == NULL || inst->info == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    r = inst->fn.vkEnumeratePhysicalDevices(inst->instance, &n, inst->physical);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "vkEnumeratePhysicalDevices: %s", cvl_vk_result_name(r));
    inst->n_devices = n;
    for (uint32_t i = 0; i < n; i++) {
        cvl_vk_device_info *d = &inst->info[i];
        d->index = i;
        read_properties(d, inst, inst->physical[i]);
        read_features(d, inst, inst->physical[i]);
        find_queue(d, inst, inst->physical[i]);
        check_usable(d, inst->api_version);
    }
    return CVL_OK;
}

static cvl_status create_instance(cvl_vk_instance *inst, const cvl_vk_instance_opts *opts, cvl_err *err) {
    const cvl_vk_global_fns *g = inst->g;
    uint32_t loader_api = VK_API_VERSION_1_0;
    g->vkEnumerateInstanceVersion(&loader_api);
    inst->api_version = loader_api < VK_API_VERSION_1_3 ? loader_api : VK_API_VERSION_1_3;
    const char *env = getenv("CVL_VK_VALIDATION");
    bool validate = opts->validation || (env && strcmp(env, "1") == 0);
    const char *exts[2];
    uint32_t n_exts = 0;
    bool debug_utils = validate && has_instance_ext(g, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (validate && !has_layer(g, k_validation_layer))
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "validation asked for, but %s is not installed",
                           k_validation_layer);
    if (debug_utils) exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync};
    bool want_sync = validate && opts->sync_validation &&
                     has_instance_ext(g, k_validation_layer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (want_sync) exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = want_sync ? &features : NULL,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = inst,
    };
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "cvlization", .pEngineName = "cvlization",
                             .apiVersion = inst->api_version};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = debug_utils ? (void *)&mci : (want_sync ? (void *)&features : NULL),
                               .pApplicationInfo = &app,
                               .enabledLayerCount = validate ? 1u : 0u,
                               .ppEnabledLayerNames = &k_validation_layer,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    VkResult r = g->vkCreateInstance(&ci, NULL, &inst->instance);
    cvl_vk_pin_drivers();
    if (r != VK_SUCCESS)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%svkCreateInstance: %s%s",
                           r == VK_ERROR_INCOMPATIBLE_DRIVER ? "no Vulkan driver (" : "", cvl_vk_result_name(r),
                           r == VK_ERROR_INCOMPATIBLE_DRIVER ? ")" : "");
    cvl_status st = cvl_vk_load_instance(&inst->fn, g, inst->instance, err);
    if (st != CVL_OK) return st;
    if (debug_utils && inst->fn.vkCreateDebugUtilsMessengerEXT) {
        mci.pNext = NULL;
        r = inst->fn.vkCreateDebugUtilsMessengerEXT(inst->instance, &mci, NULL, &inst->messenger);
        if (r != VK_SUCCESS)
            return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "vkCreateDebugUtilsMessengerEXT: %s",
                               cvl_vk_result_name(r));
    }
    return CVL_OK;
}

cvl_status cvl_vk_instance_new(cvl_vk_instance **out, const cvl_vk_instance_opts *opts, cvl_err *err) {
    *out = NULL;
    cvl_vk_instance_opts none = {0};
    if (opts == NULL) opts = &none;
    const cvl_vk_global_fns *g = cvl_vk_load(err);
    if (g == NULL) return CVL_ERR_UNSUPPORTED;
    cvl_vk_instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    inst->g = g;
    inst->quiet = opts->quiet;
    cvl_status st = create_instance(inst, opts, err);
    if (st == CVL_OK) st = enumerate(inst, err);
    if (st != CVL_OK) {
        cvl_vk_instance_free(inst);
        return st;
    }
    *out = inst;
    return CVL_OK;
}

void cvl_vk_instance_free(cvl_vk_instance *inst) {
    if (inst == NULL) return;
    if (inst->messenger) inst->fn.vkDestroyDebugUtilsMessengerEXT(inst->instance, inst->messenger, NULL);
    if (inst->instance) inst->fn.vkDestroyInstance(inst->instance, NULL);
    free(inst->physical);
    free(inst->info);
    free(inst);
}

/* ------------------------------------------------------------ logical device */

cvl_status cvl_vk_check(cvl_vk_device *dev, VkResult r, cvl_err *err, const char *what) {
    if (r == VK_SUCCESS) return CVL_OK;
    if (r == VK_ERROR_DEVICE_LOST && dev != NULL && !dev->lost) {
        dev->lost = true;
        snprintf(dev->lost_why, sizeof dev->lost_why, "device lost during %s", what);
    }
    cvl_status st = r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY ? CVL_ERR_NOMEM
                                                                                           : CVL_ERR_UNSUPPORTED;
    return cvl_err_set(err, st, "%s: %s: %s", dev ? dev->info.name : "vulkan", what, cvl_vk_result_name(r));
}

cvl_status cvl_vk_device_usable(const cvl_vk_device *dev, cvl_err *err) {
    if (!dev->lost) return CVL_OK;
    return cvl_err_set(err, CVL_ERR_INTERNAL, "%s is unusable: %s", dev->info.name, dev->lost_why);
}

static cvl_status create_device(cvl_vk_device *dev, cvl_err *err) {
    const cvl_vk_instance *inst = dev->inst;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = dev->info.queue_family, .queueCount = 1,
                                  .pQueuePriorities = &priority};
    /* Enable only what the device has; the shaders that need more check. */
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .storageBuffer16BitAccess = dev->info.storage16};
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .shaderFloat16 = dev->info.fp16};
    if (dev->info.fp16) s16.pNext = &f16;
    const char *exts[1];
    uint32_t n_exts = 0;
    uint32_t api = dev->info.api_version < inst->api_version ? dev->info.api_version : inst->api_version;
    if (dev->info.fp16 && api < VK_API_VERSION_1_2) exts[n_exts++] = "VK_KHR_shader_float16_int8";
    VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &s16,
                             .queueCreateInfoCount = 1, .pQueueCreateInfos = &qi,
                             .enabledExtensionCount = n_exts, .ppEnabledExtensionNames = exts};
    VkResult r = inst->fn.vkCreateDevice(dev->physical, &ci, NULL, &dev->device);
    if (r != VK_SUCCESS) {
        dev->device = VK_NULL_HANDLE;
        return cvl_vk_check(dev, r, err, "vkCreateDevice");
    }
    cvl_status st = cvl_vk_load_device(&dev->fn, &inst->fn, dev->device, err);
    if (st != CVL_OK) return st;
    dev->fn.vkGetDeviceQueue(dev->device, dev->info.queue_family, 0, &dev->queue);
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = dev->info.queue_family};
    r = dev->fn.vkCreateCommandPool(dev->device, &pi, NULL, &dev->pool);
    return cvl_vk_check(dev, r, err, "vkCreateCommandPool");
}

cvl_status cvl_vk_device_new(cvl_vk_device **out, cvl_vk_instance *inst, uint32_t index,
                             const cvl_vk_device_opts *opts, cvl_err *err) {
    *out = NULL;
    if (index >= inst->n_devices)
        return cvl_err_set(err, CVL_ERR_INVALID, "vulkan:%u: no such device (%u Vulkan devices)", index,
                           inst->n_devices);
    if (inst->info[index].unusable[0])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "vulkan:%u (%s) %s", index, inst->info[index].name,
                           inst->info[index].unusable);
    cvl_vk_device *dev = calloc(1, sizeof *dev);
    if (dev == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    dev->inst = inst;
    dev->info = inst->info[index];
    if (opts) dev->opts = *opts;
    dev->physical = inst->physical[index];
    if (dev->opts.max_range > 0 && dev->opts.max_range < dev->info.max_storage_range)
        dev->info.max_storage_range = dev->opts.max_range;
    if (dev->opts.no_storage16) dev->info.storage16 = false;
    double timeout = dev->opts.fence_timeout_s > 0 ? dev->opts.fence_timeout_s : 300.0;
    dev->fence_timeout_ns = (uint64_t)(timeout * 1e9);
    inst->fn.vkGetPhysicalDeviceMemoryProperties(dev->physical, &dev->mem_props);
    cvl_status st = create_device(dev, err);
    if (st == CVL_OK) st = cvl_vk_memory_new(dev, err);
    if (st == CVL_OK) st = cvl_vk_pipelines_new(dev, err);
    if (st != CVL_OK) {
        cvl_vk_device_free(dev);
        return st;
    }
    *out = dev;
    return CVL_OK;
}

void cvl_vk_device_free(cvl_vk_device *dev) {
    if (dev == NULL) return;
    /* After a timeout the queue may still be busy: wait for it (the driver
     * reports a truly hung device as lost) before destroying anything. */
    if (dev->device) dev->fn.vkDeviceWaitIdle(dev->device);
    cvl_vk_pipelines_free(dev);
    cvl_vk_memory_free(dev);
    if (dev->pool) dev->fn.vkDestroyCommandPool(dev->device, dev->pool, NULL);
    if (dev->device) dev->fn.vkDestroyDevice(dev->device, NULL);
    free(dev);
}
