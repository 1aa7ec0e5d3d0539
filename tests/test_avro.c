/* test_avro.c -- the wire formats: Parsing Canonical Form and CRC-64-AVRO
 * fingerprints against the Java reference implementation's values, article
 * and record round trips in Avro and JSON, and the classification of what
 * cannot be decoded (the dead-letter error classes). */
#include "testlib.h"
#include "schema_avro.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

START_TEST(canonical_forms_and_fingerprints_match_the_reference)
{
    FILE *f = fopen(DHATU_SOURCE_DIR "/tests/data/avro_fingerprints.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    int checked = 0;
    char err[256];
    dbuf canon = { 0 };
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char name[512], hex[32];
        int used = 0;
        ck_assert_int_eq(sscanf(line, "%511s %31s %n", name, hex, &used), 2);
        char *pcf = line + used;
        pcf[strcspn(pcf, "\n")] = '\0';
        char *schema = name[0] == '"' ? strdup(name)
                                      : slurp(strcat(strcpy((char[1024]){ 0 }, DHATU_SOURCE_DIR "/"), name));
        ck_assert_msg(schema_avro_canonical(schema, strlen(schema), &canon, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(canon.len == strlen(pcf) && !memcmp(canon.data, pcf, canon.len), "%s:\n%.*s\n%s", name,
                      (int)canon.len, canon.data, pcf);
        char got[32];
        snprintf(got, sizeof got, "%016llx", (unsigned long long)schema_avro_crc64(canon.data, canon.len));
        ck_assert_str_eq(got, hex);
        free(schema);
        checked++;
    }
    fclose(f);
    ck_assert_int_eq(checked, 6);
    schema_codec *c = NULL;
    ck_assert_msg(schema_codec_create(&c, err, sizeof err) == SCHEMA_OK, "%s", err);
    ck_assert_uint_eq(schema_codec_article_fingerprint(c), 0x65e21e84d0a7cc3eULL);
    ck_assert_uint_eq(schema_codec_record_fingerprint(c), 0x0a3bed0bddfbd17aULL);     /* version 2 */
    ck_assert_uint_eq(schema_codec_record_v1_fingerprint(c), 0xf7b07f711db93038ULL);
    schema_codec_destroy(c);
    dbuf_free(&canon);
}
END_TEST

static void check_article_roundtrip(schema_codec *c, schema_format fmt)
{
    static const char text[] = "It is possible\0that \xe2\x88\x84 x";   /* a NUL inside */
    schema_article a;
    memset(&a, 0, sizeof a);
    a.id = "art-1";
    a.id_len = 5;
    a.text = text;
    a.text_len = sizeof text - 1;
    a.title = "";
    a.lang = "en";
    a.url = "https://example.org/a";
    a.url_len = strlen(a.url);
    a.published = 1714564800123;
    a.has_published = 1;
    dbuf out = { 0 };
    char err[256];
    ck_assert_msg(schema_codec_encode_article(c, fmt, &a, &out, err, sizeof err) == 0, "%s", err);
    if (fmt == SCHEMA_FMT_AVRO) {
        ck_assert_uint_eq((unsigned char)out.data[0], 0xC3);
        ck_assert_uint_eq((unsigned char)out.data[1], 0x01);
        ck_assert_uint_eq((unsigned char)out.data[2], 0x3e);   /* fingerprint, little-endian */
    } else {
        ck_assert_int_eq(out.data[0], '{');
    }
    schema_article b;
    ck_assert_msg(schema_codec_decode_article(c, out.data, out.len, &b, err, sizeof err) == SCHEMA_OK, "%s", err);
    ck_assert_uint_eq(b.id_len, 5);
    ck_assert_str_eq(b.id, "art-1");
    ck_assert_uint_eq(b.text_len, sizeof text - 1);
    ck_assert_mem_eq(b.text, text, sizeof text - 1);
    ck_assert_ptr_nonnull(b.title);
    ck_assert_uint_eq(b.title_len, 0);
    ck_assert_str_eq(b.lang, "en");
    ck_assert_ptr_null(b.source);
    ck_assert_str_eq(b.url, "https://example.org/a");
    ck_assert(b.has_published);
    ck_assert_int_eq(b.published, 1714564800123);
    schema_article_clear(&b);
    dbuf_free(&out);
}

START_TEST(articles_round_trip_in_both_formats)
{
    char err[256];
    schema_codec *c = NULL;
    ck_assert_int_eq(schema_codec_create(&c, err, sizeof err), SCHEMA_OK);
    check_article_roundtrip(c, SCHEMA_FMT_AVRO);
    check_article_roundtrip(c, SCHEMA_FMT_JSON);
    schema_codec_destroy(c);
}
END_TEST

START_TEST(records_in_avro_decode_to_the_json_form)
{
    char err[256];
    schema_codec *c = NULL;
    ck_assert_msg(schema_codec_create(&c, err, sizeof err) == SCHEMA_OK, "%s", err);
    dhatu_record r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < DHATU_NDHATU; i++) {
        r.weights[i] = i / 36.0;
        r.confidence[i] = i * 0.1;
        r.positive[i] = (uint32_t)i;
        r.negative[i] = (uint32_t)(9 - i);
        r.polarity[i] = (uint8_t)(i % 3);
        r.intensity[i] = (uint8_t)(i % 5);
    }
    for (int k = 0; k < DHATU_NPRIMES; k++) r.prime_bases[k] = 1e9 * k + 0.5;
    r.ambiguity = 0.731;
    r.tokens = 123456789012ULL;
    r.signature = 30ULL * 30 * 30 * 30 * 30 * 30 * 30 * 30 * 30 - 1;
    r.dominant = 8;
    schema_lineage l = { "articles", 7, 1234567890123LL, 1714564800000LL, 1714564801000LL, "dhatu-consumer x", "cpu",
                         "fr", 2, "le-monde", 8 };
    dbuf avro = { 0 }, json = { 0 }, back = { 0 };
    for (int dom = 8; dom >= -1; dom -= 9) {
        r.dominant = (int8_t)dom;
        l.timestamp = dom < 0 ? -1 : l.timestamp;
        if (dom < 0) l.lang = l.source = NULL;          /* the second round: an article without them */
        ck_assert_int_eq(schema_codec_encode_record(c, SCHEMA_FMT_AVRO, "id-9", 4, "lexicon-1", &r, &l, &avro, err,
                                                    sizeof err), 0);
        ck_assert_int_eq(schema_codec_encode_record(c, SCHEMA_FMT_JSON, "id-9", 4, "lexicon-1", &r, &l, &json, err,
                                                    sizeof err), 0);
        ck_assert_msg(schema_codec_record_to_json(c, avro.data, avro.len, &back, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(back.len == json.len && !memcmp(back.data, json.data, json.len), "\n%.*s\n%.*s",
                      (int)back.len, back.data, (int)json.len, json.data);
    }
    ck_assert_ptr_nonnull(strstr(json.data, "\"lineage\":{\"topic\":\"articles\",\"partition\":7"));
    ck_assert_ptr_nonnull(strstr(json.data, "\"timestamp\":null"));
    ck_assert_ptr_nonnull(strstr(json.data, "\"dominant\":null"));
    ck_assert_ptr_nonnull(strstr(json.data, "\"backend\":\"cpu\"},\"lang\":null,\"source\":null}"));
    /* A record written with version 1 of the schema (before lang and
     * source): version 2 is version 1 plus two trailing ["null", string]
     * fields, so a version-2 datum with both null is a version-1 datum
     * followed by two zero bytes (the null branches). Framed with version
     * 1's fingerprint, it reads back as the same record, lang and source
     * null; a version-2 fingerprint on those bytes is refused as corrupt. */
    uint64_t fp1 = schema_codec_record_v1_fingerprint(c);
    ck_assert(fp1 != schema_codec_record_fingerprint(c));
    ck_assert_int_eq(avro.data[avro.len - 1], 0);
    ck_assert_int_eq(avro.data[avro.len - 2], 0);
    avro.len -= 2;
    ck_assert_int_eq(schema_codec_record_to_json(c, avro.data, avro.len, &back, err, sizeof err),
                     SCHEMA_ERR_UNDECODABLE);
    for (int i = 0; i < 8; i++) avro.data[2 + i] = (char)(fp1 >> (8 * i));
    ck_assert_msg(schema_codec_record_to_json(c, avro.data, avro.len, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(back.len == json.len && !memcmp(back.data, json.data, json.len), "\n%.*s\n%.*s",
                  (int)back.len, back.data, (int)json.len, json.data);
    dbuf_free(&avro);
    dbuf_free(&json);
    dbuf_free(&back);
    schema_codec_destroy(c);
}
END_TEST

START_TEST(undecodable_messages_are_classified)
{
    char err[256];
    schema_codec *c = NULL;
    ck_assert_msg(schema_codec_create(&c, err, sizeof err) == SCHEMA_OK, "%s", err);
    schema_article a, good;
    memset(&good, 0, sizeof good);
    good.id = "x";
    good.id_len = 1;
    good.text = "t";
    good.text_len = 1;
    dbuf ok = { 0 };
    ck_assert_int_eq(schema_codec_encode_article(c, SCHEMA_FMT_AVRO, &good, &ok, err, sizeof err), 0);
    char buf[256];
    struct { const void *p; size_t n; schema_status want; const char *msg; } cases[] = {
        { "", 0, SCHEMA_ERR_UNDECODABLE, "empty" },
        { NULL, 0, SCHEMA_ERR_UNDECODABLE, "empty" },
        { "plain text", 10, SCHEMA_ERR_UNDECODABLE, "neither" },
        { "[1,2]", 5, SCHEMA_ERR_UNDECODABLE, "neither" },
        { "{\"id\":1", 7, SCHEMA_ERR_UNDECODABLE, "invalid JSON" },
        { " {\"id\":1}", 9, SCHEMA_ERR_INVALID, "text" },
        { "{\"id\":true,\"text\":\"a\"}", 22, SCHEMA_ERR_INVALID, "id" },
        { "{\"id\":\"a\",\"text\":\"b\",\"published\":\"yesterday\"}", 45, SCHEMA_ERR_INVALID, "RFC 3339" },
        { "\x00\x00\x00\x00\x2a", 5, SCHEMA_ERR_REGISTRY, "schema id 42" },
        { "\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08\x00", 11, SCHEMA_ERR_WRONG_SCHEMA, "fingerprint" },
        { "\xc3\x01\x3e", 3, SCHEMA_ERR_UNDECODABLE, "truncated" },
        { ok.data, ok.len - 1, SCHEMA_ERR_UNDECODABLE, "corrupt" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        schema_status f = schema_codec_decode_article(c, cases[i].p, cases[i].n, &a, err, sizeof err);
        ck_assert_msg(f == cases[i].want, "case %zu: got %s (%s)", i, schema_status_name(f), err);
        ck_assert_msg(strstr(err, cases[i].msg), "case %zu: message %s", i, err);
    }
    /* Hostile lengths with our own fingerprint: negative, and far past the end. */
    static const unsigned char lens[][6] = { { 2, 0x7f, 0x01 }, { 5, 0xfe, 0xff, 0xff, 0xff, 0x0f } };
    for (int k = 0; k < 2; k++) {
        memcpy(buf, ok.data, 10);
        memcpy(buf + 10, lens[k] + 1, lens[k][0]);
        ck_assert_int_eq(schema_codec_decode_article(c, buf, 10 + lens[k][0], &a, err, sizeof err),
                         SCHEMA_ERR_UNDECODABLE);
        ck_assert_ptr_nonnull(strstr(err, "does not fit"));
    }
    memcpy(buf, ok.data, ok.len);
    buf[ok.len] = 0;
    ck_assert_int_eq(schema_codec_decode_article(c, buf, ok.len + 1, &a, err, sizeof err), SCHEMA_ERR_UNDECODABLE);
    ck_assert_ptr_nonnull(strstr(err, "trailing"));
    ck_assert_int_eq(schema_codec_decode_article(c, ok.data, ok.len, &a, err, sizeof err), SCHEMA_OK);
    ck_assert_str_eq(schema_status_name(SCHEMA_ERR_REGISTRY), "schema-registry");
    dbuf_free(&ok);
    schema_codec_destroy(c);
}
END_TEST

/* Random byte flips, truncations and extensions of valid messages never
 * crash the decoder (run under ASan/UBSan in CI), and never yield an
 * article without an id and a text. */
START_TEST(mutated_messages_never_crash)
{
    char err[256];
    schema_codec *c = NULL;
    ck_assert_msg(schema_codec_create(&c, err, sizeof err) == SCHEMA_OK, "%s", err);
    schema_article good, a;
    memset(&good, 0, sizeof good);
    good.id = "mutant";
    good.id_len = 6;
    good.text = "It is possible that the cause was decided.";
    good.text_len = strlen(good.text);
    good.title = "t";
    good.title_len = 1;
    good.lang = "en";
    dbuf msg[2] = { { 0 }, { 0 } }, json = { 0 };
    ck_assert_int_eq(schema_codec_encode_article(c, SCHEMA_FMT_AVRO, &good, &msg[0], err, sizeof err), 0);
    ck_assert_int_eq(schema_codec_encode_article(c, SCHEMA_FMT_JSON, &good, &msg[1], err, sizeof err), 0);
    unsigned char buf[512];
    unsigned seed = 12345;
    int decoded = 0;
    for (int iter = 0; iter < 40000; iter++) {
        const dbuf *m = &msg[iter & 1];
        size_t len = m->len;
        memcpy(buf, m->data, len);
        int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = 2 + (seed >> 8) % (len - 2);       /* keep the format's first bytes */
            buf[at] = (unsigned char)(seed >> 20);
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 5 == 0) len = 2 + (seed >> 4) % (len - 2);
        if (schema_codec_decode_article(c, buf, len, &a, err, sizeof err) == SCHEMA_OK) {
            ck_assert_ptr_nonnull(a.id);
            ck_assert_ptr_nonnull(a.text);
            ck_assert_uint_gt(a.id_len, 0);
            decoded++;
            schema_article_clear(&a);
        }
    }
    ck_assert_int_gt(decoded, 0);          /* some mutations stay valid (text bytes) */
    dbuf_free(&msg[0]);
    dbuf_free(&msg[1]);
    dbuf_free(&json);
    schema_codec_destroy(c);
}
END_TEST

START_TEST(rfc3339_times)
{
    int64_t ms;
    ck_assert_int_eq(schema_parse_rfc3339("1970-01-01T00:00:00Z", 20, &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(schema_parse_rfc3339("2024-05-01T12:00:00.123+02:00", 29, &ms), 0);
    ck_assert_int_eq(ms, 1714557600123);
    ck_assert_int_eq(schema_parse_rfc3339("2000-02-29T23:59:59Z", 20, &ms), 0);
    ck_assert_int_eq(ms, 951868799000);
    ck_assert_int_eq(schema_parse_rfc3339("2024-13-01T00:00:00Z", 20, &ms), SCHEMA_ERR_INVALID);
    ck_assert_int_eq(schema_parse_rfc3339("2024-05-01", 10, &ms), SCHEMA_ERR_INVALID);
    ck_assert_int_eq(schema_parse_rfc3339("2024-05-01T00:00:00", 19, &ms), SCHEMA_ERR_INVALID);   /* no zone */
}
END_TEST

TL_MAIN("avro",
        canonical_forms_and_fingerprints_match_the_reference,
        articles_round_trip_in_both_formats,
        records_in_avro_decode_to_the_json_form,
        undecodable_messages_are_classified,
        mutated_messages_never_crash,
        rfc3339_times)
