/* backend_cpu.c -- the fast CPU backend: every core, one pass per article.
 *
 * Lexicon model: tokenizing, folding and trie matching are fused into one
 * forward scan (no token list, no allocation). Each token start tries the
 * trie; a multi-word attempt that fails re-scans at most W - 1 tokens
 * (W: the most words in a term), so the cost stays O(bytes * W) at worst and
 * about one table look-up per byte in practice. Where the CPU has AVX2 the
 * same scan takes token boundaries from 64-byte class masks and settles the
 * first word of an attempt with one probe of the word table (cpu_words.h)
 * instead of a byte-by-byte walk; the scalar scan stays for other CPUs and
 * for DHATU_CPU_SIMD=0, and both give cpu-ref's records.
 * Seed model: per worker one EVP_MD_CTX reused for the 9 digests of each
 * article (OpenSSL uses the SHA extensions of the CPU when present).
 * Workers take chunks of articles from a shared counter, so one huge
 * article does not hold up the rest of the batch behind it.
 */
#include "dhatu_impl.h"
#include "alloc.h"
#include "cpu/cpu_words.h"
#include "error.h"
#include "finish.h"
#include "cpu/pool.h"
#include "unicode.h"
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_AVX2 1 /* built in; used when the CPU has it (cpu_init) */
#endif

#define CHUNK 8 /* articles per grab: amortises the atomic, keeps balance */

/* Trie states: see cpu_state_of (cpu_words.h). */
#define ST_STEM  CPU_ST_STEM
#define ST_EXACT CPU_ST_EXACT
#define NOT_WORD 0xFFu

typedef struct cpu_ctx {
    dhatu_model_kind model;
    const dhatu_lexicon *lex;
    dhatu_pool *pool;
    EVP_MD *sha256;
    EVP_MD_CTX **mdctx;               /* one per worker */
    unsigned char ascii_class[128];   /* the tokenizer classes of ASCII */
    unsigned char ascii_fold[128];
    /* ASCII byte -> trie class of its folded form, or NOT_WORD. */
    unsigned char ascii_trie[128];
    /* The lexicon's trie re-encoded for speed (see build_rows). */
    uint32_t *rows;
    uint32_t stride;
    uint32_t root;
    /* The AVX2 scan (cpu_init: the CPU has AVX2, DHATU_CPU_SIMD is not 0,
     * the word table is usable): whole-word look-ups and 32-byte token
     * boundaries. The tables classify ASCII by nibbles: a byte is in a
     * class when lo[b & 15] & hi[b >> 4] is not 0. */
    int simd;
    cpu_words words;
    /* U+0080..U+027F (Latin-1 and Latin Extended), for the word scan's
     * character-by-character folding: class, folded UTF-8 length (0: the
     * character vanishes; 3: ask fold_of) and bytes. */
    struct latin { unsigned char cls, flen, f[2]; } latin[0x200];
    unsigned char word_lo[16], sep_lo[16], nib_hi[16];
    const dhatu_unicode_tables *uni;
    char describe[96];

    /* The job of the current dhatu_pool_run. */
    const dhatu_batch_view *batch;
    dhatu_record *out;
    atomic_size_t next_article;
    atomic_int failed;
    char errbuf[256];
} cpu_ctx;

static const char *cpu_name(void) { return "cpu"; }

static inline int class_of(const cpu_ctx *c, uint32_t cp)
{
    return cp < c->uni->direct ? c->uni->class_direct[cp] : dhatu_uni_class(cp);
}

static inline uint32_t fold_of(const cpu_ctx *c, uint32_t cp)
{
    return cp < c->uni->direct ? c->uni->fold_direct[cp] : dhatu_uni_fold(cp);
}

/* From p, skips what starts no token. Returns the next token start (or n)
 * and sets *broken when a phrase-breaking character was crossed. */
static inline __attribute__((always_inline))
size_t skip_gap(const cpu_ctx *c, const unsigned char *s, size_t n, size_t p, int *broken)
{
    while (p < n) {
        unsigned char b = s[p];
        if (b < 0x80) {
            int k = c->ascii_class[b];
            if (k == DHATU_CC_WORD) return p;
            if (k == DHATU_CC_SEP) *broken = 1;
            p++;
            continue;
        }
        size_t len;
        int k = class_of(c, dhatu_utf8_decode(s + p, n - p, &len));
        if (k == DHATU_CC_WORD || k == DHATU_CC_SYMBOL) return p;
        if (k == DHATU_CC_SEP || k == DHATU_CC_MARK) *broken = 1; /* a mark with no base breaks */
        p += len;
    }
    return n;
}

