/* dtoa.h -- the shortest decimal form of a double that reads back as the
 * same double, for JSON output without printf.
 *
 * dtoa_shortest finds the fewest significant digits that strtod turns back
 * into v, and among those the closest to v, after Ryu (U. Adams, PLDI
 * 2018): one 125-bit power of five per double and 128-bit integer
 * arithmetic, exact for every double, no fallback (it replaced Grisu3,
 * whose 0.5% of unproven doubles went to printf and strtod). A slow exact
 * search (1..17 digits with snprintf and strtod) stays for the tests: the
 * two must agree digit for digit. dtoa_json writes the number as JSON:
 * fixed notation for decimal exponents -5..20, else d.ddde±x; always a '.'
 * or an 'e', so a reader sees a real ("1.0", "0.0", "-0.0").
 *
 * Pure functions, thread-safe, no allocation. Non-finite values have no
 * JSON form: dtoa_json returns 0 for them.
 */
#ifndef DTOA_H
#define DTOA_H

#include <stddef.h>

#define DTOA_JSON_MAX 32   /* longest dtoa_json output, NUL included */

/* Digits of |v| (v finite, non-zero) into digits[0..n) (at most 17, no
 * NUL) and *exp10 with |v| ~= 0.d1d2...dn x 10^exp10. Returns n. */
int dtoa_shortest(double v, char digits[17], int *exp10);
/* The same by the exact fallback alone (for tests). */
int dtoa_shortest_slow(double v, char digits[17], int *exp10);

/* v as a JSON number into out (DTOA_JSON_MAX bytes), NUL-terminated.
 * Returns the length, or 0 when v is NaN or infinite. */
size_t dtoa_json(double v, char *out);
/* The same from the exact search's digits alone, no fast path (for tests:
 * dtoa_json must write the same bytes). */
size_t dtoa_json_slow(double v, char *out);

#endif
