/* test_stage.c -- the engine stage and delivery (consumer/stage.c,
 * deliver.c) without a broker: librdkafka's mock cluster holds the topics,
 * a plain consumer hands real messages to the stage as the polling loop
 * would (a token from the tracker per message, batches submitted when
 * full), and the stage's engine and encoder threads produce through the
 * member's own producer (client_producer, deliver_on_report).
 *
 * What must hold, whatever the batch size and the number in flight:
 *   - every article has exactly one record on the output topic, and every
 *     bad message exactly one dead letter, with its class;
 *   - a partition's records come out in its input order;
 *   - every token is acknowledged, so each partition's next offset to store
 *     is its end (nothing left unacknowledged, nothing stored early);
 *   - stage_wait_idle returns once nothing is in flight.
 */
#include <check.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer.h"
#include "testlib.h"

#define NPARTS 2

typedef struct fixture {
    rd_kafka_t *host;                   /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    consumer *c;
} fixture;

static void set(consumer *c, const char *kv)
{
    char err[256];
    ck_assert_msg(ccfg_set(&c->cfg, kv, err, sizeof err) == 0, "%s: %s", kv, err);
}

static rd_kafka_t *plain(rd_kafka_type_t type, const char *bootstraps, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err), RD_KAFKA_CONF_OK);
    if (group) {
        ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err), RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err), RD_KAFKA_CONF_OK);
        /* As the member: offsets stored by delivery, committed by us. */
        ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err),
                         RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err), RD_KAFKA_CONF_OK);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    ck_assert_msg(rk != NULL, "%s", err);
    return rk;
}

/* n articles, one in every bad_every a message that is not an article;
 * partition i % NPARTS. Returns how many are bad. */
static int feed(fixture *f, int n, int bad_every)
{
    rd_kafka_t *p = plain(RD_KAFKA_PRODUCER, f->bootstraps, NULL);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char key[32], val[256];
        snprintf(key, sizeof key, "a%d", i);
        if (bad_every && i % bad_every == bad_every - 1) {
            snprintf(val, sizeof val, "{\"id\": \"a%d\", \"text\": ", i);     /* cut short: invalid JSON */
            bad++;
        } else {
            snprintf(val, sizeof val, "{\"id\":\"a%d\",\"title\":\"t%d\",\"text\":\"Article %d may cause, "
                     "perhaps, a decision to say it again: it is good.\"}", i, i, i);
        }
        ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("in"), RD_KAFKA_V_PARTITION(i % NPARTS),
                                           RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END), 0);
    }
    ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    return bad;
}

static void setup(fixture *f, const char *batch, const char *in_flight)
{
    char err[512];
    memset(f, 0, sizeof *f);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), RD_KAFKA_CONF_OK);
    f->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ck_assert_msg(f->host != NULL, "%s", err);
    f->mc = rd_kafka_handle_mock_cluster(f->host);
    snprintf(f->bootstraps, sizeof f->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "in", NPARTS, 1), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "out", NPARTS, 1), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "dlq", 1, 1), 0);

    consumer *c = f->c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    log_init(&c->log, "test_stage", "consumer:test", LOG_ERROR, LOG_TOOL);
    log_derive(&c->engine_log, &c->log, "engine");
    log_derive(&c->kev.log, &c->log, "kafka");
    static const volatile sig_atomic_t never;
    c->stop = &never;
    ccfg_defaults(&c->cfg);
    char kv[320];
    snprintf(kv, sizeof kv, "kafka.brokers=%s", f->bootstraps);
    set(c, kv);
    set(c, "topics.input=in");
    set(c, "topics.output=out");
    set(c, "topics.dead_letter=dlq");
    set(c, "engine.backend=cpu-ref");
    set(c, "engine.model=seed");
    set(c, "delivery.output_format=json");
    snprintf(kv, sizeof kv, "batch.max_articles=%s", batch);
    set(c, kv);
    snprintf(kv, sizeof kv, "batch.max_in_flight=%s", in_flight);
    set(c, kv);
    ck_assert_msg(ccfg_validate(&c->cfg, err, sizeof err) == 0, "%s", err);
    exporter_stats_init(&c->stats);
    ck_assert_msg(stage_init(c, err, sizeof err) == 0, "stage_init: %s", err);
    ck_assert_int_eq(track_table_init(&c->tracks, 64, (uint32_t)(c->cfg.max_unacked + c->cfg.batch_articles)), 0);
    static const client_callbacks cb = { deliver_on_report, NULL, NULL };
    c->producer = client_producer(c, &cb, err, sizeof err);
    ck_assert_msg(c->producer != NULL, "%s", err);
    for (int p = 0; p < NPARTS; p++) ck_assert_ptr_nonnull(track_add(&c->tracks, "in", p));
    ck_assert_int_eq(stage_start(c), 0);
}

