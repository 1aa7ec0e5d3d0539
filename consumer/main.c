/* dhatu-consumer -- a Kafka consumer-group member that turns articles into
 * dhātu records.
 *
 * Two threads of our own (librdkafka runs its own besides):
 *   - the polling thread (main) owns both Kafka handles' callbacks: it polls
 *     the consumer, fills a batch, hands it to the engine thread, serves the
 *     producer's delivery reports, stores offsets, pauses and resumes, runs
 *     rebalances, transactions and shutdown. Offsets and partition state are
 *     touched by this thread only, so they need no lock.
 *   - the engine thread decodes a batch, vectorizes it, encodes the records
 *     and produces them (output or dead-letter), while the next batch fills.
 *
 * At-least-once: a message's offset is stored only once its output (record
 * or dead-letter) is acknowledged, and only as part of a contiguous prefix
 * of its partition (track.h). Exactly-once: the output and the input
 * offsets are committed in one Kafka transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include "config.h"
#include "dhatu.h"
#include "http.h"
#include "metrics.h"
#include "schema_avro.h"
#include "track.h"

#define PROG "dhatu-consumer"

/* Exit statuses (README "dhatu-consumer"). */
enum { EXIT_CLEAN = 0, EXIT_CONFIG = 1, EXIT_UNCLEAN = 2, EXIT_FATAL = 3 };

/* One batch of input messages, handed from the polling thread to the engine
 * thread. The engine thread owns the messages until it returns the batch. */
typedef struct work {
    rd_kafka_message_t **msgs;
    uint64_t *tokens;
    size_t n, bytes;
    int64_t opened_ms;
    struct work *next;
} work;

static struct {
    ccfg cfg;
    rd_kafka_t *consumer, *producer;
    dhatu_engine *engine;
    track_table tracks;
    int cooperative, paused, txn_open, quiet;

    /* polling thread -> engine thread */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_idle;
    work *queue_head, *queue_tail, *free_list, *filling;
    int in_flight, engine_stop;
    pthread_t engine_thread;

    /* engine thread */
    schema_codec *codec;
    dhatu_batch *batch;
    dhatu_record *records;
    size_t *rec_msg;                /* record j -> message index in the work */
    char *ids;                      /* ids of the batch, NUL-separated */
    size_t ids_len, ids_cap, *id_off, *id_len;
    schema_buf out;

    /* state and counters (read by the summary; atomics where two threads write) */
    atomic_uint_fast64_t consumed, produced, delivered, delivery_failed, in_bytes, out_bytes;
    atomic_int fatal;               /* an EXIT_* status once something fatal happened */
    volatile sig_atomic_t stop;
    int64_t last_activity_ms, started_ms;
    int64_t first_msg_ms;                   /* first article consumed (polling thread) */
    _Atomic int64_t last_ack_ms;            /* last acknowledgement (polling thread) */
    int passthrough;                        /* benchmark: everything but the engine */

    /* metrics: written on the hot path with atomics, read by scrapes */
    http_server *http;
    double start_wall_s;
    atomic_uint_fast64_t dead_by[8];        /* by schema_fail / extra classes, see DL_* */
    atomic_int m_assigned, m_paused_parts, m_inflight;
    atomic_llong heartbeat_ms;              /* the polling loop turned */
    atomic_llong engine_busy_since_ms;      /* 0 when idle */
    atomic_int ready;
    metrics_hist h_batch_articles, h_stage[3], h_produce_ack, h_e2e;
    pthread_mutex_t stats_mu;               /* guards stats_text only: copied, never held long */
    metrics_buf stats_text;                 /* per-partition series from librdkafka statistics */
    atomic_uint_fast64_t rebalances;        /* also read by scrapes */
    uint64_t assignments, txn_commits, txn_aborts;
    uint64_t txn_msgs;                      /* articles consumed into the open transaction */
} G;

/* ---- small helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *level, const char *fmt, ...)
{
    if (G.quiet && level[0] == 'I') return;
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%sZ " PROG "[%d] %s: ", ts, (int)getpid(), level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
#define log_info(...)  logf_("INFO", __VA_ARGS__)
#define log_warn(...)  logf_("WARN", __VA_ARGS__)
#define log_error(...) logf_("ERROR", __VA_ARGS__)

static void set_fatal(int status)
{
    int expected = 0;
    atomic_compare_exchange_strong(&G.fatal, &expected, status);
}

static void on_signal(int sig)
{
    (void)sig;
    G.stop = 1;
}

/* ---- engine thread: decode, vectorize, encode, produce */

/* Produces one message; waits (briefly, repeatedly) while the producer's
 * queue is full: the polling thread keeps serving delivery reports, which
 * is what empties it. On failure the headers are freed. */
static rd_kafka_resp_err_t produce(const char *topic, const void *key, size_t klen, const void *val,
                                   size_t vlen, rd_kafka_headers_t *hdrs, uint64_t token, int64_t ts)
{
    for (;;) {
        /* The output inherits the input's timestamp (as Kafka Streams does):
         * acknowledgement time minus it is the end-to-end latency. */
        rd_kafka_resp_err_t err = rd_kafka_producev(
            G.producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&G.fatal)) {
            if (err && hdrs) rd_kafka_headers_destroy(hdrs);
            return err;
        }
        struct timespec pause_1ms = { 0, 1000000 };
        nanosleep(&pause_1ms, NULL);
    }
}

/* Dead-letter reasons, for the metric's label. */
static const char *const dl_names[] = { "undecodable", "wrong-schema", "schema-registry", "invalid-article",
                                        "too-large", "invalid-for-model", "encode-error", "other" };
static void count_dead(const char *cls)
{
    int i = 0;
    while (i < 7 && strcmp(dl_names[i], cls)) i++;
    atomic_fetch_add(&G.dead_by[i], 1);
}

/* Sends a message that cannot be processed to the dead-letter topic, with
 * its original key and value and headers saying where it came from and why. */
static void dead_letter(const rd_kafka_message_t *m, uint64_t token, const char *cls, const char *why)
{
    char part[16], off[24], ts[24];
    rd_kafka_timestamp_type_t tstype;
    int64_t t = rd_kafka_message_timestamp(m, &tstype);
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    snprintf(ts, sizeof ts, "%" PRId64, t);
    const char *topic = rd_kafka_topic_name(m->rkt);
    int dropped = 0;
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        rd_kafka_header_add(h, "dhatu.error.class", -1, cls, -1);
        rd_kafka_header_add(h, "dhatu.error.message", -1, why, -1);
        rd_kafka_header_add(h, "dhatu.original.topic", -1, topic, -1);
        rd_kafka_header_add(h, "dhatu.original.partition", -1, part, -1);
        rd_kafka_header_add(h, "dhatu.original.offset", -1, off, -1);
        if (t >= 0) rd_kafka_header_add(h, "dhatu.original.timestamp", -1, ts, -1);
        rd_kafka_header_add(h, "dhatu.processor", -1, PROG " " DHATU_VERSION_STRING, -1);
        if (dropped) rd_kafka_header_add(h, "dhatu.value.dropped", -1, "too-large-for-the-dead-letter-topic", -1);
        rd_kafka_resp_err_t err = produce(G.cfg.dead_letter, m->key, m->key_len,
                                          dropped ? NULL : m->payload, dropped ? 0 : m->len, h, token, t);
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !dropped) {
            dropped = 1;    /* keep the headers at least: the offset says where the value is */
            continue;
        }
        if (err) {
            log_error("cannot produce to dead-letter topic %s: %s", G.cfg.dead_letter, rd_kafka_err2str(err));
            set_fatal(EXIT_FATAL);
        } else {
            count_dead(cls);
        }
        return;
    }
}

