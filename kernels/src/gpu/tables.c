/* gpu/tables.c -- see gpu/tables.h. */
#include "gpu/tables.h"
#include "gpu/layout.h"
#include "gpu/selftest.h"
#include "alloc.h"
#include "error.h"
#include "unicode.h"
#include <string.h>

dhatu_status dhatu_gpu_tables_build(const dhatu_lexicon *lex, uint32_t **words, size_t *nwords,
                                    char *errstr, size_t n)
{
    const dhatu_unicode_tables *u = dhatu_unicode_get_tables();
    /* The seed model counts tokens only: a one-node lexicon that matches nothing. */
    uint32_t nnodes = lex ? lex->nnodes : 2, ncls = lex ? lex->nclasses : 1;
    uint32_t nterms = lex ? lex->nterms : 0, ncues = lex ? lex->ncues : 0;
    uint64_t total = T_HEADER_WORDS + 2 * (uint64_t)u->direct + 2 * (uint64_t)u->nranges + 2 * (uint64_t)u->nfolds +
                     256 + (uint64_t)nnodes * ncls + 2 * (uint64_t)nnodes + 3 * (uint64_t)nterms + 2 * (uint64_t)ncues +
                     128;
    if (total > UINT32_MAX || nnodes >= (1u << 30))
        return dhatu_set_error(errstr, n, DHATU_ERR_LEXICON, "gpu: the lexicon's tables exceed 4 G words");
    uint32_t *t = dhatu_calloc((size_t)total, sizeof *t);
    if (!t) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "gpu: out of memory for the device tables");
    uint32_t w = T_HEADER_WORDS;
#define SECTION(idx, count) (t[idx] = w, w += (uint32_t)(count), t + t[idx])
    uint32_t *cd = SECTION(T_CLASS_DIRECT, u->direct);
    uint32_t *fd = SECTION(T_FOLD_DIRECT, u->direct);
    for (size_t i = 0; i < u->direct; i++) { cd[i] = u->class_direct[i]; fd[i] = u->fold_direct[i]; }
    t[T_DIRECT] = (uint32_t)u->direct;
    uint32_t *rs = SECTION(T_RANGE_START, u->nranges);
    uint32_t *rc = SECTION(T_RANGE_CLASS, u->nranges);
    for (size_t i = 0; i < u->nranges; i++) { rs[i] = u->range_start[i]; rc[i] = u->range_class[i]; }
    t[T_NRANGES] = (uint32_t)u->nranges;
    uint32_t *ff = SECTION(T_FOLD_FROM, u->nfolds);
    uint32_t *ft = SECTION(T_FOLD_TO, u->nfolds);
    for (size_t i = 0; i < u->nfolds; i++) { ff[i] = u->fold_from[i]; ft[i] = u->fold_to[i]; }
    t[T_NFOLDS] = (uint32_t)u->nfolds;
    uint32_t *bc = SECTION(T_BYTE_CLASS, 256);
    t[T_NCLASSES] = ncls;
    t[T_SEP_CLASS] = lex ? lex->sep_class : 0;
    uint32_t *next = SECTION(T_NEXT, (uint64_t)nnodes * ncls);
    uint32_t *exact = SECTION(T_EXACT, nnodes);
    uint32_t *stem = SECTION(T_STEM, nnodes);
    uint32_t *live = SECTION(T_TERM_LIVE, nterms);
    uint32_t *cue0 = SECTION(T_TERM_CUE0, nterms);
    uint32_t *ncue = SECTION(T_TERM_NCUE, nterms);
    uint32_t *cmask = SECTION(T_CUE_MASK, ncues);
    uint32_t *ccode = SECTION(T_CUE_CODE, ncues);
    uint32_t *ascii = SECTION(T_ASCII_TRIE, 128);
#undef SECTION
    if (lex) {
        for (int b = 0; b < 256; b++) bc[b] = lex->byte_class[b];
        /* States carry whether a term ends at the child (layout.h). */
        for (size_t i = 0; i < (size_t)nnodes * ncls; i++) {
            uint32_t child = lex->next[i];
            next[i] = child ? child << 2 | (lex->stem[child] >= 0 ? ST_STEM : 0) | (lex->exact[child] >= 0 ? ST_EXACT : 0)
                            : 0;
        }
        for (uint32_t i = 0; i < nnodes; i++) {
            exact[i] = (uint32_t)lex->exact[i]; /* -1 becomes NO_TERM (all ones) */
            stem[i] = (uint32_t)lex->stem[i];
        }
        for (uint32_t i = 0; i < nterms; i++) {
            live[i] = lex->terms[i].livemask;
            cue0[i] = lex->terms[i].cue_first;
            ncue[i] = lex->terms[i].cue_count;
        }
        for (uint32_t i = 0; i < ncues; i++) {
            cmask[i] = lex->cues[i].langmask;
            ccode[i] = lex->cues[i].dhatu | (uint32_t)lex->cues[i].negative << 8;
        }
    } else {
        for (uint32_t i = 0; i < nnodes; i++) exact[i] = stem[i] = 0xFFFFFFFFu;
    }
    for (uint32_t b = 0; b < 128; b++)
        ascii[b] = dhatu_uni_class(b) == DHATU_CC_WORD ? (lex ? lex->byte_class[dhatu_uni_fold(b)] : 0) : ASCII_NOT_WORD;
    *words = t;
    *nwords = w;
    return DHATU_OK;
}

