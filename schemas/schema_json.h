/* schema_json.h -- articles and dhātu records as JSON (jansson).
 *
 * The JSON wire form of the pipeline: an article is an object with "id"
 * (string or integer), "text" (string), optional "title" and "lang" (string
 * or null); other fields are ignored. A record is the object documented in
 * docs/RECORD.md. Strings may hold any Unicode, NUL included (\u0000).
 *
 * Ownership: a parsed article borrows its strings from the parsed document,
 * which it owns until schema_article_clear. Errors: functions return 0 on
 * success, -1 with a message in errstr. Thread-safe per object.
 */
#ifndef SCHEMA_JSON_H
#define SCHEMA_JSON_H

#include <stddef.h>
#include "dhatu.h"

typedef struct schema_article {
    const char *id;     size_t id_len;
    const char *title;  size_t title_len;   /* NULL: absent or null */
    const char *text;   size_t text_len;
    const char *lang;                       /* NULL: absent or null */
    void *doc;                              /* the parsed document (json_t) */
    char id_buf[24];                        /* an integer id, as text */
} schema_article;

/* Parses one JSON object. On error the article is left cleared and errstr
 * names the reason (and the column of a syntax error). */
int schema_json_parse_article(const char *buf, size_t len, schema_article *a,
                              char *errstr, size_t errstr_size);
void schema_article_clear(schema_article *a); /* can't fail; idempotent */

/* A reusable output buffer. Zero-initialise; free with schema_buf_free. */
typedef struct schema_buf { char *data; size_t len, cap; } schema_buf;
void schema_buf_free(schema_buf *b);

/* Writes the record as one compact JSON object (no newline) into out,
 * replacing its content. Fails only on memory exhaustion or an id that is
 * not valid UTF-8. */
int schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                             const dhatu_record *r, schema_buf *out,
                             char *errstr, size_t errstr_size);

#endif
