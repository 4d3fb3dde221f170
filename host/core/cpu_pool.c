#include "core/cpu_pool.h"

#include <pthread.h>
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
};

static void block(int64_t n, int parts, int t, int64_t *b, int64_t *e) {
    int64_t q = n / parts, r = n % parts;
    *b = t * q + (t < r ? t : r);
    *e = *b + q + (t < r);
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
        int64_t total = p->total;
        pthread_mutex_unlock(&p->mu);
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
