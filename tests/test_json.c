/* test_json.c -- the article parser (schemas/article_json.c) against
 * jansson, the strict parser it replaced: on every line of the shipped
 * sample and the nasty corpus, and on 300,000 mutations of them (bytes
 * flipped, cut, duplicated, escapes and UTF-8 sequences inserted), both
 * accept or both refuse, with the same class, and the fields read are
 * byte-equal. One documented difference: a duplicate of a key we ignore
 * (anywhere), or a NUL in such a key, is ignored here and refused by
 * jansson; the test recognises that case and checks the fields we read.
 * Then the 16-byte string scan (schemas/json_run.h) at every offset, in the
 * parser and in the record writer, and the writer's append contract. */
#include "testlib.h"
#include "lines.h"
#include "schema_json.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
#define next() tl_xorshift(&rng)

/* jansson's verdict in our classes, and the fields it reads. */
static schema_status reference(const char *buf, size_t len, json_t **root, const char **why)
{
    json_error_t je;
    *root = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    *why = NULL;
    if (!*root) {
        static char text[200];
        snprintf(text, sizeof text, "%s", je.text);
        *why = text;
        return SCHEMA_ERR_UNDECODABLE;
    }
    if (!json_is_object(*root)) return SCHEMA_ERR_UNDECODABLE;
    json_t *id = json_object_get(*root, "id"), *text = json_object_get(*root, "text");
    if (!(json_is_string(id) && json_string_length(id) > 0) && !json_is_integer(id)) return SCHEMA_ERR_INVALID;
    if (!json_is_string(text)) return SCHEMA_ERR_INVALID;
    static const char *const opt[] = { "title", "lang", "source", "url" };
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(*root, opt[i]);
        if (v && !json_is_null(v) && !json_is_string(v)) return SCHEMA_ERR_INVALID;
    }
    json_t *pub = json_object_get(*root, "published");
    int64_t ms;
    if (json_is_string(pub) && schema_parse_rfc3339(json_string_value(pub), json_string_length(pub), &ms))
        return SCHEMA_ERR_INVALID;
    if (pub && !json_is_null(pub) && !json_is_string(pub) && !json_is_integer(pub)) return SCHEMA_ERR_INVALID;
    return SCHEMA_OK;
}

static void same_string(const char *what, const char *ours, size_t len, json_t *v)
{
    if (!v || json_is_null(v)) {
        ck_assert_msg(ours == NULL, "%s: we read a value jansson has not", what);
        return;
    }
    ck_assert_msg(ours && len == json_string_length(v) && !memcmp(ours, json_string_value(v), len) && ours[len] == 0,
                  "%s differs", what);
}

static int compare(const char *buf, size_t len, long *accepted, long *ignored_dups)
{
    json_t *root;
    const char *why;
    schema_status want = reference(buf, len, &root, &why);
    schema_article a;
    char err[256];
    schema_status got = schema_json_parse_article(buf, len, &a, err, sizeof err);
    if (want != got && why && (strstr(why, "duplicate object key") || strstr(why, "NUL byte in object key")) &&
        got != SCHEMA_ERR_UNDECODABLE) {
        (*ignored_dups)++;          /* the documented difference */
        schema_article_clear(&a);
        return 0;
    }
    ck_assert_msg(want == got, "jansson says %s (%s), we say %s (%s) on: %.*s", schema_status_name(want),
                  why ? why : "-", schema_status_name(got), err, (int)(len > 300 ? 300 : len), buf);
    if (got == SCHEMA_OK) {
        (*accepted)++;
        json_t *id = json_object_get(root, "id");
        if (json_is_string(id)) same_string("id", a.id, a.id_len, id);
        else ck_assert_int_eq(strtoll(a.id, NULL, 10), json_integer_value(id));
        same_string("text", a.text, a.text_len, json_object_get(root, "text"));
        same_string("title", a.title, a.title_len, json_object_get(root, "title"));
        json_t *lang = json_object_get(root, "lang");     /* a C string in the API: up to a NUL */
        if (json_is_string(lang)) ck_assert_msg(a.lang && !strcmp(a.lang, json_string_value(lang)), "lang differs");
        else ck_assert_ptr_null(a.lang);
        same_string("source", a.source, a.source_len, json_object_get(root, "source"));
        same_string("url", a.url, a.url_len, json_object_get(root, "url"));
        json_t *pub = json_object_get(root, "published");
        ck_assert_int_eq(a.has_published, pub && !json_is_null(pub));
        if (json_is_integer(pub)) ck_assert_int_eq(a.published, json_integer_value(pub));
    }
    schema_article_clear(&a);
    json_decref(root);
    return 0;
}

