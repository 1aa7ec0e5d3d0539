/* lines.c -- see lines.h. */
#include "lines.h"
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP (1u << 20)

struct lines_reader {
    FILE *f;
    size_t max_line;
    char *buf;
    size_t cap, start, end;   /* unread bytes are buf[start..end) */
    uint64_t lineno;
    uint64_t offset;          /* stream offset of buf[start] */
    int eof;
};

lines_reader *lines_open(FILE *f, size_t max_line)
{
    lines_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->f = f;
    r->max_line = max_line;
    r->cap = max_line + 1 < INITIAL_CAP ? max_line + 1 : INITIAL_CAP;
    r->buf = malloc(r->cap);
    if (!r->buf) { free(r); return NULL; }
    return r;
}

void lines_close(lines_reader *r)
{
    if (!r) return;
    free(r->buf);
    free(r);
}

/* Reads more input after the unread bytes; grows the buffer up to
 * max_line + 1. Returns bytes read, 0 at EOF or when the buffer is full,
 * -1 on error. */
static long fill(lines_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= r->max_line + 1) return 0;
        size_t cap = r->cap * 2 < r->max_line + 1 ? r->cap * 2 : r->max_line + 1;
        char *p = realloc(r->buf, cap);
        if (!p) return -1;
        r->buf = p;
        r->cap = cap;
    }
    size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
    if (got == 0) {
        if (ferror(r->f)) return -1;
        r->eof = 1;
    }
    r->end += got;
    return (long)got;
}

lines_status lines_next(lines_reader *r, const char **line, size_t *len,
                        uint64_t *lineno, uint64_t *offset)
{
    size_t scanned = 0;  /* bytes after start already known to hold no '\n' */
    for (;;) {
        char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            *line = r->buf + r->start;
            *len = n;
            *lineno = ++r->lineno;
            *offset = r->offset;
            r->start += n + 1;
            r->offset += n + 1;
            return LINES_OK;
        }
        scanned = r->end - r->start;
        if (scanned > r->max_line) break; /* too long: skip to the next '\n' */
        if (r->eof) {
            if (scanned == 0) return LINES_EOF;
            *line = r->buf + r->start;   /* last line without '\n' */
            *len = scanned;
            *lineno = ++r->lineno;
            *offset = r->offset;
            r->offset += scanned;
            r->start = r->end;
            return LINES_OK;
        }
        long got = fill(r);   /* moves the unread bytes to buf[0]: scanned stays valid */
        if (got < 0) return LINES_IO_ERROR;
        if (got == 0 && !r->eof) break; /* buffer full at max_line + 1 */
    }
    /* Skip the overlong line, consuming input until its '\n' or EOF. */
    *lineno = ++r->lineno;
    *offset = r->offset;
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start)) + 1;
            r->offset += n;
            r->start += n;
            break;
        }
        r->offset += r->end - r->start;
        r->start = r->end = 0;
        if (r->eof) break;
        if (fill(r) < 0) return LINES_IO_ERROR;
    }
    *line = NULL;
    *len = 0;
    return LINES_TOO_LONG;
}