dhatu_status dhatu_gpu_slot_size(const dhatu_config *cfg, size_t budget, size_t maxalloc, int nslots, const char *who,
                                 size_t *articles, size_t *text, size_t *maxseg, char *errstr, size_t n)
{
    size_t arts = cfg->batch_max_articles;
    size_t batch = cfg->batch_max_bytes > cfg->max_article_bytes ? cfg->batch_max_bytes : cfg->max_article_bytes;
    size_t per_slot = budget / (size_t)nslots, fixed = (arts + 1) * DHATU_GPU_SLOT_PER_ARTICLE;
    /* Text room: what the budget leaves after the per-article parts and
     * the segments of the text, at most a whole batch, at least the
     * longest article (anything smaller could not run it). */
    size_t t = per_slot > fixed ? (size_t)((double)(per_slot - fixed) * DHATU_GPU_SEG_BYTES /
                                           (DHATU_GPU_SEG_BYTES + DHATU_GPU_SEG_DEVICE_BYTES)) : 0;
    if (t > batch) t = batch;
    if (maxalloc && t > maxalloc) t = maxalloc;
    if (t < cfg->max_article_bytes)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE,
                               "%s: %zu bytes of device memory cannot hold %d slots of one %zu-byte article "
                               "and %zu articles each (raise device_memory or lower max_article_bytes)",
                               who, budget, nslots, cfg->max_article_bytes, arts);
    *articles = arts;
    *text = t;
    *maxseg = DHATU_GPU_MAX_SEGS(arts, t);
    return DHATU_OK;
}

size_t dhatu_gpu_chunk_end(const dhatu_batch_view *b, size_t first, size_t max_articles, size_t max_bytes)
{
    size_t last = first + 1; /* one article always fits */
    while (last < b->n && last - first < max_articles && b->offsets[last + 1] - b->offsets[first] <= max_bytes)
        last++;
    return last;
}

size_t dhatu_gpu_chunk_target(const dhatu_batch_view *b, size_t min_bytes, size_t slot_bytes)
{
    size_t bytes = (size_t)b->offsets[b->n];
    size_t target = bytes / 4 > min_bytes ? bytes / 4 : min_bytes;
    return target < slot_bytes ? target : slot_bytes;
}

size_t dhatu_gpu_segment(const dhatu_batch_view *b, size_t a, size_t z, uint64_t *seg_off, uint32_t *seg_art,
                         uint32_t *seg_first)
{
    const unsigned char *s = (const unsigned char *)b->text;
    const uint64_t seg = DHATU_GPU_SEG_BYTES;
    size_t ns = 0;
    for (size_t i = a; i < z; i++) {
        uint64_t start = b->offsets[i], end = b->offsets[i + 1];
        seg_first[i - a] = (uint32_t)ns;
        seg_off[ns] = start;
        seg_art[ns++] = (uint32_t)(i - a);
        /* Look for a cut from `from` on; keep at least `seg` bytes after it. */
        for (uint64_t from = start + seg; from + seg <= end;) {
            uint64_t lim = from + DHATU_GPU_SEG_WINDOW < end - seg ? from + DHATU_GPU_SEG_WINDOW : end - seg;
            uint64_t q = from;
            while (q < lim && (s[q] >= 0x80 || dhatu_uni_class(s[q]) != DHATU_CC_SEP)) q++;
            if (q == lim) { from += seg; continue; } /* none here: the segment grows */
            seg_off[ns] = q + 1;
            seg_art[ns++] = (uint32_t)(i - a);
            from = q + 1 + seg;
        }
    }
    seg_first[z - a] = (uint32_t)ns;
    seg_off[ns] = b->offsets[z];
    return ns;
}

static int inject_countdown; /* tests only (gpu/selftest.h) */

void dhatu_gpu_inject_failure(int k) { inject_countdown = k; }

int dhatu_gpu_injected_failure(void)
{
    return inject_countdown > 0 && --inject_countdown == 0;
}