/* Vectorizes the articles gathered in G.batch and produces their records. */
static void run_batch(work *w)
{
    size_t nb = dhatu_batch_count(G.batch);
    if (nb == 0) return;
    char err[512];
    dhatu_status st = DHATU_OK;
    int64_t t0 = now_ns();
    if (G.passthrough) memset(G.records, 0, nb * sizeof *G.records);    /* a minimal record */
    else st = dhatu_engine_vectorize(G.engine, G.batch, G.records, err, sizeof err);
    int64_t t1 = now_ns();
    metrics_hist_observe(&G.h_stage[1], (uint64_t)(t1 - t0));
    metrics_hist_observe(&G.h_batch_articles, nb);
    if (st != DHATU_OK) {
        /* Not the articles' fault: their offsets stay unstored, so they are
         * processed again after a restart. */
        log_error("engine failed on a batch of %zu articles: %s", nb, err);
        set_fatal(EXIT_FATAL);
        dhatu_batch_reset(G.batch);
        G.ids_len = 0;
        return;
    }
    schema_lineage lin = { .processed_at = wall_ms(), .processor = PROG " " DHATU_VERSION_STRING,
                           .backend = dhatu_engine_backend(G.engine) };
    const char *model = dhatu_engine_model_id(G.engine);
    schema_format fmt = G.cfg.json_output ? SCHEMA_FMT_JSON : SCHEMA_FMT_AVRO;
    for (size_t j = 0; j < nb && !atomic_load(&G.fatal); j++) {
        const rd_kafka_message_t *m = w->msgs[G.rec_msg[j]];
        uint64_t token = w->tokens[G.rec_msg[j]];
        rd_kafka_timestamp_type_t tstype;
        lin.topic = rd_kafka_topic_name(m->rkt);
        lin.partition = m->partition;
        lin.offset = m->offset;
        lin.timestamp = rd_kafka_message_timestamp(m, &tstype);
        const char *id = G.ids + G.id_off[j];
        if (schema_codec_encode_record(G.codec, fmt, id, G.id_len[j], model, &G.records[j], &lin,
                                       &G.out, err, sizeof err)) {
            dead_letter(m, token, "encode-error", err);
            continue;
        }
        rd_kafka_resp_err_t e = produce(G.cfg.output, id, G.id_len[j], G.out.data, G.out.len, NULL, token,
                                        lin.timestamp);
        if (e) {
            log_error("cannot produce to %s: %s", G.cfg.output, rd_kafka_err2str(e));
            set_fatal(EXIT_FATAL);
            break;
        }
        atomic_fetch_add(&G.produced, 1);
        atomic_fetch_add(&G.out_bytes, G.out.len);
    }
    metrics_hist_observe(&G.h_stage[2], (uint64_t)(now_ns() - t1));
    dhatu_batch_reset(G.batch);
    G.ids_len = 0;
}

static int keep_id(size_t j, const char *id, size_t len)
{
    if (G.ids_len + len + 1 > G.ids_cap) {
        size_t cap = (G.ids_len + len + 1) * 2;
        char *p = realloc(G.ids, cap);
        if (!p) return -1;
        G.ids = p;
        G.ids_cap = cap;
    }
    memcpy(G.ids + G.ids_len, id, len);
    G.ids[G.ids_len + len] = '\0';
    G.id_off[j] = G.ids_len;
    G.id_len[j] = len;
    G.ids_len += len + 1;
    return 0;
}

static void process(work *w)
{
    char err[512];
    int64_t decode_ns = 0, t = now_ns();
    for (size_t i = 0; i < w->n && !atomic_load(&G.fatal); i++) {
        rd_kafka_message_t *m = w->msgs[i];
        schema_article a;
        schema_fail f = schema_codec_decode_article(G.codec, m->payload, m->len, &a, err, sizeof err);
        if (f == SCHEMA_FAIL_NOMEM) {
            log_error("out of memory decoding %s [%" PRId32 "] @%" PRId64, rd_kafka_topic_name(m->rkt),
                      m->partition, m->offset);
            set_fatal(EXIT_FATAL);
            break;
        }
        if (f != SCHEMA_OK) {
            dead_letter(m, w->tokens[i], schema_fail_name(f), err);
            continue;
        }
        dhatu_status st = dhatu_batch_add(G.batch, a.title, a.title_len, a.text, a.text_len, a.lang,
                                          err, sizeof err);
        if (st == DHATU_ERR_FULL) {
            decode_ns += now_ns() - t;
            run_batch(w);
            t = now_ns();
            st = dhatu_batch_add(G.batch, a.title, a.title_len, a.text, a.text_len, a.lang, err, sizeof err);
        }
        if (st == DHATU_OK && keep_id(dhatu_batch_count(G.batch) - 1, a.id, a.id_len)) st = DHATU_ERR_NOMEM;
        if (st == DHATU_OK) {
            G.rec_msg[dhatu_batch_count(G.batch) - 1] = i;
        } else if (st == DHATU_ERR_TOO_LARGE) {
            dead_letter(m, w->tokens[i], "too-large", err);
        } else if (st == DHATU_ERR_NOMEM) {
            log_error("out of memory adding an article to a batch");
            set_fatal(EXIT_FATAL);
        } else {
            dead_letter(m, w->tokens[i], "invalid-for-model", err);
        }
        schema_article_clear(&a);
    }
    decode_ns += now_ns() - t;
    metrics_hist_observe(&G.h_stage[0], (uint64_t)decode_ns);
    run_batch(w);
    for (size_t i = 0; i < w->n; i++) rd_kafka_message_destroy(w->msgs[i]);
    w->n = 0;
    w->bytes = 0;
}

static void *engine_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&G.mu);
    for (;;) {
        while (!G.queue_head && !G.engine_stop) pthread_cond_wait(&G.cv_work, &G.mu);
        work *w = G.queue_head;
        if (!w) break;
        G.queue_head = w->next;
        if (!G.queue_head) G.queue_tail = NULL;
        pthread_mutex_unlock(&G.mu);
        atomic_store(&G.engine_busy_since_ms, now_ms());
        process(w);
        atomic_store(&G.engine_busy_since_ms, 0);
        pthread_mutex_lock(&G.mu);
        w->next = G.free_list;
        G.free_list = w;
        G.in_flight--;
        pthread_cond_broadcast(&G.cv_idle);
    }
    pthread_mutex_unlock(&G.mu);
    return NULL;
}

/* ---- polling thread */

static int64_t engine_in_flight(void)
{
    pthread_mutex_lock(&G.mu);
    int n = G.in_flight;
    pthread_mutex_unlock(&G.mu);
    return n;
}

/* Hands the filling batch to the engine; the caller checked in_flight. */
static void submit(void)
{
    work *w = G.filling;
    if (!w || w->n == 0) return;
    pthread_mutex_lock(&G.mu);
    w->next = NULL;
    if (G.queue_tail) G.queue_tail->next = w;
    else G.queue_head = w;
    G.queue_tail = w;
    G.in_flight++;
    G.filling = G.free_list;        /* there are max_in_flight + 1 works */
    G.free_list = G.filling ? G.filling->next : NULL;
    pthread_cond_signal(&G.cv_work);
    pthread_mutex_unlock(&G.mu);
    if (G.filling) G.filling->n = 0, G.filling->bytes = 0;
}

