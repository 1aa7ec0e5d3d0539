/* fuzz_article.c -- an untrusted message value through everything the
 * consumer does with it before the engine: framing recognition, the Avro
 * hostile-input check and decoder, the JSON article parser, Confluent-framed
 * messages resolved against a writer schema from a (fake) registry; and the
 * same bytes as a record message through the record decoder (dhatu-dump).
 * Registry ids: 1 our Article, 2 a writer with reordered, added (an array,
 * a nested record) and removed fields and an int promoted to long, 3 our
 * record, anything else unknown. The same bytes are decoded by a codec
 * that reads our own schemas with Avro C (the oracle of the direct reader,
 * schemas/avrobin.h): the same verdict, message and fields, or abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "schema_avro.h"

static schema_codec *codec, *writer, *oracle;  /* a decoded article borrows from its codec */

static const char evolved[] =
    "{\"type\":\"record\",\"name\":\"Article\",\"namespace\":\"org.dhatu\",\"fields\":["
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"},\"default\":[]},"
    "{\"name\":\"text\",\"type\":\"string\"},"
    "{\"name\":\"meta\",\"type\":{\"type\":\"record\",\"name\":\"Meta\",\"fields\":["
    "{\"name\":\"n\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"bytes\"}]}},"
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"published\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"lang\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

static schema_status lookup(void *ctx, uint32_t id, const char **json, size_t *len, char *err, size_t n)
{
    (void)ctx;
    *json = id == 1 ? schema_article_avsc_text : id == 2 ? evolved : id == 3 ? schema_record_avsc_text : NULL;
    if (!*json) {   /* as the registry client says it */
        snprintf(err, n, "the schema registry has no schema id %u", (unsigned)id);
        return SCHEMA_ERR_UNKNOWN_SCHEMA;
    }
    *len = strlen(*json);
    return SCHEMA_OK;
}

static int same(const char *x, size_t xl, const char *y, size_t yl)
{
    return x == NULL ? y == NULL : y != NULL && xl == yl && !memcmp(x, y, xl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!codec && (schema_codec_create(&codec, err, sizeof err) || schema_codec_create(&writer, err, sizeof err) ||
                   schema_codec_create(&oracle, err, sizeof err)))
        abort();
    static int once;
    if (!once++) {
        schema_codec_set_lookup(codec, lookup, NULL);
        schema_codec_set_lookup(oracle, lookup, NULL);
        schema_codec_use_avro_c(oracle, 1);
    }
    schema_article a, o;
    char oerr[256];
    schema_status st = schema_codec_decode_article(codec, data, size, &a, err, sizeof err);
    if (schema_codec_decode_article(oracle, data, size, &o, oerr, sizeof oerr) != st) abort();
    if (st != SCHEMA_OK && strcmp(err, oerr)) abort();
    if (st == SCHEMA_OK && (!same(a.id, a.id_len, o.id, o.id_len) || !same(a.text, a.text_len, o.text, o.text_len) ||
                            !same(a.title, a.title_len, o.title, o.title_len) ||
                            !same(a.lang, a.lang ? strlen(a.lang) : 0, o.lang, o.lang ? strlen(o.lang) : 0) ||
                            !same(a.source, a.source_len, o.source, o.source_len) ||
                            !same(a.url, a.url_len, o.url, o.url_len) || a.has_published != o.has_published ||
                            (a.has_published && a.published != o.published)))
        abort();
    schema_article_clear(&o);
    if (st == SCHEMA_OK) {
        /* A decoded article is NUL-terminated and of the sizes it claims. */
        if (!a.id || a.id[a.id_len] || !a.text || a.text[a.text_len]) abort();
        dbuf out = { 0 };
        if (schema_codec_encode_article(writer, SCHEMA_FMT_AVRO, &a, &out, err, sizeof err) == SCHEMA_OK) {
            schema_article b;       /* what we write, we read back the same */
            if (schema_codec_decode_article(writer, out.data, out.len, &b, err, sizeof err) != SCHEMA_OK ||
                b.id_len != a.id_len || memcmp(b.id, a.id, a.id_len) || b.text_len != a.text_len ||
                memcmp(b.text, a.text, a.text_len))
                abort();
            schema_article_clear(&b);
        }
        dbuf_free(&out);
    }
    schema_article_clear(&a);
    dbuf json = { 0 };
    schema_codec_record_to_json(codec, data, size, &json, err, sizeof err);
    dbuf_free(&json);
    return 0;
}
