/* backend_cpu.c -- the fast CPU backend: every core, one pass per article.
 *
 * Lexicon model: tokenizing, folding and trie matching are fused into one
 * forward scan (no token list, no allocation). Each token start tries the
 * trie; a multi-word attempt that fails re-scans at most W - 1 tokens
 * (W: the most words in a term), so the cost stays O(bytes * W) at worst and
 * about one table look-up per byte in practice.
 * Seed model: per worker one EVP_MD_CTX reused for the 9 digests of each
 * article (OpenSSL uses the SHA extensions of the CPU when present).
 * Workers take chunks of articles from a shared counter, so one huge
 * article does not hold up the rest of the batch behind it.
 */
#include "dhatu_impl.h"
#include "alloc.h"
#include "error.h"
#include "finish.h"
#include "pool.h"
#include "unicode.h"
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 8 /* articles per grab: amortises the atomic, keeps balance */

/* Trie states are row offsets (node * stride, stride a power of two) with
 * flags in the low bits, so that a step is one AND and one load, and the
 * per-byte terminal checks read a register instead of memory. */
#define ST_STEM  1u  /* a stem term ends at this node */
#define ST_EXACT 2u  /* an exact term ends at this node */
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
    if (st & ST_EXACT) {
        int32_t t = w->exact[node_of(w, st)];
        if (w->terms[t].livemask & w->mask) stem = t;
    }
    *cand = stem;
    *stp = st;
    return p;
}

static void lexicon_article(const cpu_ctx *c, const unsigned char *s, size_t n, uint32_t mask,
                            dhatu_record *r)
{
    const dhatu_lexicon *lex = c->lex;
    walk w = { c->rows, lex->byte_class, lex->exact, lex->stem, lex->terms, c->stride, mask };
    uint64_t tokens = 0;
    int broken = 0;
    size_t p = skip_gap(c, s, n, 0, &broken);
    while (p < n) {
        uint32_t node = c->root;
        uint32_t k = 0, best_k = 0;
        int32_t best = -1;
        size_t first_end = p, best_end = p, q = p;
        for (;;) {
            int32_t cand;
            size_t end = scan_token(c, &w, s, n, q, &node, &cand);
            if (++k == 1) first_end = end;
            if (cand >= 0) { best = cand; best_k = k; best_end = end; }
            if (!node) break;
            uint32_t sep = step_cls(&w, node, lex->sep_class);
            if (!sep) break;
            int gap_broken = 0;
            q = skip_gap(c, s, n, end, &gap_broken);
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
        p = skip_gap(c, s, n, p, &broken);
    }
    r->tokens = tokens;
}

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
                c->rows[(size_t)node * stride + k] = child * stride | (lex->stem[child] >= 0 ? ST_STEM : 0) |
                                                     (lex->exact[child] >= 0 ? ST_EXACT : 0);
        }
    }
    c->root = DHATU_LEX_ROOT * stride; /* the empty term is not allowed: no flags */
    for (int b = 0; b < 128; b++)
        if (c->ascii_class[b] == DHATU_CC_WORD) c->ascii_trie[b] = lex->byte_class[c->ascii_fold[b]];
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
    snprintf(c->describe, sizeof c->describe, "cpu: %d worker thread%s", threads, threads > 1 ? "s" : "");
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
};
