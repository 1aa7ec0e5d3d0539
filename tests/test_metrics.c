/* test_metrics.c -- the Prometheus exposition writer: label escaping,
 * histogram buckets cumulative and ending with +Inf equal to _count,
 * counters never decreasing across scrapes, process metrics present. */
#include "testlib.h"
#include "metrics.h"
#include <stdlib.h>
#include <string.h>

START_TEST(label_values_are_escaped)
{
    metrics_buf b = { 0 };
    const char *labels[] = { "path", "C:\\dir \"x\"\nnext", "empty", "", NULL };
    metrics_family(&b, "t_total", "counter", "a help with \\ and\nnewline");
    metrics_sample(&b, "t_total", labels, 3);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.data, "# HELP t_total a help with \\\\ and\\nnewline\n# TYPE t_total counter\n"
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
    uint64_t c1 = sample_value(b.data, "x_seconds_bucket{stage=\"engine\",le=\"0.001\"}");
    uint64_t c2 = sample_value(b.data, "x_seconds_bucket{stage=\"engine\",le=\"0.01\"}");
    uint64_t c3 = sample_value(b.data, "x_seconds_bucket{stage=\"engine\",le=\"0.10000000000000001\"}");
    uint64_t c4 = sample_value(b.data, "x_seconds_bucket{stage=\"engine\",le=\"1\"}");
    uint64_t inf = sample_value(b.data, "x_seconds_bucket{stage=\"engine\",le=\"+Inf\"}");
    uint64_t count = sample_value(b.data, "x_seconds_count{stage=\"engine\"}");
    ck_assert_uint_eq(c1, 3);           /* 7 ns, 0.5 ms, exactly 1 ms (le is inclusive) */
    ck_assert_uint_eq(c2, 4);
    ck_assert_uint_eq(c3, 5);
    ck_assert_uint_eq(c4, 5);
    ck_assert_uint_eq(inf, 6);
    ck_assert_uint_eq(count, 6);
    const char *sum = strstr(b.data, "x_seconds_sum{stage=\"engine\"} ");
    ck_assert_ptr_nonnull(sum);
    ck_assert_double_eq_tol(strtod(sum + strlen("x_seconds_sum{stage=\"engine\"} "), NULL), 2.052500008, 1e-12);
    metrics_buf_free(&b);
}
END_TEST

START_TEST(counters_never_decrease_across_scrapes)
{
    static const double bounds[] = { 1, 10 };
    metrics_hist h;
    metrics_hist_init(&h, bounds, 2, 1);
    uint64_t last_count = 0, last_sum = 0;
    for (int scrape = 0; scrape < 50; scrape++) {
        for (int i = 0; i < scrape; i++) metrics_hist_observe(&h, (uint64_t)(i % 20));
        metrics_buf b = { 0 };
        metrics_histogram(&b, "y", NULL, &h);
        uint64_t count = sample_value(b.data, "y_count"), sum = sample_value(b.data, "y_sum");
        uint64_t le1 = sample_value(b.data, "y_bucket{le=\"1\"}"), le10 = sample_value(b.data, "y_bucket{le=\"10\"}");
        ck_assert_uint_ge(count, last_count);
        ck_assert_uint_ge(sum, last_sum);
        ck_assert_uint_le(le1, le10);
        ck_assert_uint_le(le10, count);
        last_count = count;
        last_sum = sum;
        metrics_buf_free(&b);
    }
    ck_assert_uint_eq(last_count, 49 * 50 / 2);
}
END_TEST

START_TEST(process_metrics_are_present)
{
    metrics_buf b = { 0 };
    metrics_process(&b, 1700000000.5);
    ck_assert(!b.failed);
    ck_assert_ptr_nonnull(strstr(b.data, "# TYPE process_cpu_seconds_total counter\n"));
    ck_assert_uint_gt(sample_value(b.data, "\nprocess_resident_memory_bytes"), 1 << 20);
    ck_assert_uint_ge(sample_value(b.data, "\nprocess_open_fds"), 3);
    ck_assert_ptr_nonnull(strstr(b.data, "process_start_time_seconds 1700000000.5\n"));
    metrics_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, histogram_buckets_are_cumulative_and_end_at_count);
    tcase_add_test(tc, counters_never_decrease_across_scrapes);
    tcase_add_test(tc, process_metrics_are_present);
    suite_add_tcase(s, tc);
    return tl_run(s);
}
