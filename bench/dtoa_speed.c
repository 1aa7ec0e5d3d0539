/* dtoa_speed.c -- the speed of dtoa_json (common/dtoa.h) against
 * snprintf("%.17g"), the round-trip form printf offers, on the doubles a
 * record holds (weights in [0, 1), ratios of small integers) and on random
 * bit patterns. A benchmark for bench/dtoa.sh: it prints ns per double and
 * checks nothing (test_dtoa does that).
 *
 * usage: dhatu-dtoa-speed [COUNT]   (default 10 million per kind)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "dtoa.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)   /* xorshift64*: reproducible, no libc state */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

/* ns per double for dtoa_json (use_printf 0) or snprintf over vals[0..n). */
static double run(const double *vals, size_t n, int use_printf, size_t *bytes)
{
    char out[DTOA_JSON_MAX];
    size_t total = 0;
    double t0 = clk_now_s();
    for (size_t i = 0; i < n; i++)
        total += use_printf ? (size_t)snprintf(out, sizeof out, "%.17g", vals[i]) : dtoa_json(vals[i], out);
    double t = clk_now_s() - t0;
    *bytes = total;  /* used, so the loop is not optimised away */
    return t * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    double *vals = malloc(n * sizeof *vals);
    if (!vals || n == 0) {
        fprintf(stderr, "dhatu-dtoa-speed: cannot hold %zu doubles\n", n);
        return 1;
    }
    static const char *kinds[] = {"weights in [0, 1)", "ratios a/b, b <= 64", "random bit patterns"};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t r = next();
            double v;
            if (k == 0) v = (double)(r >> 11) * 0x1.0p-53;
            else if (k == 1) v = (double)(r % 257) / (double)(1 + (r >> 32) % 64);
            else {
                do r = next(); while (((r >> 52) & 0x7FF) == 0x7FF);  /* finite only */
                memcpy(&v, &r, sizeof v);
            }
            vals[i] = v;
        }
        size_t b1, b2;
        double fast = run(vals, n, 0, &b1), slow = run(vals, n, 1, &b2);
        printf("%-22s dtoa_json %6.1f ns (%4.1f bytes), snprintf %%.17g %6.1f ns (%4.1f bytes): %.1fx\n", kinds[k],
               fast, (double)b1 / (double)n, slow, (double)b2 / (double)n, slow / fast);
    }
    free(vals);
    return 0;
}
