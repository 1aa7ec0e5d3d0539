/* schema_avro.h -- the pipeline's wire formats: articles and dhātu records
 * in Avro (Avro C) or JSON, and recognising what arrives on a topic.
 *
 * Avro messages use Avro single-object encoding: C3 01, the schema's 8-byte
 * little-endian CRC-64-AVRO fingerprint of its Parsing Canonical Form, then
 * the binary datum. The schemas are schemas/avro/{article,record}.avsc,
 * built into the library. On input an article may be Avro single-object or
 * JSON (schema_json.h), or Confluent-framed (0x00 + the 4-byte big-endian
 * registry id of the writer's schema): with a lookup set, the writer's schema
 * comes from the registry and is resolved against ours (Avro schema
 * resolution: added fields skipped, removed fields with defaults filled,
 * reordered fields, promoted types); without one it is refused as
 * "schema-registry". Records may be written with that framing too.
 * Every datum is checked against its schema and its length before Avro C
 * reads it (datum_check.h), so a hostile message costs at most its own size.
 *
 * Ownership and threads: a codec holds reusable Avro values and buffers, so
 * use one codec per thread. An article it decodes, from Avro or JSON,
 * borrows its strings from the codec until the next decode or encode on
 * that codec (schema_article_clear is harmless): to re-encode a decoded
 * article, use another codec. Nothing is allocated per message once the
 * codec's buffers have grown. Errors: schema.h's convention.
 */
#ifndef SCHEMA_AVRO_H
#define SCHEMA_AVRO_H

#include "fingerprint.h"
#include "schema_json.h"

typedef struct schema_codec schema_codec;

/* SCHEMA_ERR_NOMEM, or SCHEMA_ERR_INTERNAL when a built-in schema is broken. */
schema_status schema_codec_create(schema_codec **out, char *errstr, size_t errstr_size);
void schema_codec_destroy(schema_codec *c);     /* NULL is fine */

uint64_t schema_codec_article_fingerprint(const schema_codec *c);
uint64_t schema_codec_record_fingerprint(const schema_codec *c);

/* The writer schemas of Confluent-framed messages: fn returns SCHEMA_OK with
 * the schema's JSON (borrowed until the next call), SCHEMA_ERR_UNKNOWN_SCHEMA
 * when the registry has no such id, SCHEMA_ERR_UNAVAILABLE when it did not
 * answer. The codec keeps the last CODEC_WRITERS ids resolved, so a lookup
 * happens once per id, not per message. */
typedef schema_status (*schema_lookup_fn)(void *ctx, uint32_t id, const char **json, size_t *len,
                                          char *errstr, size_t errstr_size);
void schema_codec_set_lookup(schema_codec *c, schema_lookup_fn fn, void *ctx);

/* Our schemas' registry ids, for SCHEMA_FMT_AVRO_REGISTRY output. */
void schema_codec_set_registry_ids(schema_codec *c, uint32_t article_id, uint32_t record_id);

/* Recognises and decodes one message value into *a (cleared first); the
 * status is the dead-letter class of a message that is not an article,
 * except SCHEMA_ERR_UNAVAILABLE (the registry did not answer): the caller
 * retries later and never dead-letters it. */
schema_status schema_codec_decode_article(schema_codec *c, const void *buf, size_t len,
                                          schema_article *a, char *errstr, size_t errstr_size);

/* Encodes an article (id and text required) into out, replacing its content. */
schema_status schema_codec_encode_article(schema_codec *c, schema_format fmt, const schema_article *a,
                                          dbuf *out, char *errstr, size_t errstr_size);

/* Encodes a record with its lineage into out, replacing its content. id must
 * be followed by a NUL byte (every decoded article's id is). */
schema_status schema_codec_encode_record(schema_codec *c, schema_format fmt, const char *id, size_t id_len,
                                         const char *model_id, const dhatu_record *r,
                                         const schema_lineage *lineage, dbuf *out,
                                         char *errstr, size_t errstr_size);

/* Turns a record message (Avro single-object, Confluent-framed with a lookup
 * set, or JSON) into the JSON form of schema_json_write_record, for tools and tests. */
schema_status schema_codec_record_to_json(schema_codec *c, const void *buf, size_t len, dbuf *out,
                                          char *errstr, size_t errstr_size);

/* Our own schemas are read and written by straight-line code (avrobin.h:
 * the same bytes, no value tree); on, this codec uses Avro C's generic
 * values for them too, as it does for a foreign writer schema. The oracle
 * of the tests and the fuzz harness; slower. Off by default. */
void schema_codec_use_avro_c(schema_codec *c, int on);

/* The embedded schema texts (NUL-terminated). */
extern const char schema_article_avsc_text[];
extern const char schema_record_avsc_text[];
/* Version 1 of the record schema (before lang and source): read, never written. */
extern const char schema_record_v1_avsc_text[];
uint64_t schema_codec_record_v1_fingerprint(const schema_codec *c);

#endif
