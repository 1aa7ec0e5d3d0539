/* test_loop.c -- a whole member (member.c, loop.c and everything below)
 * without a broker: member_start and loop_run against librdkafka's mock
 * cluster, which speaks the classic group protocol. The member joins the
 * group, is assigned both input partitions, vectorizes every article,
 * dead-letters the bad ones, commits, notices it is drained and leaves with
 * status 0 (--exit-idle), or stops at --exit-after.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_member.h"
#include "testlib.h"

#define MAXREC 4096

/* A member as main.c makes one, from settings, on f's cluster. */
static consumer *member(mm_fixture *f, const char *const *settings)
{
    consumer *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    log_init(&c->log, "test_loop", "consumer:loop", LOG_ERROR, LOG_TOOL);
    log_derive(&c->engine_log, &c->log, "engine");
    log_derive(&c->kev.log, &c->log, "kafka");
    static const volatile sig_atomic_t never;
    c->stop = &never;
    ccfg_defaults(&c->cfg);
    char err[512], kv[320];
    snprintf(kv, sizeof kv, "kafka.brokers=%s", f->bootstraps);
    const char *base[] = { kv, "kafka.group_id=loop-g", "topics.input=in", "topics.output=out",
                           "topics.dead_letter=dlq", "engine.backend=cpu", "engine.threads=1", "engine.model=seed",
                           "delivery.output_format=json", "http.port=-1", "kafka.orphan_check_ms=0", NULL };
    for (const char *const *s = base; *s; s++)
        ck_assert_msg(ccfg_set(&c->cfg, *s, err, sizeof err) == 0, "%s: %s", *s, err);
    for (const char *const *s = settings; *s; s++)
        ck_assert_msg(ccfg_set(&c->cfg, *s, err, sizeof err) == 0, "%s: %s", *s, err);
    ck_assert_msg(ccfg_validate(&c->cfg, err, sizeof err) == 0, "%s", err);
    return c;
}

static void check_drained(const char *mode)
{
    static mm_rec recs[MAXREC];
    mm_fixture f;
    mm_setup(&f, NULL);             /* the cluster and topics (its own member is not used) */
    int n = 600, bad = mm_feed(&f, n, 13);
    const char *settings[] = { mode, "lifecycle.exit_idle_ms=1500", "batch.max_articles=32", NULL };
    consumer *c = member(&f, settings);
    ck_assert_int_eq(member_start(c), 0);
    int status = loop_run(c);
    member_cleanup(c);
    free(c);
    ck_assert_int_eq(status, EXIT_CLEAN);
    /* The group's committed offsets (loop-g, not the fixture's mm-group). */
    int64_t committed[MM_NPARTS];
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", f.bootstraps, err, sizeof err), RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "loop-g", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(MM_NPARTS);
    for (int p = 0; p < MM_NPARTS; p++) rd_kafka_topic_partition_list_add(l, "in", p);
    ck_assert_int_eq(rd_kafka_committed(rk, l, 10000), 0);
    for (int p = 0; p < MM_NPARTS; p++) committed[p] = l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    ck_assert_int_eq(mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC), n - bad);
    ck_assert_int_eq(mm_read_topic(&f, "dlq", 1, NULL, 0), bad);
    if (strstr(mode, "at-least-once"))     /* the mock keeps no transactional offsets (test_txn.c) */
        for (int p = 0; p < MM_NPARTS; p++) ck_assert_int_eq(committed[p], n / MM_NPARTS);
    mm_teardown(&f);
}

START_TEST(member_drains_and_leaves_at_least_once)
{
    check_drained("delivery.mode=at-least-once");
}
END_TEST

START_TEST(member_drains_and_leaves_exactly_once)
{
    check_drained("delivery.mode=exactly-once");
}
END_TEST

TL_MAIN("loop", member_drains_and_leaves_at_least_once, member_drains_and_leaves_exactly_once)
