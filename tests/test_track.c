/* test_track.c -- the at-least-once watermark: offsets are stored only up to
 * the contiguous acknowledged prefix, whatever order acknowledgements come
 * in; stale tokens (after a revoke or rewind) change nothing. */
#include "testlib.h"
#include "track.h"
#include <stdlib.h>

START_TEST(out_of_order_acks_advance_only_the_contiguous_prefix)
{
    track_table t;
    ck_assert_int_eq(track_table_init(&t, 4, 8), 0);
    track_part *p = track_add(&t, "in", 3);
    ck_assert_ptr_nonnull(p);
    uint64_t tok[5];
    int64_t offs[5] = { 10, 11, 13, 14, 20 };   /* gaps: compaction, txn markers */
    for (int i = 0; i < 5; i++) ck_assert_uint_ne(tok[i] = track_push(&t, p, offs[i]), 0);
    ck_assert_int_eq(track_advance(p), 0);
    ck_assert_int_eq(track_next_store(p), -1);
    ck_assert_ptr_eq(track_done(&t, tok[2]), p);
    ck_assert_ptr_eq(track_done(&t, tok[1]), p);
    ck_assert_int_eq(track_advance(p), 0);          /* 10 still pending */
    ck_assert_ptr_eq(track_done(&t, tok[0]), p);
    ck_assert_int_eq(track_advance(p), 1);
    ck_assert_int_eq(track_next_store(p), 14);            /* 10, 11, 13 done */
    ck_assert_uint_eq(track_count(p), 2);
    ck_assert_ptr_eq(track_done(&t, tok[4]), p);
    ck_assert_int_eq(track_advance(p), 0);
    ck_assert_int_eq(track_next_store(p), 14);
    ck_assert_ptr_eq(track_done(&t, tok[3]), p);
    ck_assert_int_eq(track_advance(p), 1);
    ck_assert_int_eq(track_next_store(p), 21);
    ck_assert_ptr_null(track_done(&t, tok[3]));     /* already popped */
    track_table_free(&t);
}
END_TEST

START_TEST(ring_wraps_and_reports_full)
{
    track_table t;
    ck_assert_int_eq(track_table_init(&t, 2, 4), 0);
    track_part *p = track_add(&t, "in", 0);
    int64_t next = 0;
    for (int round = 0; round < 50; round++) {
        uint64_t tok[4];
        for (int i = 0; i < 4; i++) tok[i] = track_push(&t, p, next++);
        ck_assert(track_full(p));
        ck_assert_uint_eq(track_push(&t, p, next), 0);   /* full: refused, not overwritten */
        for (int i = 3; i >= 0; i--) track_done(&t, tok[i]);
        ck_assert_int_eq(track_advance(p), 1);
        ck_assert_int_eq(track_next_store(p), next);
    }
    track_table_free(&t);
}
END_TEST

START_TEST(stale_tokens_after_remove_or_clear_are_ignored)
{
    track_table t;
    ck_assert_int_eq(track_table_init(&t, 2, 8), 0);
    track_part *p = track_add(&t, "in", 1);
    uint64_t old = track_push(&t, p, 5);
    track_remove(&t, p);
    ck_assert_ptr_null(track_find(&t, "in", 1));
    ck_assert_ptr_null(track_done(&t, old));
    /* Reassigned later: the slot is reused with a new generation. */
    track_part *q = track_add(&t, "in", 1);
    ck_assert_ptr_eq(q, p);
    uint64_t fresh = track_push(&t, q, 5);
    ck_assert_uint_ne(fresh, old);
    ck_assert_ptr_null(track_done(&t, old));
    ck_assert_int_eq(track_advance(q), 0);
    track_clear(q);                                 /* a rewind */
    ck_assert_ptr_null(track_done(&t, fresh));
    ck_assert_uint_eq(track_count(q), 0);
    ck_assert_ptr_null(track_done(&t, 0));
    ck_assert_ptr_null(track_done(&t, (uint64_t)7 << 48));  /* no such slot */
    track_table_free(&t);
}
END_TEST

START_TEST(partitions_are_independent_and_table_bounded)
{
    track_table t;
    ck_assert_int_eq(track_table_init(&t, 2, 8), 0);
    track_part *a = track_add(&t, "x", 0), *b = track_add(&t, "y", 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(track_add(&t, "z", 0));     /* table full */
    ck_assert_ptr_eq(track_add(&t, "x", 0), a);    /* idempotent */
    uint64_t ta = track_push(&t, a, 100), tb = track_push(&t, b, 7);
    ck_assert_ptr_eq(track_done(&t, tb), b);
    ck_assert_int_eq(track_advance(a), 0);
    ck_assert_int_eq(track_advance(b), 1);
    ck_assert_int_eq(track_next_store(b), 8);
    ck_assert_ptr_eq(track_done(&t, ta), a);
    ck_assert_int_eq(track_advance(a), 1);
    ck_assert_int_eq(track_next_store(a), 101);
    track_table_free(&t);
}
END_TEST

START_TEST(txn_base_is_the_first_offset_since_the_last_commit)
{
    track_table t;
    ck_assert_int_eq(track_table_init(&t, 2, 8), 0);
    track_part *p = track_add(&t, "in", 0);
    ck_assert_int_eq(track_txn_base(p), -1);        /* nothing consumed yet */
    track_push(&t, p, 40);
    track_push(&t, p, 41);
    ck_assert_int_eq(track_txn_base(p), 40);
    track_txn_committed(p);
    ck_assert_int_eq(track_txn_base(p), -1);
    track_push(&t, p, 44);                          /* a gap: a transaction marker */
    track_push(&t, p, 45);
    ck_assert_int_eq(track_txn_base(p), 44);        /* where an abort rewinds to */
    track_clear(p);                                 /* the rewind */
    ck_assert_int_eq(track_txn_base(p), -1);
    track_push(&t, p, 44);                          /* consumed again */
    ck_assert_int_eq(track_txn_base(p), 44);
    track_remove(&t, p);
    p = track_add(&t, "in", 0);                     /* assigned again: a new start */
    ck_assert_int_eq(track_txn_base(p), -1);
    track_table_free(&t);
}
END_TEST

TL_MAIN("track",
        out_of_order_acks_advance_only_the_contiguous_prefix,
        ring_wraps_and_reports_full,
        stale_tokens_after_remove_or_clear_are_ignored,
        partitions_are_independent_and_table_bounded,
        txn_base_is_the_first_offset_since_the_last_commit)
