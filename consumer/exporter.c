/* exporter.c -- what the member publishes over HTTP: Prometheus metrics at
 * /metrics, liveness at /health, readiness at /ready. Every family is
 * declared once in the table below, which also feeds --help-metrics and so
 * the check that docs/MONITORING.md documents each one. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "consumer.h"

enum fam {
    F_TEXTS, F_CONSUMED, F_ACKED, F_DEAD, F_DELIVERY_ERR, F_IN_BYTES, F_OUT_BYTES, F_BATCH_ARTICLES, F_STAGE,
    F_ACK_SECONDS, F_E2E, F_ASSIGNED, F_PAUSED, F_REBALANCES, F_INFLIGHT, F_PRODUCER_QUEUE, F_BACKEND, F_BUILD,
    F_LAG, F_COMMITTED, F_STORED, F_GROUP_STATE, F_REG_WAITING, F_REG_REQUESTS, F_REG_FAILURES, F_REG_HITS,
    F_GROUP_UNOWNED, F_GROUP_NUDGES, F_ENGINE_INFLIGHT, F_DEVICE_MEMORY, F_DEVICE_BUSY, F_SHARE_HELD, F_SHARE_BACKLOG, F_SHARE_REDELIVERED,
    F_PRODUCER_RESETS, F_JOIN_WAIT, F_N
};

static const struct family { const char *name, *type, *help; } families[F_N] = {
    [F_TEXTS] = { "dhatu_texts_processed_total", "counter", "Articles vectorized and produced as records." },
    [F_CONSUMED] = { "dhatu_articles_consumed_total", "counter", "Messages consumed from the input topics." },
    [F_ACKED] = { "dhatu_records_acknowledged_total", "counter",
                  "Output and dead-letter messages acknowledged by the brokers." },
    [F_DEAD] = { "dhatu_dead_letters_total", "counter", "Articles sent to the dead-letter topic, by reason." },
    [F_DELIVERY_ERR] = { "dhatu_delivery_errors_total", "counter", "Messages the producer could not deliver." },
    [F_IN_BYTES] = { "dhatu_input_bytes_total", "counter", "Bytes of consumed message values." },
    [F_OUT_BYTES] = { "dhatu_output_bytes_total", "counter", "Bytes of produced record values." },
    [F_BATCH_ARTICLES] = { "dhatu_batch_articles", "histogram", "Articles per engine batch." },
    [F_STAGE] = { "dhatu_batch_stage_seconds", "histogram", "Time per batch in each stage of the engine thread." },
    [F_ACK_SECONDS] = { "dhatu_produce_ack_seconds", "histogram",
                        "Time from produce to broker acknowledgement, per record." },
    [F_E2E] = { "dhatu_end_to_end_seconds", "histogram",
                "Time from the input message's timestamp to the acknowledgement of its output." },
    [F_ASSIGNED] = { "dhatu_assigned_partitions", "gauge", "Input partitions assigned to this member." },
    [F_PAUSED] = { "dhatu_paused_partitions", "gauge", "Assigned partitions paused by backpressure." },
    [F_REBALANCES] = { "dhatu_rebalances_total", "counter", "Rebalance callbacks (assign and revoke)." },
    [F_INFLIGHT] = { "dhatu_inflight_batches", "gauge", "Batches handed to the engine and not yet produced." },
    [F_PRODUCER_QUEUE] = { "dhatu_producer_queue_messages", "gauge",
                           "Messages in the producer's queue, not yet acknowledged." },
    [F_BACKEND] = { "dhatu_backend_info", "gauge", "The engine backend, its device and the model (value 1)." },
    [F_BUILD] = { "dhatu_build_info", "gauge", "Version of dhatu-consumer and librdkafka (value 1)." },
    [F_LAG] = { "dhatu_consumer_lag", "gauge",
                "Messages between the consumer's position (or committed offset) and the partition's end." },
    [F_COMMITTED] = { "dhatu_committed_offset", "gauge", "Last committed offset of the partition (absent: none yet)." },
    [F_STORED] = { "dhatu_stored_offset", "gauge", "Offset stored for the next commit (absent: none yet)." },
    [F_GROUP_STATE] = { "dhatu_group_state", "gauge", "Consumer group state as librdkafka reports it (value 1)." },
    [F_REG_WAITING] = { "dhatu_registry_waiting", "gauge",
                        "1 while the engine waits for the schema registry (its messages wait, none is dropped)." },
    [F_REG_REQUESTS] = { "dhatu_registry_requests_total", "counter", "Schema registry requests that got an answer." },
    [F_REG_FAILURES] = { "dhatu_registry_failures_total", "counter",
                         "Schema registry attempts without an answer (timeouts, refused connections, 5xx)." },
    [F_REG_HITS] = { "dhatu_registry_cache_hits_total", "counter",
                     "Schema lookups and registrations served from the client's cache." },
    [F_GROUP_UNOWNED] = { "dhatu_group_unowned_partitions", "gauge",
                          "Input partitions that no member of the stable group owned at the orphan watch's last check." },
    [F_GROUP_NUDGES] = { "dhatu_group_nudges_total", "counter",
                         "Short-lived members the orphan watch joined to the group to have unowned partitions assigned." },
    [F_ENGINE_INFLIGHT] = { "dhatu_engine_batches_in_flight", "gauge",
                            "Batches submitted to the engine (its dispatcher, the device) and not yet collected." },
    [F_DEVICE_MEMORY] = { "dhatu_device_memory_bytes", "gauge",
                          "GPU backends: bytes held, by kind (slots and tables on the device, pinned host batches)." },
    [F_DEVICE_BUSY] = { "dhatu_device_busy_seconds_total", "counter",
                        "GPU backends: device seconds from the profiling events, by phase (copies in, kernels, copies out)." },
    [F_SHARE_HELD] = { "dhatu_share_oldest_held_seconds", "gauge",
                       "Share group: age of the oldest record this member holds under the broker's acquisition lock "
                       "(0: none)." },
    [F_SHARE_BACKLOG] = { "dhatu_share_backlog_records", "gauge",
                          "Share group: records of the partition past the highest offset this member was given "
                          "(the group's backlog: the sum over partitions of the minimum over members)." },
    [F_JOIN_WAIT] = { "dhatu_group_join_wait_seconds", "gauge",
                      "Seconds this member has been out of its consumer group, at start or after a lost assignment (0: in it)." },
    [F_PRODUCER_RESETS] = { "dhatu_producer_resets_total", "counter",
                            "Transactional producers replaced after a fatal error, the input going on from "
                            "the committed offsets (exactly-once; 0 at least once)." },
    [F_SHARE_REDELIVERED] = { "dhatu_share_redelivered_total", "counter",
                              "Share group: records given to this member with a delivery count above 1 (a member died "
                              "or released them, or their lock expired)." },
};

static const char *fam(metrics_buf *b, enum fam f)
{
    metrics_family(b, families[f].name, families[f].type, families[f].help);
    return families[f].name;
}

void exporter_print_families(FILE *f)
{
    for (int i = 0; i < F_N; i++) fprintf(f, "%s\t%s\t%s\n", families[i].name, families[i].type, families[i].help);
    for (int i = 0; i < CONTENT_NFAMILIES; i++)
        fprintf(f, "%s\tcounter\t%s\n", content_family_names[i], content_family_help[i]);
    fputs("process_cpu_seconds_total\tcounter\tStandard process metrics (also process_resident_memory_bytes, "
          "process_open_fds, process_start_time_seconds).\n", f);
}

/* librdkafka statistics (polling thread, every http.stats_interval_ms):
 * per-partition lag and offsets and the group state, rendered once here so
 * that a scrape only copies text under the lock. Unknown values (librdkafka
 * reports -1 or -1001) are left out rather than exported as numbers. */
