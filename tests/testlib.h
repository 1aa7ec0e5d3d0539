/* testlib.h -- helpers shared by the Check suites: engines from a lexicon
 * text, one-article vectorization, and the suite runner. */
#ifndef TESTLIB_H
#define TESTLIB_H
#include <check.h>
#include <stddef.h>
#include "dhatu.h"

/* An engine for backend/model; lexicon_text (may be NULL: built-in) is
 * written to a temporary file first. Fails the test on error. */
dhatu_engine *tl_engine(const char *backend, const char *model, const char *lexicon_text);

/* Vectorizes one article (title may be NULL) and fails the test on error. */
void tl_vec(dhatu_engine *e, const char *title, const char *text, size_t len, const char *lang,
            dhatu_record *out);

/* Shorthand: NUL-terminated text, no title, no lang. */
void tl_vec_s(dhatu_engine *e, const char *text, dhatu_record *out);

/* Can backend start here? Tries in a child process, since GPU runtimes
 * (PoCL's thread pool among them) do not survive the fork of each Check
 * test. Returns 1 (why: its description), 0 (unavailable, why: the reason)
 * or -1 (another error, why: the message). */
int tl_backend_probe(const char *backend, char *why, size_t why_size);

/* For a runner's main: 77 (the ctest skip code) after printing why, when
 * backend cannot start here; else 0 after printing what it runs on. */
int tl_skip_unless_runs(const char *backend);

/* Runs a suite; returns the process exit status. */
int tl_run(Suite *s);

/* The backends every behavioural test runs on (NULL-terminated). */
extern const char *const tl_backends[];
#endif
