/* pipeline.h -- the embedded compute shaders, their pipelines, and the
 * on-disk pipeline cache.
 *
 * Every kernel follows one binding convention: bindings 0..n_buffers-1 are
 * storage buffers (outputs first, as in the C kernels), shapes and element
 * offsets go in push constants, tile sizes and transposes in specialization
 * constants (ids 0..2 are the local size). A pipeline is built once per
 * (kernel, specialization) and kept for the device's life.
 *
 * Pipeline cache file: $XDG_CACHE_HOME/cvlization/vulkan/ (or
 * ~/.cache/cvlization/vulkan/), one file per device,
 * <vendorID>-<deviceID>-<pipelineCacheUUID hex>.bin, holding exactly the
 * bytes of vkGetPipelineCacheData. Before handing it to the driver its
 * VkPipelineCacheHeaderVersionOne is checked (header size 32, version 1,
 * vendorID, deviceID, pipelineCacheUUID all matching this device); any
 * mismatch or short file is ignored (a driver update changes the UUID), so
 * a stale or foreign file costs a rebuild, never a crash. Written to a
 * temporary file in the same directory and renamed over, so a crash never
 * leaves half a file. */
#ifndef CVL_VK_PIPELINE_H
#define CVL_VK_PIPELINE_H

#include "backend/vulkan/device.h"

typedef enum cvl_vk_kernel {
    CVL_VK_FILL,
    CVL_VK_ADD,
    CVL_VK_RELU,
    CVL_VK_REDUCE_SUM,
    CVL_VK_MATMUL_NAIVE,
    CVL_VK_MATMUL, /* register-tiled */
    CVL_VK_RELU_BWD,
    CVL_VK_BIAS_ROWS,
    CVL_VK_CROSS_ENTROPY,
    CVL_VK_CROSS_ENTROPY_BWD,
    CVL_VK_SGD,
    CVL_VK_BN_STATS,
    CVL_VK_BN_APPLY,
    CVL_VK_BN_BWD,
    CVL_VK_POOL2D,
    CVL_VK_POOL2D_BWD,
    CVL_VK_SLICE,
    CVL_VK_CONV2D,
    CVL_VK_CONV2D_BWD_DATA,
    CVL_VK_CONV2D_BWD_WEIGHT,
    CVL_VK_UNARY,
    CVL_VK_UNARY_BWD,
    CVL_VK_SCALE,
    CVL_VK_DROPOUT,
    CVL_VK_EMBEDDING,
    CVL_VK_EMBEDDING_BWD,
    CVL_VK_BINARY,
    CVL_VK_PERMUTE,
    CVL_VK_SUM_TO,
    CVL_VK_SOFTMAX,
    CVL_VK_SOFTMAX_BWD,
    CVL_VK_LAYERNORM,
    CVL_VK_LAYERNORM_BWD,
    CVL_VK_LAYERNORM_BWD_PARAMS,
    CVL_VK_LOSS,
    CVL_VK_LOSS_BWD,
    CVL_VK_GRAD_NORM,
    CVL_VK_ADAM,
    CVL_VK_RMSPROP,
    CVL_VK_MATMUL_F16, /* register-tiled, A and B stored as float16 (16-bit storage) */
    CVL_VK_CONV2D_F16, /* the convolutions with their two inputs stored as float16 */
    CVL_VK_CONV2D_BWD_DATA_F16,
    CVL_VK_CONV2D_BWD_WEIGHT_F16,
    CVL_VK_CONV2D_DW, /* depthwise, direct (not a GEMM) */
    CVL_VK_CONV2D_DW_BWD_DATA,
    CVL_VK_CONV2D_DW_BWD_WEIGHT,
    CVL_VK_KERNEL_COUNT
} cvl_vk_kernel;

#define CVL_VK_MAX_SPEC 12
#define CVL_VK_MAX_BINDINGS 8

typedef struct cvl_vk_spec {
    uint32_t n;                      /* constants 0..n-1 are set */
    uint32_t v[CVL_VK_MAX_SPEC];     /* by constant_id; 0..2: local size */
} cvl_vk_spec;

typedef struct cvl_vk_pipeline {
    cvl_vk_kernel kernel;
    const char *name; /* the shader's file name without .comp */
    cvl_vk_spec spec;
    uint32_t n_buffers, push_size;
    uint32_t shared_bytes; /* what the specialization needs (checked) */
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
} cvl_vk_pipeline;

cvl_status cvl_vk_pipelines_new(cvl_vk_device *dev, cvl_err *err);
/* Writes the cache (unless no_disk_cache) and destroys every pipeline. */
void cvl_vk_pipelines_free(cvl_vk_device *dev);

/* The pipeline for `kernel` specialised by `spec`, built on first use.
 * `shared_bytes` is what the specialization puts in shared memory: more
 * than the device has is refused before the driver sees it. Errors name
 * the kernel and its specialization constants. */
cvl_status cvl_vk_pipeline_get(const cvl_vk_pipeline **out, cvl_vk_device *dev, cvl_vk_kernel kernel,
                               const cvl_vk_spec *spec, uint32_t shared_bytes, cvl_err *err);

/* Cache file path for this device into `buf`; false if no dir is known. */
bool cvl_vk_pipeline_cache_path(char *buf, size_t cap, const cvl_vk_device *dev);
/* Writes the cache now (atomically). */
cvl_status cvl_vk_pipeline_cache_save(cvl_vk_device *dev, cvl_err *err);
/* Whether the cache file was accepted when the device was created. */
bool cvl_vk_pipeline_cache_loaded(const cvl_vk_device *dev);
/* Pipelines built so far (tests: specialization reuse). */
uint32_t cvl_vk_pipeline_count(const cvl_vk_device *dev);

#endif