typedef struct walk {
    const uint32_t *rows;
    const uint8_t *bcls;
    const int32_t *exact, *stem;
    const dhatu_term *terms;
    uint32_t stride;
    uint32_t mask;
} walk;

static inline uint32_t step_cls(const walk *w, uint32_t st, uint32_t cls)
{
    return w->rows[(st & ~(w->stride - 1)) + cls];
}

static inline uint32_t node_of(const walk *w, uint32_t st)
{
    return st / w->stride;
}

/* The stem term ending at state st, if it applies to this article, else -1. */
static inline int32_t live_stem(const walk *w, uint32_t st)
{
    int32_t t = w->stem[node_of(w, st)];
    return (w->terms[t].livemask & w->mask) ? t : -1;
}

/* The term a token completes when the walk stands at st at its end: the
 * exact term there if it applies to this article, else stem (the deepest
 * live stem crossed, or -1). */
static inline int32_t token_term(const walk *w, uint32_t st, int32_t stem)
{
    if (st & ST_EXACT) {
        int32_t t = w->exact[node_of(w, st)];
        if (w->terms[t].livemask & w->mask) return t;
    }
    return stem;
}

/* Feeds folded code point f to the trie; returns the new state (0: dead). */
static inline uint32_t feed_cp(const walk *w, uint32_t st, uint32_t f)
{
    unsigned char u[4];
    int k = dhatu_utf8_encode(f, u);
    for (int i = 0; i < k && st; i++) st = step_cls(w, st, w->bcls[u[i]]);
    return st;
}

/* Scans the token starting at p (its first character is WORD or SYMBOL),
 * walking the trie from state *stp with the folded bytes. Returns the token
 * end; *stp is the state reached (0 once the walk left the trie) and *cand
 * the term this token completes: exact at the token end, else the deepest
 * live stem crossed, else -1. */
static inline __attribute__((always_inline))
size_t scan_token(const cpu_ctx *c, const walk *w, const unsigned char *s, size_t n,
                  size_t p, uint32_t *stp, int32_t *cand)
{
    uint32_t st = *stp;
    int32_t stem = -1;
    if (s[p] >= 0x80) {
        size_t len;
        uint32_t cp = dhatu_utf8_decode(s + p, n - p, &len);
        if (class_of(c, cp) == DHATU_CC_SYMBOL) {
            if (st) st = feed_cp(w, st, cp); /* symbols are not folded */
            p += len;
            goto end;
        }
    }
    for (;;) {
        /* ASCII letters and digits: the hot loop. */
        if (st) {
            const uint32_t *rows = w->rows;
            const uint32_t rowmask = ~(w->stride - 1);
            const unsigned char *trie_of = c->ascii_trie;
            while (p < n) {
                unsigned b = s[p];
                if (b >= 0x80) break;
                unsigned k = trie_of[b];
                if (k == NOT_WORD) goto end;
                st = rows[(st & rowmask) + k];
                p++;
                if (!st) break;
                if (st & ST_STEM) {
                    int32_t t = live_stem(w, st);
                    if (t >= 0) stem = t;
                }
            }
        }
        if (!st) {
            const unsigned char *trie_of = c->ascii_trie;
            while (p < n && s[p] < 0x80 && trie_of[s[p]] != NOT_WORD) p++;
        }
        if (p >= n || s[p] < 0x80) break;
        /* Anything else: decode, then the class decides. */
        size_t len;
        uint32_t cp = dhatu_utf8_decode(s + p, n - p, &len);
        int k = class_of(c, cp);
        if (k == DHATU_CC_IGNORE) { p += len; continue; }
        if (k != DHATU_CC_WORD && k != DHATU_CC_MARK) break;
        if (st) {
            uint32_t f = fold_of(c, cp);
            if (f) {
                st = feed_cp(w, st, f);
                if ((st & ST_STEM) && live_stem(w, st) >= 0) stem = live_stem(w, st);
            }
        }
        p += len;
    }
end:
    *cand = token_term(w, st, stem);
    *stp = st;
    return p;
}

#ifdef CPU_AVX2
#define AVX2 __attribute__((target("avx2,bmi")))

typedef struct simd_tabs {
    __m256i word_lo, sep_lo, hi;
} simd_tabs;

/* The article as the scan sees it with AVX2: the text, a zero-padded copy
 * of its last 64 bytes (a NUL separates, like the end of the text), and
 * the classes of one 64-byte block as bit masks, so that finding the next
 * token start or end is a shift and a count of trailing zeros, not a load.
 * On the worker's stack, per article. */
