/* test_lexicon.c -- every matching rule of docs/LEXICON.md, on every backend.
 *
 * usage: test_lexicon           cpu-ref and cpu
 *        test_lexicon BACKEND    that backend only (exit 77, skipped, when it
 *                              cannot run here); ctest runs one per GPU backend. */
#include "testlib.h"
#include <string.h>

enum { RELATE, MODAL, EXIST, EVAL, COMM, CAUSE, ITER, DECIDE, FEEL };

static const char *const LEX =
    "# test lexicon\n"
    "!name test\n"
    "!version 3\n"
    "en MODAL + possible\n"
    "fr MODAL + possible\n"          /* same term and cue in French: merged */
    "en MODAL - not possible\n"
    "en MODAL + can\n"
    "en MODAL - can't\n"
    "en RELATE + relat*\n"
    "en COMM + relation\n"           /* exact beats the stem on the same token */
    "en FEEL + relationsh*\n"        /* the longer stem wins */
    "en EXIST + there is\n"
    "en EXIST - there is no such thing\n"
    "en ITER + step by step\n"
    "fr DECIDE + d\xC3\xA9" "cision\n"
    "fr CAUSE + parce que\n"
    "en EVAL + note\n"               /* one term, a different cue per language */
    "fr COMM + note\n"
    "* EXIST + \xE2\x88\x83\n"       /* ∃ */
    "* EXIST - \xE2\x88\x84\n";      /* ∄ */

static dhatu_engine *E[4];

static void setup(void)
{
    for (int i = 0; tl_backends[i]; i++) E[i] = tl_engine(tl_backends[i], "lexicon", LEX);
}

static void teardown(void)
{
    for (int i = 0; tl_backends[i]; i++) dhatu_engine_destroy(E[i]);
}

/* Checks pos/neg of one dhātu and the token count on every backend. */
static void expect(const char *text, const char *lang, int d, unsigned pos, unsigned neg, long tokens)
{
    for (int i = 0; tl_backends[i]; i++) {
        dhatu_record r;
        tl_vec(E[i], NULL, text, strlen(text), lang, &r);
        ck_assert_msg(r.positive[d] == pos && r.negative[d] == neg,
                      "%s: \"%s\" lang %s: dhatu %d got +%u -%u, want +%u -%u", tl_backends[i], text,
                      lang ? lang : "-", d, r.positive[d], r.negative[d], pos, neg);
        if (tokens >= 0)
            ck_assert_msg(r.tokens == (uint64_t)tokens, "%s: \"%s\": %llu tokens, want %ld",
                          tl_backends[i], text, (unsigned long long)r.tokens, tokens);
    }
}

START_TEST(leftmost_longest_counts_a_negation_once)
{
    expect("This is not possible.", NULL, MODAL, 0, 1, 4);
    expect("possible, possibly POSSIBLE", NULL, MODAL, 2, 0, 3);
    expect("not, possible", NULL, MODAL, 1, 0, 2);      /* the comma breaks the phrase */
    expect("not\npossible", NULL, MODAL, 0, 1, 2);      /* a line break does not */
    expect("It can't, but it can.", NULL, MODAL, 1, 1, 6);
}
END_TEST

START_TEST(longest_term_wins_and_failed_phrases_rescan)
{
    expect("there is no such thing", NULL, EXIST, 0, 1, 5);
    expect("there is no such", NULL, EXIST, 1, 0, 4);
    expect("there there is", NULL, EXIST, 1, 0, 3);
    expect("step-by-step, step by step; step by", NULL, ITER, 2, 0, 8);
}
END_TEST

START_TEST(stems_match_prefixes_exact_terms_win_longer_stems_win)
{
    expect("relation", NULL, COMM, 1, 0, 1);
    expect("relation", NULL, RELATE, 0, 0, 1);
    expect("relational relate", NULL, RELATE, 2, 0, 2);
    expect("relationship relationships", NULL, FEEL, 2, 0, 2);
    expect("relationship", NULL, RELATE, 0, 0, 1);
    expect("rel", NULL, RELATE, 0, 0, 1);
    expect("correlation", NULL, RELATE, 0, 0, 1);       /* a stem is a prefix, not a substring */
}
END_TEST

