/* test_record.c -- the record of both models: the golden seed case, weights,
 * polarity, intensity, confidence, signature, prime bases, ambiguity, and
 * awkward texts (empty, no evidence, 1 MiB, NUL bytes, invalid UTF-8). */
#include "testlib.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RELATE, MODAL, EXIST, EVAL, COMM, CAUSE, ITER, DECIDE, FEEL };

static const char *const LEX =
    "!version 1\n"
    "en MODAL + possible\n"
    "en MODAL - impossible\n"
    "en RELATE + between\n";

START_TEST(golden_seed_case)
{
    static const double w[9] = { 0.105897, 0.160543, 0.127508, 0.125039, 0.100648,
                                 0.086755, 0.128280, 0.079500, 0.085829 };
    static const double pb[10] = { 1.45184, 4.08212, 96.0756, 16842.8, 2.01903e7,
                                   7.56564e7, 6.34572e8, 1.53501e9, 7.01161e9, 4.43851e10 };
    const char *text = " Article 1: The quantum computational framework demonstrates significant algorithmic efficiency.";
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "seed", NULL);
        ck_assert_str_eq(dhatu_engine_model_id(e), "seed-1");
        dhatu_record r;
        tl_vec_s(e, text, &r);
        double sum = 0;
        for (int i = 0; i < 9; i++) {
            ck_assert_msg(fabs(r.weights[i] - w[i]) < 1e-6, "%s weight %d: %.9f", tl_backends[b], i, r.weights[i]);
            ck_assert_uint_eq(r.positive[i] + r.negative[i], 0);
            sum += r.weights[i];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        for (int k = 0; k < 10; k++)
            ck_assert_msg(fabs(r.prime_bases[k] - pb[k]) / pb[k] < 1e-5, "%s base %d: %g", tl_backends[b], k,
                          r.prime_bases[k]);
        ck_assert_int_eq(r.dominant, MODAL);
        ck_assert_uint_eq(r.tokens, 10);
        ck_assert_uint_eq(r.signature, 0);
        ck_assert(r.ambiguity > 0.98 && r.ambiguity < 1.0);
        /* The same text given as an empty title plus the text, as the prototype did. */
        dhatu_record r2;
        const char *t2 = text + 1;
        tl_vec(e, "", t2, strlen(t2), NULL, &r2);
        ck_assert_mem_eq(r2.weights, r.weights, sizeof r.weights);
        dhatu_engine_destroy(e);
    }
}
END_TEST

/* "possible" plus `filler` other words: one MODAL+ hit in 1 + filler tokens. */
static void one_hit(dhatu_engine *e, int filler, dhatu_record *r)
{
    size_t n = 9 + (size_t)filler * 2;
    char *t = malloc(n + 1);
    strcpy(t, "possible");
    for (int i = 0; i < filler; i++) strcat(t, " x");
    tl_vec(e, NULL, t, strlen(t), NULL, r);
    free(t);
}

START_TEST(intensity_thresholds_confidence_and_signature)
{
    static const struct { int tokens; int intensity; double confidence; } cases[] = {
        { 10, 4, 1.0 }, { 50, 4, 1.0 }, { 51, 3, 50.0 / 51 }, { 100, 3, 0.5 },
        { 101, 2, 50.0 / 101 }, { 200, 2, 0.25 }, { 201, 1, 50.0 / 201 },
    };
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "lexicon", LEX);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            dhatu_record r;
            one_hit(e, cases[i].tokens - 1, &r);
            ck_assert_uint_eq(r.tokens, (uint64_t)cases[i].tokens);
            ck_assert_msg(r.intensity[MODAL] == cases[i].intensity, "%d tokens: intensity %d",
                          cases[i].tokens, r.intensity[MODAL]);
            ck_assert_double_eq_tol(r.confidence[MODAL], cases[i].confidence, 1e-12);
            ck_assert_int_eq(r.polarity[MODAL], DHATU_POL_POSITIVE);
            /* digit = presence 1 + 2 * polarity 1 + 6 * intensity, at 30^1 */
            ck_assert_uint_eq(r.signature, (uint64_t)(1 + 2 + 6 * cases[i].intensity) * 30);
            ck_assert_int_eq(r.dominant, MODAL);
            ck_assert_double_eq(r.weights[MODAL], 1.0);
            ck_assert_double_eq(r.ambiguity, 0.0);
            /* One-hot at index 1: B[k] = p_k^(1 mod p_k) = p_k. */
            static const double p[10] = { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29 };
            for (int k = 0; k < 10; k++) ck_assert_double_eq(r.prime_bases[k], p[k]);
        }
        dhatu_engine_destroy(e);
    }
}
END_TEST