static void teardown(fixture *f)
{
    consumer *c = f->c;
    stage_stop(c);
    rd_kafka_destroy(c->producer);
    stage_free(c);
    deliver_free_pending(c);
    track_table_free(&c->tracks);
    exporter_stats_free(&c->stats);
    ccfg_free(&c->cfg);
    free(c);
    rd_kafka_destroy(f->host);
}

/* The polling loop's part: every message of "in" through the stage, in
 * batches of batch.max_articles, waiting for a slot as loop.c does; the
 * consumer handle is the member's (delivery stores offsets on it). At the
 * end the stored offsets are committed and read back into committed[]. */
static void run(fixture *f, int n, int64_t committed[NPARTS])
{
    consumer *c = f->c;
    rd_kafka_t *in = c->consumer = plain(RD_KAFKA_CONSUMER, f->bootstraps, "test-stage");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPARTS);
    for (int p = 0; p < NPARTS; p++) rd_kafka_topic_partition_list_add(l, "in", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(in, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int got = 0;
    int64_t end = clk_now_ms() + 30000;
    while (got < n && clk_now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(in, 100);
        deliver_serve(c, 0);
        if (!m) {
            stage_submit(c);            /* linger */
            continue;
        }
        ck_assert_msg(!m->err, "%s", rd_kafka_message_errstr(m));
        work *w;
        while (!(w = stage_filling(c))) deliver_serve(c, 5);    /* every work in flight */
        track_part *tp = track_find(&c->tracks, "in", m->partition);
        ck_assert_ptr_nonnull(tp);
        w->msgs[w->n] = m;
        w->tokens[w->n] = track_push(&c->tracks, tp, m->offset);
        w->bytes += m->len;
        if (++w->n == (size_t)c->cfg.batch_articles) {
            while (stage_in_flight(c) >= c->cfg.max_in_flight) deliver_serve(c, 5);
            stage_submit(c);
        }
        got++;
    }
    ck_assert_int_eq(got, n);
    stage_submit(c);
    ck_assert_int_eq(stage_wait_idle(c, clk_now_ms() + 30000), 0);
    ck_assert_int_eq(stage_in_flight(c), 0);
    ck_assert_int_eq(rd_kafka_flush(c->producer, 10000), 0);
    deliver_serve(c, 100);
    ck_assert_int_eq(rd_kafka_commit(in, NULL, 0), 0);
    l = rd_kafka_topic_partition_list_new(NPARTS);
    for (int p = 0; p < NPARTS; p++) rd_kafka_topic_partition_list_add(l, "in", p);
    ck_assert_int_eq(rd_kafka_committed(in, l, 10000), 0);
    for (int p = 0; p < NPARTS; p++) committed[p] = l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(in);
    rd_kafka_destroy(in);
    c->consumer = NULL;
}

/* The input partition and offset a JSON record names in its lineage
 * ("lineage":{"topic":"in","partition":P,"offset":O...). */
static void lineage(const rd_kafka_message_t *m, int *part, long long *off)
{
    char buf[4096];
    ck_assert_uint_lt(m->len, sizeof buf);
    memcpy(buf, m->payload, m->len);
    buf[m->len] = 0;
    const char *s = strstr(buf, "\"lineage\":");
    ck_assert_ptr_nonnull(s);
    const char *ps = strstr(s, "\"partition\":"), *os = strstr(s, "\"offset\":");
    ck_assert(ps && os);
    *part = atoi(ps + 12);
    *off = atoll(os + 9);
    ck_assert(*part >= 0 && *part < NPARTS);
}

/* Reads a whole topic: per partition, the input offsets named by the
 * records' lineage (JSON) or the dead letters' count. */
static int read_topic(fixture *f, const char *topic, int nparts, int64_t offs[][4096], int counts[])
{
    rd_kafka_t *rk = plain(RD_KAFKA_CONSUMER, f->bootstraps, topic);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int total = 0, idle = 0;
    while (idle < 10) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        ck_assert_msg(!m->err, "%s", rd_kafka_message_errstr(m));
        if (offs) {
            int part;
            long long off;
            lineage(m, &part, &off);
            ck_assert(counts[part] < 4096);
            offs[part][counts[part]++] = off;
        }
        total++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return total;
}

static void check_run(const char *batch, const char *in_flight, int n, int bad_every)
{
    static int64_t offs[NPARTS][4096];
    fixture f;
    setup(&f, batch, in_flight);
    int bad = feed(&f, n, bad_every);
    int64_t committed[NPARTS];
    run(&f, n, committed);
    consumer *c = f.c;
    /* Every output acknowledged, so each partition's stored (and now
     * committed) offset is its end: nothing left behind, nothing early. */
    for (int p = 0; p < NPARTS; p++) {
        int64_t end = n / NPARTS + (p < n % NPARTS);
        ck_assert_msg(committed[p] == end, "partition %d: committed %" PRId64 ", expected %" PRId64, p, committed[p],
                      end);
    }
    int counts[NPARTS] = { 0 };
    int recs = read_topic(&f, "out", NPARTS, offs, counts);
    int dls = read_topic(&f, "dlq", 1, NULL, NULL);
    ck_assert_int_eq(recs, n - bad);
    ck_assert_int_eq(dls, bad);
    ck_assert_uint_eq(atomic_load(&c->stats.dead_by[SCHEMA_ERR_UNDECODABLE]), (unsigned)bad);
    /* One record per good article: the right count per input partition,
     * and no input offset twice. */
    for (int p = 0; p < NPARTS; p++) {
        int expect = 0;
        for (int64_t o = 0; o < n / NPARTS + (p < n % NPARTS); o++) {
            int i = (int)o * NPARTS + p;
            if (!(bad_every && i % bad_every == bad_every - 1)) expect++;
        }
        ck_assert_int_eq(counts[p], expect);
        for (int k = 0; k < counts[p]; k++)
            for (int j = k + 1; j < counts[p]; j++)
                ck_assert_msg(offs[p][k] != offs[p][j], "partition %d offset %" PRId64 " has two records", p,
                              offs[p][k]);
    }
    teardown(&f);
}

START_TEST(test_one_per_article)
{
    check_run("16", "4", 600, 0);
}
END_TEST

START_TEST(test_dead_letters_beside_records)
{
    check_run("7", "2", 500, 11);
}
END_TEST

START_TEST(test_one_batch_in_flight)
{
    check_run("1", "1", 120, 5);
}
END_TEST

/* Input order: the records of one input partition, read back output
 * partition by output partition (the key picks it), name increasing input
 * offsets. */
START_TEST(test_input_order_kept)
{
    fixture f;
    setup(&f, "8", "4");
    feed(&f, 800, 0);
    int64_t committed[NPARTS];
    run(&f, 800, committed);
    for (int p = 0; p < NPARTS; p++) ck_assert_int_eq(committed[p], 400);
    rd_kafka_t *rk = plain(RD_KAFKA_CONSUMER, f.bootstraps, "order");
    for (int op = 0; op < NPARTS; op++) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, "out", op)->offset = RD_KAFKA_OFFSET_BEGINNING;
        ck_assert_int_eq(rd_kafka_assign(rk, l), 0);
        rd_kafka_topic_partition_list_destroy(l);
        int64_t last[NPARTS] = { -1, -1 };
        int idle = 0, seen = 0;
        while (idle < 10) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (!m) {
                idle++;
                continue;
            }
            idle = 0;
            int part;
            long long off;
            lineage(m, &part, &off);
            ck_assert_msg(off > last[part], "output partition %d: input %d offset %lld after %" PRId64, op, part, off,
                          last[part]);
            last[part] = off;
            seen++;
            rd_kafka_message_destroy(m);
        }
        ck_assert_int_gt(seen, 0);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    teardown(&f);
}
END_TEST

TL_MAIN("stage", test_one_per_article, test_dead_letters_beside_records, test_one_batch_in_flight,
        test_input_order_kept)
