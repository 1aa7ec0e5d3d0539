/* client.c -- the member's two librdkafka handles: configuration (our
 * defaults, the user's -X over them, the guarantees refused to be
 * overridden) and the start-up check of the cluster. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "consumer.h"

/* A property table and room for the strings it points to. */
typedef struct props {
    kafka_prop p[24];
    int n;
    char id[512], txn_timeout[24], tid[512], stats[24];
} props;

static void add(props *t, const char *key, const char *value, const char *guard)
{
    if (t->n < (int)(sizeof t->p / sizeof t->p[0])) t->p[t->n++] = (kafka_prop){ key, value, guard };
}

static void producer_props(const consumer *c, props *t)
{
    char host[128] = "host";
    t->n = 0;
    snprintf(t->id, sizeof t->id, "%s-producer", c->cfg.client_id);
    add(t, "bootstrap.servers", c->cfg.brokers, NULL);
    add(t, "client.id", t->id, NULL);
    add(t, "enable.idempotence", "true", "retries never duplicate or reorder records");
    add(t, "acks", "all", "a record counts as delivered only once every in-sync replica has it");
    add(t, "linger.ms", "5", NULL);
    add(t, "compression.codec", "lz4", NULL);
    /* Memory: librdkafka would queue up to 1 GiB of records; 64 MiB is
     * about 200,000 records, more than the pipeline keeps in flight, at
     * no measured cost (bench/memory.sh). When full, produce waits. */
    add(t, "queue.buffering.max.kbytes", "65536", NULL);
    if (!c->cfg.exactly_once) return;
    /* One transactional id per member; with KIP-447 offsets fencing comes
     * from the group generation, not from the id. */
    gethostname(host, sizeof host - 1);
    if (*c->cfg.group_instance_id)
        snprintf(t->tid, sizeof t->tid, "dhatu-%s-%s", c->cfg.group_id, c->cfg.group_instance_id);
    else
        snprintf(t->tid, sizeof t->tid, "dhatu-%s-%s-%d", c->cfg.group_id, host, (int)getpid());
    snprintf(t->txn_timeout, sizeof t->txn_timeout, "%" PRId64, c->cfg.txn_timeout_ms);
    add(t, "transactional.id", t->tid, NULL);
    add(t, "transaction.timeout.ms", t->txn_timeout, NULL);
}

static void consumer_props(const consumer *c, props *t, int nudge)
{
    t->n = 0;
    snprintf(t->stats, sizeof t->stats, "%" PRId64, c->cfg.stats_interval_ms);
    add(t, "bootstrap.servers", c->cfg.brokers, NULL);
    add(t, "client.id", nudge ? "dhatu-consumer-nudge" : c->cfg.client_id, NULL);
    add(t, "group.id", c->cfg.group_id, NULL);
    /* KIP-848: the brokers assign partitions; the client must not name an
     * assignor (librdkafka refuses it with group.protocol=consumer). */
    if (!strcmp(c->cfg.group_protocol, "consumer")) add(t, "group.protocol", "consumer", NULL);
    else add(t, "partition.assignment.strategy", c->cfg.assignor, NULL);
    add(t, "auto.offset.reset", "earliest", NULL);
    add(t, "enable.partition.eof", "true", "lifecycle.exit_idle_ms needs to see the end of each partition");
    add(t, "enable.auto.offset.store", "false", "an offset is stored only once the output of its message is acknowledged");
    /* Exactly-once commits offsets in the transaction, never by itself. */
    add(t, "enable.auto.commit", c->cfg.exactly_once ? "false" : "true",
        c->cfg.exactly_once ? "exactly-once commits offsets in transactions only"
                            : "stored offsets are committed in the background");
    /* Stored offsets are committed every second (Kafka's default is 5 s):
     * after a crash, at most ~1 s of acknowledged work is redone. */
    add(t, "auto.commit.interval.ms", "1000", NULL);
    add(t, "isolation.level", "read_committed", "aborted transactions must never become records");
    add(t, "statistics.interval.ms", t->stats, NULL);
    /* Memory against throughput: the prefetched messages. librdkafka
     * counts their payload only; per message and per fetch buffer it holds
     * about as much again, so 16 MiB of prefetch is about 60 MiB of RSS.
     * One member draining a million JSON articles alone (bench/memory.sh,
     * MEMBERS=1) peaked at 234-254 MiB with 64 MiB and 180-232 MiB with
     * 48 MiB, at a rate within the runs' spread; 32 MiB cost 15% of the
     * rate. 48 MiB keeps the default inside 256 MB with room to spare. */
    add(t, "queued.max.messages.kbytes", "49152", NULL);
    /* When that queue is full, librdkafka postpones the partition's next
     * fetch by fetch.queue.backoff.ms, 1 s by default: on a backlog the
     * member then idles in bursts, whatever its cores could do. One member
     * draining 1.2 million JSON articles (seed, broker on the same two
     * cores, 2026-12-07): 69-70k/s and 0.96-1.01 cores busy with the
     * default, 106-120k/s and 1.55-1.69 cores with 10 ms, at the same RSS
     * (219-221 MiB; a 128 MiB queue instead gave 101-106k/s at 248-260). */
    add(t, "fetch.queue.backoff.ms", "10", NULL);
    if (*c->cfg.group_instance_id && !nudge) add(t, "group.instance.id", c->cfg.group_instance_id, NULL);
}

