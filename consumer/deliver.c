/* deliver.c -- producing records and dead letters, the producer's delivery
 * reports, and storing the input offsets they make safe (see consumer.h
 * for the delivery guarantee). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "consumer.h"

const char *dl_class_name(int cls)
{
    static const char *const own[] = { "too-large", "invalid-for-model", "other" };
    if (cls >= 0 && cls < SCHEMA_NSTATUS) return schema_status_name((schema_status)cls);
    return cls >= DL_TOO_LARGE && cls < DL_NCLASSES ? own[cls - DL_TOO_LARGE] : "other";
}

int dl_class_used(int cls)
{
    return cls != SCHEMA_OK && cls != SCHEMA_ERR_NOMEM && cls != SCHEMA_ERR_INTERNAL && cls >= 0 && cls < DL_NCLASSES;
}

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

/* Sends a message that cannot be processed to the dead-letter topic, with
 * its original key and value and headers saying where it came from and why. */
void deliver_dead_letter(consumer *c, const rd_kafka_message_t *m, uint64_t token, int cls, const char *why)
{
    char part[16], off[24], ts[24];
    rd_kafka_timestamp_type_t tstype;
    int64_t t = rd_kafka_message_timestamp(m, &tstype);
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    snprintf(ts, sizeof ts, "%" PRId64, t);
    const char *topic = rd_kafka_topic_name(m->rkt);
    int dropped = 0;
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        rd_kafka_header_add(h, "dhatu.error.class", -1, dl_class_name(cls), -1);
        rd_kafka_header_add(h, "dhatu.error.message", -1, why, -1);
        rd_kafka_header_add(h, "dhatu.original.topic", -1, topic, -1);
        rd_kafka_header_add(h, "dhatu.original.partition", -1, part, -1);
        rd_kafka_header_add(h, "dhatu.original.offset", -1, off, -1);
        if (t >= 0) rd_kafka_header_add(h, "dhatu.original.timestamp", -1, ts, -1);
        rd_kafka_header_add(h, "dhatu.processor", -1, PROCESSOR, -1);
        if (dropped) rd_kafka_header_add(h, "dhatu.value.dropped", -1, "too-large-for-the-dead-letter-topic", -1);
        rd_kafka_resp_err_t err = deliver_produce(c, c->cfg.dead_letter, m->key, m->key_len,
                                                  dropped ? NULL : m->payload, dropped ? 0 : m->len, h, token, t);
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !dropped) {
            dropped = 1;    /* keep the headers at least: the offset says where the value is */
            continue;
        }
        if (err) {
            log_error(&c->log, "cannot produce to dead-letter topic %s: %s", c->cfg.dead_letter,
                      rd_kafka_err2str(err));
            consumer_fail(c, EXIT_FATAL);
        } else {
            atomic_fetch_add(&c->stats.dead_by[dl_class_used(cls) ? cls : DL_OTHER], 1);
        }
        return;
    }
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
        if (!track_advance(p) || c->cfg.exactly_once) continue;
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
        /* librdkafka retried until message.timeout.ms: the offset is not
         * stored, and the consumer stops so that a restart redoes it. */
        atomic_fetch_add(&c->stats.delivery_failed, 1);
        if (!c->cfg.exactly_once) {
            log_error(&c->log, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
            consumer_fail(c, EXIT_FATAL);
        }
        return;
    }
    atomic_fetch_add(&c->stats.delivered, 1);
    atomic_store(&c->stats.last_ack_ms, now_ms());
    int64_t lat_us = rd_kafka_message_latency(m);
    if (lat_us >= 0) metrics_hist_observe(&c->stats.produce_ack, (uint64_t)lat_us * 1000);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype), e2e = wall_ms() - ts;
    if (ts > 0 && e2e >= 0) metrics_hist_observe(&c->stats.e2e, (uint64_t)e2e * 1000000);
    track_done(&c->tracks, token);
}

void deliver_serve(consumer *c, int timeout_ms)
{
    rd_kafka_poll(c->producer, timeout_ms);
    deliver_store_offsets(c);
}

int deliver_wait_engine(consumer *c, int64_t deadline)
{
    while (stage_in_flight(c) > 0) {
        if (now_ms() > deadline) return -1;
        deliver_serve(c, 5);
    }
    return 0;
}
