/* test_stage.c -- the engine stage and delivery (consumer/stage.c,
 * deliver.c) without a broker, on librdkafka's mock cluster
 * (mock_member.h): a consumer handle hands real messages to the stage as
 * the polling loop would, and the stage's engine and encoder threads
 * produce through the member's own producer.
 *
 * What must hold, whatever the batch size and the number in flight:
 *   - every article has exactly one record on the output topic, and every
 *     bad message exactly one dead letter, with its class;
 *   - a partition's records come out in its input order;
 *   - every output is acknowledged, so the offsets delivery stored, once
 *     committed, are each partition's end (nothing left, nothing early);
 *   - stage_wait_idle returns once nothing is in flight.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_member.h"
#include "testlib.h"

#define MAXREC 4096

static void check_run(const char *batch, const char *in_flight, int n, int bad_every)
{
    static mm_rec recs[MAXREC];
    char b[64], k[64];
    snprintf(b, sizeof b, "batch.max_articles=%s", batch);
    snprintf(k, sizeof k, "batch.max_in_flight=%s", in_flight);
    const char *settings[] = { b, k, NULL };
    mm_fixture f;
    mm_setup(&f, settings);
    int bad = mm_feed(&f, n, bad_every);
    mm_open_input(&f);
    mm_pump(&f, n);
    mm_drain(&f);
    mm_close_input(&f);
    int64_t committed[MM_NPARTS];
    mm_committed(&f, committed);
    for (int p = 0; p < MM_NPARTS; p++) {
        int64_t end = n / MM_NPARTS + (p < n % MM_NPARTS);
        ck_assert_msg(committed[p] == end, "partition %d: committed %" PRId64 ", expected %" PRId64, p, committed[p],
                      end);
    }
    int nrec = mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC);
    ck_assert_int_eq(nrec, n - bad);
    ck_assert_int_eq(mm_read_topic(&f, "dlq", 1, NULL, 0), bad);
    ck_assert_uint_eq(atomic_load(&f.c->stats.dead_by[SCHEMA_ERR_UNDECODABLE]), (unsigned)bad);
    /* The content metrics counted every record produced, once (content.h). */
    uint64_t said = 0;
    for (int i = 0; i <= DHATU_NDHATU; i++) said += atomic_load(&f.c->stats.content.dominant[i]);
    ck_assert_uint_eq(said, (uint64_t)(n - bad));
    ck_assert_uint_gt(atomic_load(&f.c->stats.content.tokens), 0);
    /* One record per good article: each good input offset exactly once. */
    static unsigned char seen[MM_NPARTS][MAXREC];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < nrec; i++) {
        ck_assert(recs[i].in_off >= 0 && recs[i].in_off < MAXREC);
        ck_assert_msg(!seen[recs[i].in_part][recs[i].in_off]++, "input %d@%lld has two records", recs[i].in_part,
                      recs[i].in_off);
        int article = (int)recs[i].in_off * MM_NPARTS + recs[i].in_part;
        ck_assert_msg(!mm_is_bad(article, bad_every), "a record for bad message %d", article);
    }
    mm_teardown(&f);
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

/* Input order: within each output partition (the key picks it), the
 * records of one input partition name increasing input offsets. */
START_TEST(test_input_order_kept)
{
    static mm_rec recs[MAXREC];
    const char *settings[] = { "batch.max_articles=8", "batch.max_in_flight=4", NULL };
    mm_fixture f;
    mm_setup(&f, settings);
    mm_feed(&f, 800, 0);
    mm_open_input(&f);
    mm_pump(&f, 800);
    mm_drain(&f);
    mm_close_input(&f);
    int64_t committed[MM_NPARTS];
    mm_committed(&f, committed);
    for (int p = 0; p < MM_NPARTS; p++) ck_assert_int_eq(committed[p], 400);
    int nrec = mm_read_topic(&f, "out", MM_NPARTS, recs, MAXREC);
    ck_assert_int_eq(nrec, 800);
    long long last[MM_NPARTS][MM_NPARTS];
    for (int a = 0; a < MM_NPARTS; a++)
        for (int b = 0; b < MM_NPARTS; b++) last[a][b] = -1;
    for (int i = 0; i < nrec; i++) {
        long long *l = &last[recs[i].part][recs[i].in_part];
        ck_assert_msg(recs[i].in_off > *l, "output partition %d: input %d offset %lld after %lld", recs[i].part,
                      recs[i].in_part, recs[i].in_off, *l);
        *l = recs[i].in_off;
    }
    mm_teardown(&f);
}
END_TEST

TL_MAIN("stage", test_one_per_article, test_dead_letters_beside_records, test_one_batch_in_flight,
        test_input_order_kept)
