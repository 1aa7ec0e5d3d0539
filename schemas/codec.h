/* codec.h -- the Avro codec's insides, shared by the article and record
 * codecs (internal to the schemas library; the API is schema_avro.h).
 *
 * A codec owns one reusable Avro value per schema, a memory reader and a
 * memory writer; the helpers below read and write single-object messages
 * and the field shapes the two schemas use (strings, ["null", T] unions).
 * Field positions are checked against the parsed schemas when the codec
 * is created, so the enums and the .avsc files cannot drift apart.
 */
#ifndef SCHEMA_CODEC_H
#define SCHEMA_CODEC_H

#include <avro.h>
#include "schema_avro.h"

#define SO_HEADER 10                     /* C3 01 + 8-byte fingerprint */
#define SO_MAGIC0 0xC3
#define SO_MAGIC1 0x01

enum { A_ID, A_TITLE, A_TEXT, A_LANG, A_SOURCE, A_URL, A_PUBLISHED, A_NFIELDS };
enum { R_ID, R_MODEL, R_WEIGHTS, R_POSITIVE, R_NEGATIVE, R_TOKENS, R_DOMINANT, R_POLARITY,
       R_INTENSITY, R_CONFIDENCE, R_SIGNATURE, R_PRIME_BASES, R_AMBIGUITY, R_LINEAGE, R_LANG, R_SOURCE, R_NFIELDS };
/* Version 1 of the record schema (record-1.avsc) is version 2 without its
 * last two fields: the same indexes up to R_LINEAGE. */
#define R_NFIELDS_V1 R_LANG
enum { L_TOPIC, L_PARTITION, L_OFFSET, L_TIMESTAMP, L_PROCESSED_AT, L_PROCESSOR, L_BACKEND,
       L_NFIELDS };

#define CF_HEADER 5                      /* Confluent framing: 00 + 4-byte big-endian id */
#define CODEC_WRITERS 8                  /* writer schemas kept resolved (resolve.c) */

struct avro_type {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    uint64_t fingerprint;
    int have_value;
    uint32_t registry_id;       /* SCHEMA_FMT_AVRO_REGISTRY: our schema's id */
    int has_registry_id;
};

/* A registry schema id as resolved against a reader schema (resolve.c):
 * the same schema as ours, one Avro C can resolve into a projection of
 * ours, or one that cannot be (why says why). */
struct writer {
    uint32_t id;
    int used;
    const struct avro_type *reader;     /* resolved against article or record */
    struct avro_type *same;             /* W_SAME: the type it is (record, or record_v1 for a record) */
    enum { W_SAME, W_RESOLVED, W_INCOMPATIBLE } kind;
    avro_schema_t wschema, proj;
    avro_value_iface_t *proj_iface, *res_iface;
    avro_value_t proj_value, res_value;
    char why[384];              /* room for a message around resolve.c's 256-byte reasons */
};

struct schema_codec {
    struct avro_type article, record;
    struct avro_type record_v1;         /* read only: records written before lang and source */
    avro_reader_t reader;
    avro_writer_t writer;
    dbuf json;                  /* a decoded article's strings (JSON or Avro), until the next decode */
    int avro_c;                 /* schema_codec_use_avro_c: Avro C's values for our own schemas too */
    schema_lookup_fn lookup;    /* writer schemas of Confluent-framed messages */
    void *lookup_ctx;
    struct writer writers[CODEC_WRITERS];
    unsigned next_writer;
};

/* The single-object header of msg: long enough, and t's fingerprint. */
schema_status codec_check_header(const struct avro_type *t, const char *what, const unsigned char *buf, size_t len,
                                 char *errstr, size_t n);
/* Reads one datum of type t from a single-object message into t->value,
 * requiring t's fingerprint, a datum that passes datum_check.h and no trailing
 * bytes. what names t in messages. */
schema_status codec_read(schema_codec *c, struct avro_type *t, const char *what,
                         const unsigned char *msg, size_t len, char *errstr, size_t n);
/* Writes t->value as a single-object message into out (replaced), or with
 * the Confluent framing when fmt is SCHEMA_FMT_AVRO_REGISTRY. */
schema_status codec_write(schema_codec *c, struct avro_type *t, schema_format fmt, dbuf *out, char *errstr,
                          size_t n);

/* Reserves out for hdr + size bytes and writes t's framing (single-object
 * or Confluent) at its start; *hdr is the framing's length. */
schema_status codec_frame(struct avro_type *t, schema_format fmt, size_t size, dbuf *out, size_t *hdr,
                          char *errstr, size_t n);
/* avrobin.h's article reader with codec_read's messages: msg is the datum
 * (no header) and len_all the whole message's length, for the message. */
schema_status codec_read_article_direct(schema_codec *c, const unsigned char *msg, size_t len, size_t len_all,
                                        schema_article *a, char *errstr, size_t n);

/* resolve.c: a Confluent-framed article (00 + id + datum) into *a. */
schema_status codec_read_registry_article(schema_codec *c, const unsigned char *msg, size_t len,
                                          schema_article *a, char *errstr, size_t n);
/* resolve.c: a Confluent-framed message of exactly t's schema (or, for a
 * record, of version 1 of it) into the value of that type, *as. */
schema_status codec_read_registry_same(schema_codec *c, struct avro_type *t, const char *what,
                                       const unsigned char *msg, size_t len, struct avro_type **as,
                                       char *errstr, size_t n);
void codec_writers_free(schema_codec *c);

/* A ["null", T] union field of rec: 1 with the branch value, 0 for null. */
int codec_opt_branch(avro_value_t *rec, int idx, avro_value_t *branch);
/* A string value (NULL when it is not one); len may be NULL. */
void codec_get_str(avro_value_t *v, const char **s, size_t *len);
void codec_get_opt_str(avro_value_t *rec, int idx, const char **s, size_t *len);
/* Setters of a string field and of ["null", T] fields; s[len] must be NUL.
 * 0, or non-zero when Avro C refused. */
int codec_set_str(avro_value_t *rec, int idx, const char *s, size_t len);
int codec_set_opt_str(avro_value_t *rec, int idx, const char *s, size_t len);
int codec_set_opt_long(avro_value_t *rec, int idx, int present, int64_t v);

#endif
