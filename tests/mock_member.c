/* mock_member.c -- see mock_member.h. */
#include "mock_member.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        ck_assert_int_eq(rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err),
                         RD_KAFKA_CONF_OK);
        /* As the member: offsets stored by delivery, committed explicitly. */
        ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err),
                         RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err), RD_KAFKA_CONF_OK);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    ck_assert_msg(rk != NULL, "%s", err);
    return rk;
}

int mm_is_bad(int i, int bad_every) { return bad_every && i % bad_every == bad_every - 1; }

int mm_feed(mm_fixture *f, int n, int bad_every)
{
    rd_kafka_t *p = plain(RD_KAFKA_PRODUCER, f->bootstraps, NULL);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char key[32], val[256];
        snprintf(key, sizeof key, "a%d", i);
        if (mm_is_bad(i, bad_every)) {
            snprintf(val, sizeof val, "{\"id\": \"a%d\", \"text\": ", i);     /* cut short: invalid JSON */
            bad++;
        } else {
            snprintf(val, sizeof val, "{\"id\":\"a%d\",\"title\":\"t%d\",\"text\":\"Article %d may cause, "
                     "perhaps, a decision to say it again: it is good.\"}", i, i, i);
        }
        ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("in"), RD_KAFKA_V_PARTITION(i % MM_NPARTS),
                                           RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END), 0);
    }
    ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    return bad;
}

/* The watchdog's callback: a transactional call outlived its timeout. The
 * test's thread sees the flag (no assertion from another thread). */
static void on_hang(void *arg, const char *call)
{
    (void)call;
    atomic_store(&((mm_fixture *)arg)->watchdog_fired, 1);
}

void mm_cluster(mm_fixture *f)
{
    char err[512];
    memset(f, 0, sizeof *f);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), RD_KAFKA_CONF_OK);
    f->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ck_assert_msg(f->host != NULL, "%s", err);
    f->mc = rd_kafka_handle_mock_cluster(f->host);
    snprintf(f->bootstraps, sizeof f->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "in", MM_NPARTS, 1), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "out", MM_NPARTS, 1), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(f->mc, "dlq", 1, 1), 0);
    /* A member alone needs no wait for others before its first assignment
     * (the mock's default is Kafka's 3 s; the scenarios' brokers use 0). */
    rd_kafka_mock_group_initial_rebalance_delay_ms(f->mc, 0);
    rd_kafka_mock_start_request_tracking(f->mc);
}

consumer *mm_consumer_new(const mm_fixture *f, const char *const *settings)
{
    char err[512];
    consumer *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    log_init(&c->log, "mock_member", "consumer:mm", LOG_ERROR, LOG_TOOL);
    log_derive(&c->engine_log, &c->log, "engine");
    log_derive(&c->kev.log, &c->log, "kafka");
    static const volatile sig_atomic_t never;
    c->stop = &never;
    ccfg_defaults(&c->cfg);
    char kv[320];
    snprintf(kv, sizeof kv, "kafka.brokers=%s", f->bootstraps);
    set(c, kv);
    set(c, "kafka.group_id=mm-group");
    set(c, "topics.input=in");
    set(c, "topics.output=out");
    set(c, "topics.dead_letter=dlq");
    set(c, "engine.backend=cpu-ref");
    set(c, "engine.model=seed");
    set(c, "delivery.output_format=json");
    /* The mock cluster does not answer DescribeConfigs: the size check
     * gives up after this and uses message.max.bytes (15 s by default). */
    set(c, "kafka.startup_timeout_ms=1000");
    for (const char *const *s = settings; s && *s; s++) set(c, *s);
    ck_assert_msg(ccfg_validate(&c->cfg, err, sizeof err) == 0, "%s", err);
    return c;
}

void mm_setup(mm_fixture *f, const char *const *settings)
{
    char err[512];
    mm_cluster(f);
    consumer *c = f->c = mm_consumer_new(f, settings);
    exporter_stats_init(&c->stats);
    ck_assert_msg(stage_init(c, err, sizeof err) == 0, "stage_init: %s", err);
    ck_assert_int_eq(track_table_init(&c->tracks, 64, (uint32_t)(c->cfg.max_unacked + c->cfg.batch_articles)), 0);
    static const client_callbacks cb = { deliver_on_report, NULL, NULL };
    c->producer = client_producer(c, &cb, err, sizeof err);
    ck_assert_msg(c->producer != NULL, "%s", err);
    for (int p = 0; p < MM_NPARTS; p++) ck_assert_ptr_nonnull(track_add(&c->tracks, "in", p));
    if (c->cfg.exactly_once) {
        ck_assert_int_eq(watchdog_start(&c->wd, &c->log, 30000, on_hang, f), 0);
        rd_kafka_error_t *e = rd_kafka_init_transactions(c->producer, 30000);
        ck_assert_msg(e == NULL, "init_transactions: %s", e ? rd_kafka_error_string(e) : "");
    }
    ck_assert_int_eq(stage_start(c), 0);
}

