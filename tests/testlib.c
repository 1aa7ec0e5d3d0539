#include "testlib.h"
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

int tl_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