int client_check_overrides(consumer *c, char *err, size_t en)
{
    props pp, cp;
    producer_props(c, &pp);
    consumer_props(c, &cp, 0);
    /* The same -X list goes to both clients: each guard holds for both. */
    return kafka_conf_check(pp.p, pp.n, c->cfg.kafka_props.v, c->cfg.kafka_props.n, err, en) ||
           kafka_conf_check(cp.p, cp.n, c->cfg.kafka_props.v, c->cfg.kafka_props.n, err, en);
}

static rd_kafka_t *create(void *opaque, consumer *c, rd_kafka_type_t type, rd_kafka_conf_t *conf, const props *t,
                          char *err, size_t en)
{
    if (kafka_conf_apply(conf, t->p, t->n, c->cfg.kafka_props.v, c->cfg.kafka_props.n, err, en)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    kafka_route_events(conf);
    char msg[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, msg, sizeof msg);
    if (!rk) {
        snprintf(err, en, "%s: %s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", msg);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

rd_kafka_t *client_producer(consumer *c, const client_callbacks *cb, char *err, size_t en)
{
    props t;
    producer_props(c, &t);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, cb->on_delivery);
    return create(c, c, RD_KAFKA_PRODUCER, conf, &t, err, en);
}

rd_kafka_t *client_consumer(consumer *c, const client_callbacks *cb, char *err, size_t en)
{
    props t;
    consumer_props(c, &t, 0);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_rebalance_cb(conf, cb->on_rebalance);
    if (cb->on_stats) rd_kafka_conf_set_stats_cb(conf, cb->on_stats);
    return create(c, c, RD_KAFKA_CONSUMER, conf, &t, err, en);
}

rd_kafka_share_t *client_share(consumer *c, int (*on_stats)(rd_kafka_t *, char *, size_t, void *), char *err,
                               size_t en)
{
    props t;
    char polls[24];
    t.n = 0;
    snprintf(t.stats, sizeof t.stats, "%" PRId64, c->cfg.stats_interval_ms);
    /* A poll batch of batch.max_in_flight engine batches: the preview
     * wants every record of a poll acknowledged before the next poll, so
     * one engine batch per poll would leave the stages taking turns (one
     * member at half a consumer-group member's rate); several let decode,
     * engine and encode overlap within the poll (bench/results.md,
     * 2026-12-07: 61k -> 85k articles/s at 4). */
    snprintf(polls, sizeof polls, "%" PRId64, c->cfg.batch_articles * c->cfg.max_in_flight);
    add(&t, "bootstrap.servers", c->cfg.brokers, NULL);
    add(&t, "client.id", c->cfg.client_id, NULL);
    add(&t, "group.id", c->cfg.group_id, NULL);
    /* Every record of a batch is acknowledged by us, once its output is:
     * implicit mode would accept it at the next poll whatever happened. */
    add(&t, "share.acknowledgement.mode", "explicit", "a record is accepted only once its output is acknowledged");
    /* One poll batch at a time (explicit mode): its size bounds the time
     * a record is held under the broker's acquisition lock. */
    add(&t, "max.poll.records", polls, NULL);
    add(&t, "statistics.interval.ms", t.stats, NULL);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (on_stats) rd_kafka_conf_set_stats_cb(conf, on_stats);
    if (kafka_conf_apply(conf, t.p, t.n, c->cfg.kafka_props.v, c->cfg.kafka_props.n, err, en)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, c);
    kafka_route_events(conf);
    char msg[512];
    rd_kafka_share_t *sh = rd_kafka_share_consumer_new(conf, msg, sizeof msg);
    if (!sh) {
        snprintf(err, en, "share consumer: %s", msg);
        rd_kafka_conf_destroy(conf);
    }
    return sh;
}

rd_kafka_topic_partition_list_t *client_input_topics(const consumer *c)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->cfg.input.n);
    for (int i = 0; i < c->cfg.input.n; i++) rd_kafka_topic_partition_list_add(l, c->cfg.input.v[i], RD_KAFKA_PARTITION_UA);
    return l;
}

