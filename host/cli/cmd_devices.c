/* cmd_devices.c -- `cvl-host --devices [--json] [--select SPEC]`: the CPU
 * backend and every Vulkan device, with what the shaders care about, and
 * what `--device SPEC` (default auto) would pick. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/device.h"
#include "cli/cli.h"

static void api_str(char *buf, size_t n, uint32_t v) {
    snprintf(buf, n, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static void size_str(char *buf, size_t n, uint64_t bytes) {
    if (bytes >= (1ull << 30)) snprintf(buf, n, "%.1f GiB", (double)bytes / (double)(1ull << 30));
    else if (bytes >= (1ull << 20)) snprintf(buf, n, "%.0f MiB", (double)bytes / (double)(1ull << 20));
    else snprintf(buf, n, "%.0f KiB", (double)bytes / 1024.0);
}

static json_t *device_json(const cvl_vk_device_info *d) {
    char api[32];
    api_str(api, sizeof api, d->api_version);
    json_t *heaps = json_array();
    for (uint32_t h = 0; h < d->n_heaps; h++)
        json_array_append_new(heaps, json_pack("{s:I, s:b}", "bytes", (json_int_t)d->heap_size[h], "device_local",
                                               d->heap_device_local[h]));
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "kind", "vulkan", "index",
                          (json_int_t)d->index, "name", d->name, "type", cvl_vk_device_type_name(d->type),
                          "driver_name", d->driver_name, "driver_info", d->driver_info, "api_version", api,
                          "vendor_id", (json_int_t)d->vendor_id, "device_id", (json_int_t)d->device_id);
    json_object_set_new(o, "memory_heaps", heaps);
    json_object_set_new(o, "subgroup_size", json_integer(d->subgroup_size));
    json_object_set_new(o, "shared_memory_bytes", json_integer(d->shared_memory));
    json_object_set_new(o, "max_storage_buffer_range", json_integer((json_int_t)d->max_storage_range));
    json_object_set_new(o, "max_allocation", json_integer((json_int_t)d->max_allocation));
    json_object_set_new(o, "fp16", json_boolean(d->fp16));
    json_object_set_new(o, "storage_16bit", json_boolean(d->storage16));
    json_object_set_new(o, "cooperative_matrix", json_boolean(d->coopmat));
    json_object_set_new(o, "usable", json_boolean(d->unusable[0] == '\0'));
    if (d->unusable[0]) json_object_set_new(o, "unusable_reason", json_string(d->unusable));
    return o;
}

static void device_text(const cvl_vk_device_info *d, FILE *out) {
    char api[32], sz[32], sh[32], rg[32];
    api_str(api, sizeof api, d->api_version);
    fprintf(out, "vulkan:%-3u %s\n", d->index, d->name);
    fprintf(out, "           type %s, Vulkan %s, driver %s%s%s%s\n", cvl_vk_device_type_name(d->type), api,
            d->driver_name[0] ? d->driver_name : "(unknown)", d->driver_info[0] ? " (" : "", d->driver_info,
            d->driver_info[0] ? ")" : "");
    fprintf(out, "           memory:");
    for (uint32_t h = 0; h < d->n_heaps; h++) {
        size_str(sz, sizeof sz, d->heap_size[h]);
        fprintf(out, "%s heap %u %s%s", h ? "," : "", h, sz, d->heap_device_local[h] ? " device-local" : "");
    }
    size_str(sh, sizeof sh, d->shared_memory);
    size_str(rg, sizeof rg, d->max_storage_range);
    fprintf(out, "\n           subgroup %u, shared memory %s, max storage buffer range %s\n", d->subgroup_size, sh, rg);
    fprintf(out, "           fp16 %s, 16-bit storage %s, cooperative matrix %s\n", d->fp16 ? "yes" : "no",
            d->storage16 ? "yes" : "no", d->coopmat ? "yes" : "no");
    if (d->unusable[0]) fprintf(out, "           unusable: %s\n", d->unusable);
}

int cvl_cmd_devices(cvl_cli *cli, int argc, char **argv) {
    (void)cli;
    bool as_json = false;
    const char *spec = "auto";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (strcmp(argv[i], "--select") == 0 && i + 1 < argc) {
            spec = argv[++i];
        } else {
            fprintf(stderr, "cvl-host: --devices: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    cvl_err ierr = {0}, serr = {0};
    cvl_vk_instance *inst = NULL;
    cvl_vk_instance_new(&inst, NULL, &ierr);
    cvl_device_choice ch;
    cvl_status st = cvl_device_select(&ch, spec, inst, ierr.msg, &serr);
    char picked[300];
    if (st == CVL_OK && ch.kind == CVL_DEVICE_VULKAN)
        snprintf(picked, sizeof picked, "vulkan:%u (%s)", ch.index, inst->info[ch.index].name);
    else
        snprintf(picked, sizeof picked, "cpu");
    if (as_json) {
        json_t *devs = json_array();
        json_array_append_new(devs, json_pack("{s:s, s:s}", "kind", "cpu", "name", "cpu"));
        for (uint32_t i = 0; inst && i < inst->n_devices; i++) json_array_append_new(devs, device_json(&inst->info[i]));
        json_t *root = json_pack("{s:o}", "devices", devs);
        if (inst == NULL) json_object_set_new(root, "vulkan_error", json_string(ierr.msg));
        json_object_set_new(root, "select", json_string(spec));
        json_object_set_new(root, st == CVL_OK ? "selected" : "select_error",
                            json_string(st == CVL_OK ? picked : serr.msg));
        if (st == CVL_OK && ch.note[0]) json_object_set_new(root, "note", json_string(ch.note));
        char *text = json_dumps(root, JSON_INDENT(2));
        if (text) puts(text);
        free(text);
        json_decref(root);
    } else {
        printf("cpu        the CPU backend (OpenBLAS)\n");
        if (inst == NULL) printf("vulkan     %s\n", ierr.msg);
        else if (inst->n_devices == 0) printf("vulkan     no Vulkan device\n");
        for (uint32_t i = 0; inst && i < inst->n_devices; i++) device_text(&inst->info[i], stdout);
        if (st == CVL_OK) printf("--device %s: %s%s%s\n", spec, picked, ch.note[0] ? ": " : "", ch.note);
    }
    cvl_vk_instance_free(inst);
    if (st != CVL_OK) {
        fprintf(stderr, "cvl-host: %s\n", serr.msg);
        return 1;
    }
    return 0;
}
