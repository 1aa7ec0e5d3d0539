/* test_conformance.c -- any backend against the cpu-ref oracle.
 *
 * usage: test_conformance BACKEND builtin SAMPLE.jsonl
 *        test_conformance BACKEND corpora DIR     (exit 77 = skipped: DIR absent)
 * "builtin" runs generated edge cases (token soup built from the lexicon's
 * hardest terms, every kind of separator, invalid bytes, NUL, long texts)
 * and the shipped sample; "corpora" runs every *.jsonl corpus of the shared
 * corpus folder. Both models. Counts, tokens, dominant, polarity, intensity
 * and signature must be equal; floats within 1e-6 (relative above 1).
 * DHATU_CONFORMANCE_LIMIT caps the articles read per corpus file (the
 * sanitizer build sets it). GPU backends run this file unchanged.
 */
#include "testlib.h"
#include "articles.h"
#include "schema_json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *backend;
static const char *mode;
static const char *where;

typedef struct article { char *text; size_t len; char *title; size_t title_len; char lang[16]; int has_lang; char id[64]; } article;
typedef struct corpus { article *a; size_t n, cap; } corpus;

static void corpus_add(corpus *c, const char *id, const char *title, size_t tl, const char *text, size_t len,
                       const char *lang)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->a = realloc(c->a, c->cap * sizeof *c->a);
        ck_assert_ptr_nonnull(c->a);
    }
    article *a = &c->a[c->n++];
    memset(a, 0, sizeof *a);
    a->text = malloc(len ? len : 1);
    if (len) memcpy(a->text, text, len);
    a->len = len;
    if (title) {
        a->title = malloc(tl + 1);
        memcpy(a->title, title, tl);
        a->title_len = tl;
    }
    if (lang) { snprintf(a->lang, sizeof a->lang, "%s", lang); a->has_lang = 1; }
    snprintf(a->id, sizeof a->id, "%s", id);
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) { free(c->a[i].text); free(c->a[i].title); }
    free(c->a);
    memset(c, 0, sizeof *c);
}

static size_t limit(void)
{
    const char *s = getenv("DHATU_CONFORMANCE_LIMIT");
    return s && *s ? (size_t)strtoull(s, NULL, 10) : (size_t)-1;
}

typedef struct loading { corpus *c; size_t max; } loading;

static articles_verdict keep(void *ctx, const articles_where *w, const schema_article *a, char *why, size_t wn)
{
    (void)w, (void)why, (void)wn;
    loading *l = ctx;
    corpus_add(l->c, a->id, a->title, a->title_len, a->text, a->text_len, a->lang);
    return l->c->n >= l->max ? ARTICLE_STOP : ARTICLE_TAKEN;
}

/* A corpus must read cleanly: any bad line fails the run, with its place. */
static void bad_line(void *ctx, const char *msg)
{
    (void)ctx;
    ck_abort_msg("%s", msg);
}

static void load_jsonl(corpus *c, const char *path)
{
    loading l = { c, limit() };
    articles_opts o = { (size_t)128 << 20, 0, keep, bad_line, &l };
    articles_counts n = { 0, 0 };
    char err[512], *files[1] = { (char *)path };
    ck_assert_msg(articles_read_files(files, 1, &o, &n, err, sizeof err) != ARTICLES_FAILED, "%s", err);
}

