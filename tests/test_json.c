/* test_json.c -- the article parser (schemas/article_json.c) against
 * jansson, the strict parser it replaced: on every line of the shipped
 * sample and the nasty corpus, and on 300,000 mutations of them (bytes
 * flipped, cut, duplicated, escapes and UTF-8 sequences inserted), both
 * accept or both refuse, with the same class, and the fields read are
 * byte-equal. One documented difference: a duplicate of a key we ignore
 * (anywhere), or a NUL in such a key, is ignored here and refused by
 * jansson; the test recognises that case and checks the fields we read. */
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

TL_MAIN("json", agrees_with_jansson)
