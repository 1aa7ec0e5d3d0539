/* fingerprint.h -- Avro schema identity: the Parsing Canonical Form of a
 * schema and its 64-bit CRC-64-AVRO (Rabin) fingerprint, as the Avro
 * specification defines them ("Schema Fingerprints", "Parsing Canonical
 * Form for Schemas"). Single-object encoding names a schema by this
 * fingerprint, so it must match every other Avro implementation bit for
 * bit (tests/data/avro_fingerprints.txt holds Java's). Pure functions.
 * Errors: schema.h's convention.
 */
#ifndef FINGERPRINT_H
#define FINGERPRINT_H

#include "schema.h"

/* The canonical form of a schema given as JSON, into out (replaced):
 * SCHEMA_ERR_INVALID when it is not a schema, SCHEMA_ERR_NOMEM. */
schema_status schema_avro_canonical(const char *schema_json, size_t len, dbuf *out,
                                    char *errstr, size_t errstr_size);
uint64_t schema_avro_crc64(const void *data, size_t len);

#endif
