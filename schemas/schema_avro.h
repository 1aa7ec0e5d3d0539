/* schema_avro.h -- the pipeline's wire formats: articles and dhātu records
 * in Avro (Avro C) or JSON, and recognising what arrives on a topic.
 *
 * Avro messages use Avro single-object encoding: C3 01, the schema's 8-byte
 * little-endian CRC-64-AVRO fingerprint of its Parsing Canonical Form, then
 * the binary datum. The schemas are schemas/avro/{article,record}.avsc,
 * built into the library. On input an article may be Avro single-object or
 * JSON (schema_json.h); a Confluent-framed message (0x00 + 4-byte schema id)
 * is recognised and refused, since no schema registry is configured.
 *
 * Ownership and threads: a codec holds reusable Avro values and buffers, so
 * use one codec per thread. An article decoded from Avro borrows its strings
 * from the codec until the next decode on that codec (or schema_article_clear,
 * which is harmless); one decoded from JSON owns its document as in
 * schema_json.h. Strings are always followed by a NUL byte.
 * Errors: functions return 0 (or SCHEMA_OK) on success, else a non-zero code
 * with a message in errstr; nothing aborts.
 */
#ifndef SCHEMA_AVRO_H
#define SCHEMA_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include "schema_json.h"

typedef enum schema_format { SCHEMA_FMT_AVRO = 0, SCHEMA_FMT_JSON = 1 } schema_format;

/* Why a message is not an article: the dead-letter error class. */
typedef enum schema_fail {
    SCHEMA_OK = 0,
    SCHEMA_FAIL_UNDECODABLE,    /* neither Avro single-object nor JSON, or corrupt */
    SCHEMA_FAIL_SCHEMA,         /* Avro single-object of another schema */
    SCHEMA_FAIL_REGISTRY,       /* Confluent framing; no schema registry configured */
    SCHEMA_FAIL_INVALID,        /* decodes, but id or text is missing, empty or mistyped */
    SCHEMA_FAIL_NOMEM,          /* out of memory (not the message's fault) */
} schema_fail;

/* Stable names, used in dead-letter headers and metrics: "undecodable",
 * "wrong-schema", "schema-registry", "invalid-article", "out-of-memory". */
const char *schema_fail_name(schema_fail f);

typedef struct schema_codec schema_codec;

schema_codec *schema_codec_create(char *errstr, size_t errstr_size);
void schema_codec_destroy(schema_codec *c);     /* NULL is fine */

uint64_t schema_codec_article_fingerprint(const schema_codec *c);
uint64_t schema_codec_record_fingerprint(const schema_codec *c);

/* Recognises and decodes one message value into *a (cleared first). */
schema_fail schema_codec_decode_article(schema_codec *c, const void *buf, size_t len,
                                        schema_article *a, char *errstr, size_t errstr_size);

/* Encodes an article (id and text required) into out, replacing its content. */
int schema_codec_encode_article(schema_codec *c, schema_format fmt, const schema_article *a,
                                schema_buf *out, char *errstr, size_t errstr_size);

/* Encodes a record with its lineage into out, replacing its content. id must
 * be followed by a NUL byte (every decoded article's id is). */
int schema_codec_encode_record(schema_codec *c, schema_format fmt, const char *id, size_t id_len,
                               const char *model_id, const dhatu_record *r,
                               const schema_lineage *lineage, schema_buf *out,
                               char *errstr, size_t errstr_size);

/* Turns a record message (Avro single-object or JSON) into the JSON form of
 * schema_json_write_record, for tools and tests. */
int schema_codec_record_to_json(schema_codec *c, const void *buf, size_t len, schema_buf *out,
                                char *errstr, size_t errstr_size);

/* The embedded schema texts (NUL-terminated). */
extern const char schema_article_avsc_text[];
extern const char schema_record_avsc_text[];

/* Avro Parsing Canonical Form of a schema given as JSON, and the 64-bit
 * CRC-64-AVRO (Rabin) fingerprint; exposed for tests and tools. */
int schema_avro_canonical(const char *schema_json, size_t len, schema_buf *out,
                          char *errstr, size_t errstr_size);
uint64_t schema_avro_crc64(const void *buf, size_t len);

#endif
