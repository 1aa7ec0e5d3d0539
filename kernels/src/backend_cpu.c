/* backend_cpu.c -- the fast CPU backend: every core, one pass per article.
 *
 * Lexicon model: tokenizing, folding and trie matching are fused into one
 * forward scan (no token list, no allocation). Each token start tries the
 * trie; a multi-word attempt that fails re-scans at most max_words - 1
 * tokens, so the cost stays O(bytes * max_words) in the worst case and
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

typedef struct cpu_ctx {
    dhatu_model_kind model;
    const dhatu_lexicon *lex;
    dhatu_pool *pool;
    EVP_MD *sha256;
    EVP_MD_CTX **mdctx;               /* one per worker */
    unsigned char ascii_class[128];   /* the tokenizer classes of ASCII */
    unsigned char ascii_fold[128];
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
static size_t skip_gap(const cpu_ctx *c, const unsigned char *s, size_t n, size_t p, int *broken)
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
    const uint32_t *next;
    const uint8_t *bcls;
    const int32_t *exact, *stem;
    const dhatu_term *terms;
    uint32_t ncls;
    uint32_t mask;
} walk;

static inline uint32_t step(const walk *w, uint32_t node, unsigned char b)
{
    return w->next[(size_t)node * w->ncls + w->bcls[b]];
}

static inline int live(const walk *w, int32_t t)
{
    return t >= 0 && (w->terms[t].livemask & w->mask);
}

/* Feeds folded code point f to the trie; returns the new node (0: dead). */
static inline uint32_t feed_cp(const walk *w, uint32_t node, uint32_t f)
{
    unsigned char u[4];
    int k = dhatu_utf8_encode(f, u);
    for (int i = 0; i < k && node; i++) node = step(w, node, u[i]);
    return node;
}

/* Scans the token starting at p (its first character is WORD or SYMBOL),
 * walking the trie from *nodep with the folded bytes. Returns the token end;
 * *nodep is the node reached (0 once the walk left the trie) and *cand the
 * term this token completes: exact at the token end, else the deepest live
 * stem crossed, else -1. */
static size_t scan_token(const cpu_ctx *c, const walk *w, const unsigned char *s, size_t n,
                         size_t p, uint32_t *nodep, int32_t *cand)
{
    uint32_t node = *nodep;
    int32_t stem = -1;
    if (s[p] >= 0x80) {
        size_t len;
        uint32_t cp = dhatu_utf8_decode(s + p, n - p, &len);
        if (class_of(c, cp) == DHATU_CC_SYMBOL) {
            if (node) node = feed_cp(w, node, fold_of(c, cp));
            p += len;
            goto end;
        }
    }
    while (p < n) {
        unsigned char b = s[p];
        if (b < 0x80) {
            if (c->ascii_class[b] != DHATU_CC_WORD) break;
            if (node) {
                node = step(w, node, c->ascii_fold[b]);
                if (node && live(w, w->stem[node])) stem = w->stem[node];
            }
            p++;
            continue;
        }
        size_t len;
        uint32_t cp = dhatu_utf8_decode(s + p, n - p, &len);
        int k = class_of(c, cp);
        if (k == DHATU_CC_IGNORE) { p += len; continue; }
        if (k != DHATU_CC_WORD && k != DHATU_CC_MARK) break;
        if (node) {
            uint32_t f = fold_of(c, cp);
            if (f) {
                node = feed_cp(w, node, f);
                if (node && live(w, w->stem[node])) stem = w->stem[node];
            }
        }
        p += len;
    }
end:
    *cand = (node && live(w, w->exact[node])) ? w->exact[node] : stem;
    *nodep = node;
    return p;
}

static void lexicon_article(const cpu_ctx *c, const unsigned char *s, size_t n, uint32_t mask,
                            dhatu_record *r)
{
    const dhatu_lexicon *lex = c->lex;
    walk w = { lex->next, lex->byte_class, lex->exact, lex->stem, lex->terms, lex->nclasses, mask };
    uint64_t tokens = 0;
    int broken = 0;
    size_t p = skip_gap(c, s, n, 0, &broken);
    while (p < n) {
        uint32_t node = DHATU_LEX_ROOT;
        uint32_t k = 0, best_k = 0;
        int32_t best = -1;
        size_t first_end = p, best_end = p, q = p;
        for (;;) {
            int32_t cand;
            size_t end = scan_token(c, &w, s, n, q, &node, &cand);
            if (++k == 1) first_end = end;
            if (cand >= 0) { best = cand; best_k = k; best_end = end; }
            if (!node) break;
            uint32_t sep = w.next[(size_t)node * w.ncls + lex->sep_class];
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
    }
    int threads = p->cfg->threads;
    if (threads <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (int)online : 1;
    }
    dhatu_status st = dhatu_pool_create(threads, &c->pool, errstr, n);
    if (st) goto err;
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
};
