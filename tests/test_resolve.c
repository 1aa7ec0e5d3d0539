/* test_resolve.c -- Confluent-framed messages without a registry: a lookup
 * that serves writer schemas from this file. Our schema framed; an evolved
 * writer (a field added, an optional one removed, fields reordered, int
 * promoted to long) read as ours; an incompatible writer refused with its
 * reason; unknown ids and an unavailable registry told apart; records
 * written with the framing read back; resolutions cached per id. The real
 * registry (Apicurio) and a Java writer are in tests/kafka (registry-*). */
#include "testlib.h"
#include "schema_avro.h"
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The evolved writer: text first, "category" added (with a default), "url"
 * gone, "published" an int (promoted to long). Name and namespace as ours. */
static const char evolved[] =
    "{\"type\":\"record\",\"name\":\"Article\",\"namespace\":\"org.dhatu\",\"fields\":["
    "{\"name\":\"text\",\"type\":\"string\"},{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"category\",\"type\":\"string\",\"default\":\"news\"},"
    "{\"name\":\"title\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"lang\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"source\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"published\",\"type\":[\"null\",\"int\"],\"default\":null}]}";
/* Incompatible: text is a long. */
static const char incompatible[] =
    "{\"type\":\"record\",\"name\":\"Article\",\"namespace\":\"org.dhatu\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"text\",\"type\":\"long\"}]}";
/* Incompatible: no "text" at all, which has no default in ours. */
static const char no_text[] =
    "{\"type\":\"record\",\"name\":\"Article\",\"namespace\":\"org.dhatu\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"}]}";

typedef struct fake {
    int calls;
    int down;           /* answer SCHEMA_ERR_UNAVAILABLE */
} fake;

static schema_status lookup(void *ctx, uint32_t id, const char **json, size_t *len, char *err, size_t n)
{
    fake *f = ctx;
    f->calls++;
    if (f->down) return snprintf(err, n, "registry down"), SCHEMA_ERR_UNAVAILABLE;
    switch (id) {
    case 1: *json = schema_article_avsc_text; break;
    case 2: *json = evolved; break;
    case 3: *json = incompatible; break;
    case 4: *json = no_text; break;
    case 5: *json = schema_record_avsc_text; break;
    case 6: *json = schema_record_v1_avsc_text; break;     /* records before lang and source */
    default: return snprintf(err, n, "no schema %u", id), SCHEMA_ERR_UNKNOWN_SCHEMA;
    }
    *len = strlen(*json);
    return SCHEMA_OK;
}

/* 00 + id + the datum of value v. */
static size_t frame(uint32_t id, avro_value_t *v, unsigned char *buf, size_t size)
{
    buf[0] = 0;
    for (int i = 0; i < 4; i++) buf[1 + i] = (unsigned char)(id >> (24 - 8 * i));
    avro_writer_t w = avro_writer_memory((char *)buf + 5, (int64_t)size - 5);
    ck_assert_int_eq(avro_value_write(w, v), 0);
    size_t n = 5 + (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    return n;
}

static void set_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t f, b;
    ck_assert_int_eq(avro_value_get_by_name(rec, name, &f, NULL), 0);
    if (avro_value_get_type(&f) == AVRO_UNION) {
        ck_assert_int_eq(avro_value_set_branch(&f, s ? 1 : 0, &b), 0);
        if (!s) {
            avro_value_set_null(&b);
            return;
        }
        f = b;
    }
    ck_assert_int_eq(avro_value_set_string(&f, s), 0);
}

