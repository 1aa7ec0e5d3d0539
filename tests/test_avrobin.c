/* test_avrobin.c -- the direct Avro reader and writer of our own schemas
 * (schemas/avrobin.c) against Avro C, the oracle (a codec with
 * schema_codec_use_avro_c): the same bytes written for every article and
 * record of the corpora (records computed by the engine) and for generated
 * edge cases (empty and 1 MiB strings, NUL bytes, bytes that are not UTF-8,
 * every union branch, NaN with payloads, negative zero, infinities,
 * subnormals, the extremes of every integer), in both framings; and the
 * same verdict, message and fields when reading those bytes and 300,000
 * mutations of them. DHATU_CONFORMANCE_LIMIT caps the articles per corpus
 * (the sanitizer build). */
#include "testlib.h"
#include "lines.h"
#include "schema_avro.h"
#include "schema_json.h"
#include "dhatu.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ck_assert marks every passing check in a file; the hot paths here run
 * millions of them, so they fail through ck_abort_msg only. */
#define CHECK(expr, ...) do { if (!(expr)) ck_abort_msg(__VA_ARGS__); } while (0)

static uint64_t rng = 0xD1B54A32D192ED03ULL;
#define next() tl_xorshift(&rng)

static schema_codec *direct, *oracle;

static void codecs(void)
{
    char err[256];
    if (direct) return;
    ck_assert_msg(schema_codec_create(&direct, err, sizeof err) == SCHEMA_OK, "%s", err);
    ck_assert_msg(schema_codec_create(&oracle, err, sizeof err) == SCHEMA_OK, "%s", err);
    schema_codec_use_avro_c(oracle, 1);
    schema_codec_set_registry_ids(direct, 7, 300000);
    schema_codec_set_registry_ids(oracle, 7, 300000);
}

/* Each test (its own process under Check) frees what it made, so that the
 * sanitizers' leak check sees the codecs' Avro values released. */
static void codecs_done(void)
{
    schema_codec_destroy(direct);
    schema_codec_destroy(oracle);
    direct = oracle = NULL;
}

static void same_bytes(const dbuf *x, const dbuf *y, const char *what)
{
    size_t i = 0;
    while (i < x->len && i < y->len && x->data[i] == y->data[i]) i++;
    CHECK(x->len == y->len && i == x->len, "%s: direct %zu bytes, Avro C %zu, first difference at %zu", what,
                  x->len, y->len, i);
}

static void same_str(const char *what, const char *x, size_t xl, const char *y, size_t yl)
{
    CHECK((x == NULL) == (y == NULL), "%s: present in one only", what);
    if (!x) return;
    CHECK(xl == yl && !memcmp(x, y, xl), "%s differs", what);
    CHECK(x[xl] == '\0', "%s: no NUL after it", what);
}

/* Both codecs decode msg: the same status and message, the same fields. */
static schema_status decode_both(const void *msg, size_t len)
{
    schema_article a, b;
    char ea[256] = "", eb[256] = "";
    schema_status sa = schema_codec_decode_article(direct, msg, len, &a, ea, sizeof ea);
    schema_status sb = schema_codec_decode_article(oracle, msg, len, &b, eb, sizeof eb);
    CHECK(sa == sb, "direct says %s (%s), Avro C %s (%s)", schema_status_name(sa), ea,
                  schema_status_name(sb), eb);
    if (sa != SCHEMA_OK) {
        CHECK(!strcmp(ea, eb), "messages differ: direct \"%s\", Avro C \"%s\"", ea, eb);
        return sa;
    }
    same_str("id", a.id, a.id_len, b.id, b.id_len);
    same_str("title", a.title, a.title_len, b.title, b.title_len);
    same_str("text", a.text, a.text_len, b.text, b.text_len);
    same_str("lang", a.lang, a.lang ? strlen(a.lang) : 0, b.lang, b.lang ? strlen(b.lang) : 0);
    same_str("source", a.source, a.source_len, b.source, b.source_len);
    same_str("url", a.url, a.url_len, b.url, b.url_len);
    CHECK(a.has_published == b.has_published, "published present in one only");
    CHECK(!a.has_published || a.published == b.published, "published differs");
    schema_article_clear(&a);
    schema_article_clear(&b);
    return sa;
}

