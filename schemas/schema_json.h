/* schema_json.h -- articles and dhātu records as JSON (jansson).
 *
 * The JSON wire form of the pipeline: an article is an object with "id"
 * (string or integer), "text" (string), optional "title", "lang", "source",
 * "url" (string or null) and "published" (null, milliseconds since the epoch,
 * or an RFC 3339 time such as "2024-05-01T12:00:00Z"); other fields are
 * ignored (schemas/avro/article.avsc is the same article in Avro). A record is the object documented in
 * docs/RECORD.md. Strings may hold any Unicode, NUL included (\u0000).
 *
 * Ownership: a parsed article borrows its strings from the parsed document,
 * which it owns until schema_article_clear. Every string is followed by a NUL
 * byte (it may also hold NULs: use the lengths). Errors: functions return 0 on
 * success, -1 with a message in errstr. Thread-safe per object.
 */
#ifndef SCHEMA_JSON_H
#define SCHEMA_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "dhatu.h"

typedef struct schema_article {
    const char *id;     size_t id_len;
    const char *title;  size_t title_len;   /* NULL: absent or null */
    const char *text;   size_t text_len;
    const char *lang;                       /* NULL: absent or null */
    const char *source; size_t source_len;  /* NULL: absent or null */
    const char *url;    size_t url_len;     /* NULL: absent or null */
    int64_t published;  int has_published;  /* ms since the epoch, UTC */
    void *doc;                              /* the parsed document (json_t) */
    char id_buf[24];                        /* an integer id, as text */
} schema_article;

/* Parses one JSON object. Returns 0; SCHEMA_JSON_ESYNTAX when it is not a
 * JSON object; SCHEMA_JSON_EFIELD when a field is missing or mistyped. On
 * error the article is left cleared and errstr names the reason (and the
 * column of a syntax error). */
#define SCHEMA_JSON_ESYNTAX (-1)
#define SCHEMA_JSON_EFIELD  (-2)
int schema_json_parse_article(const char *buf, size_t len, schema_article *a,
                              char *errstr, size_t errstr_size);
void schema_article_clear(schema_article *a); /* can't fail; idempotent */

/* A reusable output buffer. Zero-initialise; free with schema_buf_free. */
typedef struct schema_buf { char *data; size_t len, cap; } schema_buf;
void schema_buf_free(schema_buf *b);

/* Where a record came from (the "lineage" of a record on the output topic). */
typedef struct schema_lineage {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;          /* ms since the epoch; -1: the message has none */
    int64_t processed_at;       /* ms since the epoch */
    const char *processor;      /* "dhatu-consumer 0.2.0" */
    const char *backend;        /* "cpu", "opencl", ... */
} schema_lineage;

/* Writes the record as one compact JSON object (no newline) into out,
 * replacing its content; with lineage non-NULL, a "lineage" object follows
 * the record's fields. Fails only on memory exhaustion or an id that is not
 * valid UTF-8. */
int schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                             const dhatu_record *r, const schema_lineage *lineage,
                             schema_buf *out, char *errstr, size_t errstr_size);

/* Makes room for need bytes in b (contents kept). 0, or -1 out of memory. */
int schema_buf_reserve(schema_buf *b, size_t need);

/* Parses an RFC 3339 date-time ("2024-05-01T12:00:00Z", fraction and offset
 * allowed) into ms since the epoch. 0, or -1 when it is not one. */
int schema_parse_rfc3339(const char *s, size_t len, int64_t *ms);

#endif