/* ---- generated edge cases ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static const char *const pieces[] = {
    "not", "possible", "not possible", "impossible", "can", "can't", "can\xE2\x80\x99t", "cannot", "there",
    "is", "there is", "no such", "step-by-step", "step", "by", "for each", "with respect to", "in terms",
    "relation", "relationship", "relat", "correlate", "il y a", "parce que", "D\xC3\x89" "CISION",
    "de\xCC\x81" "cision", "n'existe pas", "peut-\xC3\xAA" "tre", "ne peut", "\xC3\xA0 nouveau",
    "\xE2\x86\x92", "\xE2\x88\x84", "\xE2\x88\x83", "\xE2\x89\xA4", "\xE2\x9F\xB9", "=\xCC\xB8",
    " ", " ", " ", "  ", ", ", ".", "-", "'", "\xE2\x80\x99", "\n", "\r\n", "\t", "\xC2\xA0",
    "\xE2\x80\xA8", "\xC2\x85", "\xC2\xAD", "\xE2\x80\x8B", "\xE2\x80\x8D", "\xCC\x81", "\xEF\xBB\xBF",
    "\xFF", "\xC3", "\xE2\x82", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC0\x80",
    "\xF0\x9F\x98\x80", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", "\xE4\xB8\xAD\xE6\x96\x87", "\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A",
    "x", "the", "and", "a", "123", "\xC5\x92" "UVRE", "\xCE\xA3\xCE\xBF\xCF\x86\xCE\xAF\xCE\xB1",
};
#define NPIECES (sizeof pieces / sizeof pieces[0])
static const char *const langs[] = { NULL, "en", "fr", "fr-CA", "ar", "und", "zxx", "EN", "" };

static void generate(corpus *c, size_t count)
{
    char *buf = malloc(1 << 20);
    for (size_t i = 0; i < count; i++) {
        size_t len = 0, npieces = next_rand() % 60;
        if (i % 97 == 0) npieces = 5000 + next_rand() % 5000; /* some long ones */
        for (size_t k = 0; k < npieces && len < (1 << 20) - 64; k++) {
            const char *p = pieces[next_rand() % NPIECES];
            size_t pl = strlen(p);
            memcpy(buf + len, p, pl);
            len += pl;
            if (next_rand() % 16 == 0) buf[len++] = '\0';                /* NUL bytes */
            if (next_rand() % 32 == 0) buf[len++] = (char)(next_rand()); /* a random byte */
        }
        char id[32];
        snprintf(id, sizeof id, "gen-%zu", i);
        corpus_add(c, id, (i % 5 == 0) ? "not" : NULL, 3, buf, len, langs[next_rand() % 9]);
    }
    for (size_t i = 0; i < count / 10; i++) { /* raw random bytes */
        size_t len = next_rand() % 512;
        for (size_t k = 0; k < len; k++) buf[k] = (char)next_rand();
        char id[32];
        snprintf(id, sizeof id, "rand-%zu", i);
        corpus_add(c, id, NULL, 0, buf, len, NULL);
    }
    free(buf);
}

/* Word soup from the built-in lexicon's own words (DHATU_LEXICON_TXT, set
 * by CMake): as written, cut short, run on, in random case, stretched to
 * the 32-byte edge of the cpu backend's word keys, followed by accents, and
 * laid across its 64-byte blocks by articles of every length. The places
 * where a whole-word look-up could part from the byte-by-byte walk. */
