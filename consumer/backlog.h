/* backlog.h -- a share group's backlog as one member sees it (backlog.c).
 *
 * A share group has no consumer lag: members hold no offsets of their own,
 * and librdkafka 2.15.1 has no admin call for a share group's start offsets
 * (Kafka's DescribeShareGroupOffsets). So each member reports, per input
 * partition it has been given records of, the partition's end offset
 * (ListOffsets, latest, asked every interval_ms on the producer's handle,
 * never blocking the polling thread) minus one past the highest offset it
 * was given. The member that got furthest in a partition sees its backlog
 * best, so the group's backlog is
 *     sum(min by (topic, partition) (dhatu_share_backlog_records))
 * over the group's members (docs/SHARE.md, the KEDA trigger in
 * deploy/k8s/components/keda-share). It counts records no member has been
 * given yet; records released or whose lock expired come back below that
 * line and are not counted (they are at most a batch per member).
 *
 * Ownership: the backlog owns its table and its answer queue. Threads:
 * backlog_seen and backlog_tick are the polling thread's; backlog_render
 * is the exporter's. The table grows under mu (a new partition, rare); the
 * offsets in it are atomics, so a record costs no lock.
 * Errors: a failed or unanswered request is logged once per kind and asked
 * again at the next interval; the gauges keep their last values.
 */
#ifndef BACKLOG_H
#define BACKLOG_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "log.h"
#include "metrics.h"

typedef struct backlog_part {
    char *topic;
    int32_t partition;
    _Atomic int64_t next;           /* one past the highest offset given to this member */
    _Atomic int64_t end;            /* the partition's end at the last answer; -1: none yet */
} backlog_part;

typedef struct backlog {
    backlog_part *parts;
    size_t n, cap, last;            /* last: the entry of the previous backlog_seen */
    rd_kafka_t *rk;                 /* borrowed: the handle ListOffsets goes through */
    rd_kafka_queue_t *q;            /* answers */
    int64_t interval_ms, asked_ms;
    int asking, warned;
    const char *group;              /* borrowed, for the metric's labels */
    logger *log;                    /* borrowed */
    pthread_mutex_t mu;             /* parts, n, cap (the array, not the offsets) */
} backlog;

/* 0, or -1 (no memory). rk and group must outlive the backlog. */
int backlog_init(backlog *b, rd_kafka_t *rk, const char *group, int64_t interval_ms, logger *log);
void backlog_free(backlog *b);
/* A record of (topic, partition) at offset was given to this member. */
void backlog_seen(backlog *b, const char *topic, int32_t partition, int64_t offset);
/* Collects an answer (without waiting) and asks again when interval_ms has
 * passed since the last question. */
void backlog_tick(backlog *b, int64_t now_ms);
/* Appends a sample of name per partition with an answer: labels group,
 * topic, partition; the value end - next, at least 0. */
void backlog_render(backlog *b, metrics_buf *out, const char *name);

#endif