typedef struct text_scan {
    const unsigned char *s;
    size_t n;
    size_t tail_at;
    int tail_ready;
    size_t base;              /* the block: [base, base + 64); SIZE_MAX: none yet */
    uint64_t word, high, sep; /* its ASCII word bytes, bytes above 0x7F, ASCII separators */
    uint64_t end;             /* the bit of n when n falls in it */
    simd_tabs k;
    unsigned char tail[128];
} text_scan;

/* 64 readable bytes at p (a block): in place, or in the padded tail. */
AVX2 static inline const unsigned char *scan_at(text_scan *t, size_t p)
{
    if (p + 64 <= t->n) return t->s + p;
    if (!t->tail_ready) {
        t->tail_at = t->n > 64 ? t->n - 64 : 0;
        memset(t->tail, 0, sizeof t->tail);
        memcpy(t->tail, t->s + t->tail_at, t->n - t->tail_at);
        t->tail_ready = 1;
    }
    return t->tail + (p - t->tail_at);
}

/* One bit per byte of v that is in the ASCII class of (lo, hi). */
AVX2 static inline uint32_t class_bits(__m256i v, __m256i lo, __m256i hi)
{
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, low4));
    __m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256()));
}

AVX2 static inline void scan_init(text_scan *t, const cpu_ctx *c, const unsigned char *s, size_t n)
{
    t->s = s;
    t->n = n;
    t->tail_ready = 0;
    t->base = SIZE_MAX;
    t->k.word_lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)c->word_lo));
    t->k.sep_lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)c->sep_lo));
    t->k.hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)c->nib_hi));
}

