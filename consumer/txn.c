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

static int begin(consumer *c)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(c->producer);
    if (e) {
        log_error(&c->log, "begin_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    c->tx.open = 1;
    return 0;
}

int txn_begin(consumer *c)
{
    if (!begin(c)) return 0;
    if (rd_kafka_fatal_error(c->producer, NULL, 0)) return txn_recover(c, 1);
    outcome_fail(&c->fatal, EXIT_FATAL);
    return -1;
}

/* Aborts the open transaction once the engine returned its batches: 0;
 * 1 when the abort met a producer in a fatal state and the producer was
 * replaced instead (txn_recover, rewinding if asked: the transaction is
 * gone and a new one open); or -1 after a fatal status (not even an abort
 * within the deadline: the member stops with exit 3; nothing of the
 * transaction was committed, a restart redoes it). */
static int txn_abort(consumer *c, int rewind)
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
        if (rd_kafka_fatal_error(c->producer, NULL, 0)) return txn_recover(c, rewind) ? -1 : 1;
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
    if (txn_abort(c, 0)) return;
    log_warn(&c->log, "transaction aborted: the assignment was lost");
    txn_begin(c);
}

/* Seeks the consumer to the offsets in to (consumed: destroyed here),
 * bounded by timeout_ms; each partition's own error is logged. 0, or -1. */
