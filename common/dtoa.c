/* dtoa.c -- see dtoa.h. */
#include "dtoa.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pow10_cache.h"

typedef struct diyfp { uint64_t f; int e; } diyfp;   /* f x 2^e */

/* The upper 64 bits of the 128-bit product, rounded. */
static diyfp mul(diyfp a, diyfp b)
{
    unsigned __int128 p = (unsigned __int128)a.f * b.f;
    uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
    return (diyfp){ hi + (lo >> 63), a.e + b.e + 64 };
}

static diyfp normalize(diyfp x)
{
    int s = __builtin_clzll(x.f);
    return (diyfp){ x.f << s, x.e - s };
}

/* v = f x 2^e exactly, f with the hidden bit. */
static diyfp decompose(double v, int *lower_closer)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & ((1ULL << 52) - 1);
    int bexp = (int)((bits >> 52) & 0x7ff);
    if (bexp == 0) {                     /* subnormal */
        *lower_closer = 0;
        return (diyfp){ frac, 1 - 1075 };
    }
    *lower_closer = frac == 0 && bexp > 1;
    return (diyfp){ frac | 1ULL << 52, bexp - 1075 };
}

/* The largest power of ten <= n (n < 2^32), and its exponent plus one. */
static void biggest_pow10(uint32_t n, uint32_t *power, int *exp_plus_one)
{
    static const uint32_t p10[10] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                      1000000000 };
    *power = 0;
    *exp_plus_one = 0;
    for (int i = 0; i < 10 && n >= p10[i]; i++) {
        *power = p10[i];
        *exp_plus_one = i + 1;
    }
}

/* Grisu3's last-digit correction: moves the last digit towards w while that
 * stays inside the safe interval, then says whether the result is provably
 * the closest shortest one. */
static int round_weed(char *buf, int len, uint64_t dist_high_w, uint64_t unsafe, uint64_t rest, uint64_t ten_kappa,
                      uint64_t unit)
{
    uint64_t small = dist_high_w - unit, big = dist_high_w + unit;
    while (rest < small && unsafe - rest >= ten_kappa &&
           (rest + ten_kappa < small || small - rest >= rest + ten_kappa - small)) {
        buf[len - 1]--;
        rest += ten_kappa;
    }
    if (rest < big && unsafe - rest >= ten_kappa &&
        (rest + ten_kappa < big || big - rest > rest + ten_kappa - big))
        return 0;
    return 2 * unit <= rest && rest <= unsafe - 4 * unit;
}

/* Digits of w within (low, high), scaled so that high's exponent is in
 * [-60, -32]. 1 when proven shortest and closest. */
static int digit_gen(diyfp low, diyfp w, diyfp high, char *buf, int *len, int *kappa)
{
    uint64_t unit = 1;
    diyfp too_low = { low.f - unit, low.e }, too_high = { high.f + unit, high.e };
    uint64_t unsafe = too_high.f - too_low.f;
    int shift = -w.e;
    uint64_t one = 1ULL << shift;
    uint32_t integrals = (uint32_t)(too_high.f >> shift);
    uint64_t fractionals = too_high.f & (one - 1);
    uint32_t divisor;
    biggest_pow10(integrals, &divisor, kappa);
    *len = 0;
    while (*kappa > 0) {
        buf[(*len)++] = (char)('0' + integrals / divisor);
        integrals %= divisor;
        (*kappa)--;
        uint64_t rest = ((uint64_t)integrals << shift) + fractionals;
        if (rest < unsafe)
            return round_weed(buf, *len, too_high.f - w.f, unsafe, rest, (uint64_t)divisor << shift, unit);
        divisor /= 10;
    }
    for (;;) {
        fractionals *= 10;
        unit *= 10;
        unsafe *= 10;
        buf[(*len)++] = (char)('0' + (fractionals >> shift));
        fractionals &= one - 1;
        (*kappa)--;
        if (fractionals < unsafe)
            return round_weed(buf, *len, (too_high.f - w.f) * unit, unsafe, fractionals, one, unit);
        if (*len == 17) return 0;       /* cannot happen for a proven result; be safe */
    }
}

static int grisu3(double v, char *buf, int *len, int *exp10)
{
    int lower_closer;
    diyfp x = decompose(v, &lower_closer);
    diyfp w = normalize(x);
    diyfp hi = normalize((diyfp){ (x.f << 1) + 1, x.e - 1 });
    diyfp lo = lower_closer ? (diyfp){ (x.f << 2) - 1, x.e - 2 } : (diyfp){ (x.f << 1) - 1, x.e - 1 };
    lo.f <<= lo.e - hi.e;
    lo.e = hi.e;
    /* A cached 10^k with alpha <= w.e + e_k + 64 <= gamma (alpha -60, gamma -32). */
    int min_e = -60 - (w.e + 64);
    int k = (int)__builtin_ceil((min_e + 63) * 0.30102999566398114);
    int index = (348 + k - 1) / 8 + 1;
    if (index < 0 || index >= (int)(sizeof pow10_cache / sizeof pow10_cache[0])) return 0;
    diyfp c = { pow10_cache[index].f, pow10_cache[index].e };
    int mk = pow10_cache[index].k;
    int kappa;
    int ok = digit_gen(mul(lo, c), mul(w, c), mul(hi, c), buf, len, &kappa);
    *exp10 = -mk + kappa + *len;    /* 0.d1..dn x 10^exp10 */
    return ok;
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

int dtoa_shortest(double v, char digits[17], int *exp10)
{
    int n;
    if (grisu3(v < 0 ? -v : v, digits, &n, exp10)) return n;
    return dtoa_shortest_slow(v, digits, exp10);
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
         * notation, as below for k <= 21), without Grisu. */
        char tmp[20], *e = tmp + sizeof tmp, *q = e;
        uint64_t u = (uint64_t)a;
        do *--q = (char)('0' + u % 10); while (u /= 10);
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
