/* content.c -- see content.h. */
#include "content.h"
#include <math.h>

const char *const content_family_names[CONTENT_NFAMILIES] = {
    "dhatu_content_articles_total", "dhatu_content_weight_total", "dhatu_content_polarity_total",
    "dhatu_content_tokens_total" };
const char *const content_family_help[CONTENT_NFAMILIES] = {
    "Records produced, by dominant dhatu (dhatu=\"none\": no evidence).",
    "Sum of each dhatu's weight over the records produced; divided by the rate of "
    "dhatu_content_articles_total, the mean weight.",
    "Records produced, by each dhatu's polarity.",
    "Tokens of the articles whose records were produced." };

static const char *const polarity_names[3] = { "none", "positive", "negative" };

void content_add(content_batch *b, const dhatu_record *r)
{
    b->dominant[r->dominant >= 0 && r->dominant < DHATU_NDHATU ? r->dominant : CONTENT_NONE]++;
    for (int i = 0; i < DHATU_NDHATU; i++) {
        double w = r->weights[i];
        /* Weights are in [0, 1]; anything else (NaN included) counts 0. */
        b->weight[i] += w > 0 && w <= 1 ? (uint64_t)llround(w / CONTENT_WEIGHT_UNIT) : 0;
        b->polarity[i][r->polarity[i] < 3 ? r->polarity[i] : 0]++;
    }
    b->tokens += r->tokens;
}

void content_publish(content_stats *s, const content_batch *b)
{
    for (int i = 0; i <= DHATU_NDHATU; i++)
        if (b->dominant[i]) atomic_fetch_add_explicit(&s->dominant[i], b->dominant[i], memory_order_relaxed);
    for (int i = 0; i < DHATU_NDHATU; i++) {
        if (b->weight[i]) atomic_fetch_add_explicit(&s->weight[i], b->weight[i], memory_order_relaxed);
        for (int p = 0; p < 3; p++)
            if (b->polarity[i][p])
                atomic_fetch_add_explicit(&s->polarity[i][p], b->polarity[i][p], memory_order_relaxed);
    }
    if (b->tokens) atomic_fetch_add_explicit(&s->tokens, b->tokens, memory_order_relaxed);
}

void content_render(metrics_buf *b, const content_stats *s, const char *model)
{
    const char *const *n = content_family_names, *const *h = content_family_help;
    metrics_family(b, n[0], "counter", h[0]);
    for (int i = 0; i <= DHATU_NDHATU; i++) {
        const char *l[] = { "model", model, "dhatu", i < DHATU_NDHATU ? dhatu_name(i) : "none", NULL };
        metrics_sample(b, n[0], l, (double)atomic_load(&s->dominant[i]));
    }
    metrics_family(b, n[1], "counter", h[1]);
    for (int i = 0; i < DHATU_NDHATU; i++) {
        const char *l[] = { "model", model, "dhatu", dhatu_name(i), NULL };
        metrics_sample(b, n[1], l, (double)atomic_load(&s->weight[i]) * CONTENT_WEIGHT_UNIT);
    }
    metrics_family(b, n[2], "counter", h[2]);
    for (int i = 0; i < DHATU_NDHATU; i++)
        for (int p = 0; p < 3; p++) {
            const char *l[] = { "model", model, "dhatu", dhatu_name(i), "polarity", polarity_names[p], NULL };
            metrics_sample(b, n[2], l, (double)atomic_load(&s->polarity[i][p]));
        }
    metrics_family(b, n[3], "counter", h[3]);
    const char *l[] = { "model", model, NULL };
    metrics_sample(b, n[3], l, (double)atomic_load(&s->tokens));
}