/* Takes an empty work for the next batch when none is filling (after a
 * submit that left the free list empty). */
static work *ensure_filling(void)
{
    if (G.filling) return G.filling;
    pthread_mutex_lock(&G.mu);
    G.filling = G.free_list;
    if (G.filling) {
        G.free_list = G.filling->next;
        G.filling->n = 0;
        G.filling->bytes = 0;
    }
    pthread_mutex_unlock(&G.mu);
    return G.filling;
}

/* Stores the offsets whose contiguous prefix moved since the last call.
 * The list is made afresh each time: librdkafka keeps partition references
 * in a list's private fields, which only list_destroy releases. */
static void store_offsets(void)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (uint16_t i = 0; i < G.tracks.nparts; i++) {
        track_part *p = &G.tracks.parts[i];
        if (!p->in_use || !track_advance(p) || G.cfg.exactly_once) continue;
        if (!l) l = rd_kafka_topic_partition_list_new(G.tracks.nparts);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next_store;
    }
    if (!l) return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(G.consumer, l);
    if (err) log_warn("storing offsets: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    uint64_t token = (uint64_t)(uintptr_t)m->_private;
    if (m->err) {
        /* librdkafka retried until message.timeout.ms: the offset is not
         * stored, and the consumer stops so that a restart redoes it. */
        atomic_fetch_add(&G.delivery_failed, 1);
        if (!G.cfg.exactly_once) {
            log_error("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
            set_fatal(EXIT_FATAL);
        }
        return;
    }
    atomic_fetch_add(&G.delivered, 1);
    atomic_store(&G.last_ack_ms, now_ms());
    int64_t lat_us = rd_kafka_message_latency(m);
    if (lat_us >= 0) metrics_hist_observe(&G.h_produce_ack, (uint64_t)lat_us * 1000);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype), e2e = wall_ms() - ts;
    if (ts > 0 && e2e >= 0) metrics_hist_observe(&G.h_e2e, (uint64_t)e2e * 1000000);
    track_done(&G.tracks, token);
}

static void serve_producer(int timeout_ms)
{
    rd_kafka_poll(G.producer, timeout_ms);
    store_offsets();
}

/* Waits until the engine has returned every batch, serving delivery reports
 * meanwhile (the engine may be waiting for room in the producer's queue). */
static int wait_engine_idle(int64_t deadline)
{
    while (engine_in_flight() > 0) {
        if (now_ms() > deadline) return -1;
        serve_producer(5);
    }
    return 0;
}

static void drop_filling(void)
{
    work *w = G.filling;
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) rd_kafka_message_destroy(w->msgs[i]);
    w->n = 0;
    w->bytes = 0;
}

static void set_paused(int pause)
{
    if (pause == G.paused) return;
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(G.consumer, &a) == 0 && a) {
        if (a->cnt) (pause ? rd_kafka_pause_partitions : rd_kafka_resume_partitions)(G.consumer, a);
        rd_kafka_topic_partition_list_destroy(a);
    }
    G.paused = pause;
}

/* ---- exactly-once */

static int begin_txn(void)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(G.producer);
    if (e) {
        log_error("begin_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        set_fatal(EXIT_FATAL);
        return -1;
    }
    G.txn_open = 1;
    return 0;
}

/* Abortable transaction error: abort, then rewind every assigned partition
 * to its committed offset so the aborted input is consumed again. */
static void abort_and_rewind(void)
{
    drop_filling();
    wait_engine_idle(now_ms() + G.cfg.shutdown_deadline_ms);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(G.producer, -1);
    if (e) {
        log_error("abort_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        set_fatal(EXIT_FATAL);
        return;
    }
    G.txn_open = 0;
    G.txn_aborts++;
    G.txn_msgs = 0;
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(G.consumer, &a) == 0 && a && a->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_committed(G.consumer, a, 30000);
        for (int i = 0; !err && i < a->cnt; i++) {
            if (a->elems[i].offset < 0) a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            track_part *p = track_find(&G.tracks, a->elems[i].topic, a->elems[i].partition);
            if (p) track_clear(p);
        }
        rd_kafka_error_t *se = err ? NULL : rd_kafka_seek_partitions(G.consumer, a, 30000);
        if (err || se) {
            log_error("rewind after abort failed: %s", se ? rd_kafka_error_string(se) : rd_kafka_err2str(err));
            if (se) rd_kafka_error_destroy(se);
            set_fatal(EXIT_FATAL);
        }
    }
    if (a) rd_kafka_topic_partition_list_destroy(a);
    log_warn("transaction aborted; rewound to the committed offsets");
    if (!atomic_load(&G.fatal)) begin_txn();
}

/* Commits the open transaction: every message handed to the engine so far
 * has been produced inside it; its input offsets go with it. */
