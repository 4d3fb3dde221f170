/* vk_backend.h -- a cvl_backend (host/core/backend.h) on a Vulkan device.
 * The device stays the caller's; free the backend before the device. */
#ifndef CVL_VK_BACKEND_H
#define CVL_VK_BACKEND_H

#include "backend/vulkan/device.h"
#include "core/backend.h"

cvl_backend *cvl_backend_vulkan_new(cvl_vk_device *dev);

#endif
