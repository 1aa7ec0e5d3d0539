/* schema.h -- what every wire-format module shares: the status convention,
 * the article as decoded, a record's lineage, and the output buffer.
 *
 * Errors (one convention for the whole library, as in the engine): every
 * function that can fail returns a schema_status (SCHEMA_OK == 0) and, on
 * failure, writes a NUL-terminated reason into the caller's errstr buffer
 * (errstr may be NULL). Nothing in this library prints, aborts or exits.
 * The non-zero statuses that describe a message are the dead-letter
 * classes; schema_status_name gives their stable names.
 *
 * Dependencies: jansson, Avro C (schema_avro.h only) and dhatu_record.h;
 * never the engine.
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include "dbuf.h"
#include "dhatu_record.h"

typedef enum schema_status {
    SCHEMA_OK = 0,
    SCHEMA_ERR_UNDECODABLE,     /* neither Avro single-object nor JSON, or corrupt: "undecodable" */
    SCHEMA_ERR_WRONG_SCHEMA,    /* Avro single-object of another schema: "wrong-schema" */
    SCHEMA_ERR_REGISTRY,        /* Confluent framing; no schema registry configured: "schema-registry" */
    SCHEMA_ERR_INVALID,         /* decodes, but a field is missing, empty or mistyped: "invalid-article" */
    SCHEMA_ERR_ENCODE,          /* cannot be encoded (an id that is not UTF-8, Avro C refused): "encode-error" */
    SCHEMA_ERR_NOMEM,           /* out of memory, not the message's fault: "out-of-memory" */
    SCHEMA_ERR_INTERNAL,        /* a built-in schema is broken: "internal" */
    SCHEMA_ERR_UNKNOWN_SCHEMA,  /* Confluent framing, an id the registry does not have: "unknown-schema" */
    SCHEMA_ERR_UNAVAILABLE,     /* the registry did not answer: NOT a dead letter, retry: "registry-unavailable" */
    SCHEMA_NSTATUS
} schema_status;

/* Stable names, used in dead-letter headers and metrics. Can't fail. */
const char *schema_status_name(schema_status s);

/* AVRO: single-object encoding (C3 01 + fingerprint); AVRO_REGISTRY: the
 * Confluent framing (00 + the schema's 4-byte big-endian registry id). */
typedef enum schema_format { SCHEMA_FMT_AVRO = 0, SCHEMA_FMT_JSON = 1, SCHEMA_FMT_AVRO_REGISTRY = 2 } schema_format;

/* An article as decoded. Strings are borrowed (see the decoder that filled
 * it) and each is followed by a NUL byte; they may also hold NULs. */
typedef struct schema_article {
    const char *id;     size_t id_len;
    const char *title;  size_t title_len;   /* NULL: absent or null */
    const char *text;   size_t text_len;
    const char *lang;                       /* NULL: absent or null */
    const char *source; size_t source_len;  /* NULL: absent or null */
    const char *url;    size_t url_len;     /* NULL: absent or null */
    int64_t published;  int has_published;  /* ms since the epoch, UTC */
    void *doc;                              /* memory it owns (a JSON article's strings) */
    char id_buf[24];                        /* an integer id, as text */
} schema_article;

/* Releases what the article owns and zeroes it. Can't fail; idempotent. */
void schema_article_clear(schema_article *a);

/* Where a record came from (the "lineage" of a record on the output topic). */
typedef struct schema_lineage {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;          /* ms since the epoch; -1: the message has none */
    int64_t processed_at;       /* ms since the epoch */
    const char *processor;      /* "dhatu-consumer 0.2.0" */
    const char *backend;        /* "cpu", "opencl", ... */
    /* The article's lang and source (NULL: it has none), carried as the
     * record's top-level lang and source (record schema version 2). */
    const char *lang;   size_t lang_len;
    const char *source; size_t source_len;
} schema_lineage;

/* Writes the reason into errstr (when given) and returns st. */
schema_status schema_error(char *errstr, size_t errstr_size, schema_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
