/* track.h -- per-partition offset tracking for at-least-once delivery.
 *
 * The consumer hands out messages of one partition in offset order, but the
 * broker acknowledges their output records in any order. An offset may be
 * stored (and so committed) only once it and every earlier offset of its
 * partition are done: the contiguous watermark. track_part is a ring of the
 * offsets in flight, in the order they were consumed; track_advance pops
 * the done prefix and says how far the watermark moved.
 *
 * Messages carry a 64-bit token (track_token) naming partition slot,
 * generation and sequence number, so that an acknowledgement that arrives
 * after its partition was revoked (and the slot reused) is recognised as
 * stale and ignored, without a lookup or an allocation per message.
 *
 * Single-threaded: the consumer's polling thread owns every tracker.
 * Memory: the ring is allocated once per assignment; push, done and advance
 * never allocate.
 */
#ifndef TRACK_H
#define TRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct track_part {
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
} track_part;

typedef struct track_table {
    track_part *parts;
    uint16_t nparts, cap;
    uint32_t ring_cap;
} track_table;

/* A table of up to max_parts partitions, each tracking at most ring_cap
 * offsets in flight. 0, or -1 out of memory. */
int track_table_init(track_table *t, uint16_t max_parts, uint32_t ring_cap);
void track_table_free(track_table *t);

/* The tracker of (topic, partition), or NULL. */
track_part *track_find(track_table *t, const char *topic, int32_t partition);
/* Starts tracking (topic, partition); returns the existing tracker when it
 * is tracked already. NULL when the table is full or out of memory. */
track_part *track_add(track_table *t, const char *topic, int32_t partition);
/* Stops tracking: later acknowledgements for it become stale. */
void track_remove(track_table *t, track_part *p);

static inline uint32_t track_count(const track_part *p) { return p->tail_seq - p->head_seq; }
static inline int track_full(const track_part *p) { return track_count(p) >= p->cap; }

/* Records that offset is in flight; returns its token, or 0 when the ring
 * is full (the caller pauses the partition first so this cannot happen). */
uint64_t track_push(track_table *t, track_part *p, int64_t offset);

/* Marks the token's offset done. Returns its tracker, or NULL for a stale or
 * foreign token. */
track_part *track_done(track_table *t, uint64_t token);

/* Pops the done prefix. Returns 1 when next_store moved, else 0. */
int track_advance(track_part *p);

/* Forgets everything in flight (after a rewind: the messages will be
 * consumed again); next_store is kept. */
void track_clear(track_part *p);

#endif
