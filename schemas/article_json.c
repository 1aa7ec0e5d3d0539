/* article_json.c -- an article from one JSON object (schema_json.h), read
 * in one pass with no tree: the fields we use are unescaped into one block
 * the article owns, everything else is validated and skipped.
 *
 * Strict RFC 8259: UTF-8 checked (no overlong forms, surrogates or code
 * points past U+10FFFF), escapes and surrogate pairs checked, no control
 * characters in strings, numbers by the grammar, nesting at most 2,048
 * deep, nothing after the object but white space. A \u0000 in a string is
 * data. A field we read may appear once; a duplicate of an ignored field
 * is ignored (RFC 8259 leaves duplicates to the reader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_run.h"
#include "schema_json.h"

#define MAX_DEPTH 2048

enum { K_ID, K_TITLE, K_TEXT, K_LANG, K_SOURCE, K_URL, K_PUBLISHED, K_N };
static const char *const field_names[K_N] = { "id", "title", "text", "lang", "source", "url", "published" };

/* What a field held. */
enum { T_ABSENT = 0, T_NULL, T_STRING, T_INT, T_OTHER };
typedef struct field { int type; const char *s; size_t len; int64_t i; } field;

typedef struct parser {
    const unsigned char *p, *start, *end;
    char *out;          /* unescaped strings, each followed by a NUL */
    size_t out_len;
    const char *why;    /* syntax error, or NULL */
    int depth;
} parser;

static int fail(parser *j, const char *why)
{
    if (!j->why) j->why = why;
    return -1;
}

static void ws(parser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hex4(parser *j, unsigned *v)
{
    if (j->end - j->p < 4) return fail(j, "truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = j->p[i], d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : 16;
        if (d == 16) return fail(j, "invalid \\u escape");
        *v = *v << 4 | d;
    }
    j->p += 4;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) *o++ = (char)(0xC0 | cp >> 6), *o++ = (char)(0x80 | (cp & 63));
    else if (cp < 0x10000)
        *o++ = (char)(0xE0 | cp >> 12), *o++ = (char)(0x80 | (cp >> 6 & 63)), *o++ = (char)(0x80 | (cp & 63));
    else
        *o++ = (char)(0xF0 | cp >> 18), *o++ = (char)(0x80 | (cp >> 12 & 63)), *o++ = (char)(0x80 | (cp >> 6 & 63)),
        *o++ = (char)(0x80 | (cp & 63));
    return o;
}

/* A string at j->p (the opening quote), unescaped into out + NUL. */
static int string(parser *j, const char **s, size_t *len)
{
    char *o = j->out + j->out_len, *o0 = o;
    j->p++;
    for (;;) {
        size_t run = json_plain_run(j->p, j->end);
        memcpy(o, j->p, run);
        o += run;
        j->p += run;
        if (j->p == j->end) return fail(j, "unterminated string");
        unsigned c = *j->p;
        if (c == '"') {
            j->p++;
            break;
        }
        if (c < 0x20) return fail(j, "control character in a string");
        if (c == '\\') {
            if (j->end - j->p < 2) return fail(j, "unterminated string");
            unsigned e = j->p[1];
            j->p += 2;
            static const char plain[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = e ? strchr(plain, (int)e) : NULL;
            if (k) {
                *o++ = to[k - plain];
                continue;
            }
            unsigned cp, lo;
            if (e != 'u') return fail(j, "invalid escape");
            if (hex4(j, &cp)) return -1;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(j, "invalid Unicode escape (a lone low surrogate)");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                    return fail(j, "invalid Unicode escape (a lone high surrogate)");
                j->p += 2;
                if (hex4(j, &lo)) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(j, "invalid Unicode escape (a lone high surrogate)");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = put_utf8(o, cp);
            continue;
        }
        /* UTF-8: 2 to 4 bytes, no overlong forms, no surrogates, <= U+10FFFF. */
        const unsigned char *q = j->p;
        int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (n == 0 || c > 0xF4 || j->end - q < n) return fail(j, "invalid UTF-8");
        for (int i = 1; i < n; i++)
            if ((q[i] & 0xC0) != 0x80) return fail(j, "invalid UTF-8");
        if ((c == 0xE0 && q[1] < 0xA0) || (c == 0xED && q[1] >= 0xA0) || (c == 0xF0 && q[1] < 0x90) ||
            (c == 0xF4 && q[1] >= 0x90))
            return fail(j, "invalid UTF-8");
        memcpy(o, q, (size_t)n);
        o += n;
        j->p += n;
    }
    *o = '\0';
    if (s) *s = o0;
    if (len) *len = (size_t)(o - o0);
    j->out_len += (size_t)(o - o0) + 1;
    return 0;
}

/* A number by the grammar; *integer and *v when it is an integer that fits. */
static int number(parser *j, int *integer, int64_t *v)
{
    const unsigned char *q = j->p;
    int neg = q < j->end && *q == '-';
    if (neg) q++;
    if (q == j->end || *q < '0' || *q > '9') return fail(j, "invalid number");
    uint64_t u = 0;
    int big = 0;
    if (*q == '0') q++;
    else
        for (; q < j->end && *q >= '0' && *q <= '9'; q++) {
            if (u > (UINT64_MAX - 9) / 10) big = 1;
            u = u * 10 + (*q - '0');
        }
    *integer = 1;
    if (q < j->end && *q == '.') {
        *integer = 0;
        if (++q == j->end || *q < '0' || *q > '9') return fail(j, "invalid number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        *integer = 0;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q == j->end || *q < '0' || *q > '9') return fail(j, "invalid number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (!*integer) {
        /* As strict readers do (jansson among them): a real that overflows
         * a double is an error, not infinity. */
        char small[64], *tok = small;
        size_t n = (size_t)(q - j->p);
        if (n >= sizeof small && !(tok = malloc(n + 1))) return fail(j, "out of memory");
        memcpy(tok, j->p, n);
        tok[n] = '\0';
        double d = strtod(tok, NULL);
        if (tok != small) free(tok);
        if (d - d != 0) return fail(j, "real number overflow");
    }
    j->p = q;
    if (*integer) {
        if (big || u > (uint64_t)INT64_MAX + neg) return fail(j, "too big integer");
        *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    }
    return 0;
}

static int literal(parser *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n)) return fail(j, "invalid literal");
    j->p += n;
    return 0;
}

static int value(parser *j, field *f);

/* An object or array whose content is skipped (validated). */
static int container(parser *j)
{
    if (++j->depth > MAX_DEPTH) return fail(j, "too deeply nested");
    unsigned close = *j->p == '{' ? '}' : ']';
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            size_t mark = j->out_len;
            if (j->p == j->end || *j->p != '"') return fail(j, "string or '}' expected");
            if (string(j, NULL, NULL)) return -1;
            j->out_len = mark;          /* ignored: forget the key */
            ws(j);
            if (j->p == j->end || *j->p != ':') return fail(j, "':' expected");
            j->p++;
            ws(j);
        }
        if (value(j, NULL)) return -1;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return 0;
        }
        return fail(j, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
    }
}

