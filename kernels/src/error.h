/* error.h -- filling the caller's error buffer (the errstr convention of dhatu.h). */
#ifndef DHATU_ERROR_H
#define DHATU_ERROR_H
#include <stddef.h>
#include "dhatu.h"

/* Formats a message into errstr (which may be NULL) and returns status, so
 * that error paths read `return dhatu_set_error(...)`. */
dhatu_status dhatu_set_error(char *errstr, size_t errstr_size, dhatu_status status,
                             const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
