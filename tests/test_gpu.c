/* test_gpu.c -- the GPU backends' own behaviour, per backend that can run
 * here (usage: test_gpu BACKEND; exit 77 = no device for it):
 *   device SHA-256 against libcrypto, every length 0..300 and long messages;
 *   batches cut into many chunks when the device slots are small;
 *   an article at the configured maximum gives the cpu backend's answer;
 *   device selection errors are clear, and "no platform" is said plainly;
 *   an injected device error fails the batch with a message, and the engine
 *   then gives correct records again; with three tickets in flight it fails
 *   the one whose batch met it, and the others' records are right;
 *   the device memory it reports (slots, tables, pinned batches).
 * Record equality with cpu-ref over corpora is test_conformance's job.
 */
#include "testlib.h"
#include "dhatu_impl.h"
#include "gpu/selftest.h"
#include "gpu/tables.h"
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *backend;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static const struct dhatu_backend_i *iface(void)
{
#ifdef DHATU_HAVE_OPENCL
    if (!strcmp(backend, "opencl")) return &dhatu_backend_opencl_i;
#endif
#ifdef DHATU_HAVE_CUDA
    if (!strcmp(backend, "cuda")) return &dhatu_backend_cuda_i;
#endif
    return NULL;
}

static dhatu_status device_sha256(void *ctx, const char *text, const uint64_t *off, size_t n, uint32_t *dig,
                                  char *err, size_t errn)
{
#ifdef DHATU_HAVE_OPENCL
    if (!strcmp(backend, "opencl")) return dhatu_opencl_sha256(ctx, text, off, n, dig, err, errn);
#endif
#ifdef DHATU_HAVE_CUDA
    if (!strcmp(backend, "cuda")) return dhatu_cuda_sha256(ctx, text, off, n, dig, err, errn);
#endif
    (void)ctx; (void)text; (void)off; (void)n; (void)dig;
    snprintf(err, errn, "not built");
    return DHATU_ERR_UNAVAILABLE;
}

static void check_digests(void *ctx, const char *text, const uint64_t *off, size_t n)
{
    uint32_t *dig = malloc(n * 32);
    char err[256];
    ck_assert_msg(device_sha256(ctx, text, off, n, dig, err, sizeof err) == DHATU_OK, "%s", err);
    for (size_t i = 0; i < n; i++) {
        unsigned char h[32];
        unsigned hl = 0;
        ck_assert(EVP_Digest(text + off[i], off[i + 1] - off[i], h, &hl, EVP_sha256(), NULL) && hl == 32);
        for (int w = 0; w < 8; w++) {
            uint32_t want = (uint32_t)h[4 * w] << 24 | (uint32_t)h[4 * w + 1] << 16 | (uint32_t)h[4 * w + 2] << 8 |
                            h[4 * w + 3];
            ck_assert_msg(dig[8 * i + w] == want, "%s: SHA-256 of message %zu (%llu bytes) differs in word %d",
                          backend, i, (unsigned long long)(off[i + 1] - off[i]), w);
        }
    }
    free(dig);
}

START_TEST(sha256_matches_libcrypto)
{
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    dhatu_backend_params p = { DHATU_MODEL_SEED, NULL, &cfg, 0 };
    void *ctx = NULL;
    char err[512];
    ck_assert_msg(iface()->init(&p, &ctx, err, sizeof err) == DHATU_OK, "%s", err);

    /* Every length 0..300, three random messages each (one all 0xFF bytes):
     * every padding case, one and several blocks, and a non-zero offset base. */
    size_t n = 3 * 301;
    uint64_t *off = malloc((n + 1) * sizeof *off);
    char *text = malloc(n * 300 + 8);
    off[0] = 3; /* the kernels subtract offsets[0]: start off zero */
    size_t k = 0;
    for (size_t len = 0; len <= 300; len++) {
        for (int r = 0; r < 3; r++, k++) {
            for (size_t i = 0; i < len; i++) text[off[k] + i] = r == 2 ? (char)0xFF : (char)next_rand();
            off[k + 1] = off[k] + len;
        }
    }
    check_digests(ctx, text, off, n);

    /* Long messages: around block and 2^16 boundaries, and 5 MiB. */
    static const size_t longs[] = { 65535, 65536, 65536 + 55, 65536 + 56, 65536 + 64, 1000003, (size_t)5 << 20 };
    size_t nl = sizeof longs / sizeof longs[0], total = 0;
    for (size_t i = 0; i < nl; i++) total += longs[i];
    char *big = malloc(total);
    for (size_t i = 0; i < total; i++) big[i] = (char)next_rand();
    uint64_t loff[sizeof longs / sizeof longs[0] + 1] = { 0 };
    for (size_t i = 0; i < nl; i++) loff[i + 1] = loff[i] + longs[i];
    check_digests(ctx, big, loff, nl);
    printf("%s: SHA-256 equals libcrypto on %zu messages of 0..300 bytes and %zu long ones (up to %zu bytes)\n",
           backend, n, nl, longs[nl - 1]);
    free(big);
    free(text);
    free(off);
    iface()->free(ctx);
}
END_TEST