/* Any value; when f is given, what it was (strings kept). */
static int value(parser *j, field *f)
{
    field dummy;
    if (!f) f = &dummy;
    if (j->p == j->end) return fail(j, "unexpected end of input");
    size_t mark = j->out_len;
    switch (*j->p) {
    case '"':
        f->type = T_STRING;
        if (string(j, &f->s, &f->len)) return -1;
        if (f == &dummy) j->out_len = mark;
        return 0;
    case '{': case '[': f->type = T_OTHER; return container(j);
    case 't': f->type = T_OTHER; return literal(j, "true");
    case 'f': f->type = T_OTHER; return literal(j, "false");
    case 'n': f->type = T_NULL; return literal(j, "null");
    default: {
        int integer;
        if (number(j, &integer, &f->i)) return -1;
        f->type = integer ? T_INT : T_OTHER;
        return 0;
    }
    }
}

static int key_index(const char *k, size_t len)
{
    for (int i = 0; i < K_N; i++)
        if (strlen(field_names[i]) == len && !memcmp(field_names[i], k, len)) return i;
    return -1;
}

/* The top-level object: our fields into f[], the rest skipped. */
static int object(parser *j, field *f)
{
    ws(j);
    if (j->p == j->end || (*j->p != '{' && *j->p != '[')) return fail(j, "'[' or '{' expected");
    if (*j->p == '[') {
        if (container(j)) return -1;
        return 1;                       /* valid JSON, not an object */
    }
    j->p++;
    j->depth = 1;
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        size_t mark = j->out_len;
        const char *k;
        size_t klen;
        if (j->p == j->end || *j->p != '"') return fail(j, "string or '}' expected");
        if (string(j, &k, &klen)) return -1;
        if (memchr(k, 0, klen)) return fail(j, "NUL byte in an object key");
        int idx = key_index(k, klen);
        j->out_len = mark;
        ws(j);
        if (j->p == j->end || *j->p != ':') return fail(j, "':' expected");
        j->p++;
        ws(j);
        if (idx >= 0 && f[idx].type != T_ABSENT) return fail(j, "duplicate object key");
        if (value(j, idx >= 0 ? &f[idx] : NULL)) return -1;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return 0;
        }
        return fail(j, "',' or '}' expected");
    }
}

/* The article is valid JSON but not a valid article: why names the field. */
static schema_status invalid(schema_article *a, char *errstr, size_t n, const char *why)
{
    schema_article_clear(a);
    return schema_error(errstr, n, SCHEMA_ERR_INVALID, "%s", why);
}

/* Every unescaped string is no longer than its source, plus its NUL. */
#define SCRATCH(len) ((len) + (len) / 2 + 16)

static schema_status parse(const char *src, size_t len, schema_article *a, char *block, char *errstr, size_t n);

schema_status schema_json_parse_article(const char *src, size_t len, schema_article *a, char *errstr, size_t n)
{
    memset(a, 0, sizeof *a);
    char *block = malloc(SCRATCH(len));
    if (!block) return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    a->doc = block;
    return parse(src, len, a, block, errstr, n);
}

