/* Instance, device inventory and `--device` selection on lavapipe. */
#include <string.h>

#include "vk_test.h"

static int find_software(void) {
    for (uint32_t i = 0; i < vk_inst->n_devices; i++)
        if (vk_inst->info[i].type == VK_PHYSICAL_DEVICE_TYPE_CPU && !vk_inst->info[i].unusable[0]) return (int)i;
    return -1;
}

static void test_inventory(void) {
    int sw = find_software();
    CHECK(sw >= 0, "lavapipe is listed (%u devices)", vk_inst->n_devices);
    if (sw < 0) return;
    const cvl_vk_device_info *d = &vk_inst->info[sw];
    CHECK(d->index == (uint32_t)sw, "index recorded");
    CHECK_STR_CONTAINS(d->name, "llvmpipe", "lavapipe's name");
    CHECK(strcmp(d->driver_name, "llvmpipe") == 0, "driver name '%s'", d->driver_name);
    CHECK(VK_API_VERSION_MINOR(d->api_version) >= 1, "API version 1.%u", VK_API_VERSION_MINOR(d->api_version));
    CHECK(d->subgroup_size >= 4 && (d->subgroup_size & (d->subgroup_size - 1)) == 0, "subgroup size %u",
          d->subgroup_size);
    CHECK(d->subgroup_arithmetic, "subgroup arithmetic");
    CHECK(d->shared_memory >= 16384, "shared memory %u", d->shared_memory);
    CHECK(d->max_storage_range >= (1u << 27), "max storage range %llu", (unsigned long long)d->max_storage_range);
    CHECK(d->n_heaps >= 1 && d->heap_size[0] > (64ull << 20), "memory heap of %llu bytes",
          (unsigned long long)d->heap_size[0]);
    CHECK(d->fp16 && d->storage16, "fp16 arithmetic and 16-bit storage");
    CHECK(!d->coopmat, "no cooperative matrix on lavapipe");
    CHECK(d->storage_align >= 4 && d->storage_align <= 256, "storage alignment %llu",
          (unsigned long long)d->storage_align);
}

static void test_select(void) {
    int sw = find_software();
    cvl_device_choice ch;
    cvl_err e = {0};
    bool has_gpu = false;
    for (uint32_t i = 0; i < vk_inst->n_devices; i++)
        has_gpu |= vk_inst->info[i].type != VK_PHYSICAL_DEVICE_TYPE_CPU && !vk_inst->info[i].unusable[0];
    CHECK(cvl_device_select(&ch, "cpu", vk_inst, NULL, &e) == CVL_OK && ch.kind == CVL_DEVICE_CPU, "cpu");
    CHECK(cvl_device_select(&ch, "auto", vk_inst, NULL, &e) == CVL_OK, "auto");
    if (!has_gpu) {
        CHECK(ch.kind == CVL_DEVICE_CPU, "auto never picks lavapipe");
        CHECK_STR_CONTAINS(ch.note, "software", "auto says why it fell back");
        CHECK_STR_CONTAINS(ch.note, "using the CPU", "auto says where it went");
    } else {
        CHECK(ch.kind == CVL_DEVICE_VULKAN && vk_inst->info[ch.index].type != VK_PHYSICAL_DEVICE_TYPE_CPU, "auto: a GPU");
    }
    CHECK(cvl_device_select(&ch, "vulkan", vk_inst, NULL, &e) == CVL_OK && ch.kind == CVL_DEVICE_VULKAN,
          "vulkan picks a device (%s)", e.msg);
    char spec[32];
    snprintf(spec, sizeof spec, "vulkan:%d", sw);
    CHECK(cvl_device_select(&ch, spec, vk_inst, NULL, &e) == CVL_OK && ch.index == (uint32_t)sw, "%s", spec);
    CHECK(cvl_device_select(&ch, "vulkan:LLVMpipe", vk_inst, NULL, &e) == CVL_OK && ch.index == (uint32_t)sw,
          "vulkan:LLVMpipe by name, any case");
    cvl_err_clear(&e);
    CHECK(cvl_device_select(&ch, "vulkan:99", vk_inst, NULL, &e) == CVL_ERR_INVALID, "vulkan:99 refused");
    CHECK_STR_CONTAINS(e.msg, "vulkan:99: no such device", "names the index");
    cvl_err_clear(&e);
    CHECK(cvl_device_select(&ch, "vulkan:nosuchgpu", vk_inst, NULL, &e) == CVL_ERR_INVALID, "unknown name refused");
    CHECK_STR_CONTAINS(e.msg, "vulkan:nosuchgpu: no Vulkan device has that name", "names the name");
    cvl_err_clear(&e);
    CHECK(cvl_device_select(&ch, "gpu", vk_inst, NULL, &e) == CVL_ERR_INVALID, "a bad spec is refused");
    CHECK_STR_CONTAINS(e.msg, "device 'gpu': expected cpu, auto, vulkan", "lists the choices");
    /* no loader / no instance: auto falls back, vulkan fails, both say why */
    cvl_err_clear(&e);
    CHECK(cvl_device_select(&ch, "auto", NULL, "no Vulkan loader: libvulkan.so.1: cannot open", &e) == CVL_OK &&
              ch.kind == CVL_DEVICE_CPU, "auto without a loader: cpu");
    CHECK(strcmp(ch.note, "no Vulkan loader: libvulkan.so.1: cannot open; using the CPU") == 0, "note: %s", ch.note);
    CHECK(cvl_device_select(&ch, "vulkan", NULL, "no Vulkan loader: x", &e) == CVL_ERR_UNSUPPORTED, "vulkan without a loader");
    CHECK(strcmp(e.msg, "device vulkan: no Vulkan loader: x") == 0, "error: %s", e.msg);
    /* a device lacking what the shaders need is refused by name, skipped by auto */
    if (sw >= 0) {
        cvl_vk_device_info saved = vk_inst->info[sw];
        snprintf(vk_inst->info[sw].unusable, sizeof saved.unusable, "lacks subgroup arithmetic in compute shaders");
        cvl_err_clear(&e);
        CHECK(cvl_device_select(&ch, spec, vk_inst, NULL, &e) == CVL_ERR_UNSUPPORTED, "unusable device refused");
        CHECK_STR_CONTAINS(e.msg, "lacks subgroup arithmetic", "with the reason");
        CHECK(cvl_device_select(&ch, "auto", vk_inst, NULL, &e) == CVL_OK, "auto still succeeds");
        vk_inst->info[sw] = saved;
    }
}

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev) {
        test_inventory();
        test_select();
        CHECK(cvl_vk_device_usable(dev, NULL) == CVL_OK, "device usable");
        cvl_vk_device_free(dev);
    }
    return vk_test_finish();
}