/* An article written by both codecs in both Avro framings: the same bytes,
 * read back the same by both. The single-object bytes stay in *keep. */
static void article_both(const schema_article *a, dbuf *keep)
{
    static const schema_format fmts[] = { SCHEMA_FMT_AVRO, SCHEMA_FMT_AVRO_REGISTRY };
    dbuf x = { 0 }, y = { 0 };
    char err[256];
    for (int f = 0; f < 2; f++) {
        CHECK(schema_codec_encode_article(direct, fmts[f], a, &x, err, sizeof err) == SCHEMA_OK, "%s", err);
        CHECK(schema_codec_encode_article(oracle, fmts[f], a, &y, err, sizeof err) == SCHEMA_OK, "%s", err);
        same_bytes(&x, &y, "article");
        if (f == 0) {
            schema_status st = decode_both(x.data, x.len);      /* an empty id is refused by both */
            CHECK(st == (a->id_len ? SCHEMA_OK : SCHEMA_ERR_INVALID), "our own article refused: %s", schema_status_name(st));
            if (keep) CHECK(dbuf_set(keep, x.data, x.len) == 0, "out of memory");
        }
    }
    dbuf_free(&x);
    dbuf_free(&y);
}

static void record_both(const char *id, size_t id_len, const char *model, const dhatu_record *r,
                        const schema_lineage *l)
{
    static const schema_format fmts[] = { SCHEMA_FMT_AVRO, SCHEMA_FMT_AVRO_REGISTRY };
    dbuf x = { 0 }, y = { 0 };
    char err[256];
    for (int f = 0; f < 2; f++) {
        CHECK(schema_codec_encode_record(direct, fmts[f], id, id_len, model, r, l, &x, err, sizeof err) ==
                      SCHEMA_OK, "%s", err);
        CHECK(schema_codec_encode_record(oracle, fmts[f], id, id_len, model, r, l, &y, err, sizeof err) ==
                      SCHEMA_OK, "%s", err);
        same_bytes(&x, &y, "record");
    }
    dbuf_free(&x);
    dbuf_free(&y);
}

static long limit(void)
{
    const char *s = getenv("DHATU_CONFORMANCE_LIMIT");
    return s ? atol(s) : -1;
}

enum { BATCH = 512 };

/* A batch of corpus articles: records from the engine (seed or lexicon,
 * alternately), then every article and record written and read by both. */
static void corpus_batch(dhatu_engine *e, dhatu_batch *b, schema_article *a, const uint64_t *no,
                         const uint64_t *off, size_t n, const char *model)
{
    static dhatu_record rec[BATCH];
    char err[256];
    dhatu_batch_reset(b);
    for (size_t i = 0; i < n; i++)
        CHECK(dhatu_batch_add(b, a[i].title, a[i].title_len, a[i].text, a[i].text_len, a[i].lang, err, sizeof err) ==
              DHATU_OK, "%s", err);
    CHECK(dhatu_engine_vectorize(e, b, rec, err, sizeof err) == DHATU_OK, "%s", err);
    for (size_t i = 0; i < n; i++) {
        article_both(&a[i], NULL);
        schema_lineage l = { "articles", (int32_t)(no[i] % 64), (int64_t)off[i], (int64_t)no[i] * 1000 - 1,
                             1765000000000 + (int64_t)no[i], "dhatu-consumer 0.2.0", "cpu",
                             a[i].lang, a[i].lang ? strlen(a[i].lang) : 0, a[i].source, a[i].source_len };
        record_both(a[i].id, a[i].id_len, model, &rec[i], &l);
        schema_article_clear(&a[i]);
    }
}

