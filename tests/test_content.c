/* test_content.c -- the content metrics (consumer/content.c): a batch's
 * records summed by dominant dhātu, weight, polarity and tokens, published
 * once, and rendered as Prometheus series with bounded labels; weights that
 * are not in [0, 1] count 0; two threads publishing lose nothing. */
#include "testlib.h"
#include "content.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static dhatu_record rec(int dominant, double w_comm, uint8_t pol_feel, uint64_t tokens)
{
    dhatu_record r;
    memset(&r, 0, sizeof r);
    r.dominant = (int8_t)dominant;
    r.weights[4] = w_comm;          /* COMM */
    r.weights[0] = 1 - w_comm;      /* RELATE */
    r.polarity[8] = pol_feel;       /* FEEL */
    r.tokens = tokens;
    return r;
}

/* The value of the series whose text (name and labels) is exactly series. */
static double value(const metrics_buf *b, const char *series)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\n%s ", series);
    const char *p = strstr(b->out.data, pat);
    ck_assert_msg(p != NULL, "no series %s in:\n%s", series, b->out.data);
    double v;
    ck_assert_int_eq(sscanf(p + strlen(pat), "%lf", &v), 1);
    return v;
}

START_TEST(a_batch_is_counted_by_what_its_records_say)
{
    static content_stats s;
    content_batch b = { 0 };
    dhatu_record r1 = rec(4, 0.75, 1, 100), r2 = rec(4, 0.5, 2, 50), r3 = rec(-1, 0, 0, 7);
    content_add(&b, &r1);
    content_add(&b, &r2);
    content_add(&b, &r3);
    content_publish(&s, &b);
    content_publish(&s, &b);        /* the same batch twice: everything doubles */
    metrics_buf m = { 0 };
    content_render(&m, &s, "seed-1");
    ck_assert(!m.failed);
    ck_assert_double_eq(value(&m, "dhatu_content_articles_total{model=\"seed-1\",dhatu=\"COMM\"}"), 4);
    ck_assert_double_eq(value(&m, "dhatu_content_articles_total{model=\"seed-1\",dhatu=\"none\"}"), 2);
    ck_assert_double_eq(value(&m, "dhatu_content_articles_total{model=\"seed-1\",dhatu=\"FEEL\"}"), 0);
    ck_assert_double_eq_tol(value(&m, "dhatu_content_weight_total{model=\"seed-1\",dhatu=\"COMM\"}"), 2.5, 1e-9);
    /* r3 has no evidence: weight 1 - 0 on RELATE by construction here. */
    ck_assert_double_eq_tol(value(&m, "dhatu_content_weight_total{model=\"seed-1\",dhatu=\"RELATE\"}"), 3.5, 1e-9);
    ck_assert_double_eq(
        value(&m, "dhatu_content_polarity_total{model=\"seed-1\",dhatu=\"FEEL\",polarity=\"positive\"}"), 2);
    ck_assert_double_eq(
        value(&m, "dhatu_content_polarity_total{model=\"seed-1\",dhatu=\"FEEL\",polarity=\"negative\"}"), 2);
    ck_assert_double_eq(
        value(&m, "dhatu_content_polarity_total{model=\"seed-1\",dhatu=\"FEEL\",polarity=\"none\"}"), 2);
    ck_assert_double_eq(
        value(&m, "dhatu_content_polarity_total{model=\"seed-1\",dhatu=\"COMM\",polarity=\"none\"}"), 6);
    ck_assert_double_eq(value(&m, "dhatu_content_tokens_total{model=\"seed-1\"}"), 314);
    /* Bounded: 10 + 9 + 27 + 1 series, whatever the records. */
    int series = 0;
    for (const char *p = m.out.data; (p = strstr(p, "\ndhatu_content_")); p++) series++;
    ck_assert_int_eq(series, 47);
    metrics_buf_free(&m);
}
END_TEST

START_TEST(weights_out_of_range_count_nothing)
{
    static content_stats s;
    content_batch b = { 0 };
    dhatu_record r = rec(4, 0.25, 0, 1);
    r.weights[1] = -0.5;
    r.weights[2] = 0.0 / 0.0;
    r.weights[3] = 2;
    r.polarity[5] = 200;            /* not a polarity: counted as none */
    content_add(&b, &r);
    content_publish(&s, &b);
    for (int i = 1; i <= 3; i++) ck_assert_uint_eq(atomic_load(&s.weight[i]), 0);
    ck_assert_uint_eq(atomic_load(&s.weight[4]), 250000);
    ck_assert_uint_eq(atomic_load(&s.polarity[5][0]), 1);
}
END_TEST

static content_stats shared;

static void *publisher(void *arg)
{
    (void)arg;
    content_batch b = { 0 };
    dhatu_record r = rec(2, 0.5, 1, 3);
    content_add(&b, &r);
    for (int i = 0; i < 100000; i++) content_publish(&shared, &b);
    return NULL;
}

START_TEST(two_publishers_lose_nothing)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, publisher, NULL), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    ck_assert_uint_eq(atomic_load(&shared.dominant[2]), 200000);
    ck_assert_uint_eq(atomic_load(&shared.tokens), 600000);
    ck_assert_uint_eq(atomic_load(&shared.weight[4]), 200000 * 500000ULL);
}
END_TEST

TL_MAIN("content", a_batch_is_counted_by_what_its_records_say, weights_out_of_range_count_nothing,
        two_publishers_lose_nothing)
