/* test_watchdog.c -- a call armed with a timeout fires the watchdog once it
 * outlives timeout + grace, with the call's name; a call that returns in
 * time (disarmed) never does; stop joins the thread promptly. */
#include "testlib.h"
#include "watchdog.h"
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "clock.h"

typedef struct fired {
    atomic_int count;
    char call[64];
} fired;

static void on_fire(void *arg, const char *call)
{
    fired *f = arg;
    strncpy(f->call, call, sizeof f->call - 1);
    atomic_fetch_add(&f->count, 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static logger quiet;

START_TEST(a_call_past_timeout_and_grace_fires_once)
{
    log_init(&quiet, "test_watchdog", "watchdog", LOG_ERROR, LOG_TOOL);
    watchdog w;
    fired f = { 0 };
    ck_assert_int_eq(watchdog_start(&w, &quiet, 100, on_fire, &f), 0);
    int64_t t0 = clk_now_ms();
    watchdog_arm(&w, "send_offsets_to_transaction", 50);
    while (!atomic_load(&f.count) && clk_now_ms() - t0 < 5000) sleep_ms(5);
    int64_t took = clk_now_ms() - t0;
    ck_assert_int_eq(atomic_load(&f.count), 1);
    ck_assert_str_eq(f.call, "send_offsets_to_transaction");
    ck_assert_int_ge(took, 150);            /* not before timeout + grace */
    ck_assert_int_lt(took, 1500);           /* woken at the deadline, not on the next second */
    sleep_ms(300);
    ck_assert_int_eq(atomic_load(&f.count), 1);  /* fired calls are disarmed */
    watchdog_stop(&w);
}
END_TEST

START_TEST(calls_that_return_in_time_never_fire)
{
    log_init(&quiet, "test_watchdog", "watchdog", LOG_ERROR, LOG_TOOL);
    watchdog w;
    fired f = { 0 };
    ck_assert_int_eq(watchdog_start(&w, &quiet, 50, on_fire, &f), 0);
    for (int i = 0; i < 20; i++) {
        watchdog_arm(&w, "commit_transaction", 40);
        sleep_ms(20);
        watchdog_disarm(&w);
    }
    sleep_ms(200);
    ck_assert_int_eq(atomic_load(&f.count), 0);
    int64_t t0 = clk_now_ms();
    watchdog_stop(&w);
    ck_assert_int_lt(clk_now_ms() - t0, 500);
    watchdog_stop(&w);                      /* twice: a no-op */
}
END_TEST

START_TEST(an_unstarted_watchdog_ignores_arm_and_stop)
{
    watchdog w = { 0 };                     /* at-least-once members never start one */
    watchdog_arm(&w, "x", 1);
    watchdog_disarm(&w);
    watchdog_stop(&w);
    ck_assert_int_eq(w.started, 0);
}
END_TEST

TL_MAIN("watchdog",
        a_call_past_timeout_and_grace_fires_once,
        calls_that_return_in_time_never_fire,
        an_unstarted_watchdog_ignores_arm_and_stop)
