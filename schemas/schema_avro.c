/* schema_avro.c -- see schema_avro.h. */
#include "schema_avro.h"
#include <avro.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SO_HEADER 10                     /* C3 01 + 8-byte fingerprint */
static const unsigned char so_magic[2] = { 0xC3, 0x01 };

/* Field positions, in the order of the .avsc files; checked against the
 * parsed schema in schema_codec_create, so the two cannot drift apart. */
enum { A_ID, A_TITLE, A_TEXT, A_LANG, A_SOURCE, A_URL, A_PUBLISHED, A_NFIELDS };
static const char *const article_fields[A_NFIELDS] = {
    "id", "title", "text", "lang", "source", "url", "published" };
enum { R_ID, R_MODEL, R_WEIGHTS, R_POSITIVE, R_NEGATIVE, R_TOKENS, R_DOMINANT, R_POLARITY,
       R_INTENSITY, R_CONFIDENCE, R_SIGNATURE, R_PRIME_BASES, R_AMBIGUITY, R_LINEAGE, R_NFIELDS };
static const char *const record_fields[R_NFIELDS] = {
    "id", "model", "weights", "positive", "negative", "tokens", "dominant", "polarity",
    "intensity", "confidence", "signature", "prime_bases", "ambiguity", "lineage" };
enum { L_TOPIC, L_PARTITION, L_OFFSET, L_TIMESTAMP, L_PROCESSED_AT, L_PROCESSOR, L_BACKEND,
       L_NFIELDS };
static const char *const lineage_fields[L_NFIELDS] = {
    "topic", "partition", "offset", "timestamp", "processed_at", "processor", "backend" };

struct avro_type {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    uint64_t fingerprint;
    int have_value;
};

struct schema_codec {
    struct avro_type article, record;
    avro_reader_t reader;
    avro_writer_t writer;
};

const char *schema_fail_name(schema_fail f)
{
    switch (f) {
    case SCHEMA_OK:               return "ok";
    case SCHEMA_FAIL_UNDECODABLE: return "undecodable";
    case SCHEMA_FAIL_SCHEMA:      return "wrong-schema";
    case SCHEMA_FAIL_REGISTRY:    return "schema-registry";
    case SCHEMA_FAIL_INVALID:     return "invalid-article";
    case SCHEMA_FAIL_NOMEM:       return "out-of-memory";
    }
    return "unknown";
}

__attribute__((format(printf, 3, 4)))
static int fail(char *errstr, size_t n, const char *fmt, ...)
{
    if (errstr && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- CRC-64-AVRO and the Parsing Canonical Form (Avro specification,
 * "Schema Fingerprints" and "Parsing Canonical Form for Schemas"). */

#define CRC64_EMPTY 0xc15d213aa4d7a795ULL

uint64_t schema_avro_crc64(const void *buf, size_t len)
{
    /* The table is 2 KiB computed on each call: fingerprints are taken once
     * per codec, never per message. */
    uint64_t table[256];
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++) fp = (fp >> 1) ^ (CRC64_EMPTY & (0 - (fp & 1)));
        table[i] = fp;
    }
    const unsigned char *p = buf;
    uint64_t fp = CRC64_EMPTY;
    for (size_t i = 0; i < len; i++) fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

static int is_primitive(const char *t)
{
    static const char *const prim[] = { "null", "boolean", "int", "long", "float",
                                        "double", "bytes", "string", NULL };
    for (int i = 0; prim[i]; i++)
        if (!strcmp(t, prim[i])) return 1;
    return 0;
}

/* fullname of a name in a namespace (ns may be NULL or ""). */
static json_t *fullname(const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns) return json_string(name);
    return json_sprintf("%s.%s", ns, name);
}

static json_t *pcf(json_t *s, const char *ns);

