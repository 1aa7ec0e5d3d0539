/* deliver.c -- producing records and dead letters, the producer's delivery
 * reports, and storing the input offsets they make safe (see consumer.h
 * for the delivery guarantee). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "consumer.h"

/* Waits (briefly, repeatedly) while the producer's queue is full: the
 * polling thread keeps serving delivery reports, which is what empties it.
 * On failure the headers are freed. */
rd_kafka_resp_err_t deliver_produce(consumer *c, const char *topic, const void *key, size_t klen, const void *val,
                                    size_t vlen, rd_kafka_headers_t *hdrs, uint64_t token, int64_t ts)
{
    for (;;) {
        /* The output inherits the input's timestamp (as Kafka Streams does):
         * acknowledgement time minus it is the end-to-end latency. */
        rd_kafka_resp_err_t err = rd_kafka_producev(
            c->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&c->fatal)) {
            if (err && hdrs) rd_kafka_headers_destroy(hdrs);
            return err;
        }
        struct timespec pause_1ms = { 0, 1000000 };
        nanosleep(&pause_1ms, NULL);
    }
}

int deliver_txn_failed(const consumer *c, rd_kafka_resp_err_t err)
{
    return c->cfg.exactly_once && (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__FATAL);
}

int deliver_error_is_per_message(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
        return 1;
    default:
        return 0;
    }
}

/* Where a dead letter's message came from, and why it is one. */
typedef struct origin {
    const char *topic;
    int32_t partition;
    int64_t offset, timestamp;  /* -1: none */
    size_t length;              /* of the original value; (size_t)-1 unknown */
    trace_ctx trace;            /* the article's W3C trace context (trace.h) */
    int delivery_count;         /* share group: rd_kafka_message_delivery_count; 0 none */
} origin;

/* The headers a dead letter sets itself (dhatu-redrive takes them off
 * again) and the trace context (carried by trace.c, once): an input's own
 * headers of these names are not copied onto its dead letter. Every other
 * header is, dhatu.redrive.count among them, so a re-driven article that
 * fails again keeps its count. */
static int dl_own_header(const char *name)
{
    return !strncmp(name, "dhatu.error.", 12) || !strncmp(name, "dhatu.original.", 15) ||
           !strncmp(name, "dhatu.value.", 12) || !strcmp(name, "dhatu.processor") || !strcmp(name, TRACE_PARENT) ||
           !strcmp(name, TRACE_STATE);
}

/* The bytes of m's headers that a dead letter copies (names and values). */
static size_t input_headers_size(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *in = NULL;
    const char *name;
    const void *val;
    size_t size, total = 0;
    if (rd_kafka_message_headers(m, &in) == 0)
        for (size_t i = 0; rd_kafka_header_get_all(in, i, &name, &val, &size) == 0; i++)
            if (!dl_own_header(name)) total += strlen(name) + size + 16;
    return total;
}

/* A dead letter's headers: the input message's own (m; NULL for a
 * reference-only one, which keeps nothing of the message), then where it
 * came from and why. */
static rd_kafka_headers_t *dl_headers(const char *cls, const char *why, const origin *o, const char *dropped,
                                      const rd_kafka_message_t *m)
{
    char part[16], off[24], ts[24], len[24];
    snprintf(part, sizeof part, "%" PRId32, o->partition);
    snprintf(off, sizeof off, "%" PRId64, o->offset);
    snprintf(ts, sizeof ts, "%" PRId64, o->timestamp);
    snprintf(len, sizeof len, "%zu", o->length);
    rd_kafka_headers_t *in = NULL, *h = rd_kafka_headers_new(12);
    if (m && rd_kafka_message_headers(m, &in) == 0) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(in, i, &name, &val, &size) == 0; i++)
            if (!dl_own_header(name)) rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
    }
    rd_kafka_header_add(h, "dhatu.error.class", -1, cls, -1);
    rd_kafka_header_add(h, "dhatu.error.message", -1, why, -1);
    rd_kafka_header_add(h, "dhatu.original.topic", -1, o->topic, -1);
    rd_kafka_header_add(h, "dhatu.original.partition", -1, part, -1);
    rd_kafka_header_add(h, "dhatu.original.offset", -1, off, -1);
    if (o->timestamp >= 0) rd_kafka_header_add(h, "dhatu.original.timestamp", -1, ts, -1);
    rd_kafka_header_add(h, "dhatu.processor", -1, PROCESSOR, -1);
    if (dropped) {
        /* Reference-only: neither key nor value; the origin says where they are. */
        if (o->length != (size_t)-1) rd_kafka_header_add(h, "dhatu.original.length", -1, len, -1);
        rd_kafka_header_add(h, "dhatu.value.dropped", -1, dropped, -1);
    }
    trace_add(&h, &o->trace);
    if (o->delivery_count > 0) {    /* share group: how often the broker delivered it */
        char dc[16];
        snprintf(dc, sizeof dc, "%d", o->delivery_count);
        rd_kafka_header_add(h, "dhatu.delivery.count", -1, dc, -1);
    }
    return h;
}

