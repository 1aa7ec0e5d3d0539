/* loop.c -- the polling loop: message intake, batching, flow control,
 * readiness, and the one shutdown sequence (see consumer.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "consumer.h"

void loop_set_paused(consumer *c, int pause)
{
    if (pause == c->lp.paused) return;
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->consumer, &a) == 0 && a) {
        if (a->cnt) (pause ? rd_kafka_pause_partitions : rd_kafka_resume_partitions)(c->consumer, a);
        rd_kafka_topic_partition_list_destroy(a);
    }
    c->lp.paused = pause;
}

/* No room for m (tracker or batch): rewind its partition to it and pause,
 * so it is fetched again after the resume. Nothing is skipped. */
static void defer(consumer *c, rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset;
    loop_set_paused(c, 1);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->consumer, l, 5000);
    if (e) {
        log_error(&c->log, "seek back to %s [%" PRId32 "] @%" PRId64 ": %s", rd_kafka_topic_name(m->rkt),
                  m->partition, m->offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        outcome_fail(&c->fatal, EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_destroy(m);
}

static void intake(consumer *c, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            track_part *p = track_find(&c->tracks, rd_kafka_topic_name(m->rkt), m->partition);
            if (p) track_set_eof(p, 1);
        } else {
            char why[512];
            rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(c->consumer, why, sizeof why);
            log_error(&c->log, "consumer: %s%s%s", rd_kafka_message_errstr(m), ferr ? "; fatal: " : "",
                      ferr ? why : "");
            if (ferr) outcome_fail(&c->fatal, EXIT_FATAL);
            /* An ACL that refuses the group or an input topic: librdkafka
             * would retry forever and the member would sit idle, holding
             * nothing. Before the first assignment it is a start-up error. */
            else if (m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
                     m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
                log_error(&c->log, "not authorized (ACL: Read on group %s and on the input topics)", c->cfg.group_id);
                outcome_fail(&c->fatal, c->stats.assignments ? EXIT_FATAL : EXIT_CONFIG);
            }
        }
        rd_kafka_message_destroy(m);
        return;
    }
    track_part *p = track_find(&c->tracks, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p) {   /* a partition we no longer own: its new owner consumes it */
        rd_kafka_message_destroy(m);
        return;
    }
    work *w = stage_filling(c);
    if (!w || w->n == (size_t)c->cfg.batch_articles || track_full(p)) {
        defer(c, m);
        return;
    }
    uint64_t token = track_push(&c->tracks, p, m->offset);
    track_set_eof(p, 0);
    txn_count(c);
    stage_take(c, w, m, token);
    c->lp.last_activity_ms = clk_now_ms();
}

/* Backpressure. When the engine holds max_in_flight batches and the next
 * one is full, the polling thread first waits for a slot (serving delivery
 * reports), up to SLOT_WAIT_MS: pausing at once would drop librdkafka's
 * prefetched messages and cost a fetch round trip at every resume, which
 * measured 30x slower on a backlog (bench/results.md). Partitions are
 * paused when the engine stays full that long, or when a partition has
 * max_unacked outputs unacknowledged; resumed once both are below. */
#define SLOT_WAIT_MS 500

static void wait_for_slot(consumer *c)
{
    int64_t end = clk_now_ms() + SLOT_WAIT_MS;
    while (stage_in_flight(c) >= c->cfg.max_in_flight && clk_now_ms() < end) deliver_serve(c, 1);
}

static void flow_control(consumer *c)
{
    work *w = stage_current(c);
    int full = stage_in_flight(c) >= c->cfg.max_in_flight && (!w || (int64_t)w->n >= c->cfg.batch_articles);
    uint32_t worst = track_max_count(&c->tracks);
    if (worst + (uint32_t)c->cfg.batch_articles >= c->tracks.ring_cap) full = 1;
    if (full) loop_set_paused(c, 1);
    else if (c->lp.paused && worst < c->tracks.ring_cap / 2) loop_set_paused(c, 0);
}

/* Values owned by the polling thread, published for scrapes. */
static void publish_gauges(consumer *c)
{
    int assigned = track_assigned(&c->tracks);
    atomic_store(&c->stats.assigned, assigned);
    atomic_store(&c->stats.paused_parts, c->lp.paused ? assigned : 0);
    atomic_store(&c->stats.inflight, stage_in_flight(c));
    atomic_store(&c->stats.producer_queue, c->producer ? rd_kafka_outq_len(c->producer) : 0);
    atomic_store(&c->stats.ready, c->stats.assignments > 0 && !*c->stop);
}

