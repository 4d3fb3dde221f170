#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"

typedef struct slot slot;

struct cvl_loader {
    const cvl_dataset *ds;
    cvl_loader_opts o;
    cvl_transform *tf;
    cvl_data_decl out[CVL_DATA_MAX_IO]; /* inputs as batches hold them */
    /* Image inputs are read into a staging area of the worker's scratch
     * (they may grow or shrink on the way), transformed there, then copied
     * into the batch; other inputs are read straight into the batch. */
    int64_t stage_off[CVL_DATA_MAX_IO], tmp_off, scratch_len;
    int64_t n, *perm, n_batches;
    uint64_t epoch;
    slot *ring;
    int n_ring;
    float *sync_scratch;
    /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t claimed, handed, released, open_batches;
    int inflight, stop;
    pthread_t *threads;
    int n_threads;
};

static int staged(const cvl_loader *ld, int i) { return ld->stage_off[i] >= 0; }

static cvl_status batch_alloc(cvl_batch *b, const cvl_loader *ld) {
    const cvl_dataset *ds = ld->ds;
    int64_t batch = ld->o.batch;
    memset(b, 0, sizeof *b);
    b->n_inputs = ds->n_inputs, b->n_targets = ds->n_targets;
    memcpy(b->input_decl, ld->out, sizeof b->input_decl);
    memcpy(b->target_decl, ds->targets, sizeof b->target_decl);
    int ok = (b->index = malloc((size_t)batch * sizeof *b->index)) != NULL;
    for (int i = 0; i < ds->n_inputs; i++)
        ok &= (b->inputs[i] = malloc((size_t)(batch * cvl_data_decl_floats(&ld->out[i])) * sizeof(float))) != NULL;
    for (int t = 0; t < ds->n_targets; t++) {
        const cvl_data_decl *d = &ds->targets[t];
        if (cvl_data_is_float_target(d)) ok &= (b->values[t] = malloc((size_t)(batch * d->f) * sizeof(float))) != NULL;
        else ok &= (b->labels[t] = malloc((size_t)batch * sizeof(int32_t))) != NULL;
    }
    return ok ? CVL_OK : CVL_ERR_NOMEM;
}

static void batch_free(cvl_batch *b) {
    for (int i = 0; i < CVL_DATA_MAX_IO; i++) {
        free(b->inputs[i]);
        free(b->labels[i]);
        free(b->values[i]);
    }
    free(b->index);
    memset(b, 0, sizeof *b);
}

static cvl_status batch_fill(cvl_batch *b, float *scratch, const cvl_loader *ld, const int64_t *idx, int64_t n,
                             cvl_err *e) {
    const cvl_dataset *ds = ld->ds;
    b->n = n;
    for (int64_t s = 0; s < n; s++) {
        cvl_sample smp;
        memset(&smp, 0, sizeof smp);
        for (int i = 0; i < ds->n_inputs; i++)
            smp.inputs[i] = staged(ld, i) ? scratch + ld->stage_off[i]
                                          : b->inputs[i] + s * cvl_data_decl_floats(&ld->out[i]);
        for (int t = 0; t < ds->n_targets; t++)
            if (b->values[t] != NULL) smp.values[t] = b->values[t] + s * ds->targets[t].f;
        cvl_status st = ds->vt->get_sample(&smp, ds, idx[s], e);
        if (st != CVL_OK) return st;
        for (int t = 0; t < ds->n_targets; t++)
            if (b->labels[t] != NULL) b->labels[t][s] = smp.labels[t];
        b->index[s] = idx[s];
        for (int i = 0; i < ds->n_inputs; i++) {
            if (!staged(ld, i)) continue;
            const cvl_data_decl *d = &ds->inputs[i];
            int64_t shape[3] = {d->c, d->h, d->w}, m = cvl_data_decl_floats(&ld->out[i]);
            /* input i gets its own streams so two images of a sample differ */
            cvl_transform_apply(smp.inputs[i], scratch + ld->tmp_off, ld->tf, ld->o.n_tf, shape, ld->o.training,
                                ld->o.seed + (uint64_t)i * 0x1000193u, ld->epoch, (uint64_t)idx[s]);
            memcpy(b->inputs[i] + s * m, smp.inputs[i], (size_t)m * sizeof(float));
        }
    }
    return CVL_OK;
}

