/* test_engine.c -- the public API: configuration errors, backends, batches,
 * lexicon loading errors, clean failure at every allocation, and the
 * asynchronous tickets (bounds, out-of-order collection, cancel, threads). */
#include "testlib.h"
#include "alloc.h"
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dhatu_status create(const char *backend, const char *model, const char *lexicon_path,
                           dhatu_engine **e, char *err, size_t n)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.model = model;
    cfg.lexicon_path = lexicon_path;
    return dhatu_engine_create(&cfg, e, err, n);
}

START_TEST(unknown_names_are_clear_errors)
{
    dhatu_engine *e = (dhatu_engine *)1;
    char err[256];
    ck_assert_int_eq(create("gpu9000", "seed", NULL, &e, err, sizeof err), DHATU_ERR_ARG);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(err, "unknown backend 'gpu9000'"));
    ck_assert_int_eq(create("cpu", "word2vec", NULL, &e, err, sizeof err), DHATU_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err, "unknown model 'word2vec'"));
    /* A GPU backend runs, or says why not: not built, or no device. */
    for (int i = 0; i < 2; i++) {
        const char *gpu = i ? "opencl" : "cuda";
        err[0] = 0;
        dhatu_status st = create(gpu, "seed", NULL, &e, err, sizeof err);
        ck_assert_msg(st == DHATU_OK || st == DHATU_ERR_UNAVAILABLE, "%s: %s", gpu, err);
        if (st) ck_assert_msg(strstr(err, gpu) && (strstr(err, "not built") || strstr(err, "no ")), "%s", err);
        dhatu_engine_destroy(e);
    }
    ck_assert_int_eq(create("cpu", "seed", NULL, &e, NULL, 0), DHATU_OK); /* errstr may be NULL */
    dhatu_engine_destroy(e);
    dhatu_engine_destroy(NULL);
}
END_TEST

START_TEST(auto_picks_a_backend_and_says_why)
{
    dhatu_engine *e;
    char err[256];
    ck_assert_int_eq(create("auto", "lexicon", NULL, &e, err, sizeof err), DHATU_OK);
    const char *b = dhatu_engine_backend(e), *d = dhatu_engine_describe(e);
    char chose[64];
    snprintf(chose, sizeof chose, "auto chose %s (", b);
    ck_assert_msg(strstr(d, chose) == d, "%s", d);
    ck_assert_str_eq(dhatu_engine_config(e)->backend, b);
    /* Never the oracle; a GPU backend that is built but not chosen is named with its reason. */
    ck_assert_str_ne(b, "cpu-ref");
    for (const char *const *n = dhatu_backend_names(); *n && strcmp(*n, b); n++) {
        char why[64];
        snprintf(why, sizeof why, "%s: ", *n);
        ck_assert_msg(strstr(d, why), "auto does not say why it passed over %s: %s", *n, d);
    }
    ck_assert_str_eq(dhatu_engine_model_id(e), "lexicon-1");
    dhatu_engine_destroy(e);
}
END_TEST

START_TEST(threads_are_configurable)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.threads = 3;
    dhatu_engine *e;
    ck_assert_int_eq(dhatu_engine_create(&cfg, &e, NULL, 0), DHATU_OK);
    /* The lexicon model scans with AVX2 where the CPU has it, unless
     * DHATU_CPU_SIMD=0 says otherwise. */
    const char *want = "cpu: 3 worker threads";
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")) want = "cpu: 3 worker threads, AVX2 word scan";
#endif
    const char *env = getenv("DHATU_CPU_SIMD");
    if (!env || strcmp(env, "0")) ck_assert_str_eq(dhatu_engine_describe(e), want);
    dhatu_engine_destroy(e);
    setenv("DHATU_CPU_SIMD", "0", 1);
    ck_assert_int_eq(dhatu_engine_create(&cfg, &e, NULL, 0), DHATU_OK);
    ck_assert_str_eq(dhatu_engine_describe(e), "cpu: 3 worker threads");
    dhatu_engine_destroy(e);
    if (env) setenv("DHATU_CPU_SIMD", env, 1);
    else unsetenv("DHATU_CPU_SIMD");
    cfg.threads = -1;
    ck_assert_int_eq(dhatu_engine_create(&cfg, &e, NULL, 0), DHATU_ERR_ARG);
}
END_TEST

