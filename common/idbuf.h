/* idbuf.h -- the ids of a batch's articles, kept beside the batch.
 *
 * The engine's batch holds texts, not ids; a program that writes records
 * keeps id i of the batch here, in the order the articles were added, and
 * resets both together. Ids may hold any bytes; each is stored followed by
 * a NUL byte (the record encoders require it). A NULL string may be kept
 * too (an absent optional field: a record's lang or source) and reads
 * back as NULL.
 *
 * Ownership: idbuf_init allocates for at most max_ids ids; idbuf_free
 * releases. Errors: 0, or -1 (out of memory, or max_ids reached). Memory:
 * the id text grows once to the largest batch seen, then is reused.
 */
#ifndef IDBUF_H
#define IDBUF_H

#include <stddef.h>
#include "dbuf.h"

typedef struct idbuf {
    dbuf text;                /* ids back to back, each NUL-terminated */
    size_t *off, *len;
    size_t n, max;
} idbuf;

int idbuf_init(idbuf *ib, size_t max_ids);
int idbuf_push(idbuf *ib, const char *id, size_t len);   /* id NULL: an absent string */
static inline size_t idbuf_count(const idbuf *ib) { return ib->n; }
/* Id i (< idbuf_count), NUL-terminated; its length in *len; NULL (and 0)
 * when NULL was pushed. */
static inline const char *idbuf_get(const idbuf *ib, size_t i, size_t *len)
{
    *len = ib->len[i] == (size_t)-1 ? 0 : ib->len[i];
    return ib->len[i] == (size_t)-1 ? NULL : ib->text.data + ib->off[i];
}
void idbuf_reset(idbuf *ib);          /* can't fail */
void idbuf_free(idbuf *ib);           /* accepts a zeroed one */

#endif