/* A reference-only dead letter, once: 0, or the error (the caller decides). */
static rd_kafka_resp_err_t produce_reference(consumer *c, uint64_t token, const char *cls, const char *why,
                                             const origin *o, const char *dropped, int wait)
{
    rd_kafka_headers_t *h = dl_headers(cls, why, o, dropped, NULL);
    if (wait) return deliver_produce(c, c->cfg.dead_letter, NULL, 0, NULL, 0, h, token, o->timestamp);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        c->producer, RD_KAFKA_V_TOPIC(c->cfg.dead_letter), RD_KAFKA_V_TIMESTAMP(o->timestamp > 0 ? o->timestamp : 0),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
    if (err) rd_kafka_headers_destroy(h);
    return err;
}

/* Sends a message that cannot be processed to the dead-letter topic, with
 * its original key, value and headers, and headers saying where it came
 * from and why;
 * a reference-only dead letter (docs/DELIVERY.md) when the whole one is
 * larger than the producer or the dead-letter topic accepts. The article
 * counts as dead-lettered once the broker acknowledges it. */
void deliver_dead_letter(consumer *c, const rd_kafka_message_t *m, uint64_t token, int cls, const char *why,
                         const trace_ctx *trace)
{
    rd_kafka_timestamp_type_t tstype;
    origin o = { rd_kafka_topic_name(m->rkt), m->partition, m->offset, rd_kafka_message_timestamp(m, &tstype),
                 m->len, { "", "" }, rd_kafka_message_delivery_count(m) };
    if (trace) o.trace = *trace;
    else trace_copy(&o.trace, m, (int)c->cfg.trace_generate);
    const char *name = outcome_dl_name(cls), *dropped = NULL;
    /* The headers and the record's framing, generously. */
    size_t size = m->len + m->key_len + input_headers_size(m) + strlen(why) + 1024;
    rd_kafka_resp_err_t err;
    if (c->dlq_limit > 0 && (int64_t)size > c->dlq_limit) {
        dropped = "too-large-for-the-dead-letter-topic";
        err = produce_reference(c, token, name, why, &o, dropped, 1);
    } else {
        err = deliver_produce(c, c->cfg.dead_letter, m->key, m->key_len, m->payload, m->len,
                              dl_headers(name, why, &o, NULL, m), token, o.timestamp);
        if (deliver_error_is_per_message(err)) {
            dropped = "too-large-for-the-dead-letter-topic";
            err = produce_reference(c, token, name, why, &o, dropped, 1);
        }
    }
    if (deliver_txn_failed(c, err)) return;
    if (err) {
        log_error(&c->log, "cannot produce to dead-letter topic %s: %s", c->cfg.dead_letter, rd_kafka_err2str(err));
        outcome_fail(&c->fatal, EXIT_FATAL);
    }
}

/* ---- dead letters asked for by delivery reports: produced after the
 * poll that served the report, never inside it (a full queue would wait
 * for the very reports that call is serving). */

struct pending {
    struct pending *next;
    uint64_t token;
    origin o;
    char topic[256], cls[32], why[384], dropped[160];
};

static void add_pending(consumer *c, uint64_t token, const origin *o, const char *cls, const char *why,
                        const char *dropped)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        log_error(&c->log, "out of memory keeping a dead letter");
        outcome_fail(&c->fatal, EXIT_FATAL);
        return;
    }
    p->token = token;
    p->o = *o;
    snprintf(p->topic, sizeof p->topic, "%s", o->topic);
    p->o.topic = p->topic;
    snprintf(p->cls, sizeof p->cls, "%s", cls);
    snprintf(p->why, sizeof p->why, "%s", why);
    snprintf(p->dropped, sizeof p->dropped, "%s", dropped);
    p->next = c->pending;
    c->pending = p;
}

void deliver_retry_pending(consumer *c)
{
    struct pending **pp = &c->pending;
    while (*pp) {
        struct pending *p = *pp;
        rd_kafka_resp_err_t err = produce_reference(c, p->token, p->cls, p->why, &p->o, p->dropped, 0);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            pp = &p->next;              /* again after the next poll */
            continue;
        }
        if (err) {
            log_error(&c->log, "cannot produce to dead-letter topic %s: %s", c->cfg.dead_letter,
                      rd_kafka_err2str(err));
            outcome_fail(&c->fatal, EXIT_FATAL);
        }
        *pp = p->next;
        free(p);
    }
}

void deliver_free_pending(consumer *c)
{
    while (c->pending) {
        struct pending *p = c->pending;
        c->pending = p->next;
        free(p);
    }
}

static const char *header(const rd_kafka_message_t *m, const char *name, char *buf, size_t n)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t size;
    buf[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == 0 && rd_kafka_header_get_last(h, name, &v, &size) == 0 && v)
        snprintf(buf, n, "%.*s", (int)size, (const char *)v);
    return buf;
}

