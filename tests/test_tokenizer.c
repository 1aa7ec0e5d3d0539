/* test_tokenizer.c -- the reference tokenizer (kernels/src/tokenizer.c). */
#include "testlib.h"
#include "tokenizer.h"
#include <stdio.h>
#include <string.h>

/* Renders tokens as "a|b|+c" where '+' marks a token joined to the previous
 * one by spaces only and '#' a symbol token. */
static const char *render(const char *text, size_t len)
{
    static char out[1024];
    dhatu_token_list l = DHATU_TOKEN_LIST_INIT;
    ck_assert_int_eq(dhatu_tokenize(text, len, &l, NULL, 0), DHATU_OK);
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++) {
        w += (size_t)snprintf(out + w, sizeof out - w, "%s%s%s%.*s", i ? "|" : "",
                              i && l.tok[i].joined ? "+" : "", l.tok[i].symbol ? "#" : "",
                              (int)l.tok[i].fold_len, (const char *)l.fold + l.tok[i].fold_off);
    }
    dhatu_token_list_free(&l);
    return out;
}

#define TOK(s) render(s, sizeof(s) - 1)

START_TEST(words_split_on_spaces_and_punctuation)
{
    ck_assert_str_eq(TOK("Hello, World!"), "hello|world");
    ck_assert_str_eq(TOK("  two  words  "), "two|+words");
    ck_assert_str_eq(TOK("x=3.14"), "x|3|14");
    ck_assert_str_eq(TOK(""), "");
    ck_assert_str_eq(TOK(" \t\n"), "");
}
END_TEST

START_TEST(hyphens_and_apostrophes_split_but_keep_the_phrase)
{
    ck_assert_str_eq(TOK("step-by-step"), "step|+by|+step");
    ck_assert_str_eq(TOK("can't"), "can|+t");
    ck_assert_str_eq(TOK("l\xE2\x80\x99" "algorithme"), "l|+algorithme");  /* ’ */
    ck_assert_str_eq(TOK("not, possible"), "not|possible");                 /* comma breaks */
    ck_assert_str_eq(TOK("not. Possible"), "not|possible");
}
END_TEST

START_TEST(case_and_accents_fold)
{
    ck_assert_str_eq(TOK("D\xC3\xA9" "CISION"), "decision");       /* DÉCISION */
    ck_assert_str_eq(TOK("de\xCC\x81" "cision"), "decision");       /* NFD: e + U+0301 */
    ck_assert_str_eq(TOK("C\xC5\x92UR"), "c\xC5\x93ur");            /* ŒUR -> œur */
}
END_TEST

START_TEST(symbols_are_one_character_tokens)
{
    ck_assert_str_eq(TOK("x\xE2\x86\x92y"), "x|+#\xE2\x86\x92|+y");        /* x→y */
    ck_assert_str_eq(TOK("\xE2\x88\x84\xE2\x88\x84"), "#\xE2\x88\x84|+#\xE2\x88\x84");
    ck_assert_str_eq(TOK("a < b"), "a|b");                                 /* ASCII '<' is punctuation */
}
END_TEST

START_TEST(marks_ignorables_and_controls)
{
    ck_assert_str_eq(TOK("algo\xC2\xAD" "rithm"), "algorithm");           /* soft hyphen joins */
    ck_assert_str_eq(TOK("a\xE2\x80\x8B" "b"), "a|b");                     /* ZWSP splits and breaks */
    ck_assert_str_eq(TOK("\xCC\x81" "abc"), "abc");                        /* a mark with no base */
    ck_assert_str_eq(TOK("\xE2\x9D\xA4\xEF\xB8\x8F love"), "love");        /* ❤️: symbol-other + VS16 */
    ck_assert_str_eq(render("a\0b", 3), "a|b");                            /* NUL separates */
    ck_assert_str_eq(TOK("a\r\nb"), "a|+b");
}
END_TEST

START_TEST(invalid_utf8_bytes_are_breaking_separators)
{
    ck_assert_str_eq(TOK("ab\xFF" "cd"), "ab|cd");
    ck_assert_str_eq(TOK("ab\xED\xA0\x80" "cd"), "ab|cd");                 /* lone surrogate */
    ck_assert_str_eq(TOK("ab\xE2\x82"), "ab");                             /* truncated at the end */
    ck_assert_str_eq(TOK("\xC3"), "");
    ck_assert_str_eq(TOK("not\xFF possible"), "not|possible");             /* breaks the phrase */
}
END_TEST

START_TEST(spans_cover_the_token_bytes)
{
    dhatu_token_list l = DHATU_TOKEN_LIST_INIT;
    const char *t = "  \xC3\x89t\xC3\xA9, x";
    ck_assert_int_eq(dhatu_tokenize(t, strlen(t), &l, NULL, 0), DHATU_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_uint_eq(l.tok[0].start, 2);
    ck_assert_uint_eq(l.tok[0].end, 7);
    ck_assert_uint_eq(l.tok[1].start, 9);
    dhatu_token_list_free(&l);
}
END_TEST

TL_MAIN("tokenizer",
        words_split_on_spaces_and_punctuation,
        hyphens_and_apostrophes_split_but_keep_the_phrase,
        case_and_accents_fold,
        symbols_are_one_character_tokens,
        marks_ignorables_and_controls,
        invalid_utf8_bytes_are_breaking_separators,
        spans_cover_the_token_bytes)
