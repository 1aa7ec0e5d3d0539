/* finish.h -- from evidence to a complete dhātu record.
 *
 * Every backend ends an article here, so weights, polarity, intensity,
 * confidence, signature, prime bases and ambiguity are computed by one piece
 * of code (docs/RECORD.md states the formulas). Header-only and written in
 * the C subset that OpenCL C and CUDA accept: define DHATU_FINISH_FN (e.g.
 * "__device__ static inline") and DHATU_FINISH_RECORD (the record type as
 * the device sees it) before including it there.
 * Pure functions: thread-safe, can't fail.
 */
#ifndef DHATU_FINISH_H
#define DHATU_FINISH_H

#ifndef DHATU_FINISH_FN
#include <math.h>
#include <stdint.h>
#include "dhatu.h"
#define DHATU_FINISH_FN static inline
#define DHATU_FINISH_RECORD dhatu_record
#endif

/* Density thresholds of intensity levels 4, 3, 2 (level 1: any evidence). */
#define DHATU_INTENSITY_T4 0.02
#define DHATU_INTENSITY_T3 0.01
#define DHATU_INTENSITY_T2 0.005

/* dominant, prime bases and ambiguity from r->weights (already normalised). */
DHATU_FINISH_FN void dhatu_finish_from_weights(DHATU_FINISH_RECORD *r)
{
    const double primes[10] = { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29 };
    int dominant = -1;
    double best = 0.0;
    for (int i = 0; i < 9; i++) {
        if (r->weights[i] > best) { best = r->weights[i]; dominant = i; }
    }
    r->dominant = (int8_t)dominant;
    for (int k = 0; k < 10; k++) {
        /* p^(i mod p), built by exact multiplications: every power used
         * (at most 29^8) is an integer below 2^53. */
        double sum = 0.0, pw = 1.0;
        int e = 0;
        for (int i = 0; i < 9; i++) {
            sum += r->weights[i] * pw;
            e++;
            if ((double)e == primes[k]) { e = 0; pw = 1.0; }
            else pw *= primes[k];
        }
        r->prime_bases[k] = sum;
    }
    double h = 0.0;
    for (int i = 0; i < 9; i++)
        if (r->weights[i] > 0.0) h -= r->weights[i] * log(r->weights[i]);
    r->ambiguity = dominant < 0 ? 0.0 : h / log(9.0);
}

/* Seed model: raw[d] = h[0]+h[5]+h[13]+h[21]+h[29] of SHA-256("D::" text).
 * The prototype divides each by 1024, then by their sum; dividing the
 * integers by their integer sum gives the same doubles exactly. */
DHATU_FINISH_FN void dhatu_finish_seed(DHATU_FINISH_RECORD *r, const uint32_t raw[9])
{
    uint32_t sum = 0;
    for (int i = 0; i < 9; i++) sum += raw[i];
    for (int i = 0; i < 9; i++)
        r->weights[i] = sum ? (double)raw[i] / (double)sum : 0.0;
    dhatu_finish_from_weights(r);
}

/* Lexicon model: r->positive, r->negative and r->tokens are set. */
DHATU_FINISH_FN void dhatu_finish_lexicon(DHATU_FINISH_RECORD *r)
{
    uint64_t total = 0;
    uint64_t sig = 0, radix = 1;
    for (int i = 0; i < 9; i++) total += (uint64_t)r->positive[i] + r->negative[i];
    for (int i = 0; i < 9; i++) {
        uint64_t ev = (uint64_t)r->positive[i] + r->negative[i];
        double density = r->tokens ? (double)ev / (double)r->tokens : 0.0;
        int intensity = density >= DHATU_INTENSITY_T4 ? 4
                      : density >= DHATU_INTENSITY_T3 ? 3
                      : density >= DHATU_INTENSITY_T2 ? 2
                      : density > 0.0 ? 1 : 0;
        int polarity = r->positive[i] > r->negative[i] ? 1
                     : r->negative[i] > r->positive[i] ? 2 : 0;
        r->weights[i] = total ? (double)ev / (double)total : 0.0;
        r->intensity[i] = (uint8_t)intensity;
        r->polarity[i] = (uint8_t)polarity;
        r->confidence[i] = density * 50.0 < 1.0 ? density * 50.0 : 1.0;
        sig += (uint64_t)((ev ? 1 : 0) + 2 * polarity + 6 * intensity) * radix;
        radix *= 30;
    }
    r->signature = sig;
    dhatu_finish_from_weights(r);
}

#endif
