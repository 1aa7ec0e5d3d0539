/* schema.c -- see schema.h. */
#include "schema.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "errmsg.h"

const char *schema_status_name(schema_status s)
{
    static const char *const names[SCHEMA_NSTATUS] = {
        "ok", "undecodable", "wrong-schema", "schema-registry", "invalid-article",
        "encode-error", "out-of-memory", "internal", "unknown-schema", "registry-unavailable" };
    return (unsigned)s < SCHEMA_NSTATUS ? names[s] : "unknown";
}

schema_status schema_error(char *errstr, size_t n, schema_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errmsg_v(errstr, n, fmt, ap);
    va_end(ap);
    return st;
}

void schema_article_clear(schema_article *a)
{
    free(a->doc);
    memset(a, 0, sizeof *a);
}
