/* pipeline.c -- shader modules, specialised pipelines, on-disk cache. */
#include "backend/vulkan/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"

/* SPIR-V compiled at build time by glslangValidator (shaders/meson.build). */
#include "add.spv.h"
#include "fill.spv.h"
#include "matmul.spv.h"
#include "matmul_naive.spv.h"
#include "reduce_sum.spv.h"
#include "relu.spv.h"
#include "relu_bwd.spv.h"
#include "bias_rows.spv.h"
#include "cross_entropy.spv.h"
#include "cross_entropy_bwd.spv.h"
#include "sgd.spv.h"
#include "bn_stats.spv.h"
#include "bn_apply.spv.h"
#include "bn_bwd.spv.h"
#include "pool2d.spv.h"
#include "pool2d_bwd.spv.h"
#include "slice.spv.h"
#include "conv2d.spv.h"
#include "unary.spv.h"
#include "unary_bwd.spv.h"
#include "scale.spv.h"
#include "dropout.spv.h"
#include "embedding.spv.h"
#include "embedding_bwd.spv.h"
#include "binary.spv.h"
#include "permute.spv.h"
#include "sum_to.spv.h"
#include "softmax.spv.h"
#include "softmax_bwd.spv.h"
#include "layernorm.spv.h"
#include "layernorm_bwd.spv.h"
#include "layernorm_bwd_params.spv.h"
#include "loss.spv.h"
#include "loss_bwd.spv.h"
#include "grad_norm.spv.h"
#include "adam.spv.h"
#include "rmsprop.spv.h"
#include "matmul_f16.spv.h"
#include "conv2d_f16.spv.h"
#include "conv2d_bwd_data.spv.h"
#include "conv2d_bwd_weight.spv.h"
#include "conv2d_bwd_data_f16.spv.h"
#include "conv2d_bwd_weight_f16.spv.h"
#include "conv2d_dw.spv.h"
#include "conv2d_dw_bwd_data.spv.h"
#include "conv2d_dw_bwd_weight.spv.h"

typedef struct kernel_desc {
    const char *name;
    const uint32_t *spv;
    size_t spv_bytes;
    uint32_t n_buffers;
    uint32_t push_size;
} kernel_desc;

#define KERNEL(id, nm, nbuf, npush) [id] = {#nm, nm##_spv, sizeof nm##_spv, nbuf, (npush) * 4}
static const kernel_desc k_kernels[CVL_VK_KERNEL_COUNT] = {
    KERNEL(CVL_VK_FILL, fill, 2, 3),
    KERNEL(CVL_VK_ADD, add, 3, 4),
    KERNEL(CVL_VK_RELU, relu, 2, 3),
    KERNEL(CVL_VK_REDUCE_SUM, reduce_sum, 2, 6),
    KERNEL(CVL_VK_MATMUL_NAIVE, matmul_naive, 3, 13),
    KERNEL(CVL_VK_MATMUL, matmul, 3, 13),
    KERNEL(CVL_VK_RELU_BWD, relu_bwd, 3, 4),
    KERNEL(CVL_VK_BIAS_ROWS, bias_rows, 2, 7),
    KERNEL(CVL_VK_CROSS_ENTROPY, cross_entropy, 5, 11),
    KERNEL(CVL_VK_CROSS_ENTROPY_BWD, cross_entropy_bwd, 6, 10),
    KERNEL(CVL_VK_SGD, sgd, 5, 12),
    KERNEL(CVL_VK_BN_STATS, bn_stats, 6, 14),
    KERNEL(CVL_VK_BN_APPLY, bn_apply, 5, 9),
    KERNEL(CVL_VK_BN_BWD, bn_bwd, 6, 14),
    KERNEL(CVL_VK_POOL2D, pool2d, 2, 12),
    KERNEL(CVL_VK_POOL2D_BWD, pool2d_bwd, 4, 14),
    KERNEL(CVL_VK_SLICE, slice, 2, 10),
    KERNEL(CVL_VK_CONV2D, conv2d, 3, 25),
    KERNEL(CVL_VK_CONV2D_BWD_DATA, conv2d_bwd_data, 3, 25),
    KERNEL(CVL_VK_CONV2D_BWD_WEIGHT, conv2d_bwd_weight, 3, 25),
    KERNEL(CVL_VK_UNARY, unary, 2, 4),
    KERNEL(CVL_VK_UNARY_BWD, unary_bwd, 3, 5),
    KERNEL(CVL_VK_SCALE, scale, 2, 5),
    KERNEL(CVL_VK_DROPOUT, dropout, 3, 10),
    KERNEL(CVL_VK_EMBEDDING, embedding, 3, 8),
    KERNEL(CVL_VK_EMBEDDING_BWD, embedding_bwd, 3, 8),
    KERNEL(CVL_VK_BINARY, binary, 3, 28),
    KERNEL(CVL_VK_PERMUTE, permute, 2, 28),
    KERNEL(CVL_VK_SUM_TO, sum_to, 2, 25),
    KERNEL(CVL_VK_SOFTMAX, softmax, 2, 7),
    KERNEL(CVL_VK_SOFTMAX_BWD, softmax_bwd, 3, 8),
    KERNEL(CVL_VK_LAYERNORM, layernorm, 4, 9),
    KERNEL(CVL_VK_LAYERNORM_BWD, layernorm_bwd, 4, 9),
    KERNEL(CVL_VK_LAYERNORM_BWD_PARAMS, layernorm_bwd_params, 3, 8),
    KERNEL(CVL_VK_LOSS, loss, 3, 8),
    KERNEL(CVL_VK_LOSS_BWD, loss_bwd, 4, 8),
    KERNEL(CVL_VK_GRAD_NORM, grad_norm, 2, 6),
    KERNEL(CVL_VK_ADAM, adam, 7, 17),
    KERNEL(CVL_VK_RMSPROP, rmsprop, 7, 15),
    KERNEL(CVL_VK_MATMUL_F16, matmul_f16, 3, 13),
    KERNEL(CVL_VK_CONV2D_F16, conv2d_f16, 3, 25),
    KERNEL(CVL_VK_CONV2D_BWD_DATA_F16, conv2d_bwd_data_f16, 3, 25),
    KERNEL(CVL_VK_CONV2D_BWD_WEIGHT_F16, conv2d_bwd_weight_f16, 3, 25),
    KERNEL(CVL_VK_CONV2D_DW, conv2d_dw, 3, 25),
    KERNEL(CVL_VK_CONV2D_DW_BWD_DATA, conv2d_dw_bwd_data, 3, 25),
    KERNEL(CVL_VK_CONV2D_DW_BWD_WEIGHT, conv2d_dw_bwd_weight, 3, 25),
};
#undef KERNEL