static void generate_words(corpus *c, size_t count)
{
    FILE *f = fopen(DHATU_LEXICON_TXT, "rb");
    ck_assert_msg(f != NULL, "%s: cannot open", DHATU_LEXICON_TXT);
    char line[512], *words[4096];
    size_t nwords = 0;
    while (fgets(line, sizeof line, f) && nwords < 4096) {
        if (line[0] == '#') continue;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        for (int field = 0; tok; field++, tok = strtok_r(NULL, " \t\r\n", &save)) {
            if (field < 3 || nwords == 4096) continue; /* LANG DHATU SIGN, then the term's words */
            size_t l = strlen(tok);
            if (l && tok[l - 1] == '*') tok[--l] = '\0';
            if (l) words[nwords++] = strdup(tok);
        }
    }
    fclose(f);
    ck_assert_uint_gt(nwords, 100);
    static const char *const gaps[] = { " ", " ", " ", " ", ", ", ". ", "-", "'", "\n", "  ", ";",
                                        "\xE2\x80\x99", "\xC2\xA0", "\xC2\xAD", "\xC3\xA9 ", "\xCC\x81 " };
    char *buf = malloc(1 << 16);
    for (size_t i = 0; i < count; i++) {
        size_t len = 0, target = next_rand() % (i % 50 == 0 ? 8000 : 400);
        while (len < target) {
            const char *w = words[next_rand() % nwords];
            size_t wl = strlen(w), cut = wl;
            uint32_t r = next_rand();
            if (r % 5 == 0 && wl > 1) cut = 1 + next_rand() % (wl - 1);      /* cut short */
            memcpy(buf + len, w, cut);
            size_t start = len;
            len += cut;
            if (r % 7 == 0) {                                                /* run on */
                size_t more = r % 49 == 0 ? 20 + next_rand() % 16 : 1 + next_rand() % 5;
                for (size_t k = 0; k < more; k++) buf[len++] = (char)('a' + next_rand() % 26);
            }
            if (r % 3 == 0)                                                  /* random case */
                for (size_t k = start; k < len; k++)
                    if (next_rand() % 2 && buf[k] >= 'a' && buf[k] <= 'z') buf[k] = (char)(buf[k] - 32);
            const char *g = gaps[next_rand() % (sizeof gaps / sizeof gaps[0])];
            memcpy(buf + len, g, strlen(g));
            len += strlen(g);
        }
        char id[32];
        snprintf(id, sizeof id, "words-%zu", i);
        corpus_add(c, id, NULL, 0, buf, len, langs[next_rand() % 9]);
    }
    free(buf);
    for (size_t k = 0; k < nwords; k++) free(words[k]);
}

/* Vectorizes c on the backend under test and on cpu-ref; compares all.
 * The backend under test runs asynchronously: batches of 256 articles,
 * NFLIGHT of them submitted before the first is collected, collected
 * newest first (out of order); cpu-ref runs each batch synchronously. */
#define NFLIGHT 4
typedef struct flight {
    dhatu_batch *b, *rb;
    dhatu_record *out, *ref;
    dhatu_ticket t;
    size_t first, n;
} flight;

