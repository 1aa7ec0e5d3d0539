/* lexicon.h -- the lexicon model's data: parsed cue terms and their
 * compiled matcher.
 *
 * A lexicon file (docs/LEXICON.md) lists cues, one per line:
 *     LANG DHATU SIGN TERM        e.g.   en MODAL - not possible
 * Terms are tokenized and folded by the reference tokenizer, so a term
 * matches exactly the token sequences the text yields for it. Lines that
 * name the same folded term are merged into one term with several cues.
 *
 * The compiled form is a trie over folded UTF-8 bytes plus one word-gap
 * symbol, flattened into arrays (no pointers) that GPU backends copy as is.
 * A lexicon is immutable after load: share it across threads freely.
 * Create with dhatu_lexicon_load_*, free with dhatu_lexicon_destroy.
 */
#ifndef DHATU_LEXICON_H
#define DHATU_LEXICON_H

#include <stddef.h>
#include <stdint.h>
#include "dhatu.h"

#define DHATU_LEX_MAX_LANGS 31       /* bit 0 of a mask is the neutral "*" */
#define DHATU_LEX_NEUTRAL   1u
#define DHATU_LEX_ALL       0xFFFFFFFFu
#define DHATU_LEX_MAX_WORDS 16       /* words in one multi-word term */
#define DHATU_LEX_ROOT      1u       /* trie root; node 0 is "no match" */

typedef struct dhatu_cue {
    uint32_t langmask;   /* languages this cue belongs to */
    uint8_t dhatu;       /* 0..8 */
    uint8_t negative;    /* 0: positive cue, 1: negative cue */
} dhatu_cue;

typedef struct dhatu_term {
    uint32_t text_off, text_len; /* folded words joined by ' ', in lexicon->text */
    uint32_t nwords;
    uint32_t stem;               /* 1: the last word matches as a prefix */
    uint32_t cue_first, cue_count;
    uint32_t livemask;           /* OR of the cues' langmasks */
    uint32_t line;               /* first defining line, for messages */
} dhatu_term;

typedef struct dhatu_lexicon {
    char name[32];
    unsigned version;
    char model_id[48];                        /* name "-" version */
    char langs[DHATU_LEX_MAX_LANGS][9];       /* langs[i] owns mask bit i+1 */
    int nlangs;

    dhatu_term *terms;
    uint32_t nterms;
    dhatu_cue *cues;
    uint32_t ncues;
    char *text;                               /* folded term texts */
    uint32_t text_len;

    /* Compiled matcher: next[node * nclasses + byte_class[b]], 0 = dead.
     * Class 0 is "byte not in any term"; sep_class is the gap between words. */
    uint8_t byte_class[256];
    uint32_t nclasses;
    uint32_t sep_class;
    uint32_t nnodes;
    uint32_t *next;
    int32_t *exact;    /* [nnodes] term ending at a word end here, or -1 */
    int32_t *stem;     /* [nnodes] stem term ending here, or -1 */
} dhatu_lexicon;

/* Loads and compiles a lexicon file. On error returns DHATU_ERR_LEXICON (or
 * DHATU_ERR_NOMEM) with "path:line: reason" in errstr, and *out = NULL. */
dhatu_status dhatu_lexicon_load_file(const char *path, dhatu_lexicon **out,
                                     char *errstr, size_t errstr_size);

/* Same from memory; origin names the buffer in messages. */
dhatu_status dhatu_lexicon_load_buffer(const char *buf, size_t len, const char *origin,
                                       dhatu_lexicon **out, char *errstr, size_t errstr_size);

/* The built-in lexicon (data/lexicon.txt compiled into the library). */
dhatu_status dhatu_lexicon_load_default(dhatu_lexicon **out, char *errstr, size_t errstr_size);

void dhatu_lexicon_destroy(dhatu_lexicon *lex); /* accepts NULL */

/* The language mask for an article's lang tag (docs/LEXICON.md): NULL, "",
 * "und" and "mul" select every cue; a language of the lexicon selects its
 * cues and the neutral ones; any other tag selects the neutral ones only.
 * Only the primary subtag counts ("fr-CA" is "fr"), case-insensitively. */
uint32_t dhatu_lexicon_langmask(const dhatu_lexicon *lex, const char *tag);

#endif