/* A message of the evolved writer: id, text, title, published (int). */
static size_t evolved_message(unsigned char *buf, size_t size, const char *id, int32_t published)
{
    avro_schema_t s;
    ck_assert_int_eq(avro_schema_from_json_length(evolved, strlen(evolved), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v, f, b;
    avro_generic_value_new(iface, &v);
    set_str(&v, "id", id);
    set_str(&v, "text", "It must not be possible.");
    set_str(&v, "category", "physics");
    set_str(&v, "title", "On evolution");
    set_str(&v, "lang", NULL);
    set_str(&v, "source", NULL);
    avro_value_get_by_name(&v, "published", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_int(&b, published);
    size_t n = frame(2, &v, buf, size);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    return n;
}

START_TEST(our_schema_framed_round_trips)
{
    schema_codec *c, *c2;
    char err[512];
    ck_assert_int_eq(schema_codec_create(&c, err, sizeof err), SCHEMA_OK);
    ck_assert_int_eq(schema_codec_create(&c2, err, sizeof err), SCHEMA_OK);
    fake f = { 0 };
    schema_codec_set_lookup(c2, lookup, &f);
    schema_codec_set_registry_ids(c, 1, 5);
    schema_article a = { .id = "a1", .id_len = 2, .text = "some text", .text_len = 9, .title = "T", .title_len = 1,
                         .url = "http://x", .url_len = 8, .published = 1700000000000, .has_published = 1 };
    dbuf out = { 0 };
    ck_assert_int_eq(schema_codec_encode_article(c, SCHEMA_FMT_AVRO_REGISTRY, &a, &out, err, sizeof err), SCHEMA_OK);
    const unsigned char *m = (const unsigned char *)out.data;
    ck_assert(m[0] == 0 && m[1] == 0 && m[2] == 0 && m[3] == 0 && m[4] == 1);
    schema_article b;
    for (int k = 0; k < 3; k++) {
        ck_assert_msg(schema_codec_decode_article(c2, out.data, out.len, &b, err, sizeof err) == SCHEMA_OK, "%s", err);
        ck_assert_str_eq(b.id, "a1");
        ck_assert_str_eq(b.text, "some text");
        ck_assert_str_eq(b.title, "T");
        ck_assert_str_eq(b.url, "http://x");
        ck_assert(b.has_published && b.published == 1700000000000);
        ck_assert_ptr_null(b.lang);
    }
    ck_assert_int_eq(f.calls, 1);   /* one lookup per id, not per message */
    dbuf_free(&out);
    schema_codec_destroy(c);
    schema_codec_destroy(c2);
}
END_TEST

START_TEST(an_evolved_writer_is_read_as_ours)
{
    schema_codec *c;
    char err[512];
    ck_assert_int_eq(schema_codec_create(&c, err, sizeof err), SCHEMA_OK);
    fake f = { 0 };
    schema_codec_set_lookup(c, lookup, &f);
    unsigned char buf[1024];
    for (int k = 0; k < 3; k++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", k);
        size_t n = evolved_message(buf, sizeof buf, id, 1000 + k);
        schema_article a;
        ck_assert_msg(schema_codec_decode_article(c, buf, n, &a, err, sizeof err) == SCHEMA_OK, "%s", err);
        ck_assert_str_eq(a.id, id);
        ck_assert_str_eq(a.text, "It must not be possible.");
        ck_assert_str_eq(a.title, "On evolution");
        ck_assert_ptr_null(a.url);          /* removed from the writer: its default */
        ck_assert_ptr_null(a.lang);
        ck_assert(a.has_published && a.published == 1000 + k);   /* int promoted */
    }
    ck_assert_int_eq(f.calls, 1);
    schema_codec_destroy(c);
}
END_TEST

START_TEST(incompatible_unknown_and_unavailable_are_told_apart)
{
    schema_codec *c;
    char err[512];
    ck_assert_int_eq(schema_codec_create(&c, err, sizeof err), SCHEMA_OK);
    fake f = { 0 };
    schema_codec_set_lookup(c, lookup, &f);
    schema_article a;
    unsigned char m[16] = { 0, 0, 0, 0, 3, 2, 'a', 2, 'b' };
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_WRONG_SCHEMA);
    ck_assert_msg(strstr(err, "text") != NULL, "reason names the field: %s", err);
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_WRONG_SCHEMA);
    ck_assert_int_eq(f.calls, 1);   /* the refusal is cached too */
    m[4] = 4;
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_WRONG_SCHEMA);
    ck_assert_msg(strstr(err, "\"text\" is missing") != NULL, "%s", err);
    m[4] = 99;
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_UNKNOWN_SCHEMA);
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_UNKNOWN_SCHEMA);
    ck_assert_int_eq(f.calls, 4);   /* unknown ids are asked again: they may be registered later */
    f.down = 1;
    m[4] = 1;
    ck_assert_int_eq(schema_codec_decode_article(c, m, 9, &a, err, sizeof err), SCHEMA_ERR_UNAVAILABLE);
    f.down = 0;
    unsigned char buf[1024];
    size_t n = evolved_message(buf, sizeof buf, "x", 1);
    buf[n - 1] ^= 0x40;             /* corrupt the last byte's varint */
    schema_status st = schema_codec_decode_article(c, buf, n + 3, &a, err, sizeof err);
    ck_assert_msg(st == SCHEMA_ERR_UNDECODABLE, "trailing bytes: %s (%s)", schema_status_name(st), err);
    schema_codec_destroy(c);
}
END_TEST

