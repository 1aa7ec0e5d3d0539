/* pool.h -- a fixed set of worker threads that run one job at a time.
 *
 * dhatu_pool_run(fn) calls fn(arg, w) once on each worker w = 0..n-1 (the
 * calling thread is worker 0) and returns when all have returned. Threads
 * are started once by dhatu_pool_create, so a batch costs two condition
 * variable round trips, not thread creation. One caller at a time.
 */
#ifndef DHATU_POOL_H
#define DHATU_POOL_H
#include <stddef.h>
#include "dhatu.h"

typedef struct dhatu_pool dhatu_pool;
typedef void (*dhatu_pool_fn)(void *arg, int worker);

dhatu_status dhatu_pool_create(int nthreads, dhatu_pool **out, char *errstr, size_t errstr_size);
void dhatu_pool_run(dhatu_pool *p, dhatu_pool_fn fn, void *arg);
int dhatu_pool_size(const dhatu_pool *p);
void dhatu_pool_destroy(dhatu_pool *p); /* joins the workers; accepts NULL */
#endif