/* Vectorizes `count` articles cut from `text` on the backend (cfg) and on cpu. */
static void compare_with_cpu(dhatu_config *cfg, const char *model, const char *text, const size_t *lens,
                             size_t count, const char *what)
{
    dhatu_engine *g, *c;
    dhatu_batch *bg, *bc;
    char err[512];
    cfg->backend = backend;
    cfg->model = model;
    ck_assert_msg(dhatu_engine_create(cfg, &g, err, sizeof err) == DHATU_OK, "%s", err);
    cfg->backend = "cpu";
    ck_assert_msg(dhatu_engine_create(cfg, &c, err, sizeof err) == DHATU_OK, "%s", err);
    ck_assert(dhatu_batch_create(g, &bg, err, sizeof err) == DHATU_OK);
    ck_assert(dhatu_batch_create(c, &bc, err, sizeof err) == DHATU_OK);
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(dhatu_batch_add(bg, NULL, 0, text + pos, lens[i], "en", err, sizeof err) == DHATU_OK, "%s", err);
        ck_assert(dhatu_batch_add(bc, NULL, 0, text + pos, lens[i], "en", err, sizeof err) == DHATU_OK);
        pos += lens[i];
    }
    dhatu_record *rg = tl_records_new(count), *rc = tl_records_new(count);
    for (int round = 0; round < 2; round++) { /* the second call reuses every buffer */
        ck_assert_msg(dhatu_engine_vectorize(g, bg, rg, err, sizeof err) == DHATU_OK, "%s", err);
        ck_assert(dhatu_engine_vectorize(c, bc, rc, err, sizeof err) == DHATU_OK);
        tl_records_check(rg, backend);
        for (size_t i = 0; i < count; i++) {
            char id[32];
            snprintf(id, sizeof id, "article %zu", i);
            tl_record_expect(&rg[i], &rc[i], what, id);
        }
    }
    printf("%s: %s, model %s: %zu articles equal to cpu (%s)\n", backend, what, model, count, dhatu_engine_describe(g));
    tl_records_free(rg, backend);
    tl_records_free(rc, "cpu");
    dhatu_batch_destroy(bg);
    dhatu_batch_destroy(bc);
    dhatu_engine_destroy(g);
    dhatu_engine_destroy(c);
}

