/* record_json.c -- a dhātu record as one compact JSON object, written
 * straight into the output buffer: no tree, no allocation once the buffer
 * has grown, doubles in their shortest round-trip form (common/dtoa.h).
 * Keys in the order of docs/RECORD.md. */
#include <inttypes.h>
#include <string.h>
#include "dtoa.h"
#include "schema_json.h"

/* Appends s as a JSON string; -1 when s is not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included). */
static int put_string(dbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case 6 bytes per input byte (\u00XX), plus the quotes. */
    if (dbuf_reserve(b, b->len + len * 6 + 2)) return -1;
    char *o = b->data + b->len;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    *o++ = '"';
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            p++;
        } else if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            default: memcpy(o, "u00", 3); o[3] = hex[c >> 4]; o[4] = hex[c & 15]; o += 5;
            }
            p++;
        } else {
            int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
            if (n == 0 || c > 0xF4 || end - p < n) return -1;
            for (int i = 1; i < n; i++)
                if ((p[i] & 0xC0) != 0x80) return -1;
            if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) ||   /* overlong; surrogates */
                (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))     /* overlong; > U+10FFFF */
                return -1;
            memcpy(o, p, (size_t)n);
            o += n;
            p += n;
        }
    }
    *o++ = '"';
    dbuf_setlen(b, (size_t)(o - b->data));
    return 0;
}

static int put(dbuf *b, const char *s)
{
    return dbuf_append(b, s, strlen(s));
}

static int put_double(dbuf *b, double v)
{
    char num[DTOA_JSON_MAX];
    size_t n = dtoa_json(v, num);
    return n ? dbuf_append(b, num, n) : -1;
}

static int put_int(dbuf *b, int64_t v)
{
    char num[24];
    char *e = num + sizeof num, *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do *--q = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--q = '-';
    return dbuf_append(b, q, (size_t)(e - q));
}

static int put_doubles(dbuf *b, const double *v, int k)
{
    int bad = put(b, "[");
    for (int i = 0; i < k; i++) bad |= (i ? put(b, ",") : 0) | put_double(b, v[i]);
    return bad | put(b, "]");
}

static int put_uints(dbuf *b, const uint32_t *v32, const uint8_t *v8, int k)
{
    int bad = put(b, "[");
    for (int i = 0; i < k; i++) bad |= (i ? put(b, ",") : 0) | put_int(b, v32 ? v32[i] : v8[i]);
    return bad | put(b, "]");
}

static int put_lineage(dbuf *b, const schema_lineage *l)
{
    int bad = put(b, ",\"lineage\":{\"topic\":") || put_string(b, l->topic, strlen(l->topic));
    bad = bad || put(b, ",\"partition\":") || put_int(b, l->partition);
    bad = bad || put(b, ",\"offset\":") || put_int(b, l->offset);
    bad = bad || put(b, ",\"timestamp\":") || (l->timestamp >= 0 ? put_int(b, l->timestamp) : put(b, "null"));
    bad = bad || put(b, ",\"processed_at\":") || put_int(b, l->processed_at);
    bad = bad || put(b, ",\"processor\":") || put_string(b, l->processor, strlen(l->processor));
    bad = bad || put(b, ",\"backend\":") || put_string(b, l->backend, strlen(l->backend));
    return bad || put(b, "}");
}

schema_status schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                                       const dhatu_record *r, const schema_lineage *lineage,
                                       dbuf *out, char *errstr, size_t n)
{
    static const char *const pol[3] = { "\"none\"", "\"positive\"", "\"negative\"" };
    dbuf_reset(out);
    if (dbuf_reserve(out, 1024 + id_len * 6)) return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    if (put(out, "{\"id\":") || put_string(out, id, id_len)) {
        if (out->len) dbuf_reset(out);
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "record id is not valid UTF-8");
    }
    int bad = put(out, ",\"model\":") || put_string(out, model_id, strlen(model_id));
    bad = bad || put(out, ",\"weights\":") || put_doubles(out, r->weights, DHATU_NDHATU);
    bad = bad || put(out, ",\"positive\":") || put_uints(out, r->positive, NULL, DHATU_NDHATU);
    bad = bad || put(out, ",\"negative\":") || put_uints(out, r->negative, NULL, DHATU_NDHATU);
    bad = bad || put(out, ",\"tokens\":") || put_int(out, (int64_t)r->tokens);
    bad = bad || put(out, ",\"dominant\":");
    if (!bad && r->dominant >= 0 && dhatu_name(r->dominant))
        bad = put(out, "\"") || put(out, dhatu_name(r->dominant)) || put(out, "\"");
    else
        bad = bad || put(out, "null");
    bad = bad || put(out, ",\"polarity\":[");
    for (int i = 0; !bad && i < DHATU_NDHATU; i++)
        bad = (i && put(out, ",")) || put(out, pol[r->polarity[i] < 3 ? r->polarity[i] : 0]);
    bad = bad || put(out, "]");
    bad = bad || put(out, ",\"intensity\":") || put_uints(out, NULL, r->intensity, DHATU_NDHATU);
    bad = bad || put(out, ",\"confidence\":") || put_doubles(out, r->confidence, DHATU_NDHATU);
    bad = bad || put(out, ",\"signature\":") || put_int(out, (int64_t)r->signature);
    bad = bad || put(out, ",\"prime_bases\":") || put_doubles(out, r->prime_bases, DHATU_NPRIMES);
    bad = bad || put(out, ",\"ambiguity\":") || put_double(out, r->ambiguity);
    if (!bad && lineage) bad = put_lineage(out, lineage);
    bad = bad || put(out, "}");
    if (bad) {
        dbuf_reset(out);
        /* Memory, a non-finite number (no JSON form) or a string that is not UTF-8. */
        return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "record cannot be written as JSON "
                            "(a non-finite number, a string that is not UTF-8, or out of memory)");
    }
    return SCHEMA_OK;
}
