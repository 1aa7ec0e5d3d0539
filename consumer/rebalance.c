/* rebalance.c -- partitions assigned and revoked: tracking starts and
 * stops, and what was done for revoked partitions is committed before
 * another member takes them (never after they were lost). */
#include <inttypes.h>
#include "consumer.h"

static void commit_revoked(consumer *c, rd_kafka_topic_partition_list_t *parts, int lost, int left_committed)
{
    int64_t deadline = clk_now_ms() + c->cfg.shutdown_deadline_ms;
    stage_submit(c);
    if (stage_wait_idle(c, deadline)) log_warn(&c->log, "rebalance: engine still busy at the deadline");
    if (c->cfg.exactly_once) {
        if (lost) txn_abort_lost(c);
        else txn_commit(c, deadline);
        return;
    }
    int64_t left = deadline - clk_now_ms();
    rd_kafka_flush(c->producer, (int)(left > 0 ? left : 0));
    deliver_store_offsets(c);
    if (lost) return;       /* another member owns them now: never commit */
    /* The revoke of consumer_close, after the final commit: nothing was
     * acknowledged since, and a rebalance under way would refuse it. */
    if (left_committed) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        track_part *p = track_find(&c->tracks, parts->elems[i].topic, parts->elems[i].partition);
        if (p && track_next_store(p) >= 0)
            rd_kafka_topic_partition_list_add(l, track_topic(p), track_partition(p))->offset = track_next_store(p);
    }
    if (l->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c->consumer, l, 0);
        if (err) log_warn(&c->log, "commit on revoke: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* kafka.start_at: the partitions of parts that the group has no committed
 * offset for start at the first offset at or after the time (Kafka's
 * offsets for times; a time past the end means the end). Partitions with a
 * commit keep it: a replay group restarted goes on where it was. Errors are
 * logged and leave the partition to auto.offset.reset, never stop the
 * assignment. */
static void start_at(consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, committed, 10000);
    if (err) {
        log_warn(&c->log, "start_at: committed offsets: %s; auto.offset.reset applies", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(committed);
        return;
    }
    rd_kafka_topic_partition_list_t *times = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < committed->cnt; i++)
        if (committed->elems[i].offset < 0 && !committed->elems[i].err)
            rd_kafka_topic_partition_list_add(times, committed->elems[i].topic, committed->elems[i].partition)->offset =
                c->cfg.start_at_ms;
    rd_kafka_topic_partition_list_destroy(committed);
    if (times->cnt && (err = rd_kafka_offsets_for_times(rk, times, 10000)))
        log_warn(&c->log, "start_at: offsets for %s: %s; auto.offset.reset applies", c->cfg.start_at,
                 rd_kafka_err2str(err));
    for (int i = 0; !err && i < times->cnt; i++) {
        rd_kafka_topic_partition_t *t = &times->elems[i];
        if (t->err) {
            log_warn(&c->log, "start_at: %s [%" PRId32 "]: %s", t->topic, t->partition, rd_kafka_err2str(t->err));
            continue;
        }
        int64_t off = t->offset, lo, hi;
        /* -1: nothing at or after the time, so the end; a concrete offset,
         * so that the member knows where it stands before any message. */
        if (off < 0 && !rd_kafka_query_watermark_offsets(rk, t->topic, t->partition, &lo, &hi, 10000)) off = hi;
        if (off < 0) continue;
        rd_kafka_topic_partition_list_find(parts, t->topic, t->partition)->offset = off;
        track_part *p = track_find(&c->tracks, t->topic, t->partition);
        if (p) track_set_start(p, off);
        log_info(&c->log, "start_at %s: %s [%" PRId32 "] starts at offset %" PRId64 "%s", c->cfg.start_at, t->topic,
                 t->partition, off, t->offset < 0 ? " (its end: nothing at or after that time)" : "");
    }
    rd_kafka_topic_partition_list_destroy(times);
}

void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    consumer *c = opaque;
    atomic_fetch_add(&c->stats.rebalances, 1);
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            if (!track_add(&c->tracks, parts->elems[i].topic, parts->elems[i].partition)) {
                log_error(&c->log, "cannot track %s [%" PRId32 "]: too many partitions", parts->elems[i].topic,
                          parts->elems[i].partition);
                outcome_fail(&c->fatal, EXIT_FATAL);
            }
        }
        /* The protocol in the line: a test (and an operator) can tell an
         * incremental (COOPERATIVE: cooperative-sticky, KIP-848) from an
         * eager (range, roundrobin) group by the log. */
        log_info(&c->log, "assigned %d partition(s) (%s)", parts->cnt, rd_kafka_rebalance_protocol(rk));
        c->stats.assignments++;
        int paused = loop_on_assigned(c);
        if (c->cfg.start_at_ms >= 0 && parts->cnt) start_at(c, rk, parts);
        if (c->cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else rd_kafka_assign(rk, parts);
        /* librdkafka keeps a partition paused by the application through
         * its revoke and its next assignment (only its own pause is reset):
         * a partition paused here before and given back while this member
         * is not paused would never be fetched again, and nothing would
         * resume it. So every assigned partition is set to the member's
         * state, either way (a resume of one not paused does nothing). */
        if (parts->cnt) (paused ? rd_kafka_pause_partitions : rd_kafka_resume_partitions)(rk, parts);
    } else {
        int lost = rd_kafka_assignment_lost(rk);
        log_info(&c->log, "%s %d partition(s) (%s)", lost ? "lost" : "revoked", parts->cnt,
                 rd_kafka_rebalance_protocol(rk));
        commit_revoked(c, parts, lost, loop_on_revoked(c, lost));
        for (int i = 0; i < parts->cnt; i++) {
            track_part *p = track_find(&c->tracks, parts->elems[i].topic, parts->elems[i].partition);
            if (p) track_remove(&c->tracks, p);
        }
        if (c->cooperative) e = rd_kafka_incremental_unassign(rk, parts);
        else rd_kafka_assign(rk, NULL);
    }
    if (e) {
        log_error(&c->log, "rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        outcome_fail(&c->fatal, EXIT_FATAL);
    }
}
