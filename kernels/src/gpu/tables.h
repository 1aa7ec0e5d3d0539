/* gpu/tables.h -- the flat tables the GPU kernels read, built once per engine.
 *
 * One blob of 32-bit words: a header of section offsets and counts
 * (T_* in gpu/device.h), then the Unicode class and fold tables
 * (unicode_tables.h) and the compiled lexicon (lexicon.h) with terms and cues
 * split into plain arrays, so that no struct layout crosses the bus. Both GPU
 * backends upload it as is into one read-only buffer.
 * Also here: how a batch is cut into chunks that fit a device slot.
 */
#ifndef DHATU_GPU_TABLES_H
#define DHATU_GPU_TABLES_H

#include "dhatu_impl.h"

/* Builds the blob for lex (NULL: the seed model, Unicode tables only).
 * Returns DHATU_OK and sets *words (free with dhatu_free) and *nwords, or
 * DHATU_ERR_NOMEM / DHATU_ERR_LEXICON (a table too large for 32-bit offsets). */
dhatu_status dhatu_gpu_tables_build(const dhatu_lexicon *lex, uint32_t **words, size_t *nwords,
                                    char *errstr, size_t errstr_size);

/* The end of the chunk that starts at article `first`: as many articles as
 * fit max_articles and max_bytes of text, and at least one (the caller sized
 * max_bytes >= max_article_bytes, so one article always fits). Can't fail. */
size_t dhatu_gpu_chunk_end(const dhatu_batch_view *b, size_t first, size_t max_articles, size_t max_bytes);

/* The chunk size in bytes a batch is cut into: small enough that copy-in,
 * compute and copy-out of successive chunks overlap (about a quarter of the
 * batch), large enough to fill the device (min_bytes), at most slot_bytes. */
size_t dhatu_gpu_chunk_target(const dhatu_batch_view *b, size_t min_bytes, size_t slot_bytes);

#endif
