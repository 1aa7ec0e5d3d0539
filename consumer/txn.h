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
} txn_state;


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

#endif