/* Why the member is not idle: logged at info when the reason changes,
 * and every 30 s while it repeats (the check runs every second, and a
 * drained member waiting for the rest of its group would fill the log);
 * the repeats in between at debug. */
static void not_idle(consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void not_idle(consumer *c, const char *fmt, ...)
{
    char why[sizeof c->lp.not_idle];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (strcmp(why, c->lp.not_idle) || clk_now_ms() - c->lp.not_idle_logged_ms >= 30000) {
        log_info(&c->log, "%s", why);
        memcpy(c->lp.not_idle, why, sizeof why);
        c->lp.not_idle_logged_ms = clk_now_ms();
    } else {
        log_debug(&c->log, "%s", why);
    }
}

/* Whether offset (a position, or a committed offset for a partition not
 * ours) is at the partition's high watermark, asked of its leader. */
static int at_end(consumer *c, const char *topic, int32_t partition, int64_t offset, const char *whose)
{
    int64_t lo, hi;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(c->consumer, topic, partition, &lo, &hi, 1000);
    if (err) {
        not_idle(c, "not idle: %s [%d]: %s", topic, (int)partition, rd_kafka_err2str(err));
        return 0;
    }
    if (hi > lo && offset < hi) {
        not_idle(c, "not idle: %s [%d]%s at %lld of %lld", topic, (int)partition, whose, (long long)offset,
                 (long long)hi);
        return 0;
    }
    return 1;
}

/* The rest of the group: every partition of the input topics that this
 * member does not own has its committed offset at its high watermark.
 * Otherwise another member still has work, or nobody holds it (a member
 * died and the group has not handed its partitions out yet), and leaving
 * now could end the last member with work left: an exit 0 that lies.
 * Members of one group thus leave together, once the group's lag is 0. */
static int group_caught_up(consumer *c, const rd_kafka_topic_partition_list_t *mine)
{
    rd_kafka_topic_partition_list_t *rest = rd_kafka_topic_partition_list_new(16);
    int ok = 1;
    for (int t = 0; ok && t < c->cfg.input.n; t++) {
        int count = 0;
        char why[300];
        if (kafka_partition_count(c->consumer, c->cfg.input.v[t], 1000, &count, why, sizeof why)) {
            not_idle(c, "not idle: %s", why);
            ok = 0;
        }
        /* Kafka numbers a topic's partitions 0 .. count-1. */
        for (int32_t id = 0; ok && id < count; id++)
            if (!rd_kafka_topic_partition_list_find(mine, c->cfg.input.v[t], id))
                rd_kafka_topic_partition_list_add(rest, c->cfg.input.v[t], id);
    }
    if (ok && rest->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_committed(c->consumer, rest, 1000);
        if (err) {
            not_idle(c, "not idle: the group's committed offsets: %s", rd_kafka_err2str(err));
            ok = 0;
        }
    }
    for (int i = 0; ok && i < rest->cnt; i++)
        ok = at_end(c, rest->elems[i].topic, rest->elems[i].partition, rest->elems[i].offset, ", not ours, committed");
    rd_kafka_topic_partition_list_destroy(rest);
    return ok;
}

/* The brokers answer (metadata), the assignment is the one tracked, and
 * every assigned partition's position is its high watermark, asked of the
 * partition's leader (a cached one is stale after an outage until the
 * fetcher reconnects). A broker outage is not idleness. */
static int caught_up(consumer *c)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->consumer, &a) || !a) return 0;
    /* The brokers answer at all (with no partition to ask about, too). */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr = rd_kafka_metadata(c->consumer, 0, NULL, &md, 1000);
    if (md) rd_kafka_metadata_destroy(md);
    int ok = merr == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!ok) not_idle(c, "not idle: the brokers do not answer: %s", rd_kafka_err2str(merr));
    if (ok && a->cnt != track_assigned(&c->tracks)) {
        not_idle(c, "not idle: %d partition(s) assigned, %d tracked", a->cnt, track_assigned(&c->tracks));
        ok = 0;
    }
    if (ok && rd_kafka_position(c->consumer, a)) ok = 0;
    /* A partition that gave this member no message yet has no position:
     * its committed offset is where the group stands (asked of the
     * coordinator, which also proves it answers). */
    rd_kafka_topic_partition_list_t *unknown = rd_kafka_topic_partition_list_new(a->cnt);
    for (int i = 0; i < a->cnt; i++)
        if (a->elems[i].offset < 0) rd_kafka_topic_partition_list_add(unknown, a->elems[i].topic, a->elems[i].partition);
    if (ok && unknown->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_committed(c->consumer, unknown, 1000);
        if (err) {
            not_idle(c, "not idle: committed offsets: %s", rd_kafka_err2str(err));
            ok = 0;
        }
        for (int i = 0; ok && i < unknown->cnt; i++) {
            rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(a, unknown->elems[i].topic,
                                                                                unknown->elems[i].partition);
            /* No commit either: where kafka.start_at put it, if it did. */
            track_part *tp = track_find(&c->tracks, unknown->elems[i].topic, unknown->elems[i].partition);
            if (p) p->offset = unknown->elems[i].offset >= 0 || !tp ? unknown->elems[i].offset : track_start(tp);
        }
    }
    rd_kafka_topic_partition_list_destroy(unknown);
    for (int i = 0; ok && i < a->cnt; i++)
        ok = at_end(c, a->elems[i].topic, a->elems[i].partition, a->elems[i].offset, "");
    if (ok) ok = group_caught_up(c, a);
    rd_kafka_topic_partition_list_destroy(a);
    return ok;
}

