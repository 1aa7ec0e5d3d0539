/* lines.h -- a bounded line reader for JSON Lines and CSV input.
 *
 * Splits a stream on '\n' only (never on U+2028, U+0085 or a lone '\r'; a
 * '\r' before '\n' is kept for the parser, which treats it as white space).
 * Memory is bounded by max_line: a longer line is skipped whole and
 * reported, never truncated into something that parses. Tracks the line
 * number and byte offset of every line for error messages.
 * One reader per stream and thread. Create with lines_open, free with
 * lines_close (which does not close the FILE).
 */
#ifndef LINES_H
#define LINES_H

#include <stdint.h>
#include <stdio.h>

typedef enum lines_status {
    LINES_OK = 0,      /* *line, *len hold a line without its '\n' */
    LINES_EOF,         /* no more lines */
    LINES_TOO_LONG,    /* a line over max_line bytes was skipped */
    LINES_IO_ERROR     /* the stream failed; errno tells why */
} lines_status;

typedef struct lines_reader lines_reader;

/* Returns NULL when out of memory. */
lines_reader *lines_open(FILE *f, size_t max_line);
void lines_close(lines_reader *r); /* accepts NULL */

/* Next line. The pointer is valid until the next call. lineno counts from 1;
 * offset is the byte offset of the line's first byte in the stream. */
lines_status lines_next(lines_reader *r, const char **line, size_t *len,
                        uint64_t *lineno, uint64_t *offset);
#endif
