/* checkpoint.c -- checkpoints and weights as safetensors. */
#include "train/checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_internal.h"
#include "io/safetensors.h"
#include "util/strutil.h"

static bool is_state(const cvl_tensor *t) { return t->op == CVL_OPK_PARAM || t->op == CVL_OPK_BUFFER; }
static bool is_optim(const char *name) { return strncmp(name, "optim.", 6) == 0; }

static bool st_dtype(cvl_st_dtype *out, cvl_dtype dt) {
    switch (dt) {
    case CVL_DTYPE_F32: *out = CVL_ST_F32; return true;
    case CVL_DTYPE_I32: *out = CVL_ST_I32; return true;
    case CVL_DTYPE_I64: *out = CVL_ST_I64; return true;
    default: return false;
    }
}

static void meta_int(cvl_st_writer *w, const char *key, int64_t v, cvl_err *e) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cvl_st_writer_meta(w, key, buf, e);
}

cvl_status cvl_ckpt_save(const char *path, cvl_backend *be, const cvl_graph *g, bool with_optimizer,
                         const cvl_ckpt_state *state, const json_t *config, cvl_err *e) {
    size_t total = 0;
    for (int32_t i = 0; i < g->n; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (is_state(t) && (with_optimizer || !is_optim(t->name))) total += (cvl_tensor_nbytes(t) + 7) & ~(size_t)7;
    }
    uint8_t *arena = malloc(total ? total : 1);
    cvl_st_writer *w = cvl_st_writer_new();
    if (arena == NULL || w == NULL) {
        free(arena);
        cvl_st_writer_free(w);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory for %zu bytes of weights", path, total);
    }
    size_t off = 0;
    for (int32_t i = 0; i < g->n && e->status == CVL_OK; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (!is_state(t) || (!with_optimizer && is_optim(t->name))) continue;
        cvl_st_dtype dt;
        if (!st_dtype(&dt, t->dtype)) {
            cvl_err_set(e, CVL_ERR_UNSUPPORTED, "%s: tensor %s has a dtype checkpoints do not hold", path, t->name);
            break;
        }
        size_t nb = cvl_tensor_nbytes(t);
        if (cvl_backend_read(be, t, arena + off, nb, e) != CVL_OK) break;
        cvl_st_writer_add(w, t->name, dt, t->ndim, t->shape, arena + off, e);
        off += (nb + 7) & ~(size_t)7;
    }
    cvl_st_writer_meta(w, "format", "cvl", e);
    if (state) {
        meta_int(w, "cvl.step", state->step, e);
        meta_int(w, "cvl.epoch", state->epoch, e);
        meta_int(w, "cvl.batch", state->batch, e);
        meta_int(w, "cvl.seed", (int64_t)state->seed, e);
        meta_int(w, "cvl.since_best", state->since_best, e);
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", state->best);
        cvl_st_writer_meta(w, "cvl.best", buf, e);
    }
    if (config) {
        char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        if (text) cvl_st_writer_meta(w, "cvl.config", text, e);
        free(text);
    }
    if (e->status == CVL_OK) cvl_st_writer_save(w, path, e);
    cvl_st_writer_free(w);
    free(arena);
    return e->status;
}

/* The model name of file tensor `name` under `map` (longest prefix wins). */
static const char *mapped(char *buf, size_t n, const char *name, const json_t *map) {
    const char *best = NULL, *to = NULL;
    size_t best_len = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        size_t len = strlen(key);
        if (json_is_string(v) && strncmp(name, key, len) == 0 && (best == NULL || len > best_len)) {
            best = key;
            best_len = len;
            to = json_string_value(v);
        }
    }
    if (best == NULL) return name;
    snprintf(buf, n, "%s%s", to, name + best_len);
    return buf;
}

static bool wanted(const cvl_tensor *t, cvl_ckpt_mode mode) {
    return is_state(t) && (mode == CVL_CKPT_RESUME || !is_optim(t->name));
}

static int64_t meta_i64(const cvl_st_file *f, const char *key, int64_t dflt) {
    const char *v = cvl_st_meta(f, key);
    if (v == NULL) return dflt;
    char *end;
    long long x = strtoll(v, &end, 10);
    return *end == '\0' && end != v ? (int64_t)x : dflt;
}

/* Suggestion for a file tensor the model does not have. */
static const char *nearest(const cvl_graph *g, const char *name, cvl_ckpt_mode mode) {
    const char **names = malloc((size_t)g->n * sizeof *names);
    if (names == NULL) return NULL;
    size_t n = 0;
    for (int32_t i = 0; i < g->n; i++)
        if (wanted(g->nodes[i], mode)) names[n++] = g->nodes[i]->name;
    const char *near = cvl_closest(name, names, n);
    free(names);
    return near;
}

