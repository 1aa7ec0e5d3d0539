/* test_dbuf.c -- the growable buffer (common/dbuf.c): always room for a terminator, every JSON
 * record length terminated. */
#include "testlib.h"
#include "dbuf.h"
#include "schema_json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(dbuf_always_has_room_for_a_terminator)
{
    dbuf b = { 0 };
    char chunk[300];
    memset(chunk, 'x', sizeof chunk);
    for (size_t n = 0; n < 5000; n += 7) {
        ck_assert_int_eq(dbuf_set(&b, chunk, n % sizeof chunk), 0);
        ck_assert_uint_lt(b.len, b.cap);
        ck_assert_int_eq(b.data[b.len], '\0');
        b.data[b.len] = '\n';               /* the caller's right, by contract */
        ck_assert_int_eq(dbuf_append(&b, chunk, n % 13), 0);
        ck_assert_uint_lt(b.len, b.cap);
    }
    /* Exactly at each power of two, where "reserve len" used to give cap == len. */
    for (size_t size = 64; size <= 8192; size *= 2) {
        dbuf e = { 0 };
        ck_assert_int_eq(dbuf_reserve(&e, size), 0);
        ck_assert_uint_gt(e.cap, size);
        char *big = malloc(size);
        memset(big, 'y', size);
        ck_assert_int_eq(dbuf_set(&e, big, size), 0);
        e.data[e.len] = '\n';
        free(big);
        dbuf_free(&e);
    }
    ck_assert_int_eq(dbuf_printf(&b, "%s-%d", "n", 42), 0);
    ck_assert(b.len >= 4 && !memcmp(b.data + b.len - 4, "n-42", 4));
    dbuf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    dbuf_free(&b);
    ck_assert_ptr_null(b.data);
    dbuf_free(&b);                          /* a zeroed one is fine */
}
END_TEST

/* The bug this contract fixes: dhatu-vectorize writes a newline after each
 * JSON record; a record of exactly 1,024 bytes (the old buffer's first
 * capacity) overflowed the heap. Every record length from ~400 to ~2,500
 * bytes, 1,024 and 2,048 included, is written and terminated here; ASan
 * (the sanitizer build) sees any byte past the allocation. */
START_TEST(a_json_record_of_every_length_has_room_for_its_newline)
{
    dhatu_record r;
    memset(&r, 0, sizeof r);
    r.dominant = -1;
    for (int d = 0; d < DHATU_NDHATU; d++) r.weights[d] = 1.0 / 9.0;
    char *id = malloc(2200);
    memset(id, 'i', 2200);
    int hit1024 = 0, hit2048 = 0;
    for (size_t id_len = 1; id_len < 2200; id_len++) {
        dbuf out = { 0 };           /* fresh: the capacities of a first record */
        char err[128];
        char c = id[id_len];
        id[id_len] = '\0';
        ck_assert_int_eq(schema_json_write_record(id, id_len, "seed-1", &r, NULL, &out, err, sizeof err), SCHEMA_OK);
        id[id_len] = c;
        hit1024 |= out.len == 1024;
        hit2048 |= out.len == 2048;
        out.data[out.len] = '\n';
        ck_assert_uint_lt(out.len, out.cap);
        dbuf_free(&out);
    }
    ck_assert_msg(hit1024 && hit2048, "the lengths 1024 and 2048 were not exercised");
    free(id);
}
END_TEST

TL_MAIN("dbuf",
        dbuf_always_has_room_for_a_terminator,
        a_json_record_of_every_length_has_room_for_its_newline)
