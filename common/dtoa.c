/* dtoa.c -- see dtoa.h.
 *
 * The fast path follows Ryu (U. Adams, "Ryu: fast float-to-string
 * conversion", PLDI 2018): v = m2 x 2^e2 and its rounding interval
 * [mm, mp] are scaled by one 125-bit power of five (pow5_tables.h) into
 * decimal integers vm < vr < vp with e10; digits are then removed from all
 * three while the interval still tells them apart, which leaves the fewest
 * digits that read back, rounded to the closest. The only exact tests it
 * needs are on the few small exponents where the interval's ends or the
 * value itself can be decimal integers (trailing zeros). */
#include "dtoa.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pow5_tables.h"

#define MANT_BITS 52
#define EXP_BIAS 1023
#define POW5_BITS 125   /* the multipliers' width */

/* "00".."99": the digits of n at pairs + 2 n. */
static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                               "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                               "8081828384858687888990919293949596979899";

/* bits(5^e): ceil(log2(5^e)) for e >= 1, 1 for e = 0 (0 <= e <= 3528). */
static int pow5bits(int e) { return (int)(((uint32_t)e * 1217359) >> 19) + 1; }
/* floor(log10(2^e)) for 0 <= e <= 1650. */
static int log10_pow2(int e) { return (int)(((uint32_t)e * 78913) >> 18); }
/* floor(log10(5^e)) for 0 <= e <= 2620. */
static int log10_pow5(int e) { return (int)(((uint32_t)e * 732923) >> 20); }

static int pow5_factor(uint64_t v)
{
    int n = 0;
    while (v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}
static int multiple_of_pow5(uint64_t v, int p) { return pow5_factor(v) >= p; }
static int multiple_of_pow2(uint64_t v, int p) { return (v & ((1ULL << p) - 1)) == 0; }

/* floor(m x mul / 2^j) for a 125-bit mul and 64 < j: the exact top of the
 * 189-bit product. */
static uint64_t mul_shift(uint64_t m, const uint64_t mul[2], int j)
{
    unsigned __int128 lo = (unsigned __int128)m * mul[0], hi = (unsigned __int128)m * mul[1];
    return (uint64_t)(((lo >> 64) + hi) >> (j - 64));
}

/* Removes the last digit of vr, vp and vm; *last becomes vr's removed
 * digit, and *vr_zeros stays set only while every digit removed before it
 * was 0 (so a final 5 can still be an exact half). */
static void drop_digit(uint64_t *vr, uint64_t *vp, uint64_t *vm, unsigned *last, int *vr_zeros)
{
    *vr_zeros &= *last == 0;
    *last = (unsigned)(*vr % 10);
    *vr /= 10;
    *vp /= 10;
    *vm /= 10;
}

/* |v| (finite, non-zero) = out x 10^*e10, out with the fewest digits that
 * read back as v and the closest of those. */
static uint64_t shortest(double v, int *e10out)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & ((1ULL << MANT_BITS) - 1);
    int bexp = (int)((bits >> MANT_BITS) & 0x7ff);
    int e2;
    uint64_t m2;
    if (bexp == 0) {
        e2 = 1 - EXP_BIAS - MANT_BITS - 2;
        m2 = frac;
    } else {
        e2 = bexp - EXP_BIAS - MANT_BITS - 2;
        m2 = (1ULL << MANT_BITS) | frac;
    }
    /* Round-to-nearest-even: an even mantissa owns its interval's ends. */
    int accept_bounds = (m2 & 1) == 0;
    /* The interval in units of 2^e2 (a quarter of the last place): v is
     * 4 m2, its upper end 4 m2 + 2, its lower end 4 m2 - 1 where the
     * exponent just dropped (a power of two: the gap below is half). */
    uint64_t mv = 4 * m2;
    int mm_shift = frac != 0 || bexp <= 1;
    uint64_t vr, vp, vm;
    int e10, vm_zeros = 0, vr_zeros = 0;
    if (e2 >= 0) {
        int q = log10_pow2(e2) - (e2 > 3);
        e10 = q;
        int k = POW5_BITS + pow5bits(q) - 1;
        int i = -e2 + q + k;
        vr = mul_shift(4 * m2, pow5_inv[q], i);
        vp = mul_shift(4 * m2 + 2, pow5_inv[q], i);
        vm = mul_shift(4 * m2 - 1 - (uint64_t)mm_shift, pow5_inv[q], i);
        if (q <= 21) {
            /* Only here can one of the three be a multiple of 10^q. */
            if (mv % 5 == 0) vr_zeros = multiple_of_pow5(mv, q);
            else if (accept_bounds) vm_zeros = multiple_of_pow5(mv - 1 - (uint64_t)mm_shift, q);
            else vp -= (uint64_t)multiple_of_pow5(mv + 2, q);   /* the open upper end is excluded */
        }
    } else {
        int q = log10_pow5(-e2) - (-e2 > 1);
        e10 = q + e2;
        int i = -e2 - q;
        int k = pow5bits(i) - POW5_BITS;
        int j = q - k;
        vr = mul_shift(4 * m2, pow5[i], j);
        vp = mul_shift(4 * m2 + 2, pow5[i], j);
        vm = mul_shift(4 * m2 - 1 - (uint64_t)mm_shift, pow5[i], j);
        if (q <= 1) {
            /* mv x 5^i / 2^q with q <= 1: all three are exact (mv is a
             * multiple of 4). */
            vr_zeros = 1;
            if (accept_bounds) vm_zeros = mm_shift == 1;
            else vp--;
        } else if (q < 63) {
            /* The product has q trailing decimal zeros iff mv has q
             * factors of two (it has more factors of five than that). */
            vr_zeros = multiple_of_pow2(mv, q);
        }
    }
    int removed = 0;
    unsigned last = 0;   /* the last digit removed from vr */
    uint64_t out;
    if (vm_zeros || vr_zeros) {
        /* Rare: exact ends or an exact value decide ties. */
        while (vp / 10 > vm / 10) {
            vm_zeros &= vm % 10 == 0;
            drop_digit(&vr, &vp, &vm, &last, &vr_zeros);
            removed++;
        }
        if (vm_zeros)
            while (vm % 10 == 0) {
                drop_digit(&vr, &vp, &vm, &last, &vr_zeros);
                removed++;
            }
        if (vr_zeros && last == 5 && vr % 2 == 0) last = 4;   /* an exact half: to even */
        out = vr + ((vr == vm && (!accept_bounds || !vm_zeros)) || last >= 5);
    } else {
        /* The common case: no end is exact, so round half up suffices. */
        int round_up = 0;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        out = vr + (vr == vm || round_up);
    }
    *e10out = e10 + removed;
    return out;
}

