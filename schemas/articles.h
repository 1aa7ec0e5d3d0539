/* articles.h -- the one article reader: JSON Lines or CSV files in,
 * schema_article values out, bad input reported as
 * "FILE:LINE: offset N: reason" and skipped.
 *
 * JSON Lines: one JSON object per line (schema_json.h); blank lines are
 * allowed; a line over max_line bytes is skipped whole, never truncated.
 * A UTF-8 byte-order mark at the start of a file is skipped (JSON or CSV).
 * CSV (RFC 4180, strict quoting): a header row names the columns id and
 * text (required) and title, lang, source, url, published (optional);
 * quoted fields may span lines, and errors name the record's first line;
 * a row with more fields than the header is reported and skipped.
 * After a stray quote the rest of a CSV file cannot be resynchronised
 * reliably, so the file is reported and abandoned, not guessed at.
 *
 * The reader calls on_article for each article, which answers with an
 * articles_verdict; a rejection's reason is reported like a bad line.
 * Reports go to on_bad as a complete message; nothing is printed here.
 * Ownership: an article and its strings are borrowed for the callback
 * only. Threads: one call per stream; no shared state.
 */
#ifndef ARTICLES_H
#define ARTICLES_H

#include <stdint.h>
#include <stdio.h>
#include "schema.h"

typedef enum articles_verdict {
    ARTICLE_TAKEN = 0,
    ARTICLE_REJECTED = 1,   /* skipped; the callback wrote why */
    ARTICLE_STOP = 2,       /* stop reading, cleanly (a limit, a signal) */
    ARTICLE_FATAL = -1      /* stop reading; the callback reported why */
} articles_verdict;

typedef struct articles_where {
    const char *file;       /* the name given, "<stdin>" for "-" */
    uint64_t line, offset;  /* the article's first line (from 1) and its byte offset */
    uint64_t consumed;      /* bytes of the stream read so far (progress) */
} articles_where;

typedef articles_verdict (*articles_fn)(void *ctx, const articles_where *w, const schema_article *a,
                                        char *why, size_t why_size);
typedef void (*articles_report_fn)(void *ctx, const char *message);

typedef struct articles_opts {
    size_t max_line;            /* longest JSON line (or CSV line) accepted */
    int csv;                    /* 1: CSV; 0: by name (.csv is CSV, else JSON Lines) */
    articles_fn on_article;
    articles_report_fn on_bad;  /* bad lines and rejections, one message each */
    void *ctx;
} articles_opts;

typedef struct articles_counts {
    uint64_t articles;      /* parsed and handed to on_article */
    uint64_t skipped;       /* bad lines and rejected articles */
} articles_counts;

typedef enum articles_status {
    ARTICLES_OK = 0,        /* the stream was read (possibly with skipped lines) */
    ARTICLES_STOPPED,       /* on_article said ARTICLE_STOP */
    ARTICLES_FAILED         /* unreadable input, an unusable CSV header, ARTICLE_FATAL or
                               no memory: errstr says why (empty after ARTICLE_FATAL) */
} articles_status;

/* Reads one open stream named name (used in messages) to its end; adds to
 * *n. The stream is not closed. */
articles_status articles_read(FILE *f, const char *name, const articles_opts *o, articles_counts *n,
                              char *errstr, size_t errstr_size);

/* Opens and reads each file in order ("-", or no file at all, is standard
 * input); stops at the first one that fails or stops. */
articles_status articles_read_files(char *const *files, int nfiles, const articles_opts *o,
                                    articles_counts *n, char *errstr, size_t errstr_size);

#endif
