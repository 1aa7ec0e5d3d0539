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
 * Modules, top to bottom (a module calls only those below it; ctest
 * consumer_layers checks it on the compiled objects): main.c, member.h,
 * rebalance.h, loop.h, share.h, txn.h, exporter.h, orphans.h, stage.h, deliver.h,
 * client.h, outcome.h, trace.h, then watchdog.h, http.h, metrics.h,
 * track.h and config.h. Each has its header, with its contract; loop, txn and the stage
 * keep their state in a struct of their own (loop_state, txn_state, stage)
 * that only their file writes, the others asking through functions.
 * struct consumer below composes them with what is shared by design: the
 * configuration (and what member_start found: the message size limits, the
 * rebalance protocol), the two Kafka handles, the first fatal status, the
 * stop flag, the tracker (track.h, its own API) and the published counters.
 *
 * Errors: what runs before the first poll returns a status and fills the
 * caller's message buffer (stage_init, client_*, txn_init, orphans_start,
 * stage_register_output), and member_start, the edge, logs it. Once the
 * member runs, no caller waits on the thread that meets an error: a module
 * logs it where it happens and records the first fatal one (outcome_fail),
 * which loop_run returns as the exit status.
 *
 * Ownership: main.c creates one struct consumer and frees it through one
 * cleanup path (member_cleanup); every callback reaches it through its
 * opaque pointer. There is no file-scope mutable state but the signal flag
 * in main.c.
 */
#ifndef CONSUMER_H
#define CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "client.h"
#include "config.h"
#include "deliver.h"
#include "exporter.h"
#include "loop.h"
#include "member.h"
#include "rebalance.h"
#include "backlog.h"
#include "share.h"
#include "stage.h"
#include "txn.h"
#include "watchdog.h"
#include "dhatu.h"
#include "http.h"
#include "idbuf.h"
#include "kafka.h"
#include "content.h"
#include "log.h"
#include "metrics.h"
#include "orphans.h"
#include "outcome.h"
#include "registry.h"
#include "schema_avro.h"
#include "track.h"

#define PROG "dhatu-consumer"
#define PROCESSOR PROG " " DHATU_VERSION_STRING

/* What /metrics and the summary read; atomics where two threads meet. */
typedef struct consumer_stats {
    atomic_uint_fast64_t consumed, produced, delivered, delivery_failed, in_bytes, out_bytes;
    atomic_uint_fast64_t dead_by[DL_NCLASSES];
    atomic_uint_fast64_t rebalances;
    atomic_int assigned, paused_parts, inflight, ready;
    atomic_int producer_queue;              /* rd_kafka_outq_len, published by the polling thread */
    atomic_uint_fast64_t producer_resets;   /* exactly-once: failed producers replaced (txn.h) */
    atomic_int group_steady;                /* statistics: librdkafka's join state is steady */
    _Atomic int64_t join_wait_since_ms;     /* waiting to join the group since; 0: joined (loop.c) */
    atomic_uint_fast64_t join_warnings;     /* kafka.join_warn_ms periods passed unjoined */
    atomic_llong heartbeat_ms;              /* the polling loop turned */
    atomic_llong engine_busy_since_ms;      /* 0 when idle */
    atomic_llong encoder_busy_since_ms;     /* 0 when idle */
    atomic_int registry_waiting;            /* the engine thread waits for the registry */
    atomic_uint_fast64_t registry_requests, registry_failures, registry_cache_hits;
    atomic_int group_unowned;               /* the orphan watch: input partitions no member owns */
    atomic_uint_fast64_t group_nudges;      /* ... and the nudge members it joined to the group */
    _Atomic int64_t last_ack_ms;            /* last acknowledgement */
    _Atomic int64_t share_held_since_ms;    /* share group: when the batch held now was polled; 0 none */
    atomic_uint_fast64_t share_redelivered; /* share group: records delivered more than once */
    int64_t first_msg_ms;                   /* first article consumed (polling thread) */
    int64_t started_ms;
    double start_wall_s;
    uint64_t assignments, txn_commits, txn_aborts;   /* polling thread */
    metrics_hist batch_articles, stage[3], produce_ack, e2e;
    content_stats content;                  /* what the records say (content.h) */
    pthread_mutex_t stats_mu;               /* guards stats_text only: copied, never held long */
    metrics_buf stats_text;                 /* per-partition series from librdkafka statistics */
    char group_state[64];                   /* "state/join_state" at the last statistics (stats_mu) */
} consumer_stats;

typedef struct consumer {
    kafka_events kev;               /* first: kafka.h finds it through the opaque */
    logger log;                     /* [consumer:GROUP] */
    logger engine_log;              /* [engine] */
    ccfg cfg;
    rd_kafka_t *consumer, *producer;   /* consumer: NULL in a share group */
    rd_kafka_share_t *share;        /* kafka.group_type=share (share.h), else NULL */
    backlog share_backlog;          /* share group: its backlog as this member sees it (backlog.h) */
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

#endif
