/* test_idbuf.c -- the batch's id buffer (common/idbuf.c). */
#include "testlib.h"
#include "idbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(idbuf_keeps_ids_in_order_nul_terminated_and_bounded)
{
    idbuf ib;
    ck_assert_int_eq(idbuf_init(&ib, 3), 0);
    ck_assert_int_eq(idbuf_push(&ib, "a", 1), 0);
    ck_assert_int_eq(idbuf_push(&ib, "b\0c", 3), 0);          /* NUL inside an id */
    ck_assert_int_eq(idbuf_push(&ib, "", 0), 0);
    ck_assert_int_eq(idbuf_push(&ib, "d", 1), -1);            /* max_ids reached */
    ck_assert_uint_eq(idbuf_count(&ib), 3);
    size_t len;
    const char *id = idbuf_get(&ib, 1, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(id, "b\0c", 4));                         /* and its own NUL */
    ck_assert_str_eq(idbuf_get(&ib, 0, &len), "a");
    ck_assert_str_eq(idbuf_get(&ib, 2, &len), "");
    idbuf_reset(&ib);
    ck_assert_uint_eq(idbuf_count(&ib), 0);
    char big[5000];
    memset(big, 'z', sizeof big);
    ck_assert_int_eq(idbuf_push(&ib, big, sizeof big), 0);    /* grows past the first guess */
    ck_assert(!memcmp(idbuf_get(&ib, 0, &len), big, sizeof big) && len == sizeof big);
    idbuf_free(&ib);
}
END_TEST

TL_MAIN("idbuf",
        idbuf_keeps_ids_in_order_nul_terminated_and_bounded)
