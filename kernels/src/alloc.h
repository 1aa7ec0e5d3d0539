/* alloc.h -- the engine's one allocation wrapper.
 *
 * Every allocation in kernels/ goes through these, so that tests can make
 * the N-th allocation fail and prove each error path frees what it took.
 * Thread-safe. dhatu_free accepts NULL.
 */
#ifndef DHATU_ALLOC_H
#define DHATU_ALLOC_H
#include <stddef.h>

void *dhatu_malloc(size_t size);
void *dhatu_calloc(size_t n, size_t size);
void *dhatu_realloc(void *p, size_t size);
void dhatu_free(void *p);

/* Tests only: the countdown-th allocation from now (1 = the next) returns
 * NULL, once; a countdown <= 0 disables injection. */
void dhatu_alloc_fail_at(long countdown);

#endif
