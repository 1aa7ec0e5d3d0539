/* datum_check.h -- the hostile-input walk that runs before Avro C sees a datum.
 *
 * Avro C allocates a string's buffer from the length the message claims,
 * before checking that the bytes are there: a negative or huge length makes
 * it ask for up to 2^63 bytes (a failed allocation at best, an abort under
 * a sanitizer). schema_check_datum checks every length, union branch and
 * enum index against the schema and the bytes actually present, so a
 * hostile message costs at most its own size. Pure; allocates nothing.
 * Internal to the schemas library.
 */
#ifndef SCHEMA_CHECK_H
#define SCHEMA_CHECK_H

#include <avro.h>

/* 0 when one datum of schema s fits in [*p, end), with *p moved past it;
 * -1 when a length, branch or index does not fit (or nesting is too deep). */
int schema_check_datum(avro_schema_t s, const unsigned char **p, const unsigned char *end);

#endif
