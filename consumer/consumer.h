/* consumer.h -- one dhatu-consumer member: its state and how its modules
 * divide the work.
 *
 * Threads (librdkafka runs its own besides):
 *   - the polling thread (main) owns both Kafka handles' callbacks: it polls
 *     the consumer, fills a batch, hands it to the engine thread, serves the
 *     producer's delivery reports, stores offsets, pauses and resumes, runs
 *     rebalances, transactions and shutdown (loop.c, deliver.c, txn.c,
 *     rebalance.c). Offsets and partition state are touched by this thread
 *     only, so they need no lock.
 *   - the engine thread (stage.c) decodes a batch and submits it to the
 *     engine, whose own dispatcher thread computes it (the cpu backend
 *     spreading it over its workers, a GPU backend over its device), while
 *     the next batch fills and is decoded;
 *   - the encoder thread (stage.c) waits for the engine's ticket of the
 *     batch before, encodes its records and produces them (output or dead letter), in the order the batches
 *     were filled, so a partition's records keep their input order. The
 *     two queues between these three threads are the only locked state.
 *   - the watchdog's thread (exactly-once) ends the process when a
 *     transactional call outlives its own timeout (watchdog.h, txn.c).
 *   - the orphan watch's thread asks the group coordinator now and then
 *     whether every input partition has an owner, and joins a short-lived
 *     member to the group when some stay unowned (orphans.h);
 *   - libmicrohttpd's thread renders /metrics, /health and /ready
 *     (exporter.c) from atomics and a text copied under stats_mu.
 *
 * At-least-once: a message's offset is stored only once its output (record
 * or dead letter) is acknowledged, and only as part of a contiguous prefix
 * of its partition (track.h). Exactly-once: the output and the input
 * offsets are committed in one Kafka transaction (txn.c).
 *
 * Ownership: main.c creates one struct consumer and frees it through one
 * cleanup path; every callback reaches it through its opaque pointer.
 * There is no file-scope mutable state but the signal flag in main.c.
 */
#ifndef CONSUMER_H
#define CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "watchdog.h"
#include "dhatu.h"
#include "http.h"
#include "idbuf.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "orphans.h"
#include "outcome.h"
#include "registry.h"
#include "schema_avro.h"
#include "track.h"

#define PROG "dhatu-consumer"
#define PROCESSOR PROG " " DHATU_VERSION_STRING

/* One batch of input messages, handed from the polling thread to the
 * engine thread, then to the encoder thread, which returns it; the stage
 * owns the messages from the hand-over until then. Each work has its own
 * engine batch and records, so one can be vectorized while the one before
 * is encoded. */
typedef struct work {
    rd_kafka_message_t **msgs;
    uint64_t *tokens;
    size_t n, bytes;
    int64_t opened_ms;
    struct work *next;
    dhatu_batch *batch;             /* the articles the engine vectorizes */
    dhatu_record *records;          /* ... and their records */
    size_t *rec_msg;                /* record j -> message index */
    idbuf ids;                      /* id of record j */
    size_t nrec;                    /* records for the encoder (0: the engine failed) */
    dhatu_ticket ticket;            /* with the engine (0: none, or done) */
    int64_t submitted_ns;
    dhatu_status vec_status;        /* the engine's outcome, and its message */
    char vec_err[256];
} work;

/* What /metrics and the summary read; atomics where two threads meet. */
typedef struct consumer_stats {
    atomic_uint_fast64_t consumed, produced, delivered, delivery_failed, in_bytes, out_bytes;
    atomic_uint_fast64_t dead_by[DL_NCLASSES];
    atomic_uint_fast64_t rebalances;
    atomic_int assigned, paused_parts, inflight, ready;
    atomic_llong heartbeat_ms;              /* the polling loop turned */
    atomic_llong engine_busy_since_ms;      /* 0 when idle */
    atomic_llong encoder_busy_since_ms;     /* 0 when idle */
    atomic_int registry_waiting;            /* the engine thread waits for the registry */
    atomic_uint_fast64_t registry_requests, registry_failures, registry_cache_hits;
    atomic_int group_unowned;               /* the orphan watch: input partitions no member owns */
    atomic_uint_fast64_t group_nudges;      /* ... and the nudge members it joined to the group */
    _Atomic int64_t last_ack_ms;            /* last acknowledgement */
    int64_t first_msg_ms;                   /* first article consumed (polling thread) */
    int64_t started_ms;
    double start_wall_s;
    uint64_t assignments, txn_commits, txn_aborts;   /* polling thread */
    metrics_hist batch_articles, stage[3], produce_ack, e2e;
    pthread_mutex_t stats_mu;               /* guards stats_text only: copied, never held long */
    metrics_buf stats_text;                 /* per-partition series from librdkafka statistics */
} consumer_stats;

