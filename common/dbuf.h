/* dbuf.h -- the one growable byte buffer of the project.
 *
 * Contract: after any successful dbuf_* call, data is non-NULL and
 * cap > len, with data[len] == '\0': there is always room for a
 * terminator, so a caller may write data[len] (a newline, a NUL) without
 * reserving. Content may hold NUL bytes; len is the truth.
 *
 * Ownership: zero-initialise (dbuf b = { 0 }); the buffer owns data until
 * dbuf_free. Errors: 0 on success, -1 out of memory, and the content is
 * then unchanged. Not thread-safe: one owner at a time.
 */
#ifndef DBUF_H
#define DBUF_H

#include <stddef.h>

typedef struct dbuf { char *data; size_t len, cap; } dbuf;

/* Room for size bytes of content plus the terminator (content kept). */
int dbuf_reserve(dbuf *b, size_t size);
/* Replaces the content with n bytes of p. */
int dbuf_set(dbuf *b, const void *p, size_t n);
/* Appends n bytes of p. */
int dbuf_append(dbuf *b, const void *p, size_t n);
/* Appends formatted text. */
int dbuf_printf(dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the content, keeps the memory. Can't fail. */
void dbuf_reset(dbuf *b);
/* Sets the length after the caller wrote into data (len <= cap - 1), and
 * the terminator. Can't fail. */
void dbuf_setlen(dbuf *b, size_t len);
void dbuf_free(dbuf *b);   /* leaves a zeroed buffer; accepts a zeroed one */

#endif