static json_t *pcf_named(json_t *s, const char *type, const char *ns)
{
    const char *name = json_string_value(json_object_get(s, "name"));
    if (!name) return NULL;
    const char *own_ns = json_string_value(json_object_get(s, "namespace"));
    json_t *full = fullname(name, own_ns ? own_ns : ns);
    if (!full) return NULL;
    /* The namespace of nested names is the fullname's prefix. */
    char nsbuf[512] = "";
    const char *fn = json_string_value(full), *dot = strrchr(fn, '.');
    if (dot && (size_t)(dot - fn) < sizeof nsbuf) memcpy(nsbuf, fn, (size_t)(dot - fn));
    json_t *o = json_object();
    json_object_set_new(o, "name", full);
    json_object_set_new(o, "type", json_string(type));
    if (!strcmp(type, "record") || !strcmp(type, "error")) {
        json_t *fields = json_object_get(s, "fields"), *out = json_array(), *f;
        size_t i;
        if (!json_is_array(fields)) { json_decref(o); json_decref(out); return NULL; }
        json_array_foreach(fields, i, f) {
            json_t *fo = json_object(), *ft = pcf(json_object_get(f, "type"), nsbuf);
            json_t *fname = json_object_get(f, "name");
            if (!ft || !json_is_string(fname)) {
                json_decref(fo); json_decref(ft); json_decref(o); json_decref(out);
                return NULL;
            }
            json_object_set(fo, "name", fname);
            json_object_set_new(fo, "type", ft);
            json_array_append_new(out, fo);
        }
        json_object_set_new(o, "fields", out);
    } else if (!strcmp(type, "enum")) {
        json_object_set(o, "symbols", json_object_get(s, "symbols"));
    } else if (!strcmp(type, "fixed")) {
        json_object_set(o, "size", json_object_get(s, "size"));
    }
    return o;
}

/* Canonical form of one schema node: primitives become bare names, named
 * types get full names, attributes other than name, type, fields, symbols,
 * items, values and size go, and keys come in that order. */
static json_t *pcf(json_t *s, const char *ns)
{
    if (!s) return NULL;
    if (json_is_string(s)) {
        const char *t = json_string_value(s);
        return is_primitive(t) ? json_string(t) : fullname(t, ns);
    }
    if (json_is_array(s)) {
        json_t *out = json_array(), *b;
        size_t i;
        json_array_foreach(s, i, b) {
            json_t *c = pcf(b, ns);
            if (!c) { json_decref(out); return NULL; }
            json_array_append_new(out, c);
        }
        return out;
    }
    if (!json_is_object(s)) return NULL;
    json_t *type = json_object_get(s, "type");
    if (!json_is_string(type)) return pcf(type, ns);
    const char *t = json_string_value(type);
    if (is_primitive(t)) return json_string(t);
    if (!strcmp(t, "array") || !strcmp(t, "map")) {
        const char *key = t[0] == 'a' ? "items" : "values";
        json_t *inner = pcf(json_object_get(s, key), ns);
        if (!inner) return NULL;
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(t));
        json_object_set_new(o, key, inner);
        return o;
    }
    if (!strcmp(t, "record") || !strcmp(t, "error") || !strcmp(t, "enum") || !strcmp(t, "fixed"))
        return pcf_named(s, t, ns);
    return fullname(t, ns);     /* a reference to a named type */
}

int schema_avro_canonical(const char *schema_json, size_t len, schema_buf *out,
                          char *errstr, size_t n)
{
    json_error_t je;
    json_t *s = json_loadb(schema_json, len, JSON_DECODE_ANY, &je);
    if (!s) return fail(errstr, n, "schema is not JSON: %s", je.text);
    json_t *c = pcf(s, NULL);
    json_decref(s);
    if (!c) return fail(errstr, n, "schema is not a valid Avro schema");
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    size_t need = json_dumpb(c, NULL, 0, flags);
    if (schema_buf_reserve(out, need + 1)) { json_decref(c); return fail(errstr, n, "out of memory"); }
    out->len = json_dumpb(c, out->data, out->cap, flags);
    out->data[out->len] = '\0';
    json_decref(c);
    return 0;
}

/* ---- codec */

