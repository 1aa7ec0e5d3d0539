/* tokenizer.c -- see tokenizer.h. Kept deliberately plain: it is the oracle. */
#include "tokenizer.h"
#include "alloc.h"
#include "error.h"
#include "unicode.h"
#include <string.h>

static int push_token(dhatu_token_list *l, size_t start, int joined, int symbol)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        dhatu_token *t = dhatu_realloc(l->tok, cap * sizeof *t);
        if (!t) return -1;
        l->tok = t;
        l->cap = cap;
    }
    dhatu_token *t = &l->tok[l->n++];
    t->start = t->end = start;
    t->fold_off = l->fold_len;
    t->fold_len = 0;
    t->joined = joined;
    t->symbol = symbol;
    return 0;
}

static int push_fold(dhatu_token_list *l, uint32_t cp)
{
    uint32_t f = dhatu_uni_fold(cp);
    if (f == 0) return 0; /* vanishes when folded */
    if (l->fold_cap - l->fold_len < 4) {
        size_t cap = l->fold_cap ? l->fold_cap * 2 : 256;
        unsigned char *b = dhatu_realloc(l->fold, cap);
        if (!b) return -1;
        l->fold = b;
        l->fold_cap = cap;
    }
    int k = dhatu_utf8_encode(f, l->fold + l->fold_len);
    l->fold_len += (size_t)k;
    l->tok[l->n - 1].fold_len += (size_t)k;
    return 0;
}

dhatu_status dhatu_tokenize(const char *text, size_t len, dhatu_token_list *l,
                            char *errstr, size_t errstr_size)
{
    const unsigned char *s = (const unsigned char *)text;
    int in_word = 0;   /* the last token is a word still open */
    int broken = 0;    /* a SEP occurred since the last token */
    l->n = 0;
    l->fold_len = 0;
    for (size_t p = 0; p < len;) {
        size_t k;
        uint32_t cp = dhatu_utf8_decode(s + p, len - p, &k);
        int cls = dhatu_uni_class(cp);
        if (cls == DHATU_CC_MARK && !in_word) cls = DHATU_CC_SEP; /* a mark with no base */
        switch (cls) {
        case DHATU_CC_WORD:
        case DHATU_CC_MARK:
            if (!in_word) {
                if (push_token(l, p, l->n > 0 && !broken, 0)) goto nomem;
                in_word = 1;
                broken = 0;
            }
            if (push_fold(l, cp)) goto nomem;
            l->tok[l->n - 1].end = p + k;
            break;
        case DHATU_CC_SYMBOL:
            if (push_token(l, p, l->n > 0 && !broken, 1)) goto nomem;
            if (push_fold(l, cp)) goto nomem;
            l->tok[l->n - 1].end = p + k;
            in_word = 0;
            broken = 0;
            break;
        case DHATU_CC_IGNORE:
            break;
        case DHATU_CC_SPACE:
            in_word = 0;
            break;
        default: /* DHATU_CC_SEP, invalid bytes included */
            in_word = 0;
            broken = 1;
            break;
        }
        p += k;
    }
    return DHATU_OK;
nomem:
    l->n = 0;
    l->fold_len = 0;
    return dhatu_set_error(errstr, errstr_size, DHATU_ERR_NOMEM, "tokenizer: out of memory");
}

void dhatu_token_list_free(dhatu_token_list *l)
{
    if (!l) return;
    dhatu_free(l->tok);
    dhatu_free(l->fold);
    memset(l, 0, sizeof *l);
}
