/* schema_json.h -- articles and dhātu records as JSON (jansson).
 *
 * The JSON wire form of the pipeline: an article is an object with "id"
 * (string or integer), "text" (string), optional "title", "lang", "source",
 * "url" (string or null) and "published" (null, milliseconds since the epoch,
 * or an RFC 3339 time such as "2024-05-01T12:00:00Z"); other fields are
 * ignored (schemas/avro/article.avsc is the same article in Avro). A record
 * is the object documented in docs/RECORD.md. Strings may hold any Unicode,
 * NUL included (\u0000).
 *
 * Ownership: a parsed article borrows its strings from the parsed document,
 * which it owns until schema_article_clear. Errors: schema.h's convention.
 * Thread-safe per object.
 */
#ifndef SCHEMA_JSON_H
#define SCHEMA_JSON_H

#include "schema.h"

/* Parses one JSON object: SCHEMA_ERR_UNDECODABLE when it is not a JSON
 * object (errstr names the column of a syntax error), SCHEMA_ERR_INVALID
 * when a field is missing or mistyped. On error the article is cleared. */
schema_status schema_json_parse_article(const char *buf, size_t len, schema_article *a,
                                        char *errstr, size_t errstr_size);
/* The same, with the strings in scratch (reused, grown as needed) instead
 * of memory the article owns: they are valid until scratch is next used,
 * and nothing is allocated per article once scratch has grown. */
schema_status schema_json_parse_article_in(const char *buf, size_t len, schema_article *a, dbuf *scratch,
                                           char *errstr, size_t errstr_size);

/* Writes the record as one compact JSON object (no newline) into out,
 * replacing its content; with lineage non-NULL, a "lineage" object follows
 * the record's fields. SCHEMA_ERR_ENCODE for an id that is not valid UTF-8,
 * SCHEMA_ERR_NOMEM. */
schema_status schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                                       const dhatu_record *r, const schema_lineage *lineage,
                                       dbuf *out, char *errstr, size_t errstr_size);
/* The same record appended after out's content, which an error leaves as
 * it was: for a writer that sends many records in one write. */
schema_status schema_json_append_record(const char *id, size_t id_len, const char *model_id,
                                        const dhatu_record *r, const schema_lineage *lineage,
                                        dbuf *out, char *errstr, size_t errstr_size);

/* Parses an RFC 3339 date-time ("2024-05-01T12:00:00Z", fraction and offset
 * allowed) into ms since the epoch: SCHEMA_OK, or SCHEMA_ERR_INVALID when it
 * is not one (errstr may be NULL). */
schema_status schema_parse_rfc3339(const char *s, size_t len, int64_t *ms);

#endif
