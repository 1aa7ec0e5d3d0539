/* avrobin.h -- the Avro binary encoding of our own two schemas, read and
 * written directly (internal to the schemas library; the API is
 * schema_avro.h).
 *
 * Why: Avro C's generic value interface builds a value tree per message and
 * appends array items one call at a time; for a record of 57 numbers and an
 * article of a few strings that cost about 10 us per article, more than the
 * whole JSON path. Our schemas are fixed (the .avsc files in schemas/avro, built in), so
 * the hot path reads an Article and writes an Article or a DhatuRecord with
 * straight-line code: varints, strings, unions of null, arrays of 9.
 *
 * Contract: the bytes written are identical to Avro C's for the same values,
 * and the reader accepts exactly the datums that datum_check.h and Avro C
 * accept for Article (same varint limit: 10 bytes; a length or a branch out
 * of range, or trailing bytes, is refused) and yields the same values.
 * tests/test_avrobin.c proves it against Avro C on the corpora and on
 * generated edge cases, and fuzz_article compares both on every input.
 * Avro C stays for everything else: schemas, fingerprints, writer schemas
 * from a registry, reading records back (tools).
 *
 * Nothing here allocates but avrobin_read_article, which copies the strings
 * into the caller's buffer (grown only when a message is the largest yet).
 */
#ifndef SCHEMA_AVROBIN_H
#define SCHEMA_AVROBIN_H

#include <stddef.h>
#include <stdint.h>
#include "dbuf.h"
#include "schema.h"

/* Reads an Article datum (no header) of exactly len bytes into *a, whose
 * strings are copied into strings (replaced), each followed by a NUL.
 * SCHEMA_OK; SCHEMA_ERR_UNDECODABLE with *why "datum" (a length, branch or
 * varint does not fit) or "trailing" (bytes after the datum);
 * SCHEMA_ERR_NOMEM. *a is not checked for an empty id: the caller does. */
schema_status avrobin_read_article(const unsigned char *p, size_t len, dbuf *strings, schema_article *a,
                                   const char **why);

/* Upper bounds of the datum sizes, for one reserve before writing. */
size_t avrobin_article_bound(const schema_article *a);
size_t avrobin_record_bound(size_t id_len, size_t model_len, const schema_lineage *l);

/* Write the datum at out (room for the bound) and return its length. */
size_t avrobin_write_article(unsigned char *out, const schema_article *a);
size_t avrobin_write_record(unsigned char *out, const char *id, size_t id_len, const char *model,
                            size_t model_len, const dhatu_record *r, const schema_lineage *l);

#endif
