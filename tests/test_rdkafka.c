/* test_rdkafka.c -- the librdkafka we build carries two patches, each
 * proven here. scripts/patches/librdkafka-unstable-offsets.patch: a
 * partition whose committed offset an open transaction blocks, met while the
 * assignment changes, starts from the committed offset, not from
 * auto.offset.reset (the last test). scripts/patches/librdkafka-coord-req-timeout.patch: a transactional
 * producer whose group coordinator is down gets its
 * send_offsets_to_transaction() back within its timeout, as an abortable
 * error, instead of blocking for ever (librdkafka#5456); and a coordinator
 * that moves while the old one is down is found again without waiting for
 * a broker state change (#5511). Both run against librdkafka's own mock
 * cluster (three brokers in this process, no network beyond loopback).
 *
 * Each call runs on a thread the test waits for with a deadline, so an
 * unpatched library fails the test ("did not return") rather than hanging
 * the suite. With a system librdkafka (used as it is, unpatched) the suite
 * is skipped: it tests our build, not theirs. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"

#define TXN_ID "dhatu-txn"
#define GROUP "dhatu-group"
#define TOPIC "records"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* A transactional producer on a three-broker mock cluster: the transaction
 * coordinator is broker 1, the group coordinator broker 2; one transaction
 * is open with one record produced and delivered. */
static rd_kafka_t *txn_producer(rd_kafka_mock_cluster_t **mcluster)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {
        { "test.mock.num.brokers", "3" },
        { "transactional.id", TXN_ID },
        { "log_level", "3" },       /* the down broker's reconnects are expected */
        { "socket.timeout.ms", "3000" },
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        ck_assert_msg(rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof errstr) ==
                          RD_KAFKA_CONF_OK, "%s: %s", props[i][0], errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", errstr);
    *mcluster = rd_kafka_handle_mock_cluster(rk);
    ck_assert_ptr_nonnull(*mcluster);
    ck_assert_int_eq(rd_kafka_mock_topic_create(*mcluster, TOPIC, 1, 3), 0);
    ck_assert_int_eq(rd_kafka_mock_topic_create(*mcluster, "input", 1, 3), 0);
    rd_kafka_mock_coordinator_set(*mcluster, "transaction", TXN_ID, 1);
    rd_kafka_mock_coordinator_set(*mcluster, "group", GROUP, 2);

    rd_kafka_error_t *err = rd_kafka_init_transactions(rk, 10000);
    ck_assert_msg(err == NULL, "init_transactions: %s", err ? rd_kafka_error_string(err) : "");
    err = rd_kafka_begin_transaction(rk);
    ck_assert_msg(err == NULL, "begin_transaction: %s", err ? rd_kafka_error_string(err) : "");
    ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE("v", 1),
                                       RD_KAFKA_V_END), RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    return rk;
}

/* send_offsets_to_transaction on a thread, so that a call that never
 * returns is a failed assertion, not a hung suite. */
typedef struct call {
    rd_kafka_t *rk;
    int timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rd_kafka_error_t *error;
    int64_t took_ms;
} call;

static void *send_offsets(void *arg)
{
    call *c = arg;
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, "input", 0)->offset = 42;
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata_new(GROUP);
    int64_t t0 = clk_now_ms();
    rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(c->rk, offsets, md, c->timeout_ms);
    int64_t took = clk_now_ms() - t0;
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(offsets);
    pthread_mutex_lock(&c->mu);
    c->error = error;
    c->took_ms = took;
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void call_start(call *c, pthread_t *th, rd_kafka_t *rk, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->rk = rk;
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    ck_assert_int_eq(pthread_create(th, NULL, send_offsets, c), 0);
}

/* Waits until wait_ms for the call; fails the test (leaving the thread
 * blocked: the test's process ends with it) when it has not returned. */
static void call_wait(call *c, pthread_t th, int wait_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    pthread_mutex_lock(&c->mu);
    while (!c->done)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) != 0) break;
    int done = c->done;
    pthread_mutex_unlock(&c->mu);
    ck_assert_msg(done, "send_offsets_to_transaction(timeout %d ms) did not return in %d ms "
                  "(librdkafka#5456: is scripts/patches/librdkafka-coord-req-timeout.patch applied?)",
                  c->timeout_ms, wait_ms);
    pthread_join(th, NULL);
}