/* Makes the block start at p. */
AVX2 static inline void scan_block(text_scan *t, size_t p)
{
    const unsigned char *q = scan_at(t, p);
    __m256i a = _mm256_loadu_si256((const __m256i *)q);
    __m256i b = _mm256_loadu_si256((const __m256i *)(q + 32));
    uint64_t valid = ~0ull;
    t->end = 0;
    if (t->n - p < 64) {
        valid = (1ull << (t->n - p)) - 1;
        t->end = 1ull << (t->n - p);
    }
    t->word = ((uint64_t)class_bits(b, t->k.word_lo, t->k.hi) << 32 | class_bits(a, t->k.word_lo, t->k.hi)) & valid;
    t->sep = ((uint64_t)class_bits(b, t->k.sep_lo, t->k.hi) << 32 | class_bits(a, t->k.sep_lo, t->k.hi)) & valid;
    t->high = ((uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32 | (uint32_t)_mm256_movemask_epi8(a)) & valid;
    t->base = p;
}

/* skip_gap over the block masks; the scalar rules take over at the first
 * byte above 0x7F. */
AVX2 static inline size_t skip_gap_avx2(const cpu_ctx *c, text_scan *t, size_t p, int *broken)
{
    while (p < t->n) {
        if (p < t->base || p - t->base >= 64) scan_block(t, p);
        unsigned off = (unsigned)(p - t->base);
        uint64_t stop = (t->word | t->high | t->end) >> off;
        uint64_t sep = t->sep >> off;
        if (!stop) {
            if (sep) *broken = 1;
            p = t->base + 64;
            continue;
        }
        unsigned e = (unsigned)__builtin_ctzll(stop);
        if (sep & ((1ull << e) - 1)) *broken = 1;
        p += e;
        if (p >= t->n) return t->n;
        return ((t->high >> (off + e)) & 1) ? skip_gap(c, t->s, t->n, p, broken) : p;
    }
    return t->n;
}

/* The length of the pure-ASCII token at p, from the block masks, or 0 when
 * the masks cannot tell (32 bytes or more, or a character above ASCII that
 * may continue it). */
AVX2 static inline unsigned ascii_token(const cpu_ctx *c, text_scan *t, size_t p)
{
    if (p < t->base || p - t->base >= 32) scan_block(t, p); /* room for 32 bytes and the one after */
    unsigned off = (unsigned)(p - t->base);
    uint64_t rest = ~(t->word >> off);
    unsigned len = rest ? (unsigned)__builtin_ctzll(rest) : 64;
    if (len >= CPU_WORD_KEY) return 0;
    if ((t->high >> (off + len)) & 1) {
        /* A character above ASCII: the token ends there unless it is a
         * letter, a mark or an ignored one (l'homme with U+2019 does). */
        size_t cl;
        int k = class_of(c, dhatu_utf8_decode(t->s + p + len, t->n - p - len, &cl));
        if (k == DHATU_CC_WORD || k == DHATU_CC_MARK || k == DHATU_CC_IGNORE) return 0;
    }
    return len;
}

/* scan_token for a pure-ASCII token of len bytes at p: the walk, without
 * the byte-by-byte search for the token's end. */
AVX2 static inline size_t walk_ascii(const cpu_ctx *c, const walk *w, const unsigned char *s, size_t p,
                                     unsigned len, uint32_t *stp, int32_t *cand)
{
    uint32_t st = *stp;
    int32_t stem = -1;
    const uint32_t rowmask = ~(w->stride - 1);
    for (unsigned i = 0; i < len && st; i++) {
        st = w->rows[(st & rowmask) + c->ascii_trie[s[p + i]]];
        if (st & ST_STEM) {
            int32_t t = live_stem(w, st);
            if (t >= 0) stem = t;
        }
    }
    *cand = token_term(w, st, stem);
    *stp = st;
    return p + len;
}

/* cpu_word_hash of a key in a register. */
AVX2 static inline uint64_t word_hash_avx2(__m256i key)
{
    const __m256i even = _mm256_setr_epi32((int)cpu_word_mul[0], 0, (int)cpu_word_mul[2], 0, (int)cpu_word_mul[4], 0,
                                           (int)cpu_word_mul[6], 0);
    const __m256i odd = _mm256_setr_epi32((int)cpu_word_mul[1], 0, (int)cpu_word_mul[3], 0, (int)cpu_word_mul[5], 0,
                                          (int)cpu_word_mul[7], 0);
    __m256i m = _mm256_add_epi64(_mm256_mul_epu32(key, even), _mm256_mul_epu32(_mm256_srli_epi64(key, 32), odd));
    __m128i x = _mm_add_epi64(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
    x = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
    return cpu_word_mix((uint64_t)_mm_cvtsi128_si64(x));
}

/* The table's answer for a folded, zero-padded key of len bytes; NULL when
 * no entry. bits: the filter to pass first (word_bits or stem_path_bits),
 * on a short hash that is ready long before the key's. */
AVX2 static inline const cpu_word_entry *word_probe(const cpu_words *w, __m256i key, unsigned len,
                                                    const uint64_t *bits)
{
    uint32_t b = cpu_word_bloom((uint64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(key)), len);
    if (!((bits[b >> 6] >> (b & 63)) & 1)) return NULL;
    uint64_t h = word_hash_avx2(key);
    for (uint32_t i = (uint32_t)(h >> w->shift);; i = (i + 1) & w->mask) {
        __m256i slot = _mm256_loadu_si256((const __m256i *)w->keys[i]);
        if (_mm256_testz_si256(slot, slot)) return NULL;
        if ((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(slot, key)) == 0xFFFFFFFFu) return &w->vals[i];
    }
}

/* What the walk from the root would end with for the token whose folded
 * bytes are folded[0..len-1] (bytes past len: anything): returns len and
 * sets the state and candidate, or returns 0 when the trie must be walked. */
AVX2 static inline unsigned word_lookup(const cpu_ctx *c, __m256i folded, unsigned len, uint32_t mask,
                                        uint32_t *st, int32_t *cand)
{
    const __m256i idx = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                         21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    __m256i key = _mm256_and_si256(folded, _mm256_cmpgt_epi8(_mm256_set1_epi8((char)len), idx));
    const cpu_words *w = &c->words;
    const dhatu_term *terms = c->lex->terms;
    const cpu_word_entry *e = word_probe(w, key, len, w->word_bits);
    int32_t best = -1;
    uint32_t state = 0; /* a miss: no term, no next word, as good as a dead walk */
    if (e) {
        if (e->nstems == CPU_WORD_WALK) return 0;
        if (e->exact >= 0 && (terms[e->exact].livemask & mask)) best = e->exact;
        state = e->state;
    } else if (len > w->stem_prefix) {
        /* Not a path of the trie, so the walk dies inside the token; what
         * it can leave is the deepest live stem that is a prefix of the
         * token: look for the entry of each stem length, longest first. */
        uint32_t bit = cpu_stem_bit((uint64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(key)), w->stem_prefix);
        if ((w->stem_bits[bit >> 6] >> (bit & 63)) & 1) {
            for (int i = (int)w->nstem_lens - 1; i >= 0 && !e; i--) {
                unsigned l = w->stem_lens[i];
                if (l >= len) continue;
                __m256i pk = _mm256_and_si256(folded, _mm256_cmpgt_epi8(_mm256_set1_epi8((char)l), idx));
                e = word_probe(w, pk, l, w->stem_path_bits);
            }
            if (e && e->nstems == CPU_WORD_WALK) return 0;
        }
    }
    if (e)
        for (uint32_t s = 0; best < 0 && s < e->nstems; s++)
            if (terms[e->stems[s]].livemask & mask) best = e->stems[s];
    *st = state; /* only now: a return of 0 leaves the walk's start as it was */
    *cand = best;
    return len;
}

/* The first token of a term attempt at p (an ASCII word byte), settled by
 * the word table (cpu_words.h) when it is pure ASCII: returns its length
 * and sets the walk's state and candidate, or returns 0. */
AVX2 static inline unsigned first_word_avx2(const cpu_ctx *c, text_scan *t, size_t p, uint32_t mask,
                                            uint32_t *st, int32_t *cand)
{
    unsigned len = ascii_token(c, t, p);
    if (!len) return 0;
    __m256i v = _mm256_loadu_si256((const __m256i *)scan_at(t, p));
    __m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('A' - 1)),
                                     _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), v));
    __m256i folded = _mm256_add_epi8(v, _mm256_and_si256(upper, _mm256_set1_epi8(0x20)));
    return word_lookup(c, folded, len, mask, st, cand);
}

