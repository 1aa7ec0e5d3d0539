/* trace.h -- W3C trace context (https://www.w3.org/TR/trace-context/)
 * carried through the member: an input article's `traceparent` (and its
 * `tracestate`) header goes, unchanged, onto its record and onto its dead
 * letter, so a user's OpenTelemetry trace continues downstream. The member
 * emits no span of its own, so it passes the parent on as it came (the
 * record's consumer is a child of the article's producer). With
 * trace.generate a message without a valid traceparent gets a new one
 * (version 00, random trace and parent ids, sampled flag 01).
 *
 * A traceparent that does not parse (wrong lengths, not lower-case hex,
 * version ff, an all-zero id) is not carried, and neither is its
 * tracestate: W3C says to restart the trace then (generate does).
 *
 * Threading: no state; any thread. Errors: none (a header that cannot be
 * carried is left out). Ownership: trace_copy writes into the caller's
 * struct; trace_add copies into the caller's headers.
 */
#ifndef TRACE_H
#define TRACE_H

#include <librdkafka/rdkafka.h>

#define TRACE_PARENT "traceparent"
#define TRACE_STATE "tracestate"

/* The trace context of one message: empty strings when it has none. */
typedef struct trace_ctx {
    char parent[56];        /* "00-<32 hex>-<16 hex>-<2 hex>" */
    char state[512];        /* W3C allows 32 list members; longer is cut at a member boundary */
} trace_ctx;

/* Whether s[0..n) is a valid traceparent (W3C level 1). */
int trace_parent_valid(const char *s, size_t n);

/* The context of message m (its headers; a record's or an article's), a
 * new one when it has none and generate is set. */
void trace_copy(trace_ctx *t, const rd_kafka_message_t *m, int generate);

/* Adds t's headers to *h (created when NULL and t has something). */
void trace_add(rd_kafka_headers_t **h, const trace_ctx *t);

#endif
