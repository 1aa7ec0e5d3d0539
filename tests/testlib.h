/* testlib.h -- helpers shared by the Check suites: engines from a lexicon
 * text, one-article vectorization, and the suite runner. */
#ifndef TESTLIB_H
#define TESTLIB_H
#include <check.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
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

/* A suite of plain tests (no fixture) named name: the whole main() of most
 * unit suites. TL_MAIN("track", test_a, test_b) defines it. */
int tl_main(const char *name, const TTest *const *tests, size_t n);
#define TL_MAIN(name, ...)                                                     \
    int main(void)                                                             \
    {                                                                          \
        const TTest *const tl_tests_[] = { __VA_ARGS__ };                      \
        return tl_main(name, tl_tests_, sizeof tl_tests_ / sizeof *tl_tests_); \
    }

/* Record arrays with guard bytes on both sides, so that a backend (or a
 * caller) writing one record too many or too few is caught where it
 * happens. tl_records_free checks the guards (failing the test, naming the
 * side) and frees. Contents start zeroed. */
dhatu_record *tl_records_new(size_t n);
void tl_records_check(const dhatu_record *r, const char *what);
void tl_records_free(dhatu_record *r, const char *what);

/* A xorshift64 step: reproducible pseudo-random numbers for test inputs
 * (state must not be 0). */
static inline uint64_t tl_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Floats equal within 1e-6 (relative above 1): the backends' contract. */
int tl_close(double a, double b);

/* A temporary file holding s[0..n), rewound (fails the test if it cannot
 * be made); closing it deletes it. */
FILE *tl_text_file(const char *s, size_t n);
/* Fails the test unless x equals ref: every integer field exactly, every
 * float within tl_close. what and id name the case in the message. */
void tl_record_expect(const dhatu_record *x, const dhatu_record *ref, const char *what, const char *id);

/* The backends every behavioural test runs on (NULL-terminated): cpu-ref
 * and cpu, or the one tl_use_backend chose (a suite run per backend). */
extern const char *const *tl_backends;
void tl_use_backend(const char *backend);
#endif