/* The same for a token with characters above ASCII (été, Œuvre): its folded
 * bytes are gathered one character at a time, by scan_token's rules, and
 * looked up. Returns the token's end, or 0 (a symbol, a folded form of 32
 * bytes or more, or an answer the table does not have). */
AVX2 static inline size_t first_word_utf8(const cpu_ctx *c, const unsigned char *s, size_t n, size_t p,
                                          uint32_t mask, uint32_t *st, int32_t *cand)
{
    unsigned char key[CPU_WORD_KEY] = { 0 };
    unsigned kl = 0;
    while (p < n) {
        unsigned char b = s[p];
        if (b < 0x80) {
            if (c->ascii_class[b] != DHATU_CC_WORD) break;
            if (kl == CPU_WORD_KEY - 1) return 0;
            key[kl++] = c->ascii_fold[b];
            p++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xC9 && p + 1 < n && (s[p + 1] & 0xC0) == 0x80) {
            const struct latin *l = &c->latin[((b & 0x1F) << 6 | (s[p + 1] & 0x3F)) - 0x80];
            if (l->cls == DHATU_CC_WORD && l->flen <= 2) {
                if (kl + l->flen > CPU_WORD_KEY - 1) return 0;
                memcpy(key + kl, l->f, 2);
                kl += l->flen;
                p += 2;
                continue;
            }
        }
        size_t len;
        uint32_t cp = dhatu_utf8_decode(s + p, n - p, &len);
        int k = class_of(c, cp);
        if (k == DHATU_CC_SYMBOL && kl == 0) return 0; /* a one-character token, not folded */
        if (k == DHATU_CC_IGNORE) { p += len; continue; }
        if (k != DHATU_CC_WORD && k != DHATU_CC_MARK) break;
        uint32_t f = fold_of(c, cp);
        if (f) {
            unsigned char u[4];
            int m = dhatu_utf8_encode(f, u);
            if (kl + (unsigned)m > CPU_WORD_KEY - 1) return 0;
            memcpy(key + kl, u, (size_t)m);
            kl += (unsigned)m;
        }
        p += len;
    }
    if (!kl) return 0;
    __m256i folded = _mm256_loadu_si256((const __m256i *)key);
    return word_lookup(c, folded, kl, mask, st, cand) ? p : 0;
}
#endif

/* One article, lexicon model. simd (a constant where it is inlined) picks
 * the AVX2 helpers; the result is the same either way. */
