/* article_codec.c -- articles in: recognising a message's framing and
 * decoding it; articles out: Avro single-object or JSON (schema_avro.h). */
#include "codec.h"
#include "avrobin.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

schema_status schema_codec_decode_article(schema_codec *c, const void *vbuf, size_t len,
                                          schema_article *a, char *errstr, size_t n)
{
    const unsigned char *msg = vbuf;
    memset(a, 0, sizeof *a);
    if (len >= 2 && msg[0] == SO_MAGIC0 && msg[1] == SO_MAGIC1 && !c->avro_c) {
        schema_status f = codec_check_header(&c->article, "org.dhatu.Article", msg, len, errstr, n);
        if (f == SCHEMA_OK) f = codec_read_article_direct(c, msg + SO_HEADER, len - SO_HEADER, len, a, errstr, n);
        if (f != SCHEMA_OK) return f;
        if (a->id_len == 0) {
            memset(a, 0, sizeof *a);
            return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"id\" is empty");
        }
        return SCHEMA_OK;
    }
    if (len >= 2 && msg[0] == SO_MAGIC0 && msg[1] == SO_MAGIC1) {
        schema_status f = codec_read(c, &c->article, "org.dhatu.Article", msg, len, errstr, n);
        if (f != SCHEMA_OK) return f;
        avro_value_t *v = &c->article.value, field;
        avro_value_get_by_index(v, A_ID, &field, NULL);
        codec_get_str(&field, &a->id, &a->id_len);
        avro_value_get_by_index(v, A_TEXT, &field, NULL);
        codec_get_str(&field, &a->text, &a->text_len);
        codec_get_opt_str(v, A_TITLE, &a->title, &a->title_len);
        codec_get_opt_str(v, A_LANG, &a->lang, NULL);
        codec_get_opt_str(v, A_SOURCE, &a->source, &a->source_len);
        codec_get_opt_str(v, A_URL, &a->url, &a->url_len);
        avro_value_t b;
        if (codec_opt_branch(v, A_PUBLISHED, &b) && avro_value_get_long(&b, &a->published) == 0)
            a->has_published = 1;
        if (!a->id || a->id_len == 0 || !a->text) {
            memset(a, 0, sizeof *a);
            return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"id\" is empty");
        }
        return SCHEMA_OK;
    }
    if (len >= CF_HEADER && msg[0] == 0x00) {
        if (c->lookup) return codec_read_registry_article(c, msg, len, a, errstr, n);
        unsigned id = (unsigned)msg[1] << 24 | (unsigned)msg[2] << 16 | (unsigned)msg[3] << 8 | msg[4];
        return schema_error(errstr, n, SCHEMA_ERR_REGISTRY,
                            "Confluent schema-registry framing (schema id %u); no schema registry is configured", id);
    }
    size_t i = 0;
    while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n')) i++;
    if (i < len && msg[i] == '{') {
        return schema_json_parse_article_in((const char *)msg, len, a, &c->json, errstr, n);
    }
    return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "%s",
                        len == 0 ? "empty message" : "neither Avro single-object (C3 01) nor a JSON object");
}

/* ---- encoding */

static char *json_article(const schema_article *a)
{
    json_t *o = json_object();
    int bad = !o;
    bad |= json_object_set_new(o, "id", json_stringn(a->id, a->id_len));
    if (a->title) bad |= json_object_set_new(o, "title", json_stringn(a->title, a->title_len));
    bad |= json_object_set_new(o, "text", json_stringn(a->text, a->text_len));
    if (a->lang) bad |= json_object_set_new(o, "lang", json_string(a->lang));
    if (a->source) bad |= json_object_set_new(o, "source", json_stringn(a->source, a->source_len));
    if (a->url) bad |= json_object_set_new(o, "url", json_stringn(a->url, a->url_len));
    if (a->has_published) bad |= json_object_set_new(o, "published", json_integer(a->published));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

schema_status schema_codec_encode_article(schema_codec *c, schema_format fmt, const schema_article *a,
                                          dbuf *out, char *errstr, size_t n)
{
    if (!a->id || !a->text) return schema_error(errstr, n, SCHEMA_ERR_INVALID, "an article needs an id and a text");
    if (fmt == SCHEMA_FMT_JSON) {
        char *s = json_article(a);
        if (!s) return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "article is not valid UTF-8 (or out of memory)");
        int bad = dbuf_set(out, s, strlen(s));
        free(s);
        return bad ? schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory") : SCHEMA_OK;
    }
    if (!c->avro_c) {
        size_t hdr;
        schema_status st = codec_frame(&c->article, fmt, avrobin_article_bound(a), out, &hdr, errstr, n);
        if (st) return st;
        dbuf_setlen(out, hdr + avrobin_write_article((unsigned char *)out->data + hdr, a));
        return SCHEMA_OK;
    }
    avro_value_t *v = &c->article.value;
    avro_value_reset(v);
    if (codec_set_str(v, A_ID, a->id, a->id_len) || codec_set_str(v, A_TEXT, a->text, a->text_len) ||
        codec_set_opt_str(v, A_TITLE, a->title, a->title_len) ||
        codec_set_opt_str(v, A_LANG, a->lang, a->lang ? strlen(a->lang) : 0) ||
        codec_set_opt_str(v, A_SOURCE, a->source, a->source_len) ||
        codec_set_opt_str(v, A_URL, a->url, a->url_len) ||
        codec_set_opt_long(v, A_PUBLISHED, a->has_published, a->published))
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "Avro C: %s", avro_strerror());
    return codec_write(c, &c->article, fmt, out, errstr, n);
}
