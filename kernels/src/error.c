/* error.c -- see error.h. */
#include "error.h"
#include <stdarg.h>
#include "errmsg.h"

dhatu_status dhatu_set_error(char *errstr, size_t errstr_size, dhatu_status status,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errmsg_v(errstr, errstr_size, fmt, ap);
    va_end(ap);
    return status;
}

const char *dhatu_status_str(dhatu_status s)
{
    switch (s) {
    case DHATU_OK: return "ok";
    case DHATU_ERR_ARG: return "invalid argument";
    case DHATU_ERR_NOMEM: return "out of memory";
    case DHATU_ERR_TOO_LARGE: return "article too large";
    case DHATU_ERR_FULL: return "batch full";
    case DHATU_ERR_UNAVAILABLE: return "backend unavailable";
    case DHATU_ERR_LEXICON: return "invalid lexicon";
    case DHATU_ERR_DEVICE: return "device or runtime error";
    case DHATU_ERR_INTERNAL: return "internal error";
    case DHATU_ERR_BUSY: return "engine busy (max_in_flight batches outstanding)";
    case DHATU_ERR_PENDING: return "batch still in flight";
    case DHATU_ERR_CANCELLED: return "batch cancelled before it ran";
    }
    return "unknown status";
}
