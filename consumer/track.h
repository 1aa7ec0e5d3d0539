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
 * Callers see a tracker only through the functions below, so the ring's
 * layout can change without touching the consumer.
 * Single-threaded: the consumer's polling thread owns every tracker.
 * Memory: the ring is allocated once per assignment; push, done and advance
 * never allocate.
 */
#ifndef TRACK_H
#define TRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct track_part track_part;     /* opaque: see track.c */

typedef struct track_table {
    track_part *parts;      /* private to track.c */
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

/* Offsets in flight, and whether the ring has no room for another. */
uint32_t track_count(const track_part *p);
int track_full(const track_part *p);

/* The tracked partitions: track_next(t, NULL) is the first, NULL ends. */
track_part *track_next(track_table *t, track_part *prev);
const char *track_topic(const track_part *p);
int32_t track_partition(const track_part *p);
/* Offset to store next (last done + 1), -1 when none yet. */
int64_t track_next_store(const track_part *p);
/* Highest offset handed out, -1 when none (the exactly-once commit point). */
int64_t track_last_pushed(const track_part *p);
/* Where the assignment put the partition when the group had no commit
 * for it (kafka.start_at): where the member stands before its first
 * message. -1 unknown (the default after track_add). Can't fail. */
void track_set_start(track_part *p, int64_t offset);
int64_t track_start(const track_part *p);
/* Exactly-once: the first offset handed out since the last committed
 * transaction, -1 when none. An aborted transaction rewinds there: no
 * question to the coordinator, so an abort in an outage can still rewind. */
int64_t track_txn_base(const track_part *p);
/* The open transaction was committed: the next push starts a new base. */
void track_txn_committed(track_part *p);
/* Whether the consumer reached the partition's end (cleared by a push). */
int track_eof(const track_part *p);
void track_set_eof(track_part *p, int eof);

/* Across the table: tracked partitions; the largest count in flight; every
 * tracked partition at its end with nothing in flight. */
int track_assigned(const track_table *t);
uint32_t track_max_count(const track_table *t);
int track_drained(const track_table *t);

/* Records that offset is in flight; returns its token, or 0 when the ring
 * is full (the caller pauses the partition first so this cannot happen). */
uint64_t track_push(track_table *t, track_part *p, int64_t offset);

/* Marks the token's offset done. Returns its tracker, or NULL for a stale or
 * foreign token. */
track_part *track_done(track_table *t, uint64_t token);

/* Where the token's message came from: 0, or -1 for a stale or foreign
 * token. */
int track_origin(track_table *t, uint64_t token, const char **topic, int32_t *partition, int64_t *offset);

/* Pops the done prefix. Returns 1 when next_store moved, else 0. */
int track_advance(track_part *p);

/* Forgets everything in flight (after a rewind: the messages will be
 * consumed again); next_store is kept, txn_base is cleared. */
void track_clear(track_part *p);

#endif