int exporter_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    consumer *c = opaque;
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je), *topics, *t, *parts, *p, *cgrp;
    if (!root) return 0;
    metrics_buf b = { 0 };
    static const struct { enum fam f; const char *field; } per_part[3] = {
        { F_LAG, "consumer_lag" }, { F_COMMITTED, "committed_offset" }, { F_STORED, "stored_offset" } };
    for (int k = 0; k < 3; k++) {
        const char *name = fam(&b, per_part[k].f), *tname;
        if ((topics = json_object_get(root, "topics"))) json_object_foreach(topics, tname, t) {
            const char *pname;
            if ((parts = json_object_get(t, "partitions"))) json_object_foreach(parts, pname, p) {
                json_t *v = json_object_get(p, per_part[k].field);
                /* -1 is librdkafka's internal unassigned partition; skip
                 * partitions we do not consume (the producer's, or revoked). */
                if (!strcmp(pname, "-1") || !json_is_integer(v) || json_integer_value(v) < 0) continue;
                const char *fs = json_string_value(json_object_get(p, "fetch_state"));
                if (!fs || !strcmp(fs, "none")) continue;
                const char *labels[] = { "topic", tname, "partition", pname, NULL };
                metrics_sample(&b, name, labels, (double)json_integer_value(v));
            }
        }
    }
    char group_state[sizeof c->stats.group_state] = "";
    if ((cgrp = json_object_get(root, "cgrp"))) {
        const char *st = json_string_value(json_object_get(cgrp, "state"));
        const char *js = json_string_value(json_object_get(cgrp, "join_state"));
        snprintf(group_state, sizeof group_state, "%s/%s", st ? st : "?", js ? js : "?");
        const char *labels[] = { "group", c->cfg.group_id, "state", st ? st : "unknown", "join_state",
                                 js ? js : "unknown", NULL };
        metrics_sample(&b, fam(&b, F_GROUP_STATE), labels, 1);
        atomic_store(&c->stats.group_steady, js && !strcmp(js, "steady"));
        /* A share member has no rebalance callback (KIP-932): the
         * statistics are its only view of how many partitions it was
         * given (share.c waits for one before its idle clock runs). */
        json_t *as = json_object_get(cgrp, "assignment_size");
        if (c->cfg.share && json_is_integer(as)) atomic_store(&c->stats.assigned, (int)json_integer_value(as));
    }
    json_decref(root);
    pthread_mutex_lock(&c->stats.stats_mu);
    if (*group_state) memcpy(c->stats.group_state, group_state, sizeof group_state);
    metrics_buf old = c->stats.stats_text;
    c->stats.stats_text = b;
    pthread_mutex_unlock(&c->stats.stats_mu);
    metrics_buf_free(&old);
    return 0;
}

