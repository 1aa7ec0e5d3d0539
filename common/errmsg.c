/* errmsg.c -- see errmsg.h. */
#include "errmsg.h"
#include <stdio.h>

void errmsg_v(char *errstr, size_t n, const char *fmt, va_list ap)
{
    if (errstr && n) vsnprintf(errstr, n, fmt, ap);
}

int errmsg(char *errstr, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errmsg_v(errstr, n, fmt, ap);
    va_end(ap);
    return -1;
}