static void commit_txn(int64_t deadline)
{
    if (!G.txn_open || G.txn_msgs == 0) return;     /* no empty transactions when idle */
    submit();
    if (wait_engine_idle(deadline)) {
        log_error("engine did not finish in time; aborting the transaction");
        abort_and_rewind();
        return;
    }
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(G.tracks.nparts + 1);
    for (uint16_t i = 0; i < G.tracks.nparts; i++) {
        track_part *p = &G.tracks.parts[i];
        if (p->in_use && p->last_pushed >= 0)
            rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->last_pushed + 1;
    }
    for (int attempt = 0; attempt < 10; attempt++) {
        rd_kafka_error_t *e = NULL;
        if (offs->cnt) {
            rd_kafka_consumer_group_metadata_t *meta = rd_kafka_consumer_group_metadata(G.consumer);
            e = rd_kafka_send_offsets_to_transaction(G.producer, offs, meta, -1);
            rd_kafka_consumer_group_metadata_destroy(meta);
        }
        if (!e) e = rd_kafka_commit_transaction(G.producer, -1);
        if (!e) {
            G.txn_open = 0;
            G.txn_commits++;
            G.txn_msgs = 0;
            break;
        }
        if (rd_kafka_error_txn_requires_abort(e)) {
            log_warn("transaction commit: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(offs);
            abort_and_rewind();
            return;
        }
        int retriable = rd_kafka_error_is_retriable(e);
        log_error("transaction commit: %s%s", rd_kafka_error_string(e), retriable ? " (retrying)" : "");
        rd_kafka_error_destroy(e);
        if (!retriable) {
            /* Fatal, fenced included: another instance took over. */
            set_fatal(EXIT_FATAL);
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(offs);
    if (!atomic_load(&G.fatal) && G.txn_open == 0) begin_txn();
}

/* ---- rebalances */

static void commit_revoked(rd_kafka_topic_partition_list_t *parts, int lost)
{
    int64_t deadline = now_ms() + G.cfg.shutdown_deadline_ms;
    submit();
    if (wait_engine_idle(deadline)) log_warn("rebalance: engine still busy at the deadline");
    if (G.cfg.exactly_once) {
        if (lost) abort_and_rewind();
        else commit_txn(deadline);
        return;
    }
    int64_t left = deadline - now_ms();
    rd_kafka_flush(G.producer, (int)(left > 0 ? left : 0));
    store_offsets();
    if (lost) return;       /* another member owns them now: never commit */
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        track_part *p = track_find(&G.tracks, parts->elems[i].topic, parts->elems[i].partition);
        if (p && p->next_store >= 0)
            rd_kafka_topic_partition_list_add(c, p->topic, p->partition)->offset = p->next_store;
    }
    if (c->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(G.consumer, c, 0);
        if (err) log_warn("commit on revoke: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(c);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&G.rebalances, 1);
    G.last_activity_ms = now_ms();
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            if (!track_add(&G.tracks, parts->elems[i].topic, parts->elems[i].partition)) {
                log_error("cannot track %s [%" PRId32 "]: too many partitions", parts->elems[i].topic,
                          parts->elems[i].partition);
                set_fatal(EXIT_FATAL);
            }
        }
        log_info("assigned %d partition(s)", parts->cnt);
        G.assignments++;
        if (G.cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else rd_kafka_assign(rk, parts);
        if (G.paused && parts->cnt) rd_kafka_pause_partitions(rk, parts);
    } else {
        int lost = rd_kafka_assignment_lost(rk);
        log_info("%s %d partition(s)", lost ? "lost" : "revoked", parts->cnt);
        commit_revoked(parts, lost);
        for (int i = 0; i < parts->cnt; i++) {
            track_part *p = track_find(&G.tracks, parts->elems[i].topic, parts->elems[i].partition);
            if (p) track_remove(&G.tracks, p);
        }
        if (G.cooperative) e = rd_kafka_incremental_unassign(rk, parts);
        else rd_kafka_assign(rk, NULL);
    }
    if (e) {
        log_error("rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        set_fatal(EXIT_FATAL);
    }
}

/* ---- message intake */

/* No room for m (tracker or batch): rewind its partition to it and pause,
 * so it is fetched again after the resume. Nothing is skipped. */
static void defer(rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset;
    set_paused(1);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(G.consumer, l, 5000);
    if (e) {
        log_error("seek back to %s [%" PRId32 "] @%" PRId64 ": %s", rd_kafka_topic_name(m->rkt),
                  m->partition, m->offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        set_fatal(EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_destroy(m);
}

static void intake(rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            track_part *p = track_find(&G.tracks, rd_kafka_topic_name(m->rkt), m->partition);
            if (p) p->eof = 1;
        } else {
            char buf[512];
            rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(G.consumer, buf, sizeof buf);
            log_error("consumer: %s%s%s", rd_kafka_message_errstr(m), ferr ? "; fatal: " : "", ferr ? buf : "");
            if (ferr) set_fatal(EXIT_FATAL);
        }
        rd_kafka_message_destroy(m);
        return;
    }
    track_part *p = track_find(&G.tracks, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p) {   /* a partition we no longer own: its new owner consumes it */
        rd_kafka_message_destroy(m);
        return;
    }
    work *w = ensure_filling();
    if (!w || w->n == (size_t)G.cfg.batch_articles || track_full(p)) {
        defer(m);
        return;
    }
    uint64_t token = track_push(&G.tracks, p, m->offset);
    p->eof = 0;
    if (w->n == 0) w->opened_ms = now_ms();
    if (!G.first_msg_ms) G.first_msg_ms = now_ms();
    G.txn_msgs++;
    w->msgs[w->n] = m;
    w->tokens[w->n] = token;
    w->n++;
    w->bytes += m->len;
    atomic_fetch_add(&G.consumed, 1);
    atomic_fetch_add(&G.in_bytes, m->len);
    G.last_activity_ms = now_ms();
}

/* Backpressure. When the engine holds max_in_flight batches and the next
 * one is full, the polling thread first waits for a slot (serving delivery
 * reports), up to SLOT_WAIT_MS: pausing at once would drop librdkafka's
 * prefetched messages and cost a fetch round trip at every resume, which
 * measured 30x slower on a backlog (bench/results.md). Partitions are
 * paused when the engine stays full that long, or when a partition has
 * max_unacked outputs unacknowledged; resumed once both are below. */
#define SLOT_WAIT_MS 500

static void wait_for_slot(void)
{
    int64_t end = now_ms() + SLOT_WAIT_MS;
    while (engine_in_flight() >= G.cfg.max_in_flight && now_ms() < end) serve_producer(1);
}

static void flow_control(void)
{
    work *w = G.filling;
    int full = engine_in_flight() >= G.cfg.max_in_flight && (!w || (int64_t)w->n >= G.cfg.batch_articles);
    uint32_t worst = 0;
    for (uint16_t i = 0; i < G.tracks.nparts; i++)
        if (G.tracks.parts[i].in_use && track_count(&G.tracks.parts[i]) > worst)
            worst = track_count(&G.tracks.parts[i]);
    if (worst + (uint32_t)G.cfg.batch_articles >= G.tracks.ring_cap) full = 1;
    if (full) set_paused(1);
    else if (G.paused && worst < G.tracks.ring_cap / 2) set_paused(0);
}

/* Values owned by the polling thread, published for scrapes. */
static void publish_gauges(void)
{
    int assigned = 0;
    for (uint16_t i = 0; i < G.tracks.nparts; i++) assigned += G.tracks.parts[i].in_use;
    atomic_store(&G.m_assigned, assigned);
    atomic_store(&G.m_paused_parts, G.paused ? assigned : 0);
    atomic_store(&G.m_inflight, (int)engine_in_flight());
    atomic_store(&G.ready, G.assignments > 0 && !G.stop);
}

/* Drained: the group gave us an assignment (possibly empty: more members
 * than partitions), every assigned partition reached its end, nothing is
 * in flight, and nothing happened for exit_idle_ms. */
static int drained(void)
{
    if (!G.assignments) return 0;       /* still joining the group */
    if (G.filling && G.filling->n) return 0;
    if (engine_in_flight() || rd_kafka_outq_len(G.producer) > 0) return 0;
    for (uint16_t i = 0; i < G.tracks.nparts; i++) {
        track_part *p = &G.tracks.parts[i];
        if (p->in_use && (!p->eof || track_count(p))) return 0;
    }
    return now_ms() - G.last_activity_ms >= G.cfg.exit_idle_ms;
}

/* ---- metrics and HTTP */

/* librdkafka statistics (polling thread, every http.stats_interval_ms):
 * per-partition lag and offsets and the group state, rendered once here so
 * that a scrape only copies text under the lock. Unknown values (librdkafka
 * reports -1 or -1001) are left out rather than exported as numbers. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    (void)opaque;
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je), *topics, *t, *parts, *p, *cgrp;
    if (!root) return 0;
    metrics_buf b = { 0 };
    static const char *const fam[3][3] = {
        { "dhatu_consumer_lag", "consumer_lag", "Messages between the consumer's position (or committed offset) and the partition's end." },
        { "dhatu_committed_offset", "committed_offset", "Last committed offset of the partition (absent: none yet)." },
        { "dhatu_stored_offset", "stored_offset", "Offset stored for the next commit (absent: none yet)." } };
    for (int k = 0; k < 3; k++) {
        metrics_family(&b, fam[k][0], "gauge", fam[k][2]);
        const char *tname;
        if ((topics = json_object_get(root, "topics"))) json_object_foreach(topics, tname, t) {
            const char *pname;
            if ((parts = json_object_get(t, "partitions"))) json_object_foreach(parts, pname, p) {
                json_t *v = json_object_get(p, fam[k][1]);
                /* -1 is librdkafka's internal unassigned partition; skip
                 * partitions we do not consume (the producer's, or revoked). */
                if (!strcmp(pname, "-1") || !json_is_integer(v) || json_integer_value(v) < 0) continue;
                const char *fs = json_string_value(json_object_get(p, "fetch_state"));
                if (!fs || !strcmp(fs, "none")) continue;
                const char *labels[] = { "topic", tname, "partition", pname, NULL };
                metrics_sample(&b, fam[k][0], labels, (double)json_integer_value(v));
            }
        }
    }
    if ((cgrp = json_object_get(root, "cgrp"))) {
        const char *st = json_string_value(json_object_get(cgrp, "state"));
        const char *js = json_string_value(json_object_get(cgrp, "join_state"));
        metrics_family(&b, "dhatu_group_state", "gauge", "Consumer group state as librdkafka reports it (value 1).");
        const char *labels[] = { "group", G.cfg.group_id, "state", st ? st : "unknown", "join_state",
                                 js ? js : "unknown", NULL };
        metrics_sample(&b, "dhatu_group_state", labels, 1);
    }
    json_decref(root);
    pthread_mutex_lock(&G.stats_mu);
    metrics_buf old = G.stats_text;
    G.stats_text = b;
    pthread_mutex_unlock(&G.stats_mu);
    metrics_buf_free(&old);
    return 0;
}

static void render_metrics(metrics_buf *b)
{
    const char *model = dhatu_engine_model_id(G.engine), *backend = dhatu_engine_backend(G.engine);
    const char *mb[] = { "model", model, "backend", backend, NULL };
    const char *grp[] = { "group", G.cfg.group_id, NULL };
    metrics_family(b, "dhatu_texts_processed_total", "counter", "Articles vectorized and produced as records.");
    metrics_sample(b, "dhatu_texts_processed_total", mb, (double)atomic_load(&G.produced));
    metrics_family(b, "dhatu_articles_consumed_total", "counter", "Messages consumed from the input topics.");
    metrics_sample(b, "dhatu_articles_consumed_total", grp, (double)atomic_load(&G.consumed));
    metrics_family(b, "dhatu_records_acknowledged_total", "counter",
                   "Output and dead-letter messages acknowledged by the brokers.");
    metrics_sample(b, "dhatu_records_acknowledged_total", NULL, (double)atomic_load(&G.delivered));
    metrics_family(b, "dhatu_dead_letters_total", "counter", "Articles sent to the dead-letter topic, by reason.");
    for (int i = 0; i < 8; i++) {
        const char *l[] = { "reason", dl_names[i], NULL };
        metrics_sample(b, "dhatu_dead_letters_total", l, (double)atomic_load(&G.dead_by[i]));
    }
    metrics_family(b, "dhatu_delivery_errors_total", "counter", "Messages the producer could not deliver.");
    metrics_sample(b, "dhatu_delivery_errors_total", NULL, (double)atomic_load(&G.delivery_failed));
    metrics_family(b, "dhatu_input_bytes_total", "counter", "Bytes of consumed message values.");
    metrics_sample(b, "dhatu_input_bytes_total", NULL, (double)atomic_load(&G.in_bytes));
    metrics_family(b, "dhatu_output_bytes_total", "counter", "Bytes of produced record values.");
    metrics_sample(b, "dhatu_output_bytes_total", NULL, (double)atomic_load(&G.out_bytes));
    metrics_family(b, "dhatu_batch_articles", "histogram", "Articles per engine batch.");
    metrics_histogram(b, "dhatu_batch_articles", NULL, &G.h_batch_articles);
    static const char *const stages[3] = { "decode", "engine", "encode_produce" };
    metrics_family(b, "dhatu_batch_stage_seconds", "histogram", "Time per batch in each stage of the engine thread.");
    for (int i = 0; i < 3; i++) {
        const char *l[] = { "stage", stages[i], NULL };
        metrics_histogram(b, "dhatu_batch_stage_seconds", l, &G.h_stage[i]);
    }
    metrics_family(b, "dhatu_produce_ack_seconds", "histogram", "Time from produce to broker acknowledgement, per record.");
    metrics_histogram(b, "dhatu_produce_ack_seconds", NULL, &G.h_produce_ack);
    metrics_family(b, "dhatu_end_to_end_seconds", "histogram",
                   "Time from the input message's timestamp to the acknowledgement of its output.");
    metrics_histogram(b, "dhatu_end_to_end_seconds", NULL, &G.h_e2e);
    metrics_family(b, "dhatu_assigned_partitions", "gauge", "Input partitions assigned to this member.");
    metrics_sample(b, "dhatu_assigned_partitions", grp, atomic_load(&G.m_assigned));
    metrics_family(b, "dhatu_paused_partitions", "gauge", "Assigned partitions paused by backpressure.");
    metrics_sample(b, "dhatu_paused_partitions", NULL, atomic_load(&G.m_paused_parts));
    metrics_family(b, "dhatu_rebalances_total", "counter", "Rebalance callbacks (assign and revoke).");
    metrics_sample(b, "dhatu_rebalances_total", grp, (double)atomic_load(&G.rebalances));
    metrics_family(b, "dhatu_inflight_batches", "gauge", "Batches handed to the engine and not yet produced.");
    metrics_sample(b, "dhatu_inflight_batches", NULL, atomic_load(&G.m_inflight));
    metrics_family(b, "dhatu_producer_queue_messages", "gauge", "Messages in the producer's queue, not yet acknowledged.");
    metrics_sample(b, "dhatu_producer_queue_messages", NULL, rd_kafka_outq_len(G.producer));
    metrics_family(b, "dhatu_backend_info", "gauge", "The engine backend, its device and the model (value 1).");
    const char *bi[] = { "backend", backend, "device", dhatu_engine_describe(G.engine), "model", model, NULL };
    metrics_sample(b, "dhatu_backend_info", bi, 1);
    metrics_family(b, "dhatu_build_info", "gauge", "Version of dhatu-consumer and librdkafka (value 1).");
    const char *vi[] = { "version", DHATU_VERSION_STRING, "librdkafka", rd_kafka_version_str(), NULL };
    metrics_sample(b, "dhatu_build_info", vi, 1);
    metrics_process(b, G.start_wall_s);
    pthread_mutex_lock(&G.stats_mu);
    if (G.stats_text.data) metrics_text(b, G.stats_text.data, G.stats_text.len);
    pthread_mutex_unlock(&G.stats_mu);
}

static int on_http(const char *path, metrics_buf *b, const char **ctype, void *arg)
{
    (void)arg;
    int64_t t = now_ms();
    if (!strcmp(path, "/metrics")) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        render_metrics(b);
        return 200;
    }
    if (!strcmp(path, "/health")) {
        /* Alive: the polling loop turned recently and no batch is stuck. */
        int64_t hb = t - atomic_load(&G.heartbeat_ms), busy = atomic_load(&G.engine_busy_since_ms);
        char msg[160];
        int bad = hb > 10000 || (busy && t - busy > 60000);
        if (busy)
            snprintf(msg, sizeof msg, "%s: polling loop turned %lld ms ago; engine busy for %lld ms\n",
                     bad ? "unhealthy" : "ok", (long long)hb, (long long)(t - busy));
        else
            snprintf(msg, sizeof msg, "%s: polling loop turned %lld ms ago; engine idle\n", bad ? "unhealthy" : "ok",
                     (long long)hb);
        metrics_text(b, msg, strlen(msg));
        return bad ? 503 : 200;
    }
    if (!strcmp(path, "/ready")) {
        /* Ready: the engine is up and the member joined its group (an
         * assignment arrived, possibly empty), and it is not shutting down. */
        int ready = atomic_load(&G.ready);
        const char *msg = ready ? "ready\n" : "not ready: joining the group or shutting down\n";
        metrics_text(b, msg, strlen(msg));
        return ready ? 200 : 503;
    }
    metrics_text(b, "not found: /metrics, /health, /ready\n", 36);
    return 404;
}

