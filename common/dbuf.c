/* dbuf.c -- see buf.h. */
#include "dbuf.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dbuf_reserve(dbuf *b, size_t size)
{
    if (size + 1 == 0) return -1;               /* size_t overflow */
    if (b->data && size < b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap <= size) cap = cap * 2 > cap ? cap * 2 : size + 1;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    if (!b->data) p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int dbuf_set(dbuf *b, const void *p, size_t n)
{
    if (dbuf_reserve(b, n)) return -1;
    if (n) memmove(b->data, p, n);
    dbuf_setlen(b, n);
    return 0;
}

int dbuf_append(dbuf *b, const void *p, size_t n)
{
    if (n > (size_t)-1 - b->len - 1 || dbuf_reserve(b, b->len + n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    dbuf_setlen(b, b->len + n);
    return 0;
}

int dbuf_printf(dbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return dbuf_append(b, small, (size_t)n);
    if (dbuf_reserve(b, b->len + (size_t)n)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dbuf_setlen(b, b->len + (size_t)n);
    return 0;
}

void dbuf_reset(dbuf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void dbuf_setlen(dbuf *b, size_t len)
{
    b->len = len;
    b->data[len] = '\0';
}

void dbuf_free(dbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