static const char *const inserts[] = { "\\u0000", "\\ud83d\\ude00", "\\ud800", "\\udc00", "\xc3\xa9", "\xed\xa0\x80",
    "\xf4\x90\x80\x80", "\xc0\xaf", "\\", "\"", ",", ":", "{", "}", "[", "]", "1e999", "-0", "0.5", "18446744073709551616",
    "null", "true", "\"id\":", "\"text\":1,", "\"title\":null,", "\x01", "\t", " ", "\"published\":\"2024-05-01T12:00:00Z\"," };

START_TEST(agrees_with_jansson)
{
    const char *files[] = { DHATU_SOURCE_DIR "/data/arxiv_sample_500.jsonl",
                            DHATU_SOURCE_DIR "/../shared/corpora/nasty.jsonl" };
    char **lines = NULL;
    size_t *lens = NULL, n = 0;
    for (int fi = 0; fi < 2; fi++) {
        FILE *f = fopen(files[fi], "rb");
        if (!f) {
            printf("json: %s not found, skipped\n", files[fi]);
            continue;
        }
        lines_reader *r = lines_open(f, 1 << 26);
        const char *line;
        size_t len;
        uint64_t no, off;
        while (lines_next(r, &line, &len, &no, &off) == LINES_OK) {
            lines = realloc(lines, (n + 1) * sizeof *lines);
            lens = realloc(lens, (n + 1) * sizeof *lens);
            lines[n] = malloc(len + 1);
            memcpy(lines[n], line, len);
            lens[n++] = len;
        }
        lines_close(r);
        fclose(f);
    }
    ck_assert_uint_gt(n, 0);
    long accepted = 0, dups = 0, cases = 0;
    for (size_t i = 0; i < n; i++, cases++) compare(lines[i], lens[i], &accepted, &dups);
    long base_accepted = accepted;
    char *buf = malloc(1 << 20);
    for (long m = 0; m < 300000; m++, cases++) {
        size_t i = next() % n, len = lens[i] < 4000 ? lens[i] : 4000;   /* short prefixes keep it fast */
        memcpy(buf, lines[i], len);
        if (len < lens[i]) {                                            /* close what was cut, sometimes */
            if (next() & 1) buf[len++] = '"';
            buf[len++] = '}';
        }
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = len ? next() % len : 0;
            switch (next() % 4) {
            case 0: buf[at] = (char)(next() & 0xff); break;                           /* flip a byte */
            case 1: len = at; break;                                                 /* cut */
            case 2: {                                                                /* insert */
                const char *s = inserts[next() % (sizeof inserts / sizeof *inserts)];
                size_t k = strlen(s);
                memmove(buf + at + k, buf + at, len - at);
                memcpy(buf + at, s, k);
                len += k;
                break;
            }
            default:                                                                 /* duplicate a run */
                if (len > 0 && len < 8000) {
                    size_t from = next() % len, k = 1 + next() % 20;
                    if (from + k > len) k = len - from;
                    memmove(buf + at + k, buf + at, len - at);
                    memmove(buf + at, buf + (from >= at ? from + k : from), k);
                    len += k;
                }
            }
        }
        compare(buf, len, &accepted, &dups);
    }
    printf("json: %ld inputs (%zu lines, %ld accepted of them; 300000 mutations, %ld accepted), %ld ignored "
           "duplicate or NUL keys; jansson and ours agree on the rest\n",
           cases, n, base_accepted, accepted - base_accepted, dups);
    ck_assert_int_eq(base_accepted, (long)n);
    free(buf);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(lens);
}
END_TEST

