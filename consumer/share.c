/* share.c -- the member in a share group (see share.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "consumer.h"

/* share.auto.offset.reset=earliest on the group, as auto.offset.reset is
 * for a consumer group: a new share group otherwise starts at the end and
 * its members silently receive nothing of the backlog. A group config
 * (IncrementalAlterConfigs on the GROUP resource); 0, or -1 with why. */
static int group_from_earliest(consumer *c, char *why, size_t wn)
{
    rd_kafka_ConfigResource_t *r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_GROUP, c->cfg.group_id);
    rd_kafka_error_t *e = rd_kafka_ConfigResource_add_incremental_config(r, "share.auto.offset.reset",
                                                                          RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, "earliest");
    if (e) {
        snprintf(why, wn, "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rd_kafka_ConfigResource_destroy(r);
        return -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->producer);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(c->producer, RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS);
    char es[256];
    rd_kafka_AdminOptions_set_request_timeout(o, (int)c->cfg.startup_timeout_ms, es, sizeof es);
    rd_kafka_IncrementalAlterConfigs(c->producer, &r, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)c->cfg.startup_timeout_ms + 1000);
    int rc = -1;
    if (!ev) {
        snprintf(why, wn, "no answer within %" PRId64 " ms", c->cfg.startup_timeout_ms);
    } else if (rd_kafka_event_error(ev)) {
        snprintf(why, wn, "%s", rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_IncrementalAlterConfigs_result_t *res = rd_kafka_event_IncrementalAlterConfigs_result(ev);
        size_t cnt = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_IncrementalAlterConfigs_result_resources(res, &cnt);
        if (cnt == 1 && rd_kafka_ConfigResource_error(rs[0])) snprintf(why, wn, "%s", rd_kafka_ConfigResource_error_string(rs[0]));
        else rc = 0;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(r);
    return rc;
}

int share_init(consumer *c, char *errstr, size_t n)
{
    if (backlog_init(&c->share_backlog, c->producer, c->cfg.group_id, c->cfg.share_backlog_ms, &c->log)) {
        snprintf(errstr, n, "share backlog: out of memory");
        return -1;
    }
    return 0;
}

int share_start(consumer *c, char *errstr, size_t n)
{
    char why[512];
    if (!(c->share = client_share(c, exporter_on_stats, errstr, n))) return -1;
    if (group_from_earliest(c, why, sizeof why))
        log_warn(&c->log, "share group %s: cannot set share.auto.offset.reset=earliest (%s): a new group starts at "
                 "the end of the input; set it with kafka-configs --entity-type groups", c->cfg.group_id, why);
    rd_kafka_topic_partition_list_t *subs = client_input_topics(c);
    rd_kafka_resp_err_t err = rd_kafka_share_subscribe(c->share, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        snprintf(errstr, n, "share subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    log_warn(&c->log, "share group %s (KIP-932, EXPERIMENTAL: librdkafka's share consumer is a preview): at least "
             "once, records accepted once their output is acknowledged; exactly-once is not available here",
             c->cfg.group_id);
    return 0;
}

void share_free(consumer *c)
{
    if (c->cfg.share) backlog_free(&c->share_backlog);
    if (!c->share) return;
    rd_kafka_error_t *e = rd_kafka_share_destroy(c->share);
    if (e) rd_kafka_error_destroy(e);
    c->share = NULL;
}

/* A message of the batch into the engine stage (the polling thread's side
 * of loop.c's intake, for messages the batch container owns). */
static void add(consumer *c, rd_kafka_message_t *m, uint64_t token)
{
    work *w = stage_filling(c);
    while (!w || w->n == (size_t)c->cfg.batch_articles) {
        if (w && w->n && stage_in_flight(c) < c->cfg.max_in_flight) stage_submit(c);
        else deliver_serve(c, 1);
        w = stage_filling(c);
    }
    stage_take(c, w, m, token);
}

/* One poll batch: through the engine, its outputs produced and
 * acknowledged, then every record of it accepted; released instead when
 * that could not be finished. Returns the records it held. */
static size_t process(consumer *c, rd_kafka_messages_t *batch)
{
    size_t n = rd_kafka_messages_count(batch), held = 0;
    int64_t t0 = clk_now_ms();
    atomic_store(&c->stats.share_held_since_ms, t0);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = rd_kafka_messages_get(batch, i);
        if (m->err) {
            /* librdkafka acknowledged it already (reject or release by the
             * error's kind); nothing of ours to do but say so. */
            log_warn(&c->log, "share poll: %s [%" PRId32 "] @%" PRId64 ": %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                     m->partition, m->offset, rd_kafka_message_errstr(m));
            continue;
        }
        held++;
        backlog_seen(&c->share_backlog, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        track_part *p = track_add(&c->tracks, rd_kafka_topic_name(m->rkt), m->partition);
        uint64_t token = p ? track_push(&c->tracks, p, m->offset) : 0;
        if (!token) {
            log_error(&c->log, "out of tracking room for a share batch of %zu records", n);
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
        int dc = rd_kafka_message_delivery_count(m);
        if (dc > 1) atomic_fetch_add(&c->stats.share_redelivered, 1);
        if (dc > c->cfg.share_max_deliveries) {
            char why[160];
            snprintf(why, sizeof why, "delivered %d times, more than share.max_deliveries (%" PRId64 ")", dc,
                     c->cfg.share_max_deliveries);
            atomic_fetch_add(&c->stats.consumed, 1);
            deliver_dead_letter(c, m, token, DL_REDELIVERY_LIMIT, why, NULL);
            continue;
        }
        add(c, m, token);
    }
    stage_submit(c);
    /* Everything of the batch produced and acknowledged: the engine stage
     * idle, the producer's queue empty, no dead letter waiting. */
    int64_t deadline = t0 + c->cfg.shutdown_deadline_ms;
    int ok = stage_wait_idle(c, deadline) == 0;
    while (ok && !atomic_load(&c->fatal) && (rd_kafka_outq_len(c->producer) > 0 || deliver_pending(c))) {
        if (clk_now_ms() >= deadline) ok = 0;
        deliver_serve(c, 10);
    }
    ok = ok && !atomic_load(&c->fatal);
    rd_kafka_share_AcknowledgeType_t type = ok ? RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT
                                               : RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_RELEASE;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = rd_kafka_messages_get(batch, i);
        if (m->err) continue;
        rd_kafka_resp_err_t e = rd_kafka_share_acknowledge_type(c->share, m, type);
        if (e) log_warn(&c->log, "acknowledging %s [%" PRId32 "] @%" PRId64 ": %s", rd_kafka_topic_name(m->rkt),
                        m->partition, m->offset, rd_kafka_err2str(e));
    }
    rd_kafka_error_t *ce = rd_kafka_share_commit_async(c->share);
    if (ce) {
        log_warn(&c->log, "share commit: %s", rd_kafka_error_string(ce));
        rd_kafka_error_destroy(ce);
    }
    if (!ok && held) log_warn(&c->log, "released %zu record(s) of an unfinished batch: another member (or this one) "
                              "processes them again", held);
    /* The batch's partitions are tracked anew by the next batch. */
    for (track_part *p = track_next(&c->tracks, NULL); p;) {
        track_part *next = track_next(&c->tracks, p);
        track_remove(&c->tracks, p);
        p = next;
    }
    int64_t took = clk_now_ms() - t0;
    if (took > c->cfg.share_lock_ms / 2)
        log_warn(&c->log, "a share batch of %zu records took %" PRId64 " ms, more than half of share.lock_ms (%" PRId64
                 " ms): its records may be delivered again to another member; lower batch.max_articles",
                 held, took, c->cfg.share_lock_ms);
    atomic_store(&c->stats.share_held_since_ms, 0);
    return held;
}

int share_run(consumer *c)
{
    int64_t last_work = clk_now_ms();
    int assigned = 0, worked = 0;
    atomic_store(&c->stats.ready, 1);
    while (!*c->stop && !atomic_load(&c->fatal)) {
        if (atomic_load(&c->kev.fatal)) {
            log_error(&c->log, "librdkafka reported a fatal error: %s", c->kev.fatal_reason);
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
        rd_kafka_messages_t *batch = NULL;
        rd_kafka_error_t *e = rd_kafka_share_poll(c->share, 100, &batch);
        if (e) {
            log_warn(&c->log, "share poll: %s", rd_kafka_error_string(e));
            if (rd_kafka_error_is_fatal(e)) outcome_fail(&c->fatal, EXIT_FATAL);
            rd_kafka_error_destroy(e);
        }
        if (batch && rd_kafka_messages_count(batch)) {
            if (process(c, batch)) last_work = clk_now_ms(), worked = 1;
        }
        int now_assigned = atomic_load(&c->stats.assigned);
        if (now_assigned != assigned) {
            log_info(&c->log, "share group %s: %d input partition(s) assigned to this member", c->cfg.group_id,
                     now_assigned);
            assigned = now_assigned;
        }
        rd_kafka_messages_destroy(batch);
        deliver_serve(c, 0);
        backlog_tick(&c->share_backlog, clk_now_ms());
        atomic_store(&c->stats.heartbeat_ms, clk_now_ms());
        atomic_store(&c->stats.inflight, stage_in_flight(c));
        atomic_store(&c->stats.producer_queue, rd_kafka_outq_len(c->producer));
        /* Drained, as far as a share member can tell: no record for
         * exit_idle_ms since it joined. (A share group has no per-member
         * offsets to compare with the partitions' ends; records another
         * member holds come back to the group if it dies.) Joined: the
         * statistics say it was given a partition, or it got a record.
         * Joining takes a heartbeat or two (5 s each by default), longer
         * on a loaded broker: a clock that ran from the start let every
         * member of a new group exit idle before its first record (CI,
         * 2026-12-07). With statistics off (http.stats_interval_ms=0)
         * nothing tells, and the clock runs from the start. */
        if (!assigned && !worked && c->cfg.stats_interval_ms) last_work = clk_now_ms();
        if (c->cfg.exit_idle_ms && clk_now_ms() - last_work >= c->cfg.exit_idle_ms) break;
    }
    log_info(&c->log, "shutting down%s", *c->stop ? " (signal)" : "");
    atomic_store(&c->stats.ready, 0);
    int status = atomic_load(&c->fatal);
    /* Nothing is held between batches (each is accepted or released before
     * the next poll); close sends the last acknowledgements and leaves. */
    rd_kafka_error_t *e = rd_kafka_share_consumer_close(c->share);
    if (e) {
        log_warn(&c->log, "share consumer close: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    stage_stop(c);
    rd_kafka_flush(c->producer, 5000);
    if (!status && rd_kafka_outq_len(c->producer) > 0) status = EXIT_UNCLEAN;
    return status ? status : atomic_load(&c->fatal);
}