START_TEST(corpora_write_and_read_as_avro_c_does)
{
    codecs();
    static const char *const files[] = {
        DHATU_SOURCE_DIR "/data/arxiv_sample_500.jsonl",
        DHATU_SOURCE_DIR "/../shared/corpora/bbc_news_en.jsonl",
        DHATU_SOURCE_DIR "/../shared/corpora/arxiv_abstracts_en.jsonl",
        DHATU_SOURCE_DIR "/../shared/corpora/cligs_fiction19_fr.jsonl",
        DHATU_SOURCE_DIR "/../shared/corpora/nasty.jsonl" };
    FILE *lf = fopen(DHATU_SOURCE_DIR "/data/lexicon.txt", "rb");
    ck_assert_ptr_nonnull(lf);
    static char lexicon[1 << 22];
    lexicon[fread(lexicon, 1, sizeof lexicon - 1, lf)] = '\0';
    fclose(lf);
    dhatu_engine *eng[2] = { tl_engine("cpu", "seed", NULL), tl_engine("cpu", "lexicon", lexicon) };
    static const char *const models[2] = { "seed-1", "lexicon-2" };
    dhatu_batch *b[2];
    char err[256];
    for (int k = 0; k < 2; k++) ck_assert_msg(dhatu_batch_create(eng[k], &b[k], err, sizeof err) == DHATU_OK, "%s", err);
    static schema_article a[BATCH];
    static uint64_t nos[BATCH], offs[BATCH];
    long total = 0;
    int turn = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        FILE *f = fopen(files[i], "rb");
        ck_assert_msg(f != NULL, "cannot open %s (a corpus is part of the test machine)", files[i]);
        lines_reader *r = lines_open(f, 1 << 26);
        const char *line;
        size_t len, n = 0;
        uint64_t no, off;
        long count = 0;
        while (lines_next(r, &line, &len, &no, &off) == LINES_OK && (limit() < 0 || count < limit())) {
            if (schema_json_parse_article(line, len, &a[n], err, sizeof err) != SCHEMA_OK) continue; /* nasty.jsonl */
            nos[n] = no;
            offs[n] = off;
            count++;
            if (++n == BATCH) {
                corpus_batch(eng[turn], b[turn], a, nos, offs, n, models[turn]);
                turn ^= 1;
                n = 0;
            }
        }
        if (n) corpus_batch(eng[turn], b[turn], a, nos, offs, n, models[turn]);
        lines_close(r);
        fclose(f);
        ck_assert_msg(count > 0, "%s: no article read", files[i]);
        total += count;
    }
    fprintf(stderr, "avrobin: %ld articles and records of the corpora, the same bytes and fields as Avro C\n",
            total);
    for (int k = 0; k < 2; k++) {
        dhatu_batch_destroy(b[k]);
        dhatu_engine_destroy(eng[k]);
    }
    codecs_done();
}
END_TEST

/* Strings worth writing: empty, one byte, NULs inside, bytes that are not
 * UTF-8, a length at each varint boundary, 1 MiB. */
static size_t edge_string(char *buf, size_t cap)
{
    static const size_t lens[] = { 0, 1, 2, 63, 64, 127, 128, 8191, 8192, 16383, 16384, 1 << 20 };
    size_t n = lens[next() % (sizeof lens / sizeof *lens)];
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = next() % 8;
        buf[i] = k == 0 ? '\0' : k == 1 ? (char)(0x80 + next() % 128) : (char)('a' + next() % 26);
    }
    buf[n] = '\0';
    return n;
}

