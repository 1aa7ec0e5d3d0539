/* test_dtoa.c -- the shortest round-trip double (common/dtoa.h): the Ryu-style
 * search's digits equal the exact search's (the fewest digits that read back,
 * closest to the value) and every JSON form reads back as the same double
 * through strtod, on random bit patterns, random weights in [0, 1),
 * integers, and the edge cases (subnormals, the extremes, every power of
 * ten, 0 and -0, typical weights). DHATU_DTOA_COUNT sets the number of
 * random doubles per kind that must read back (default 2,000,000) and
 * DHATU_DTOA_EXACT how many of them are also compared with the slow exact
 * search (default 100,000); bench/dtoa.sh runs 100 million and 2 million.
 * NaN and infinities have no JSON form. */
#include "testlib.h"
#include "dtoa.h"
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545F4914F6CDD1DULL;
#define next() tl_xorshift(&rng)

static long setting(const char *name, long dflt)
{
    const char *s = getenv(name);
    return s && *s ? atol(s) : dflt;
}

static int exact = 1;   /* compare with the exact search too */

/* Fails unless v's JSON form reads back as v, looks like a real, and (for
 * non-zero finite v, when exact) the fast search's digits are the exact search's. */
static void check(double v)
{
    char j[DTOA_JSON_MAX];
    size_t n = dtoa_json(v, j);
    /* if + ck_abort_msg: ck_assert marks every passing point with a write(2). */
    if (!(n > 0 && n < DTOA_JSON_MAX && strlen(j) == n)) ck_abort_msg("%.17g: no JSON form", v);
    char *end;
    double back = strtod(j, &end);
    if (*end != '\0' || memcmp(&back, &v, sizeof v) != 0)
        ck_abort_msg("%.17g printed as %s reads back as %.17g", v, j, back);
    if (!strchr(j, '.') && !strchr(j, 'e')) ck_abort_msg("%s does not look like a real", j);
    if (exact) { /* the integer path and the fast search write what the exact digits give */
        char slow[DTOA_JSON_MAX];
        dtoa_json_slow(v, slow);
        if (strcmp(j, slow)) ck_abort_msg("%.17g printed as %s, from the exact digits %s", v, j, slow);
    }
    if (v != 0 && exact) {
        char d1[17], d2[17];
        int e1, e2, n1 = dtoa_shortest(v, d1, &e1), n2 = dtoa_shortest_slow(v, d2, &e2);
        if (n1 != n2 || e1 != e2 || memcmp(d1, d2, (size_t)n1))
            ck_abort_msg("%.17g: %.*se%d, exact %.*se%d", v, n1, d1, e1, n2, d2, e2);
    }
}

START_TEST(edge_cases)
{
    double fixed[] = { 0.0, -0.0, 5e-324, -5e-324, 2.2250738585072009e-308, 2.2250738585072014e-308, DBL_MAX, -DBL_MAX,
                       1.0 / 9.0, 0.1 + 0.2, 0.5, 1.0, 100.0, 1e21, 1e22, 1e-5, 9.999999999999999e-6, 123456.789,
                       9007199254740991.0, 9007199254740992.0, 9007199254740994.0, 1.7976931348623157e308,
                       4.9406564584124654e-324, 0.30000000000000004, 2.0 / 3.0, 1e23, 5e-310 };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) check(fixed[i]);
    for (int e = -323; e <= 308; e++) {                 /* every power of ten, and its neighbours */
        double p = strtod((char[16]){ 0 }, NULL);
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        p = strtod(s, NULL);
        check(p);
        check(nextafter(p, 0));
        check(nextafter(p, INFINITY));
    }
    for (int b = -1074; b <= 1023; b++) check(ldexp(1.0, b));   /* every power of two */
    char j[DTOA_JSON_MAX];
    ck_assert_uint_eq(dtoa_json(NAN, j), 0);
    ck_assert_uint_eq(dtoa_json(INFINITY, j), 0);
    ck_assert_uint_eq(dtoa_json(-INFINITY, j), 0);
    dtoa_json(0.0, j);
    ck_assert_str_eq(j, "0.0");
    dtoa_json(-0.0, j);
    ck_assert_str_eq(j, "-0.0");
    dtoa_json(0.2, j);
    ck_assert_str_eq(j, "0.2");                         /* shortest, not 0.20000000000000001 */
    dtoa_json(1e21, j);
    ck_assert_str_eq(j, "1e21");
    dtoa_json(123456789012.0, j);
    ck_assert_str_eq(j, "123456789012.0");
    dtoa_json(0.000012345, j);
    ck_assert_str_eq(j, "0.000012345");
    dtoa_json(1.5e-7, j);
    ck_assert_str_eq(j, "1.5e-7");
}
END_TEST

/* Doubles of 2^54 and up whose mantissa is a multiple of 5: the search sees
 * them as exact decimal integers, and the digits it drops decide the last
 * one it keeps. Only here is a dropped 5 a true half when every digit below
 * it is 0, and not otherwise (16147292418532034.8 rounds up to ...035);
 * random bit patterns almost never land here. */
START_TEST(exact_integers_round_to_closest)
{
    for (int e = 1; e <= 80; e++)
        for (int i = 0; i < 2000; i++) {
            uint64_t m = (1ULL << 52) | (next() & ((1ULL << 52) - 1));
            m -= m % 5;
            if (m < (1ULL << 52)) m += 5;
            check(ldexp((double)m, e));
        }
}
END_TEST

START_TEST(random_doubles_round_trip_shortest)
{
    long n = setting("DHATU_DTOA_COUNT", 2000000), n_exact = setting("DHATU_DTOA_EXACT", 100000), checked = 0;
    for (long i = 0; i < n; i++) {
        exact = i < n_exact;
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v)) {
            check(v);
            checked++;
        }
        check((double)(next() >> 11) * 0x1p-53);        /* a weight in [0, 1) */
        check((double)(int64_t)(next() >> (next() % 64))); /* an integer of any size */
    }
    exact = 1;
    printf("dtoa: %ld random bit patterns, %ld weights and %ld integers read back; the first %ld of each kind "
           "are the shortest and closest (the exact search agrees)\n", checked, n, n, n_exact < n ? n_exact : n);
}
END_TEST

TL_MAIN("dtoa", edge_cases, exact_integers_round_to_closest, random_doubles_round_trip_shortest)