static inline __attribute__((always_inline))
void lexicon_scan(const cpu_ctx *c, const unsigned char *s, size_t n, uint32_t mask, dhatu_record *r,
                  const int simd)
{
    const dhatu_lexicon *lex = c->lex;
    walk w = { c->rows, lex->byte_class, lex->exact, lex->stem, lex->terms, c->stride, mask };
#ifdef CPU_AVX2
    text_scan ts;
    if (simd) scan_init(&ts, c, s, n);
#define SKIP_GAP(from, brk) (simd ? skip_gap_avx2(c, &ts, (from), (brk)) : skip_gap(c, s, n, (from), (brk)))
#else
#define SKIP_GAP(from, brk) skip_gap(c, s, n, (from), (brk))
#endif
    uint64_t tokens = 0;
    int broken = 0;
    size_t p = SKIP_GAP(0, &broken);
    while (p < n) {
        uint32_t node = c->root;
        uint32_t k = 0, best_k = 0;
        int32_t best = -1;
        size_t first_end = p, best_end = p, q = p;
        size_t second = SIZE_MAX; /* where the token after the first starts, once known */
        for (;;) {
            int32_t cand;
            size_t end = 0;
#ifdef CPU_AVX2
            if (simd && s[q] < 0x80) {
                unsigned len = k == 0 ? first_word_avx2(c, &ts, q, mask, &node, &cand) : 0;
                if (len) end = q + len;
                else if ((len = ascii_token(c, &ts, q))) end = walk_ascii(c, &w, s, q, len, &node, &cand);
                else if (k == 0) end = first_word_utf8(c, s, n, q, mask, &node, &cand);
            } else if (simd && k == 0) {
                end = first_word_utf8(c, s, n, q, mask, &node, &cand);
            }
#endif
            if (!end) end = scan_token(c, &w, s, n, q, &node, &cand);
            if (++k == 1) first_end = end;
            if (cand >= 0) { best = cand; best_k = k; best_end = end; }
            if (!node) break;
            uint32_t sep = step_cls(&w, node, lex->sep_class);
            if (!sep) break;
            int gap_broken = 0;
            q = SKIP_GAP(end, &gap_broken);
            if (k == 1) second = q;
            if (gap_broken || q >= n) break;
            node = sep;
        }
        if (best >= 0) {
            const dhatu_term *t = &lex->terms[best];
            for (uint32_t i = 0; i < t->cue_count; i++) {
                const dhatu_cue *cue = &lex->cues[t->cue_first + i];
                if (!(cue->langmask & mask)) continue;
                if (cue->negative) r->negative[cue->dhatu]++;
                else r->positive[cue->dhatu]++;
            }
            tokens += best_k;
            p = best_end;
        } else {
            tokens++;
            p = first_end;
        }
        /* After a one-word outcome the next start was found already. */
        p = p == first_end && second != SIZE_MAX ? second : SKIP_GAP(p, &broken);
    }
#undef SKIP_GAP
    r->tokens = tokens;
}

static void lexicon_article(const cpu_ctx *c, const unsigned char *s, size_t n, uint32_t mask, dhatu_record *r)
{
    lexicon_scan(c, s, n, mask, r, 0);
}

#ifdef CPU_AVX2
AVX2 static void lexicon_article_avx2(const cpu_ctx *c, const unsigned char *s, size_t n, uint32_t mask,
                                      dhatu_record *r)
{
    lexicon_scan(c, s, n, mask, r, 1);
}
#endif

static uint64_t count_tokens(const cpu_ctx *c, const unsigned char *s, size_t n)
{
    static const walk none = { 0 };
    uint64_t tokens = 0;
    int broken = 0;
    for (size_t p = skip_gap(c, s, n, 0, &broken); p < n; p = skip_gap(c, s, n, p, &broken)) {
        uint32_t node = 0; /* no trie walk */
        int32_t cand;
        p = scan_token(c, &none, s, n, p, &node, &cand);
        tokens++;
    }
    return tokens;
}

static int seed_article(EVP_MD_CTX *md, const EVP_MD *sha, const unsigned char *s, size_t n,
                        dhatu_record *r)
{
    static const char *const prefix[DHATU_NDHATU] = {
        "RELATE::", "MODAL::", "EXIST::", "EVAL::", "COMM::", "CAUSE::", "ITER::", "DECIDE::", "FEEL::"
    };
    static const unsigned char plen[DHATU_NDHATU] = { 8, 7, 7, 6, 6, 7, 6, 8, 6 };
    uint32_t raw[DHATU_NDHATU];
    for (int d = 0; d < DHATU_NDHATU; d++) {
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned hl;
        if (!EVP_DigestInit_ex2(md, sha, NULL) || !EVP_DigestUpdate(md, prefix[d], plen[d]) ||
            !EVP_DigestUpdate(md, s, n) || !EVP_DigestFinal_ex(md, h, &hl) || hl != 32)
            return -1;
        raw[d] = (uint32_t)h[0] + h[5] + h[13] + h[21] + h[29];
    }
    dhatu_finish_seed(r, raw);
    return 0;
}