/* Whether mant x 10^e reads back as v. */
static int reads_back(uint64_t mant, int e, double v)
{
    char s[48];
    snprintf(s, sizeof s, "%llue%d", (unsigned long long)mant, e);
    return strtod(s, NULL) == v;
}

/* Exact, slow: for p = 1, 2, ... 17 digits, the correctly rounded p-digit
 * value D (printf), or else its neighbours D - 1 and D + 1 in the last
 * digit (the shortest form need not be the correctly rounded one: of
 * 7.1202363472230444e-307 it is 7.120236347223045e-307), the closer first. */
int dtoa_shortest_slow(double v, char digits[17], int *exp10)
{
    double a = v < 0 ? -v : v;
    char s[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, a);
        uint64_t mant = 0;
        const char *q = s;
        for (; *q != 'e'; q++)
            if (*q != '.') mant = mant * 10 + (uint64_t)(*q - '0');
        int e = atoi(q + 1) - (p - 1);              /* a ~= mant x 10^e */
        uint64_t lo = 1, hi;
        for (int i = 1; i < p; i++) lo *= 10;       /* mant has exactly p digits: [lo, hi) */
        hi = lo * 10;
        uint64_t found = 0;
        if (reads_back(mant, e, a)) {
            found = mant;
        } else {
            /* D reads back below a: D + 1 is the closer neighbour. */
            int below = strtod(s, NULL) < a;
            uint64_t first = below ? mant + 1 : mant - 1, second = below ? mant - 1 : mant + 1;
            if (first >= lo && first < hi && reads_back(first, e, a)) found = first;
            else if (second >= lo && second < hi && reads_back(second, e, a)) found = second;
        }
        if (!found) continue;
        int n = 0;
        char tmp[20];
        for (uint64_t m = found; m; m /= 10) tmp[n++] = (char)('0' + m % 10);
        for (int i = 0; i < n; i++) digits[i] = tmp[n - 1 - i];
        *exp10 = e + n;
        while (n > 1 && digits[n - 1] == '0') n--;
        return n;
    }
    return 0;   /* not reached: 17 correctly rounded digits always read back */
}

