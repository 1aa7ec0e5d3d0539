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
#include "gpu/layout.h"

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

/* Articles are scanned on the device in segments of at least SEG_BYTES,
 * searching at most SEG_WINDOW bytes past each nominal boundary for a cut
 * (see dhatu_gpu_segment). */
#define DHATU_GPU_SEG_BYTES  4096
#define DHATU_GPU_SEG_WINDOW 512

/* The most segments a chunk of `articles` articles and `bytes` bytes makes. */
#define DHATU_GPU_MAX_SEGS(articles, bytes) ((articles) + (bytes) / DHATU_GPU_SEG_BYTES + 1)

/* Device bytes per slot for each article and for each text byte, beyond the
 * text itself: offsets, language mask, record, seed digests, segment tables. */
#define DHATU_GPU_SEG_DEVICE_BYTES (8 + 4 + 4 * SEG_WORDS) /* offset, article, counts */
#define DHATU_GPU_SLOT_PER_ARTICLE (8 + 4 + sizeof(dhatu_record) + 9 * 4 + 4 + DHATU_GPU_SEG_DEVICE_BYTES)

/* Sizes one of nslots device slots from budget bytes (of which `maxalloc`,
 * if not 0, bounds one buffer): *articles = batch_max_articles, *text as many
 * bytes as the budget leaves, at most one batch, and *maxseg. Returns
 * DHATU_OK, or DHATU_ERR_UNAVAILABLE naming `who` when the budget cannot
 * hold the longest article. */
dhatu_status dhatu_gpu_slot_size(const dhatu_config *cfg, size_t budget, size_t maxalloc, int nslots, const char *who,
                                 size_t *articles, size_t *text, size_t *maxseg, char *errstr, size_t errstr_size);

/* Cuts articles [a, z) of b into segments for the device's scan kernel.
 * A cut falls just after an ASCII byte of class SEP (punctuation, controls):
 * no token and no multi-word term continues across one, so the counts of an
 * article are exactly the sums over its segments. Each segment but an
 * article's last has at least DHATU_GPU_SEG_BYTES; where no such byte lies
 * within DHATU_GPU_SEG_WINDOW of a boundary, the segment simply grows (host
 * work stays a small fraction of the bytes, whatever the text).
 * Fills seg_off[0 .. nseg] (batch offsets; seg_off[nseg] = offsets[z]),
 * seg_art[s] (article index minus a) and seg_first[0 .. z - a] (each
 * article's first segment; seg_first[z - a] = nseg). Returns nseg, at most
 * DHATU_GPU_MAX_SEGS(z - a, offsets[z] - offsets[a]). Can't fail. */
size_t dhatu_gpu_segment(const dhatu_batch_view *b, size_t a, size_t z, uint64_t *seg_off, uint32_t *seg_art,
                         uint32_t *seg_first);

#endif
