/* cpu_words.h -- whole-word look-up for the cpu backend's lexicon scan.
 *
 * The fused scan walks the lexicon's trie one byte at a time, and every
 * step is a load that depends on the one before (bench/results.md, the
 * profile of 2026-11-29). Most tokens are ordinary words that no term
 * starts with. For a token at a term start, this table answers in one
 * probe what that walk from the root would end with:
 *
 *   - a hit: the token's folded bytes are a trie path that matters (a term
 *     ends there, a stem lies on it, or a multi-word term goes on after
 *     it); the entry holds the state the walk reaches and the terms it can
 *     complete, so the scan goes on exactly as after the walk;
 *   - a miss, and no stem of the lexicon begins like the token: the walk
 *     would end without a term and without a next word, which the scan
 *     treats as a dead walk;
 *   - anything else (a miss that shares its first bytes with a stem, a
 *     path with more stems than an entry holds, a token of 32 bytes or
 *     more): the caller walks the trie as before.
 * So the result is the walk's in every case; test_conformance checks it
 * against cpu-ref on the corpora, and with DHATU_CPU_SIMD=0 the scalar walk.
 *
 * Keys are the token's folded UTF-8 (the bytes the walk would feed) in 32
 * bytes, zero-padded: a token holds no NUL (NUL separates tokens), so the
 * padding fixes the length and one 32-byte compare decides. The backend
 * folds a pure-ASCII token with AVX2 (upper case to lower case) and any
 * other one character by character.
 *
 * Built once per backend from an immutable lexicon (cpu_words_build),
 * read-only afterwards: shared by every worker. cpu_words_free releases it.
 */
#ifndef DHATU_CPU_WORDS_H
#define DHATU_CPU_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include "dhatu.h"
#include "lexicon.h"

#define CPU_WORD_KEY    32  /* key bytes; a token must be shorter */
#define CPU_WORD_STEMS  4   /* stems on a path an entry holds */
#define CPU_WORD_WALK   0xFFFFFFFFu /* entry.nstems: more stems, walk instead */

/* Trie states of the cpu backend: row offsets (node * stride, stride a
 * power of two) with flags in the low bits, so a step is one AND and one
 * load and the terminal checks read a register. */
#define CPU_ST_STEM  1u  /* a stem term ends at this node */
#define CPU_ST_EXACT 2u  /* an exact term ends at this node */

static inline uint32_t cpu_state_of(const dhatu_lexicon *lex, uint32_t node, uint32_t stride)
{
    return node * stride | (lex->stem[node] >= 0 ? CPU_ST_STEM : 0) | (lex->exact[node] >= 0 ? CPU_ST_EXACT : 0);
}

typedef struct cpu_word_entry {
    uint32_t state;                 /* the walk's state at the token end */
    int32_t exact;                  /* exact term ending here, or -1 */
    uint32_t nstems;                /* stems on the path, or CPU_WORD_WALK */
    int32_t stems[CPU_WORD_STEMS];  /* deepest first */
} cpu_word_entry;

typedef struct cpu_words {
    int usable;                          /* 0: walk the trie for every token */
    unsigned char (*keys)[CPU_WORD_KEY]; /* [mask + 1]; all zero: an empty slot */
    cpu_word_entry *vals;                /* [mask + 1] */
    uint32_t mask;
    unsigned shift;                      /* slot = hash >> shift */
    uint32_t nwords;
    /* A bit per cpu_word_bloom of every key: most tokens are no key, and
     * this 4 KiB stays in L1 where the table does not. */
    uint64_t word_bits[512];
    /* Stems, for a token that is no key but may begin with a stem (the
     * walk then dies inside it, leaving the deepest live stem): a bit per
     * hash of a stem's first stem_prefix bytes (the shortest stem's length,
     * at most 4), the lengths of the stems, and a bit per cpu_word_bloom of
     * the key of each stem's node. A token no longer than stem_prefix
     * begins with no stem. */
    unsigned stem_prefix;
    uint64_t stem_bits[512];
    unsigned char stem_lens[CPU_WORD_KEY]; /* ascending */
    unsigned nstem_lens;
    uint64_t stem_path_bits[512];
} cpu_words;

/* A key's hash, from its four little-endian words: each 32-bit half times
 * its own odd constant, summed in 64 bits, then mixed. The backend computes
 * the same in AVX2 registers (two multiplies of four lanes each, no trip
 * through memory) and checks at start-up that both agree on every key. */
static const uint32_t cpu_word_mul[8] = { 0x9E3779B1u, 0x85EBCA77u, 0xC2B2AE3Du, 0x27D4EB2Fu,
                                          0x165667B1u, 0xD3A2646Du, 0xFD7046C5u, 0xB55A4F09u };

static inline uint64_t cpu_word_mix(uint64_t h)
{
    h ^= h >> 31;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static inline uint64_t cpu_word_hash(const uint64_t k[4])
{
    uint64_t h = 0;
    for (int i = 0; i < 4; i++)
        h += (k[i] & 0xFFFFFFFFu) * cpu_word_mul[2 * i] + (k[i] >> 32) * cpu_word_mul[2 * i + 1];
    return cpu_word_mix(h);
}

/* The filters' short hash (15 bits): a key's first 8 bytes and length. */
static inline uint32_t cpu_word_bloom(uint64_t k0, unsigned len)
{
    return (uint32_t)(((k0 ^ len) * 0x9E3779B97F4A7C15ull) >> 49);
}

static inline uint32_t cpu_stem_bit(uint64_t k0, unsigned prefix)
{
    uint32_t x = (uint32_t)(prefix >= 4 ? k0 : k0 & ((1ull << (8 * prefix)) - 1));
    return (x * 0x9E3779B1u) >> 17;
}

/* Builds the table for lex, whose states the backend encodes with stride.
 * ascii_word[b] is 1 for the ASCII bytes that are word characters and
 * ascii_fold[b] their folded form. Returns DHATU_OK or DHATU_ERR_NOMEM (w
 * then zeroed). w->usable is 0 when the folding is not the one the look-up
 * assumes (upper case to lower case, all else unchanged): the caller then
 * walks the trie for every token. */
dhatu_status cpu_words_build(cpu_words *w, const dhatu_lexicon *lex, uint32_t stride,
                             const unsigned char ascii_word[128], const unsigned char ascii_fold[128]);

void cpu_words_free(cpu_words *w); /* accepts a zeroed or built table */

#endif