/* ---- set-up */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, const char *who)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, PROG ": %s property %s: %s\n", who, k, err);
        return -1;
    }
    return 0;
}

static int conf_user(rd_kafka_conf_t *conf, const char *who)
{
    for (int i = 0; i < G.cfg.librdkafka.n; i++) {
        char *kv = strdup(G.cfg.librdkafka.v[i]), *eq = strchr(kv, '=');
        *eq = '\0';
        int rc = conf_set(conf, kv, eq + 1, who);
        free(kv);
        if (rc) return -1;
    }
    return 0;
}

static rd_kafka_t *make_producer(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char id[512], txn_timeout[24], err[512];
    snprintf(id, sizeof id, "%s-producer", G.cfg.client_id);
    snprintf(txn_timeout, sizeof txn_timeout, "%" PRId64, G.cfg.txn_timeout_ms);
    /* Idempotence: retries never duplicate or reorder records. */
    int bad = conf_set(conf, "bootstrap.servers", G.cfg.brokers, "producer") ||
              conf_set(conf, "client.id", id, "producer") ||
              conf_set(conf, "enable.idempotence", "true", "producer") ||
              conf_set(conf, "acks", "all", "producer") ||
              conf_set(conf, "linger.ms", "5", "producer") ||
              conf_set(conf, "compression.codec", "lz4", "producer");
    if (!bad && G.cfg.exactly_once) {
        /* One transactional id per member; with KIP-447 offsets fencing
         * comes from the group generation, not from the id. */
        char tid[512], host[128] = "host";
        gethostname(host, sizeof host - 1);
        if (*G.cfg.group_instance_id)
            snprintf(tid, sizeof tid, "dhatu-%s-%s", G.cfg.group_id, G.cfg.group_instance_id);
        else
            snprintf(tid, sizeof tid, "dhatu-%s-%s-%d", G.cfg.group_id, host, (int)getpid());
        bad = conf_set(conf, "transactional.id", tid, "producer") ||
              conf_set(conf, "transaction.timeout.ms", txn_timeout, "producer");
    }
    if (bad || conf_user(conf, "producer")) { rd_kafka_conf_destroy(conf); return NULL; }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, PROG ": producer: %s\n", err); rd_kafka_conf_destroy(conf); }
    return rk;
}