START_TEST(articles_over_the_maximum_are_rejected_not_truncated)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.max_article_bytes = 10;
    dhatu_engine *e;
    dhatu_batch *b;
    char err[256];
    ck_assert_int_eq(dhatu_engine_create(&cfg, &e, err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_create(e, &b, err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "0123456789", 10, NULL, err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "0123456789A", 11, NULL, err, sizeof err), DHATU_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err, "11 bytes exceeds the maximum of 10"));
    /* title + " " + text counts: 4 + 1 + 6 = 11 */
    ck_assert_int_eq(dhatu_batch_add(b, "abcd", 4, "efghij", 6, NULL, err, sizeof err), DHATU_ERR_TOO_LARGE);
    ck_assert_uint_eq(dhatu_batch_count(b), 1);
    ck_assert_uint_eq(dhatu_batch_bytes(b), 10);
    dhatu_batch_destroy(b);
    dhatu_engine_destroy(e);
}
END_TEST

START_TEST(a_full_batch_says_so_and_stays_intact)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.batch_max_articles = 2;
    dhatu_engine *e, *other;
    dhatu_batch *b;
    char err[256];
    ck_assert_int_eq(dhatu_engine_create(&cfg, &e, err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_engine_create(&cfg, &other, err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_create(e, &b, err, sizeof err), DHATU_OK);
    dhatu_record out[2];
    ck_assert_int_eq(dhatu_engine_vectorize(e, b, out, err, sizeof err), DHATU_OK); /* empty: no-op */
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "possible", 8, "en", err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "not possible", 12, "en", err, sizeof err), DHATU_OK);
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "x", 1, NULL, err, sizeof err), DHATU_ERR_FULL);
    ck_assert_int_eq(dhatu_engine_vectorize(other, b, out, err, sizeof err), DHATU_ERR_ARG);
    ck_assert_int_eq(dhatu_engine_vectorize(e, b, out, err, sizeof err), DHATU_OK);
    ck_assert_uint_eq(out[0].positive[1], 1);
    ck_assert_uint_eq(out[1].negative[1], 1);
    dhatu_batch_reset(b);
    ck_assert_uint_eq(dhatu_batch_count(b), 0);
    ck_assert_int_eq(dhatu_batch_add(b, NULL, 0, "x", 1, NULL, err, sizeof err), DHATU_OK);
    dhatu_batch_destroy(b);
    dhatu_engine_destroy(other);
    dhatu_engine_destroy(e);
}
END_TEST

/* Writes text to a temporary lexicon file and tries to load it. */
static dhatu_status load_lexicon(const char *text, char *err, size_t n)
{
    char path[] = "/tmp/dhatu-test-badlex-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    dhatu_engine *e = NULL;
    dhatu_status st = create("cpu", "lexicon", path, &e, err, n);
    unlink(path);
    dhatu_engine_destroy(e);
    return st;
}

