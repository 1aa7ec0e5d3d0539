/* test_trace.c -- W3C trace context (consumer/trace.c): which traceparent
 * headers are carried, tracestate with them, generated ones. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "trace.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int valid(const char *s) { return trace_parent_valid(s, strlen(s)); }

START_TEST(parent_validity)
{
    ck_assert(valid(GOOD));
    ck_assert(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    /* a later version may append fields */
    ck_assert(valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"));
    ck_assert(!valid(GOOD "-x"));                                                   /* version 00: exactly 55 */
    ck_assert(!valid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));   /* version ff */
    ck_assert(!valid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));   /* zero trace id */
    ck_assert(!valid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));   /* zero parent id */
    ck_assert(!valid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));   /* upper case */
    ck_assert(!valid("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));    /* short */
    ck_assert(!valid("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    ck_assert(!valid(""));
}
END_TEST

/* A message with these headers, as librdkafka hands one to the member:
 * produced to and consumed from librdkafka's mock cluster. Free with
 * message_free. */
static rd_kafka_t *host, *reader;
static rd_kafka_message_t *message(const char *parent, const char *state)
{
    char err[256];
    if (!host) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), RD_KAFKA_CONF_OK);
        host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        ck_assert_ptr_nonnull(host);
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(rd_kafka_handle_mock_cluster(host));
    static int seq;
    char topic[32];
    snprintf(topic, sizeof topic, "t%d", ++seq);
    ck_assert_int_eq(rd_kafka_mock_topic_create(rd_kafka_handle_mock_cluster(host), topic, 1, 1), 0);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    if (parent) rd_kafka_header_add(h, TRACE_PARENT, -1, parent, -1);
    if (state) rd_kafka_header_add(h, TRACE_STATE, -1, state, -1);
    ck_assert_int_eq(rd_kafka_producev(host, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE("v", 1), RD_KAFKA_V_HEADERS(h),
                                       RD_KAFKA_V_END), 0);
    ck_assert_int_eq(rd_kafka_flush(host, 10000), 0);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err), RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "trace", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(c, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_t *m = NULL;
    for (int i = 0; i < 100 && !m; i++) {
        m = rd_kafka_consumer_poll(c, 100);
        if (m && m->err) {
            rd_kafka_message_destroy(m);
            m = NULL;
        }
    }
    ck_assert_ptr_nonnull(m);
    /* The consumer outlives its message: closed by message_free. */
    reader = c;
    return m;
}

static void message_free(rd_kafka_message_t *m)
{
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    reader = NULL;
}

START_TEST(copy_carries_parent_and_state)
{
    trace_ctx t;
    rd_kafka_message_t *m = message(GOOD, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    trace_copy(&t, m, 0);
    ck_assert_str_eq(t.parent, GOOD);
    ck_assert_str_eq(t.state, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    rd_kafka_headers_t *h = NULL;
    trace_add(&h, &t);
    const void *v;
    size_t n;
    ck_assert_int_eq(rd_kafka_header_get_last(h, TRACE_PARENT, &v, &n), 0);
    ck_assert_uint_eq(n, 55);
    ck_assert(!memcmp(v, GOOD, 55));
    ck_assert_int_eq(rd_kafka_header_get_last(h, TRACE_STATE, &v, &n), 0);
    rd_kafka_headers_destroy(h);
    message_free(m);
}
END_TEST

START_TEST(invalid_parent_is_dropped_or_restarted)
{
    trace_ctx t;
    rd_kafka_message_t *m = message("00-zz", "congo=x");
    trace_copy(&t, m, 0);
    ck_assert_str_eq(t.parent, "");
    ck_assert_str_eq(t.state, "");      /* not without its parent */
    rd_kafka_headers_t *h = NULL;
    trace_add(&h, &t);
    ck_assert_ptr_null(h);
    trace_copy(&t, m, 1);               /* generate: a new trace */
    ck_assert(valid(t.parent));
    ck_assert_str_eq(t.state, "");
    message_free(m);
}
END_TEST

START_TEST(generated_parents_are_valid_and_distinct)
{
    trace_ctx a, b;
    rd_kafka_message_t *m = message(NULL, NULL);
    trace_copy(&a, m, 0);
    ck_assert_str_eq(a.parent, "");
    trace_copy(&a, m, 1);
    trace_copy(&b, m, 1);
    ck_assert(valid(a.parent) && valid(b.parent));
    ck_assert(!strncmp(a.parent, "00-", 3) && !strcmp(a.parent + 52, "-01"));
    ck_assert_str_ne(a.parent, b.parent);
    message_free(m);
}
END_TEST

START_TEST(long_state_cut_at_a_member)
{
    char state[1200];
    size_t k = 0;
    for (int i = 0; k < 1100; i++) k += (size_t)sprintf(state + k, "%svendor%d=value%d", i ? "," : "", i, i);
    trace_ctx t;
    rd_kafka_message_t *m = message(GOOD, state);
    trace_copy(&t, m, 0);
    size_t n = strlen(t.state);
    ck_assert_uint_lt(n, sizeof t.state);
    ck_assert_uint_gt(n, 400);
    ck_assert(!strncmp(t.state, state, n));
    ck_assert(state[n] == ',');         /* whole members only */
    message_free(m);
}
END_TEST

TL_MAIN("trace", parent_validity, copy_carries_parent_and_state, invalid_parent_is_dropped_or_restarted,
        generated_parents_are_valid_and_distinct, long_state_cut_at_a_member)