static char *prose(size_t len)
{
    static const char *const words[] = { "not possible", "there is", "because", "we decide", "again and again",
                                         "il n'existe pas", "parce que", "the", "data", "\xE2\x86\x92", "feel",
                                         "cannot", "relation", "\xC3\xA9t\xC3\xA9", ", ", ". ", " " };
    char *s = malloc(len + 32);
    size_t n = 0;
    while (n < len) {
        const char *w = words[next_rand() % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        memcpy(s + n, w, wl);
        n += wl;
        s[n++] = ' ';
    }
    return s;
}

START_TEST(small_slots_split_batches)
{
    /* Slots that hold 64 KiB of text: a 4 MiB batch becomes dozens of
     * chunks, cycling through the slots, each reused many times. */
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.max_article_bytes = 64 << 10;
    cfg.batch_max_bytes = 4 << 20;
    cfg.batch_max_articles = 4096;
    size_t fixed = (cfg.batch_max_articles + 1) * DHATU_GPU_SLOT_PER_ARTICLE;
    cfg.device_memory = 3 * (fixed + (size_t)(64 << 10) * (DHATU_GPU_SEG_BYTES + DHATU_GPU_SEG_DEVICE_BYTES) / DHATU_GPU_SEG_BYTES + 4096);
    size_t count = 3000, lens[3000], total = 0;
    for (size_t i = 0; i < count; i++) total += lens[i] = next_rand() % 2700;
    lens[17] = 64 << 10; /* one article fills a slot alone */
    total += lens[17];
    char *text = prose(total);
    compare_with_cpu(&cfg, "lexicon", text, lens, count, "64 KiB slots");
    compare_with_cpu(&cfg, "seed", text, lens, count, "64 KiB slots");
    free(text);
}
END_TEST

START_TEST(long_article_equals_cpu)
{
    /* The default maximum (16 MiB) in one article, one work-item: no
     * per-thread length limit. Beside it, short ones. */
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    size_t lens[3] = { 100, cfg.max_article_bytes, 7 };
    char *text = prose(lens[0] + lens[1] + lens[2]);
    compare_with_cpu(&cfg, "lexicon", text, lens, 3, "a 16 MiB article");
    compare_with_cpu(&cfg, "seed", text, lens, 3, "a 16 MiB article");
    free(text);
}
END_TEST

START_TEST(device_error_fails_the_batch_and_the_engine_goes_on)
{
    /* Small slots, so the batch makes many chunks; the 5th kernel launch
     * fails with chunks before it in flight. */
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.max_article_bytes = 64 << 10;
    cfg.batch_max_bytes = 1 << 20;
    size_t fixed = (cfg.batch_max_articles + 1) * DHATU_GPU_SLOT_PER_ARTICLE;
    cfg.device_memory = 3 * (fixed + (size_t)(64 << 10) * (DHATU_GPU_SEG_BYTES + DHATU_GPU_SEG_DEVICE_BYTES) / DHATU_GPU_SEG_BYTES + 4096);
    cfg.backend = backend;
    dhatu_engine *g, *c;
    dhatu_batch *bg, *bc;
    char err[512];
    ck_assert_msg(dhatu_engine_create(&cfg, &g, err, sizeof err) == DHATU_OK, "%s", err);
    cfg.backend = "cpu";
    ck_assert(dhatu_engine_create(&cfg, &c, err, sizeof err) == DHATU_OK);
    ck_assert(dhatu_batch_create(g, &bg, err, sizeof err) == DHATU_OK);
    ck_assert(dhatu_batch_create(c, &bc, err, sizeof err) == DHATU_OK);
    size_t count = 600, len = 1500;
    char *text = prose(count * len);
    for (size_t i = 0; i < count; i++) {
        ck_assert(dhatu_batch_add(bg, NULL, 0, text + i * len, len, "en", err, sizeof err) == DHATU_OK);
        ck_assert(dhatu_batch_add(bc, NULL, 0, text + i * len, len, "en", err, sizeof err) == DHATU_OK);
    }
    dhatu_record *rg = tl_records_new(count), *rc = tl_records_new(count);
    dhatu_gpu_inject_failure(5);
    err[0] = 0;
    ck_assert_int_eq(dhatu_engine_vectorize(g, bg, rg, err, sizeof err), DHATU_ERR_DEVICE);
    ck_assert_msg(strstr(err, backend) && (strstr(err, "OUT_OF_RESOURCES") || strstr(err, "OutOfResources")), "%s", err);
    printf("%s: injected device error: %s\n", backend, err);
    /* The same engine, the same batch: now it works and agrees with cpu. */
    ck_assert_msg(dhatu_engine_vectorize(g, bg, rg, err, sizeof err) == DHATU_OK, "%s", err);
    ck_assert(dhatu_engine_vectorize(c, bc, rc, err, sizeof err) == DHATU_OK);
    for (size_t i = 0; i < count; i++) tl_record_expect(&rg[i], &rc[i], "after an injected failure", "article");
    tl_records_free(rg, backend);
    tl_records_free(rc, "cpu");
    free(text);
    dhatu_batch_destroy(bg);
    dhatu_batch_destroy(bc);
    dhatu_engine_destroy(g);
    dhatu_engine_destroy(c);
}
END_TEST

START_TEST(a_device_error_fails_one_ticket_and_the_others_go_on)
{
    /* Three batches in flight; the first kernel launch of the first fails. */
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.max_in_flight = 3;
    dhatu_engine *g, *c;
    char err[512];
    ck_assert_msg(dhatu_engine_create(&cfg, &g, err, sizeof err) == DHATU_OK, "%s", err);
    cfg.backend = "cpu";
    ck_assert(dhatu_engine_create(&cfg, &c, err, sizeof err) == DHATU_OK);
    size_t slots, tables, pinned0, pinned;
    dhatu_engine_device_memory(g, &slots, &tables, &pinned0);
    ck_assert_msg(slots > 0 && tables > 0, "%s: slots %zu, tables %zu", backend, slots, tables);
    size_t count = 300, len = 1200;
    char *text = prose(count * len);
    dhatu_batch *bg[3], *bc;
    dhatu_record *rg[3], *rc = tl_records_new(count);
    dhatu_ticket t[3];
    ck_assert(dhatu_batch_create(c, &bc, err, sizeof err) == DHATU_OK);
    for (size_t i = 0; i < count; i++)
        ck_assert(dhatu_batch_add(bc, NULL, 0, text + i * len, len, "en", err, sizeof err) == DHATU_OK);
    ck_assert(dhatu_engine_vectorize(c, bc, rc, err, sizeof err) == DHATU_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert(dhatu_batch_create(g, &bg[k], err, sizeof err) == DHATU_OK);
        for (size_t i = 0; i < count; i++)
            ck_assert(dhatu_batch_add(bg[k], NULL, 0, text + i * len, len, "en", err, sizeof err) == DHATU_OK);
        rg[k] = tl_records_new(count);
    }
    /* Pinned host memory: the batches' text at least, counted by the backend. */
    dhatu_engine_device_memory(g, NULL, NULL, &pinned);
    ck_assert_msg(pinned >= pinned0 + 3 * dhatu_engine_config(g)->batch_max_bytes, "%s: pinned %zu, before %zu", backend,
                  pinned, pinned0);
    dhatu_gpu_inject_failure(1);
    for (int k = 0; k < 3; k++) ck_assert(dhatu_engine_submit(g, bg[k], rg[k], &t[k], err, sizeof err) == DHATU_OK);
    ck_assert_int_eq(dhatu_engine_in_flight(g), 3);
    /* Collected last to first: the failure belongs to ticket 1 only. */
    for (int k = 2; k >= 0; k--) {
        err[0] = 0;
        dhatu_status st = dhatu_engine_wait(g, t[k], err, sizeof err);
        if (k == 0) {
            ck_assert_int_eq(st, DHATU_ERR_DEVICE);
            ck_assert_msg(strstr(err, backend), "%s", err);
            printf("%s: ticket 1 of 3 failed: %s\n", backend, err);
        } else {
            ck_assert_msg(st == DHATU_OK, "ticket %d: %s", k + 1, err);
            for (size_t i = 0; i < count; i++) tl_record_expect(&rg[k][i], &rc[i], "tickets after a failure", "article");
        }
    }
    for (int k = 0; k < 3; k++) {
        tl_records_free(rg[k], backend);
        dhatu_batch_destroy(bg[k]);
    }
    dhatu_engine_device_memory(g, NULL, NULL, &pinned);
    ck_assert_uint_eq(pinned, pinned0);
    tl_records_free(rc, "cpu");
    free(text);
    dhatu_batch_destroy(bc);
    dhatu_engine_destroy(g);
    dhatu_engine_destroy(c);
}
END_TEST

static dhatu_status create(dhatu_config *cfg, char *err, size_t n)
{
    dhatu_engine *e = NULL;
    cfg->backend = backend;
    dhatu_status st = dhatu_engine_create(cfg, &e, err, n);
    dhatu_engine_destroy(e);
    return st;
}

START_TEST(device_selection_errors_are_clear)
{
    dhatu_config cfg;
    char err[512];
    dhatu_config_init(&cfg);
    cfg.device_index = 63;
    ck_assert_int_eq(create(&cfg, err, sizeof err), DHATU_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err, "device 63 requested"), "%s", err);
    dhatu_config_init(&cfg);
    cfg.device_type = "tpu";
    ck_assert_int_eq(create(&cfg, err, sizeof err), DHATU_ERR_ARG);
    ck_assert_msg(strstr(err, "unknown device type 'tpu'"), "%s", err);
    dhatu_config_init(&cfg);
    cfg.device_memory = 1 << 20; /* cannot hold a 16 MiB article */
    ck_assert_int_eq(create(&cfg, err, sizeof err), DHATU_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err, "raise device_memory"), "%s", err);
    if (!strcmp(backend, "opencl")) {
        dhatu_config_init(&cfg);
        cfg.platform_index = 15;
        ck_assert_int_eq(create(&cfg, err, sizeof err), DHATU_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(err, "platform 15 requested"), "%s", err);
    }
}
END_TEST