static void cpu_worker(void *arg, int worker)
{
    cpu_ctx *c = arg;
    const dhatu_batch_view *b = c->batch;
    for (;;) {
        if (atomic_load_explicit(&c->failed, memory_order_relaxed)) return;
        size_t first = atomic_fetch_add(&c->next_article, CHUNK);
        if (first >= b->n) return;
        size_t last = first + CHUNK < b->n ? first + CHUNK : b->n;
        for (size_t i = first; i < last; i++) {
            const unsigned char *s = (const unsigned char *)b->text + b->offsets[i];
            size_t n = (size_t)(b->offsets[i + 1] - b->offsets[i]);
            dhatu_record *r = &c->out[i];
            memset(r, 0, sizeof *r);
            if (c->model == DHATU_MODEL_SEED) {
                r->tokens = count_tokens(c, s, n);
                if (seed_article(c->mdctx[worker], c->sha256, s, n, r)) {
                    int expected = 0;
                    if (atomic_compare_exchange_strong(&c->failed, &expected, 1))
                        snprintf(c->errbuf, sizeof c->errbuf, "cpu: SHA-256 failed on article %zu", i);
                    return;
                }
            } else {
#ifdef CPU_AVX2
                if (c->simd) lexicon_article_avx2(c, s, n, b->langmask[i], r);
                else
#endif
                    lexicon_article(c, s, n, b->langmask[i], r);
                dhatu_finish_lexicon(r);
            }
        }
    }
}

static dhatu_status cpu_vectorize(void *ctx, const dhatu_batch_view *b, dhatu_record *out,
                                  char *errstr, size_t n)
{
    cpu_ctx *c = ctx;
    c->batch = b;
    c->out = out;
    atomic_store(&c->next_article, 0);
    atomic_store(&c->failed, 0);
    dhatu_pool_run(c->pool, cpu_worker, c);
    c->batch = NULL;
    c->out = NULL;
    if (atomic_load(&c->failed))
        return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "%s", c->errbuf);
    return DHATU_OK;
}

/* Re-encodes the lexicon's trie as rows of states (see ST_STEM). */
static dhatu_status build_rows(cpu_ctx *c, char *errstr, size_t n)
{
    const dhatu_lexicon *lex = c->lex;
    uint32_t ncls = lex->nclasses, stride = 4;
    while (stride < ncls) stride *= 2;
    if (ncls >= NOT_WORD || (uint64_t)lex->nnodes * stride > UINT32_MAX)
        return dhatu_set_error(errstr, n, DHATU_ERR_LEXICON, "cpu: the lexicon's trie is too large");
    c->rows = dhatu_calloc((size_t)lex->nnodes * stride, sizeof *c->rows);
    if (!c->rows) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cpu: out of memory");
    c->stride = stride;
    for (uint32_t node = 1; node < lex->nnodes; node++) {
        for (uint32_t k = 0; k < ncls; k++) {
            uint32_t child = lex->next[(size_t)node * ncls + k];
            if (child)
                c->rows[(size_t)node * stride + k] = cpu_state_of(lex, child, stride);
        }
    }
    c->root = DHATU_LEX_ROOT * stride; /* the empty term is not allowed: no flags */
    for (int b = 0; b < 128; b++)
        if (c->ascii_class[b] == DHATU_CC_WORD) c->ascii_trie[b] = lex->byte_class[c->ascii_fold[b]];
    return DHATU_OK;
}

#ifdef CPU_AVX2
/* Every key of the table is found by the AVX2 probe: the scalar hash that
 * built it and the register hash that reads it agree. */
AVX2 static int words_agree(const cpu_words *w)
{
    for (uint32_t i = 0; i <= w->mask; i++) {
        if (!w->keys[i][0]) continue;
        __m256i key = _mm256_loadu_si256((const __m256i *)w->keys[i]);
        if (word_probe(w, key, (unsigned)strlen((const char *)w->keys[i]), w->word_bits) != &w->vals[i]) return 0;
    }
    return 1;
}
#endif

/* Whether to scan with AVX2 (see cpu_ctx.simd), and its tables. The
 * environment variable DHATU_CPU_SIMD=0 turns it off, like OpenSSL's
 * OPENSSL_ia32cap: for tests of the scalar scan on any machine, and for an
 * operator who suspects it. */