/* Each byte that ends a plain run, at every offset of strings of 0 to 47
 * bytes (three 16-byte steps and the byte-wise tail), with 0 to 17 bytes
 * after the string: the parser and jansson agree on the verdict and the
 * text. */
START_TEST(every_stop_byte_at_every_offset)
{
    static const char *const stops[] = { "\\\"", "\\\\", "\\n", "\\u00e9", "\"", "\x01", "\x1f", "\x7f", "\xc3\xa9",
                                         "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80", "\xc3", "\xed\xa0\x80", " " };
    char buf[256];
    long cases = 0, accepted = 0, dups = 0;
    for (size_t k = 0; k < sizeof stops / sizeof *stops; k++)
        for (int len = 0; len < 48; len++)
            for (int at = 0; at <= len; at++)
                for (int tail = 0; tail < 18; tail += 17) {
                    int n = snprintf(buf, sizeof buf, "{\"id\":\"x\",\"text\":\"");
                    for (int i = 0; i < len; i++) buf[n++] = (char)('a' + i % 26);
                    size_t sl = strlen(stops[k]);
                    memmove(buf + n - len + at + sl, buf + n - len + at, (size_t)(len - at));
                    memcpy(buf + n - len + at, stops[k], sl);
                    n += (int)sl;
                    buf[n++] = '"';
                    for (int i = 0; i < tail; i++) buf[n++] = ' ';
                    buf[n++] = '}';
                    compare(buf, (size_t)n, &accepted, &dups);
                    cases++;
                }
    ck_assert_int_eq(dups, 0);
    ck_assert_int_gt(accepted, 0);
    ck_assert_int_lt(accepted, cases);   /* the invalid stops were refused */
}
END_TEST

/* The record writer's strings take the same scan: ids with a stop byte at
 * every offset read back through jansson as the same bytes, an id that is
 * not UTF-8 is refused, and schema_json_append_record adds after what is
 * there and leaves it as it was on an error. */
START_TEST(record_writer_scans_and_appends)
{
    static const char *const stops[] = { "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80", "\x80" };
    dhatu_record r;
    memset(&r, 0, sizeof r);
    r.dominant = -1;
    char id[64], err[128];
    dbuf out = { 0 }, many = { 0 };
    for (size_t k = 0; k < sizeof stops / sizeof *stops; k++)
        for (int len = 0; len < 40; len++)
            for (int at = 0; at <= len; at++) {
                size_t sl = strlen(stops[k]), n = 0;
                for (int i = 0; i < at; i++) id[n++] = (char)('A' + i % 26);
                memcpy(id + n, stops[k], sl);
                n += sl;
                for (int i = at; i < len; i++) id[n++] = (char)('a' + i % 26);
                size_t before = many.len;
                schema_status st = schema_json_append_record(id, n, "seed-1", &r, NULL, &many, err, sizeof err);
                if (stops[k][0] == '\x80') {      /* a lone continuation byte: not UTF-8 */
                    ck_assert_int_eq(st, SCHEMA_ERR_ENCODE);
                    ck_assert_uint_eq(many.len, before);
                    ck_assert_int_eq(schema_json_write_record(id, n, "seed-1", &r, NULL, &out, err, sizeof err),
                                     SCHEMA_ERR_ENCODE);
                    continue;
                }
                ck_assert_int_eq(st, SCHEMA_OK);
                ck_assert_int_eq(schema_json_write_record(id, n, "seed-1", &r, NULL, &out, err, sizeof err), SCHEMA_OK);
                ck_assert_uint_eq(many.len - before, out.len);
                ck_assert(!memcmp(many.data + before, out.data, out.len));
                json_error_t je;
                json_t *root = json_loadb(out.data, out.len, 0, &je);
                ck_assert_msg(root, "not JSON: %s", je.text);
                json_t *v = json_object_get(root, "id");
                ck_assert(json_is_string(v) && json_string_length(v) == n && !memcmp(json_string_value(v), id, n));
                json_decref(root);
            }
    dbuf_free(&out);
    dbuf_free(&many);
}
END_TEST

TL_MAIN("json", agrees_with_jansson, every_stop_byte_at_every_offset, record_writer_scans_and_appends)
