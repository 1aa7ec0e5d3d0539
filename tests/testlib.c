#include "testlib.h"
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const tl_backends[] = { "cpu-ref", "cpu", NULL };

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
