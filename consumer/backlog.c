/* backlog.c -- a share group's backlog as one member sees it (see backlog.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backlog.h"

int backlog_init(backlog *b, rd_kafka_t *rk, const char *group, int64_t interval_ms, logger *log)
{
    memset(b, 0, sizeof *b);
    b->rk = rk;
    b->group = group;
    b->interval_ms = interval_ms;
    b->log = log;
    pthread_mutex_init(&b->mu, NULL);
    if (!(b->q = rd_kafka_queue_new(rk))) return -1;
    return 0;
}

void backlog_free(backlog *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->parts[i].topic);
    free(b->parts);
    if (b->q) rd_kafka_queue_destroy(b->q);
    pthread_mutex_destroy(&b->mu);
    memset(b, 0, sizeof *b);
}

static backlog_part *find(backlog *b, const char *topic, int32_t partition)
{
    /* Records come in runs of one partition: the last entry first. */
    if (b->last < b->n && b->parts[b->last].partition == partition && !strcmp(b->parts[b->last].topic, topic))
        return &b->parts[b->last];
    for (size_t i = 0; i < b->n; i++)
        if (b->parts[i].partition == partition && !strcmp(b->parts[i].topic, topic)) {
            b->last = i;
            return &b->parts[i];
        }
    return NULL;
}

void backlog_seen(backlog *b, const char *topic, int32_t partition, int64_t offset)
{
    backlog_part *p = find(b, topic, partition);
    if (!p) {   /* a partition not seen before: the table grows, under the lock the exporter takes */
        char *t = strdup(topic);
        pthread_mutex_lock(&b->mu);
        if (t && b->n == b->cap) {
            size_t cap = b->cap ? 2 * b->cap : 16;
            backlog_part *np = realloc(b->parts, cap * sizeof *np);
            if (np) b->parts = np, b->cap = cap;
        }
        if (t && b->n < b->cap) {
            p = &b->parts[b->n];
            p->topic = t;
            p->partition = partition;
            atomic_store(&p->next, 0);
            atomic_store(&p->end, -1);
            b->last = b->n++;
            t = NULL;
        }
        pthread_mutex_unlock(&b->mu);
        free(t);
        if (!p) {       /* no memory: this partition goes unreported, said once */
            if (!(b->warned & 4)) log_warn(b->log, "share backlog: no memory for partition %s [%" PRId32 "]", topic,
                                           partition);
            b->warned |= 4;
            return;
        }
    }
    if (offset + 1 > atomic_load(&p->next)) atomic_store(&p->next, offset + 1);
}

static void collect(backlog *b, rd_kafka_event_t *ev)
{
    b->asking = 0;
    if (rd_kafka_event_error(ev)) {
        if (!(b->warned & 1))
            log_warn(b->log, "share backlog: ListOffsets failed (%s); asked again every %" PRId64 " ms, said once",
                     rd_kafka_event_error_string(ev), b->interval_ms);
        b->warned |= 1;
        return;
    }
    size_t cnt = 0;
    const rd_kafka_ListOffsetsResultInfo_t **infos =
        rd_kafka_ListOffsets_result_infos(rd_kafka_event_ListOffsets_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        const rd_kafka_topic_partition_t *tp = rd_kafka_ListOffsetsResultInfo_topic_partition(infos[i]);
        backlog_part *p = find(b, tp->topic, tp->partition);
        if (!p) continue;
        if (tp->err) {
            if (!(b->warned & 2))
                log_warn(b->log, "share backlog: end of %s [%" PRId32 "]: %s (said once)", tp->topic, tp->partition,
                         rd_kafka_err2str(tp->err));
            b->warned |= 2;
        } else if (tp->offset >= 0) {
            atomic_store(&p->end, tp->offset);
        }
    }
}

void backlog_tick(backlog *b, int64_t now_ms)
{
    rd_kafka_event_t *ev;
    while ((ev = rd_kafka_queue_poll(b->q, 0))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_LISTOFFSETS_RESULT) collect(b, ev);
        rd_kafka_event_destroy(ev);
    }
    if (!b->n || now_ms - b->asked_ms < b->interval_ms) return;
    /* Unanswered for two intervals (the request's own timeout): ask anew. */
    if (b->asking && now_ms - b->asked_ms < 2 * b->interval_ms) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)b->n);
    for (size_t i = 0; i < b->n; i++)
        rd_kafka_topic_partition_list_add(l, b->parts[i].topic, b->parts[i].partition)->offset = RD_KAFKA_OFFSET_SPEC_LATEST;
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(b->rk, RD_KAFKA_ADMIN_OP_LISTOFFSETS);
    char es[256];
    if (o) rd_kafka_AdminOptions_set_request_timeout(o, (int)(2 * b->interval_ms), es, sizeof es);
    rd_kafka_ListOffsets(b->rk, l, o, b->q);
    if (o) rd_kafka_AdminOptions_destroy(o);
    rd_kafka_topic_partition_list_destroy(l);
    b->asking = 1;
    b->asked_ms = now_ms;
}

void backlog_render(backlog *b, metrics_buf *out, const char *name)
{
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->n; i++) {
        int64_t end = atomic_load(&b->parts[i].end), next = atomic_load(&b->parts[i].next);
        if (end < 0) continue;
        char part[16];
        snprintf(part, sizeof part, "%" PRId32, b->parts[i].partition);
        const char *labels[] = { "group", b->group, "topic", b->parts[i].topic, "partition", part, NULL };
        metrics_sample(out, name, labels, end > next ? (double)(end - next) : 0.0);
    }
    pthread_mutex_unlock(&b->mu);
}
