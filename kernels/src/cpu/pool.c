/* pool.c -- see pool.h. */
#define _GNU_SOURCE     /* pthread_setname_np */
#include "cpu/pool.h"
#include "alloc.h"
#include "error.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct dhatu_pool {
    int n;                 /* workers, the caller included */
    pthread_t *threads;    /* n - 1 started threads */
    int started;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    unsigned long generation; /* bumped for each job */
    int pending;              /* workers still running the current job */
    int quit;
    dhatu_pool_fn fn;
    void *arg;
};

typedef struct worker_arg { dhatu_pool *p; int index; } worker_arg;

static void *worker_main(void *a)
{
    worker_arg *wa = a;
    dhatu_pool *p = wa->p;
    int index = wa->index;
    dhatu_free(wa);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->work, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        dhatu_pool_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(arg, index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

dhatu_status dhatu_pool_create(int nthreads, dhatu_pool **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (nthreads < 1) nthreads = 1;
    dhatu_pool *p = dhatu_calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->n = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    if (nthreads > 1) {
        p->threads = dhatu_calloc((size_t)nthreads - 1, sizeof *p->threads);
        if (!p->threads) goto nomem;
    }
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = dhatu_malloc(sizeof *wa);
        if (!wa) goto nomem;
        wa->p = p;
        wa->index = i;
        int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, wa);
        if (rc) {
            dhatu_free(wa);
            dhatu_pool_destroy(p);
            return dhatu_set_error(errstr, errstr_size, DHATU_ERR_DEVICE,
                                   "cannot start worker thread %d: %s", i, strerror(rc));
        }
        char name[16];      /* Linux's limit, NUL included: top -H and perf say which worker */
        snprintf(name, sizeof name, "dhatu:cpu%d", i % 1000);
        pthread_setname_np(p->threads[i - 1], name);
        p->started++;
    }
    *out = p;
    return DHATU_OK;
nomem:
    dhatu_pool_destroy(p);
    return dhatu_set_error(errstr, errstr_size, DHATU_ERR_NOMEM, "thread pool: out of memory");
}

void dhatu_pool_run(dhatu_pool *p, dhatu_pool_fn fn, void *arg)
{
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        p->fn = fn;
        p->arg = arg;
        p->pending = p->n - 1;
        p->generation++;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0);
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        while (p->pending) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

int dhatu_pool_size(const dhatu_pool *p)
{
    return p->n;
}

void dhatu_pool_destroy(dhatu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    dhatu_free(p->threads);
    dhatu_free(p);
}
