/* vk_backend.c -- the Vulkan backend behind host/core/backend.h.
 *
 * plan(): the shared planner places every node in the persistent region or
 * the activation arena; each region is one device allocation, each tensor a
 * view (offset, count) into it. Initial values are computed on the host
 * (the same cvl_init_values as the CPU backend, so both start from the same
 * weights) and uploaded once.
 * run(first, last): the dispatches for nodes [first, last) are recorded
 * into one command buffer the first time that range runs and replayed
 * after; the learning rate and step live in a small scalar buffer, so a
 * schedule never re-records. Barriers come from the recorder's dependency
 * tracking (exec.h).
 *
 * Every op the CPU backend runs, forward and backward (vk_record.c maps
 * each node onto the ops of ops.h). plan() refuses a node it cannot run
 * (a non-square global pool) with a message naming it and the node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

typedef cvl_vkb vk_backend;

static cvl_status alloc_region(vk_backend *b, int r, size_t bytes, cvl_err *e) {
    if (bytes == 0) bytes = 64;
    cvl_status st = cvl_vk_alloc(&b->region[r], b->dev, bytes, r ? "parameters and state" : "activations", e);
    b->have_region[r] = st == CVL_OK;
    return st;
}

static cvl_status vk_plan(cvl_backend *base, cvl_graph *g, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    if (g->err.status) return cvl_err_set(e, g->err.status, "%s", g->err.msg);
    for (int32_t i = 0; i < g->n; i++) {
        const char *why = NULL;
        if (!cvl_vkb_supported(g->nodes[i], &why))
            return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "vulkan: node %d (%s) is not implemented on Vulkan yet: %s", i,
                               cvl_opk_name(g->nodes[i]->op), why ? why : "");
    }
    size_t pers, arena, acts;
    cvl_status st = cvl_plan_memory(g, &pers, &arena, &acts, e);
    if (st == CVL_OK) st = alloc_region(b, 0, arena, e);
    if (st == CVL_OK) st = alloc_region(b, 1, pers, e);
    if (st) return st;
    b->sizes[0] = arena;
    b->sizes[1] = pers;
    b->activations = acts;
    size_t rows = (size_t)cvl_vkb_ones_need(g);
    b->scratch_count = (size_t)cvl_vkb_scratch_need(b, g);
    st = cvl_vk_alloc(&b->scalars, b->dev, 16 * sizeof(float), "step scalars", e);
    if (st == CVL_OK) st = cvl_vk_alloc(&b->ones, b->dev, rows * sizeof(float), "ones", e);
    if (st == CVL_OK) st = cvl_vk_alloc(&b->scratch, b->dev, b->scratch_count * sizeof(float), "scratch", e);
    if (st) return st;
    b->ones_count = rows;
    float *ones = malloc(rows * sizeof *ones);
    if (ones == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rows; i++) ones[i] = 1.0f;
    st = cvl_vk_upload(b->dev, &b->ones, 0, ones, rows * sizeof *ones, e);
    free(ones);
    base->graph = g;
    /* Initial values, computed as the CPU backend does. */
    for (int32_t i = 0; i < g->n && st == CVL_OK; i++) {
        cvl_tensor *t = g->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER && t->op != CVL_OPK_CONST) continue;
        size_t nb = cvl_tensor_nbytes(t);
        void *host = malloc(nb ? nb : 1);
        if (host == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        if (t->op == CVL_OPK_CONST) memcpy(host, t->const_data, nb);
        else cvl_init_values(t, g->seed, host);
        st = cvl_vk_upload(b->dev, &b->region[t->region], t->offset, host, nb, e);
        free(host);
    }
    return st;
}

