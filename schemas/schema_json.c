/* schema_json.c -- see schema_json.h. */
#include "schema_json.h"
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_err(char *errstr, size_t n, const char *msg, const char *arg)
{
    if (errstr && n) snprintf(errstr, n, "%s%s", msg, arg ? arg : "");
    return -1;
}

static int err_code(int code, char *errstr, size_t n, const char *msg, const char *arg)
{
    set_err(errstr, n, msg, arg);
    return code;
}

void schema_article_clear(schema_article *a)
{
    if (a->doc) json_decref((json_t *)a->doc);
    memset(a, 0, sizeof *a);
}

/* An optional string field: absent or null -> NULL; any other type is an error. */
static int opt_string(json_t *root, const char *key, const char **s, size_t *len,
                      char *errstr, size_t n)
{
    json_t *v = json_object_get(root, key);
    *s = NULL;
    if (len) *len = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        char msg[64];
        snprintf(msg, sizeof msg, "field \"%s\" must be a string or null", key);
        return set_err(errstr, n, msg, NULL);
    }
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return 0;
}

int schema_json_parse_article(const char *buf, size_t len, schema_article *a,
                              char *errstr, size_t n)
{
    memset(a, 0, sizeof *a);
    json_error_t je;
    /* JSON_ALLOW_NUL: a \u0000 in a text is data, not an error. */
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
        return set_err(errstr, n, msg, NULL);
    }
    a->doc = root;
    if (!json_is_object(root)) {
        schema_article_clear(a);
        return err_code(SCHEMA_JSON_ESYNTAX, errstr, n, "expected a JSON object", NULL);
    }
    json_t *id = json_object_get(root, "id");
    if (json_is_string(id)) {
        a->id = json_string_value(id);
        a->id_len = json_string_length(id);
    } else if (json_is_integer(id)) {
        snprintf(a->id_buf, sizeof a->id_buf, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        a->id = a->id_buf;
        a->id_len = strlen(a->id_buf);
    } else {
        schema_article_clear(a);
        return err_code(SCHEMA_JSON_EFIELD, errstr, n, id ? "field \"id\" must be a string or an integer"
                                     : "missing field \"id\"", NULL);
    }
    if (a->id_len == 0) {
        schema_article_clear(a);
        return err_code(SCHEMA_JSON_EFIELD, errstr, n, "field \"id\" is empty", NULL);
    }
    json_t *text = json_object_get(root, "text");
    if (!json_is_string(text)) {
        schema_article_clear(a);
        return err_code(SCHEMA_JSON_EFIELD, errstr, n, text ? "field \"text\" must be a string" : "missing field \"text\"", NULL);
    }
    a->text = json_string_value(text);
    a->text_len = json_string_length(text);
    if (opt_string(root, "title", &a->title, &a->title_len, errstr, n) ||
        opt_string(root, "lang", &a->lang, NULL, errstr, n) ||
        opt_string(root, "source", &a->source, &a->source_len, errstr, n) ||
        opt_string(root, "url", &a->url, &a->url_len, errstr, n)) {
        schema_article_clear(a);
        return SCHEMA_JSON_EFIELD;
    }
    json_t *pub = json_object_get(root, "published");
    if (json_is_integer(pub)) {
        a->published = json_integer_value(pub);
        a->has_published = 1;
    } else if (json_is_string(pub)) {
        if (schema_parse_rfc3339(json_string_value(pub), json_string_length(pub), &a->published)) {
            schema_article_clear(a);
            return err_code(SCHEMA_JSON_EFIELD, errstr, n, "field \"published\" is not an RFC 3339 time", NULL);
        }
        a->has_published = 1;
    } else if (pub && !json_is_null(pub)) {
        schema_article_clear(a);
        return err_code(SCHEMA_JSON_EFIELD, errstr, n, "field \"published\" must be null, an integer (ms) or an RFC 3339 string", NULL);
    }
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no dependence on the process's time zone. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t at, int k, int *v)
{
    if (at + (size_t)k > len) return -1;
    *v = 0;
    for (int i = 0; i < k; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9') return -1;
        *v = *v * 10 + (c - '0');
    }
    return 0;
}

int schema_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    int Y, M, D, h, m, sec, frac = 0;
    if (digits(s, len, 0, 4, &Y) || len < 19 || s[4] != '-' || digits(s, len, 5, 2, &M) ||
        s[7] != '-' || digits(s, len, 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s, len, 11, 2, &h) || s[13] != ':' || digits(s, len, 14, 2, &m) || s[16] != ':' ||
        digits(s, len, 17, 2, &sec))
        return -1;
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) return -1;
    size_t at = 19;
    if (at < len && s[at] == '.') {
        int k = 0;
        for (at++; at < len && s[at] >= '0' && s[at] <= '9'; at++, k++)
            if (k < 3) frac = frac * 10 + (s[at] - '0');
        if (k == 0) return -1;
        for (; k < 3; k++) frac *= 10;
    }
    int64_t off = 0;
    if (at < len && (s[at] == 'Z' || s[at] == 'z')) {
        at++;
    } else if (at < len && (s[at] == '+' || s[at] == '-')) {
        int oh, om;
        if (digits(s, len, at + 1, 2, &oh) || at + 3 >= len || s[at + 3] != ':' ||
            digits(s, len, at + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (int64_t)(oh * 60 + om) * 60 * (s[at] == '+' ? 1 : -1);
        at += 6;
    } else {
        return -1;
    }
    if (at != len) return -1;
    int64_t secs = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - off;
    *ms = secs * 1000 + frac;
    return 0;
}

void schema_buf_free(schema_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static json_t *real_array(const double *v, int k)
{
    json_t *a = json_array();
    for (int i = 0; a && i < k; i++)
        if (json_array_append_new(a, json_real(v[i]))) { json_decref(a); return NULL; }
    return a;
}

static json_t *uint_array(const uint32_t *v, int k)
{
    json_t *a = json_array();
    for (int i = 0; a && i < k; i++)
        if (json_array_append_new(a, json_integer(v[i]))) { json_decref(a); return NULL; }
    return a;
}

int schema_buf_reserve(schema_buf *b, size_t need)
{
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static json_t *lineage_object(const schema_lineage *l)
{
    json_t *o = json_object();
    int bad = !o;
    bad |= json_object_set_new(o, "topic", json_string(l->topic));
    bad |= json_object_set_new(o, "partition", json_integer(l->partition));
    bad |= json_object_set_new(o, "offset", json_integer(l->offset));
    bad |= json_object_set_new(o, "timestamp", l->timestamp >= 0 ? json_integer(l->timestamp) : json_null());
    bad |= json_object_set_new(o, "processed_at", json_integer(l->processed_at));
    bad |= json_object_set_new(o, "processor", json_string(l->processor));
    bad |= json_object_set_new(o, "backend", json_string(l->backend));
    if (bad) { json_decref(o); return NULL; }
    return o;
}

int schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                             const dhatu_record *r, const schema_lineage *lineage,
                             schema_buf *out, char *errstr, size_t n)
{
    static const char *const pol[3] = { "none", "positive", "negative" };
    json_t *o = json_object();
    json_t *jid = json_stringn(id, id_len);
    if (!jid) { json_decref(o); return set_err(errstr, n, "record id is not valid UTF-8", NULL); }
    json_t *polarity = json_array(), *intensity = json_array();
    for (int i = 0; polarity && intensity && i < DHATU_NDHATU; i++) {
        json_array_append_new(polarity, json_string(pol[r->polarity[i] < 3 ? r->polarity[i] : 0]));
        json_array_append_new(intensity, json_integer(r->intensity[i]));
    }
    int bad = !o;
    bad |= json_object_set_new(o, "id", jid);
    bad |= json_object_set_new(o, "model", json_string(model_id));
    bad |= json_object_set_new(o, "weights", real_array(r->weights, DHATU_NDHATU));
    bad |= json_object_set_new(o, "positive", uint_array(r->positive, DHATU_NDHATU));
    bad |= json_object_set_new(o, "negative", uint_array(r->negative, DHATU_NDHATU));
    bad |= json_object_set_new(o, "tokens", json_integer((json_int_t)r->tokens));
    bad |= json_object_set_new(o, "dominant", r->dominant >= 0 ? json_string(dhatu_name(r->dominant))
                                                               : json_null());
    bad |= json_object_set_new(o, "polarity", polarity);
    bad |= json_object_set_new(o, "intensity", intensity);
    bad |= json_object_set_new(o, "confidence", real_array(r->confidence, DHATU_NDHATU));
    bad |= json_object_set_new(o, "signature", json_integer((json_int_t)r->signature));
    bad |= json_object_set_new(o, "prime_bases", real_array(r->prime_bases, DHATU_NPRIMES));
    bad |= json_object_set_new(o, "ambiguity", json_real(r->ambiguity));
    if (lineage) bad |= json_object_set_new(o, "lineage", lineage_object(lineage));
    if (bad) {
        json_decref(o);
        return set_err(errstr, n, "out of memory while building a record", NULL);
    }
    /* Keys in the documented order. 15 significant digits: 0.2 prints as 0.2
     * (17 would print 0.20000000000000001), and the rounding stays below
     * 1e-15 relative, far inside the 1e-6 that backends must agree to. */
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    size_t need = json_dumpb(o, NULL, 0, flags);
    if (schema_buf_reserve(out, need)) {
        json_decref(o);
        return set_err(errstr, n, "out of memory", NULL);
    }
    out->len = json_dumpb(o, out->data, out->cap, flags);
    json_decref(o);
    return 0;
}
