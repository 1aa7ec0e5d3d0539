/* tokenizer.h -- the reference tokenizer: text -> folded tokens.
 *
 * The plain, readable statement of docs/TOKENIZER.md. The cpu-ref backend
 * and the lexicon compiler use it; the fast backends re-implement the same
 * rules in one pass and are checked against it by the conformance suite.
 * A token list is owned by the caller: init it zeroed (or with
 * DHATU_TOKEN_LIST_INIT), reuse it across calls, free with
 * dhatu_token_list_free. Not thread-safe per list.
 */
#ifndef DHATU_TOKENIZER_H
#define DHATU_TOKENIZER_H

#include <stddef.h>
#include "dhatu.h"

typedef struct dhatu_token {
    size_t start, end;        /* byte span in the text */
    size_t fold_off, fold_len;/* folded UTF-8 form in the list's fold buffer */
    int joined;               /* 1: only SPACE/IGNORE characters since the previous token */
    int symbol;               /* 1: a one-character symbol token */
} dhatu_token;

typedef struct dhatu_token_list {
    dhatu_token *tok;
    size_t n, cap;
    unsigned char *fold;
    size_t fold_len, fold_cap;
} dhatu_token_list;

#define DHATU_TOKEN_LIST_INIT {0, 0, 0, 0, 0, 0}

/* Tokenizes text[0..len-1] (any bytes) into l, replacing its content.
 * Returns DHATU_OK or DHATU_ERR_NOMEM (l is then empty but valid). */
dhatu_status dhatu_tokenize(const char *text, size_t len, dhatu_token_list *l,
                            char *errstr, size_t errstr_size);

void dhatu_token_list_free(dhatu_token_list *l);

#endif
