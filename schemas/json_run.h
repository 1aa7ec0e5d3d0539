/* json_run.h -- the one hot loop that JSON strings share, reading and
 * writing: how many bytes at p stand for themselves in a JSON string
 * (printable ASCII other than '"' and '\\'). Everything else -- an escape,
 * the closing quote, a control character, a UTF-8 sequence -- is for the
 * caller's slow path, so this only has to find the first such byte.
 *
 * SSE2 (part of every x86-64) looks at 16 bytes a step: one signed compare
 * below 0x20 catches the control characters and, as negative bytes, every
 * byte of 0x80 and up. Other CPUs, and the last 15 bytes, go byte by byte.
 * Reads only [p, end). */
#ifndef JSON_RUN_H
#define JSON_RUN_H

#include <stddef.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline size_t json_plain_run(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - q >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i stop = _mm_or_si128(_mm_cmplt_epi8(x, space),
                                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)));
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        if (m) return (size_t)(q - p) + (size_t)__builtin_ctz(m);
        q += 16;
    }
#endif
    while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\') q++;
    return (size_t)(q - p);
}

#endif
