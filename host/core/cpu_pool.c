#include "core/cpu_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct cvl_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t generation;
    int pending;
    bool quit;
    /* the current loop */
    cvl_pool_fn fn;
    void *ctx;
    int64_t total;
    /* dynamic loops: blocks of `grain` handed out by a counter tagged with
     * the loop's generation, so a worker waking late can never take a block
     * of a later loop with this loop's function; the caller waits for the
     * blocks to be done, not for every worker to wake up */
    bool dynamic;
    int64_t grain, blocks;
    _Atomic uint64_t next;  /* generation << 32 | next block */
    _Atomic int64_t finished; /* blocks done in this loop */
};

static void block(int64_t n, int parts, int t, int64_t *b, int64_t *e) {
    int64_t q = n / parts, r = n % parts;
    *b = t * q + (t < r ? t : r);
    *e = *b + q + (t < r);
}

/* Takes and runs blocks of loop `gen` until none is left. */
static void run_blocks(cvl_pool *p, uint64_t gen, cvl_pool_fn fn, void *ctx, int64_t total, int64_t grain,
                       int64_t blocks, int me) {
    uint64_t tag = (gen & 0xffffffffu) << 32;
    for (;;) {
        uint64_t v = atomic_load(&p->next);
        if ((v & ~(uint64_t)0xffffffffu) != tag) return;
        int64_t k = (int64_t)(v & 0xffffffffu);
        if (k >= blocks) return;
        if (!atomic_compare_exchange_weak(&p->next, &v, v + 1)) continue;
        int64_t b = k * grain, e = b + grain < total ? b + grain : total;
        fn(ctx, b, e, me);
        if (atomic_fetch_add(&p->finished, 1) + 1 == blocks) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

typedef struct worker_arg {
    cvl_pool *p;
    int index;
} worker_arg;

static void *worker(void *arg) {
    worker_arg *wa = arg;
    cvl_pool *p = wa->p;
    int me = wa->index;
    free(wa);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        cvl_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        int64_t total = p->total, grain = p->grain, blocks = p->blocks;
        bool dynamic = p->dynamic;
        pthread_mutex_unlock(&p->mu);
        if (dynamic) {
            run_blocks(p, seen, fn, ctx, total, grain, blocks, me);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        int64_t b, e;
        block(total, p->n, me, &b, &e);
        if (b < e) fn(ctx, b, e, me);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cvl_pool *cvl_pool_new(int threads) {
    if (threads < 1) threads = 1;
    cvl_pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->n = threads;
    atomic_init(&p->next, 0);
    atomic_init(&p->finished, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (p->threads == NULL) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa == NULL) {
            p->n = i;
            break;
        }
        wa->p = p;
        wa->index = i;
        if (pthread_create(&p->threads[i], NULL, worker, wa) != 0) {
            free(wa);
            p->n = i; /* fewer threads than asked: still correct */
            break;
        }
    }
    return p;
}

void cvl_pool_free(cvl_pool *p) {
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int cvl_pool_size(const cvl_pool *p) { return p ? p->n : 1; }

void cvl_pool_run(cvl_pool *p, int64_t n, cvl_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (p == NULL || p->n == 1 || n == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->total = n;
    p->dynamic = false;
    p->pending = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    block(n, p->n, 0, &b, &e);
    if (b < e) fn(ctx, b, e, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cvl_pool_run_blocks(cvl_pool *p, int64_t n, int64_t grain, cvl_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t blocks = (n + grain - 1) / grain;
    if (p == NULL || p->n == 1 || blocks == 1) {
        for (int64_t b = 0; b < n; b += grain) fn(ctx, b, b + grain < n ? b + grain : n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->total = n;
    p->grain = grain;
    p->blocks = blocks;
    p->dynamic = true;
    uint64_t gen = ++p->generation;
    atomic_store(&p->finished, 0);
    atomic_store(&p->next, (gen & 0xffffffffu) << 32);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_blocks(p, gen, fn, ctx, n, grain, blocks, 0);
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->finished) < blocks) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cvl_pool_for(cvl_pool *p, int64_t n, cvl_pool_fn fn, void *ctx) {
    int64_t parts = 4 * (int64_t)cvl_pool_size(p);
    cvl_pool_run_blocks(p, n, (n + parts - 1) / parts, fn, ctx);
}