void mm_teardown(mm_fixture *f)
{
    consumer *c = f->c;
    ck_assert_msg(!atomic_load(&f->watchdog_fired), "a transactional call outlived its timeout (watchdog)");
    if (!c) {                       /* mm_cluster only */
        rd_kafka_destroy(f->host);
        return;
    }
    if (c->consumer) mm_close_input(f);
    watchdog_stop(&c->wd);
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

void mm_open_input(mm_fixture *f)
{
    consumer *c = f->c;
    c->consumer = plain(RD_KAFKA_CONSUMER, f->bootstraps, "mm-group");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(MM_NPARTS);
    for (int p = 0; p < MM_NPARTS; p++)
        rd_kafka_topic_partition_list_add(l, "in", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(c->consumer, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
}

void mm_close_input(mm_fixture *f)
{
    consumer *c = f->c;
    if (!c->cfg.exactly_once) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c->consumer, NULL, 0);
        ck_assert_msg(!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET, "commit: %s", rd_kafka_err2str(err));
    }
    rd_kafka_consumer_close(c->consumer);
    rd_kafka_destroy(c->consumer);
    c->consumer = NULL;
}

void mm_pump(mm_fixture *f, int n)
{
    consumer *c = f->c;
    int got = 0;
    int64_t end = clk_now_ms() + 30000;
    while (got < n && clk_now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->consumer, 100);
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
        if (c->cfg.exactly_once) txn_count(c);
        if (++w->n == (size_t)c->cfg.batch_articles) {
            while (stage_in_flight(c) >= c->cfg.max_in_flight) deliver_serve(c, 5);
            stage_submit(c);
        }
        got++;
    }
    ck_assert_int_eq(got, n);
}

void mm_drain(mm_fixture *f)
{
    consumer *c = f->c;
    stage_submit(c);
    ck_assert_int_eq(stage_wait_idle(c, clk_now_ms() + 30000), 0);
    ck_assert_int_eq(stage_in_flight(c), 0);
    ck_assert_int_eq(rd_kafka_flush(c->producer, 10000), 0);
    deliver_serve(c, 100);
}

void mm_committed(mm_fixture *f, int64_t out[MM_NPARTS])
{
    rd_kafka_t *rk = plain(RD_KAFKA_CONSUMER, f->bootstraps, "mm-group");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(MM_NPARTS);
    for (int p = 0; p < MM_NPARTS; p++) rd_kafka_topic_partition_list_add(l, "in", p);
    ck_assert_int_eq(rd_kafka_committed(rk, l, 10000), 0);
    for (int p = 0; p < MM_NPARTS; p++) out[p] = l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

int mm_requests(mm_fixture *f, int16_t api_key)
{
    size_t cnt = 0;
    int n = 0;
    rd_kafka_mock_request_t **r = rd_kafka_mock_get_requests(f->mc, &cnt);
    for (size_t i = 0; i < cnt; i++) n += rd_kafka_mock_request_api_key(r[i]) == api_key;
    rd_kafka_mock_request_destroy_array(r, cnt);
    return n;
}

void mm_requests_clear(mm_fixture *f) { rd_kafka_mock_clear_requests(f->mc); }

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
    ck_assert(*part >= 0 && *part < MM_NPARTS);
}

int mm_read_topic(mm_fixture *f, const char *topic, int nparts, mm_rec *recs, int max)
{
    char group[64];
    static int seq;
    snprintf(group, sizeof group, "mm-read-%d", ++seq);
    rd_kafka_t *rk = plain(RD_KAFKA_CONSUMER, f->bootstraps, group);
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
        if (recs) {
            ck_assert_int_lt(total, max);
            recs[total].part = m->partition;
            lineage(m, &recs[total].in_part, &recs[total].in_off);
        }
        total++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return total;
}
