/* backend_cpu_ref.c -- the oracle: the plainest implementation of both models.
 *
 * One thread, one article at a time. It tokenizes with the reference
 * tokenizer into a list of folded tokens, then tries every term of the
 * lexicon at every token (no trie), keeping the leftmost-longest match by the
 * rules of docs/LEXICON.md written out as directly as they read. The seed
 * model hashes a freshly built "D::text" string with a one-shot digest.
 * Slow on purpose; every other backend must agree with it.
 */
#include "dhatu_impl.h"
#include "alloc.h"
#include "error.h"
#include "finish.h"
#include "tokenizer.h"
#include <openssl/evp.h>
#include <string.h>

typedef struct ref_ctx {
    dhatu_model_kind model;
    const dhatu_lexicon *lex;
    dhatu_token_list tl;
} ref_ctx;

static const char *ref_name(void) { return "cpu-ref"; }

static dhatu_status ref_init(const dhatu_backend_params *p, void **ctx, char *errstr, size_t n)
{
    ref_ctx *c = dhatu_calloc(1, sizeof *c);
    if (!c) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cpu-ref: out of memory");
    c->model = p->model;
    c->lex = p->lexicon;
    *ctx = c;
    return DHATU_OK;
}

static void ref_free(void *ctx)
{
    ref_ctx *c = ctx;
    if (!c) return;
    dhatu_token_list_free(&c->tl);
    dhatu_free(c);
}

/* Word w (0-based) of a term's folded text "w0 w1 ...". */
static void term_word(const dhatu_lexicon *lex, const dhatu_term *t, uint32_t w,
                      const char **s, size_t *n)
{
    const char *p = lex->text + t->text_off, *end = p + t->text_len;
    for (; w; w--) p = memchr(p, ' ', (size_t)(end - p)) + 1;
    const char *e = memchr(p, ' ', (size_t)(end - p));
    *s = p;
    *n = (size_t)((e ? e : end) - p);
}

/* Does term t match the tokens starting at index i? */
static int term_matches(const dhatu_lexicon *lex, const dhatu_term *t,
                        const dhatu_token_list *tl, size_t i)
{
    if (i + t->nwords > tl->n) return 0;
    for (uint32_t w = 0; w < t->nwords; w++) {
        const dhatu_token *tok = &tl->tok[i + w];
        const char *ws;
        size_t wn;
        if (w > 0 && !tok->joined) return 0;
        term_word(lex, t, w, &ws, &wn);
        const unsigned char *f = tl->fold + tok->fold_off;
        int last_stem = t->stem && w + 1 == t->nwords;
        if (last_stem ? tok->fold_len < wn : tok->fold_len != wn) return 0;
        if (memcmp(f, ws, wn)) return 0;
    }
    return 1;
}

static void ref_lexicon(ref_ctx *c, uint32_t mask, dhatu_record *r)
{
    const dhatu_lexicon *lex = c->lex;
    const dhatu_token_list *tl = &c->tl;
    size_t i = 0;
    while (i < tl->n) {
        /* Longest in words; then an exact term before a stem; then the
         * longest stem. Two different terms never tie under this order. */
        const dhatu_term *best = NULL;
        for (uint32_t k = 0; k < lex->nterms; k++) {
            const dhatu_term *t = &lex->terms[k];
            if (!(t->livemask & mask) || !term_matches(lex, t, tl, i)) continue;
            if (!best || t->nwords > best->nwords ||
                (t->nwords == best->nwords && best->stem &&
                 (!t->stem || t->text_len > best->text_len)))
                best = t;
        }
        if (!best) { i++; continue; }
        for (uint32_t k = 0; k < best->cue_count; k++) {
            const dhatu_cue *cue = &lex->cues[best->cue_first + k];
            if (!(cue->langmask & mask)) continue;
            if (cue->negative) r->negative[cue->dhatu]++;
            else r->positive[cue->dhatu]++;
        }
        i += best->nwords;
    }
}

static dhatu_status ref_seed(const char *text, size_t len, dhatu_record *r,
                             char *errstr, size_t n)
{
    uint32_t raw[DHATU_NDHATU];
    for (int d = 0; d < DHATU_NDHATU; d++) {
        const char *name = dhatu_name(d);
        size_t nl = strlen(name);
        unsigned char *msg = dhatu_malloc(nl + 2 + len);
        if (!msg) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cpu-ref: out of memory");
        memcpy(msg, name, nl);
        memcpy(msg + nl, "::", 2);
        if (len) memcpy(msg + nl + 2, text, len);
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned hl = 0;
        int ok = EVP_Digest(msg, nl + 2 + len, h, &hl, EVP_sha256(), NULL);
        dhatu_free(msg);
        if (!ok || hl != 32) return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "cpu-ref: SHA-256 failed");
        raw[d] = (uint32_t)h[0] + h[5] + h[13] + h[21] + h[29];
    }
    dhatu_finish_seed(r, raw);
    return DHATU_OK;
}

static dhatu_status ref_vectorize(void *ctx, const dhatu_batch_view *b, dhatu_record *out,
                                  char *errstr, size_t n)
{
    ref_ctx *c = ctx;
    for (size_t i = 0; i < b->n; i++) {
        const char *text = b->text + b->offsets[i];
        size_t len = (size_t)(b->offsets[i + 1] - b->offsets[i]);
        dhatu_record *r = &out[i];
        memset(r, 0, sizeof *r);
        dhatu_status st = dhatu_tokenize(text, len, &c->tl, errstr, n);
        if (st) return st;
        r->tokens = c->tl.n;
        if (c->model == DHATU_MODEL_SEED) {
            if ((st = ref_seed(text, len, r, errstr, n))) return st;
        } else {
            ref_lexicon(c, b->langmask[i], r);
            dhatu_finish_lexicon(r);
        }
    }
    return DHATU_OK;
}

const struct dhatu_backend_i dhatu_backend_cpu_ref_i = {
    /* .get_name        = */ ref_name,
    /* .init            = */ ref_init,
    /* .vectorize_batch = */ ref_vectorize,
    /* .free            = */ ref_free,
    /* .describe        = */ NULL,
    /* .host_alloc      = */ NULL,
    /* .host_free       = */ NULL,
    /* .device_times    = */ NULL,
    /* .device_memory   = */ NULL,
};
