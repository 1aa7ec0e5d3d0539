/* fuzz_article.c -- an untrusted message value through everything the
 * consumer does with it before the engine: framing recognition, the Avro
 * hostile-input check and decoder, the JSON article parser, Confluent-framed
 * messages resolved against a writer schema from a (fake) registry; and the
 * same bytes as a record message through the record decoder (dhatu-dump).
 * Registry ids: 1 our Article, 2 a writer with reordered, added (an array,
 * a nested record) and removed fields and an int promoted to long, 3 our
 * record, anything else unknown. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "schema_avro.h"

static schema_codec *codec, *writer;  /* a decoded article borrows from its codec */

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
    (void)err;
    (void)n;
    *json = id == 1 ? schema_article_avsc_text : id == 2 ? evolved : id == 3 ? schema_record_avsc_text : NULL;
    if (!*json) return SCHEMA_ERR_UNKNOWN_SCHEMA;
    *len = strlen(*json);
    return SCHEMA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!codec && (schema_codec_create(&codec, err, sizeof err) || schema_codec_create(&writer, err, sizeof err)))
        abort();
    static int once;
    if (!once++) schema_codec_set_lookup(codec, lookup, NULL);
    schema_article a;
    if (schema_codec_decode_article(codec, data, size, &a, err, sizeof err) == SCHEMA_OK) {
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