static void counter(metrics_buf *b, enum fam f, const char *const *labels, atomic_uint_fast64_t *v)
{
    metrics_sample(b, fam(b, f), labels, (double)atomic_load(v));
}

static void render_metrics(consumer *c, metrics_buf *b)
{
    consumer_stats *s = &c->stats;
    dhatu_engine *e = stage_engine(c);
    const char *model = dhatu_engine_model_id(e), *backend = dhatu_engine_backend(e);
    const char *mb[] = { "model", model, "backend", backend, NULL };
    const char *grp[] = { "group", c->cfg.group_id, NULL };
    counter(b, F_TEXTS, mb, &s->produced);
    content_render(b, &s->content, model);
    counter(b, F_CONSUMED, grp, &s->consumed);
    counter(b, F_ACKED, NULL, &s->delivered);
    const char *dead = fam(b, F_DEAD);
    for (int i = 0; i < DL_NCLASSES; i++) {
        if (!outcome_dl_used(i)) continue;
        const char *l[] = { "reason", outcome_dl_name(i), NULL };
        metrics_sample(b, dead, l, (double)atomic_load(&s->dead_by[i]));
    }
    counter(b, F_DELIVERY_ERR, NULL, &s->delivery_failed);
    counter(b, F_IN_BYTES, NULL, &s->in_bytes);
    counter(b, F_OUT_BYTES, NULL, &s->out_bytes);
    metrics_histogram(b, fam(b, F_BATCH_ARTICLES), NULL, &s->batch_articles);
    static const char *const stages[3] = { "decode", "engine", "encode_produce" };
    const char *stage_name = fam(b, F_STAGE);
    for (int i = 0; i < 3; i++) {
        const char *l[] = { "stage", stages[i], NULL };
        metrics_histogram(b, stage_name, l, &s->stage[i]);
    }
    metrics_histogram(b, fam(b, F_ACK_SECONDS), NULL, &s->produce_ack);
    metrics_histogram(b, fam(b, F_E2E), NULL, &s->e2e);
    metrics_sample(b, fam(b, F_ASSIGNED), grp, atomic_load(&s->assigned));
    metrics_sample(b, fam(b, F_ENGINE_INFLIGHT), NULL, dhatu_engine_in_flight(e));
    size_t mem[3];
    dhatu_engine_device_memory(e, &mem[0], &mem[1], &mem[2]);
    if (mem[0] || mem[1]) {         /* a GPU backend: the CPU ones hold no device memory */
        static const char *const kinds[3] = { "slots", "tables", "pinned" };
        const char *name = fam(b, F_DEVICE_MEMORY);
        for (int i = 0; i < 3; i++) {
            const char *l[] = { "kind", kinds[i], NULL };
            metrics_sample(b, name, l, (double)mem[i]);
        }
        if (c->cfg.profile) {
            static const char *const phases[3] = { "copy_in", "kernels", "copy_out" };
            double t[3];
            dhatu_engine_device_times(e, &t[0], &t[1], &t[2]);
            name = fam(b, F_DEVICE_BUSY);
            for (int i = 0; i < 3; i++) {
                const char *l[] = { "phase", phases[i], NULL };
                metrics_sample(b, name, l, t[i]);
            }
        }
    }
    metrics_sample(b, fam(b, F_PAUSED), NULL, atomic_load(&s->paused_parts));
    counter(b, F_REBALANCES, grp, &s->rebalances);
    metrics_sample(b, fam(b, F_INFLIGHT), NULL, atomic_load(&s->inflight));
    metrics_sample(b, fam(b, F_PRODUCER_QUEUE), NULL, atomic_load(&s->producer_queue));
    const char *bi[] = { "backend", backend, "device", dhatu_engine_describe(e), "model", model, NULL };
    metrics_sample(b, fam(b, F_BACKEND), bi, 1);
    const char *vi[] = { "version", DHATU_VERSION_STRING, "librdkafka", rd_kafka_version_str(), NULL };
    metrics_sample(b, fam(b, F_BUILD), vi, 1);
    if (stage_registry(c)) {
        metrics_sample(b, fam(b, F_REG_WAITING), NULL, atomic_load(&s->registry_waiting));
        counter(b, F_REG_REQUESTS, NULL, &s->registry_requests);
        counter(b, F_REG_FAILURES, NULL, &s->registry_failures);
        counter(b, F_REG_HITS, NULL, &s->registry_cache_hits);
    }
    /* In every mode (0 at least once), so that the alert's series exists. */
    counter(b, F_PRODUCER_RESETS, NULL, &s->producer_resets);
    if (!c->cfg.share) {    /* a share member's join is seen in dhatu_assigned_partitions (share.c) */
        int64_t joining = atomic_load(&s->join_wait_since_ms);
        metrics_sample(b, fam(b, F_JOIN_WAIT), grp, joining ? (double)(clk_now_ms() - joining) / 1000.0 : 0.0);
    } else {
        int64_t since = atomic_load(&s->share_held_since_ms);
        metrics_sample(b, fam(b, F_SHARE_HELD), NULL, since ? (double)(clk_now_ms() - since) / 1000.0 : 0.0);
        counter(b, F_SHARE_REDELIVERED, NULL, &s->share_redelivered);
        backlog_render(&c->share_backlog, b, fam(b, F_SHARE_BACKLOG));
    }
    if (orphans_enabled(c)) {
        metrics_sample(b, fam(b, F_GROUP_UNOWNED), NULL, atomic_load(&s->group_unowned));
        counter(b, F_GROUP_NUDGES, NULL, &s->group_nudges);
    }
    metrics_process(b, s->start_wall_s);
    pthread_mutex_lock(&s->stats_mu);
    if (s->stats_text.out.data) metrics_text(b, s->stats_text.out.data, s->stats_text.out.len);
    pthread_mutex_unlock(&s->stats_mu);
}

