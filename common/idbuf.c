/* idbuf.c -- see idbuf.h. */
#include "idbuf.h"
#include <stdlib.h>
#include <string.h>

int idbuf_init(idbuf *ib, size_t max_ids)
{
    memset(ib, 0, sizeof *ib);
    ib->off = malloc((max_ids ? max_ids : 1) * sizeof *ib->off);
    ib->len = malloc((max_ids ? max_ids : 1) * sizeof *ib->len);
    ib->max = max_ids;
    if (!ib->off || !ib->len || dbuf_reserve(&ib->text, max_ids * 32)) {
        idbuf_free(ib);
        return -1;
    }
    return 0;
}

int idbuf_push(idbuf *ib, const char *id, size_t len)
{
    if (ib->n == ib->max) return -1;
    size_t at = ib->text.len;
    if (!id) {
        ib->off[ib->n] = at;
        ib->len[ib->n++] = (size_t)-1;
        return 0;
    }
    /* The id and its NUL: the buffer's terminator is the id's NUL. */
    if (dbuf_append(&ib->text, id, len) || dbuf_append(&ib->text, "", 1)) {
        dbuf_setlen(&ib->text, at);
        return -1;
    }
    ib->off[ib->n] = at;
    ib->len[ib->n] = len;
    ib->n++;
    return 0;
}

void idbuf_reset(idbuf *ib)
{
    ib->n = 0;
    dbuf_reset(&ib->text);
}

void idbuf_free(idbuf *ib)
{
    free(ib->off);
    free(ib->len);
    dbuf_free(&ib->text);
    memset(ib, 0, sizeof *ib);
}
