/* schema_json.c -- see schema_json.h. */
#include "schema_json.h"
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An optional string field: absent or null -> NULL; any other type is an error. */
static schema_status opt_string(json_t *root, const char *key, const char **s, size_t *len,
                                char *errstr, size_t n)
{
    json_t *v = json_object_get(root, key);
    *s = NULL;
    if (len) *len = 0;
    if (!v || json_is_null(v)) return SCHEMA_OK;
    if (!json_is_string(v))
        return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"%s\" must be a string or null", key);
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return SCHEMA_OK;
}

schema_status schema_json_parse_article(const char *src, size_t len, schema_article *a,
                                        char *errstr, size_t n)
{
    memset(a, 0, sizeof *a);
    json_error_t je;
    /* JSON_ALLOW_NUL: a \u0000 in a text is data, not an error. */
    json_t *root = json_loadb(src, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "invalid JSON at column %d: %s", je.column, je.text);
    a->doc = root;
    if (!json_is_object(root)) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "expected a JSON object");
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
        return schema_error(errstr, n, SCHEMA_ERR_INVALID, "%s",
                            id ? "field \"id\" must be a string or an integer" : "missing field \"id\"");
    }
    if (a->id_len == 0) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"id\" is empty");
    }
    json_t *text = json_object_get(root, "text");
    if (!json_is_string(text)) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_INVALID, "%s",
                            text ? "field \"text\" must be a string" : "missing field \"text\"");
    }
    a->text = json_string_value(text);
    a->text_len = json_string_length(text);
    if (opt_string(root, "title", &a->title, &a->title_len, errstr, n) ||
        opt_string(root, "lang", &a->lang, NULL, errstr, n) ||
        opt_string(root, "source", &a->source, &a->source_len, errstr, n) ||
        opt_string(root, "url", &a->url, &a->url_len, errstr, n)) {
        schema_article_clear(a);
        return SCHEMA_ERR_INVALID;
    }
    json_t *pub = json_object_get(root, "published");
    if (json_is_integer(pub)) {
        a->published = json_integer_value(pub);
        a->has_published = 1;
    } else if (json_is_string(pub)) {
        if (schema_parse_rfc3339(json_string_value(pub), json_string_length(pub), &a->published)) {
            schema_article_clear(a);
            return schema_error(errstr, n, SCHEMA_ERR_INVALID, "field \"published\" is not an RFC 3339 time");
        }
        a->has_published = 1;
    } else if (pub && !json_is_null(pub)) {
        schema_article_clear(a);
        return schema_error(errstr, n, SCHEMA_ERR_INVALID,
                            "field \"published\" must be null, an integer (ms) or an RFC 3339 string");
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