/* Drained: the group gave us an assignment (possibly empty: more members
 * than partitions), every assigned partition reached its end, nothing is
 * in flight, and for the whole of exit_idle_ms nothing happened while the
 * brokers, asked every second, answered that nothing is left. A check that
 * fails (a broker outage, lag) starts the idle period again. */
static int drained(consumer *c)
{
    if (!c->stats.assignments) return 0;       /* still joining the group */
    /* Its session timed out (a broker outage): an empty assignment is not
     * a drained one until the group gives it a new one. */
    if (c->lp.assignment_lost) return 0;
    if (stage_current(c) && stage_current(c)->n) return 0;
    if (stage_in_flight(c) || rd_kafka_outq_len(c->producer) > 0 || deliver_pending(c)) return 0;
    if (!track_drained(&c->tracks)) return 0;
    int64_t t = clk_now_ms();
    if (t - c->lp.idle_checked_ms >= 1000) {
        /* More than 3 s since the last check ended (the loop was busy, or
         * blocked in a call an outage stalled): nothing vouches for it. */
        int gap = t - c->lp.idle_checked_ms > 3000;
        int ok = caught_up(c);
        c->lp.idle_checked_ms = clk_now_ms();
        if (!ok || gap) {
            c->lp.last_activity_ms = clk_now_ms();
            return 0;
        }
    }
    return clk_now_ms() - c->lp.last_activity_ms >= c->cfg.exit_idle_ms;
}

/* A batch closes at batch.max_articles, batch.max_bytes or batch.linger_ms;
 * it goes to the engine when a slot is free (waiting a little for one). */
static void maybe_submit(consumer *c, int64_t t)
{
    work *w = stage_current(c);
    if (!w || !w->n) return;
    if ((int64_t)w->n < c->cfg.batch_articles && (int64_t)w->bytes < c->cfg.batch_bytes &&
        t - w->opened_ms < c->cfg.linger_ms)
        return;
    if (stage_in_flight(c) >= c->cfg.max_in_flight && (int64_t)w->n >= c->cfg.batch_articles) wait_for_slot(c);
    if (stage_in_flight(c) < c->cfg.max_in_flight) stage_submit(c);
}

/* The last commit before leaving (at least once). A signal can come in
 * the middle of a rebalance (a member joined; under the cooperative
 * protocol the member rejoins after an incremental revoke): the broker then
 * refuses the commit, ILLEGAL_GENERATION while the join is under way and
 * REBALANCE_IN_PROGRESS until the sync. Leaving at that point would lose
 * the commit (exit 2, the work redone by the next owner), so the member
 * serves the rebalance, paused so that nothing new is fetched, and commits
 * again under the new generation, until the deadline. Partitions the
 * rebalance takes away are committed by the revoke callback. */
