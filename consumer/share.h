/* share.h -- the member in a share group (KIP-932, kafka.group_type=share):
 * librdkafka's share consumer (a preview in 2.15.1) instead of the group
 * consumer, everything else as in consumer.h (engine stage, records, dead
 * letters, metrics, probes, security).
 *
 * A share group lets any number of members read the same partitions: the
 * broker hands each record to one member at a time, under an acquisition
 * lock (group.share.record.lock.duration.ms, 30 s by default), and the
 * member acknowledges it: accept, release (deliver again) or reject. The
 * member uses explicit acknowledgement, one poll batch at a time (the
 * preview requires every record of a batch acknowledged before the next
 * poll): the batch goes through the engine, its records and dead letters
 * are produced and flushed, and only then is each of its records
 * **accepted**; a batch the member could not finish (a fatal error, the
 * shutdown deadline) is **released**, so another member processes it
 * again (at least once; duplicates possible, as in a consumer group after
 * a crash). A record delivered more than share.max_deliveries times is
 * dead-lettered with class redelivery-limit and its count in the
 * dhatu.delivery.count header, then accepted. Exactly-once is refused
 * (ccfg_validate): transactions do not cover share acknowledgements.
 *
 * The preview cannot renew a lock: a batch must finish well inside the
 * lock duration. A poll batch is capped by batch.max_articles x
 * batch.max_in_flight (max.poll.records, a soft bound in the preview; it is
 * split into engine batches that overlap in the stage) and the member logs a
 * warning when one took more than half of share.lock_ms; the age of the
 * oldest record held is exported (dhatu_share_oldest_held_seconds).
 *
 * Threading: the polling thread only (the share handle is not
 * thread-safe). Errors: share_start fills errstr; share_run returns the
 * exit status, as loop_run does.
 */
#ifndef SHARE_H
#define SHARE_H

#include <stddef.h>

typedef struct consumer consumer;

/* What a share member publishes before it joins (the backlog, backlog.h),
 * made before the exporter starts: on the producer's handle, which must
 * exist. 0, or -1 with the reason in errstr. */
int share_init(consumer *c, char *errstr, size_t n);

/* Creates the share consumer, makes the group start at the earliest offset
 * when it has no position yet (share.auto.offset.reset, a group config,
 * set through the admin API; a refusal is logged, not fatal) and
 * subscribes. 0, or -1 with the reason in errstr. */
int share_start(consumer *c, char *errstr, size_t n);

/* Polls, processes and acknowledges batches until a signal, a fatal error
 * or lifecycle.exit_idle_ms without work; then closes the share consumer.
 * Returns the exit status. */
int share_run(consumer *c);

/* Destroys the share consumer and the backlog (member_cleanup). Safe at any
 * point of a failed start. */
void share_free(consumer *c);

#endif
