/* test_metrics.c -- the Prometheus exposition writer: label escaping,
 * histogram buckets cumulative and ending with +Inf equal to _count,
 * counters never decreasing across scrapes, process metrics present. */
#include "testlib.h"
#include "metrics.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

START_TEST(label_values_are_escaped)
{
    metrics_buf b = { 0 };
    const char *labels[] = { "path", "C:\\dir \"x\"\nnext", "empty", "", NULL };
    metrics_family(&b, "t_total", "counter", "a help with \\ and\nnewline");
    metrics_sample(&b, "t_total", labels, 3);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.out.data, "# HELP t_total a help with \\\\ and\\nnewline\n# TYPE t_total counter\n"
                             "t_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\",empty=\"\"} 3\n");
    metrics_buf_free(&b);
}
END_TEST

static uint64_t sample_value(const char *text, const char *series)
{
    const char *p = strstr(text, series);
    ck_assert_msg(p != NULL, "missing %s", series);
    return strtoull(p + strlen(series) + 1, NULL, 10);
}

START_TEST(histogram_buckets_are_cumulative_and_end_at_count)
{
    static const double bounds[] = { 0.001, 0.01, 0.1, 1 };
    metrics_hist h;
    metrics_hist_init(&h, bounds, 4, 1e-9);
    uint64_t obs[] = { 500000, 1000000, 1000001, 50000000, 2000000000ULL, 7 };   /* ns */
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) metrics_hist_observe(&h, obs[i]);
    metrics_buf b = { 0 };
    const char *labels[] = { "stage", "engine", NULL };
    metrics_histogram(&b, "x_seconds", labels, &h);
    ck_assert(!b.failed);
    uint64_t c1 = sample_value(b.out.data, "x_seconds_bucket{stage=\"engine\",le=\"0.001\"}");
    uint64_t c2 = sample_value(b.out.data, "x_seconds_bucket{stage=\"engine\",le=\"0.01\"}");
    uint64_t c3 = sample_value(b.out.data, "x_seconds_bucket{stage=\"engine\",le=\"0.10000000000000001\"}");
    uint64_t c4 = sample_value(b.out.data, "x_seconds_bucket{stage=\"engine\",le=\"1\"}");
    uint64_t inf = sample_value(b.out.data, "x_seconds_bucket{stage=\"engine\",le=\"+Inf\"}");
    uint64_t count = sample_value(b.out.data, "x_seconds_count{stage=\"engine\"}");
    ck_assert_uint_eq(c1, 3);           /* 7 ns, 0.5 ms, exactly 1 ms (le is inclusive) */
    ck_assert_uint_eq(c2, 4);
    ck_assert_uint_eq(c3, 5);
    ck_assert_uint_eq(c4, 5);
    ck_assert_uint_eq(inf, 6);
    ck_assert_uint_eq(count, 6);
    const char *sum = strstr(b.out.data, "x_seconds_sum{stage=\"engine\"} ");
    ck_assert_ptr_nonnull(sum);
    ck_assert_double_eq_tol(strtod(sum + strlen("x_seconds_sum{stage=\"engine\"} "), NULL), 2.052500008, 1e-12);
    metrics_buf_free(&b);
}
END_TEST

/* Two threads observe while this one scrapes, as the engine thread and
 * libmicrohttpd's do: every scrape must be consistent (cumulative buckets,
 * +Inf equal to _count), counts never go down between scrapes, and no
 * observation is lost (a non-atomic update would lose some). */
#define OBSERVERS 2
#define OBSERVATIONS 200000

static void *observe(void *arg)
{
    metrics_hist *h = arg;
    for (int i = 0; i < OBSERVATIONS; i++) metrics_hist_observe(h, (uint64_t)(i % 20));
    return NULL;
}

START_TEST(counters_never_decrease_across_scrapes)
{
    static const double bounds[] = { 1, 10 };
    metrics_hist h;
    metrics_hist_init(&h, bounds, 2, 1);
    pthread_t t[OBSERVERS];
    for (int i = 0; i < OBSERVERS; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, observe, &h), 0);
    uint64_t last_count = 0, last_sum = 0, total = (uint64_t)OBSERVERS * OBSERVATIONS;
    int scrapes = 0;
    while (last_count < total) {
        metrics_buf b = { 0 };
        metrics_histogram(&b, "y", NULL, &h);
        ck_assert(!b.failed);
        uint64_t count = sample_value(b.out.data, "y_count"), sum = sample_value(b.out.data, "y_sum");
        uint64_t le1 = sample_value(b.out.data, "y_bucket{le=\"1\"}");
        uint64_t le10 = sample_value(b.out.data, "y_bucket{le=\"10\"}");
        uint64_t inf = sample_value(b.out.data, "y_bucket{le=\"+Inf\"}");
        ck_assert_uint_ge(count, last_count);
        ck_assert_uint_ge(sum, last_sum);
        ck_assert_uint_le(le1, le10);
        ck_assert_uint_le(le10, inf);
        ck_assert_uint_eq(inf, count);
        last_count = count;
        last_sum = sum;
        metrics_buf_free(&b);
        scrapes++;
    }
    for (int i = 0; i < OBSERVERS; i++) pthread_join(t[i], NULL);
    /* Each thread observed 0..19 repeatedly: 2 of every 20 are <= 1, 11 are <= 10. */
    ck_assert_uint_eq(last_count, total);
    uint64_t per_thread_sum = 0;
    for (int i = 0; i < OBSERVATIONS; i++) per_thread_sum += (uint64_t)(i % 20);
    ck_assert_uint_eq(last_sum, per_thread_sum * OBSERVERS);
    ck_assert_int_gt(scrapes, 0);
}
END_TEST

START_TEST(process_metrics_are_present)
{
    metrics_buf b = { 0 };
    metrics_process(&b, 1700000000.5);
    ck_assert(!b.failed);
    ck_assert_ptr_nonnull(strstr(b.out.data, "# TYPE process_cpu_seconds_total counter\n"));
    ck_assert_uint_gt(sample_value(b.out.data, "\nprocess_resident_memory_bytes"), 1 << 20);
    ck_assert_uint_ge(sample_value(b.out.data, "\nprocess_open_fds"), 3);
    ck_assert_ptr_nonnull(strstr(b.out.data, "process_start_time_seconds 1700000000.5\n"));
    metrics_buf_free(&b);
}
END_TEST

TL_MAIN("metrics",
        label_values_are_escaped,
        histogram_buckets_are_cumulative_and_end_at_count,
        counters_never_decrease_across_scrapes,
        process_metrics_are_present)