START_TEST(bad_lexicons_are_reported_with_their_line)
{
    static const struct { const char *text, *want; } cases[] = {
        { "en MODAL + possible\n", ": missing '!version N'" },
        { "!version 1\nen MOOD + happy\n", ":2: unknown dhatu" },
        { "!version 1\nen MODAL x possible\n", ":2: sign must be" },
        { "!version 1\nEN MODAL + possible\n", ":2: language must be" },
        { "!version 1\nund MODAL + possible\n", ":2: reserved language tag" },
        { "!version 1\nen MODAL +\n", ":2: expected: LANG DHATU SIGN TERM" },
        { "!version 1\nen MODAL + ...\n", ":2: term has no word" },
        { "!version 1\nen MODAL + not, possible\n", ":2: words of a term may be separated only" },
        { "!version 1\nen MODAL + possib *\n", ":2: the stem marker" },
        { "!version 1\nen MODAL + possible\nen MODAL + POSSIBLE\n", ":3: duplicate cue for MODAL (first on line 2)" },
        { "!version 1\nen MODAL + possible\nen MODAL - possible\n", ":3: contradicts the cue for MODAL" },
        { "!version x\n", ":1: !version must be a positive integer" },
        { "!colour blue\n", ":1: unknown directive" },
        { "!version 1\n", "no cue" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        ck_assert_int_eq(load_lexicon(cases[i].text, err, sizeof err), DHATU_ERR_LEXICON);
        ck_assert_msg(strstr(err, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
    }
    char err[512];
    dhatu_engine *e;
    ck_assert_int_eq(create("cpu", "lexicon", "/nonexistent/lexicon.txt", &e, err, sizeof err), DHATU_ERR_LEXICON);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/lexicon.txt: No such file"));
}
END_TEST

START_TEST(every_allocation_failure_is_clean)
{
    /* Fail the 1st, 2nd, ... allocation of engine + batch + vectorize until
     * one run needs no more than were failed; ASan reports any leak. */
    for (int bi = 0; tl_backends[bi]; bi++) {
        int failures = 0;
        for (long k = 1; k < 100000; k++) {
            dhatu_engine *e = NULL;
            dhatu_batch *b = NULL;
            char err[256];
            dhatu_record out[1];
            dhatu_alloc_fail_at(k);
            dhatu_status st = create(tl_backends[bi], "lexicon", NULL, &e, err, sizeof err);
            if (st == DHATU_OK) st = dhatu_batch_create(e, &b, err, sizeof err);
            if (st == DHATU_OK) st = dhatu_batch_add(b, NULL, 0, "not possible", 12, NULL, err, sizeof err);
            if (st == DHATU_OK) st = dhatu_engine_vectorize(e, b, out, err, sizeof err);
            dhatu_alloc_fail_at(0);
            dhatu_batch_destroy(b);
            dhatu_engine_destroy(e);
            if (st == DHATU_OK) break;
            ck_assert_msg(st == DHATU_ERR_NOMEM, "%s allocation %ld: status %d (%s)", tl_backends[bi], k, st, err);
            failures++;
        }
        ck_assert_int_gt(failures, 10);
    }
}
END_TEST


/* ---- the asynchronous interface (dhatu_engine_submit, _poll, _wait) */

static void nap_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

/* A batch of n copies of a text long enough to take the engine a while. */
static dhatu_batch *busy_batch(dhatu_engine *e, size_t n, size_t len)
{
    char err[256];
    dhatu_batch *b;
    ck_assert(dhatu_batch_create(e, &b, err, sizeof err) == DHATU_OK);
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++) text[i] = "it is not possible, there is no cause "[i % 38];
    for (size_t i = 0; i < n; i++) ck_assert(dhatu_batch_add(b, NULL, 0, text, len, "en", err, sizeof err) == DHATU_OK);
    free(text);
    return b;
}

static dhatu_engine *async_engine(const char *backend, int max_in_flight)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.max_in_flight = max_in_flight;
    dhatu_engine *e;
    char err[256];
    ck_assert_msg(dhatu_engine_create(&cfg, &e, err, sizeof err) == DHATU_OK, "%s", err);
    return e;
}

START_TEST(tickets_are_bounded_collected_in_any_order_and_released)
{
    for (int bi = 0; tl_backends[bi]; bi++) {
        dhatu_engine *e = async_engine(tl_backends[bi], 3);
        dhatu_batch *b[3];
        dhatu_record *out[3], *want = tl_records_new(64);
        dhatu_ticket t[3], extra;
        char err[256];
        for (int k = 0; k < 3; k++) {
            b[k] = busy_batch(e, 64, 2000 + 500 * k);
            out[k] = tl_records_new(64);
            ck_assert_msg(dhatu_engine_submit(e, b[k], out[k], &t[k], err, sizeof err) == DHATU_OK, "%s", err);
            ck_assert(t[k] != 0);
        }
        ck_assert_int_eq(dhatu_engine_in_flight(e), 3);
        ck_assert_int_eq(dhatu_engine_submit(e, b[0], out[0], &extra, err, sizeof err), DHATU_ERR_BUSY);
        ck_assert_msg(strstr(err, "max_in_flight"), "%s", err);
        /* Newest first; a poll is PENDING until done, then the outcome. */
        for (int k = 2; k >= 0; k--) {
            dhatu_status st;
            while ((st = dhatu_engine_poll(e, t[k], err, sizeof err)) == DHATU_ERR_PENDING) nap_us(100);
            ck_assert_msg(st == DHATU_OK, "%s: %s", tl_backends[bi], err);
            ck_assert_int_eq(dhatu_engine_wait(e, t[k], err, sizeof err), DHATU_ERR_ARG);    /* released */
            ck_assert_int_eq(dhatu_engine_in_flight(e), k);
        }
        /* The same batches, synchronously: the same records. */
        for (int k = 0; k < 3; k++) {
            ck_assert(dhatu_engine_vectorize(e, b[k], want, err, sizeof err) == DHATU_OK);
            for (size_t i = 0; i < 64; i++) tl_record_expect(&out[k][i], &want[i], "async", tl_backends[bi]);
            tl_records_free(out[k], tl_backends[bi]);
            dhatu_batch_destroy(b[k]);
        }
        /* An empty batch completes at once; a ticket never issued is an error. */
        dhatu_batch *empty;
        ck_assert(dhatu_batch_create(e, &empty, err, sizeof err) == DHATU_OK);
        ck_assert(dhatu_engine_submit(e, empty, NULL, &extra, err, sizeof err) == DHATU_OK);
        ck_assert_int_eq(dhatu_engine_poll(e, extra, err, sizeof err), DHATU_OK);
        ck_assert_int_eq(dhatu_engine_wait(e, 12345, err, sizeof err), DHATU_ERR_ARG);
        ck_assert_msg(strstr(err, "not outstanding"), "%s", err);
        dhatu_batch_destroy(empty);
        tl_records_free(want, "sync");
        dhatu_engine_destroy(e);
    }
}
END_TEST

START_TEST(cancel_and_destroy_with_batches_in_flight)
{
    for (int bi = 0; tl_backends[bi]; bi++) {
        dhatu_engine *e = async_engine(tl_backends[bi], 4);
        dhatu_batch *b[4];
        dhatu_record *out[4];
        dhatu_ticket t[4];
        char err[256];
        /* 8 MB each: tens of milliseconds of work apiece, while the four
         * submits, made back to back once all are filled, take microseconds. */
        for (int k = 0; k < 4; k++) {
            b[k] = busy_batch(e, 256, 32000);
            out[k] = tl_records_new(256);
        }
        for (int k = 0; k < 4; k++) ck_assert(dhatu_engine_submit(e, b[k], out[k], &t[k], err, sizeof err) == DHATU_OK);
        int cancelled = dhatu_engine_cancel(e);
        /* The first may have run, or be running; the others never ran. */
        ck_assert_msg(cancelled >= 1 && cancelled <= 4, "%d cancelled", cancelled);
        int ok = 0, refused = 0;
        for (int k = 0; k < 4; k++) {
            dhatu_status st = dhatu_engine_poll(e, t[k], err, sizeof err);     /* all complete now */
            ok += st == DHATU_OK;
            refused += st == DHATU_ERR_CANCELLED;
            ck_assert_msg(st == DHATU_OK || st == DHATU_ERR_CANCELLED, "%d: %s", st, err);
        }
        ck_assert_int_eq(refused, cancelled);
        ck_assert_int_eq(ok + refused, 4);
        /* Still usable after a cancel. */
        ck_assert(dhatu_engine_vectorize(e, b[0], out[0], err, sizeof err) == DHATU_OK);
        for (int k = 0; k < 4; k++) {
            tl_records_free(out[k], tl_backends[bi]);
            dhatu_batch_destroy(b[k]);
        }
        /* Shutdown as a caller does it: cancel, destroy the batch (no ticket
         * holds it once cancel returns), destroy the engine with the ticket
         * still uncollected. No hang, no leak (ASan). */
        dhatu_batch *c = busy_batch(e, 256, 4000);
        dhatu_record *o = tl_records_new(256);
        ck_assert(dhatu_engine_submit(e, c, o, &t[0], err, sizeof err) == DHATU_OK);
        int k = dhatu_engine_cancel(e);
        ck_assert_msg(k == 0 || k == 1, "%d cancelled", k);
        ck_assert_int_eq(dhatu_engine_in_flight(e), 1);     /* completed, not collected */
        dhatu_batch_destroy(c);
        tl_records_free(o, tl_backends[bi]);
        dhatu_engine_destroy(e);
    }
}
END_TEST

/* Submit on one thread, wait on another: the consumer's engine and encoder
 * threads use it so. */
typedef struct handoff {
    dhatu_engine *e;
    dhatu_ticket t[16];
    int n;
    int failures;
} handoff;

static void *waiter(void *arg)
{
    handoff *h = arg;
    char err[256];
    for (int k = 0; k < h->n; k++) {
        while (!__atomic_load_n(&h->t[k], __ATOMIC_ACQUIRE)) nap_us(50);
        if (dhatu_engine_wait(h->e, h->t[k], err, sizeof err) != DHATU_OK) h->failures++;
    }
    return NULL;
}

START_TEST(submit_on_one_thread_wait_on_another)
{
    for (int bi = 0; tl_backends[bi]; bi++) {
        handoff h = { .e = async_engine(tl_backends[bi], 2), .n = 16 };
        dhatu_batch *b[2] = { busy_batch(h.e, 32, 1000), busy_batch(h.e, 32, 1500) };
        dhatu_record *out[2] = { tl_records_new(32), tl_records_new(32) };
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, waiter, &h), 0);
        char err[256];
        for (int k = 0; k < h.n; k++) {
            dhatu_ticket t;
            dhatu_status st;
            /* Two batches in turn: reuse one only once its ticket was collected. */
            while (k >= 2 && dhatu_engine_in_flight(h.e) >= 2) nap_us(50);
            while ((st = dhatu_engine_submit(h.e, b[k % 2], out[k % 2], &t, err, sizeof err)) == DHATU_ERR_BUSY)
                nap_us(50);
            ck_assert_msg(st == DHATU_OK, "%s", err);
            __atomic_store_n(&h.t[k], t, __ATOMIC_RELEASE);
        }
        pthread_join(th, NULL);
        ck_assert_int_eq(h.failures, 0);
        ck_assert_int_eq(dhatu_engine_in_flight(h.e), 0);
        for (int k = 0; k < 2; k++) {
            tl_records_free(out[k], tl_backends[bi]);
            dhatu_batch_destroy(b[k]);
        }
        dhatu_engine_destroy(h.e);
    }
}
END_TEST

TL_MAIN("engine",
        unknown_names_are_clear_errors,
        auto_picks_a_backend_and_says_why,
        threads_are_configurable,
        articles_over_the_maximum_are_rejected_not_truncated,
        a_full_batch_says_so_and_stays_intact,
        bad_lexicons_are_reported_with_their_line,
        every_allocation_failure_is_clean,
        tickets_are_bounded_collected_in_any_order_and_released,
        cancel_and_destroy_with_batches_in_flight,
        submit_on_one_thread_wait_on_another)
