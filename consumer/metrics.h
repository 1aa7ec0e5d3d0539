/* metrics.h -- Prometheus metrics: lock-free instruments for the hot path
 * and a text-exposition writer for scrapes.
 *
 * Instruments are plain structs of atomics: counters and gauges are updated
 * with one atomic add or store, histograms with two (bucket, sum) and the
 * count derived on scrape, so nothing on the pipeline's path takes a lock or
 * allocates. The writer formats families into a growable buffer (format
 * version 0.0.4): HELP and TYPE once per family, label values escaped
 * (backslash, double quote, newline), histogram buckets cumulative, ending
 * with le="+Inf" equal to _count.
 *
 * Ownership: a metrics_buf belongs to the scrape that fills it; free with
 * metrics_buf_free. Errors: the writer sets buf->failed on memory
 * exhaustion and keeps going as a no-op; the caller checks it once.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "dbuf.h"

#define METRICS_MAX_BUCKETS 16

typedef struct metrics_hist {
    const double *bounds;                 /* upper bounds, ascending; +Inf implied */
    int nbounds;                          /* <= METRICS_MAX_BUCKETS */
    double unit;                          /* sum_units * unit = sum in the metric's unit */
    atomic_uint_fast64_t buckets[METRICS_MAX_BUCKETS + 1];   /* non-cumulative; last is +Inf */
    atomic_uint_fast64_t sum_units;
} metrics_hist;

void metrics_hist_init(metrics_hist *h, const double *bounds, int nbounds, double unit);
/* Observes a value given in units (e.g. nanoseconds with unit 1e-9). */
void metrics_hist_observe(metrics_hist *h, uint64_t units);

/* The text of one scrape (buf.h: always NUL-terminated once written). */
typedef struct metrics_buf { dbuf out; int failed; } metrics_buf;
void metrics_buf_free(metrics_buf *b);

/* Appends raw text (pre-rendered series, or a probe's plain-text body). */
void metrics_text(metrics_buf *b, const char *s, size_t len);

/* One family header: "# HELP name help\n# TYPE name type\n". */
void metrics_family(metrics_buf *b, const char *name, const char *type, const char *help);
/* One sample. labels: NULL-terminated key, value, key, value... (or NULL). */
void metrics_sample(metrics_buf *b, const char *name, const char *const *labels, double value);
/* Every series of a histogram (buckets, _sum, _count) with these labels. */
void metrics_histogram(metrics_buf *b, const char *name, const char *const *labels, const metrics_hist *h);

/* Appends a label value escaped for the exposition format (exposed for tests). */
void metrics_escape(metrics_buf *b, const char *s);

/* Standard process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_open_fds, process_start_time_seconds), Linux /proc. */
void metrics_process(metrics_buf *b, double start_time_seconds);

#endif