static rd_kafka_t *make_consumer(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512], stats[24];
    snprintf(stats, sizeof stats, "%" PRId64, G.cfg.stats_interval_ms);
    int bad = conf_set(conf, "bootstrap.servers", G.cfg.brokers, "consumer") ||
              conf_set(conf, "client.id", G.cfg.client_id, "consumer") ||
              conf_set(conf, "group.id", G.cfg.group_id, "consumer") ||
              conf_set(conf, "partition.assignment.strategy", G.cfg.assignor, "consumer") ||
              conf_set(conf, "auto.offset.reset", "earliest", "consumer") ||
              conf_set(conf, "enable.partition.eof", "true", "consumer") ||
              /* Offsets are stored by us, after the output is acknowledged. */
              conf_set(conf, "enable.auto.offset.store", "false", "consumer") ||
              conf_set(conf, "enable.auto.commit", G.cfg.exactly_once ? "false" : "true", "consumer") ||
              /* Stored offsets are committed every second (Kafka's default is
               * 5 s): after a crash, at most ~1 s of acknowledged work is redone. */
              conf_set(conf, "auto.commit.interval.ms", "1000", "consumer") ||
              conf_set(conf, "isolation.level", "read_committed", "consumer") ||
              conf_set(conf, "statistics.interval.ms", stats, "consumer");
    if (!bad && *G.cfg.group_instance_id)
        bad = conf_set(conf, "group.instance.id", G.cfg.group_instance_id, "consumer");
    if (bad || conf_user(conf, "consumer")) { rd_kafka_conf_destroy(conf); return NULL; }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, PROG ": consumer: %s\n", err); rd_kafka_conf_destroy(conf); }
    return rk;
}

/* The brokers answer and every topic we need exists: a clear error at
 * start-up instead of a consumer that waits forever. */
static int check_cluster(void)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(G.producer, 1, NULL, &md, 15000);
    if (err) {
        fprintf(stderr, PROG ": cannot reach the brokers %s: %s\n", G.cfg.brokers, rd_kafka_err2str(err));
        return -1;
    }
    int ok = 1;
    const char *need[64];
    int nneed = 0;
    for (int i = 0; i < G.cfg.input.n && nneed < 62; i++) need[nneed++] = G.cfg.input.v[i];
    need[nneed++] = G.cfg.output;
    need[nneed++] = G.cfg.dead_letter;
    for (int k = 0; k < nneed; k++) {
        int found = 0;
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, need[k]) && !md->topics[i].err) found = 1;
        if (!found) {
            fprintf(stderr, PROG ": topic %s does not exist on %s\n", need[k], G.cfg.brokers);
            ok = 0;
        }
    }
    rd_kafka_metadata_destroy(md);
    return ok ? 0 : -1;
}

