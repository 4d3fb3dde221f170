/* session.c -- opening a config's data, device and nets. */
#define _GNU_SOURCE
#include "train/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/graph_internal.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

const char *cvl_run_path(char *buf, size_t n, const char *run_dir, const char *name) {
    snprintf(buf, n, "%s/%s", run_dir, name);
    return buf;
}

cvl_status cvl_session_open(cvl_session *s, const cvl_registry *reg, const cvl_config *cfg, const char *device,
                            int threads, bool quiet, bool training, cvl_err *e) {
    memset(s, 0, sizeof *s);
    s->reg = reg;
    s->cfg = cfg;
    s->threads = threads;
    s->show = !quiet;
    s->tty = s->show && isatty(2);
    s->training = training;
    /* Data first: a bad dataset fails before any model work. */
    if (cvl_data_config_parse(&s->dc, cfg->root, cfg->source, e) != CVL_OK) return e->status;
    if (cvl_data_open(&s->data, &s->dc, e) != CVL_OK) return e->status;
    /* The resolved config names what the data layer filled in, so that a
     * run's config.json says which files and which input shape it used. */
    json_t *ds = json_object_get(cfg->root, "dataset");
    if (json_is_object(ds) && json_object_get(ds, "root") == NULL)
        json_object_set_new(ds, "root", json_string(s->dc.root));
    if (json_object_get(cfg->root, "input_shape") == NULL && s->data.input_shape[0] > 0)
        json_object_set_new(cfg->root, "input_shape", json_pack("[I,I,I]", (json_int_t)s->data.input_shape[0],
                                                                (json_int_t)s->data.input_shape[1],
                                                                (json_int_t)s->data.input_shape[2]));
    int64_t B = cvl_config_int(cfg, "train_batch_size");
    if (training && s->data.train->vt->size(s->data.train) < B)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: train_batch_size %lld is larger than the %lld training samples",
                           cfg->source, (long long)B, (long long)s->data.train->vt->size(s->data.train));
    if (cvl_device_open(&s->dev, device, s->show, e) != CVL_OK) return e->status;
    if (training) {
        if (cvl_net_build(&s->net, reg, cfg, &s->data, B, true, e) != CVL_OK) return e->status;
        s->be = cvl_device_backend(&s->dev, threads);
        if (s->be == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        if (cvl_backend_plan(s->be, s->net.g, e) != CVL_OK) return e->status;
    }
    return cvl_evaluator_init(&s->ev, reg, cfg, &s->dc, &s->data, &s->dev, threads, e);
}

void cvl_session_close(cvl_session *s) {
    cvl_evaluator_free(&s->ev);
    if (s->be) cvl_backend_free(s->be);
    cvl_net_free(&s->net);
    cvl_device_close(&s->dev);
    cvl_data_close(&s->data);
    cvl_data_config_free(&s->dc);
    memset(s, 0, sizeof *s);
}

const cvl_dataset *cvl_session_eval_split(const cvl_session *s, const char **name) {
    *name = s->data.eval_split;
    return s->data.eval;
}

void cvl_session_first_nonfinite(cvl_session *s, char *out, size_t n) {
    out[0] = '\0';
    const cvl_graph *g = s->net.g;
    for (int32_t i = 0; i < g->n; i++) {
        const cvl_tensor *t = g->nodes[i];
        if (t->op != CVL_OPK_PARAM && t->op != CVL_OPK_BUFFER) continue;
        if (t->dtype != CVL_DTYPE_F32) continue;
        size_t k = cvl_tensor_numel(t);
        float *buf = malloc(k * sizeof *buf);
        cvl_err e = {0};
        bool bad = false;
        if (buf && cvl_backend_read(s->be, t, buf, k * sizeof *buf, &e) == CVL_OK)
            for (size_t j = 0; j < k && !bad; j++) bad = !isfinite(buf[j]);
        free(buf);
        if (bad) {
            snprintf(out, n, "%s", t->name);
            return;
        }
    }
}

/* ----------------------------------------------------- locating runs */

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

cvl_status cvl_locate_run(const char *run_or_ckpt, json_t **config, char *weights, size_t n, cvl_err *e) {
    *config = NULL;
    struct stat sb;
    if (stat(run_or_ckpt, &sb) != 0)
        return cvl_err_set(e, CVL_ERR_IO, "%s: no such run directory or checkpoint", run_or_ckpt);
    if (S_ISREG(sb.st_mode)) {
        snprintf(weights, n, "%s", run_or_ckpt);
        *config = cvl_ckpt_config(run_or_ckpt, e);
        return e->status;
    }
    char p[1200];
    snprintf(p, sizeof p, "%s/checkpoints/best.safetensors", run_or_ckpt);
    if (!is_file(p)) snprintf(p, sizeof p, "%s/checkpoints/last.safetensors", run_or_ckpt);
    if (!is_file(p))
        return cvl_err_set(e, CVL_ERR_IO, "%s: no checkpoints/best.safetensors or last.safetensors in this run",
                           run_or_ckpt);
    snprintf(weights, n, "%s", p);
    snprintf(p, sizeof p, "%s/config.json", run_or_ckpt);
    json_error_t je;
    *config = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
    if (*config == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s", p, je.text);
    return CVL_OK;
}
