/* txn.h -- exactly-once (txn.c): the output and the input offsets
 * committed in one Kafka transaction. The polling thread's only; every call
 * that can block is bounded and watched (watchdog.h). Owns txn_state. */
#ifndef TXN_H
#define TXN_H

#include <stddef.h>
#include <stdint.h>

typedef struct consumer consumer;

/* The open transaction (exactly-once): txn.c only. */
typedef struct txn_state {
    int open;
    uint64_t msgs;                  /* articles consumed into the open transaction */
    int resets_in_row;              /* producer replacements since the last commit */
} txn_state;

/* A transactional producer in a fatal state (librdkafka: no call but
 * destroy succeeds) is replaced by a new one with the same transactional
 * id, up to this many times in a row without a commit in between; past
 * that the cause is not transient and the member stops with status 3. */
#define TXN_MAX_RESETS_IN_ROW 3


/* The producer's transactions (fencing an earlier instance of this
 * transactional id), then the first transaction begun; the watchdog must
 * run. 0, or -1 with the reason in errstr. */
int txn_init(consumer *c, char *errstr, size_t n);
int txn_begin(consumer *c);
/* An article consumed into the open transaction (so it is not empty). */
void txn_count(consumer *c);
/* After a fatal error: aborts the open transaction, if any, without
 * rewinding (nothing more is committed; the input is redone elsewhere). */
void txn_abort_fatal(consumer *c);
void txn_abort_and_rewind(consumer *c);
void txn_abort_lost(consumer *c);     /* abort only: the partitions are gone */
void txn_commit(consumer *c, int64_t deadline_ms);
/* The producer reported a fatal error (kafka_events.fatal, or a
 * transactional call that failed fatally). When the cause can be transient
 * (librdkafka's own state out of step with the coordinator after a pause or
 * a partition: OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_TXN_STATE, an epoch
 * bumped by the coordinator's timeout) and the consumer is healthy, the
 * producer is replaced (txn.c says how) and, with rewind, each assigned
 * partition goes back to its committed offset: the open transaction was
 * either committed (its offsets say so) or is aborted by the new
 * producer's initialization, and either way nothing is done twice or lost.
 * 0 when the member goes on; -1 with the fatal status recorded. */
int txn_recover(consumer *c, int rewind);

#endif