static int setup_engine(void)
{
    char err[512];
    dhatu_config ec;
    dhatu_config_init(&ec);
    ec.backend = G.cfg.backend;
    ec.model = G.cfg.model;
    ec.lexicon_path = *G.cfg.lexicon ? G.cfg.lexicon : NULL;
    ec.threads = (int)G.cfg.threads;
    ec.device_index = (int)G.cfg.device;
    ec.platform_index = (int)G.cfg.platform;
    ec.device_type = G.cfg.device_type;
    ec.device_memory = (size_t)G.cfg.device_memory;
    ec.max_article_bytes = (size_t)G.cfg.max_article_bytes;
    ec.batch_max_articles = (size_t)G.cfg.batch_articles;
    if (dhatu_engine_create(&ec, &G.engine, err, sizeof err) ||
        dhatu_batch_create(G.engine, &G.batch, err, sizeof err)) {
        fprintf(stderr, PROG ": engine: %s\n", err);
        return -1;
    }
    if (!(G.codec = schema_codec_create(err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return -1;
    }
    size_t n = (size_t)G.cfg.batch_articles;
    G.records = calloc(n, sizeof *G.records);
    G.rec_msg = calloc(n, sizeof *G.rec_msg);
    G.id_off = calloc(n, sizeof *G.id_off);
    G.id_len = calloc(n, sizeof *G.id_len);
    G.ids_cap = n * 48;
    G.ids = malloc(G.ids_cap);
    /* max_in_flight batches with the engine plus the one filling. */
    for (int64_t i = 0; i <= G.cfg.max_in_flight; i++) {
        work *w = calloc(1, sizeof *w);
        if (!w || !(w->msgs = calloc(n, sizeof *w->msgs)) || !(w->tokens = calloc(n, sizeof *w->tokens))) {
            if (w) { free(w->msgs); free(w); }
            fprintf(stderr, PROG ": out of memory\n");
            return -1;
        }
        w->next = G.free_list;
        G.free_list = w;
    }
    G.filling = G.free_list;
    G.free_list = G.filling->next;
    if (!G.records || !G.rec_msg || !G.id_off || !G.id_len || !G.ids) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    return 0;
}

static void teardown(void)
{
    work *lists[2] = { G.free_list, G.filling };
    for (int k = 0; k < 2; k++)
        for (work *w = lists[k], *next; w; w = next) {
            next = k ? NULL : w->next;
            free(w->msgs);
            free(w->tokens);
            free(w);
        }
    free(G.records);
    free(G.rec_msg);
    free(G.id_off);
    free(G.id_len);
    free(G.ids);
    schema_buf_free(&G.out);
    schema_codec_destroy(G.codec);
    dhatu_batch_destroy(G.batch);
    dhatu_engine_destroy(G.engine);
    track_table_free(&G.tracks);
    metrics_buf_free(&G.stats_text);
    ccfg_free(&G.cfg);
}

/* ---- command line */

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: " PROG " [options]\n"
        "Consumes articles from Kafka (consumer group), vectorizes them and produces dhatu records.\n\n"
        "  -c, --config FILE         libconfig file (deploy/local/dhatu-consumer.conf documents it)\n"
        "  -b, --brokers LIST        kafka.brokers\n"
        "  -g, --group ID            kafka.group_id\n"
        "  -t, --input TOPICS        topics.input (comma-separated)\n"
        "  -o, --output TOPIC        topics.output\n"
        "  -d, --dead-letter TOPIC   topics.dead_letter\n"
        "  -B, --backend NAME        engine.backend (cpu-ref, cpu, opencl, cuda, auto)\n"
        "  -m, --model NAME          engine.model (lexicon, seed)\n"
        "  -X key=value              a librdkafka property (repeatable)\n"
        "  -s path=value             any setting below (repeatable)\n"
        "      --exactly-once        delivery.mode=exactly-once\n"
        "      --format avro|json    delivery.output_format\n"
        "      --exit-idle MS        lifecycle.exit_idle_ms: exit once drained and idle\n"
        "      --exit-after N        lifecycle.exit_after: exit after N articles\n"
        "      --print-config        print the effective configuration (secrets masked) and exit\n"
        "      --passthrough         benchmark baseline: decode, encode an empty record, produce,\n"
        "                            commit; the engine is skipped (records are NOT dhatu vectors)\n"
        "  -q, --quiet               warnings and errors only\n"
        "  -h, --help                this help;  -V, --version\n\n"
        "Exit status: 0 clean, 1 configuration or start-up error, 2 shutdown deadline passed with\n"
        "work unacknowledged (it will be redone), 3 fatal runtime error.\n\nSettings:\n");
    ccfg_print_help(f);
}