START_TEST(framed_records_decode_and_other_schemas_are_refused)
{
    schema_codec *w, *r;
    char err[512];
    ck_assert_int_eq(schema_codec_create(&w, err, sizeof err), SCHEMA_OK);
    ck_assert_int_eq(schema_codec_create(&r, err, sizeof err), SCHEMA_OK);
    fake f = { 0 };
    schema_codec_set_lookup(r, lookup, &f);
    schema_codec_set_registry_ids(w, 1, 5);
    dhatu_record rec;
    memset(&rec, 0, sizeof rec);
    rec.weights[2] = 0.5;
    rec.tokens = 7;
    schema_lineage lin = { .topic = "in", .partition = 3, .offset = 42, .timestamp = -1, .processed_at = 5,
                           .processor = "dhatu-consumer 0.1.0", .backend = "cpu" };
    dbuf out = { 0 }, js = { 0 };
    ck_assert_int_eq(schema_codec_encode_record(w, SCHEMA_FMT_AVRO_REGISTRY, "r1", 2, "lexicon-1", &rec, &lin, &out,
                                                err, sizeof err), SCHEMA_OK);
    ck_assert_int_eq(((unsigned char *)out.data)[4], 5);
    ck_assert_msg(schema_codec_record_to_json(r, out.data, out.len, &js, err, sizeof err) == SCHEMA_OK, "%s", err);
    ck_assert_msg(strstr(js.data, "\"id\":\"r1\"") && strstr(js.data, "\"offset\":42"), "%s", js.data);
    ck_assert_msg(strstr(js.data, "\"lang\":null,\"source\":null}"), "%s", js.data);
    dbuf v2 = { 0 };
    ck_assert_int_eq(dbuf_set(&v2, js.data, js.len), 0);
    /* The same record under the registry id of version 1 of the schema:
     * its datum is version 2's without the two null branches at the end,
     * and it reads back as the same record. */
    ((unsigned char *)out.data)[4] = 6;
    out.len -= 2;
    ck_assert_msg(schema_codec_record_to_json(r, out.data, out.len, &js, err, sizeof err) == SCHEMA_OK, "%s", err);
    ck_assert_msg(js.len == v2.len && !memcmp(js.data, v2.data, v2.len), "%s", js.data);
    dbuf_free(&v2);
    out.len += 2;
    ((unsigned char *)out.data)[4] = 2;     /* an article schema's id on a record */
    ck_assert_int_eq(schema_codec_record_to_json(r, out.data, out.len, &js, err, sizeof err), SCHEMA_ERR_WRONG_SCHEMA);
    dbuf_free(&out);
    dbuf_free(&js);
    schema_codec_destroy(w);
    schema_codec_destroy(r);
}
END_TEST

TL_MAIN("resolve", our_schema_framed_round_trips, an_evolved_writer_is_read_as_ours,
        incompatible_unknown_and_unavailable_are_told_apart, framed_records_decode_and_other_schemas_are_refused)