static int seek_to(consumer *c, rd_kafka_topic_partition_list_t *to, int timeout_ms)
{
    rd_kafka_error_t *se = to->cnt ? rd_kafka_seek_partitions(c->consumer, to, timeout_ms) : NULL;
    int rc = 0;
    if (se) {
        log_error(&c->log, "rewind: %s", rd_kafka_error_string(se));
        rd_kafka_error_destroy(se);
        rc = -1;
    }
    for (int i = 0; !rc && i < to->cnt; i++) {
        if (to->elems[i].err) {
            log_error(&c->log, "rewind of %s [%d] to %" PRId64 ": %s", to->elems[i].topic,
                      (int)to->elems[i].partition, to->elems[i].offset, rd_kafka_err2str(to->elems[i].err));
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(to);
    return rc;
}

/* Abortable transaction error: abort, then rewind each partition to the
 * first offset the aborted transaction consumed (tracked, track.h), so that
 * input is consumed again. Asking the coordinator for committed offsets
 * instead failed in an outage (it timed out after 30 s, and the member had
 * to stop with exit 3); a seek needs no broker. */
void txn_abort_and_rewind(consumer *c)
{
    if (txn_abort(c, 1)) return;
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
    if (seek_to(c, to, 30000)) outcome_fail(&c->fatal, EXIT_FATAL);
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
            c->tx.resets_in_row = 0;
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
            /* The producer failed: replaced unless another instance took
             * over (txn_recover). Whether this commit reached the
             * coordinator or not, the committed offsets say where to go on. */
            if (rd_kafka_fatal_error(c->producer, NULL, 0)) txn_recover(c, 1);
            else outcome_fail(&c->fatal, EXIT_FATAL);
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

/* ---- replacing a producer in a fatal state.
 *
 * librdkafka makes a transactional producer's error fatal when its own
 * state and the coordinator's disagree, and then no call but destroy
 * succeeds. The fault harness met two such after a member was stopped
 * (SIGSTOP) for 14 s while its session expired: an abort answered
 * INVALID_TXN_STATE, and a retried batch whose first attempt had been
 * written after all answered OUT_OF_ORDER_SEQUENCE_NUMBER (librdkafka
 * counted it as not persisted and reused its sequence after the abort).
 * Neither says anything about the member's input or output: a new
 * producer with the same transactional id (InitProducerId fences the old
 * epoch and ends whatever transaction it left open) and the committed
 * offsets are all that is needed to go on, which is what Kafka Streams
 * does with its task producers. Stopping instead would hand the partitions
 * to another member after a session timeout, to redo the same work. */

static const client_callbacks producer_cb = { deliver_on_report, NULL, NULL };

/* Why the producer may not be replaced, or NULL when it may. */
static const char *not_replaceable(consumer *c, rd_kafka_resp_err_t perr)
{
    if (!c->cfg.exactly_once || !perr) return "the error is not the transactional producer's";
    if (c->consumer && rd_kafka_fatal_error(c->consumer, NULL, 0)) return "the consumer failed too";
    /* With a static group.instance.id the transactional id is the
     * instance's: a fence may come from the instance that replaced this
     * one (a zombie must stop, never fence back). Without it the id names
     * this process, and only the coordinator's own epoch bump (a
     * transaction past its timeout) fences it. */
    int fenced = perr == RD_KAFKA_RESP_ERR__FENCED || perr == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 perr == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    if (fenced && *c->cfg.group_instance_id)
        return "fenced: another instance of this group.instance.id took over";
    if (c->tx.resets_in_row >= TXN_MAX_RESETS_IN_ROW) return "it failed again after each replacement";
    return NULL;
}

/* Every assigned partition back to its committed offset; one with none
 * committed to where the failed transaction began, or, if it had consumed
 * nothing there, left where it is (nothing of it was handed out). The
 * committed offsets are asked again while the coordinator does not answer,
 * until the deadline. 0, or -1 (logged). */
static int rewind_to_committed(consumer *c, int64_t deadline)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->consumer, &a);
    if (err) {
        log_error(&c->log, "rewind: the assignment: %s", rd_kafka_err2str(err));
        return -1;
    }
    for (int attempt = 1; a->cnt; attempt++) {
        err = rd_kafka_committed(c->consumer, a, bounded(clk_now_ms() + 10000 < deadline ? clk_now_ms() + 10000
                                                                                       : deadline));
        if (!err || clk_now_ms() >= deadline) break;
        log_warn(&c->log, "rewind: committed offsets: %s (try %d); asking again", rd_kafka_err2str(err), attempt);
    }
    rd_kafka_topic_partition_list_t *to = rd_kafka_topic_partition_list_new(a->cnt + 1);
    for (int i = 0; !err && i < a->cnt; i++) {
        rd_kafka_topic_partition_t *e = &a->elems[i];
        track_part *p = track_find(&c->tracks, e->topic, e->partition);
        int64_t at = e->offset >= 0 ? e->offset : p && track_txn_base(p) >= 0 ? track_txn_base(p) : -1;
        if (e->err) err = e->err;
        else if (at >= 0) rd_kafka_topic_partition_list_add(to, e->topic, e->partition)->offset = at;
    }
    rd_kafka_topic_partition_list_destroy(a);
    if (err) {
        log_error(&c->log, "rewind: committed offsets: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(to);
        return -1;
    }
    int n = to->cnt;
    if (seek_to(c, to, bounded(deadline))) return -1;
    log_info(&c->log, "rewound %d partition(s) to their committed offsets", n);
    return 0;
}

/* Destroys the failed producer once the stage returned every batch (its
 * encoder produces through c->producer), makes a new one, initializes its
 * transactions and begins one; with rewind, the input goes back to the
 * committed offsets. -1 after a fatal status. */
static int replace_producer(consumer *c, int rewind)
{
    int64_t deadline = clk_now_ms() + c->cfg.shutdown_deadline_ms;
    stage_drop_filling(c);
    if (stage_wait_idle(c, deadline)) {
        log_error(&c->log, "producer replacement: the engine did not return its batches in time");
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    /* Its queue is dropped unsent: this transaction is never committed.
     * The purge waits for the broker threads (not NON_BLOCKING) and its
     * reports are served before the destroy: with requests still in flight,
     * a Produce answer that declared the producer fenced raced the destroy
     * inside librdkafka 2.15.1 (ASan: a double free in
     * rd_kafka_txn_set_fatal_error on a broker thread, frozen-eos). */
    watchdog_arm(&c->wd, "destroy of the failed producer", 60000);
    rd_kafka_purge(c->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(c->producer, 1000);
    rd_kafka_destroy(c->producer);
    watchdog_disarm(&c->wd);
    c->producer = NULL;
    c->tx.open = 0;
    c->tx.msgs = 0;
    deliver_free_pending(c);
    /* Its fatal flag goes with it; a fatal error of the consumer's meanwhile
     * sets it again (and the loop stops on it). */
    atomic_store(&c->kev.fatal, 0);
    if (c->consumer && rd_kafka_fatal_error(c->consumer, NULL, 0)) atomic_store(&c->kev.fatal, 1);
    char err[512];
    if (!(c->producer = client_producer(c, &producer_cb, err, sizeof err))) {
        log_error(&c->log, "producer replacement: %s", err);
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    /* The coordinator may be the reason (an outage): retried while
     * retriable, up to the transaction timeout, past which it has aborted
     * the old producer's transaction by itself anyway. */
    int64_t give_up = clk_now_ms() + c->cfg.txn_timeout_ms;
    for (;;) {
        watchdog_arm(&c->wd, "init_transactions", 30000);
        rd_kafka_error_t *e = returned(c, rd_kafka_init_transactions(c->producer, 30000));
        if (!e) break;
        int again = rd_kafka_error_is_retriable(e) && clk_now_ms() < give_up;
        log_warn(&c->log, "producer replacement: init_transactions: %s%s", rd_kafka_error_string(e),
                 again ? "; trying again" : "");
        rd_kafka_error_destroy(e);
        if (!again) {
            outcome_fail(&c->fatal, EXIT_FATAL);
            return -1;
        }
    }
    if (rewind && rewind_to_committed(c, clk_now_ms() + c->cfg.txn_timeout_ms)) {
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    /* What was handed out and not committed is consumed again (rewound) or
     * is the next owner's (lost): no partition waits for its records. */
    for (track_part *p = track_next(&c->tracks, NULL); p; p = track_next(&c->tracks, p)) track_clear(p);
    if (begin(c)) {
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    c->tx.resets_in_row++;
    atomic_fetch_add(&c->stats.producer_resets, 1);
    log_warn(&c->log, "producer replaced; a new transaction is open%s",
             rewind ? " and the input goes on from the committed offsets" : "");
    return 0;
}

int txn_recover(consumer *c, int rewind)
{
    char why[512] = "";
    rd_kafka_resp_err_t perr = rd_kafka_fatal_error(c->producer, why, sizeof why);
    const char *no = not_replaceable(c, perr);
    if (no) {
        log_error(&c->log, "the transactional producer cannot be replaced (%s)%s%s", no, *why ? ": " : "", why);
        outcome_fail(&c->fatal, EXIT_FATAL);
        return -1;
    }
    log_warn(&c->log, "the transactional producer failed (%s: %s): replacing it (%d of %d in a row)",
             rd_kafka_err2name(perr), why, c->tx.resets_in_row + 1, TXN_MAX_RESETS_IN_ROW);
    return replace_producer(c, rewind);
}