static void conform(const char *what, const corpus *c, const char *model)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.model = model;
    cfg.batch_max_articles = 256;
    cfg.max_in_flight = NFLIGHT;
    char err[256];
    dhatu_engine *e, *ref = tl_engine("cpu-ref", model, NULL);
    ck_assert_msg(dhatu_engine_create(&cfg, &e, err, sizeof err) == DHATU_OK, "%s", err);
    flight fl[NFLIGHT];
    for (int j = 0; j < NFLIGHT; j++) {
        ck_assert(dhatu_batch_create(e, &fl[j].b, err, sizeof err) == DHATU_OK);
        ck_assert(dhatu_batch_create(ref, &fl[j].rb, err, sizeof err) == DHATU_OK);
        fl[j].out = tl_records_new(cfg.batch_max_articles);
        fl[j].ref = tl_records_new(cfg.batch_max_articles);
        fl[j].t = 0;
    }
    size_t first = 0, done = 0, submitted = 0;
    int j = 0;          /* the flight being filled */
    for (size_t i = 0; i <= c->n; i++) {
        flight *f = &fl[j];
        dhatu_status st = DHATU_ERR_FULL;
        if (i < c->n) {
            const article *a = &c->a[i];
            const char *lang = a->has_lang ? a->lang : NULL;
            st = dhatu_batch_add(f->b, a->title, a->title_len, a->text, a->len, lang, err, sizeof err);
            if (st == DHATU_OK) {
                ck_assert(dhatu_batch_add(f->rb, a->title, a->title_len, a->text, a->len, lang, err, sizeof err) == DHATU_OK);
                continue;
            }
            ck_assert_msg(st == DHATU_ERR_FULL, "%s: %s: %s", what, a->id, err);
        }
        f->first = first;
        f->n = dhatu_batch_count(f->b);
        first += f->n;
        ck_assert_msg(dhatu_engine_submit(e, f->b, f->out, &f->t, err, sizeof err) == DHATU_OK, "%s", err);
        submitted++;
        ck_assert_msg(dhatu_engine_vectorize(ref, f->rb, f->ref, err, sizeof err) == DHATU_OK, "%s", err);
        j = (j + 1) % NFLIGHT;
        if (submitted % NFLIGHT == 0 || i == c->n) {
            /* Every flight is out (or the corpus ended): one more submit
             * is refused, then all are collected, newest first. */
            if (submitted % NFLIGHT == 0) {
                dhatu_ticket extra;
                ck_assert_int_eq(dhatu_engine_submit(e, fl[j].b, fl[j].out, &extra, err, sizeof err), DHATU_ERR_BUSY);
            }
            for (int k = NFLIGHT - 1; k >= 0; k--) {
                flight *g = &fl[(j + k) % NFLIGHT];
                if (!g->t) continue;
                ck_assert_msg(dhatu_engine_wait(e, g->t, err, sizeof err) == DHATU_OK, "%s", err);
                ck_assert_int_eq(dhatu_engine_poll(e, g->t, err, sizeof err), DHATU_ERR_ARG);   /* released */
                tl_records_check(g->out, backend);
                tl_records_check(g->ref, "cpu-ref");
                for (size_t m = 0; m < g->n; m++) tl_record_expect(&g->out[m], &g->ref[m], what, c->a[g->first + m].id);
                done += g->n;
                g->t = 0;
                dhatu_batch_reset(g->b);
                dhatu_batch_reset(g->rb);
            }
            ck_assert_int_eq(dhatu_engine_in_flight(e), 0);
        }
        if (i < c->n) i--; /* retry this article in the next, empty batch */
    }
    ck_assert_uint_eq(done, c->n);
    printf("conformance %s (asynchronous, %d batches in flight) vs cpu-ref: %s, model %s: %zu articles equal\n",
           backend, NFLIGHT, what, model, c->n);
    for (int k = 0; k < NFLIGHT; k++) {
        tl_records_free(fl[k].out, backend);
        tl_records_free(fl[k].ref, "cpu-ref");
        dhatu_batch_destroy(fl[k].b);
        dhatu_batch_destroy(fl[k].rb);
    }
    dhatu_engine_destroy(e);
    dhatu_engine_destroy(ref);
}

START_TEST(generated_edge_cases)
{
    corpus c = { 0 };
    generate(&c, getenv("DHATU_CONFORMANCE_LIMIT") ? 2000 : 10000);
    generate_words(&c, getenv("DHATU_CONFORMANCE_LIMIT") ? 2000 : 10000);
    conform("generated", &c, "lexicon");
    conform("generated", &c, "seed");
    corpus_free(&c);
}
END_TEST

START_TEST(jsonl_corpus)
{
    const char *path = where;
    corpus c = { 0 };
    load_jsonl(&c, path);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    conform(name, &c, "lexicon");
    conform(name, &c, "seed");
    corpus_free(&c);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[2], "builtin") && strcmp(argv[2], "corpus"))) {
        fprintf(stderr, "usage: %s BACKEND builtin SAMPLE.jsonl | BACKEND corpus FILE.jsonl\n", argv[0]);
        return 2;
    }
    backend = argv[1];
    mode = argv[2];
    where = argv[3];
    if (!strcmp(mode, "corpus")) {
        FILE *f = fopen(where, "rb");
        if (!f) {
            printf("SKIP: %s not found (the shared corpora live in ../shared/corpora beside the project)\n", where);
            return 77;
        }
        fclose(f);
    }
    /* A GPU backend with no device here is a visible skip, not a pass. */
    if (tl_skip_unless_runs(backend)) return 77;
    Suite *s = suite_create("conformance");
    TCase *tc = tcase_create(mode);
    tcase_set_timeout(tc, 1500);
    if (!strcmp(mode, "builtin")) tcase_add_test(tc, generated_edge_cases);
    tcase_add_test(tc, jsonl_corpus);
    suite_add_tcase(s, tc);
    return tl_run(s);
}
