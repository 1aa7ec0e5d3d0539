/* test_txn.c -- exactly-once transactions (consumer/txn.c) without a
 * broker, on librdkafka's mock cluster (mock_member.h): the member's
 * transactional producer, the stage producing records inside the open
 * transaction, and txn.c's commit, abort and rewind.
 *
 * librdkafka 2.15.1's mock cluster speaks the transactional protocol but
 * keeps no offsets committed through a transaction (TxnOffsetCommit is
 * answered, not stored) and filters no aborted batch from an ordinary
 * fetch; so this suite proves what txn.c asks of the cluster (the requests,
 * counted by the mock) and what it does to the member (the rewind, the
 * counters), and the real-broker scenarios (chaos-eos, join-leave-eos,
 * poison-eos, outage, cluster-down) prove what a read_committed reader sees:
 *   - txn_commit produces the records and sends the input offsets in the
 *     transaction, then ends it with a commit: one record per article;
 *   - an idle member commits no empty transaction;
 *   - txn_abort_and_rewind ends the transaction with an abort, sends no
 *     offsets, and rewinds the input to where the transaction began: the
 *     same articles are consumed again (the input holds no others) and go
 *     out in the next transaction;
 *   - a transactional producer that librdkafka declares failed (the
 *     coordinator answers a commit with INVALID_TXN_STATE, as a real one did
 *     after the member was stopped for 14 s in the fault harness) is
 *     replaced by txn_recover: the member goes on, its input rewound, and the
 *     next commit carries it; a fourth failure in a row without a commit in
 *     between stops the member; a fence with a static group.instance.id
 *     (another instance took over) stops it at once.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_member.h"
#include "testlib.h"

#define MAXREC 4096
/* Kafka protocol api keys */
#define API_ADD_PARTITIONS_TO_TXN 24
#define API_ADD_OFFSETS_TO_TXN 25
#define API_END_TXN 26
#define API_TXN_OFFSET_COMMIT 28

/* An exactly-once member with n articles waiting, its transaction begun
 * and the requests counted from here on. */
static consumer *start_with(mm_fixture *f, int n, const char *const *settings)
{
    mm_setup(f, settings);
    mm_feed(f, n, 0);
    mm_open_input(f);
    mm_requests_clear(f);
    ck_assert_int_eq(txn_begin(f->c), 0);
    return f->c;
}

static consumer *start(mm_fixture *f, int n)
{
    static const char *const eos[] = { "delivery.mode=exactly-once", "batch.max_articles=16",
                                       "batch.max_in_flight=3", NULL };
    return start_with(f, n, eos);
}


/* Each input offset below per_part of every partition has exactly times
 * records among recs[0..n), and there are no others. */
static void each_times(const mm_rec *recs, int n, int per_part, int times)
{
    static unsigned char seen[MM_NPARTS][MAXREC];
    memset(seen, 0, sizeof seen);
    ck_assert_int_eq(n, per_part * MM_NPARTS * times);
    for (int i = 0; i < n; i++) {
        ck_assert(recs[i].in_off >= 0 && recs[i].in_off < per_part);
        seen[recs[i].in_part][recs[i].in_off]++;
    }
    for (int p = 0; p < MM_NPARTS; p++)
        for (int o = 0; o < per_part; o++)
            ck_assert_msg(seen[p][o] == times, "input %d@%d: %d records", p, o, seen[p][o]);
}

START_TEST(test_commit_sends_records_and_offsets)
{
    static mm_rec recs[MAXREC];
    mm_fixture f;
    consumer *c = start(&f, 400);
    mm_pump(&f, 400);
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_int_eq(atomic_load(&c->fatal), 0);
    ck_assert_uint_eq(c->stats.txn_commits, 1);
    ck_assert_int_ge(mm_requests(&f, API_ADD_PARTITIONS_TO_TXN), 1);
    ck_assert_int_eq(mm_requests(&f, API_ADD_OFFSETS_TO_TXN), 1);
    ck_assert_int_ge(mm_requests(&f, API_TXN_OFFSET_COMMIT), 1);
    ck_assert_int_eq(mm_requests(&f, API_END_TXN), 1);
    each_times(recs, mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC), 200, 1);
    /* Idle: nothing consumed since, so no (empty) transaction is ended. */
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_uint_eq(c->stats.txn_commits, 1);
    ck_assert_int_eq(mm_requests(&f, API_END_TXN), 1);
    mm_teardown(&f);
}
END_TEST