static int type_init(struct avro_type *t, const char *json, const char *const *fields,
                     int nfields, char *errstr, size_t n)
{
    schema_buf canon = { 0 };
    if (schema_avro_canonical(json, strlen(json), &canon, errstr, n)) return -1;
    t->fingerprint = schema_avro_crc64(canon.data, canon.len);
    schema_buf_free(&canon);
    if (avro_schema_from_json_length(json, strlen(json), &t->schema))
        return fail(errstr, n, "Avro C rejects a built-in schema: %s", avro_strerror());
    for (int i = 0; i < nfields; i++) {
        const char *name = avro_schema_record_field_name(t->schema, i);
        if (!name || strcmp(name, fields[i]))
            return fail(errstr, n, "built-in schema field order changed at %s", fields[i]);
    }
    t->iface = avro_generic_class_from_schema(t->schema);
    if (!t->iface || avro_generic_value_new(t->iface, &t->value))
        return fail(errstr, n, "Avro C: %s", avro_strerror());
    t->have_value = 1;
    return 0;
}

static void type_free(struct avro_type *t)
{
    if (t->have_value) avro_value_decref(&t->value);
    if (t->iface) avro_value_iface_decref(t->iface);
    if (t->schema) avro_schema_decref(t->schema);
}

static int check_lineage(schema_codec *c, char *errstr, size_t n)
{
    avro_schema_t lin = avro_schema_record_field_get_by_index(c->record.schema, R_LINEAGE);
    for (int i = 0; i < L_NFIELDS; i++) {
        const char *name = lin ? avro_schema_record_field_name(lin, i) : NULL;
        if (!name || strcmp(name, lineage_fields[i]))
            return fail(errstr, n, "built-in schema field order changed at lineage.%s", lineage_fields[i]);
    }
    return 0;
}

schema_codec *schema_codec_create(char *errstr, size_t n)
{
    schema_codec *c = calloc(1, sizeof *c);
    if (!c) { fail(errstr, n, "out of memory"); return NULL; }
    if (type_init(&c->article, schema_article_avsc_text, article_fields, A_NFIELDS, errstr, n) ||
        type_init(&c->record, schema_record_avsc_text, record_fields, R_NFIELDS, errstr, n) ||
        check_lineage(c, errstr, n)) {
        schema_codec_destroy(c);
        return NULL;
    }
    static const char dummy[1];
    c->reader = avro_reader_memory(dummy, 0);
    c->writer = avro_writer_memory(dummy, 0);
    if (!c->reader || !c->writer) {
        fail(errstr, n, "out of memory");
        schema_codec_destroy(c);
        return NULL;
    }
    return c;
}

void schema_codec_destroy(schema_codec *c)
{
    if (!c) return;
    type_free(&c->article);
    type_free(&c->record);
    if (c->reader) avro_reader_free(c->reader);
    if (c->writer) avro_writer_free(c->writer);
    free(c);
}

uint64_t schema_codec_article_fingerprint(const schema_codec *c) { return c->article.fingerprint; }
uint64_t schema_codec_record_fingerprint(const schema_codec *c) { return c->record.fingerprint; }

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put_header(unsigned char *p, uint64_t fp)
{
    p[0] = so_magic[0];
    p[1] = so_magic[1];
    for (int i = 0; i < 8; i++) p[2 + i] = (unsigned char)(fp >> (8 * i));
}

/* ---- validation before Avro C sees a datum.
 * Avro C allocates a string's buffer from the length the message claims,
 * before checking that the bytes are there: a negative or huge length makes
 * it ask for up to 2^63 bytes (a failed allocation at best, an abort under
 * a sanitizer). This walk checks every length, union branch and enum index
 * against the schema and the bytes actually present first, so a hostile
 * message costs at most its own size. */

static int read_varint(const unsigned char **p, const unsigned char *end, int64_t *v)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char b = *(*p)++;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);     /* zig-zag */
            return 0;
        }
    }
    return -1;
}

static int skip(const unsigned char **p, const unsigned char *end, int64_t n)
{
    if (n < 0 || n > end - *p) return -1;
    *p += n;
    return 0;
}

