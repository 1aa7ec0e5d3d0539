/* test_clock.c -- common/clock.h: the monotonic clock moves forward, and
 * clk_parse_time reads epoch milliseconds and RFC 3339 (values checked
 * against Python's datetime), refusing what is neither. */
#include "testlib.h"
#include "clock.h"

static int64_t parse(const char *s)
{
    int64_t ms = -42;
    ck_assert_msg(clk_parse_time(s, &ms) == 0, "%s refused", s);
    return ms;
}

START_TEST(parses_epoch_ms_and_rfc3339)
{
    ck_assert_int_eq(parse("1796515200000"), 1796515200000LL);
    ck_assert_int_eq(parse("0"), 0);
    ck_assert_int_eq(parse("2026-12-06T00:00:00Z"), 1796515200000LL);
    ck_assert_int_eq(parse("2026-12-06t00:00:00z"), 1796515200000LL);
    ck_assert_int_eq(parse("2026-12-06T10:00:00.250+01:00"), 1796547600250LL);
    ck_assert_int_eq(parse("2026-12-06T10:00:00.25+01:00"), 1796547600250LL);
    ck_assert_int_eq(parse("2000-02-29T23:59:59-05:30"), 951888599000LL);
    ck_assert_int_eq(parse("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(parse("2024-12-31T23:59:59.999999+00:00"), 1735689599999LL);
}
END_TEST

START_TEST(refuses_what_is_neither)
{
    static const char *const bad[] = {
        "", "yesterday", "2026-12-06", "2026-12-06T00:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-12-06T24:00:00Z", "2026-12-06T00:00:00+1:00", "2026-12-06T00:00:00.Z", "12e3", "-5",
        "2026-12-06T00:00:00Zjunk", "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 7;
        ck_assert_msg(clk_parse_time(bad[i], &ms) == -1, "\"%s\" accepted", bad[i]);
        ck_assert_int_eq(ms, 7);
    }
}
END_TEST

START_TEST(monotonic_moves_forward)
{
    int64_t a = clk_now_ns(), b = clk_now_ns();
    ck_assert_int_le(a, b);
    ck_assert_int_gt(clk_wall_ms(), 1700000000000LL);
}
END_TEST

TL_MAIN("clock", parses_epoch_ms_and_rfc3339, refuses_what_is_neither, monotonic_moves_forward)