/* The batch shapes and the scratch layout (see struct cvl_loader). */
static cvl_status plan(cvl_loader *ld, cvl_err *e) {
    const cvl_dataset *ds = ld->ds;
    int64_t off = 0, tmp = 1;
    for (int i = 0; i < ds->n_inputs; i++) {
        const cvl_data_decl *d = &ds->inputs[i];
        ld->out[i] = *d;
        ld->stage_off[i] = -1;
        if (d->kind != CVL_DATA_IMAGE || ld->o.n_tf == 0) continue;
        int64_t in[3] = {d->c, d->h, d->w}, o[3], m;
        cvl_status st = cvl_transform_shape(o, &m, ld->o.tf, ld->o.n_tf, in, e);
        if (st != CVL_OK) return cvl_err_prefix(e, "%s: input '%s': ", ds->path, d->name);
        ld->out[i].c = o[0], ld->out[i].h = o[1], ld->out[i].w = o[2];
        ld->stage_off[i] = off;
        off += m;
        tmp = m > tmp ? m : tmp;
    }
    ld->tmp_off = off;
    ld->scratch_len = off + tmp;
    return CVL_OK;
}

struct slot {
    cvl_batch b;
    int64_t ready; /* batch number it holds, -1 while empty or filling */
    cvl_status st;
    cvl_err err;
};

static int64_t batch_len(const cvl_loader *ld, int64_t b) {
    int64_t left = ld->n - b * ld->o.batch;
    return left < ld->o.batch ? left : ld->o.batch;
}

static void *worker(void *arg) {
    cvl_loader *ld = arg;
    float *scratch = malloc((size_t)ld->scratch_len * sizeof *scratch);
    pthread_mutex_lock(&ld->mu);
    for (;;) {
        while (!ld->stop && (ld->claimed >= ld->open_batches || ld->claimed - ld->released >= ld->n_ring))
            pthread_cond_wait(&ld->cv, &ld->mu);
        if (ld->stop) break;
        int64_t b = ld->claimed++;
        slot *s = &ld->ring[b % ld->n_ring];
        ld->inflight++;
        pthread_mutex_unlock(&ld->mu);
        cvl_err_clear(&s->err);
        s->st = scratch == NULL ? cvl_err_set(&s->err, CVL_ERR_NOMEM, "loader: out of memory")
                                : batch_fill(&s->b, scratch, ld, ld->perm + b * ld->o.batch, batch_len(ld, b), &s->err);
        s->b.number = b;
        pthread_mutex_lock(&ld->mu);
        s->ready = b;
        ld->inflight--;
        pthread_cond_broadcast(&ld->cv);
    }
    pthread_mutex_unlock(&ld->mu);
    free(scratch);
    return NULL;
}

cvl_status cvl_loader_init(cvl_loader **out, const cvl_dataset *ds, const cvl_loader_opts *o, cvl_err *e) {
    if (o->batch <= 0) return cvl_err_set(e, CVL_ERR_INVALID, "loader: batch size %lld must be positive", (long long)o->batch);
    if (o->n_tf < 0 || (o->n_tf > 0 && o->tf == NULL))
        return cvl_err_set(e, CVL_ERR_INVALID, "loader: %d transforms without a list", o->n_tf);
    cvl_loader *ld = calloc(1, sizeof *ld);
    if (ld == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "loader: out of memory");
    ld->ds = ds;
    ld->o = *o;
    cvl_status pst = plan(ld, e);
    if (pst != CVL_OK) {
        free(ld);
        return pst;
    }
    ld->n = ds->vt->size(ds);
    ld->n_ring = o->workers > 0 ? (o->ring > 0 ? o->ring : 2 * o->workers + 1) : 1;
    ld->perm = malloc((size_t)(ld->n > 0 ? ld->n : 1) * sizeof *ld->perm);
    ld->ring = calloc((size_t)ld->n_ring, sizeof *ld->ring);
    ld->tf = malloc((size_t)(o->n_tf > 0 ? o->n_tf : 1) * sizeof *ld->tf);
    int ok = ld->perm != NULL && ld->ring != NULL && ld->tf != NULL;
    for (int i = 0; ok && i < ld->n_ring; i++) ok = batch_alloc(&ld->ring[i].b, ld) == CVL_OK;
    ok = ok && (ld->sync_scratch = malloc((size_t)ld->scratch_len * sizeof(float))) != NULL;
    if (ok && o->n_tf > 0) memcpy(ld->tf, o->tf, (size_t)o->n_tf * sizeof *ld->tf);
    ld->o.tf = NULL;
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->cv, NULL);
    if (ok && o->workers > 0) {
        ld->threads = calloc((size_t)o->workers, sizeof *ld->threads);
        ok = ld->threads != NULL;
        for (int i = 0; ok && i < o->workers; i++) {
            ok = pthread_create(&ld->threads[i], NULL, worker, ld) == 0;
            if (ok) ld->n_threads++;
        }
    }
    if (!ok) {
        cvl_loader_free(ld);
        return cvl_err_set(e, CVL_ERR_NOMEM, "loader: out of memory or threads");
    }
    *out = ld;
    return CVL_OK;
}

