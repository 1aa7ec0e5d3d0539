/* member.c -- one member's life around its polling loop: everything up to
 * the first poll (the engine stage, the clients, the cluster check, the
 * transactional producer, the subscription and the helper threads), the
 * run's summary line, and the one cleanup path. main.c is the command
 * line; loop.c is what runs in between. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consumer.h"

/* Peak resident memory, from /proc (Linux), in MiB; -1 when unknown. */
static long peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

void member_summary(consumer *c, int status)
{
    consumer_stats *s = &c->stats;
    double secs = (double)(clk_now_ms() - s->started_ms) / 1000.0;
    uint64_t n = atomic_load(&s->consumed), dead = 0;
    for (int i = 0; i < DL_NCLASSES; i++) dead += atomic_load(&s->dead_by[i]);
    int64_t last_ack = atomic_load(&s->last_ack_ms);
    int64_t busy_ms = s->first_msg_ms && last_ack > s->first_msg_ms ? last_ack - s->first_msg_ms : 0;
    char line[1024], more[256] = "";
    int k = snprintf(line, sizeof line,
             "%s: %" PRIu64 " articles consumed, %" PRIu64 " records, %" PRIu64
             " dead-lettered, %" PRIu64 " acknowledged, %" PRIu64 " delivery failures; %.1f s, "
             "%.0f articles/s, %.2f MB/s in; backend %s, model %s, %s; %" PRIu64 " rebalances",
             status == EXIT_CLEAN ? "clean exit" : status == EXIT_UNCLEAN ? "UNCLEAN exit" : "FAILED",
             n, atomic_load(&s->produced), dead, atomic_load(&s->delivered), atomic_load(&s->delivery_failed), secs,
             secs > 0 ? (double)n / secs : 0.0, secs > 0 ? (double)atomic_load(&s->in_bytes) / secs / 1e6 : 0.0,
             stage_engine(c) ? dhatu_engine_backend(stage_engine(c)) : "-", c->cfg.model, c->cfg.mode,
             (uint64_t)atomic_load(&s->rebalances));
    if (busy_ms > 0 && k > 0 && (size_t)k < sizeof line)
        k += snprintf(line + k, sizeof line - (size_t)k,
                      "; first article to last acknowledgement %.3f s: %.0f articles/s, %.2f MB/s", busy_ms / 1e3,
                      (double)n * 1e3 / (double)busy_ms, (double)atomic_load(&s->in_bytes) / 1e3 / (double)busy_ms);
    if (c->cfg.exactly_once)
        snprintf(more, sizeof more, "; %" PRIu64 " transactions committed, %" PRIu64 " aborted, %" PRIu64
                 " producer replacement%s", s->txn_commits, s->txn_aborts, (uint64_t)atomic_load(&s->producer_resets),
                 atomic_load(&s->producer_resets) == 1 ? "" : "s");
    if (c->cfg.share) {
        size_t m = strlen(more);
        snprintf(more + m, sizeof more - m, "; share group: %" PRIu64 " record%s delivered more than once",
                 (uint64_t)atomic_load(&s->share_redelivered), atomic_load(&s->share_redelivered) == 1 ? "" : "s");
    }
    if (stage_registry(c)) {
        size_t m = strlen(more);
        snprintf(more + m, sizeof more - m, "; registry: %" PRIu64 " requests, %" PRIu64 " failed, %" PRIu64
                 " cache hits", (uint64_t)atomic_load(&s->registry_requests),
                 (uint64_t)atomic_load(&s->registry_failures), (uint64_t)atomic_load(&s->registry_cache_hits));
    }
    /* The summary is the run's result: printed even with -q. */
    log_write(&c->log, status ? LOG_ERROR : LOG_INFO, "%s; peak RSS %ld MiB%s%s", line, peak_rss_mib(),
              c->passthrough ? "; PASSTHROUGH (no engine)" : "", more);
}

/* A transactional call outlived its timeout by this much: librdkafka will
 * not return from it (watchdog.h). Generous: a slow coordinator is not a
 * hung one. */
#define WATCHDOG_GRACE_MS 30000

/* Ends the process from the watchdog's thread: the polling thread is stuck
 * inside librdkafka, so no orderly shutdown can run. Nothing is lost: the
 * open transaction was never committed (the coordinator aborts it after
 * transaction.timeout.ms), so its input is redone by whoever restarts this
 * member or takes its partitions. Status 3, as for any fatal error. */
static void watchdog_exit(void *arg, const char *call)
{
    consumer *c = arg;
    log_error(&c->log, "FAILED: exiting with status %d while blocked in %s; the open transaction is not committed, "
                       "so its input will be consumed again", EXIT_FATAL, call);
    _exit(EXIT_FATAL);
}