START_TEST(coordinator_down_returns_abortable_within_timeout)
{
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *rk = txn_producer(&mc);
    ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 2), 0);
    call c;
    pthread_t th;
    call_start(&c, &th, rk, 3000);
    call_wait(&c, th, 20000);
    ck_assert_msg(c.error != NULL, "send_offsets_to_transaction succeeded with its coordinator down");
    ck_assert_msg(rd_kafka_error_txn_requires_abort(c.error),
                  "not abortable: %s", rd_kafka_error_string(c.error));
    ck_assert_msg(!rd_kafka_error_is_fatal(c.error), "fatal: %s", rd_kafka_error_string(c.error));
    /* Its timeout plus the once-a-second tick, with room for a slow CI. */
    ck_assert_msg(c.took_ms < 3000 + 5000, "returned after %lld ms", (long long)c.took_ms);
    rd_kafka_error_destroy(c.error);
    /* The member goes on: the transaction aborts on its own coordinator. */
    rd_kafka_error_t *err = rd_kafka_abort_transaction(rk, 10000);
    ck_assert_msg(err == NULL, "abort_transaction: %s", err ? rd_kafka_error_string(err) : "");
    rd_kafka_destroy(rk);
}
END_TEST

/* Requests of api_key the mock brokers received since tracking started,
 * all of them (broker -1) or broker's only. */
static size_t requests(rd_kafka_mock_cluster_t *mc, int16_t api_key, int32_t broker)
{
    size_t cnt = 0, n = 0;
    rd_kafka_mock_request_t **r = rd_kafka_mock_get_requests(mc, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_mock_request_api_key(r[i]) == api_key && (broker < 0 || rd_kafka_mock_request_id(r[i]) == broker))
            n++;
    rd_kafka_mock_request_destroy_array(r, cnt);
    return n;
}

#define API_FIND_COORDINATOR 10
#define API_TXN_OFFSET_COMMIT 28

START_TEST(coordinator_moved_while_down_is_found_again)
{
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *rk = txn_producer(&mc);
    ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 2), 0);
    rd_kafka_mock_start_request_tracking(mc);
    call c;
    pthread_t th;
    call_start(&c, &th, rk, 15000);
    /* The call has looked its group coordinator up (broker 2, down) and
     * waits for it: a FindCoordinator reached a broker. A condition, not a
     * guess at how long that takes on a loaded machine. */
    int64_t t0 = clk_now_ms();
    while (requests(mc, API_FIND_COORDINATOR, -1) == 0 && clk_now_ms() - t0 < 10000) sleep_ms(20);
    ck_assert_msg(requests(mc, API_FIND_COORDINATOR, -1) > 0, "no FindCoordinator within 10 s of the call");
    int64_t moved_after = clk_now_ms() - t0;
    rd_kafka_mock_coordinator_set(mc, "group", GROUP, 3);
    call_wait(&c, th, 30000);
    ck_assert_msg(c.error == NULL, "send_offsets_to_transaction: %s after %lld ms",
                  rd_kafka_error_string(c.error), (long long)c.took_ms);
    /* ... and it committed the offsets on the coordinator it moved to. */
    ck_assert_msg(requests(mc, API_TXN_OFFSET_COMMIT, 3) > 0, "no TxnOffsetCommit reached broker 3, the new coordinator");
    ck_assert_msg(requests(mc, API_TXN_OFFSET_COMMIT, 2) == 0, "a TxnOffsetCommit reached broker 2, which is down");
    ck_assert_msg(c.took_ms < moved_after + 6000, "the new coordinator was found %lld ms after it moved",
                  (long long)(c.took_ms - moved_after));
    rd_kafka_error_t *err = rd_kafka_commit_transaction(rk, 10000);
    ck_assert_msg(err == NULL, "commit_transaction: %s", err ? rd_kafka_error_string(err) : "");
    rd_kafka_destroy(rk);
}
END_TEST

/* A consumer whose committed offsets are blocked by an open transaction
 * (OffsetFetch answers UNSTABLE_OFFSET_COMMIT: a member died inside a
 * transaction that included offsets, and the coordinator has not aborted
 * it yet) while its assignment changes must still start from the committed
 * offset once the transaction ends, never from auto.offset.reset: that
 * rewinds the partition to its beginning, and in exactly-once every record
 * since is committed a second time. Unpatched, librdkafka put the partition
 * back on its pending list with the INVALID offset the broker sent beside
 * the error (rdkafka_assignment.c), which starts the fetcher at
 * auto.offset.reset; scripts/patches/librdkafka-unstable-offsets.patch
 * re-queries it instead, as it already did for STALE_MEMBER_EPOCH. Found
 * by the fault harness (tests/faults): duplicates in exactly-once after a
 * member was killed. */
#define UNSTABLE_GROUP "dhatu-unstable"
#define UNSTABLE_TOPIC "articles"
#define API_OFFSET_FETCH 9