static dhatu_status choose_scan(cpu_ctx *c)
{
    const char *env = getenv("DHATU_CPU_SIMD");
    if (env && !strcmp(env, "0")) return DHATU_OK;
#ifdef CPU_AVX2
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("bmi")) return DHATU_OK;
    unsigned char word[128];
    for (int b = 0; b < 128; b++) word[b] = c->ascii_class[b] == DHATU_CC_WORD;
    dhatu_status st = cpu_words_build(&c->words, c->lex, c->stride, word, c->ascii_fold);
    if (st || !c->words.usable) return st;
    for (uint32_t cp = 0x80; cp < 0x280; cp++) {
        struct latin *l = &c->latin[cp - 0x80];
        uint32_t f = fold_of(c, cp);
        unsigned char u[4] = { 0 };
        l->cls = (unsigned char)class_of(c, cp);
        l->flen = f ? (unsigned char)dhatu_utf8_encode(f, u) : 0;
        memcpy(l->f, u, 2); /* used only when flen <= 2 */
    }
    for (int h = 0; h < 8; h++) c->nib_hi[h] = (unsigned char)(1u << h);
    for (int b = 0; b < 128; b++) {
        if (c->ascii_class[b] == DHATU_CC_WORD) c->word_lo[b & 15] |= (unsigned char)(1u << (b >> 4));
        if (c->ascii_class[b] == DHATU_CC_SEP) c->sep_lo[b & 15] |= (unsigned char)(1u << (b >> 4));
    }
    c->simd = words_agree(&c->words); /* a bug if not: then the scalar walk, still correct */
#endif
    return DHATU_OK;
}

static void cpu_free(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c) return;
    int workers = c->pool ? dhatu_pool_size(c->pool) : 0;
    dhatu_pool_destroy(c->pool);
    if (c->mdctx) {
        for (int i = 0; i < workers; i++) EVP_MD_CTX_free(c->mdctx[i]);
        dhatu_free(c->mdctx);
    }
    EVP_MD_free(c->sha256);
    cpu_words_free(&c->words);
    dhatu_free(c->rows);
    dhatu_free(c);
}

static dhatu_status cpu_init(const dhatu_backend_params *p, void **out, char *errstr, size_t n)
{
    *out = NULL;
    cpu_ctx *c = dhatu_calloc(1, sizeof *c);
    if (!c) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cpu: out of memory");
    c->model = p->model;
    c->lex = p->lexicon;
    c->uni = dhatu_unicode_get_tables();
    for (int b = 0; b < 128; b++) {
        c->ascii_class[b] = (unsigned char)dhatu_uni_class((uint32_t)b);
        c->ascii_fold[b] = (unsigned char)dhatu_uni_fold((uint32_t)b);
        c->ascii_trie[b] = c->ascii_class[b] == DHATU_CC_WORD ? 0 : NOT_WORD;
    }
    dhatu_status st;
    if (c->model == DHATU_MODEL_LEXICON && (st = build_rows(c, errstr, n))) goto err;
    if (c->model == DHATU_MODEL_LEXICON && (st = choose_scan(c))) {
        st = dhatu_set_error(errstr, n, st, "cpu: out of memory");
        goto err;
    }
    int threads = p->cfg->threads;
    if (threads <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (int)online : 1;
    }
    if ((st = dhatu_pool_create(threads, &c->pool, errstr, n))) goto err;
    if (c->model == DHATU_MODEL_SEED) {
        c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        c->mdctx = dhatu_calloc((size_t)threads, sizeof *c->mdctx);
        if (!c->sha256 || !c->mdctx) {
            st = dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "cpu: cannot set up OpenSSL SHA-256");
            goto err;
        }
        for (int i = 0; i < threads; i++) {
            if (!(c->mdctx[i] = EVP_MD_CTX_new())) {
                st = dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cpu: out of memory");
                goto err;
            }
        }
    }
    snprintf(c->describe, sizeof c->describe, "cpu: %d worker thread%s%s", threads, threads > 1 ? "s" : "",
             c->simd ? ", AVX2 word scan" : "");
    *out = c;
    return DHATU_OK;
err:
    cpu_free(c);
    return st;
}

static const char *cpu_describe(void *ctx)
{
    return ((cpu_ctx *)ctx)->describe;
}

const struct dhatu_backend_i dhatu_backend_cpu_i = {
    /* .get_name        = */ cpu_name,
    /* .init            = */ cpu_init,
    /* .vectorize_batch = */ cpu_vectorize,
    /* .free            = */ cpu_free,
    /* .describe        = */ cpu_describe,
    /* .host_alloc      = */ NULL,
    /* .host_free       = */ NULL,
    /* .device_times    = */ NULL,
    /* .device_memory   = */ NULL,
};
