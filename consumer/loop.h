/* loop.h -- the polling loop (loop.c): intake, flow control, idle
 * detection, shutdown. The polling thread's only. Owns loop_state; the
 * rebalance callback, which runs inside the loop's poll, reports through
 * loop_on_assigned and loop_on_revoked. */
#ifndef LOOP_H
#define LOOP_H

#include <stdint.h>

typedef struct consumer consumer;

/* The polling loop's state: written by loop.c only (the rebalance
 * callback, which runs inside the loop's poll, reports through
 * loop_on_assigned and loop_on_revoked). */
typedef struct loop_state {
    int paused;
    int left_committed;     /* shutdown: every acknowledged offset is committed, nothing runs after */
    int assignment_lost;    /* lost (session timeout) and not yet given a new one: never idle */
    int64_t last_activity_ms;
    int64_t idle_checked_ms;        /* the brokers last confirmed there is nothing left */
    char not_idle[192];             /* the last reason logged at info (repeats at debug) */
    int64_t not_idle_logged_ms;     /* ... and when: a repeat is logged at info every 30 s */
    int64_t join_warn_at_ms;        /* the next "not in the group" warning (kafka.join_warn_ms) */
} loop_state;


void loop_set_paused(consumer *c, int pause);
/* For the rebalance callback (it runs inside the loop's poll): partitions
 * were assigned; returns whether the member is paused, so the new ones are
 * set to the same state. */
int loop_on_assigned(consumer *c);
/* Partitions were revoked (lost: the session timed out). Returns 1 when
 * the member already made its final commit, so nothing is to be committed
 * for them. */
int loop_on_revoked(consumer *c, int lost);
/* Runs until a signal, a fatal error, exit_after or exit_idle; then shuts
 * down (finish, flush, commit, leave). Returns the exit status. */
int loop_run(consumer *c);

#endif