/* The decimal digits of m, written leftwards to end at end; returns the
 * first. Eight digits at a time are split off the 64-bit value (at most
 * two such divisions), and the rest is done in 32-bit pairs: 32-bit
 * divisions by constants are cheaper, and the four pairs of a block come
 * from divisions that do not wait on one another. */
static char *digits_of(uint64_t m, char *end)
{
    char *q = end;
    while (m >= 100000000) {
        uint32_t lo = (uint32_t)(m % 100000000), a = lo / 10000, b = lo % 10000;
        m /= 100000000;
        memcpy(q - 2, pairs + 2 * (b % 100), 2);
        memcpy(q - 4, pairs + 2 * (b / 100), 2);
        memcpy(q - 6, pairs + 2 * (a % 100), 2);
        memcpy(q - 8, pairs + 2 * (a / 100), 2);
        q -= 8;
    }
    uint32_t r = (uint32_t)m;
    while (r >= 100) {
        q -= 2;
        memcpy(q, pairs + 2 * (r % 100), 2);
        r /= 100;
    }
    if (r >= 10) {
        q -= 2;
        memcpy(q, pairs + 2 * r, 2);
    } else {
        *--q = (char)('0' + r);
    }
    return q;
}

int dtoa_shortest(double v, char digits[17], int *exp10)
{
    int e;
    uint64_t m = shortest(v < 0 ? -v : v, &e);
    while (m % 10 == 0) {   /* a decimal integer keeps no trailing zeros */
        m /= 10;
        e++;
    }
    char tmp[20], *q = digits_of(m, tmp + sizeof tmp);
    int n = (int)(tmp + sizeof tmp - q);
    memcpy(digits, q, (size_t)n);
    *exp10 = e + n;
    return n;
}

/* The JSON form of |v| from its shortest digits d[0..n) and exponent k. */
static size_t json_digits(const char *d, int n, int k, char *p)
{
    char *start = p;
    if (k > 0 && k <= 21) {                       /* ddd.ddd or ddd000.0 */
        if (n <= k) {
            memcpy(p, d, (size_t)n);
            memset(p + n, '0', (size_t)(k - n));
            p += k;
            memcpy(p, ".0", 2);
            p += 2;
        } else {
            memcpy(p, d, (size_t)k);
            p[k] = '.';
            memcpy(p + k + 1, d + k, (size_t)(n - k));
            p += n + 1;
        }
    } else if (k <= 0 && k > -5) {                /* 0.000ddd */
        memcpy(p, "0.", 2);
        memset(p + 2, '0', (size_t)-k);
        memcpy(p + 2 - k, d, (size_t)n);
        p += 2 - k + n;
    } else {                                      /* d.ddde-XX */
        *p++ = d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(n - 1));
            p += n - 1;
        }
        p += snprintf(p, 8, "e%d", k - 1);
    }
    *p = '\0';
    return (size_t)(p - start);
}

static size_t json_of(double v, char *out, int fast)
{
    if (v != v || v - v != 0) return 0;          /* NaN or infinite */
    char *p = out;
    if (v < 0 || (v == 0 && 1 / v < 0)) *p++ = '-';
    if (v == 0) {
        memcpy(p, "0.0", 4);
        return (size_t)(p - out) + 3;
    }
    double a = v < 0 ? -v : v;
    char d[17];
    int k, n;
    if (fast && a < 9007199254740992.0 && a == (double)(int64_t)a) {
        /* An integer below 2^53: its digits are the shortest form (fixed
         * notation, as below for k <= 21), without the search. */
        char tmp[20], *e = tmp + sizeof tmp, *q = digits_of((uint64_t)a, e);
        memcpy(p, q, (size_t)(e - q));
        p += e - q;
        memcpy(p, ".0", 3);
        return (size_t)(p - out) + 2;
    }
    n = fast ? dtoa_shortest(a, d, &k) : dtoa_shortest_slow(a, d, &k);
    return (size_t)(p - out) + json_digits(d, n, k, p);
}

size_t dtoa_json(double v, char *out)
{
    return json_of(v, out, 1);
}

size_t dtoa_json_slow(double v, char *out)
{
    return json_of(v, out, 0);
}