START_TEST(test_abort_sends_no_offsets_and_rewinds)
{
    static mm_rec recs[MAXREC];
    mm_fixture f;
    consumer *c = start(&f, 300);
    mm_pump(&f, 300);
    mm_drain(&f);               /* the records are produced, inside the transaction */
    txn_abort_and_rewind(c);
    ck_assert_int_eq(atomic_load(&c->fatal), 0);
    ck_assert_uint_eq(c->stats.txn_aborts, 1);
    ck_assert_int_eq(mm_requests(&f, API_END_TXN), 1);
    ck_assert_int_eq(mm_requests(&f, API_TXN_OFFSET_COMMIT), 0);
    /* Rewound: the input holds only these 300, so they can be consumed
     * again only from where the transaction began; a new transaction (begun
     * by the abort) carries them. */
    mm_pump(&f, 300);
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_int_eq(atomic_load(&c->fatal), 0);
    ck_assert_uint_eq(c->stats.txn_commits, 1);
    ck_assert_int_eq(mm_requests(&f, API_END_TXN), 2);
    ck_assert_int_ge(mm_requests(&f, API_TXN_OFFSET_COMMIT), 1);
    /* The mock shows aborted records too: 300 of the aborted transaction,
     * 300 of the committed one, each input offset twice. */
    each_times(recs, mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC), 150, 2);
    mm_teardown(&f);
}
END_TEST

START_TEST(test_failed_producer_is_replaced)
{
    static mm_rec recs[MAXREC];
    mm_fixture f;
    consumer *c = start(&f, 300);
    mm_pump(&f, 300);
    /* librdkafka makes INVALID_TXN_STATE on EndTxn fatal for the producer. */
    rd_kafka_mock_push_request_errors(f.mc, API_END_TXN, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_int_eq(atomic_load(&c->fatal), 0);
    ck_assert_uint_eq(atomic_load(&c->stats.producer_resets), 1);
    ck_assert_uint_eq(c->stats.txn_commits, 0);
    /* A new handle (the old one's address may be reused: its state tells). */
    ck_assert_ptr_nonnull(c->producer);
    ck_assert_int_eq(atomic_load(&c->kev.fatal), 0);
    ck_assert_int_eq(rd_kafka_fatal_error(c->producer, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* Rewound (the mock keeps no transactional offsets, so to where the
     * transaction began): the same 300 come again, and the new producer's
     * next transaction commits them. */
    mm_pump(&f, 300);
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_int_eq(atomic_load(&c->fatal), 0);
    ck_assert_uint_eq(c->stats.txn_commits, 1);
    ck_assert_int_eq(c->tx.resets_in_row, 0);
    /* The mock shows the failed transaction's records too: each input
     * offset twice, none lost. */
    each_times(recs, mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC), 150, 2);
    mm_teardown(&f);
}
END_TEST

START_TEST(test_failing_again_and_again_stops)
{
    mm_fixture f;
    consumer *c = start(&f, 40);
    for (int i = 1; i <= TXN_MAX_RESETS_IN_ROW + 1; i++) {
        mm_pump(&f, 40);
        rd_kafka_mock_push_request_errors(f.mc, API_END_TXN, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
        txn_commit(c, clk_now_ms() + 30000);
        if (i <= TXN_MAX_RESETS_IN_ROW) {
            ck_assert_int_eq(atomic_load(&c->fatal), 0);
            ck_assert_uint_eq(atomic_load(&c->stats.producer_resets), (unsigned)i);
        }
    }
    ck_assert_int_eq(atomic_load(&c->fatal), EXIT_FATAL);
    ck_assert_uint_eq(atomic_load(&c->stats.producer_resets), TXN_MAX_RESETS_IN_ROW);
    mm_teardown(&f);
}
END_TEST

START_TEST(test_fenced_static_member_stops)
{
    static const char *const eos[] = { "delivery.mode=exactly-once", "batch.max_articles=16",
                                       "batch.max_in_flight=3", "kafka.group_instance_id=member-a", NULL };
    mm_fixture f;
    consumer *c = start_with(&f, 40, eos);
    mm_pump(&f, 40);
    rd_kafka_mock_push_request_errors(f.mc, API_END_TXN, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
    txn_commit(c, clk_now_ms() + 30000);
    ck_assert_int_eq(atomic_load(&c->fatal), EXIT_FATAL);
    ck_assert_uint_eq(atomic_load(&c->stats.producer_resets), 0);
    mm_teardown(&f);
}
END_TEST

TL_MAIN("txn", test_commit_sends_records_and_offsets, test_abort_sends_no_offsets_and_rewinds,
        test_failed_producer_is_replaced, test_failing_again_and_again_stops, test_fenced_static_member_stops)
