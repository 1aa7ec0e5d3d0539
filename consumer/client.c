/* client.c -- the member's two librdkafka handles: configuration (our
 * defaults, the user's -X over them, the guarantees refused to be
 * overridden) and the start-up check of the cluster. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "consumer.h"

static const char *const IDEMPOTENT = "retries never duplicate or reorder records";

static rd_kafka_t *create(consumer *c, rd_kafka_type_t type, rd_kafka_conf_t *conf, const kafka_prop *props, int n,
                          char *err, size_t en)
{
    if (kafka_conf_apply(conf, props, n, c->cfg.librdkafka.v, c->cfg.librdkafka.n, err, en)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, c);
    kafka_route_events(conf);
    char msg[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, msg, sizeof msg);
    if (!rk) {
        snprintf(err, en, "%s: %s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", msg);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

rd_kafka_t *client_producer(consumer *c, char *err, size_t en)
{
    char id[512], txn_timeout[24], tid[512], host[128] = "host";
    snprintf(id, sizeof id, "%s-producer", c->cfg.client_id);
    snprintf(txn_timeout, sizeof txn_timeout, "%" PRId64, c->cfg.txn_timeout_ms);
    /* One transactional id per member; with KIP-447 offsets fencing comes
     * from the group generation, not from the id. */
    gethostname(host, sizeof host - 1);
    if (*c->cfg.group_instance_id)
        snprintf(tid, sizeof tid, "dhatu-%s-%s", c->cfg.group_id, c->cfg.group_instance_id);
    else
        snprintf(tid, sizeof tid, "dhatu-%s-%s-%d", c->cfg.group_id, host, (int)getpid());
    kafka_prop props[] = {
        { "bootstrap.servers", c->cfg.brokers, NULL },
        { "client.id", id, NULL },
        { "enable.idempotence", "true", IDEMPOTENT },
        { "acks", "all", "a record counts as delivered only once every in-sync replica has it" },
        { "linger.ms", "5", NULL },
        { "compression.codec", "lz4", NULL },
        { "transactional.id", tid, NULL },
        { "transaction.timeout.ms", txn_timeout, NULL },
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, deliver_on_report);
    return create(c, RD_KAFKA_PRODUCER, conf, props, c->cfg.exactly_once ? 8 : 6, err, en);
}

rd_kafka_t *client_consumer(consumer *c, char *err, size_t en)
{
    char stats[24];
    snprintf(stats, sizeof stats, "%" PRId64, c->cfg.stats_interval_ms);
    kafka_prop props[] = {
        { "bootstrap.servers", c->cfg.brokers, NULL },
        { "client.id", c->cfg.client_id, NULL },
        { "group.id", c->cfg.group_id, NULL },
        { "partition.assignment.strategy", c->cfg.assignor, NULL },
        { "auto.offset.reset", "earliest", NULL },
        { "enable.partition.eof", "true", "lifecycle.exit_idle_ms needs to see the end of each partition" },
        { "enable.auto.offset.store", "false",
          "an offset is stored only once the output of its message is acknowledged" },
        /* Exactly-once commits offsets in the transaction, never by itself. */
        { "enable.auto.commit", c->cfg.exactly_once ? "false" : "true",
          c->cfg.exactly_once ? "exactly-once commits offsets in transactions only"
                              : "stored offsets are committed in the background" },
        /* Stored offsets are committed every second (Kafka's default is
         * 5 s): after a crash, at most ~1 s of acknowledged work is redone. */
        { "auto.commit.interval.ms", "1000", NULL },
        { "isolation.level", "read_committed", "aborted transactions must never become records" },
        { "statistics.interval.ms", stats, NULL },
        { "group.instance.id", c->cfg.group_instance_id, NULL },
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, exporter_on_stats);
    return create(c, RD_KAFKA_CONSUMER, conf, props, *c->cfg.group_instance_id ? 12 : 11, err, en);
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
    return kafka_check_topics(c->producer, c->cfg.brokers, need, n, 15000, err, en);
}
