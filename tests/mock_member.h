/* mock_member.h -- a dhatu-consumer member's modules on librdkafka's mock
 * cluster, for the unit suites of the stage, delivery and transactions
 * (test_stage.c, test_txn.c): no broker, but real librdkafka handles, the
 * member's own producer (client_producer, deliver_on_report) and a consumer
 * handle that plays the polling loop's part.
 *
 * The input topic "in" has MM_NPARTS partitions; "out" too; "dlq" one.
 * Failures are Check assertions (the helpers run inside a test). The
 * fixture owns everything it creates; mm_teardown frees it all.
 */
#ifndef MOCK_MEMBER_H
#define MOCK_MEMBER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdatomic.h>

#include "consumer.h"

#define MM_NPARTS 2

typedef struct mm_fixture {
    rd_kafka_t *host;                   /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    consumer *c;                        /* c->consumer: the input handle while open */
    atomic_int watchdog_fired;          /* exactly-once: a transactional call hung */
} mm_fixture;

/* The cluster and its topics only (f->c NULL), for a test that makes its
 * own member; mm_teardown frees it. */
void mm_cluster(mm_fixture *f);
/* A struct consumer configured for f's cluster (what mm_setup uses, group
 * mm-group), then settings; nothing started. Free with ccfg_free and free,
 * or through member_cleanup. */
consumer *mm_consumer_new(const mm_fixture *f, const char *const *settings);

/* The cluster, the topics and a member configured with settings (a
 * NULL-terminated list of "path=value"; the brokers, topics, cpu-ref seed
 * engine and JSON output are set before them). Exactly-once (a setting
 * delivery.mode=exactly-once) also starts the watchdog and initializes the
 * producer's transactions. The stage's threads run on return. */
void mm_setup(mm_fixture *f, const char *const *settings);
void mm_teardown(mm_fixture *f);

/* n articles into "in", partition i % MM_NPARTS; one in every bad_every (0:
 * none) is not an article (cut-short JSON). Returns how many are bad. */
int mm_feed(mm_fixture *f, int n, int bad_every);
/* Whether article i of mm_feed is a bad one. */
int mm_is_bad(int i, int bad_every);

/* c->consumer: a consumer of group "mm-group" assigned every partition of
 * "in" from the beginning, offsets stored by delivery (as the member's). */
void mm_open_input(mm_fixture *f);
/* Commits what delivery stored (at least once) and closes the input. */
void mm_close_input(mm_fixture *f);
/* Polls n messages (failing after 30 s) into the stage as the polling loop
 * does: a token per message, a batch submitted when full, waiting for a
 * slot; exactly-once counts each into the open transaction. */
void mm_pump(mm_fixture *f, int n);
/* Submits the last batch and waits until nothing is in flight and every
 * output is acknowledged. */
void mm_drain(mm_fixture *f);
/* The group's committed offset of each input partition. */
void mm_committed(mm_fixture *f, int64_t out[MM_NPARTS]);

/* Requests with api_key the mock brokers received since mm_setup (or the
 * last mm_requests_clear). */
int mm_requests(mm_fixture *f, int16_t api_key);
void mm_requests_clear(mm_fixture *f);

/* A record read back: its own partition, and the input partition and
 * offset its lineage names (JSON records). */
typedef struct mm_rec {
    int part, in_part;
    long long in_off;
} mm_rec;

/* Reads a whole topic with isolation.level read_committed, in each
 * partition's order (librdkafka 2.15.1's mock filters no aborted batch from
 * an ordinary fetch: on the mock this reads every record); with recs (room for max), what each record says.
 * Returns the message count. */
int mm_read_topic(mm_fixture *f, const char *topic, int nparts, mm_rec *recs, int max);

#endif
