/* errmsg.h -- filling a caller's error buffer: the one helper behind every
 * module's "status plus the caller's message buffer" convention (the
 * engine's dhatu_set_error, the schemas' schema_error, the configuration
 * and the article reader). errstr may be NULL or errstr_size 0: nothing is
 * written. The message is always NUL-terminated, cut to fit. */
#ifndef ERRMSG_H
#define ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

void errmsg_v(char *errstr, size_t errstr_size, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Returns -1, so that error paths read `return errmsg(...)`. */
int errmsg(char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
