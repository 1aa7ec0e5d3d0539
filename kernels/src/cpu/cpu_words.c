/* cpu_words.c -- see cpu_words.h. Load time only. */
#include "cpu/cpu_words.h"
#include "alloc.h"
#include <string.h>

typedef struct dfs {
    cpu_words *w;
    const dhatu_lexicon *lex;
    uint32_t stride;
    unsigned char letters[256]; /* the bytes the trie knows (folded text) */
    int nletters;
    unsigned char key[CPU_WORD_KEY];
    int32_t path_stems[CPU_WORD_KEY]; /* stems on the current path, shallow first */
    uint32_t npath_stems;
    uint32_t count;   /* pass 1: entries to insert */
    unsigned min_stem;
    int insert;       /* 0: count (pass 1), 1: insert (pass 2) */
} dfs;

static int interesting(const dfs *d, uint32_t node)
{
    const dhatu_lexicon *lex = d->lex;
    return lex->exact[node] >= 0 || d->npath_stems ||
           lex->next[(size_t)node * lex->nclasses + lex->sep_class] != 0;
}

static void insert(dfs *d, uint32_t node)
{
    cpu_words *w = d->w;
    uint64_t k[4];
    memcpy(k, d->key, sizeof k);
    uint64_t h = cpu_word_hash(k);
    uint32_t b = cpu_word_bloom(k[0], (unsigned)strlen((const char *)d->key));
    w->word_bits[b >> 6] |= 1ull << (b & 63);
    uint32_t i = (uint32_t)(h >> w->shift);
    while (w->keys[i][0]) i = (i + 1) & w->mask; /* keys are distinct paths */
    memcpy(w->keys[i], d->key, CPU_WORD_KEY);
    cpu_word_entry *e = &w->vals[i];
    e->state = cpu_state_of(d->lex, node, d->stride);
    e->exact = d->lex->exact[node];
    if (d->npath_stems > CPU_WORD_STEMS) {
        e->nstems = CPU_WORD_WALK;
    } else {
        e->nstems = d->npath_stems;
        for (uint32_t s = 0; s < d->npath_stems; s++) e->stems[s] = d->path_stems[d->npath_stems - 1 - s];
    }
    w->nwords++;
}

/* Visits every node reachable from the root by the bytes of words, with the
 * path in d->key[0..depth-1]. Depth is bounded by the key (the recursion
 * with it). */
static void visit(dfs *d, uint32_t node, unsigned depth)
{
    const dhatu_lexicon *lex = d->lex;
    int stem_here = depth && lex->stem[node] >= 0;
    if (stem_here) {
        d->path_stems[d->npath_stems++] = lex->stem[node];
        if (depth < d->min_stem) d->min_stem = depth;
        if (d->insert) {
            cpu_words *w = d->w;
            uint64_t k[4];
            memcpy(k, d->key, sizeof k);
            uint32_t bit = cpu_stem_bit(k[0], w->stem_prefix); /* depth >= stem_prefix */
            w->stem_bits[bit >> 6] |= 1ull << (bit & 63);
            uint32_t b = cpu_word_bloom(k[0], depth);
            w->stem_path_bits[b >> 6] |= 1ull << (b & 63);
            unsigned i = 0;
            while (i < w->nstem_lens && w->stem_lens[i] < depth) i++;
            if (i == w->nstem_lens || w->stem_lens[i] != depth) {
                memmove(w->stem_lens + i + 1, w->stem_lens + i, w->nstem_lens - i);
                w->stem_lens[i] = (unsigned char)depth;
                w->nstem_lens++;
            }
        }
    }
    if (depth && interesting(d, node)) {
        if (d->insert) insert(d, node);
        else d->count++;
    }
    if (depth + 1 < CPU_WORD_KEY) {
        for (int i = 0; i < d->nletters; i++) {
            unsigned char b = d->letters[i];
            uint32_t child = lex->next[(size_t)node * lex->nclasses + lex->byte_class[b]];
            if (!child) continue;
            d->key[depth] = b;
            visit(d, child, depth + 1);
            d->key[depth] = 0;
        }
    }
    if (stem_here) d->npath_stems--;
}

dhatu_status cpu_words_build(cpu_words *w, const dhatu_lexicon *lex, uint32_t stride,
                             const unsigned char ascii_word[128], const unsigned char ascii_fold[128])
{
    memset(w, 0, sizeof *w);
    dfs *d = dhatu_calloc(1, sizeof *d);
    if (!d) return DHATU_ERR_NOMEM;
    d->w = w;
    d->lex = lex;
    d->stride = stride;
    d->min_stem = 4;
    int folding_ok = 1;
    for (int b = 0; b < 128; b++) {
        int f = b >= 'A' && b <= 'Z' ? b + 32 : b;
        if (ascii_word[b] && ascii_fold[b] != f) folding_ok = 0;
    }
    /* Every byte of a term's folded text (UTF-8 above ASCII included: the
     * look-up of tokens such as "été" or "œuvre" gathers folded bytes). */
    for (int b = 1; b < 256; b++)
        if (lex->byte_class[b]) d->letters[d->nletters++] = (unsigned char)b;
    if (!folding_ok) {
        dhatu_free(d);
        return DHATU_OK; /* usable stays 0 */
    }
    visit(d, DHATU_LEX_ROOT, 0); /* pass 1: count, shortest stem */
    w->stem_prefix = d->min_stem;
    uint32_t cap = 16;
    unsigned bits = 4;
    while (cap < 2 * d->count) cap *= 2, bits++;
    w->mask = cap - 1;
    w->shift = 64 - bits;
    w->keys = dhatu_calloc(cap, CPU_WORD_KEY);
    w->vals = dhatu_calloc(cap, sizeof *w->vals);
    if (!w->keys || !w->vals) {
        dhatu_free(d);
        cpu_words_free(w);
        return DHATU_ERR_NOMEM;
    }
    d->insert = 1;
    visit(d, DHATU_LEX_ROOT, 0); /* pass 2: insert */
    dhatu_free(d);
    w->usable = 1;
    return DHATU_OK;
}

void cpu_words_free(cpu_words *w)
{
    dhatu_free(w->keys);
    dhatu_free(w->vals);
    memset(w, 0, sizeof *w);
}
