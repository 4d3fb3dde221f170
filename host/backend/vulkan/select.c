/* select.c -- `--device cpu|auto|vulkan|vulkan:N|vulkan:NAME` (device.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/device.h"

/* Lower is better; -1: never picked without being named. */
static int rank(const cvl_vk_device_info *d, bool allow_software) {
    if (d->unusable[0]) return -1;
    switch (d->type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return allow_software ? 4 : -1;
    default: return 3;
    }
}

static int best(const cvl_vk_instance *inst, bool allow_software) {
    int pick = -1, pick_rank = 1 << 30;
    for (uint32_t i = 0; inst && i < inst->n_devices; i++) {
        int r = rank(&inst->info[i], allow_software);
        if (r >= 0 && r < pick_rank) pick = (int)i, pick_rank = r;
    }
    return pick;
}

static bool contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return false;
}

static cvl_status pick_named(cvl_device_choice *out, const char *what, const cvl_vk_instance *inst,
                             const char *no_inst_why, cvl_err *err) {
    if (inst == NULL)
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "device vulkan:%s: %s", what, no_inst_why);
    char *end = NULL;
    long idx = strtol(what, &end, 10);
    int found = -1;
    if (end != what && *end == '\0') {
        if (idx < 0 || (uint32_t)idx >= inst->n_devices)
            return cvl_err_set(err, CVL_ERR_INVALID, "device vulkan:%s: no such device (%u Vulkan device%s)",
                               what, inst->n_devices, inst->n_devices == 1 ? "" : "s");
        found = (int)idx;
    } else {
        for (uint32_t i = 0; i < inst->n_devices && found < 0; i++)
            if (contains_nocase(inst->info[i].name, what) || contains_nocase(inst->info[i].driver_name, what))
                found = (int)i;
        if (found < 0)
            return cvl_err_set(err, CVL_ERR_INVALID, "device vulkan:%s: no Vulkan device has that name", what);
    }
    const cvl_vk_device_info *d = &inst->info[found];
    if (d->unusable[0])
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "device vulkan:%d (%s) %s", found, d->name, d->unusable);
    out->kind = CVL_DEVICE_VULKAN;
    out->index = (uint32_t)found;
    return CVL_OK;
}

cvl_status cvl_device_select(cvl_device_choice *out, const char *spec, const cvl_vk_instance *inst,
                             const char *no_inst_why, cvl_err *err) {
    memset(out, 0, sizeof *out);
    if (no_inst_why == NULL) no_inst_why = "no Vulkan instance";
    if (spec == NULL || strcmp(spec, "cpu") == 0) return CVL_OK;
    if (strncmp(spec, "vulkan:", 7) == 0 && spec[7] != '\0')
        return pick_named(out, spec + 7, inst, no_inst_why, err);
    bool is_auto = strcmp(spec, "auto") == 0;
    if (!is_auto && strcmp(spec, "vulkan") != 0)
        return cvl_err_set(err, CVL_ERR_INVALID,
                           "device '%s': expected cpu, auto, vulkan, vulkan:N or vulkan:NAME", spec);
    int pick = best(inst, !is_auto);
    if (pick >= 0) {
        out->kind = CVL_DEVICE_VULKAN;
        out->index = (uint32_t)pick;
        return CVL_OK;
    }
    if (!is_auto) {
        if (inst == NULL) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "device vulkan: %s", no_inst_why);
        if (inst->n_devices == 0) return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "device vulkan: no Vulkan device");
        return cvl_err_set(err, CVL_ERR_UNSUPPORTED, "device vulkan: %s %s", inst->info[0].name,
                           inst->info[0].unusable);
    }
    /* auto: the CPU backend, and say why once. */
    if (inst == NULL)
        snprintf(out->note, sizeof out->note, "%.200s; using the CPU", no_inst_why);
    else if (inst->n_devices == 0)
        snprintf(out->note, sizeof out->note, "no Vulkan device; using the CPU");
    else if (best(inst, true) >= 0)
        snprintf(out->note, sizeof out->note, "no Vulkan GPU (%.100s is software: name it, vulkan:%d, "
                 "to use it); using the CPU", inst->info[best(inst, true)].name, best(inst, true));
    else
        snprintf(out->note, sizeof out->note, "Vulkan device %.100s %.120s; using the CPU",
                 inst->info[0].name, inst->info[0].unusable);
    return CVL_OK;
}