rd_kafka_t *client_nudge(consumer *c, void *opaque,
                         void (*rebalance)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *),
                         char *err, size_t en)
{
    /* A static id given as a raw librdkafka property would reach the nudge
     * too, which would then take this member's place in the group. */
    if (kafka_conf_user_value(c->cfg.kafka_props.v, c->cfg.kafka_props.n, "group.instance.id", NULL)) {
        snprintf(err, en, "group.instance.id is set as a librdkafka property (-X, kafka.librdkafka or -F); the nudge "
                          "member would take this member's static id (set kafka.group_instance_id instead)");
        return NULL;
    }
    props t;
    consumer_props(c, &t, 1);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_t *rk = create(opaque, c, RD_KAFKA_CONSUMER, conf, &t, err, en);
    if (rk) rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* The brokers answer and every topic we need exists: a clear error at
 * start-up instead of a consumer that waits forever. */
int client_check_cluster(consumer *c, char *err, size_t en)
{
    const char *need[64];
    int n = 0;
    for (int i = 0; i < c->cfg.input.n && n < 62; i++) need[n++] = c->cfg.input.v[i];
    need[n++] = c->cfg.output;
    need[n++] = c->cfg.dead_letter;
    const char *brokers = kafka_conf_user_value(c->cfg.kafka_props.v, c->cfg.kafka_props.n, "bootstrap.servers",
                                                c->cfg.brokers);
    if (kafka_check_topics(c->producer, brokers, need, n, (int)c->cfg.startup_timeout_ms, err, en)) return -1;
    /* What one message may weigh: the producer's limit and each topic's.
     * Knowing them up front turns an oversized record or dead letter into a
     * dead letter (or a reference-only one) before the broker refuses it,
     * which inside a transaction would abort it again and again. */
    int64_t producer_max = strtoll(kafka_conf_user_value(c->cfg.kafka_props.v, c->cfg.kafka_props.n,
                                                         "message.max.bytes", "1000000"), NULL, 10);
    const char *outs[2] = { c->cfg.output, c->cfg.dead_letter };
    int64_t limits[2];
    char why[256];
    if (kafka_topic_limits(c->producer, outs, 2, limits, (int)c->cfg.startup_timeout_ms, why, sizeof why))
        log_warn(&c->log, "%s; message sizes are checked against message.max.bytes only", why);
    c->output_limit = limits[0] > 0 && limits[0] < producer_max ? limits[0] : producer_max;
    c->dlq_limit = limits[1] > 0 && limits[1] < producer_max ? limits[1] : producer_max;
    log_info(&c->log, "largest message: %" PRId64 " bytes to %s, %" PRId64 " to %s", c->output_limit,
             c->cfg.output, c->dlq_limit, c->cfg.dead_letter);
    return 0;
}