/* The engine stage: two queues (under mu) and what each thread owns. */
typedef struct stage {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_idle;
    work *queue_head, *queue_tail;  /* to the engine thread */
    work *done_head, *done_tail;    /* vectorized, to the encoder thread */
    work *free_list;
    int in_flight, stop, engine_exited, encoder_busy;
    int started;                    /* threads running: 0, 1 (engine) or 2 */
    pthread_t thread, encoder;
    work *filling;                  /* polling thread: the batch being filled */
    dhatu_engine *engine;           /* engine thread; its names are read by all */
    schema_codec *codec;            /* engine thread: decoding */
    registry *reg;                  /* engine thread: registry.url set, the writer schemas */
    /* encoder thread (or the engine thread while the encoder is idle, stage.c) */
    schema_codec *enc;              /* encoding; our record's registry id */
    dbuf out;
} stage;

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
} loop_state;

/* The open transaction (exactly-once): txn.c only. */
typedef struct txn_state {
    int open;
    uint64_t msgs;                  /* articles consumed into the open transaction */
} txn_state;

typedef struct consumer {
    kafka_events kev;               /* first: kafka.h finds it through the opaque */
    logger log;                     /* [consumer:GROUP] */
    logger engine_log;              /* [engine] */
    ccfg cfg;
    rd_kafka_t *consumer, *producer;
    const volatile sig_atomic_t *stop;   /* SIGTERM or SIGINT arrived */
    atomic_int fatal;               /* an EXIT_* status once something fatal happened */
    int passthrough;                /* benchmark: everything but the engine */
    stage st;
    /* bytes a message may have: the producer's message.max.bytes and each
     * topic's max.message.bytes (read at start), whichever is smaller */
    int64_t output_limit, dlq_limit;
    struct pending *pending;        /* deliver.c: reference-only dead letters to produce (polling thread) */
    /* polling thread */
    track_table tracks;
    int cooperative;
    loop_state lp;                  /* loop.c's own; others ask through loop_* */
    txn_state tx;                   /* txn.c's own; others ask through txn_* */
    /* exactly-once: around the transactional calls (watchdog.h) */
    watchdog wd;
    /* the orphan watch's thread (orphans.h) */
    orphans orph;
    /* read by scrapes */
    http_server *http;
    consumer_stats stats;
} consumer;


/* ---- stage.c: the engine stage */
int stage_init(consumer *c, char *errstr, size_t n);     /* engine, codec, buffers, works */
int stage_start(consumer *c);
/* avro-registry output: registers (or finds) the record schema's id, retrying
 * while the registry does not answer, until a signal. 0, or -1 after logging. */
int stage_register_output(consumer *c);
void stage_stop(consumer *c);                            /* joins the engine thread */
void stage_free(consumer *c);
int stage_in_flight(consumer *c);
/* The batch being filled, taking an empty one when none is (NULL: all busy). */
work *stage_filling(consumer *c);
/* Hands the filling batch (if not empty) to the engine; the caller checked in_flight. */
void stage_submit(consumer *c);
/* The batch being filled, or NULL when none is (never takes one). */
work *stage_current(consumer *c);
/* The engine (NULL before stage_init) and the registry client (NULL
 * without registry.url): borrowed, valid until stage_free. */
dhatu_engine *stage_engine(consumer *c);
registry *stage_registry(consumer *c);
/* Drops the filling batch's messages (after a fatal error or an abort). */
void stage_drop_filling(consumer *c);
/* Waits until the engine and the encoder returned every batch, serving
 * delivery reports meanwhile (the encoder may be waiting for room in the
 * producer's queue). 0, or -1 at the deadline with batches still out. */