START_TEST(case_and_accents_fold_on_both_sides)
{
    expect("Une D\xC3\x89" "CISION, une decision, une de\xCC\x81" "cision", "fr", DECIDE, 3, 0, 6);
    expect("PARCE QUE", "fr", CAUSE, 1, 0, 2);
}
END_TEST

START_TEST(lang_filter_selects_the_language_and_symbols)
{
    expect("une d\xC3\xA9" "cision", "fr", DECIDE, 1, 0, 2);
    expect("une d\xC3\xA9" "cision", "fr-CA", DECIDE, 1, 0, 2);
    expect("une d\xC3\xA9" "cision", "FR", DECIDE, 1, 0, 2);
    expect("une d\xC3\xA9" "cision", NULL, DECIDE, 1, 0, 2);
    expect("une d\xC3\xA9" "cision", "und", DECIDE, 1, 0, 2);
    expect("une d\xC3\xA9" "cision", "en", DECIDE, 0, 0, 2);
    expect("une d\xC3\xA9" "cision", "ar", DECIDE, 0, 0, 2);
    expect("possible", "fr", MODAL, 1, 0, 1);            /* merged cue, both languages */
    expect("not possible", "fr", MODAL, 1, 0, 2);        /* the English phrase is not live */
    expect("note", "en", EVAL, 1, 0, 1);
    expect("note", "en", COMM, 0, 0, 1);
    expect("note", "fr", COMM, 1, 0, 1);
    expect("note", "fr", EVAL, 0, 0, 1);
    expect("note", NULL, EVAL, 1, 0, 1);
    expect("note", NULL, COMM, 1, 0, 1);
    expect("\xE2\x88\x83x \xE2\x88\x84y", "ar", EXIST, 1, 1, 4);
    expect("\xE2\x88\x83x \xE2\x88\x84y", "zxx", EXIST, 1, 1, 4);
}
END_TEST

START_TEST(symbols_match_inside_words_and_are_not_folded)
{
    expect("x\xE2\x88\x83y\xE2\x88\x83", NULL, EXIST, 2, 0, 4);
    expect("\xE2\x88\x84\xE2\x88\x84\xE2\x88\x83", NULL, EXIST, 1, 2, 3);
}
END_TEST

START_TEST(bad_bytes_split_words_and_never_crash)
{
    expect("poss\xFFible", NULL, MODAL, 0, 0, 2);
    expect("possible\xFF", NULL, MODAL, 1, 0, 1);
    expect("possible\xED\xA0\x80possible", NULL, MODAL, 2, 0, 2);
    static const char nul[] = "possible\0possible";
    for (int i = 0; tl_backends[i]; i++) {
        dhatu_record r;
        tl_vec(E[i], NULL, nul, sizeof nul - 1, NULL, &r);
        ck_assert_uint_eq(r.positive[MODAL], 2);
        ck_assert_uint_eq(r.tokens, 2);
    }
    expect("not\xFF possible", NULL, MODAL, 1, 0, 2);    /* an invalid byte breaks the phrase */
}
END_TEST

START_TEST(title_is_analysed_with_the_text)
{
    for (int i = 0; tl_backends[i]; i++) {
        dhatu_record r;
        tl_vec(E[i], "not", "possible", 8, NULL, &r);   /* "not possible" */
        ck_assert_uint_eq(r.negative[MODAL], 1);
        tl_vec(E[i], "", "possible", 8, NULL, &r);      /* " possible" */
        ck_assert_uint_eq(r.positive[MODAL], 1);
    }
}
END_TEST

/* Stems nested deeper than the cpu backend's word table holds on one path
 * (cpu_words.h: it then walks the trie), the deepest live one chosen by
 * language, accented stems, and words at the 32-byte edge of its keys. */
