/* The thread pool: static loops (cvl_pool_run) and dynamic blocks
 * (cvl_pool_run_blocks, cvl_pool_for) interleaved thousands of times on 1,
 * 2 and 3 threads: every index is visited exactly once per loop, blocks
 * have the requested boundaries, and each loop has finished when the call
 * returns (a late worker never runs a block of a loop that has ended). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu_pool.h"
#include "harness.h"

typedef struct job {
    _Atomic int *hits;
    int64_t grain;
    _Atomic int bad_block;
} job;

static void visit(void *ctx, int64_t b, int64_t e, int t) {
    (void)t;
    job *j = ctx;
    if (j->grain > 0 && (b % j->grain != 0 || (e - b > j->grain))) atomic_store(&j->bad_block, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&j->hits[i], 1);
}

int main(void) {
    for (int th = 1; th <= 3; th++) {
        cvl_pool *p = cvl_pool_new(th);
        int bad = 0, bad_blocks = 0;
        for (int loop = 0; loop < 3000; loop++) {
            int64_t n = 1 + (loop * 7919) % 97;
            _Atomic int *hits = calloc((size_t)n, sizeof *hits);
            job j = {hits, 0, 0};
            int kind = loop % 3;
            if (kind == 0) {
                cvl_pool_run(p, n, visit, &j);
            } else if (kind == 1) {
                j.grain = 1 + loop % 5;
                cvl_pool_run_blocks(p, n, j.grain, visit, &j);
            } else {
                cvl_pool_for(p, n, visit, &j);
            }
            for (int64_t i = 0; i < n; i++) bad += atomic_load(&hits[i]) != 1;
            bad_blocks += atomic_load(&j.bad_block);
            free(hits); /* a late worker touching it would be caught by ASan */
        }
        CHECK(bad == 0 && bad_blocks == 0, "%d thread(s): 3000 mixed loops visit every index once (%d wrong, %d bad blocks)",
              th, bad, bad_blocks);
        cvl_pool_free(p);
    }
    return tap_done();
}
