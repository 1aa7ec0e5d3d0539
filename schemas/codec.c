/* codec.c -- the codec's life cycle and the single-object framing (see
 * codec.h and schema_avro.h). */
#include "codec.h"
#include "avrobin.h"
#include "datum_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const article_fields[A_NFIELDS] = {
    "id", "title", "text", "lang", "source", "url", "published" };
static const char *const record_fields[R_NFIELDS] = {
    "id", "model", "weights", "positive", "negative", "tokens", "dominant", "polarity",
    "intensity", "confidence", "signature", "prime_bases", "ambiguity", "lineage", "lang", "source" };
static const char *const lineage_fields[L_NFIELDS] = {
    "topic", "partition", "offset", "timestamp", "processed_at", "processor", "backend" };

static schema_status type_init(struct avro_type *t, const char *json, const char *const *fields,
                               int nfields, char *errstr, size_t n)
{
    dbuf canon = { 0 };
    schema_status st = schema_avro_canonical(json, strlen(json), &canon, errstr, n);
    if (st) return st == SCHEMA_ERR_NOMEM ? st : SCHEMA_ERR_INTERNAL;
    t->fingerprint = schema_avro_crc64(canon.data, canon.len);
    dbuf_free(&canon);
    if (avro_schema_from_json_length(json, strlen(json), &t->schema))
        return schema_error(errstr, n, SCHEMA_ERR_INTERNAL, "Avro C rejects a built-in schema: %s", avro_strerror());
    for (int i = 0; i < nfields; i++) {
        const char *name = avro_schema_record_field_name(t->schema, i);
        if (!name || strcmp(name, fields[i]))
            return schema_error(errstr, n, SCHEMA_ERR_INTERNAL, "built-in schema field order changed at %s", fields[i]);
    }
    t->iface = avro_generic_class_from_schema(t->schema);
    if (!t->iface || avro_generic_value_new(t->iface, &t->value))
        return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "Avro C: %s", avro_strerror());
    t->have_value = 1;
    return SCHEMA_OK;
}

static void type_free(struct avro_type *t)
{
    if (t->have_value) avro_value_decref(&t->value);
    if (t->iface) avro_value_iface_decref(t->iface);
    if (t->schema) avro_schema_decref(t->schema);
}

static schema_status check_lineage(const struct avro_type *t, char *errstr, size_t n)
{
    avro_schema_t lin = avro_schema_record_field_get_by_index(t->schema, R_LINEAGE);
    for (int i = 0; i < L_NFIELDS; i++) {
        const char *name = lin ? avro_schema_record_field_name(lin, i) : NULL;
        if (!name || strcmp(name, lineage_fields[i]))
            return schema_error(errstr, n, SCHEMA_ERR_INTERNAL, "built-in schema field order changed at lineage.%s",
                                lineage_fields[i]);
    }
    return SCHEMA_OK;
}

schema_status schema_codec_create(schema_codec **out, char *errstr, size_t n)
{
    *out = NULL;
    schema_codec *c = calloc(1, sizeof *c);
    if (!c) return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    schema_status st = type_init(&c->article, schema_article_avsc_text, article_fields, A_NFIELDS, errstr, n);
    if (!st) st = type_init(&c->record, schema_record_avsc_text, record_fields, R_NFIELDS, errstr, n);
    if (!st) st = type_init(&c->record_v1, schema_record_v1_avsc_text, record_fields, R_NFIELDS_V1, errstr, n);
    if (!st) st = check_lineage(&c->record, errstr, n);
    if (!st) st = check_lineage(&c->record_v1, errstr, n);
    static const char dummy[1];
    if (!st && (!(c->reader = avro_reader_memory(dummy, 0)) || !(c->writer = avro_writer_memory(dummy, 0))))
        st = schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    if (st) {
        schema_codec_destroy(c);
        return st;
    }
    *out = c;
    return SCHEMA_OK;
}

void schema_codec_destroy(schema_codec *c)
{
    if (!c) return;
    codec_writers_free(c);
    type_free(&c->article);
    type_free(&c->record);
    type_free(&c->record_v1);
    if (c->reader) avro_reader_free(c->reader);
    if (c->writer) avro_writer_free(c->writer);
    dbuf_free(&c->json);
    free(c);
}

uint64_t schema_codec_article_fingerprint(const schema_codec *c) { return c->article.fingerprint; }
uint64_t schema_codec_record_fingerprint(const schema_codec *c) { return c->record.fingerprint; }
uint64_t schema_codec_record_v1_fingerprint(const schema_codec *c) { return c->record_v1.fingerprint; }

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put_header(unsigned char *p, uint64_t fp)
{
    p[0] = SO_MAGIC0;
    p[1] = SO_MAGIC1;
    for (int i = 0; i < 8; i++) p[2 + i] = (unsigned char)(fp >> (8 * i));
}

schema_status codec_check_header(const struct avro_type *t, const char *what, const unsigned char *buf, size_t len,
                                 char *errstr, size_t n)
{
    if (len < SO_HEADER) {
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "Avro single-object header truncated");
    }
    uint64_t fp = get_le64(buf + 2);
    if (fp != t->fingerprint)
        return schema_error(errstr, n, SCHEMA_ERR_WRONG_SCHEMA, "Avro fingerprint %016llx is not %s (%016llx)",
                            (unsigned long long)fp, what, (unsigned long long)t->fingerprint);
    return SCHEMA_OK;
}