enum { O_EOS = 256, O_FORMAT, O_EXIT_IDLE, O_EXIT_AFTER, O_PRINT, O_PASSTHROUGH };
static const struct option longopts[] = {
    { "config", required_argument, 0, 'c' },      { "brokers", required_argument, 0, 'b' },
    { "group", required_argument, 0, 'g' },       { "input", required_argument, 0, 't' },
    { "output", required_argument, 0, 'o' },      { "dead-letter", required_argument, 0, 'd' },
    { "backend", required_argument, 0, 'B' },     { "model", required_argument, 0, 'm' },
    { "exactly-once", no_argument, 0, O_EOS },    { "format", required_argument, 0, O_FORMAT },
    { "exit-idle", required_argument, 0, O_EXIT_IDLE }, { "exit-after", required_argument, 0, O_EXIT_AFTER },
    { "print-config", no_argument, 0, O_PRINT },  { "quiet", no_argument, 0, 'q' },
    { "help", no_argument, 0, 'h' },              { "version", no_argument, 0, 'V' },
    { "passthrough", no_argument, 0, O_PASSTHROUGH },
    { 0, 0, 0, 0 }
};
#define SHORTOPTS "c:b:g:t:o:d:B:m:X:s:qhV"

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, int *print)
{
    char err[512];
    int c;
    ccfg_defaults(&G.cfg);
    /* First pass: the file, so that flags override it whatever their order. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
        if (c == 'c' && ccfg_load_file(&G.cfg, optarg, err, sizeof err)) {
            fprintf(stderr, PROG ": %s\n", err);
            return EXIT_CONFIG;
        }
    optind = 0;
    opterr = 1;
    while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
        char kv[1024];
        const char *path = NULL;
        switch (c) {
        case 'c': continue;
        case 'b': path = "kafka.brokers"; break;
        case 'g': path = "kafka.group_id"; break;
        case 't': path = "topics.input"; break;
        case 'o': path = "topics.output"; break;
        case 'd': path = "topics.dead_letter"; break;
        case 'B': path = "engine.backend"; break;
        case 'm': path = "engine.model"; break;
        case O_FORMAT: path = "delivery.output_format"; break;
        case O_EXIT_IDLE: path = "lifecycle.exit_idle_ms"; break;
        case O_EXIT_AFTER: path = "lifecycle.exit_after"; break;
        case O_EOS: optarg = "exactly-once"; path = "delivery.mode"; break;
        case 'X':
            if (ccfg_add_librdkafka(&G.cfg, optarg, err, sizeof err)) goto bad;
            continue;
        case 's':
            if (ccfg_set(&G.cfg, optarg, err, sizeof err)) goto bad;
            continue;
        case O_PRINT: *print = 1; continue;
        case O_PASSTHROUGH: G.passthrough = 1; continue;
        case 'q': G.quiet = 1; continue;
        case 'h': usage(stdout); return EXIT_CLEAN;
        case 'V':
            printf(PROG " %s (librdkafka %s)\n", DHATU_VERSION_STRING, rd_kafka_version_str());
            return EXIT_CLEAN;
        default: usage(stderr); return EXIT_CONFIG;
        }
        snprintf(kv, sizeof kv, "%s=%s", path, optarg);
        if (ccfg_set(&G.cfg, kv, err, sizeof err)) goto bad;
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument %s\n", argv[optind]);
        return EXIT_CONFIG;
    }
    if (ccfg_validate(&G.cfg, err, sizeof err)) goto bad;
    return -1;
bad:
    fprintf(stderr, PROG ": %s\n", err);
    return EXIT_CONFIG;
}

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

static uint64_t dead_total(void)
{
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n += atomic_load(&G.dead_by[i]);
    return n;
}

static void summary(int status)
{
    double secs = (double)(now_ms() - G.started_ms) / 1000.0;
    uint64_t n = atomic_load(&G.consumed);
    int64_t busy_ms = G.first_msg_ms && atomic_load(&G.last_ack_ms) > G.first_msg_ms
                          ? atomic_load(&G.last_ack_ms) - G.first_msg_ms : 0;
    fprintf(stderr,
            PROG ": %s: %" PRIu64 " articles consumed, %" PRIu64 " records, %" PRIu64
            " dead-lettered, %" PRIu64 " acknowledged, %" PRIu64 " delivery failures; %.1f s, "
            "%.0f articles/s, %.2f MB/s in; backend %s, model %s, %s; %" PRIu64 " rebalances",
            status == EXIT_CLEAN ? "clean exit" : status == EXIT_UNCLEAN ? "UNCLEAN exit" : "FAILED",
            n, atomic_load(&G.produced), dead_total(), atomic_load(&G.delivered),
            atomic_load(&G.delivery_failed), secs, secs > 0 ? (double)n / secs : 0.0,
            secs > 0 ? (double)atomic_load(&G.in_bytes) / secs / 1e6 : 0.0,
            G.engine ? dhatu_engine_backend(G.engine) : "-", G.cfg.model, G.cfg.mode, (uint64_t)atomic_load(&G.rebalances));
    if (busy_ms > 0)
        fprintf(stderr, "; first article to last acknowledgement %.3f s: %.0f articles/s, %.2f MB/s",
                busy_ms / 1e3, (double)n * 1e3 / (double)busy_ms,
                (double)atomic_load(&G.in_bytes) / 1e3 / (double)busy_ms);
    fprintf(stderr, "; peak RSS %ld MiB%s", peak_rss_mib(), G.passthrough ? "; PASSTHROUGH (no engine)" : "");
    if (G.cfg.exactly_once)
        fprintf(stderr, "; %" PRIu64 " transactions committed, %" PRIu64 " aborted", G.txn_commits, G.txn_aborts);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    int print = 0;
    int rc = parse_args(argc, argv, &print);
    if (rc >= 0) { ccfg_free(&G.cfg); return rc; }
    if (print) {
        ccfg_print(&G.cfg, stdout);
        ccfg_free(&G.cfg);
        return EXIT_CLEAN;
    }
    G.started_ms = G.last_activity_ms = now_ms();
    G.start_wall_s = (double)wall_ms() / 1000.0;
    atomic_store(&G.heartbeat_ms, now_ms());
    pthread_mutex_init(&G.stats_mu, NULL);
    static const double size_b[] = { 1, 4, 16, 64, 128, 256, 512, 1024, 2048, 4096 };
    static const double sec_b[] = { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
    static const double e2e_b[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800 };
    metrics_hist_init(&G.h_batch_articles, size_b, 10, 1);
    for (int i = 0; i < 3; i++) metrics_hist_init(&G.h_stage[i], sec_b, 15, 1e-9);
    metrics_hist_init(&G.h_produce_ack, sec_b, 15, 1e-9);
    metrics_hist_init(&G.h_e2e, e2e_b, 15, 1e-9);
    pthread_mutex_init(&G.mu, NULL);
    pthread_cond_init(&G.cv_work, NULL);
    pthread_cond_init(&G.cv_idle, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (setup_engine() || track_table_init(&G.tracks, 4096, (uint32_t)(G.cfg.max_unacked + G.cfg.batch_articles)) ||
        !(G.producer = make_producer()) || check_cluster() || !(G.consumer = make_consumer())) {
        if (G.producer) rd_kafka_destroy(G.producer);
        teardown();
        return EXIT_CONFIG;
    }
    log_info("backend %s (%s), model %s, %s, output %s", dhatu_engine_backend(G.engine),
             dhatu_engine_describe(G.engine), dhatu_engine_model_id(G.engine), G.cfg.mode, G.cfg.output_format);
    G.cooperative = !strcmp(G.cfg.assignor, "cooperative-sticky");
    if (G.cfg.http_port >= 0) {
        char herr[256];
        if (!(G.http = http_start(G.cfg.http_address, (int)G.cfg.http_port, on_http, NULL, herr, sizeof herr))) {
            fprintf(stderr, PROG ": http: %s\n", herr);
            rd_kafka_destroy(G.consumer);
            rd_kafka_destroy(G.producer);
            teardown();
            return EXIT_CONFIG;
        }
        log_info("metrics and probes on http://%s:%d/metrics, /health, /ready", G.cfg.http_address,
                 http_port(G.http));
    }
    if (G.cfg.exactly_once) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(G.producer, 60000);
        if (e) {
            fprintf(stderr, PROG ": init_transactions: %s\n", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rd_kafka_destroy(G.consumer);
            rd_kafka_destroy(G.producer);
            teardown();
            return EXIT_CONFIG;
        }
        begin_txn();
    }
    rd_kafka_poll_set_consumer(G.consumer);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(G.cfg.input.n);
    for (int i = 0; i < G.cfg.input.n; i++)
        rd_kafka_topic_partition_list_add(subs, G.cfg.input.v[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(G.consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr) {
        fprintf(stderr, PROG ": subscribe: %s\n", rd_kafka_err2str(serr));
        rd_kafka_destroy(G.consumer);
        rd_kafka_destroy(G.producer);
        teardown();
        return EXIT_CONFIG;
    }
    pthread_create(&G.engine_thread, NULL, engine_main, NULL);

    int64_t next_txn = now_ms() + G.cfg.txn_interval_ms;
    while (!G.stop && !atomic_load(&G.fatal)) {
        work *w = G.filling;
        int64_t t = now_ms(), wait = 100;
        if (w && w->n) wait = w->opened_ms + G.cfg.linger_ms - t;
        if (wait < 0) wait = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(G.consumer, (int)wait);
        if (m) intake(m);
        serve_producer(0);
        atomic_store(&G.heartbeat_ms, now_ms());
        w = G.filling;
        t = now_ms();
        if (w && w->n && ((int64_t)w->n >= G.cfg.batch_articles || (int64_t)w->bytes >= G.cfg.batch_bytes ||
                          t - w->opened_ms >= G.cfg.linger_ms)) {
            if (engine_in_flight() >= G.cfg.max_in_flight && (int64_t)w->n >= G.cfg.batch_articles)
                wait_for_slot();
            if (engine_in_flight() < G.cfg.max_in_flight) submit();
        }
        flow_control();
        publish_gauges();
        if (G.cfg.exactly_once && t >= next_txn) {
            commit_txn(t + G.cfg.shutdown_deadline_ms);
            next_txn = now_ms() + G.cfg.txn_interval_ms;
        }
        if (G.cfg.exit_after && (int64_t)atomic_load(&G.consumed) >= G.cfg.exit_after) break;
        if (G.cfg.exit_idle_ms && drained()) break;
    }

    /* Shutdown: stop fetching, finish the batches, flush, commit, leave. */
    int64_t deadline = now_ms() + G.cfg.shutdown_deadline_ms;
    int status = atomic_load(&G.fatal);
    log_info("shutting down%s", G.stop ? " (signal)" : "");
    atomic_store(&G.ready, 0);
    if (!status) {
        submit();
        if (wait_engine_idle(deadline)) status = EXIT_UNCLEAN;
        if (G.cfg.exactly_once) {
            commit_txn(deadline);
        } else {
            int64_t left = deadline - now_ms();
            if (rd_kafka_flush(G.producer, (int)(left > 0 ? left : 0))) status = EXIT_UNCLEAN;
            store_offsets();
            rd_kafka_resp_err_t cerr = rd_kafka_commit(G.consumer, NULL, 0);
            if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                log_warn("final commit: %s", rd_kafka_err2str(cerr));
                status = EXIT_UNCLEAN;
            }
        }
        if (!status) status = atomic_load(&G.fatal);
    } else {
        /* Fatal: commit nothing more; what is unacknowledged is redone. */
        drop_filling();
        wait_engine_idle(deadline);
        if (G.cfg.exactly_once && G.txn_open) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(G.producer, 10000);
            if (e) rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_consumer_close(G.consumer);    /* leaves the group (revoke runs here) */
    pthread_mutex_lock(&G.mu);
    G.engine_stop = 1;
    pthread_cond_signal(&G.cv_work);
    pthread_mutex_unlock(&G.mu);
    pthread_join(G.engine_thread, NULL);
    rd_kafka_flush(G.producer, 5000);
    if (!status && rd_kafka_outq_len(G.producer) > 0) status = EXIT_UNCLEAN;
    http_stop(G.http);          /* before the handles a scrape reads */
    rd_kafka_destroy(G.consumer);
    rd_kafka_destroy(G.producer);
    if (!status) status = atomic_load(&G.fatal);
    summary(status);
    teardown();
    return status;
}