/* A delivery refused by the broker for a reason of the message's own
 * (at least once; a transaction fails as a whole). 0 when a dead letter
 * will take its place. */
static int refused(consumer *c, const rd_kafka_message_t *m, uint64_t token)
{
    origin o;
    memset(&o, 0, sizeof o);
    if (track_origin(&c->tracks, token, &o.topic, &o.partition, &o.offset)) return 0;   /* revoked: redone */
    rd_kafka_timestamp_type_t tstype;
    o.timestamp = rd_kafka_message_timestamp(m, &tstype);
    o.length = (size_t)-1;
    trace_copy(&o.trace, m, 0);     /* what the refused record (or dead letter) carried */
    char why[384], cls[32], prev[256];
    const char *dlq = c->cfg.dead_letter;
    if (strcmp(rd_kafka_topic_name(m->rkt), dlq)) {
        /* The output record: its article becomes a reference-only dead letter. */
        int big = m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || m->err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
        snprintf(why, sizeof why, "the broker refused its record of %zu bytes: %s", m->len, rd_kafka_err2str(m->err));
        add_pending(c, token, &o, outcome_dl_name(big ? DL_RECORD_TOO_LARGE : DL_REJECTED), why,
                    "its-record-was-refused-the-article-is-at-the-original-offset");
        return 0;
    }
    if (!m->payload && !m->key) return -1;    /* even a reference-only dead letter was refused */
    header(m, "dhatu.error.class", cls, sizeof cls);
    snprintf(why, sizeof why, "%s", header(m, "dhatu.error.message", prev, sizeof prev));
    snprintf(prev, sizeof prev, "refused-by-the-dead-letter-topic: %s", rd_kafka_err2str(m->err));
    add_pending(c, token, &o, *cls ? cls : outcome_dl_name(DL_OTHER), why, prev);
    return 0;
}

/* Stores the offsets whose contiguous prefix moved since the last call.
 * The list is made afresh each time: librdkafka keeps partition references
 * in a list's private fields, which only list_destroy releases. */
void deliver_store_offsets(consumer *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (track_part *p = track_next(&c->tracks, NULL); p; p = track_next(&c->tracks, p)) {
        /* Advanced in both modes (flow control and draining count what is in
         * flight); stored only at least once: exactly-once offsets travel in
         * the transaction. */
        if (!track_advance(p) || c->cfg.exactly_once || !c->consumer) continue;   /* share group: nothing to store */
        if (!l) l = rd_kafka_topic_partition_list_new(c->tracks.nparts);
        rd_kafka_topic_partition_list_add(l, track_topic(p), track_partition(p))->offset = track_next_store(p);
    }
    if (!l) return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->consumer, l);
    if (err) log_warn(&c->log, "storing offsets: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

void deliver_on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    consumer *c = opaque;
    uint64_t token = (uint64_t)(uintptr_t)m->_private;
    if (m->err) {
        atomic_fetch_add(&c->stats.delivery_failed, 1);
        if (c->cfg.exactly_once) return;    /* the transaction fails, is aborted and redone */
        if (deliver_error_is_per_message(m->err) && refused(c, m, token) == 0) {
            log_warn(&c->log, "the broker refused a message to %s (%s): a dead letter takes its place",
                     rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
            return;
        }
        /* librdkafka retried until message.timeout.ms, or the cluster refused:
         * the offset is not stored, and the consumer stops so that a
         * restart redoes it. */
        log_error(&c->log, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        outcome_fail(&c->fatal, EXIT_FATAL);
        return;
    }
    atomic_fetch_add(&c->stats.delivered, 1);
    if (!strcmp(rd_kafka_topic_name(m->rkt), c->cfg.dead_letter)) {
        /* Counted once acknowledged, under its class. */
        char cls[32];
        header(m, "dhatu.error.class", cls, sizeof cls);
        int k = 0;
        while (k < DL_NCLASSES && (!outcome_dl_used(k) || strcmp(outcome_dl_name(k), cls))) k++;
        atomic_fetch_add(&c->stats.dead_by[k < DL_NCLASSES ? k : DL_OTHER], 1);
    }
    atomic_store(&c->stats.last_ack_ms, clk_now_ms());
    int64_t lat_us = rd_kafka_message_latency(m);
    if (lat_us >= 0) metrics_hist_observe(&c->stats.produce_ack, (uint64_t)lat_us * 1000);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype), e2e = clk_wall_ms() - ts;
    if (ts > 0 && e2e >= 0) metrics_hist_observe(&c->stats.e2e, (uint64_t)e2e * 1000000);
    track_done(&c->tracks, token);
}

void deliver_serve(consumer *c, int timeout_ms)
{
    rd_kafka_poll(c->producer, timeout_ms);
    if (c->pending) deliver_retry_pending(c);
    deliver_store_offsets(c);
}

int deliver_pending(const consumer *c) { return c->pending != NULL; }
