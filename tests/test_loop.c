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

static void check_drained(const char *mode)
{
    static mm_rec recs[MAXREC];
    mm_fixture f;
    mm_cluster(&f);
    int n = 600, bad = mm_feed(&f, n, 13);
    /* As main.c makes one: the cpu backend, no HTTP listener, no orphan watch. */
    const char *settings[] = { mode, "lifecycle.exit_idle_ms=1500", "batch.max_articles=32", "engine.backend=cpu",
                               "engine.threads=1", "http.port=-1", "kafka.orphan_check_ms=0", NULL };
    consumer *c = mm_consumer_new(&f, settings);
    ck_assert_int_eq(member_start(c), 0);
    int status = loop_run(c);
    member_cleanup(c);
    free(c);
    ck_assert_int_eq(status, EXIT_CLEAN);
    int64_t committed[MM_NPARTS];
    mm_committed(&f, committed);
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