int member_start(consumer *c)
{
    exporter_stats_init(&c->stats);
    char err[512];
    if (client_check_overrides(c, err, sizeof err) || stage_init(c, err, sizeof err)) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    const char *old = kafka_version_warning(c->cfg.kafka_props.v, c->cfg.kafka_props.n);
    if (old) log_warn(&c->log, "librdkafka %s: %s", rd_kafka_version_str(), old);
    /* Before 2.6.1 a commit that meets a cooperative rebalance loses the
     * assignment (librdkafka#4059): eager is the safe choice there.
     * (Exactly-once used range too for a while, for a stall that turned
     * out to be librdkafka's send_offsets_to_transaction hanging under any
     * assignor: watchdog.h.) */
    int old_lib = rd_kafka_version() < 0x020601ff;
    if (old_lib && !strcmp(c->cfg.assignor, "cooperative-sticky") && strcmp(c->cfg.group_protocol, "consumer")) {
        log_warn(&c->log, "librdkafka %s predates the cooperative commit fix (#4059): kafka.assignor range "
                 "instead of cooperative-sticky (scripts/rdkafka.sh builds 2.15.1)", rd_kafka_version_str());
        if (ccfg_set(&c->cfg, "kafka.assignor=range", err, sizeof err)) {
            log_error(&c->log, "%s", err);
            return -1;
        }
    }
    if (track_table_init(&c->tracks, 4096, (uint32_t)(c->cfg.max_unacked + c->cfg.batch_articles))) {
        log_error(&c->log, "out of memory");
        return -1;
    }
    static const client_callbacks cb = { deliver_on_report, rebalance_cb, exporter_on_stats };
    if (!(c->producer = client_producer(c, &cb, err, sizeof err)) || client_check_cluster(c, err, sizeof err) ||
        (!c->cfg.share && !(c->consumer = client_consumer(c, &cb, err, sizeof err))) ||
        (c->cfg.share && share_init(c, err, sizeof err))) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    log_info(&c->log, "backend %s (%s), model %s, %s, output %s", dhatu_engine_backend(stage_engine(c)),
             dhatu_engine_describe(stage_engine(c)), dhatu_engine_model_id(stage_engine(c)), c->cfg.mode,
             c->cfg.output_format);
    /* KIP-848 assigns incrementally too (rd_kafka_rebalance_protocol says so). */
    c->cooperative = !strcmp(c->cfg.assignor, "cooperative-sticky") || !strcmp(c->cfg.group_protocol, "consumer");
    if (c->cfg.http_port >= 0) {
        if (!(c->http = http_start(c->cfg.http_address, (int)c->cfg.http_port, exporter_on_http, c, err,
                                   sizeof err))) {
            log_error(&c->log, "http: %s", err);
            return -1;
        }
        log_info(&c->log, "metrics and probes on http://%s:%d/metrics, /health, /ready", c->cfg.http_address,
                 http_port(c->http));
    }
    if (*c->cfg.registry_url) log_info(&c->log, "schema registry %s", c->cfg.registry_url);
    if (stage_register_output(c, err, sizeof err)) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    if (c->cfg.exactly_once) {
        if (watchdog_start(&c->wd, &c->log, WATCHDOG_GRACE_MS, watchdog_exit, c)) {
            log_error(&c->log, "cannot start the watchdog thread");
            return -1;
        }
        if (txn_init(c, err, sizeof err)) {
            log_error(&c->log, "%s", err);
            return -1;
        }
    }
    if (c->cfg.share) {         /* a share group: share.c instead of the group consumer */
        if (share_start(c, err, sizeof err)) {
            log_error(&c->log, "%s", err);
            return -1;
        }
        if (stage_start(c)) {
            log_error(&c->log, "cannot start the engine thread");
            return -1;
        }
        return 0;
    }
    rd_kafka_poll_set_consumer(c->consumer);
    rd_kafka_topic_partition_list_t *subs = client_input_topics(c);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(c->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr) {
        log_error(&c->log, "subscribe: %s", rd_kafka_err2str(serr));
        return -1;
    }
    if (stage_start(c)) {
        log_error(&c->log, "cannot start the engine thread");
        return -1;
    }
    if (orphans_start(c, err, sizeof err)) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    return 0;
}

void member_cleanup(consumer *c)
{
    orphans_stop(c);            /* before the consumer handle it asks through */
    watchdog_stop(&c->wd);
    stage_stop(c);
    http_stop(c->http);          /* before the handles a scrape reads */
    if (c->consumer) rd_kafka_destroy(c->consumer);
    share_free(c);
    if (c->producer) rd_kafka_destroy(c->producer);
    stage_free(c);
    deliver_free_pending(c);
    track_table_free(&c->tracks);
    exporter_stats_free(&c->stats);
    ccfg_free(&c->cfg);
}

