/* resolve.c -- Confluent-framed messages: the writer's schema from a registry
 * (the codec's lookup), resolved against ours (schema_avro.h).
 *
 * Avro C resolves a writer schema into a reader schema (avro_resolved_writer:
 * fields matched by name, so reordered fields work; writer fields the reader
 * lacks are skipped; int to long and float to double promoted), but it
 * refuses a reader field the writer lacks even when the field has a default.
 * So the reader schema is first *projected*: the fields the writer lacks
 * are removed if they have a default (ours all default to null, which is
 * what an absent optional field means to the article), and a field without
 * one makes the writer incompatible. The datum is then read into a value of
 * the projection and the article's fields are taken by name.
 *
 * Each id is resolved once and kept (CODEC_WRITERS of them, round robin):
 * a topic carries one or a few writer schemas. An id the registry does not
 * know is not kept, in case it is registered later; an incompatible one is
 * kept with its reason, so every message of it is refused without a lookup.
 */
#include "codec.h"
#include "datum_check.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void writer_free(struct writer *w)
{
    if (w->res_iface) {
        avro_value_decref(&w->res_value);
        avro_value_iface_decref(w->res_iface);
    }
    if (w->proj_iface) {
        avro_value_decref(&w->proj_value);
        avro_value_iface_decref(w->proj_iface);
    }
    if (w->proj) avro_schema_decref(w->proj);
    if (w->wschema) avro_schema_decref(w->wschema);
    memset(w, 0, sizeof *w);
}

void codec_writers_free(schema_codec *c)
{
    for (int i = 0; i < CODEC_WRITERS; i++) writer_free(&c->writers[i]);
    c->next_writer = 0;
}

/* The reader schema without the fields the writer lacks; NULL (and why)
 * when such a field has no default, or the writer is not a record. */
static char *project(const char *reader, const char *writer, size_t wlen, char *why, size_t n)
{
    json_error_t je;
    json_t *r = json_loads(reader, 0, &je), *w = json_loadb(writer, wlen, 0, &je);
    char *out = NULL;
    json_t *wf = w ? json_object_get(w, "fields") : NULL, *rf = r ? json_object_get(r, "fields") : NULL;
    if (!json_is_array(wf) || !json_is_array(rf)) {
        snprintf(why, n, "the writer's schema is not an Avro record");
        goto done;
    }
    json_t *keep = json_array();
    size_t i, j;
    json_t *f, *g;
    json_array_foreach(rf, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        int found = 0;
        json_array_foreach(wf, j, g) {
            const char *wn = json_string_value(json_object_get(g, "name"));
            if (name && wn && !strcmp(name, wn)) found = 1;
        }
        if (found) {
            json_array_append(keep, f);
        } else if (!json_object_get(f, "default")) {
            snprintf(why, n, "field \"%s\" is missing from the writer's schema and has no default", name ? name : "?");
            json_decref(keep);
            goto done;
        }
    }
    json_object_set_new(r, "fields", keep);
    out = json_dumps(r, JSON_COMPACT);
    if (!out) snprintf(why, n, "out of memory");
done:
    json_decref(r);
    json_decref(w);
    return out;
}

/* Resolves id into w; SCHEMA_OK also for an incompatible writer (w->kind
 * says so). Errors: the lookup's, SCHEMA_ERR_NOMEM. */
static schema_status resolve(schema_codec *c, struct avro_type *t, const char *reader_json, uint32_t id,
                             struct writer *w, char *errstr, size_t n)
{
    const char *json;
    size_t len;
    schema_status st = c->lookup(c->lookup_ctx, id, &json, &len, errstr, n);
    if (st) return st;
    memset(w, 0, sizeof *w);
    w->id = id;
    w->used = 1;
    w->reader = t;
    w->kind = W_INCOMPATIBLE;
    dbuf canon = { 0 };
    char why[256] = "";
    if (schema_avro_canonical(json, len, &canon, why, sizeof why)) {
        snprintf(w->why, sizeof w->why, "schema id %u is not a valid Avro schema: %s", id, why);
        return SCHEMA_OK;
    }
    uint64_t fp = schema_avro_crc64(canon.data, canon.len);
    dbuf_free(&canon);
    if (fp == t->fingerprint || (t == &c->record && fp == c->record_v1.fingerprint)) {
        /* our schema (or our record's version 1), registered: no resolution needed */
        w->kind = W_SAME;
        w->same = fp == t->fingerprint ? t : &c->record_v1;
        return SCHEMA_OK;
    }
    if (avro_schema_from_json_length(json, len, &w->wschema)) {
        snprintf(w->why, sizeof w->why, "schema id %u: Avro C: %s", id, avro_strerror());
        w->wschema = NULL;
        return SCHEMA_OK;
    }
    char *proj = project(reader_json, json, len, why, sizeof why);
    if (!proj) {
        snprintf(w->why, sizeof w->why, "schema id %u cannot be read as ours: %s", id, why);
        return SCHEMA_OK;
    }
    int bad = avro_schema_from_json_length(proj, strlen(proj), &w->proj);
    free(proj);
    if (bad) {
        w->proj = NULL;
        return schema_error(errstr, n, SCHEMA_ERR_INTERNAL, "projected schema: %s", avro_strerror());
    }
    w->res_iface = avro_resolved_writer_new(w->wschema, w->proj);
    if (!w->res_iface) {
        snprintf(w->why, sizeof w->why, "schema id %u cannot be read as ours: %s", id, avro_strerror());
        return SCHEMA_OK;
    }
    w->proj_iface = avro_generic_class_from_schema(w->proj);
    if (!w->proj_iface || avro_generic_value_new(w->proj_iface, &w->proj_value)) {
        if (w->proj_iface) avro_value_iface_decref(w->proj_iface);
        w->proj_iface = NULL;
        return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "Avro C: %s", avro_strerror());
    }
    if (avro_resolved_writer_new_value(w->res_iface, &w->res_value)) {
        avro_value_iface_decref(w->res_iface);
        w->res_iface = NULL;
        return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "Avro C: %s", avro_strerror());
    }
    avro_resolved_writer_set_dest(&w->res_value, &w->proj_value);
    w->kind = W_RESOLVED;
    return SCHEMA_OK;
}