static int final_commit(consumer *c, int64_t deadline)
{
    loop_set_paused(c, 1);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c->consumer, NULL, 0);
        if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
            c->lp.left_committed = 1;
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
            /* The coordinator removed this member (its session expired in a
             * fault: a partition of the network, a stop) and it has not
             * rejoined yet: its partitions are another member's, or will be,
             * from their committed offsets, as for a lost assignment while
             * running. Nothing of this member's is left to do; what it
             * produced since its last commit is produced again by the next
             * owner (at least once). Not an unclean exit: the fault
             * harness met it when a member cut off from the coordinator got
             * SIGTERM before it was back in the group. */
            log_warn(&c->log, "final commit: %s: the group removed this member, so its partitions go on from "
                              "their committed offsets with another member", rd_kafka_err2str(err));
            c->lp.left_committed = 1;
            return 0;
        }
        int rebalancing = err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
        if (!rebalancing || clk_now_ms() >= deadline) {
            log_warn(&c->log, "final commit: %s", rd_kafka_err2str(err));
            return -1;
        }
        log_info(&c->log, "final commit: %s: serving the rebalance, then committing again", rd_kafka_err2str(err));
        for (int64_t until = clk_now_ms() + 200; clk_now_ms() < until;) {
            /* Paused: only messages fetched before can come. Not processed,
             * so not stored: the partition's next owner reads them. */
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c->consumer, 50);
            if (m) rd_kafka_message_destroy(m);
        }
    }
}

/* Stop fetching, finish the batches, flush, commit, leave. */
static int shutdown_member(consumer *c)
{
    int64_t deadline = clk_now_ms() + c->cfg.shutdown_deadline_ms;
    int status = atomic_load(&c->fatal);
    log_info(&c->log, "shutting down%s", *c->stop ? " (signal)" : "");
    atomic_store(&c->stats.ready, 0);
    if (!status) {
        stage_submit(c);
        if (stage_wait_idle(c, deadline)) status = EXIT_UNCLEAN;
        if (c->cfg.exactly_once) {
            uint64_t resets = atomic_load(&c->stats.producer_resets);
            txn_commit(c, deadline);
            /* Replaced during the final commit: the input since the last
             * commit was rewound, not done; the next owner does it. */
            if (atomic_load(&c->stats.producer_resets) != resets) status = EXIT_UNCLEAN;
        } else {
            int64_t left = deadline - clk_now_ms();
            if (rd_kafka_flush(c->producer, (int)(left > 0 ? left : 0))) status = EXIT_UNCLEAN;
            /* Reports served by the flush may have asked for dead letters. */
            while (deliver_pending(c) && !atomic_load(&c->fatal) && clk_now_ms() < deadline) {
                deliver_serve(c, 10);
                rd_kafka_flush(c->producer, 100);
            }
            if (deliver_pending(c)) status = EXIT_UNCLEAN;
            deliver_store_offsets(c);
            if (final_commit(c, deadline)) status = EXIT_UNCLEAN;
        }
        if (!status) status = atomic_load(&c->fatal);
    } else {
        /* Fatal: commit nothing more; what is unacknowledged is redone. */
        stage_drop_filling(c);
        stage_wait_idle(c, deadline);
        txn_abort_fatal(c);
    }
    rd_kafka_consumer_close(c->consumer);    /* leaves the group (revoke runs here) */
    stage_stop(c);
    if (c->producer) rd_kafka_flush(c->producer, 5000);     /* NULL: its replacement failed (txn.c) */
    if (!status && c->producer && rd_kafka_outq_len(c->producer) > 0) status = EXIT_UNCLEAN;
    return status ? status : atomic_load(&c->fatal);
}

int loop_on_assigned(consumer *c)
{
    c->lp.last_activity_ms = clk_now_ms();
    c->lp.assignment_lost = 0;
    return c->lp.paused;
}

int loop_on_revoked(consumer *c, int lost)
{
    c->lp.last_activity_ms = clk_now_ms();
    if (lost) {
        c->lp.assignment_lost = 1;
        /* Out of the group until it is given partitions again: the join
         * watch starts over (a rejoin can wait minutes unseen, issue 27). */
        if (!atomic_load(&c->stats.join_wait_since_ms)) {
            atomic_store(&c->stats.join_wait_since_ms, c->lp.last_activity_ms);
            c->lp.join_warn_at_ms = c->lp.last_activity_ms + c->cfg.join_warn_ms;
        }
    }
    return c->lp.left_committed;
}

