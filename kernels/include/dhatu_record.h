/* dhatu_record.h -- the dhātu record and the names of the dhātus: what
 * travels between the engine, the wire formats and the tools.
 *
 * Contract: plain data and one pure function, with no dependency on the
 * engine (no OpenSSL, no threads), so that programs that only read or
 * write records (dhatu-producer, dhatu-dump, the schemas library) do not
 * link the engine. dhatu.h includes this header.
 */
#ifndef DHATU_RECORD_H
#define DHATU_RECORD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DHATU_VERSION_STRING "0.1.0"

#define DHATU_NDHATU  9  /* RELATE MODAL EXIST EVAL COMM CAUSE ITER DECIDE FEEL */
#define DHATU_NPRIMES 10 /* 2 3 5 7 11 13 17 19 23 29 */

typedef enum dhatu_polarity {
    DHATU_POL_NONE = 0,
    DHATU_POL_POSITIVE = 1,
    DHATU_POL_NEGATIVE = 2
} dhatu_polarity;

/* One article's result. Plain data, fixed size, no pointers: GPU backends
 * fill arrays of it directly. Fields the seed model does not compute
 * (counts, polarity, intensity, confidence, signature) are zero for it. */
typedef struct dhatu_record {
    double   weights[DHATU_NDHATU];     /* L1-normalised; all 0 without evidence */
    double   confidence[DHATU_NDHATU];  /* min(1, 50 * density) */
    double   prime_bases[DHATU_NPRIMES];
    double   ambiguity;                 /* H(weights) / ln 9; 0 without evidence */
    uint64_t tokens;                    /* word and symbol tokens */
    uint64_t signature;                 /* sum of digit[d] * 30^d */
    uint32_t positive[DHATU_NDHATU];
    uint32_t negative[DHATU_NDHATU];
    uint8_t  polarity[DHATU_NDHATU];    /* dhatu_polarity */
    uint8_t  intensity[DHATU_NDHATU];   /* 0..4 */
    int8_t   dominant;                  /* dhātu index 0..8, -1 when none */
} dhatu_record;

/* Name of dhātu i (0..8), or NULL when i is out of range. Can't fail. */
const char *dhatu_name(int i);

#ifdef __cplusplus
}
#endif
#endif /* DHATU_RECORD_H */