static int avro_check(avro_schema_t s, const unsigned char **p, const unsigned char *end, int depth)
{
    int64_t v;
    if (depth > 32) return -1;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN: return skip(p, end, 1);
    case AVRO_FLOAT: return skip(p, end, 4);
    case AVRO_DOUBLE: return skip(p, end, 8);
    case AVRO_INT32:
    case AVRO_INT64: return read_varint(p, end, &v);
    case AVRO_STRING:
    case AVRO_BYTES: return read_varint(p, end, &v) || skip(p, end, v);
    case AVRO_FIXED: return skip(p, end, avro_schema_fixed_size(s));
    case AVRO_ENUM:
        return read_varint(p, end, &v) || v < 0 || v >= avro_schema_enum_number_of_symbols(s) ? -1 : 0;
    case AVRO_UNION:
        if (read_varint(p, end, &v) || v < 0 || (size_t)v >= avro_schema_union_size(s)) return -1;
        return avro_check(avro_schema_union_branch(s, (int)v), p, end, depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (avro_check(avro_schema_record_field_get_by_index(s, (int)i), p, end, depth + 1)) return -1;
        return 0;
    case AVRO_ARRAY:
    case AVRO_MAP:
        for (;;) {      /* blocks: count (negative: followed by a byte size), items */
            int64_t count;
            if (read_varint(p, end, &count)) return -1;
            if (count == 0) return 0;
            if (count < 0) {
                if (read_varint(p, end, &v) || count == INT64_MIN) return -1;
                count = -count;
            }
            if (count > end - *p) return -1;        /* every item takes at least a byte... */
            for (int64_t i = 0; i < count; i++) {
                if (avro_typeof(s) == AVRO_MAP && (read_varint(p, end, &v) || skip(p, end, v))) return -1;
                avro_schema_t item = avro_typeof(s) == AVRO_MAP ? avro_schema_map_values(s) : avro_schema_array_items(s);
                if (avro_check(item, p, end, depth + 1)) return -1;
            }
        }
    case AVRO_LINK: return avro_check(avro_schema_link_target(s), p, end, depth + 1);
    default: return -1;
    }
}

/* Reads one datum of type t from buf[SO_HEADER..len), requiring the header's
 * fingerprint to be t's and no trailing bytes. */
static schema_fail read_single_object(schema_codec *c, struct avro_type *t, const char *what,
                                      const unsigned char *buf, size_t len, char *errstr, size_t n)
{
    if (len < SO_HEADER) {
        fail(errstr, n, "Avro single-object header truncated");
        return SCHEMA_FAIL_UNDECODABLE;
    }
    uint64_t fp = get_le64(buf + 2);
    if (fp != t->fingerprint) {
        if (errstr && n)
            snprintf(errstr, n, "Avro fingerprint %016llx is not %s (%016llx)",
                     (unsigned long long)fp, what, (unsigned long long)t->fingerprint);
        return SCHEMA_FAIL_SCHEMA;
    }
    const unsigned char *p = buf + SO_HEADER, *end = buf + len;
    if (avro_check(t->schema, &p, end, 0)) {
        fail(errstr, n, "corrupt Avro datum: a length, branch or index does not fit the %zu bytes", len);
        return SCHEMA_FAIL_UNDECODABLE;
    }
    if (p != end) {
        fail(errstr, n, "trailing bytes after the Avro datum");
        return SCHEMA_FAIL_UNDECODABLE;
    }
    avro_value_reset(&t->value);
    avro_reader_memory_set_source(c->reader, (const char *)buf + SO_HEADER,
                                  (int64_t)(len - SO_HEADER));
    if (avro_value_read(c->reader, &t->value)) {
        fail(errstr, n, "corrupt Avro datum: %s", avro_strerror());
        return SCHEMA_FAIL_UNDECODABLE;
    }
    char extra;
    if (avro_read(c->reader, &extra, 1) == 0) {
        fail(errstr, n, "trailing bytes after the Avro datum");
        return SCHEMA_FAIL_UNDECODABLE;
    }
    return SCHEMA_OK;
}