schema_status schema_json_parse_article_in(const char *src, size_t len, schema_article *a, dbuf *scratch,
                                           char *errstr, size_t n)
{
    memset(a, 0, sizeof *a);
    if (dbuf_reserve(scratch, SCRATCH(len))) return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory");
    return parse(src, len, a, scratch->data, errstr, n);
}

/* a->doc is the block when the article owns it; clearing frees it. */
static schema_status parse(const char *src, size_t len, schema_article *a, char *block, char *errstr, size_t n)
{
    parser j = { (const unsigned char *)src, (const unsigned char *)src, (const unsigned char *)src + len, block, 0,
                 NULL, 0 };
    field f[K_N];
    memset(f, 0, sizeof f);
    int rc = object(&j, f);
    if (rc == 0) {
        ws(&j);
        if (j.p != j.end) rc = fail(&j, "end of input expected");
    }
    if (rc < 0) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "invalid JSON at column %d: %s",
                            (int)(j.p - j.start) + 1, j.why);
    }
    if (rc > 0) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "expected a JSON object");
    }
    if (f[K_ID].type == T_STRING) {
        a->id = f[K_ID].s;
        a->id_len = f[K_ID].len;
    } else if (f[K_ID].type == T_INT) {
        snprintf(a->id_buf, sizeof a->id_buf, "%lld", (long long)f[K_ID].i);
        a->id = a->id_buf;
        a->id_len = strlen(a->id_buf);
    } else {
        return invalid(a, errstr, n, f[K_ID].type ? "field \"id\" must be a string or an integer"
                                                        : "missing field \"id\"");
    }
    if (a->id_len == 0) return invalid(a, errstr, n, "field \"id\" is empty");
    if (f[K_TEXT].type != T_STRING)
        return invalid(a, errstr, n, f[K_TEXT].type ? "field \"text\" must be a string" : "missing field \"text\"");
    a->text = f[K_TEXT].s;
    a->text_len = f[K_TEXT].len;
    static const int opt[4] = { K_TITLE, K_LANG, K_SOURCE, K_URL };
    for (int i = 0; i < 4; i++)
        if (f[opt[i]].type > T_NULL && f[opt[i]].type != T_STRING) {
            schema_article_clear(a);
            return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"%s\" must be a string or null",
                                field_names[opt[i]]);
        }
    if (f[K_TITLE].type == T_STRING) a->title = f[K_TITLE].s, a->title_len = f[K_TITLE].len;
    if (f[K_LANG].type == T_STRING) a->lang = f[K_LANG].s;
    if (f[K_SOURCE].type == T_STRING) a->source = f[K_SOURCE].s, a->source_len = f[K_SOURCE].len;
    if (f[K_URL].type == T_STRING) a->url = f[K_URL].s, a->url_len = f[K_URL].len;
    const field *pub = &f[K_PUBLISHED];
    if (pub->type == T_INT) {
        a->published = pub->i;
        a->has_published = 1;
    } else if (pub->type == T_STRING) {
        if (schema_parse_rfc3339(pub->s, pub->len, &a->published))
            return invalid(a, errstr, n, "field \"published\" is not an RFC 3339 time");
        a->has_published = 1;
    } else if (pub->type == T_OTHER) {
        return invalid(a, errstr, n, "field \"published\" must be null, an integer (ms) or an RFC 3339 string");
    }
    return SCHEMA_OK;
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

schema_status schema_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    int Y, M, D, h, m, sec, frac = 0;
    if (digits(s, len, 0, 4, &Y) || len < 19 || s[4] != '-' || digits(s, len, 5, 2, &M) ||
        s[7] != '-' || digits(s, len, 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s, len, 11, 2, &h) || s[13] != ':' || digits(s, len, 14, 2, &m) || s[16] != ':' ||
        digits(s, len, 17, 2, &sec))
        return SCHEMA_ERR_INVALID;
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) return SCHEMA_ERR_INVALID;
    size_t at = 19;
    if (at < len && s[at] == '.') {
        int k = 0;
        for (at++; at < len && s[at] >= '0' && s[at] <= '9'; at++, k++)
            if (k < 3) frac = frac * 10 + (s[at] - '0');
        if (k == 0) return SCHEMA_ERR_INVALID;
        for (; k < 3; k++) frac *= 10;
    }
    int64_t off = 0;
    if (at < len && (s[at] == 'Z' || s[at] == 'z')) {
        at++;
    } else if (at < len && (s[at] == '+' || s[at] == '-')) {
        int oh, om;
        if (digits(s, len, at + 1, 2, &oh) || at + 3 >= len || s[at + 3] != ':' ||
            digits(s, len, at + 4, 2, &om) || oh > 23 || om > 59)
            return SCHEMA_ERR_INVALID;
        off = (int64_t)(oh * 60 + om) * 60 * (s[at] == '+' ? 1 : -1);
        at += 6;
    } else {
        return SCHEMA_ERR_INVALID;
    }
    if (at != len) return SCHEMA_ERR_INVALID;
    int64_t secs = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - off;
    *ms = secs * 1000 + frac;
    return SCHEMA_OK;
}


