/* test_backlog.c -- a share group's backlog as one member sees it
 * (consumer/backlog.c), against librdkafka's mock cluster: the end offsets
 * come from a real ListOffsets answer, the gauge is the end minus one past
 * the highest offset the member was given, never below 0, only for
 * partitions it was given records of, and it follows the partition's end
 * as more is produced. */
#define _DEFAULT_SOURCE  /* usleep */
#include "testlib.h"
#include "backlog.h"
#include "clock.h"
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static rd_kafka_t *rk;
static rd_kafka_mock_cluster_t *mc;
static logger lg;

static void setup(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err), RD_KAFKA_CONF_OK);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ck_assert_msg(rk != NULL, "%s", err);
    mc = rd_kafka_handle_mock_cluster(rk);
    ck_assert_int_eq(rd_kafka_mock_topic_create(mc, "in", 2, 1), 0);
    log_init(&lg, "test_backlog", "backlog", LOG_ERROR, LOG_TOOL);
}

static void teardown(void) { rd_kafka_destroy(rk); }

static void produce(int32_t partition, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("in"), RD_KAFKA_V_PARTITION(partition),
                                           RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_END), RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Ticks until the rendered text changes (an answer came), up to 10 s. */
static void render_after_answer(backlog *b, metrics_buf *out)
{
    metrics_buf before = { 0 };
    backlog_render(b, &before, "bl");
    for (int64_t end = clk_now_ms() + 10000; clk_now_ms() < end;) {
        backlog_tick(b, clk_now_ms());
        metrics_buf_free(out);
        memset(out, 0, sizeof *out);
        backlog_render(b, out, "bl");
        int same = (!before.out.data && !out->out.data) ||
                   (before.out.data && out->out.data && !strcmp(before.out.data, out->out.data));
        if (!same) break;
        usleep(10000);
    }
    metrics_buf_free(&before);
}

static const char *text(metrics_buf *m) { return m->out.data ? m->out.data : ""; }

START_TEST(the_gauge_is_the_end_past_the_highest_offset_given)
{
    produce(0, 10);
    produce(1, 4);
    backlog b;
    ck_assert_int_eq(backlog_init(&b, rk, "g", 100, &lg), 0);
    metrics_buf m = { 0 };
    backlog_render(&b, &m, "bl");
    ck_assert_str_eq(text(&m), "");             /* nothing given yet: nothing reported */
    /* Records 2 and 3 of partition 0, out of order; none of partition 1. */
    backlog_seen(&b, "in", 0, 3);
    backlog_seen(&b, "in", 0, 2);
    render_after_answer(&b, &m);
    ck_assert_msg(strstr(text(&m), "bl{group=\"g\",topic=\"in\",partition=\"0\"} 6\n") != NULL, "%s", text(&m));
    ck_assert_msg(strstr(text(&m), "partition=\"1\"") == NULL, "%s", text(&m));
    /* More produced: the next answer follows the end. */
    produce(0, 5);
    render_after_answer(&b, &m);
    ck_assert_msg(strstr(text(&m), "partition=\"0\"} 11\n") != NULL, "%s", text(&m));
    /* Given everything: 0, and partition 1 appears once given a record. */
    backlog_seen(&b, "in", 0, 14);
    backlog_seen(&b, "in", 1, 0);
    render_after_answer(&b, &m);
    ck_assert_msg(strstr(text(&m), "partition=\"0\"} 0\n") != NULL, "%s", text(&m));
    ck_assert_msg(strstr(text(&m), "partition=\"1\"} 3\n") != NULL, "%s", text(&m));
    metrics_buf_free(&m);
    backlog_free(&b);
}
END_TEST

START_TEST(many_partitions_grow_the_table)
{
    backlog b;
    ck_assert_int_eq(backlog_init(&b, rk, "g", 100, &lg), 0);
    char t[32];
    for (int i = 0; i < 100; i++) {
        snprintf(t, sizeof t, "topic-%d", i);
        backlog_seen(&b, t, i, i);
    }
    ck_assert_uint_eq(b.n, 100);
    for (int i = 0; i < 100; i++) {
        snprintf(t, sizeof t, "topic-%d", i);
        backlog_seen(&b, t, i, 1000 + i);
    }
    ck_assert_uint_eq(b.n, 100);
    ck_assert_int_eq(atomic_load(&b.parts[42].next), 1043);
    backlog_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backlog");
    TCase *tc = tcase_create("backlog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_gauge_is_the_end_past_the_highest_offset_given);
    tcase_add_test(tc, many_partitions_grow_the_table);
    suite_add_tcase(s, tc);
    return tl_run(s);
}