cvl_status cvl_ckpt_load(const char *path, cvl_backend *be, const cvl_graph *g, cvl_ckpt_mode mode, const json_t *map,
                         cvl_ckpt_state *state, json_t **config_out, cvl_err *e) {
    if (config_out) *config_out = NULL;
    cvl_st_file *f;
    if (cvl_st_open(&f, path, e) != CVL_OK) return e->status;
    if (mode == CVL_CKPT_RESUME && cvl_st_meta(f, "cvl.step") == NULL) {
        cvl_st_close(f);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: not a cvlization checkpoint (no cvl.step in the metadata)", path);
    }
    bool *seen = calloc((size_t)g->n + 1, sizeof *seen);
    size_t cap = 0;
    for (int32_t i = 0; i < g->n; i++)
        if (wanted(g->nodes[i], mode) && cvl_tensor_nbytes(g->nodes[i]) > cap) cap = cvl_tensor_nbytes(g->nodes[i]);
    void *buf = malloc(cap ? cap : 1);
    if (seen == NULL || buf == NULL) cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    for (int32_t i = 0; i < cvl_st_count(f) && e->status == CVL_OK; i++) {
        const cvl_st_tensor *ft = cvl_st_at(f, i);
        char nbuf[512];
        const char *name = map ? mapped(nbuf, sizeof nbuf, ft->name, map) : ft->name;
        const char *as = name == ft->name ? "" : " (mapped to ";
        if (mode == CVL_CKPT_WEIGHTS && is_optim(name)) continue;
        cvl_tensor *t = cvl_graph_find(g, name);
        if (t == NULL || !wanted(t, mode)) {
            const char *near = nearest(g, name, mode);
            cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor %s%s%s%s is not in the model%s%s%s", path, ft->name, as,
                        *as ? name : "", *as ? ")" : "", near ? " (did you mean " : "", near ? near : "",
                        near ? "?)" : "");
            break;
        }
        cvl_st_dtype want = CVL_ST_F32;
        st_dtype(&want, t->dtype);
        if (ft->dtype != want) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor %s is %s, the model's %s is %s", path, ft->name,
                        cvl_st_dtype_name(ft->dtype), name, cvl_st_dtype_name(want));
            break;
        }
        /* PyTorch's num_batches_tracked is 0-d; ours has shape (1). */
        bool scalar_ok = ft->ndim == 0 && t->ndim == 1 && t->shape[0] == 1;
        bool same = ft->ndim == t->ndim;
        for (int32_t d = 0; same && d < t->ndim; d++) same = ft->shape[d] == t->shape[d];
        if (!same && !scalar_ok) {
            char have[128] = "(", need[128];
            for (int32_t d = 0; d < ft->ndim; d++) {
                size_t l = strlen(have);
                snprintf(have + l, sizeof have - l, "%s%" PRId64, d ? ", " : "", ft->shape[d]);
            }
            size_t l = strlen(have);
            snprintf(have + l, sizeof have - l, ")");
            cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor %s has shape %s, the model's %s has %s", path, ft->name, have,
                        name, cvl_shape_str(t, need, sizeof need));
            break;
        }
        if (seen[t->id]) {
            cvl_err_set(e, CVL_ERR_INVALID, "%s: two tensors map to %s (the second is %s)", path, name, ft->name);
            break;
        }
        seen[t->id] = true;
        memcpy(buf, ft->data, ft->nbytes); /* the file's data may be unaligned */
        cvl_backend_write(be, t, buf, ft->nbytes, e);
    }
    for (int32_t i = 0; i < g->n && e->status == CVL_OK; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (wanted(t, mode) && !seen[t->id])
            cvl_err_set(e, CVL_ERR_INVALID, "%s: tensor %s is missing (the model has it)", path, t->name);
    }
    if (e->status == CVL_OK && state) {
        memset(state, 0, sizeof *state);
        state->step = meta_i64(f, "cvl.step", 0);
        state->epoch = meta_i64(f, "cvl.epoch", 1);
        state->batch = meta_i64(f, "cvl.batch", 0);
        state->seed = (uint64_t)meta_i64(f, "cvl.seed", 0);
        state->since_best = meta_i64(f, "cvl.since_best", 0);
        const char *b = cvl_st_meta(f, "cvl.best");
        state->best = b ? strtod(b, NULL) : NAN;
        if (state->step < 0 || state->epoch < 1 || state->batch < 0)
            cvl_err_set(e, CVL_ERR_INVALID, "%s: cvl.step, cvl.epoch or cvl.batch out of range in the metadata", path);
    }
    if (e->status == CVL_OK && config_out) {
        const char *text = cvl_st_meta(f, "cvl.config");
        if (text) {
            json_error_t je;
            *config_out = json_loads(text, 0, &je);
            if (*config_out == NULL || !json_is_object(*config_out))
                cvl_err_set(e, CVL_ERR_INVALID, "%s: cvl.config in the metadata is not a JSON object", path);
        }
    }
    free(seen);
    free(buf);
    cvl_st_close(f);
    return e->status;
}

json_t *cvl_ckpt_config(const char *path, cvl_err *e) {
    cvl_st_file *f;
    if (cvl_st_open(&f, path, e) != CVL_OK) return NULL;
    const char *text = cvl_st_meta(f, "cvl.config");
    json_t *cfg = NULL;
    if (text == NULL) {
        cvl_err_set(e, CVL_ERR_INVALID, "%s: holds no config (cvl.config in the metadata); give the config instead",
                    path);
    } else {
        json_error_t je;
        cfg = json_loads(text, 0, &je);
        if (cfg == NULL || !json_is_object(cfg)) {
            json_decref(cfg);
            cfg = NULL;
            cvl_err_set(e, CVL_ERR_INVALID, "%s: cvl.config in the metadata is not a JSON object", path);
        }
    }
    cvl_st_close(f);
    return cfg;
}