static const char *const NESTED =
    "!name nested\n"
    "!version 1\n"
    "en RELATE + abcd*\n"
    "fr MODAL + abcde*\n"
    "en EXIST + abcdef*\n"
    "fr EVAL + abcdefg*\n"
    "en COMM + abcdefgh*\n"
    "en CAUSE + abcdefghi\n"
    "fr ITER + pr\xC3\xA9" "f\xC3\xA9r*\n"
    "en DECIDE + aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*\n"  /* 30 letters */
    "en FEEL + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"    /* 31 letters */
    "fr FEEL + c\xC5\x93ur\n"                          /* cœur: a folded form above ASCII */
    "fr FEEL + \xC3\xA6ther*\n";                       /* æther* */

START_TEST(nested_stems_and_long_words)
{
    static const struct { const char *text, *lang; int d; unsigned pos; } cases[] = {
        { "abcdefghij", "en", COMM, 1 },      /* five stems on the path: the deepest live */
        { "abcdefghij", "fr", EVAL, 1 },
        { "abcdefghij", "fr", COMM, 0 },
        { "abcdefghi", "en", CAUSE, 1 },      /* exact beats every stem */
        { "abcdefghi", "en", COMM, 0 },
        { "ABCDEfgh abcdex", "fr", MODAL, 1 },
        { "abcdex", "en", RELATE, 1 },
        { "abc", "en", RELATE, 0 },
        { "Pr\xC3\xA9" "f\xC3\xA9rence pref\xCC\x81" "erer PREFERAIT", "fr", ITER, 3 },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "en", DECIDE, 1 },   /* 30 */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "en", DECIDE, 1 },  /* 31 */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "en", DECIDE, 1 }, /* 32 */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa a", "en", DECIDE, 1 },
        { "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "en", FEEL, 1 },   /* 31 */
        { "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "en", FEEL, 0 },  /* 32 */
        { "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\xC2\xAD", "en", FEEL, 1 }, /* a soft hyphen is skipped */
        { "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xC3\xA9", "en", FEEL, 0 }, /* a letter goes on */
        { "C\xC5\x92UR, c\xC5\x93ur c\xC5\x93urs coeur", "fr", FEEL, 2 },
        { "\xC3\x86THERS \xC3\xA6therique aether", "fr", FEEL, 2 },
    };
    for (int i = 0; tl_backends[i]; i++) {
        dhatu_engine *e = tl_engine(tl_backends[i], "lexicon", NESTED);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            dhatu_record r;
            tl_vec(e, NULL, cases[k].text, strlen(cases[k].text), cases[k].lang, &r);
            ck_assert_msg(r.positive[cases[k].d] == cases[k].pos, "%s: \"%s\" lang %s: dhatu %d got +%u, want +%u",
                          tl_backends[i], cases[k].text, cases[k].lang, cases[k].d, r.positive[cases[k].d],
                          cases[k].pos);
        }
        dhatu_engine_destroy(e);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1) {
        int skip = tl_skip_unless_runs(argv[1]);
        if (skip) return skip;
        tl_use_backend(argv[1]);
    }
    Suite *s = suite_create("lexicon");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 300);     /* a GPU backend builds its kernels in each fixture */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, leftmost_longest_counts_a_negation_once);
    tcase_add_test(tc, longest_term_wins_and_failed_phrases_rescan);
    tcase_add_test(tc, stems_match_prefixes_exact_terms_win_longer_stems_win);
    tcase_add_test(tc, case_and_accents_fold_on_both_sides);
    tcase_add_test(tc, lang_filter_selects_the_language_and_symbols);
    tcase_add_test(tc, symbols_match_inside_words_and_are_not_folded);
    tcase_add_test(tc, bad_bytes_split_words_and_never_crash);
    tcase_add_test(tc, title_is_analysed_with_the_text);
    tcase_add_test(tc, nested_stems_and_long_words);
    suite_add_tcase(s, tc);
    return tl_run(s);
}
