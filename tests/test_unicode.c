/* test_unicode.c -- UTF-8 decoding, classes and folding (kernels/src/unicode.c). */
#include "testlib.h"
#include "unicode.h"

static uint32_t dec(const char *s, size_t n, size_t *len)
{
    return dhatu_utf8_decode((const unsigned char *)s, n, len);
}

START_TEST(decodes_well_formed_sequences)
{
    size_t len;
    ck_assert_uint_eq(dec("A", 1, &len), 'A'); ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(dec("\xC3\xA9", 2, &len), 0xE9); ck_assert_uint_eq(len, 2);
    ck_assert_uint_eq(dec("\xE2\x88\x84", 3, &len), 0x2204); ck_assert_uint_eq(len, 3);
    ck_assert_uint_eq(dec("\xF0\x9F\x98\x80", 4, &len), 0x1F600); ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(dec("\xF4\x8F\xBF\xBF", 4, &len), 0x10FFFF); ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(dec("\0", 1, &len), 0); ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(rejects_ill_formed_sequences_one_byte_at_a_time)
{
    static const struct { const char *s; size_t n; } bad[] = {
        { "\x80", 1 },             /* lone continuation */
        { "\xC0\x80", 2 },         /* overlong NUL */
        { "\xC1\xBF", 2 },         /* overlong */
        { "\xE0\x80\x80", 3 },     /* overlong */
        { "\xED\xA0\x80", 3 },     /* lone high surrogate U+D800 (CESU-8) */
        { "\xED\xBF\xBF", 3 },     /* lone low surrogate U+DFFF */
        { "\xF4\x90\x80\x80", 4 }, /* above U+10FFFF */
        { "\xF5\x80\x80\x80", 4 },
        { "\xFF", 1 },
        { "\xE2\x82", 2 },         /* truncated */
        { "\xF0\x9F\x98", 3 },     /* truncated */
        { "\xC3\x41", 2 },         /* continuation missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = 99;
        ck_assert_msg(dec(bad[i].s, bad[i].n, &len) == DHATU_CP_INVALID, "case %zu", i);
        ck_assert_uint_eq(len, 1);
    }
}
END_TEST

START_TEST(never_reads_past_the_end)
{
    /* A 3-byte lead at the very end with n = 1: must not look at s[1]. */
    size_t len;
    ck_assert_uint_eq(dec("\xE2\x88\x84", 1, &len), DHATU_CP_INVALID);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(encode_round_trips)
{
    static const uint32_t cps[] = { 0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF };
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        unsigned char b[4];
        size_t len;
        int k = dhatu_utf8_encode(cps[i], b);
        ck_assert_uint_eq(dhatu_utf8_decode(b, (size_t)k, &len), cps[i]);
        ck_assert_uint_eq(len, (size_t)k);
    }
}
END_TEST

START_TEST(classes_follow_the_documented_rules)
{
    ck_assert_int_eq(dhatu_uni_class('a'), DHATU_CC_WORD);
    ck_assert_int_eq(dhatu_uni_class('7'), DHATU_CC_WORD);
    ck_assert_int_eq(dhatu_uni_class(0xE9), DHATU_CC_WORD);     /* é */
    ck_assert_int_eq(dhatu_uni_class(0x4E2D), DHATU_CC_WORD);   /* 中 */
    ck_assert_int_eq(dhatu_uni_class(0x11103), DHATU_CC_WORD);  /* Chakma letter (astral) */
    ck_assert_int_eq(dhatu_uni_class(0x301), DHATU_CC_MARK);    /* combining acute */
    ck_assert_int_eq(dhatu_uni_class(0x2192), DHATU_CC_SYMBOL); /* → */
    ck_assert_int_eq(dhatu_uni_class('='), DHATU_CC_SEP);       /* ASCII math is punctuation */
    ck_assert_int_eq(dhatu_uni_class(','), DHATU_CC_SEP);
    ck_assert_int_eq(dhatu_uni_class(0x2026), DHATU_CC_SEP);    /* … */
    ck_assert_int_eq(dhatu_uni_class(0x1F600), DHATU_CC_SEP);   /* emoji */
    ck_assert_int_eq(dhatu_uni_class(0), DHATU_CC_SEP);         /* NUL */
    ck_assert_int_eq(dhatu_uni_class(' '), DHATU_CC_SPACE);
    ck_assert_int_eq(dhatu_uni_class('\n'), DHATU_CC_SPACE);
    ck_assert_int_eq(dhatu_uni_class(0xA0), DHATU_CC_SPACE);    /* NBSP */
    ck_assert_int_eq(dhatu_uni_class(0x2028), DHATU_CC_SPACE);  /* line separator */
    ck_assert_int_eq(dhatu_uni_class('-'), DHATU_CC_SPACE);
    ck_assert_int_eq(dhatu_uni_class('\''), DHATU_CC_SPACE);
    ck_assert_int_eq(dhatu_uni_class(0x2019), DHATU_CC_SPACE);  /* ’ */
    ck_assert_int_eq(dhatu_uni_class(0xAD), DHATU_CC_IGNORE);   /* soft hyphen */
    ck_assert_int_eq(dhatu_uni_class(0x200D), DHATU_CC_IGNORE); /* ZWJ */
    ck_assert_int_eq(dhatu_uni_class(0x200B), DHATU_CC_SEP);    /* ZWSP breaks */
    ck_assert_int_eq(dhatu_uni_class(DHATU_CP_INVALID), DHATU_CC_SEP);
}
END_TEST

START_TEST(folding_lowers_and_strips_accents_but_not_symbols)
{
    ck_assert_uint_eq(dhatu_uni_fold('A'), 'a');
    ck_assert_uint_eq(dhatu_uni_fold(0xC9), 'e');     /* É */
    ck_assert_uint_eq(dhatu_uni_fold(0xE7), 'c');     /* ç */
    ck_assert_uint_eq(dhatu_uni_fold(0x152), 0x153);  /* Œ -> œ */
    ck_assert_uint_eq(dhatu_uni_fold(0x1EBF), 'e');   /* ế (above the direct table) */
    ck_assert_uint_eq(dhatu_uni_fold(0x301), 0);      /* combining acute vanishes */
    ck_assert_uint_eq(dhatu_uni_fold(0x2204), 0x2204);/* ∄ keeps its meaning */
    ck_assert_uint_eq(dhatu_uni_fold(0x2260), 0x2260);/* ≠ */
    ck_assert_uint_eq(dhatu_uni_fold(0x4E2D), 0x4E2D);
    ck_assert_uint_eq(dhatu_uni_fold(0x3A3), 0x3C3);  /* Σ -> σ */
}
END_TEST

TL_MAIN("unicode",
        decodes_well_formed_sequences,
        rejects_ill_formed_sequences_one_byte_at_a_time,
        never_reads_past_the_end,
        encode_round_trips,
        classes_follow_the_documented_rules,
        folding_lowers_and_strips_accents_but_not_symbols)
