/* clock.h -- the two clocks every program reads: monotonic for durations,
 * deadlines and rates (never jumps with NTP or an operator's `date`), wall
 * for timestamps people and brokers see.
 *
 * Inline and stateless: safe from any thread, can't fail (CLOCK_MONOTONIC
 * and CLOCK_REALTIME always exist on Linux). clk_parse_time (clock.c)
 * reads a time as people and brokers write it. Condition variables that wait
 * with a deadline from clk_now_* must be set to CLOCK_MONOTONIC
 * (pthread_condattr_setclock), as watchdog.c and orphans.c do.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic nanoseconds since an arbitrary origin. */
static inline int64_t clk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic milliseconds. */
static inline int64_t clk_now_ms(void) { return clk_now_ns() / 1000000; }

/* Monotonic seconds, for benchmarks and progress lines. */
static inline double clk_now_s(void) { return (double)clk_now_ns() * 1e-9; }

/* Wall-clock milliseconds since the Unix epoch (Kafka timestamps). */
static inline int64_t clk_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A time given as epoch milliseconds ("1764979200000") or RFC 3339
 * ("2026-12-06T00:00:00Z", "2026-12-06T01:00:00.250+01:00"; the offset is
 * required) into epoch milliseconds. 0, or -1 when s is neither (or names a
 * day that does not exist); *ms is left alone then. */
int clk_parse_time(const char *s, int64_t *ms);

#endif