int stage_wait_idle(consumer *c, int64_t deadline_ms);

/* ---- deliver.c: produce, dead letters, delivery reports, offsets */
/* Produces a record or a dead letter; the token names the input message. */
rd_kafka_resp_err_t deliver_produce(consumer *c, const char *topic, const void *key, size_t klen, const void *val,
                                    size_t vlen, rd_kafka_headers_t *hdrs, uint64_t token, int64_t ts);
void deliver_dead_letter(consumer *c, const rd_kafka_message_t *m, uint64_t token, int cls, const char *why);
/* A produce or delivery error that belongs to one message (its size, its
 * content), as opposed to one of the cluster or the client. */
int deliver_error_is_per_message(rd_kafka_resp_err_t err);
/* Dead letters the delivery reports asked for, produced from the polling
 * thread outside the callback (deliver_serve calls it). */
void deliver_retry_pending(consumer *c);
void deliver_free_pending(consumer *c);
void deliver_on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Serves delivery reports for up to timeout_ms, then stores what advanced. */
void deliver_serve(consumer *c, int timeout_ms);
void deliver_store_offsets(consumer *c);

/* ---- txn.c: exactly-once */
int txn_begin(consumer *c);
/* An article consumed into the open transaction (so it is not empty). */
void txn_count(consumer *c);
/* After a fatal error: aborts the open transaction, if any, without
 * rewinding (nothing more is committed; the input is redone elsewhere). */
void txn_abort_fatal(consumer *c);
void txn_abort_and_rewind(consumer *c);
void txn_abort_lost(consumer *c);     /* abort only: the partitions are gone */
void txn_commit(consumer *c, int64_t deadline_ms);

/* ---- rebalance.c */
void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque);

/* ---- loop.c: the polling loop, flow control and shutdown */
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

/* ---- member.c: start, summary, cleanup (main.c calls them in that order) */
/* Everything up to the first poll, on a consumer whose configuration is
 * parsed and whose logs are set. 0, or -1 after logging why (the caller
 * exits EXIT_CONFIG, after member_cleanup). */
int member_start(consumer *c);
/* The run's result line, logged even with -q. */
void member_summary(consumer *c, int status);
/* Frees whatever member_start set up, in reverse order; the consumer
 * itself stays the caller's. */
void member_cleanup(consumer *c);

/* ---- exporter.c: /metrics, /health, /ready */
/* The histograms' buckets, the lock of the statistics text, the start
 * times. Can't fail. exporter_stats_free undoes it. */
void exporter_stats_init(consumer_stats *s);
void exporter_stats_free(consumer_stats *s);
int exporter_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
int exporter_on_http(const char *path, metrics_buf *b, const char **ctype, void *arg);
/* The metric families /metrics publishes: name, type, help (docs check). */
void exporter_print_families(FILE *f);

/* ---- client.c: librdkafka configuration and the cluster check */
/* Refuses -X items that change a guarded property of either client. */
int client_check_overrides(consumer *c, char *errstr, size_t n);
/* The member's callbacks, handed in by member.c, which composes the
 * modules (so the client module calls none of those above it). Each gets
 * the struct consumer as its opaque. */
typedef struct client_callbacks {
    void (*on_delivery)(rd_kafka_t *, const rd_kafka_message_t *, void *);
    void (*on_rebalance)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *);
    int (*on_stats)(rd_kafka_t *, char *, size_t, void *);    /* NULL: none */
} client_callbacks;
/* The member's producer (on_delivery) and consumer (on_rebalance, on_stats).
 * NULL with the reason in errstr. */
rd_kafka_t *client_producer(consumer *c, const client_callbacks *cb, char *errstr, size_t n);
rd_kafka_t *client_consumer(consumer *c, const client_callbacks *cb, char *errstr, size_t n);
/* The orphan watch's nudge member (orphans.h): the consumer's properties
 * without group.instance.id (a dynamic member) and without its callbacks;
 * opaque must start with a kafka_events. */
rd_kafka_t *client_nudge(consumer *c, void *opaque,
                         void (*rebalance)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *),
                         char *errstr, size_t n);
int client_check_cluster(consumer *c, char *errstr, size_t n);

#endif