/* A ["null", T] union: the branch value, or NULL for null. */
static int opt_branch(avro_value_t *rec, int idx, avro_value_t *branch)
{
    avro_value_t u;
    int disc = 0;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL) || avro_value_get_discriminant(&u, &disc))
        return 0;
    return disc == 1 && avro_value_get_current_branch(&u, branch) == 0;
}

static void get_str(avro_value_t *v, const char **s, size_t *len)
{
    size_t size = 0;
    *s = NULL;
    if (avro_value_get_string(v, s, &size) == 0 && *s) {
        if (len) *len = size ? size - 1 : 0;   /* Avro C counts the NUL */
    } else {
        *s = NULL;
    }
}

static void get_opt_str(avro_value_t *rec, int idx, const char **s, size_t *len)
{
    avro_value_t b;
    *s = NULL;
    if (len) *len = 0;
    if (opt_branch(rec, idx, &b)) get_str(&b, s, len);
}

schema_fail schema_codec_decode_article(schema_codec *c, const void *vbuf, size_t len,
                                        schema_article *a, char *errstr, size_t n)
{
    const unsigned char *buf = vbuf;
    memset(a, 0, sizeof *a);
    if (len >= 2 && buf[0] == so_magic[0] && buf[1] == so_magic[1]) {
        schema_fail f = read_single_object(c, &c->article, "org.dhatu.Article", buf, len, errstr, n);
        if (f != SCHEMA_OK) return f;
        avro_value_t *v = &c->article.value, field;
        avro_value_get_by_index(v, A_ID, &field, NULL);
        get_str(&field, &a->id, &a->id_len);
        avro_value_get_by_index(v, A_TEXT, &field, NULL);
        get_str(&field, &a->text, &a->text_len);
        get_opt_str(v, A_TITLE, &a->title, &a->title_len);
        get_opt_str(v, A_LANG, &a->lang, NULL);
        get_opt_str(v, A_SOURCE, &a->source, &a->source_len);
        get_opt_str(v, A_URL, &a->url, &a->url_len);
        avro_value_t b;
        if (opt_branch(v, A_PUBLISHED, &b) && avro_value_get_long(&b, &a->published) == 0)
            a->has_published = 1;
        if (!a->id || a->id_len == 0 || !a->text) {
            memset(a, 0, sizeof *a);
            fail(errstr, n, "field \"id\" is empty");
            return SCHEMA_FAIL_INVALID;
        }
        return SCHEMA_OK;
    }
    if (len >= 5 && buf[0] == 0x00) {
        unsigned id = (unsigned)buf[1] << 24 | (unsigned)buf[2] << 16 | (unsigned)buf[3] << 8 | buf[4];
        if (errstr && n)
            snprintf(errstr, n, "Confluent schema-registry framing (schema id %u); "
                     "no schema registry is configured", id);
        return SCHEMA_FAIL_REGISTRY;
    }
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
    if (i < len && buf[i] == '{') {
        int rc = schema_json_parse_article((const char *)buf, len, a, errstr, n);
        if (rc == 0) return SCHEMA_OK;
        return rc == SCHEMA_JSON_EFIELD ? SCHEMA_FAIL_INVALID : SCHEMA_FAIL_UNDECODABLE;
    }
    if (len == 0) fail(errstr, n, "empty message");
    else fail(errstr, n, "neither Avro single-object (C3 01) nor a JSON object");
    return SCHEMA_FAIL_UNDECODABLE;
}

/* ---- encoding */

static int set_str(avro_value_t *rec, int idx, const char *s, size_t len)
{
    avro_value_t f;
    if (avro_value_get_by_index(rec, (size_t)idx, &f, NULL)) return -1;
    /* set_string_len copies size bytes, NUL included: s[len] is NUL. */
    return avro_value_set_string_len(&f, s, len + 1);
}

static int set_opt_str(avro_value_t *rec, int idx, const char *s, size_t len)
{
    avro_value_t u, b;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL)) return -1;
    if (!s) return avro_value_set_branch(&u, 0, &b) || avro_value_set_null(&b);
    return avro_value_set_branch(&u, 1, &b) || avro_value_set_string_len(&b, s, len + 1);
}