START_TEST(unstable_offsets_keep_the_committed_position)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {
        { "test.mock.num.brokers", "3" },
        { "group.id", UNSTABLE_GROUP },
        { "auto.offset.reset", "earliest" },
        { "enable.auto.commit", "false" },
        { "isolation.level", "read_committed" },
        { "log_level", "2" }, /* the injected error is reported, as expected */
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        ck_assert_msg(rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof errstr) ==
                          RD_KAFKA_CONF_OK, "%s: %s", props[i][0], errstr);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    ck_assert_msg(c != NULL, "rd_kafka_new: %s", errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(c);
    ck_assert_int_eq(rd_kafka_mock_topic_create(mc, UNSTABLE_TOPIC, 2, 1), 0);
    rd_kafka_mock_coordinator_set(mc, "group", UNSTABLE_GROUP, 1);

    /* Ten messages in each partition, from a producer on the same cluster. */
    rd_kafka_conf_t *pconf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(pconf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), errstr,
                                       sizeof errstr), RD_KAFKA_CONF_OK);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof errstr);
    ck_assert_msg(p != NULL, "producer: %s", errstr);
    for (int part = 0; part < 2; part++)
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(UNSTABLE_TOPIC), RD_KAFKA_V_PARTITION(part),
                                               RD_KAFKA_V_VALUE("a", 1), RD_KAFKA_V_END), 0);
    ck_assert_int_eq(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);

    /* The group committed offset 5 of both partitions. */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(l, UNSTABLE_TOPIC, 0)->offset = 5;
    rd_kafka_topic_partition_list_add(l, UNSTABLE_TOPIC, 1)->offset = 5;
    ck_assert_int_eq(rd_kafka_commit(c, l, 0), 0);
    rd_kafka_topic_partition_list_destroy(l);

    /* The next OffsetFetch answers UNSTABLE_OFFSET_COMMIT, a second late
     * (the coordinator's round trip), and the assignment grows while it is
     * in flight. */
    rd_kafka_mock_push_request_errors(mc, API_OFFSET_FETCH, 1, RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT);
    ck_assert_int_eq(rd_kafka_mock_broker_set_rtt(mc, 1, 1000), 0);
    rd_kafka_mock_start_request_tracking(mc);
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, UNSTABLE_TOPIC, 0);
    rd_kafka_error_t *e = rd_kafka_incremental_assign(c, l);
    ck_assert_msg(e == NULL, "incremental_assign: %s", e ? rd_kafka_error_string(e) : "");
    rd_kafka_topic_partition_list_destroy(l);
    int64_t t0 = clk_now_ms();
    while (requests(mc, API_OFFSET_FETCH, -1) == 0 && clk_now_ms() - t0 < 10000) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 20);
        if (m) rd_kafka_message_destroy(m);
    }
    ck_assert_msg(requests(mc, API_OFFSET_FETCH, -1) > 0, "no OffsetFetch within 10 s of the assignment");
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, UNSTABLE_TOPIC, 1);
    e = rd_kafka_incremental_assign(c, l);
    ck_assert_msg(e == NULL, "incremental_assign: %s", e ? rd_kafka_error_string(e) : "");
    rd_kafka_topic_partition_list_destroy(l);

    /* The first message of each partition is the committed one. */
    int64_t first[2] = { -1, -1 };
    t0 = clk_now_ms();
    while ((first[0] < 0 || first[1] < 0) && clk_now_ms() - t0 < 20000) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        if (!m->err && m->partition >= 0 && m->partition < 2 && first[m->partition] < 0)
            first[m->partition] = m->offset;
        rd_kafka_message_destroy(m);
    }
    ck_assert_msg(first[0] == 5, "partition 0 started at offset %lld, not at the committed 5%s", (long long)first[0],
                  first[0] == 0 ? " (auto.offset.reset: the partition rewound to its beginning)" : "");
    ck_assert_msg(first[1] == 5, "partition 1 started at offset %lld, not at the committed 5", (long long)first[1]);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}
END_TEST

int main(void)
{
    if (!getenv("DHATU_RDKAFKA_PATCHED")) {
        printf("test_rdkafka: a system librdkafka (%s), not the patched local build: skipped\n",
               rd_kafka_version_str());
        return 77;
    }
    Suite *s = suite_create("rdkafka");
    TCase *tc = tcase_create("coordinator");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, coordinator_down_returns_abortable_within_timeout);
    tcase_add_test(tc, coordinator_moved_while_down_is_found_again);
    tcase_add_test(tc, unstable_offsets_keep_the_committed_position);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