/* Joined: the group gave this member an assignment (the rebalance callback
 * ran; an empty one counts: more members than partitions), or librdkafka's
 * statistics say its join state is steady (a KIP-848 member given nothing
 * may see no callback). Until then, every kafka.join_warn_ms, a warning
 * with librdkafka's view of the group and what usually causes it: a join
 * that cannot succeed is retried below librdkafka's debug level only. */
static void join_watch(consumer *c, int64_t t)
{
    int64_t since = atomic_load(&c->stats.join_wait_since_ms);
    if (!since) return;
    /* After a lost assignment only a new one counts (the statistics may
     * still say steady from before). */
    if (!c->lp.assignment_lost && (c->stats.assignments > 0 || atomic_load(&c->stats.group_steady))) {
        atomic_store(&c->stats.join_wait_since_ms, 0);
        if (atomic_load(&c->stats.join_warnings))
            log_info(&c->log, "in group %s again after %.1f s", c->cfg.group_id, (double)(t - since) / 1000.0);
        return;
    }
    if (!c->cfg.join_warn_ms || t < c->lp.join_warn_at_ms) return;
    c->lp.join_warn_at_ms = t + c->cfg.join_warn_ms;
    atomic_fetch_add(&c->stats.join_warnings, 1);
    char state[sizeof c->stats.group_state];
    pthread_mutex_lock(&c->stats.stats_mu);
    memcpy(state, c->stats.group_state, sizeof state);
    pthread_mutex_unlock(&c->stats.stats_mu);
    int kip848 = !strcmp(c->cfg.group_protocol, "consumer");
    log_warn(&c->log, "not in group %s for %.0f s (librdkafka's group state: %s); %s", c->cfg.group_id,
             (double)(t - since) / 1000.0, *state ? state : "no statistics yet",
             kip848 ? "kafka.group_protocol=consumer (KIP-848) needs brokers of Kafka 4.0 or later with consumer in "
                      "group.coordinator.rebalance.protocols, and librdkafka retries without an error when they lack "
                      "it: use kafka.group_protocol=classic with older brokers"
                    : "a join waits for the group coordinator and for the other members to rejoin (up to their "
                      "max.poll.interval.ms): check that the brokers are reachable and the group's ACLs");
}

int loop_run(consumer *c)
{
    c->lp.last_activity_ms = clk_now_ms();
    atomic_store(&c->stats.join_wait_since_ms, c->lp.last_activity_ms);
    c->lp.join_warn_at_ms = c->lp.last_activity_ms + c->cfg.join_warn_ms;
    int64_t next_txn = clk_now_ms() + c->cfg.txn_interval_ms;
    while (!*c->stop && !atomic_load(&c->fatal)) {
        if (atomic_load(&c->kev.fatal)) {
            /* Exactly-once: a failed transactional producer is replaced. */
            if (c->cfg.exactly_once && rd_kafka_fatal_error(c->producer, NULL, 0)) {
                if (txn_recover(c, 1) == 0) continue;
                break;
            }
            log_error(&c->log, "librdkafka reported a fatal error: %s", c->kev.fatal_reason);
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
        work *w = stage_current(c);
        int64_t t = clk_now_ms(), wait = 100;
        if (w && w->n) wait = w->opened_ms + c->cfg.linger_ms - t;
        if (wait < 0) wait = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->consumer, (int)wait);
        if (m) intake(c, m);
        deliver_serve(c, 0);
        atomic_store(&c->stats.heartbeat_ms, clk_now_ms());
        t = clk_now_ms();
        maybe_submit(c, t);
        flow_control(c);
        publish_gauges(c);
        join_watch(c, t);
        if (c->cfg.exactly_once && t >= next_txn) {
            /* As long as the transaction may live (the coordinator aborts
             * it after that anyway), well inside max.poll.interval.ms. */
            int64_t span = c->cfg.txn_timeout_ms > c->cfg.shutdown_deadline_ms ? c->cfg.txn_timeout_ms
                                                                                : c->cfg.shutdown_deadline_ms;
            txn_commit(c, t + span);
            next_txn = clk_now_ms() + c->cfg.txn_interval_ms;
        }
        if (c->cfg.exit_after && (int64_t)atomic_load(&c->stats.consumed) >= c->cfg.exit_after) break;
        if (c->cfg.exit_idle_ms && drained(c)) break;
    }
    return shutdown_member(c);
}