static int set_opt_long(avro_value_t *rec, int idx, int present, int64_t v)
{
    avro_value_t u, b;
    if (avro_value_get_by_index(rec, (size_t)idx, &u, NULL)) return -1;
    if (!present) return avro_value_set_branch(&u, 0, &b) || avro_value_set_null(&b);
    return avro_value_set_branch(&u, 1, &b) || avro_value_set_long(&b, v);
}

static int write_single_object(schema_codec *c, struct avro_type *t, schema_buf *out,
                               char *errstr, size_t n)
{
    size_t size = 0;
    if (avro_value_sizeof(&t->value, &size))
        return fail(errstr, n, "Avro C: %s", avro_strerror());
    if (schema_buf_reserve(out, SO_HEADER + size)) return fail(errstr, n, "out of memory");
    put_header((unsigned char *)out->data, t->fingerprint);
    avro_writer_memory_set_dest(c->writer, out->data + SO_HEADER, (int64_t)size);
    if (avro_value_write(c->writer, &t->value))
        return fail(errstr, n, "Avro C: %s", avro_strerror());
    out->len = SO_HEADER + size;
    return 0;
}

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

int schema_codec_encode_article(schema_codec *c, schema_format fmt, const schema_article *a,
                                schema_buf *out, char *errstr, size_t n)
{
    if (!a->id || !a->text) return fail(errstr, n, "an article needs an id and a text");
    if (fmt == SCHEMA_FMT_JSON) {
        char *s = json_article(a);
        if (!s) return fail(errstr, n, "article is not valid UTF-8 (or out of memory)");
        size_t len = strlen(s);
        if (schema_buf_reserve(out, len)) { free(s); return fail(errstr, n, "out of memory"); }
        memcpy(out->data, s, len);
        out->len = len;
        free(s);
        return 0;
    }
    avro_value_t *v = &c->article.value;
    avro_value_reset(v);
    if (set_str(v, A_ID, a->id, a->id_len) || set_str(v, A_TEXT, a->text, a->text_len) ||
        set_opt_str(v, A_TITLE, a->title, a->title_len) ||
        set_opt_str(v, A_LANG, a->lang, a->lang ? strlen(a->lang) : 0) ||
        set_opt_str(v, A_SOURCE, a->source, a->source_len) ||
        set_opt_str(v, A_URL, a->url, a->url_len) ||
        set_opt_long(v, A_PUBLISHED, a->has_published, a->published))
        return fail(errstr, n, "Avro C: %s", avro_strerror());
    return write_single_object(c, &c->article, out, errstr, n);
}

static int append_doubles(avro_value_t *rec, int idx, const double *x, int k)
{
    avro_value_t arr, e;
    if (avro_value_get_by_index(rec, (size_t)idx, &arr, NULL)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_append(&arr, &e, NULL) || avro_value_set_double(&e, x[i])) return -1;
    return 0;
}

static int append_ints(avro_value_t *rec, int idx, const uint32_t *x32, const uint8_t *x8, int k)
{
    avro_value_t arr, e;
    if (avro_value_get_by_index(rec, (size_t)idx, &arr, NULL)) return -1;
    for (int i = 0; i < k; i++) {
        int32_t v = x32 ? (int32_t)x32[i] : (int32_t)x8[i];
        if (avro_value_append(&arr, &e, NULL) || avro_value_set_int(&e, v)) return -1;
    }
    return 0;
}

