/* alloc.c -- see alloc.h. */
#include "alloc.h"
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long fail_countdown;

void dhatu_alloc_fail_at(long countdown)
{
    atomic_store(&fail_countdown, countdown > 0 ? countdown : 0);
}

/* True when this allocation is the one a test asked to fail. */
static int injected_failure(void)
{
    long c = atomic_load(&fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1)) return c == 1;
    }
    return 0;
}

void *dhatu_malloc(size_t size)
{
    if (injected_failure()) return NULL;
    return malloc(size ? size : 1);
}

void *dhatu_calloc(size_t n, size_t size)
{
    if (injected_failure()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *dhatu_realloc(void *p, size_t size)
{
    if (injected_failure()) return NULL;
    return realloc(p, size ? size : 1);
}

void dhatu_free(void *p)
{
    free(p);
}