/* Alive: the polling loop turned recently and no batch is stuck in the
 * engine or the encoder (a producer queue full for a minute counts). */
static int health(consumer *c, metrics_buf *b)
{
    int64_t t = clk_now_ms(), hb = t - atomic_load(&c->stats.heartbeat_ms);
    int64_t busy = atomic_load(&c->stats.engine_busy_since_ms), enc = atomic_load(&c->stats.encoder_busy_since_ms);
    int bad = hb > 10000 || (busy && t - busy > 60000) || (enc && t - enc > 60000);
    char msg[200], e1[48] = "idle", e2[48] = "idle";
    if (busy) snprintf(e1, sizeof e1, "busy for %lld ms", (long long)(t - busy));
    if (enc) snprintf(e2, sizeof e2, "busy for %lld ms", (long long)(t - enc));
    snprintf(msg, sizeof msg, "%s: polling loop turned %lld ms ago; engine %s; encoder %s\n", bad ? "unhealthy" : "ok",
             (long long)hb, e1, e2);
    metrics_text(b, msg, strlen(msg));
    return bad ? 503 : 200;
}

int exporter_on_http(const char *path, metrics_buf *b, const char **ctype, void *arg)
{
    consumer *c = arg;
    if (!strcmp(path, "/metrics")) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        render_metrics(c, b);
        return 200;
    }
    if (!strcmp(path, "/health")) return health(c, b);
    if (!strcmp(path, "/ready")) {
        /* Ready: the engine is up and the member joined its group (an
         * assignment arrived, possibly empty), and it is not shutting down. */
        int ready = atomic_load(&c->stats.ready);
        const char *msg = ready ? "ready\n" : "not ready: joining the group or shutting down\n";
        metrics_text(b, msg, strlen(msg));
        return ready ? 200 : 503;
    }
    metrics_text(b, "not found: /metrics, /health, /ready\n", 36);
    return 404;
}

void exporter_stats_init(consumer_stats *s)
{
    static const double size_b[] = { 1, 4, 16, 64, 128, 256, 512, 1024, 2048, 4096 };
    static const double sec_b[] = { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                    5, 10 };
    static const double e2e_b[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800 };
    metrics_hist_init(&s->batch_articles, size_b, 10, 1);
    for (int i = 0; i < 3; i++) metrics_hist_init(&s->stage[i], sec_b, 15, 1e-9);
    metrics_hist_init(&s->produce_ack, sec_b, 15, 1e-9);
    metrics_hist_init(&s->e2e, e2e_b, 15, 1e-9);
    pthread_mutex_init(&s->stats_mu, NULL);
    s->started_ms = clk_now_ms();
    s->start_wall_s = (double)clk_wall_ms() / 1000.0;
    atomic_store(&s->heartbeat_ms, clk_now_ms());
}

void exporter_stats_free(consumer_stats *s)
{
    metrics_buf_free(&s->stats_text);
    pthread_mutex_destroy(&s->stats_mu);
}