int schema_codec_encode_record(schema_codec *c, schema_format fmt, const char *id, size_t id_len,
                               const char *model_id, const dhatu_record *r,
                               const schema_lineage *l, schema_buf *out, char *errstr, size_t n)
{
    if (fmt == SCHEMA_FMT_JSON)
        return schema_json_write_record(id, id_len, model_id, r, l, out, errstr, n);
    avro_value_t *v = &c->record.value, f, b, lin, arr, e;
    avro_value_reset(v);
    int bad = set_str(v, R_ID, id, id_len) || set_str(v, R_MODEL, model_id, strlen(model_id)) ||
              append_doubles(v, R_WEIGHTS, r->weights, DHATU_NDHATU) ||
              append_ints(v, R_POSITIVE, r->positive, NULL, DHATU_NDHATU) ||
              append_ints(v, R_NEGATIVE, r->negative, NULL, DHATU_NDHATU) ||
              append_ints(v, R_INTENSITY, NULL, r->intensity, DHATU_NDHATU) ||
              append_doubles(v, R_CONFIDENCE, r->confidence, DHATU_NDHATU) ||
              append_doubles(v, R_PRIME_BASES, r->prime_bases, DHATU_NPRIMES);
    bad = bad || avro_value_get_by_index(v, R_TOKENS, &f, NULL) ||
          avro_value_set_long(&f, (int64_t)r->tokens);
    bad = bad || avro_value_get_by_index(v, R_SIGNATURE, &f, NULL) ||
          avro_value_set_long(&f, (int64_t)r->signature);
    bad = bad || avro_value_get_by_index(v, R_AMBIGUITY, &f, NULL) ||
          avro_value_set_double(&f, r->ambiguity);
    bad = bad || avro_value_get_by_index(v, R_DOMINANT, &f, NULL) ||
          (r->dominant >= 0 ? avro_value_set_branch(&f, 1, &b) || avro_value_set_enum(&b, r->dominant)
                            : avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b));
    bad = bad || avro_value_get_by_index(v, R_POLARITY, &arr, NULL);
    for (int i = 0; !bad && i < DHATU_NDHATU; i++)
        bad = avro_value_append(&arr, &e, NULL) ||
              avro_value_set_enum(&e, r->polarity[i] < 3 ? r->polarity[i] : 0);
    bad = bad || avro_value_get_by_index(v, R_LINEAGE, &lin, NULL) ||
          set_str(&lin, L_TOPIC, l->topic, strlen(l->topic)) ||
          set_str(&lin, L_PROCESSOR, l->processor, strlen(l->processor)) ||
          set_str(&lin, L_BACKEND, l->backend, strlen(l->backend)) ||
          set_opt_long(&lin, L_TIMESTAMP, l->timestamp >= 0, l->timestamp);
    bad = bad || avro_value_get_by_index(&lin, L_PARTITION, &f, NULL) ||
          avro_value_set_int(&f, l->partition);
    bad = bad || avro_value_get_by_index(&lin, L_OFFSET, &f, NULL) || avro_value_set_long(&f, l->offset);
    bad = bad || avro_value_get_by_index(&lin, L_PROCESSED_AT, &f, NULL) ||
          avro_value_set_long(&f, l->processed_at);
    if (bad) return fail(errstr, n, "Avro C: %s", avro_strerror());
    return write_single_object(c, &c->record, out, errstr, n);
}

/* ---- records back to JSON (tools and tests) */

/* The array field idx of rec, required to hold exactly k items. */
static int get_array(avro_value_t *rec, int idx, int k, avro_value_t *arr)
{
    size_t size = 0;
    if (avro_value_get_by_index(rec, (size_t)idx, arr, NULL) || avro_value_get_size(arr, &size)) return -1;
    return size == (size_t)k ? 0 : -1;
}

static int get_doubles(avro_value_t *rec, int idx, double *x, int k)
{
    avro_value_t arr, e;
    if (get_array(rec, idx, k, &arr)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_get_by_index(&arr, (size_t)i, &e, NULL) || avro_value_get_double(&e, &x[i]))
            return -1;
    return 0;
}

/* Ints or enum indexes (polarity). */
static int get_ints(avro_value_t *rec, int idx, int32_t *x, int k)
{
    avro_value_t arr, e;
    if (get_array(rec, idx, k, &arr)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_get_by_index(&arr, (size_t)i, &e, NULL)) return -1;
        else if (avro_value_get_type(&e) == AVRO_ENUM ? avro_value_get_enum(&e, (int *)&x[i])
                                                      : avro_value_get_int(&e, &x[i]))
            return -1;
    return 0;
}

