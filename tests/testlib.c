#include "testlib.h"
#include <sys/wait.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const default_backends[] = { "cpu-ref", "cpu", NULL };
static const char *chosen[2];
/* Set once by a suite's main, before Check forks its tests. */
const char *const *tl_backends = default_backends;

void tl_use_backend(const char *backend)
{
    chosen[0] = backend;
    tl_backends = chosen;
}

dhatu_engine *tl_engine(const char *backend, const char *model, const char *lexicon_text)
{
    char path[] = "/tmp/dhatu-test-lexicon-XXXXXX";
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.model = model;
    if (lexicon_text) {
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        size_t n = strlen(lexicon_text);
        ck_assert_int_eq(write(fd, lexicon_text, n), (ssize_t)n);
        close(fd);
        cfg.lexicon_path = path;
    }
    dhatu_engine *e = NULL;
    char err[512] = "";
    dhatu_status st = dhatu_engine_create(&cfg, &e, err, sizeof err);
    if (lexicon_text) unlink(path);
    ck_assert_msg(st == DHATU_OK, "engine %s/%s: %s", backend, model, err);
    return e;
}

void tl_vec(dhatu_engine *e, const char *title, const char *text, size_t len, const char *lang,
            dhatu_record *out)
{
    dhatu_batch *b;
    char err[512] = "";
    ck_assert_msg(dhatu_batch_create(e, &b, err, sizeof err) == DHATU_OK, "%s", err);
    ck_assert_msg(dhatu_batch_add(b, title, title ? strlen(title) : 0, text, len, lang, err, sizeof err) == DHATU_OK,
                  "%s", err);
    ck_assert_msg(dhatu_engine_vectorize(e, b, out, err, sizeof err) == DHATU_OK, "%s", err);
    dhatu_batch_destroy(b);
}

void tl_vec_s(dhatu_engine *e, const char *text, dhatu_record *out)
{
    tl_vec(e, NULL, text, strlen(text), NULL, out);
}

int tl_backend_probe(const char *backend, char *why, size_t n)
{
    int fds[2];
    if (pipe(fds)) { snprintf(why, n, "pipe failed"); return -1; }
    pid_t pid = fork();
    if (pid < 0) { snprintf(why, n, "fork failed"); return -1; }
    if (pid == 0) {
        dhatu_config cfg;
        dhatu_config_init(&cfg);
        cfg.backend = backend;
        dhatu_engine *e = NULL;
        char err[512] = "";
        dhatu_status st = dhatu_engine_create(&cfg, &e, err, sizeof err);
        const char *msg = st ? err : dhatu_engine_describe(e);
        ssize_t w = write(fds[1], msg, strlen(msg));
        (void)w;
        _exit(st == DHATU_OK ? 0 : st == DHATU_ERR_UNAVAILABLE ? 1 : 2);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fds[0], why + got, n - 1 - got)) > 0) got += (size_t)r;
    if (n) why[got] = 0;
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        snprintf(why + got, n - got, " (the probe of %s crashed)", backend);
        return -1;
    }
    return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -1;
}

int tl_skip_unless_runs(const char *backend)
{
    char why[512];
    if (tl_backend_probe(backend, why, sizeof why) == 0) {
        printf("SKIP: backend %s cannot run here: %s\n", backend, why);
        return 77;
    }
    printf("backend under test: %s\n", why);
    return 0;
}

int tl_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int tl_main(const char *name, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);     /* the sanitizer build multiplies it */
    for (size_t i = 0; i < n; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return tl_run(s);
}

/* [n][guard][records][guard]: the count sits before the front guard. */
#define GUARD 64
#define GUARD_BYTE 0xA5
typedef struct guarded { size_t n; unsigned char front[GUARD]; } guarded;

static guarded *head_of(const dhatu_record *r)
{
    return (guarded *)((unsigned char *)(uintptr_t)r - sizeof(guarded));
}

dhatu_record *tl_records_new(size_t n)
{
    guarded *g = malloc(sizeof *g + n * sizeof(dhatu_record) + GUARD);
    ck_assert_ptr_nonnull(g);
    g->n = n;
    memset(g->front, GUARD_BYTE, GUARD);
    dhatu_record *r = (dhatu_record *)(g + 1);
    memset(r, 0, n * sizeof *r);
    memset((unsigned char *)(r + n), GUARD_BYTE, GUARD);
    return r;
}

void tl_records_check(const dhatu_record *r, const char *what)
{
    const guarded *g = head_of(r);
    const unsigned char *back = (const unsigned char *)(r + g->n);
    for (int i = 0; i < GUARD; i++) {
        ck_assert_msg(g->front[i] == GUARD_BYTE, "%s: written before the record array (byte -%d)", what, GUARD - i);
        ck_assert_msg(back[i] == GUARD_BYTE, "%s: written past the %zu records (byte +%d)", what, g->n, i);
    }
}

void tl_records_free(dhatu_record *r, const char *what)
{
    if (!r) return;
    tl_records_check(r, what);
    free(head_of(r));
}

int tl_close(double a, double b)
{
    double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;
    return fabs(a - b) <= 1e-6 * scale;
}

void tl_record_expect(const dhatu_record *x, const dhatu_record *ref, const char *what, const char *id)
{
#define SAME(field) ck_assert_msg(x->field == ref->field, "%s: %s: %s differs", what, id, #field)
    SAME(tokens);
    SAME(signature);
    SAME(dominant);
    for (int d = 0; d < DHATU_NDHATU; d++) {
        SAME(positive[d]);
        SAME(negative[d]);
        SAME(polarity[d]);
        SAME(intensity[d]);
        ck_assert_msg(tl_close(x->weights[d], ref->weights[d]), "%s: %s: weights[%d]", what, id, d);
        ck_assert_msg(tl_close(x->confidence[d], ref->confidence[d]), "%s: %s: confidence[%d]", what, id, d);
    }
    for (int k = 0; k < DHATU_NPRIMES; k++)
        ck_assert_msg(tl_close(x->prime_bases[k], ref->prime_bases[k]), "%s: %s: prime_bases[%d]", what, id, k);
    ck_assert_msg(tl_close(x->ambiguity, ref->ambiguity), "%s: %s: ambiguity", what, id);
#undef SAME
}

FILE *tl_text_file(const char *s, size_t n)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(s, 1, n, f), n);
    rewind(f);
    return f;
}
