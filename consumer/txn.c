/* txn.c -- exactly-once: output records and input offsets committed in one
 * Kafka transaction (KIP-447 offsets fencing by group generation). */
#include "consumer.h"

/* librdkafka's commit and abort take -1 as "no limit" (their timeouts are
 * not capped by transaction.timeout.ms): a commit whose flush cannot end
 * would hold the polling thread until max.poll.interval.ms throws the
 * member out of the group, silently. Every call here is bounded instead,
 * by the caller's deadline, never less than a second. */
static int bounded(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left < 1000 ? 1000 : left > INT32_MAX ? INT32_MAX : (int)left;
}

int txn_begin(consumer *c)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(c->producer);
    if (e) {
        log_error(&c->log, "begin_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        consumer_fail(c, EXIT_FATAL);
        return -1;
    }
    c->txn_open = 1;
    return 0;
}

/* Aborts the open transaction once the engine returned its batches: 0, or
 * -1 after a fatal status (not even an abort within the deadline: the
 * member stops with exit 3; nothing of the transaction was committed, a
 * restart redoes it). */
static int txn_abort(consumer *c)
{
    stage_drop_filling(c);
    deliver_wait_engine(c, now_ms() + c->cfg.shutdown_deadline_ms);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(c->producer, bounded(now_ms() + c->cfg.shutdown_deadline_ms));
    if (e) {
        log_error(&c->log, "abort_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        consumer_fail(c, EXIT_FATAL);
        return -1;
    }
    c->txn_open = 0;
    c->stats.txn_aborts++;
    c->txn_msgs = 0;
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

/* Abortable transaction error: abort, then rewind every assigned partition
 * to its committed offset so the aborted input is consumed again. */
void txn_abort_and_rewind(consumer *c)
{
    if (txn_abort(c)) return;
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->consumer, &a) == 0 && a && a->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_committed(c->consumer, a, 30000);
        for (int i = 0; !err && i < a->cnt; i++) {
            if (a->elems[i].offset < 0) a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            track_part *p = track_find(&c->tracks, a->elems[i].topic, a->elems[i].partition);
            if (p) track_clear(p);
        }
        rd_kafka_error_t *se = err ? NULL : rd_kafka_seek_partitions(c->consumer, a, 30000);
        if (err || se) {
            log_error(&c->log, "rewind after abort failed: %s",
                      se ? rd_kafka_error_string(se) : rd_kafka_err2str(err));
            if (se) rd_kafka_error_destroy(se);
            consumer_fail(c, EXIT_FATAL);
        }
    }
    if (a) rd_kafka_topic_partition_list_destroy(a);
    log_warn(&c->log, "transaction aborted; rewound to the committed offsets");
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
    if (!c->txn_open || c->txn_msgs == 0) return;     /* no empty transactions when idle */
    stage_submit(c);
    if (deliver_wait_engine(c, deadline)) {
        log_error(&c->log, "engine did not finish in time; aborting the transaction");
        txn_abort_and_rewind(c);
        return;
    }
    rd_kafka_topic_partition_list_t *offs = pushed_offsets(c);
    for (int attempt = 0; attempt < 10; attempt++) {
        rd_kafka_error_t *e = NULL;
        if (offs->cnt) {
            rd_kafka_consumer_group_metadata_t *meta = rd_kafka_consumer_group_metadata(c->consumer);
            e = rd_kafka_send_offsets_to_transaction(c->producer, offs, meta, bounded(deadline));
            rd_kafka_consumer_group_metadata_destroy(meta);
        }
        if (!e) e = rd_kafka_commit_transaction(c->producer, bounded(deadline));
        if (!e) {
            c->txn_open = 0;
            c->stats.txn_commits++;
            c->txn_msgs = 0;
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
        if (retriable && now_ms() >= deadline) {
            /* Out of time: the member must go back to polling (its group
             * membership depends on it), so the transaction is given up. */
            log_error(&c->log, "transaction commit did not complete by its deadline: aborting it");
            rd_kafka_topic_partition_list_destroy(offs);
            txn_abort_and_rewind(c);
            return;
        }
        if (!retriable) {
            /* Fatal, fenced included: another instance took over. */
            consumer_fail(c, EXIT_FATAL);
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(offs);
    if (!atomic_load(&c->fatal) && c->txn_open == 0) txn_begin(c);
}