int schema_codec_record_to_json(schema_codec *c, const void *vbuf, size_t len, schema_buf *out,
                                char *errstr, size_t n)
{
    const unsigned char *buf = vbuf;
    if (len == 0 || buf[0] != so_magic[0]) {       /* JSON records pass through */
        if (schema_buf_reserve(out, len)) return fail(errstr, n, "out of memory");
        memcpy(out->data, buf, len);
        out->len = len;
        return 0;
    }
    if (read_single_object(c, &c->record, "org.dhatu.DhatuRecord", buf, len, errstr, n) != SCHEMA_OK)
        return -1;
    avro_value_t *v = &c->record.value, f, b, lin;
    dhatu_record r;
    memset(&r, 0, sizeof r);
    int32_t pos[DHATU_NDHATU], neg[DHATU_NDHATU], inten[DHATU_NDHATU], pol[DHATU_NDHATU];
    const char *id = NULL, *model = NULL;
    size_t id_len = 0;
    int64_t tokens = 0, sig = 0;
    int bad = get_doubles(v, R_WEIGHTS, r.weights, DHATU_NDHATU) ||
              get_doubles(v, R_CONFIDENCE, r.confidence, DHATU_NDHATU) ||
              get_doubles(v, R_PRIME_BASES, r.prime_bases, DHATU_NPRIMES) ||
              get_ints(v, R_POSITIVE, pos, DHATU_NDHATU) || get_ints(v, R_NEGATIVE, neg, DHATU_NDHATU) ||
              get_ints(v, R_INTENSITY, inten, DHATU_NDHATU) || get_ints(v, R_POLARITY, pol, DHATU_NDHATU);
    bad = bad || avro_value_get_by_index(v, R_TOKENS, &f, NULL) || avro_value_get_long(&f, &tokens);
    bad = bad || avro_value_get_by_index(v, R_SIGNATURE, &f, NULL) || avro_value_get_long(&f, &sig);
    bad = bad || avro_value_get_by_index(v, R_AMBIGUITY, &f, NULL) ||
          avro_value_get_double(&f, &r.ambiguity);
    if (bad) return fail(errstr, n, "record arrays have the wrong length");
    for (int i = 0; i < DHATU_NDHATU; i++) {
        r.positive[i] = (uint32_t)pos[i];
        r.negative[i] = (uint32_t)neg[i];
        r.intensity[i] = (uint8_t)inten[i];
        r.polarity[i] = (uint8_t)pol[i];
    }
    r.tokens = (uint64_t)tokens;
    r.signature = (uint64_t)sig;
    int dom = -1;
    if (opt_branch(v, R_DOMINANT, &b)) avro_value_get_enum(&b, &dom);
    r.dominant = (int8_t)dom;
    avro_value_get_by_index(v, R_ID, &f, NULL);
    get_str(&f, &id, &id_len);
    avro_value_get_by_index(v, R_MODEL, &f, NULL);
    get_str(&f, &model, NULL);
    schema_lineage l = { 0 };
    avro_value_get_by_index(v, R_LINEAGE, &lin, NULL);
    avro_value_get_by_index(&lin, L_TOPIC, &f, NULL);
    get_str(&f, &l.topic, NULL);
    avro_value_get_by_index(&lin, L_PROCESSOR, &f, NULL);
    get_str(&f, &l.processor, NULL);
    avro_value_get_by_index(&lin, L_BACKEND, &f, NULL);
    get_str(&f, &l.backend, NULL);
    avro_value_get_by_index(&lin, L_PARTITION, &f, NULL);
    avro_value_get_int(&f, &l.partition);
    avro_value_get_by_index(&lin, L_OFFSET, &f, NULL);
    avro_value_get_long(&f, &l.offset);
    avro_value_get_by_index(&lin, L_PROCESSED_AT, &f, NULL);
    avro_value_get_long(&f, &l.processed_at);
    l.timestamp = -1;
    if (opt_branch(&lin, L_TIMESTAMP, &b)) avro_value_get_long(&b, &l.timestamp);
    if (!id || !model || !l.topic || !l.processor || !l.backend)
        return fail(errstr, n, "record strings missing");
    return schema_json_write_record(id, id_len, model, &r, &l, out, errstr, n);
}
