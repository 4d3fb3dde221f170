/* loader.c -- dlopen()s the Vulkan loader and fills the function tables. */
#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_NODELETE */
#include "backend/vulkan/loader.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

static cvl_vk_global_fns g_fns;
static char g_error[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_once(void) {
    /* CVL_VULKAN_LIBRARY lets a test point at a missing or broken loader. */
    const char *lib = getenv("CVL_VULKAN_LIBRARY");
    if (lib == NULL || lib[0] == '\0') lib = "libvulkan.so.1";
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        snprintf(g_error, sizeof g_error, "no Vulkan loader: %s", why ? why : lib);
        return;
    }
    PFN_vkGetInstanceProcAddr gipa;
    *(void **)&gipa = dlsym(h, "vkGetInstanceProcAddr");
    if (gipa == NULL) {
        snprintf(g_error, sizeof g_error, "no Vulkan loader: %s lacks vkGetInstanceProcAddr", lib);
        dlclose(h);
        return;
    }
    g_fns.vkGetInstanceProcAddr = gipa;
#define LOAD_GLOBAL(name) g_fns.name = (PFN_##name)gipa(VK_NULL_HANDLE, #name);
    CVL_VK_GLOBAL_FNS(LOAD_GLOBAL)
#undef LOAD_GLOBAL
    if (g_fns.vkCreateInstance == NULL || g_fns.vkEnumerateInstanceVersion == NULL) {
        snprintf(g_error, sizeof g_error,
                 "Vulkan loader %s is older than Vulkan 1.1 (no vkEnumerateInstanceVersion)", lib);
        g_fns.vkGetInstanceProcAddr = NULL;
    }
    /* The handle is kept: the library lives as long as the process. */
}

static int pin_one(struct dl_phdr_info *info, size_t size, void *user) {
    (void)size;
    (void)user;
    const char *name = info->dlpi_name;
    if (name && name[0] && (strstr(name, "libvulkan_") || strstr(name, "VkLayer") || strstr(name, "nvidia"))) {
        void *h = dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        (void)h; /* the reference is kept on purpose */
    }
    return 0;
}

/* Drivers and layers the loader opened stay loaded for the life of the
 * process, as the loader itself does: a driver's caches and atexit handlers
 * may outlive its instance, and a sanitizer can only name (and suppress,
 * tests/lsan.supp) frames of a library that is still mapped. */
void cvl_vk_pin_drivers(void) { dl_iterate_phdr(pin_one, NULL); }

const cvl_vk_global_fns *cvl_vk_load(cvl_err *err) {
    pthread_once(&g_once, load_once);
    if (g_fns.vkGetInstanceProcAddr == NULL) {
        cvl_err_set(err, CVL_ERR_UNSUPPORTED, "%s", g_error);
        return NULL;
    }
    return &g_fns;
}

static int optional_instance_fn(const char *name) {
    return strstr(name, "DebugUtils") != NULL;
}

cvl_status cvl_vk_load_instance(cvl_vk_instance_fns *fns, const cvl_vk_global_fns *g,
                                VkInstance inst, cvl_err *err) {
#define LOAD_INSTANCE(name)                                                             \
    fns->name = (PFN_##name)g->vkGetInstanceProcAddr(inst, #name);                      \
    if (fns->name == NULL && !optional_instance_fn(#name))                              \
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "Vulkan loader lacks %s", #name);
    CVL_VK_INSTANCE_FNS(LOAD_INSTANCE)
#undef LOAD_INSTANCE
    return CVL_OK;
}

cvl_status cvl_vk_load_device(cvl_vk_device_fns *fns, const cvl_vk_instance_fns *ifn,
                              VkDevice dev, cvl_err *err) {
#define LOAD_DEVICE(name)                                                        \
    fns->name = (PFN_##name)ifn->vkGetDeviceProcAddr(dev, #name);                \
    if (fns->name == NULL)                                                       \
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "Vulkan driver lacks %s", #name);
    CVL_VK_DEVICE_FNS(LOAD_DEVICE)
#undef LOAD_DEVICE
    return CVL_OK;
}

const char *cvl_vk_result_name(VkResult r) {
    switch (r) {
#define NAME(x) \
    case x: return #x;
        NAME(VK_SUCCESS)
        NAME(VK_NOT_READY)
        NAME(VK_TIMEOUT)
        NAME(VK_INCOMPLETE)
        NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
        NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        NAME(VK_ERROR_INITIALIZATION_FAILED)
        NAME(VK_ERROR_DEVICE_LOST)
        NAME(VK_ERROR_MEMORY_MAP_FAILED)
        NAME(VK_ERROR_LAYER_NOT_PRESENT)
        NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
        NAME(VK_ERROR_FEATURE_NOT_PRESENT)
        NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
        NAME(VK_ERROR_TOO_MANY_OBJECTS)
        NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
        NAME(VK_ERROR_FRAGMENTED_POOL)
        NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
        NAME(VK_ERROR_INVALID_SHADER_NV)
        NAME(VK_ERROR_UNKNOWN)
#undef NAME
    default: return "VK_ERROR (unnamed)";
    }
}