static schema_status find_writer(schema_codec *c, struct avro_type *t, const char *reader_json, uint32_t id,
                                 struct writer **out, char *errstr, size_t n)
{
    for (int i = 0; i < CODEC_WRITERS; i++)
        if (c->writers[i].used && c->writers[i].id == id && c->writers[i].reader == t) {
            *out = &c->writers[i];
            return SCHEMA_OK;
        }
    if (!c->lookup)
        return schema_error(errstr, n, SCHEMA_ERR_REGISTRY,
                            "Confluent schema-registry framing (schema id %u); no schema registry is configured", id);
    struct writer *w = &c->writers[c->next_writer++ % CODEC_WRITERS];
    writer_free(w);
    schema_status st = resolve(c, t, reader_json, id, w, errstr, n);
    if (st) {
        writer_free(w);
        return st;
    }
    *out = w;
    return SCHEMA_OK;
}

/* The datum after the 5-byte header, checked against schema s and read into v. */
static schema_status read_datum(schema_codec *c, avro_schema_t s, avro_value_t *v, const unsigned char *msg,
                                size_t len, char *errstr, size_t n)
{
    const unsigned char *p = msg + CF_HEADER, *end = msg + len;
    if (schema_check_datum(s, &p, end))
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE,
                            "corrupt Avro datum: a length, branch or index does not fit the %zu bytes", len);
    if (p != end) return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "trailing bytes after the Avro datum");
    avro_reader_memory_set_source(c->reader, (const char *)msg + CF_HEADER, (int64_t)(len - CF_HEADER));
    if (avro_value_read(c->reader, v))
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "corrupt Avro datum: %s", avro_strerror());
    return SCHEMA_OK;
}

schema_status codec_read_registry_same(schema_codec *c, struct avro_type *t, const char *what,
                                       const unsigned char *msg, size_t len, struct avro_type **as,
                                       char *errstr, size_t n)
{
    uint32_t id = get_be32(msg + 1);
    struct writer *w;
    const char *reader = t == &c->article ? schema_article_avsc_text : schema_record_avsc_text;
    schema_status st = find_writer(c, t, reader, id, &w, errstr, n);
    if (st) return st;
    if (w->kind != W_SAME)
        return schema_error(errstr, n, SCHEMA_ERR_WRONG_SCHEMA, "schema id %u is not %s%s%s", id, what,
                            w->why[0] ? ": " : "", w->why);
    *as = w->same;
    avro_value_reset(&w->same->value);
    return read_datum(c, w->same->schema, &w->same->value, msg, len, errstr, n);
}

/* A string field of rec by name (NULL when absent or null). */
static void field_str(avro_value_t *rec, const char *name, const char **s, size_t *len)
{
    avro_value_t f, b;
    *s = NULL;
    if (len) *len = 0;
    if (avro_value_get_by_name(rec, name, &f, NULL)) return;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b) || avro_value_get_type(&b) == AVRO_NULL) return;
        f = b;
    }
    codec_get_str(&f, s, len);
}

schema_status codec_read_registry_article(schema_codec *c, const unsigned char *msg, size_t len,
                                          schema_article *a, char *errstr, size_t n)
{
    uint32_t id = get_be32(msg + 1);
    struct writer *w;
    schema_status st = find_writer(c, &c->article, schema_article_avsc_text, id, &w, errstr, n);
    if (st) return st;
    if (w->kind == W_INCOMPATIBLE) return schema_error(errstr, n, SCHEMA_ERR_WRONG_SCHEMA, "%s", w->why);
    if (w->kind == W_SAME && !c->avro_c) {     /* our own schema: the direct reader */
        st = codec_read_article_direct(c, msg + CF_HEADER, len - CF_HEADER, len, a, errstr, n);
        if (st) return st;
        if (a->id_len == 0) {
            memset(a, 0, sizeof *a);
            return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"id\" is empty");
        }
        return SCHEMA_OK;
    }
    avro_value_t *v;
    if (w->kind == W_SAME) {
        v = &c->article.value;
        avro_value_reset(v);
        st = read_datum(c, c->article.schema, v, msg, len, errstr, n);
    } else {
        v = &w->proj_value;
        avro_value_reset(v);
        st = read_datum(c, w->wschema, &w->res_value, msg, len, errstr, n);
    }
    if (st) return st;
    field_str(v, "id", &a->id, &a->id_len);
    field_str(v, "text", &a->text, &a->text_len);
    field_str(v, "title", &a->title, &a->title_len);
    field_str(v, "lang", &a->lang, NULL);
    field_str(v, "source", &a->source, &a->source_len);
    field_str(v, "url", &a->url, &a->url_len);
    avro_value_t f, b;
    if (avro_value_get_by_name(v, "published", &f, NULL) == 0 && avro_value_get_type(&f) == AVRO_UNION &&
        avro_value_get_current_branch(&f, &b) == 0 && avro_value_get_long(&b, &a->published) == 0)
        a->has_published = 1;
    if (!a->id || a->id_len == 0 || !a->text) {
        memset(a, 0, sizeof *a);
        return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"id\" is empty");
    }
    return SCHEMA_OK;
}
