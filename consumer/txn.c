/* txn.c -- exactly-once: output records and input offsets committed in one
 * Kafka transaction (KIP-447 offsets fencing by group generation). */
#include <stdio.h>

#include "consumer.h"

/* librdkafka's commit and abort take -1 as "no limit" (their timeouts are
 * not capped by transaction.timeout.ms): a commit whose flush cannot end
 * would hold the polling thread until max.poll.interval.ms throws the
 * member out of the group, silently. Every call here is bounded instead,
 * by the caller's deadline, never less than a second. */
static int bounded(int64_t deadline)
{
    int64_t left = deadline - clk_now_ms();
    return left < 1000 ? 1000 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Every librdkafka transactional call that can block is armed before
 * (watchdog_arm) and ends through this: the watchdog ends the member if the
 * call outlives its timeout. */
static rd_kafka_error_t *returned(consumer *c, rd_kafka_error_t *e)
{
    watchdog_disarm(&c->wd);
    return e;
}

int txn_init(consumer *c, char *errstr, size_t n)
{
    watchdog_arm(&c->wd, "init_transactions", 60000);
    rd_kafka_error_t *e = returned(c, rd_kafka_init_transactions(c->producer, 60000));
    if (e) {
        snprintf(errstr, n, "init_transactions: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    if (txn_begin(c)) {
        snprintf(errstr, n, "begin_transaction failed (logged above)");
        return -1;
    }
    return 0;
}

int txn_begin(consumer *c)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(c->producer);
    if (e) {
        log_error(&c->log, "begin_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    c->tx.open = 1;
    return 0;
}

/* Aborts the open transaction once the engine returned its batches: 0, or
 * -1 after a fatal status (not even an abort within the deadline: the
 * member stops with exit 3; nothing of the transaction was committed, a
 * restart redoes it). */
static int txn_abort(consumer *c)
{
    stage_drop_filling(c);
    stage_wait_idle(c, clk_now_ms() + c->cfg.shutdown_deadline_ms);
    /* An abort that times out goes on in the background and is retriable
     * (librdkafka: call it again): a message in flight to a broker that is
     * paused or cut off holds the flush until its request times out. The
     * fault harness saw a member give up after one 30 s try (exit 3) where
     * a second try would have finished. Bounded: the shutdown deadline plus
     * the transaction timeout, past which the coordinator has aborted it. */
    int64_t give_up = clk_now_ms() + c->cfg.shutdown_deadline_ms + c->cfg.txn_timeout_ms;
    rd_kafka_error_t *e;
    for (;;) {
        int tmo = bounded(clk_now_ms() + c->cfg.shutdown_deadline_ms);
        watchdog_arm(&c->wd, "abort_transaction", tmo);
        e = returned(c, rd_kafka_abort_transaction(c->producer, tmo));
        if (!e || !rd_kafka_error_is_retriable(e) || clk_now_ms() >= give_up) break;
        log_warn(&c->log, "abort_transaction: %s; trying again (the abort goes on meanwhile)",
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    if (e) {
        log_error(&c->log, "abort_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    c->tx.open = 0;
    c->stats.txn_aborts++;
    c->tx.msgs = 0;
    return 0;
}

/* The assignment was lost (the session timed out): abort, and rewind
 * nothing. The partitions are another member's now, or come back later
 * starting at their committed offsets; asking for those offsets now, in
 * the outage that lost them, would only time out. */
void txn_abort_lost(consumer *c)
{
    if (txn_abort(c)) return;
    log_warn(&c->log, "transaction aborted: the assignment was lost");
    txn_begin(c);
}

/* Abortable transaction error: abort, then rewind each partition to the
 * first offset the aborted transaction consumed (tracked, track.h), so that
 * input is consumed again. Asking the coordinator for committed offsets
 * instead failed in an outage (it timed out after 30 s, and the member had
 * to stop with exit 3); a seek needs no broker. */
void txn_abort_and_rewind(consumer *c)
{
    if (txn_abort(c)) return;
    rd_kafka_topic_partition_list_t *to = rd_kafka_topic_partition_list_new(c->tracks.nparts + 1);
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->consumer, &a)) a = NULL;
    for (track_part *p = track_next(&c->tracks, NULL); p; p = track_next(&c->tracks, p)) {
        /* A partition no longer assigned is its next owner's, who starts
         * at the committed offset anyway. */
        if (track_txn_base(p) >= 0 && a && rd_kafka_topic_partition_list_find(a, track_topic(p), track_partition(p)))
            rd_kafka_topic_partition_list_add(to, track_topic(p), track_partition(p))->offset = track_txn_base(p);
        track_clear(p);
    }
    if (a) rd_kafka_topic_partition_list_destroy(a);
    rd_kafka_error_t *se = to->cnt ? rd_kafka_seek_partitions(c->consumer, to, 30000) : NULL;
    for (int i = 0; !se && i < to->cnt; i++) {
        if (to->elems[i].err) {
            log_error(&c->log, "rewind of %s [%d] to %lld: %s", to->elems[i].topic, (int)to->elems[i].partition,
                      (long long)to->elems[i].offset, rd_kafka_err2str(to->elems[i].err));
            outcome_fail(&c->fatal, EXIT_FATAL);
        }
    }
    if (se) {
        log_error(&c->log, "rewind after abort failed: %s", rd_kafka_error_string(se));
        rd_kafka_error_destroy(se);
        outcome_fail(&c->fatal, EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(to);
    log_warn(&c->log, "transaction aborted; rewound to where it began");
    if (!atomic_load(&c->fatal)) txn_begin(c);
}

/* The input offsets of the open transaction: every message handed out. */
static rd_kafka_topic_partition_list_t *pushed_offsets(consumer *c)
{
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(c->tracks.nparts + 1);
    for (track_part *p = track_next(&c->tracks, NULL); p; p = track_next(&c->tracks, p))
        if (track_last_pushed(p) >= 0)
            rd_kafka_topic_partition_list_add(offs, track_topic(p), track_partition(p))->offset =
                track_last_pushed(p) + 1;
    return offs;
}

/* Commits the open transaction: every message handed to the engine so far
 * has been produced inside it; its input offsets go with it. */
void txn_commit(consumer *c, int64_t deadline)
{
    if (!c->tx.open || c->tx.msgs == 0) return;     /* no empty transactions when idle */
    stage_submit(c);
    if (stage_wait_idle(c, deadline)) {
        log_error(&c->log, "engine did not finish in time; aborting the transaction");
        txn_abort_and_rewind(c);
        return;
    }
    rd_kafka_topic_partition_list_t *offs = pushed_offsets(c);
    /* Once librdkafka accepted the offsets, or began the commit, those
     * calls are not repeated: a call that timed out is resumed by calling
     * commit again, and any other call meanwhile (the offsets again, or an
     * abort) fails with "Conflicting commit_transaction API call". */
    int offsets_sent = offs->cnt == 0, extended = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        rd_kafka_error_t *e = NULL;
        if (!offsets_sent) {
            rd_kafka_consumer_group_metadata_t *meta = rd_kafka_consumer_group_metadata(c->consumer);
            int tmo = bounded(deadline);
            watchdog_arm(&c->wd, "send_offsets_to_transaction", tmo);
            e = returned(c, rd_kafka_send_offsets_to_transaction(c->producer, offs, meta, tmo));
            rd_kafka_consumer_group_metadata_destroy(meta);
            if (!e) offsets_sent = 1;
        }
        if (!e) {
            int tmo = bounded(deadline);
            watchdog_arm(&c->wd, "commit_transaction", tmo);
            e = returned(c, rd_kafka_commit_transaction(c->producer, tmo));
        }
        if (!e) {
            c->tx.open = 0;
            c->stats.txn_commits++;
            c->tx.msgs = 0;
            for (track_part *p = track_next(&c->tracks, NULL); p; p = track_next(&c->tracks, p))
                track_txn_committed(p);
            break;
        }
        if (rd_kafka_error_txn_requires_abort(e)) {
            log_warn(&c->log, "transaction commit: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(offs);
            txn_abort_and_rewind(c);
            return;
        }
        int retriable = rd_kafka_error_is_retriable(e);
        log_error(&c->log, "transaction commit: %s%s", rd_kafka_error_string(e), retriable ? " (retrying)" : "");
        rd_kafka_error_destroy(e);
        if (retriable && clk_now_ms() >= deadline && offsets_sent && !extended) {
            /* The commit is under way (an outage): it cannot be aborted,
             * only resumed. Within one more transaction timeout it either
             * completes, or the coordinator has aborted it and the resumed
             * call says so (abortable, handled above). */
            log_warn(&c->log, "transaction commit still pending at its deadline: resuming it for up to %" PRId64
                              " ms more", c->cfg.txn_timeout_ms);
            deadline = clk_now_ms() + c->cfg.txn_timeout_ms;
            extended = 1;
            continue;
        }
        if (retriable && clk_now_ms() >= deadline) {
            /* Out of time: the member must go back to polling (its group
             * membership depends on it), so the transaction is given up. */
            log_error(&c->log, "transaction commit did not complete by its deadline: aborting it");
            rd_kafka_topic_partition_list_destroy(offs);
            txn_abort_and_rewind(c);
            return;
        }
        if (!retriable) {
            /* Fatal, fenced included: another instance took over. */
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(offs);
    if (!atomic_load(&c->fatal) && c->tx.open == 0) txn_begin(c);
}

void txn_count(consumer *c) { c->tx.msgs++; }

void txn_abort_fatal(consumer *c)
{
    if (!c->cfg.exactly_once || !c->tx.open) return;
    watchdog_arm(&c->wd, "abort_transaction", 10000);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(c->producer, 10000);
    watchdog_disarm(&c->wd);
    if (e) rd_kafka_error_destroy(e);
    c->tx.open = 0;
}