static double edge_double(void)
{
    static const uint64_t bits[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL,      /* +0, -0 */
        0x7ff0000000000000ULL, 0xfff0000000000000ULL,      /* +-inf */
        0x7ff8000000000000ULL, 0x7ff0000000000001ULL,      /* quiet NaN, signalling NaN */
        0xfff8dead0000beefULL, 0x0000000000000001ULL,      /* NaN with a payload, the least subnormal */
        0x000fffffffffffffULL, 0x7fefffffffffffffULL };    /* the largest subnormal, the largest finite */
    uint64_t u = next() % 3 ? bits[next() % (sizeof bits / sizeof *bits)] : next();
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int64_t edge_long(void)
{
    static const int64_t v[] = { 0, 1, -1, 63, 64, -64, -65, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN };
    return next() % 2 ? v[next() % (sizeof v / sizeof *v)] : (int64_t)next();
}

START_TEST(edge_records_write_as_avro_c_does)
{
    codecs();
    char *id = malloc(1 << 20), *topic = malloc(300), *model = malloc(300), *proc = malloc(300);
    char *lang = malloc(1 << 20), *src = malloc(300);
    ck_assert(id && topic && model && proc && lang && src);
    for (int t = 0; t < 20000; t++) {
        dhatu_record r;
        for (int i = 0; i < DHATU_NDHATU; i++) {
            r.weights[i] = edge_double();
            r.confidence[i] = edge_double();
            r.positive[i] = (uint32_t)edge_long();
            r.negative[i] = (uint32_t)edge_long();
            r.polarity[i] = (uint8_t)(next() % 4 ? next() % 3 : next());    /* out of range: written as none */
            r.intensity[i] = (uint8_t)next();
        }
        for (int i = 0; i < DHATU_NPRIMES; i++) r.prime_bases[i] = edge_double();
        r.ambiguity = edge_double();
        r.tokens = (uint64_t)edge_long();
        r.signature = (uint64_t)edge_long();
        r.dominant = (int8_t)(next() % 10) - 1;
        size_t id_len = edge_string(id, t % 50 ? 300 : 1 << 20);
        edge_string(topic, 300);
        edge_string(model, 300);
        edge_string(proc, 300);
        schema_lineage l = { topic, (int32_t)edge_long(), edge_long(), next() % 3 ? edge_long() : -1, edge_long(),
                             proc, t % 2 ? "cpu" : "", NULL, 0, NULL, 0 };
        /* lang and source (version 2): each null, or an edge string */
        if (next() % 3) {
            l.lang_len = edge_string(lang, t % 97 ? 300 : 1 << 20);
            l.lang = lang;
        }
        if (next() % 3) {
            l.source_len = edge_string(src, 300);
            l.source = src;
        }
        record_both(id, id_len, model, &r, &l);
    }
    free(id);
    free(topic);
    free(model);
    free(proc);
    free(lang);
    free(src);
    codecs_done();
}
END_TEST

/* Every union branch (title, lang, source, url, published: null or not) with
 * edge strings; then the bytes mutated, read by both. */
START_TEST(edge_articles_and_mutations_read_as_avro_c_does)
{
    codecs();
    enum { CAP = (1 << 20) + 1 };
    char *s[6];
    for (int i = 0; i < 6; i++) ck_assert_ptr_nonnull(s[i] = malloc(CAP));
    dbuf msg = { 0 }, m = { 0 };
    long verdicts[SCHEMA_NSTATUS] = { 0 };
    for (int t = 0; t < 3000; t++) {
        schema_article a = { 0 };
        size_t small = t % 100 ? 200 : CAP;
        a.id = s[0];
        a.id_len = edge_string(s[0], small);
        a.text = s[1];
        a.text_len = edge_string(s[1], small);
        unsigned opt = (unsigned)t % 32;            /* each combination of present optional fields */
        if (opt & 1) a.title = s[2], a.title_len = edge_string(s[2], small);
        if (opt & 2) a.lang = s[3], edge_string(s[3], 40);
        if (opt & 4) a.source = s[4], a.source_len = edge_string(s[4], small);
        if (opt & 8) a.url = s[5], a.url_len = edge_string(s[5], small);
        if (opt & 16) a.has_published = 1, a.published = edge_long();
        article_both(&a, &msg);
        /* 100 mutations of each: a byte changed, set to a varint's
         * continuation, cut short, or bytes added at the end. */
        for (int k = 0; k < (msg.len > 100000 ? 5 : 100); k++) {
            CHECK(dbuf_set(&m, msg.data, msg.len) == 0, "out of memory");
            size_t at = 10 /* C3 01 + fingerprint */ + (size_t)(next() % (m.len - 10 /* C3 01 + fingerprint */ + 1));
            switch (next() % 5) {
            case 0: if (at < m.len) m.data[at] = (char)next(); break;
            case 1: if (at < m.len) m.data[at] = (char)0xff; break;
            case 2: if (at < m.len) m.data[at] ^= (char)(1u << (next() % 8)); break;
            case 3: dbuf_setlen(&m, at); break;
            default: CHECK(dbuf_append(&m, "\x02\x00\xff", 1 + next() % 3) == 0, "out of memory");
            }
            verdicts[decode_both(m.data, m.len)]++;
        }
    }
    fprintf(stderr, "avrobin: mutated articles read the same by both: %ld ok, %ld undecodable, %ld invalid\n",
            verdicts[SCHEMA_OK], verdicts[SCHEMA_ERR_UNDECODABLE], verdicts[SCHEMA_ERR_INVALID]);
    ck_assert_int_gt(verdicts[SCHEMA_OK], 0);
    ck_assert_int_gt(verdicts[SCHEMA_ERR_UNDECODABLE], 0);
    ck_assert_int_gt(verdicts[SCHEMA_ERR_INVALID], 0);
    for (int i = 0; i < 6; i++) free(s[i]);
    dbuf_free(&msg);
    dbuf_free(&m);
    codecs_done();
}
END_TEST

/* Our own schema behind the Confluent framing (a registry that has it as
 * id 1): the direct reader there too, the same as Avro C. */
static schema_status our_schema(void *ctx, uint32_t id, const char **json, size_t *len, char *err, size_t n)
{
    (void)ctx;
    (void)err;
    (void)n;
    if (id != 1) return SCHEMA_ERR_UNKNOWN_SCHEMA;
    *json = schema_article_avsc_text;
    *len = strlen(*json);
    return SCHEMA_OK;
}

START_TEST(registry_framed_articles_read_as_avro_c_does)
{
    codecs();
    schema_codec_set_lookup(direct, our_schema, NULL);
    schema_codec_set_lookup(oracle, our_schema, NULL);
    schema_codec_set_registry_ids(direct, 1, 2);
    char err[256];
    dbuf msg = { 0 };
    schema_article a = { .id = "a-1", .id_len = 3, .text = "Il pleut.", .text_len = 9, .lang = "fr",
                         .published = -5, .has_published = 1 };
    ck_assert_int_eq(schema_codec_encode_article(direct, SCHEMA_FMT_AVRO_REGISTRY, &a, &msg, err, sizeof err),
                     SCHEMA_OK);
    long ok = 0;
    for (int k = 0; k < 20000; k++) {
        dbuf m = { 0 };
        CHECK(dbuf_set(&m, msg.data, msg.len) == 0, "out of memory");
        if (k) {
            size_t at = 5 + (size_t)(next() % (m.len - 5));
            m.data[at] = (char)next();
            if (next() % 4 == 0) dbuf_setlen(&m, at);
        }
        ok += decode_both(m.data, m.len) == SCHEMA_OK;
        dbuf_free(&m);
    }
    ck_assert_int_gt(ok, 1);
    schema_codec_set_lookup(direct, NULL, NULL);
    schema_codec_set_lookup(oracle, NULL, NULL);
    dbuf_free(&msg);
    codecs_done();
}
END_TEST

TL_MAIN("avrobin", corpora_write_and_read_as_avro_c_does, edge_records_write_as_avro_c_does,
        edge_articles_and_mutations_read_as_avro_c_does, registry_framed_articles_read_as_avro_c_does)
