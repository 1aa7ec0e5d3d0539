/* record_json.c -- a dhātu record as one compact JSON object, written
 * straight into the output buffer: no tree, one reservation per record (the
 * record's size is bounded: 28 doubles of at most 24 characters, 29 small
 * integers, escaped strings of at most 6 bytes per input byte), doubles in
 * their shortest round-trip form (common/dtoa.h). Keys in the order of
 * docs/RECORD.md. */
#include <inttypes.h>
#include <string.h>
#include "dtoa.h"
#include "json_run.h"
#include "schema_json.h"

/* Appends a literal (its length known at compile time). */
#define LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

/* s as a JSON string at o; NULL when s is not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included). Writes at most
 * 6 * len + 2 bytes. */
static char *put_string(char *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    *o++ = '"';
    while (p < end) {
        size_t run = json_plain_run(p, end);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (p == end) break;
        unsigned c = *p;
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            default: o = LIT(o, "u00"); *o++ = hex[c >> 4]; *o++ = hex[c & 15];
            }
            p++;
            continue;
        }
        int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (n == 0 || c > 0xF4 || end - p < n) return NULL;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return NULL;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) ||   /* overlong; surrogates */
            (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))     /* overlong; > U+10FFFF */
            return NULL;
        memcpy(o, p, (size_t)n);
        o += n;
        p += n;
    }
    *o++ = '"';
    return o;
}

static char *put_int(char *o, int64_t v)
{
    if (v >= 0 && v < 10) {     /* counts and intensities: mostly one digit */
        *o = (char)('0' + v);
        return o + 1;
    }
    char num[24], *e = num + sizeof num, *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do *--q = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--q = '-';
    memcpy(o, q, (size_t)(e - q));
    return o + (e - q);
}

/* NULL for a non-finite value (no JSON form). */
static char *put_doubles(char *o, const double *v, int k)
{
    *o++ = '[';
    for (int i = 0; i < k; i++) {
        if (i) *o++ = ',';
        size_t n = dtoa_json(v[i], o);
        if (!n) return NULL;
        o += n;
    }
    *o++ = ']';
    return o;
}

static char *put_uints(char *o, const uint32_t *v32, const uint8_t *v8, int k)
{
    *o++ = '[';
    for (int i = 0; i < k; i++) {
        if (i) *o++ = ',';
        o = put_int(o, v32 ? v32[i] : v8[i]);
    }
    *o++ = ']';
    return o;
}

static char *put_lineage(char *o, const schema_lineage *l)
{
    o = LIT(o, ",\"lineage\":{\"topic\":");
    if (!(o = put_string(o, l->topic, strlen(l->topic)))) return NULL;
    o = put_int(LIT(o, ",\"partition\":"), l->partition);
    o = put_int(LIT(o, ",\"offset\":"), l->offset);
    o = LIT(o, ",\"timestamp\":");
    o = l->timestamp >= 0 ? put_int(o, l->timestamp) : LIT(o, "null");
    o = put_int(LIT(o, ",\"processed_at\":"), l->processed_at);
    if (!(o = put_string(LIT(o, ",\"processor\":"), l->processor, strlen(l->processor)))) return NULL;
    if (!(o = put_string(LIT(o, ",\"backend\":"), l->backend, strlen(l->backend)))) return NULL;
    *o++ = '}';
    /* The article's, beside the lineage as in the Avro schema (version 2). */
    o = LIT(o, ",\"lang\":");
    if (!(o = l->lang ? put_string(o, l->lang, l->lang_len) : LIT(o, "null"))) return NULL;
    o = LIT(o, ",\"source\":");
    return l->source ? put_string(o, l->source, l->source_len) : LIT(o, "null");
}

schema_status schema_json_append_record(const char *id, size_t id_len, const char *model_id,
                                        const dhatu_record *r, const schema_lineage *lineage,
                                        dbuf *out, char *errstr, size_t n)
{
    static const struct { const char *s; size_t n; } pol[3] = {
        { "\"none\"", 6 }, { "\"positive\"", 10 }, { "\"negative\"", 10 } };
    size_t model_len = strlen(model_id), strings = id_len + model_len;
    if (lineage)
        strings += strlen(lineage->topic) + strlen(lineage->processor) + strlen(lineage->backend) +
                   (lineage->lang ? lineage->lang_len : 0) + (lineage->source ? lineage->source_len : 0);
    /* 28 doubles x 25, 29 integers x 21, keys, names and punctuation < 2 KiB. */
    size_t at = out->len;   /* on error the content is cut back to here */
    if (dbuf_reserve(out, at + 28 * 25 + 29 * 21 + 2048 + strings * 6))
        return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    char *o = out->data + at;
    o = LIT(o, "{\"id\":");
    if (!(o = put_string(o, id, id_len))) {
        dbuf_setlen(out, at);
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "record id is not valid UTF-8");
    }
    o = put_string(LIT(o, ",\"model\":"), model_id, model_len);
    if (o) o = put_doubles(LIT(o, ",\"weights\":"), r->weights, DHATU_NDHATU);
    if (o) {
        o = put_uints(LIT(o, ",\"positive\":"), r->positive, NULL, DHATU_NDHATU);
        o = put_uints(LIT(o, ",\"negative\":"), r->negative, NULL, DHATU_NDHATU);
        o = put_int(LIT(o, ",\"tokens\":"), (int64_t)r->tokens);
        o = LIT(o, ",\"dominant\":");
        const char *name = r->dominant >= 0 ? dhatu_name(r->dominant) : NULL;
        if (name) {
            *o++ = '"';
            memcpy(o, name, strlen(name));
            o += strlen(name);
            *o++ = '"';
        } else {
            o = LIT(o, "null");
        }
        o = LIT(o, ",\"polarity\":[");
        for (int i = 0; i < DHATU_NDHATU; i++) {
            int k = r->polarity[i] < 3 ? r->polarity[i] : 0;
            if (i) *o++ = ',';
            memcpy(o, pol[k].s, pol[k].n);
            o += pol[k].n;
        }
        *o++ = ']';
        o = put_uints(LIT(o, ",\"intensity\":"), NULL, r->intensity, DHATU_NDHATU);
        o = put_doubles(LIT(o, ",\"confidence\":"), r->confidence, DHATU_NDHATU);
    }
    if (o) {
        o = put_int(LIT(o, ",\"signature\":"), (int64_t)r->signature);
        o = put_doubles(LIT(o, ",\"prime_bases\":"), r->prime_bases, DHATU_NPRIMES);
    }
    if (o) {
        o = LIT(o, ",\"ambiguity\":");
        size_t k = dtoa_json(r->ambiguity, o);
        o = k ? o + k : NULL;
    }
    if (o && lineage) o = put_lineage(o, lineage);
    if (!o) {
        dbuf_setlen(out, at);
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE,
                            "record cannot be written as JSON (a non-finite number or a string that is not UTF-8)");
    }
    *o++ = '}';
    dbuf_setlen(out, (size_t)(o - out->data));
    return SCHEMA_OK;
}

schema_status schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                                       const dhatu_record *r, const schema_lineage *lineage,
                                       dbuf *out, char *errstr, size_t n)
{
    dbuf_reset(out);
    return schema_json_append_record(id, id_len, model_id, r, lineage, out, errstr, n);
}