START_TEST(polarity_ties_weights_ambiguity_and_packing)
{
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "lexicon", LEX);
        dhatu_record r;
        /* MODAL +1 -1 (tie), RELATE +2: 5 tokens. */
        tl_vec_s(e, "possible impossible between between x", &r);
        ck_assert_uint_eq(r.positive[MODAL], 1);
        ck_assert_uint_eq(r.negative[MODAL], 1);
        ck_assert_int_eq(r.polarity[MODAL], DHATU_POL_NONE);
        ck_assert_int_eq(r.polarity[RELATE], DHATU_POL_POSITIVE);
        ck_assert_double_eq(r.weights[MODAL], 0.5);
        ck_assert_double_eq(r.weights[RELATE], 0.5);
        ck_assert_int_eq(r.dominant, RELATE);                 /* ties go to the lower index */
        ck_assert_double_eq_tol(r.ambiguity, log(2.0) / log(9.0), 1e-15);
        /* RELATE: 1 + 2*1 + 6*4 = 27 at 30^0; MODAL: 1 + 0 + 24 = 25 at 30^1. */
        ck_assert_uint_eq(r.signature, 27 + 25 * 30);
        tl_vec_s(e, "impossible", &r);
        ck_assert_int_eq(r.polarity[MODAL], DHATU_POL_NEGATIVE);
        ck_assert_uint_eq(r.signature, (1 + 4 + 24) * 30);
        dhatu_engine_destroy(e);
    }
}
END_TEST

START_TEST(signature_uses_all_nine_digits)
{
    /* A lexicon with a cue per dhātu; each hit negative: digit 29 everywhere. */
    static const char *names[9] = { "RELATE", "MODAL", "EXIST", "EVAL", "COMM", "CAUSE", "ITER", "DECIDE", "FEEL" };
    char lex[1024] = "!version 1\n";
    char text[256] = "";
    for (int i = 0; i < 9; i++) {
        char line[64];
        snprintf(line, sizeof line, "en %s - w%d\n", names[i], i);
        strcat(lex, line);
        snprintf(line, sizeof line, "w%d ", i);
        strcat(text, line);
    }
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "lexicon", lex);
        dhatu_record r;
        tl_vec_s(e, text, &r);
        uint64_t want = 0, radix = 1;
        for (int i = 0; i < 9; i++, radix *= 30) want += 29 * radix;
        ck_assert_uint_eq(r.signature, want);                 /* 30^9 - 1 */
        ck_assert_double_eq_tol(r.ambiguity, 1.0, 1e-12);
        dhatu_engine_destroy(e);
    }
}
END_TEST

START_TEST(empty_text_and_no_evidence)
{
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "lexicon", LEX);
        const char *texts[] = { "", "the cat sat on the mat", " \n\t", "\xFF\xFE" };
        for (size_t i = 0; i < 4; i++) {
            dhatu_record r;
            tl_vec_s(e, texts[i], &r);
            ck_assert_int_eq(r.dominant, -1);
            ck_assert_uint_eq(r.signature, 0);
            ck_assert_double_eq(r.ambiguity, 0.0);
            for (int d = 0; d < 9; d++) ck_assert_double_eq(r.weights[d], 0.0);
            for (int k = 0; k < 10; k++) ck_assert_double_eq(r.prime_bases[k], 0.0);
        }
        dhatu_engine_destroy(e);
        /* The seed model hashes the prefix even of an empty text: a vector, no tokens. */
        e = tl_engine(tl_backends[b], "seed", NULL);
        dhatu_record r;
        tl_vec_s(e, "", &r);
        ck_assert_uint_eq(r.tokens, 0);
        ck_assert(r.dominant >= 0);
        dhatu_engine_destroy(e);
    }
}
END_TEST

START_TEST(one_mebibyte_text)
{
    const char unit[] = "not possible, but possible; impossible ";
    size_t n = 1 << 20, reps = n / (sizeof unit - 1);
    char *t = malloc(n);
    for (size_t i = 0; i < n; i++) t[i] = unit[i % (sizeof unit - 1)];
    dhatu_record r[2];
    for (int b = 0; tl_backends[b]; b++) {
        dhatu_engine *e = tl_engine(tl_backends[b], "lexicon", LEX);
        tl_vec(e, NULL, t, n, NULL, &r[b]);
        ck_assert_uint_ge(r[b].positive[MODAL], 2 * reps); /* the tail is a partial unit */
        ck_assert_uint_ge(r[b].negative[MODAL], reps);
        dhatu_engine_destroy(e);
    }
    ck_assert_uint_eq(r[0].positive[MODAL], r[1].positive[MODAL]);
    ck_assert_uint_eq(r[0].negative[MODAL], r[1].negative[MODAL]);
    ck_assert_uint_eq(r[0].tokens, r[1].tokens);
    free(t);
}
END_TEST

TL_MAIN("record",
        golden_seed_case,
        intensity_thresholds_confidence_and_signature,
        polarity_ties_weights_ambiguity_and_packing,
        signature_uses_all_nine_digits,
        empty_text_and_no_evidence,
        one_mebibyte_text)