static cvl_status vk_run(cvl_backend *base, int32_t first, int32_t last, const cvl_step_scalars *sc, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_graph *g = base->graph;
    if (g == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "vulkan: run before plan");
    if (first < 0) first = 0;
    if (last > g->n) last = g->n;
    /* slots: ops.h CVL_VK_SLOT_*; the floats as bits, the 64-bit values as word pairs */
    float f[4] = {(float)sc->lr, (float)sc->step, 1.0f, sc->training ? 1.0f : 0.0f};
    uint32_t s[16] = {0};
    memcpy(s, f, sizeof f);
    s[CVL_VK_SLOT_SEED] = (uint32_t)sc->seed;
    s[CVL_VK_SLOT_SEED + 1] = (uint32_t)(sc->seed >> 32);
    s[CVL_VK_SLOT_STEP64] = (uint32_t)(uint64_t)sc->step;
    s[CVL_VK_SLOT_STEP64 + 1] = (uint32_t)((uint64_t)sc->step >> 32);
    cvl_status st = cvl_vk_upload(b->dev, &b->scalars, 0, s, sizeof s, e);
    if (st) return st;
    cvl_vk_seq *seq = NULL;
    for (int i = 0; i < b->n_seqs; i++)
        if (b->seqs[i].first == first && b->seqs[i].last == last) seq = b->seqs[i].seq;
    if (seq == NULL) {
        char label[64];
        snprintf(label, sizeof label, "graph nodes %d..%d", first, last);
        st = cvl_vk_seq_new(&seq, b->dev, label, e);
        for (int32_t i = first; i < last && st == CVL_OK; i++) st = cvl_vkb_record(b, seq, g->nodes[i], e);
        if (st == CVL_OK) st = cvl_vk_seq_end(seq, e);
        if (st) {
            cvl_vk_seq_free(seq);
            return st;
        }
        if (b->n_seqs == CVL_VKB_MAX_SEQS) {
            cvl_vk_seq_free(b->seqs[0].seq);
            memmove(&b->seqs[0], &b->seqs[1], (CVL_VKB_MAX_SEQS - 1) * sizeof b->seqs[0]);
            b->n_seqs--;
        }
        b->seqs[b->n_seqs++] = (cvl_vkb_recorded){first, last, seq};
    }
    return cvl_vk_seq_run(seq, e);
}

static cvl_status vk_write(cvl_backend *base, const cvl_tensor *t, const void *data, size_t bytes, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "vulkan", true, e);
    if (bad) return bad;
    return cvl_vk_upload(b->dev, &b->region[t->region], t->offset, data, bytes, e);
}

static cvl_status vk_read(cvl_backend *base, const cvl_tensor *t, void *data, size_t bytes, cvl_err *e) {
    vk_backend *b = (vk_backend *)base;
    cvl_status bad = cvl_backend_check_bytes(t, bytes, "vulkan", false, e);
    if (bad) return bad;
    return cvl_vk_download(b->dev, data, &b->region[t->region], t->offset, bytes, e);
}

static void vk_stats(const cvl_backend *base, cvl_plan_stats *out) {
    const vk_backend *b = (const vk_backend *)base;
    *out = (cvl_plan_stats){.persistent_bytes = b->sizes[1], .arena_bytes = b->sizes[0], .activation_bytes = b->activations};
}

static void vk_free(cvl_backend *base) {
    vk_backend *b = (vk_backend *)base;
    for (int i = 0; i < b->n_seqs; i++) cvl_vk_seq_free(b->seqs[i].seq);
    for (int r = 0; r < 2; r++)
        if (b->have_region[r]) cvl_vk_release(b->dev, &b->region[r]);
    if (b->scalars.size) cvl_vk_release(b->dev, &b->scalars);
    if (b->ones.size) cvl_vk_release(b->dev, &b->ones);
    if (b->scratch.size) cvl_vk_release(b->dev, &b->scratch);
    free(b);
}

static const cvl_backend_ops vk_ops = {
    .name = "vulkan", .plan = vk_plan, .run = vk_run, .write = vk_write, .read = vk_read,
    .stats = vk_stats, .free = vk_free,
};

cvl_backend *cvl_backend_vulkan_new(cvl_vk_device *dev) {
    vk_backend *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->base.ops = &vk_ops;
    b->dev = dev;
    return &b->base;
}
