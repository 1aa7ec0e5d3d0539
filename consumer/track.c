/* track.c -- see track.h. */
#include "track.h"
#include <stdlib.h>
#include <string.h>

struct track_part {
    char *topic;            /* owned */
    int32_t partition;
    uint16_t gen;           /* bumped each time the slot is (re)assigned */
    int in_use;
    int eof;                /* the consumer reached the end of the partition */
    int64_t *offs;          /* ring: offsets in consumption order */
    uint8_t *done;
    uint32_t cap, head_seq, tail_seq;   /* sequence numbers; count = tail - head */
    int64_t next_store;     /* offset to store next (last done + 1); -1 none yet */
    int64_t last_pushed;    /* highest offset handed out; -1 none */
    int64_t txn_base;       /* first offset handed out since the last txn commit; -1 none */
    int64_t start;          /* where the assignment put it (kafka.start_at); -1 unknown */
};

/* Token layout: slot index (16 bits) | generation (16) | sequence (32).
 * Token 0 is never issued (generations start at 1), so 0 means "none". */
static uint64_t make_token(uint16_t idx, uint16_t gen, uint32_t seq)
{
    return (uint64_t)idx << 48 | (uint64_t)gen << 32 | seq;
}

int track_table_init(track_table *t, uint16_t max_parts, uint32_t ring_cap)
{
    memset(t, 0, sizeof *t);
    t->parts = calloc(max_parts, sizeof *t->parts);
    if (!t->parts) return -1;
    t->cap = max_parts;
    t->ring_cap = ring_cap ? ring_cap : 1;
    return 0;
}

void track_table_free(track_table *t)
{
    for (uint16_t i = 0; i < t->nparts; i++) {
        free(t->parts[i].topic);
        free(t->parts[i].offs);
        free(t->parts[i].done);
    }
    free(t->parts);
    memset(t, 0, sizeof *t);
}

track_part *track_find(track_table *t, const char *topic, int32_t partition)
{
    for (uint16_t i = 0; i < t->nparts; i++) {
        track_part *p = &t->parts[i];
        if (p->in_use && p->partition == partition && !strcmp(p->topic, topic)) return p;
    }
    return NULL;
}

track_part *track_add(track_table *t, const char *topic, int32_t partition)
{
    track_part *p = track_find(t, topic, partition);
    if (p) return p;
    /* Reuse a free slot (its generation moves on), else take a new one. */
    for (uint16_t i = 0; i < t->nparts && !p; i++)
        if (!t->parts[i].in_use) p = &t->parts[i];
    if (!p) {
        if (t->nparts == t->cap) return NULL;
        p = &t->parts[t->nparts++];
        p->offs = malloc(t->ring_cap * sizeof *p->offs);
        p->done = malloc(t->ring_cap);
        p->cap = t->ring_cap;
        if (!p->offs || !p->done) {
            free(p->offs);
            free(p->done);
            t->nparts--;
            memset(p, 0, sizeof *p);
            return NULL;
        }
    }
    char *name = strdup(topic);
    if (!name) return NULL;
    free(p->topic);
    p->topic = name;
    p->partition = partition;
    p->gen = (uint16_t)(p->gen + 1 ? p->gen + 1 : 1);
    p->in_use = 1;
    p->eof = 0;
    p->head_seq = p->tail_seq = 0;
    p->next_store = -1;
    p->last_pushed = -1;
    p->txn_base = -1;
    p->start = -1;
    return p;
}

void track_set_start(track_part *p, int64_t offset) { p->start = offset; }
int64_t track_start(const track_part *p) { return p->start; }

void track_remove(track_table *t, track_part *p)
{
    (void)t;
    p->in_use = 0;
    p->gen = (uint16_t)(p->gen + 1 ? p->gen + 1 : 1);   /* stale from now on */
    p->head_seq = p->tail_seq = 0;
}

uint64_t track_push(track_table *t, track_part *p, int64_t offset)
{
    if (track_full(p)) return 0;
    uint32_t seq = p->tail_seq++, i = seq % p->cap;
    p->offs[i] = offset;
    p->done[i] = 0;
    p->last_pushed = offset;
    if (p->txn_base < 0) p->txn_base = offset;
    return make_token((uint16_t)(p - t->parts), p->gen, seq);
}

/* The tracker of a token in flight, or NULL for a stale or foreign one. */
static track_part *in_flight(track_table *t, uint64_t token)
{
    uint16_t idx = (uint16_t)(token >> 48), gen = (uint16_t)(token >> 32);
    uint32_t seq = (uint32_t)token;
    if (token == 0 || idx >= t->nparts) return NULL;
    track_part *p = &t->parts[idx];
    if (!p->in_use || p->gen != gen) return NULL;
    /* In flight means head <= seq < tail, in wrapping arithmetic. */
    if (seq - p->head_seq >= track_count(p)) return NULL;
    return p;
}

track_part *track_done(track_table *t, uint64_t token)
{
    track_part *p = in_flight(t, token);
    if (p) p->done[(uint32_t)token % p->cap] = 1;
    return p;
}

int track_origin(track_table *t, uint64_t token, const char **topic, int32_t *partition, int64_t *offset)
{
    track_part *p = in_flight(t, token);
    if (!p) return -1;
    *topic = p->topic;
    *partition = p->partition;
    *offset = p->offs[(uint32_t)token % p->cap];
    return 0;
}

int track_advance(track_part *p)
{
    int moved = 0;
    while (p->head_seq != p->tail_seq && p->done[p->head_seq % p->cap]) {
        p->next_store = p->offs[p->head_seq % p->cap] + 1;
        p->head_seq++;
        moved = 1;
    }
    return moved;
}

void track_clear(track_part *p)
{
    p->gen = (uint16_t)(p->gen + 1 ? p->gen + 1 : 1);
    p->head_seq = p->tail_seq = 0;
    p->last_pushed = -1;
    p->txn_base = -1;
    p->eof = 0;
}

uint32_t track_count(const track_part *p) { return p->tail_seq - p->head_seq; }
int track_full(const track_part *p) { return track_count(p) >= p->cap; }
const char *track_topic(const track_part *p) { return p->topic; }
int32_t track_partition(const track_part *p) { return p->partition; }
int64_t track_next_store(const track_part *p) { return p->next_store; }
int64_t track_last_pushed(const track_part *p) { return p->last_pushed; }
int64_t track_txn_base(const track_part *p) { return p->txn_base; }
void track_txn_committed(track_part *p) { p->txn_base = -1; }
int track_eof(const track_part *p) { return p->eof; }
void track_set_eof(track_part *p, int eof) { p->eof = eof; }

track_part *track_next(track_table *t, track_part *prev)
{
    for (uint16_t i = prev ? (uint16_t)(prev - t->parts + 1) : 0; i < t->nparts; i++)
        if (t->parts[i].in_use) return &t->parts[i];
    return NULL;
}

int track_assigned(const track_table *t)
{
    int n = 0;
    for (uint16_t i = 0; i < t->nparts; i++) n += t->parts[i].in_use;
    return n;
}

uint32_t track_max_count(const track_table *t)
{
    uint32_t worst = 0;
    for (uint16_t i = 0; i < t->nparts; i++)
        if (t->parts[i].in_use && track_count(&t->parts[i]) > worst) worst = track_count(&t->parts[i]);
    return worst;
}

int track_drained(const track_table *t)
{
    for (uint16_t i = 0; i < t->nparts; i++)
        if (t->parts[i].in_use && (!t->parts[i].eof || track_count(&t->parts[i]))) return 0;
    return 1;
}
