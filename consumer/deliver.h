/* deliver.h -- produce, dead letters, delivery reports and offsets
 * (deliver.c): the polling thread's, but deliver_produce and
 * deliver_dead_letter, which the encoder thread calls too. A delivery report
 * acknowledges its token (track.h); offsets are stored only as a contiguous
 * prefix of a partition. Errors: fatal ones go to the consumer (outcome.h),
 * logged here. */
#ifndef DELIVER_H
#define DELIVER_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "trace.h"

typedef struct consumer consumer;

/* Produces a record or a dead letter; the token names the input message. */
rd_kafka_resp_err_t deliver_produce(consumer *c, const char *topic, const void *key, size_t klen, const void *val,
                                    size_t vlen, rd_kafka_headers_t *hdrs, uint64_t token, int64_t ts);
/* trace: the article's trace context when the caller has it (the same one
 * its record would have carried), NULL to take it from m's headers. */
void deliver_dead_letter(consumer *c, const rd_kafka_message_t *m, uint64_t token, int cls, const char *why,
                         const trace_ctx *trace);
/* A produce or delivery error that belongs to one message (its size, its
 * content), as opposed to one of the cluster or the client. */
int deliver_error_is_per_message(rd_kafka_resp_err_t err);
/* Exactly-once: produce refused because the transaction failed (an
 * abortable error, __STATE) or the producer did (__FATAL). Nothing to report
 * for the message: the polling thread aborts the transaction or replaces
 * the producer (txn.h), and the input is consumed again. The caller stops
 * producing the batch. */
int deliver_txn_failed(const consumer *c, rd_kafka_resp_err_t err);
/* Dead letters the delivery reports asked for, produced from the polling
 * thread outside the callback (deliver_serve calls it). */
void deliver_retry_pending(consumer *c);
/* Whether reference-only dead letters still wait to be produced. */
int deliver_pending(const consumer *c);
void deliver_free_pending(consumer *c);
void deliver_on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Serves delivery reports for up to timeout_ms, then stores what advanced. */
void deliver_serve(consumer *c, int timeout_ms);
void deliver_store_offsets(consumer *c);

#endif