/* Run alone (test_gpu opencl no-platform), with OCL_ICD_VENDORS naming an
 * empty place, so that the ICD loader finds no platform at all. */
START_TEST(no_opencl_platform_is_said_plainly)
{
    dhatu_config cfg;
    char err[512];
    dhatu_config_init(&cfg);
    ck_assert_int_eq(create(&cfg, err, sizeof err), DHATU_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err, "no OpenCL platform"), "%s", err);
}
END_TEST

/* ---- host side of the GPU backends: no device needed ---- */

START_TEST(segments_cut_after_separators_and_cover_every_byte)
{
    /* Articles: empty, short, prose of 100 KiB, 20 KiB with no separator
     * at all, and prose again: each cut must follow an ASCII SEP byte and
     * leave DHATU_GPU_SEG_BYTES before it; together they tile the text. */
    size_t lens[5] = { 0, 10, 100 << 10, 20 << 10, 50 << 10 }, total = 0;
    for (int i = 0; i < 5; i++) total += lens[i];
    char *text = prose(total);
    memset(text + lens[0] + lens[1] + lens[2], 'x', lens[3]);
    uint64_t off[6] = { 0 };
    uint32_t mask[5] = { 0 };
    for (int i = 0; i < 5; i++) off[i + 1] = off[i] + lens[i];
    dhatu_batch_view b = { 5, text, off, mask };
    size_t max = DHATU_GPU_MAX_SEGS(5, total);
    uint64_t *so = calloc(max + 1, sizeof *so);
    uint32_t *sa = calloc(max, sizeof *sa), sf[6];
    size_t ns = dhatu_gpu_segment(&b, 0, 5, so, sa, sf);
    ck_assert_uint_le(ns, max);
    ck_assert_uint_eq(sf[5], ns);
    ck_assert_uint_eq(so[ns], off[5]);
    for (uint32_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(so[sf[i]], off[i]); /* an article starts a segment */
        for (uint32_t s = sf[i]; s < sf[i + 1]; s++) {
            ck_assert_uint_eq(sa[s], i);
            ck_assert_uint_le(so[s], so[s + 1]);
            if (s > sf[i]) {
                unsigned char before = (unsigned char)text[so[s] - 1];
                ck_assert_msg(before < 0x80 && strchr(".,", before), "cut after byte 0x%02x", before);
                ck_assert_uint_ge(so[s] - so[s - 1], DHATU_GPU_SEG_BYTES);
            }
        }
    }
    ck_assert_uint_eq(sf[1] - sf[0], 1);           /* empty */
    ck_assert_uint_eq(sf[4] - sf[3], 1);           /* no separator: one segment */
    ck_assert_uint_ge(sf[3] - sf[2], 20);          /* 100 KiB of prose: many */
    printf("host: %zu segments for 5 articles of %zu bytes\n", ns, total);
    free(so);
    free(sa);
    free(text);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s opencl|cuda|host [no-platform]\n", argv[0]);
        return 2;
    }
    backend = argv[1];
    if (!strcmp(backend, "host")) {
        Suite *s = suite_create("gpu");
        TCase *tc = tcase_create("host");
        tcase_add_test(tc, segments_cut_after_separators_and_cover_every_byte);
        suite_add_tcase(s, tc);
        return tl_run(s);
    }
    if (!iface()) {
        printf("SKIP: backend %s is not built\n", backend);
        return 77;
    }
    if (argc == 3 && !strcmp(argv[2], "no-platform")) {
        /* Before anything loads the ICD loader, which reads this once. */
        setenv("OCL_ICD_VENDORS", "/nonexistent-dhatu-test", 1);
        Suite *s = suite_create("gpu");
        TCase *tc = tcase_create("no-platform");
        tcase_add_test(tc, no_opencl_platform_is_said_plainly);
        suite_add_tcase(s, tc);
        return tl_run(s);
    }
    if (tl_skip_unless_runs(backend)) return 77;
    Suite *s = suite_create("gpu");
    TCase *tc = tcase_create(backend);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sha256_matches_libcrypto);
    tcase_add_test(tc, small_slots_split_batches);
    tcase_add_test(tc, long_article_equals_cpu);
    tcase_add_test(tc, device_selection_errors_are_clear);
    tcase_add_test(tc, device_error_fails_the_batch_and_the_engine_goes_on);
    tcase_add_test(tc, a_device_error_fails_one_ticket_and_the_others_go_on);
    suite_add_tcase(s, tc);
    return tl_run(s);
}
