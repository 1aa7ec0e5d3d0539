/* test_pool.c -- the cpu backend's worker pool: every worker runs each job
 * exactly once, the caller is worker 0, jobs do not overlap, and a pool is
 * reused across many jobs and destroyed cleanly. */
#include "testlib.h"
#include "cpu/pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

typedef struct job {
    atomic_int runs[64];
    atomic_int active, max_active;
    pthread_t caller;
    atomic_int caller_was_worker0;
    int round;
    int *seen_round;        /* worker w wrote the round it saw */
} job;

static void work(void *arg, int w)
{
    job *j = arg;
    int now = atomic_fetch_add(&j->active, 1) + 1;
    int max = atomic_load(&j->max_active);
    while (now > max && !atomic_compare_exchange_weak(&j->max_active, &max, now)) {}
    atomic_fetch_add(&j->runs[w], 1);
    if (w == 0 && pthread_equal(pthread_self(), j->caller)) atomic_store(&j->caller_was_worker0, 1);
    j->seen_round[w] = j->round;
    atomic_fetch_sub(&j->active, 1);
}

START_TEST(every_worker_runs_each_job_once)
{
    for (int n = 1; n <= 8; n++) {
        dhatu_pool *p;
        char err[128];
        ck_assert_int_eq(dhatu_pool_create(n, &p, err, sizeof err), DHATU_OK);
        ck_assert_int_eq(dhatu_pool_size(p), n);
        job j;
        memset(&j, 0, sizeof j);
        int seen[64];
        j.seen_round = seen;
        j.caller = pthread_self();
        for (int round = 1; round <= 200; round++) {
            j.round = round;
            dhatu_pool_run(p, work, &j);
            /* When run returns, every worker has finished this round. */
            for (int w = 0; w < n; w++) ck_assert_int_eq(seen[w], round);
            ck_assert_int_eq(atomic_load(&j.active), 0);
        }
        for (int w = 0; w < n; w++) ck_assert_int_eq(atomic_load(&j.runs[w]), 200);
        for (int w = n; w < 64; w++) ck_assert_int_eq(atomic_load(&j.runs[w]), 0);
        ck_assert_int_eq(atomic_load(&j.caller_was_worker0), 1);
        ck_assert_int_le(atomic_load(&j.max_active), n);
        dhatu_pool_destroy(p);
    }
    dhatu_pool_destroy(NULL);
}
END_TEST

TL_MAIN("pool", every_worker_runs_each_job_once)