schema_status codec_read(schema_codec *c, struct avro_type *t, const char *what,
                         const unsigned char *buf, size_t len, char *errstr, size_t n)
{
    schema_status st = codec_check_header(t, what, buf, len, errstr, n);
    if (st) return st;
    const unsigned char *p = buf + SO_HEADER, *end = buf + len;
    if (schema_check_datum(t->schema, &p, end))
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE,
                            "corrupt Avro datum: a length, branch or index does not fit the %zu bytes", len);
    if (p != end) return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "trailing bytes after the Avro datum");
    avro_value_reset(&t->value);
    avro_reader_memory_set_source(c->reader, (const char *)buf + SO_HEADER,
                                  (int64_t)(len - SO_HEADER));
    if (avro_value_read(c->reader, &t->value))
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "corrupt Avro datum: %s", avro_strerror());
    char extra;
    if (avro_read(c->reader, &extra, 1) == 0)
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "trailing bytes after the Avro datum");
    return SCHEMA_OK;
}

int codec_opt_branch(avro_value_t *rec, int idx, avro_value_t *branch)
{
    avro_value_t u;
    int disc = 0;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL) || avro_value_get_discriminant(&u, &disc))
        return 0;
    return disc == 1 && avro_value_get_current_branch(&u, branch) == 0;
}

void codec_get_str(avro_value_t *v, const char **s, size_t *len)
{
    size_t size = 0;
    *s = NULL;
    if (avro_value_get_string(v, s, &size) == 0 && *s) {
        if (len) *len = size ? size - 1 : 0;   /* Avro C counts the NUL */
    } else {
        *s = NULL;
    }
}

void codec_get_opt_str(avro_value_t *rec, int idx, const char **s, size_t *len)
{
    avro_value_t b;
    *s = NULL;
    if (len) *len = 0;
    if (codec_opt_branch(rec, idx, &b)) codec_get_str(&b, s, len);
}
int codec_set_str(avro_value_t *rec, int idx, const char *s, size_t len)
{
    avro_value_t f;
    if (avro_value_get_by_index(rec, (size_t)idx, &f, NULL)) return -1;
    /* set_string_len copies size bytes, NUL included: s[len] is NUL. */
    return avro_value_set_string_len(&f, s, len + 1);
}

int codec_set_opt_str(avro_value_t *rec, int idx, const char *s, size_t len)
{
    avro_value_t u, b;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL)) return -1;
    if (!s) return avro_value_set_branch(&u, 0, &b) || avro_value_set_null(&b);
    return avro_value_set_branch(&u, 1, &b) || avro_value_set_string_len(&b, s, len + 1);
}

int codec_set_opt_long(avro_value_t *rec, int idx, int present, int64_t v)
{
    avro_value_t u, b;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL)) return -1;
    if (!present) return avro_value_set_branch(&u, 0, &b) || avro_value_set_null(&b);
    return avro_value_set_branch(&u, 1, &b) || avro_value_set_long(&b, v);
}

schema_status codec_frame(struct avro_type *t, schema_format fmt, size_t size, dbuf *out, size_t *hdr,
                          char *errstr, size_t n)
{
    *hdr = fmt == SCHEMA_FMT_AVRO_REGISTRY ? CF_HEADER : SO_HEADER;
    if (fmt == SCHEMA_FMT_AVRO_REGISTRY && !t->has_registry_id)
        return schema_error(errstr, n, SCHEMA_ERR_INTERNAL, "registry framing asked for, but no schema id is set");
    if (dbuf_reserve(out, *hdr + size)) return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    unsigned char *p = (unsigned char *)out->data;
    if (fmt == SCHEMA_FMT_AVRO_REGISTRY) {
        p[0] = 0;
        for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(t->registry_id >> (24 - 8 * i));
    } else {
        put_header(p, t->fingerprint);
    }
    return SCHEMA_OK;
}

schema_status codec_write(schema_codec *c, struct avro_type *t, schema_format fmt, dbuf *out, char *errstr,
                          size_t n)
{
    size_t size = 0, hdr;
    if (avro_value_sizeof(&t->value, &size))
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "Avro C: %s", avro_strerror());
    schema_status st = codec_frame(t, fmt, size, out, &hdr, errstr, n);
    if (st) return st;
    avro_writer_memory_set_dest(c->writer, out->data + hdr, (int64_t)size);
    if (avro_value_write(c->writer, &t->value))
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "Avro C: %s", avro_strerror());
    dbuf_setlen(out, hdr + size);
    return SCHEMA_OK;
}

schema_status codec_read_article_direct(schema_codec *c, const unsigned char *msg, size_t len, size_t len_all,
                                        schema_article *a, char *errstr, size_t n)
{
    const char *why;
    schema_status st = avrobin_read_article(msg, len, &c->json, a, &why);
    if (st == SCHEMA_OK) return st;
    memset(a, 0, sizeof *a);
    if (st == SCHEMA_ERR_NOMEM) return schema_error(errstr, n, st, "out of memory");
    if (!strcmp(why, "trailing"))
        return schema_error(errstr, n, st, "trailing bytes after the Avro datum");
    return schema_error(errstr, n, st, "corrupt Avro datum: a length, branch or index does not fit the %zu bytes",
                        len_all);
}

void schema_codec_use_avro_c(schema_codec *c, int on) { c->avro_c = on; }

void schema_codec_set_lookup(schema_codec *c, schema_lookup_fn fn, void *ctx)
{
    codec_writers_free(c);      /* another registry: ids mean other schemas */
    c->lookup = fn;
    c->lookup_ctx = ctx;
}

void schema_codec_set_registry_ids(schema_codec *c, uint32_t article_id, uint32_t record_id)
{
    c->article.registry_id = article_id;
    c->article.has_registry_id = 1;
    c->record.registry_id = record_id;
    c->record.has_registry_id = 1;
}
