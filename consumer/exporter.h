/* exporter.h -- /metrics, /health, /ready and the statistics callback
 * (exporter.c). Rendering runs on libmicrohttpd's thread from atomics and a
 * text copied under stats_mu. */
#ifndef EXPORTER_H
#define EXPORTER_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include "metrics.h"

typedef struct consumer consumer;
typedef struct consumer_stats consumer_stats;

/* The histograms' buckets, the lock of the statistics text, the start
 * times. Can't fail. exporter_stats_free undoes it. */
void exporter_stats_init(consumer_stats *s);
void exporter_stats_free(consumer_stats *s);
int exporter_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
int exporter_on_http(const char *path, metrics_buf *b, const char **ctype, void *arg);
/* The metric families /metrics publishes: name, type, help (docs check). */
void exporter_print_families(FILE *f);

#endif