const cvl_data_decl *cvl_loader_input_decl(const cvl_loader *ld, int i) {
    return i >= 0 && i < ld->ds->n_inputs ? &ld->out[i] : NULL;
}

int64_t cvl_loader_batches(const cvl_loader *ld) {
    return ld->o.drop_last ? ld->n / ld->o.batch : (ld->n + ld->o.batch - 1) / ld->o.batch;
}

void cvl_loader_start_epoch(cvl_loader *ld, uint64_t epoch) {
    pthread_mutex_lock(&ld->mu);
    ld->open_batches = 0; /* no new claims while the old epoch drains */
    while (ld->inflight > 0) pthread_cond_wait(&ld->cv, &ld->mu);
    if (ld->o.shuffle) cvl_data_shuffle(ld->perm, ld->n, ld->o.seed, epoch);
    else
        for (int64_t i = 0; i < ld->n; i++) ld->perm[i] = i;
    ld->epoch = epoch;
    for (int i = 0; i < ld->n_ring; i++) ld->ring[i].ready = -1;
    ld->claimed = ld->handed = ld->released = 0;
    ld->n_batches = cvl_loader_batches(ld);
    ld->open_batches = ld->n_batches;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
}

cvl_status cvl_loader_next(const cvl_batch **out, cvl_loader *ld, cvl_err *e) {
    *out = NULL;
    if (ld->n_threads == 0) {
        if (ld->handed >= ld->n_batches) return CVL_OK;
        int64_t b = ld->handed++;
        slot *s = &ld->ring[0];
        cvl_status st = batch_fill(&s->b, ld->sync_scratch, ld, ld->perm + b * ld->o.batch, batch_len(ld, b), e);
        s->b.number = b;
        if (st == CVL_OK) *out = &s->b;
        return st;
    }
    pthread_mutex_lock(&ld->mu);
    /* the batch handed out last time is released by this call */
    if (ld->released < ld->handed) {
        ld->ring[(ld->handed - 1) % ld->n_ring].ready = -1;
        ld->released = ld->handed;
        pthread_cond_broadcast(&ld->cv);
    }
    cvl_status st = CVL_OK;
    if (ld->handed < ld->n_batches) {
        int64_t b = ld->handed;
        slot *s = &ld->ring[b % ld->n_ring];
        while (s->ready != b) pthread_cond_wait(&ld->cv, &ld->mu);
        ld->handed++;
        pthread_cond_broadcast(&ld->cv);
        st = s->st;
        if (st != CVL_OK) cvl_err_set(e, st, "%s", s->err.msg);
        else *out = &s->b;
    }
    pthread_mutex_unlock(&ld->mu);
    return st;
}

void cvl_loader_free(cvl_loader *ld) {
    if (ld == NULL) return;
    pthread_mutex_lock(&ld->mu);
    ld->stop = 1;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
    for (int i = 0; i < ld->n_threads; i++) pthread_join(ld->threads[i], NULL);
    for (int i = 0; ld->ring != NULL && i < ld->n_ring; i++) batch_free(&ld->ring[i].b);
    pthread_mutex_destroy(&ld->mu);
    pthread_cond_destroy(&ld->cv);
    free(ld->threads);
    free(ld->ring);
    free(ld->perm);
    free(ld->tf);
    free(ld->sync_scratch);
    free(ld);
}