struct cvl_vk_pipelines {
    VkPipelineCache cache;
    bool cache_loaded;
    VkShaderModule modules[CVL_VK_KERNEL_COUNT];
    cvl_vk_pipeline **list;
    uint32_t n, cap;
};

/* ---------------------------------------------------------------- disk cache */

bool cvl_vk_pipeline_cache_path(char *buf, size_t cap, const cvl_vk_device *dev) {
    char dir[4096];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (dev->opts.cache_dir) snprintf(dir, sizeof dir, "%s", dev->opts.cache_dir);
    else if (xdg && xdg[0] == '/') snprintf(dir, sizeof dir, "%s/cvlization/vulkan", xdg);
    else if (home && home[0]) snprintf(dir, sizeof dir, "%s/.cache/cvlization/vulkan", home);
    else return false;
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", dev->info.cache_uuid[i]);
    int n = snprintf(buf, cap, "%s/%04x-%04x-%s.bin", dir, dev->info.vendor_id, dev->info.device_id, uuid);
    return n > 0 && (size_t)n < cap;
}

/* Driver-independent check of VkPipelineCacheHeaderVersionOne. */
static bool header_matches(const uint8_t *d, size_t n, const cvl_vk_device *dev) {
    if (n < 32) return false;
    uint32_t w[4];
    memcpy(w, d, sizeof w);
    return w[0] == 32 && w[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && w[2] == dev->info.vendor_id &&
           w[3] == dev->info.device_id && memcmp(d + 16, dev->info.cache_uuid, VK_UUID_SIZE) == 0;
}

static uint8_t *read_cache_file(size_t *n_out, const cvl_vk_device *dev) {
    char path[4200];
    *n_out = 0;
    if (dev->opts.no_disk_cache || !cvl_vk_pipeline_cache_path(path, sizeof path, dev)) return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    uint8_t *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n >= 32 && n < (1L << 30) && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) != NULL &&
        fread(data, 1, (size_t)n, f) == (size_t)n && header_matches(data, (size_t)n, dev)) {
        *n_out = (size_t)n;
    } else {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

cvl_status cvl_vk_pipeline_cache_save(cvl_vk_device *dev, cvl_err *err) {
    cvl_vk_pipelines *ps = dev->pipelines;
    char path[4200], tmp[4300];
    if (ps == NULL || ps->cache == VK_NULL_HANDLE || dev->opts.no_disk_cache) return CVL_OK;
    if (!cvl_vk_pipeline_cache_path(path, sizeof path, dev)) return CVL_OK; /* no HOME: no cache */
    size_t n = 0;
    VkResult r = dev->fn.vkGetPipelineCacheData(dev->device, ps->cache, &n, NULL);
    if (r != VK_SUCCESS || n == 0) return cvl_vk_check(dev, r, err, "vkGetPipelineCacheData");
    uint8_t *data = malloc(n);
    if (data == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "pipeline cache: out of memory");
    r = dev->fn.vkGetPipelineCacheData(dev->device, ps->cache, &n, data);
    cvl_status st = cvl_vk_check(dev, r, err, "vkGetPipelineCacheData");
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = NULL;
    if (st == CVL_OK) st = cvl_mkdirs_parent(path, err);
    if (st == CVL_OK && (f = fopen(tmp, "wb")) == NULL)
        st = cvl_err_set(err, CVL_ERR_IO, "pipeline cache %s: %s", path, strerror(errno));
    if (f != NULL) {
        bool ok = fwrite(data, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            st = cvl_err_set(err, CVL_ERR_IO, "pipeline cache %s: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(data);
    return st;
}

bool cvl_vk_pipeline_cache_loaded(const cvl_vk_device *dev) {
    return dev->pipelines && dev->pipelines->cache_loaded;
}

uint32_t cvl_vk_pipeline_count(const cvl_vk_device *dev) { return dev->pipelines ? dev->pipelines->n : 0; }

/* ---------------------------------------------------------------- pipelines */

cvl_status cvl_vk_pipelines_new(cvl_vk_device *dev, cvl_err *err) {
    cvl_vk_pipelines *ps = calloc(1, sizeof *ps);
    if (ps == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    dev->pipelines = ps;
    size_t n = 0;
    uint8_t *data = read_cache_file(&n, dev);
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = n, .pInitialData = data};
    VkResult r = dev->fn.vkCreatePipelineCache(dev->device, &ci, NULL, &ps->cache);
    if (r != VK_SUCCESS && data != NULL) { /* the driver refused it after all: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = dev->fn.vkCreatePipelineCache(dev->device, &ci, NULL, &ps->cache);
        n = 0;
    }
    free(data);
    ps->cache_loaded = r == VK_SUCCESS && n > 0;
    return cvl_vk_check(dev, r, err, "vkCreatePipelineCache");
}

static void destroy_pipeline(cvl_vk_device *dev, cvl_vk_pipeline *p) {
    if (p->pipeline) dev->fn.vkDestroyPipeline(dev->device, p->pipeline, NULL);
    if (p->layout) dev->fn.vkDestroyPipelineLayout(dev->device, p->layout, NULL);
    if (p->set_layout) dev->fn.vkDestroyDescriptorSetLayout(dev->device, p->set_layout, NULL);
    free(p);
}

void cvl_vk_pipelines_free(cvl_vk_device *dev) {
    cvl_vk_pipelines *ps = dev->pipelines;
    if (ps == NULL) return;
    if (!dev->lost) {
        cvl_err e = {0};
        if (cvl_vk_pipeline_cache_save(dev, &e) != CVL_OK)
            fprintf(stderr, "cvl-host: warning: %s\n", e.msg); /* a lost cache costs only time */
    }
    for (uint32_t i = 0; i < ps->n; i++) destroy_pipeline(dev, ps->list[i]);
    for (int k = 0; k < CVL_VK_KERNEL_COUNT; k++)
        if (ps->modules[k]) dev->fn.vkDestroyShaderModule(dev->device, ps->modules[k], NULL);
    if (ps->cache) dev->fn.vkDestroyPipelineCache(dev->device, ps->cache, NULL);
    free(ps->list);
    free(ps);
    dev->pipelines = NULL;
}

static void describe_spec(char *buf, size_t cap, const char *name, const cvl_vk_spec *spec) {
    int n = snprintf(buf, cap, "%s [", name);
    for (uint32_t i = 0; i < spec->n && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%u", i ? " " : "", spec->v[i]);
    if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
}

static VkResult build(cvl_vk_device *dev, cvl_vk_pipeline *p, VkShaderModule module) {
    const kernel_desc *k = &k_kernels[p->kernel];
    VkDescriptorSetLayoutBinding b[CVL_VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < k->n_buffers; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = k->n_buffers, .pBindings = b};
    VkResult r = dev->fn.vkCreateDescriptorSetLayout(dev->device, &dci, NULL, &p->set_layout);
    if (r != VK_SUCCESS) return r;
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = k->push_size};
    VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                      .pSetLayouts = &p->set_layout, .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pr};
    r = dev->fn.vkCreatePipelineLayout(dev->device, &lci, NULL, &p->layout);
    if (r != VK_SUCCESS) return r;
    VkSpecializationMapEntry map[CVL_VK_MAX_SPEC];
    for (uint32_t i = 0; i < p->spec.n; i++) map[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {.mapEntryCount = p->spec.n, .pMapEntries = map, .dataSize = p->spec.n * 4,
                               .pData = p->spec.v};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module, .pName = "main", .pSpecializationInfo = &si},
        .layout = p->layout};
    return dev->fn.vkCreateComputePipelines(dev->device, dev->pipelines->cache, 1, &ci, NULL, &p->pipeline);
}

static cvl_status get_module(VkShaderModule *out, cvl_vk_device *dev, cvl_vk_kernel kernel, cvl_err *err) {
    cvl_vk_pipelines *ps = dev->pipelines;
    if (ps->modules[kernel] == VK_NULL_HANDLE) {
        const kernel_desc *k = &k_kernels[kernel];
        VkShaderModuleCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                       .codeSize = k->spv_bytes, .pCode = k->spv};
        VkResult r = dev->fn.vkCreateShaderModule(dev->device, &ci, NULL, &ps->modules[kernel]);
        if (r != VK_SUCCESS) {
            ps->modules[kernel] = VK_NULL_HANDLE;
            cvl_err_set(err, CVL_ERR_UNSUPPORTED, "shader %s: vkCreateShaderModule: %s", k->name,
                        cvl_vk_result_name(r));
            return cvl_vk_check(dev, r, err, k->name);
        }
    }
    *out = ps->modules[kernel];
    return CVL_OK;
}

cvl_status cvl_vk_pipeline_get(const cvl_vk_pipeline **out, cvl_vk_device *dev, cvl_vk_kernel kernel,
                               const cvl_vk_spec *spec, uint32_t shared_bytes, cvl_err *err) {
    if ((unsigned)kernel >= CVL_VK_KERNEL_COUNT || spec->n > CVL_VK_MAX_SPEC)
        return cvl_err_set(err, CVL_ERR_INTERNAL, "pipeline: bad kernel %d", (int)kernel);
    cvl_vk_pipelines *ps = dev->pipelines;
    for (uint32_t i = 0; i < ps->n; i++) {
        const cvl_vk_pipeline *p = ps->list[i];
        if (p->kernel == kernel && p->spec.n == spec->n && memcmp(p->spec.v, spec->v, spec->n * 4) == 0) {
            *out = p;
            return CVL_OK;
        }
    }
    const kernel_desc *k = &k_kernels[kernel];
    char what[160];
    describe_spec(what, sizeof what, k->name, spec);
    cvl_status st = cvl_vk_device_usable(dev, err);
    if (st != CVL_OK) return st;
    uint32_t local = spec->v[0] * (spec->n > 1 ? spec->v[1] : 1) * (spec->n > 2 ? spec->v[2] : 1);
    if (shared_bytes > dev->info.shared_memory || local > dev->info.max_invocations || local == 0)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED,
                           "shader %s needs %u bytes of shared memory and %u invocations; %s allows %u and %u",
                           what, shared_bytes, local, dev->info.name, dev->info.shared_memory,
                           dev->info.max_invocations);
    VkShaderModule module = VK_NULL_HANDLE;
    if ((st = get_module(&module, dev, kernel, err)) != CVL_OK) return st;
    if (ps->n == ps->cap) {
        uint32_t cap = ps->cap ? 2 * ps->cap : 16;
        cvl_vk_pipeline **list = realloc(ps->list, cap * sizeof *list);
        if (list == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
        ps->list = list;
        ps->cap = cap;
    }
    cvl_vk_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL) return cvl_err_set(err, CVL_ERR_NOMEM, "out of memory");
    *p = (cvl_vk_pipeline){.kernel = kernel, .name = k->name, .spec = *spec, .n_buffers = k->n_buffers,
                           .push_size = k->push_size, .shared_bytes = shared_bytes};
    VkResult r = build(dev, p, module);
    if (r != VK_SUCCESS) {
        destroy_pipeline(dev, p);
        cvl_err_set(err, CVL_ERR_UNSUPPORTED, "shader %s: pipeline build failed: %s", what, cvl_vk_result_name(r));
        return cvl_vk_check(dev, r, err, what);
    }
    ps->list[ps->n++] = p;
    *out = p;
    return CVL_OK;
}
