/* orphans.h -- the orphan watch: input partitions that no member of the
 * group owns while the group is stable, and the nudge that has the group
 * hand them out again.
 *
 * Why. Under the cooperative protocol a partition taken from a member in
 * the first round of a rebalance belongs to nobody until the second round,
 * which that member starts by rejoining once it has given the partition
 * up. A member killed in between (kill -9, an OOM kill) never rejoins. With
 * static membership (kafka.group_instance_id) its restart does not rejoin
 * either: a static member that comes back to a stable group gets the
 * group's stored assignment without a rebalance (KIP-345), and that
 * assignment lacks the partition. Nothing then ever assigns it: its lag
 * grows, no member errs, the group looks healthy. The chaos-eos scenario
 * hit it in CI (a drained member waited four minutes on a partition whose
 * committed offset had not moved since the first seconds).
 *
 * What. librdkafka has no call that forces a rebalance, but a member
 * joining a group does. Every check_ms the watch's thread asks the
 * brokers for the group (ListGroups, then DescribeGroups: its state and
 * every member's assignment) and for the input topics' partitions. When
 * partitions stay owned by nobody, in a stable group, for grace_ms on
 * end, it joins a short-lived dynamic member to the group: the rebalance
 * its join starts hands out every unowned partition; the nudge member pauses whatever it is given, consumes and
 * commits nothing, and leaves once it had its assignment (the rebalance
 * of its leaving gives its share to the real members). One nudge per
 * grace period at most; its counts are in /metrics. Off for KIP-848
 * groups (group.protocol=consumer), where the brokers assign.
 *
 * Threads: orphans_start starts one thread; orphans_stop joins it (it
 * closes a nudge member under way first). The thread reads the consumer's
 * configuration, calls thread-safe librdkafka functions on its handle, and
 * writes only its own struct and two atomics of the stats.
 */
#ifndef ORPHANS_H
#define ORPHANS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct orphans {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC: stop */
    int started, stop;
    int64_t check_ms, grace_ms;
} orphans;

struct consumer;

/* Starts the watch when kafka.orphan_check_ms is not 0 and the group uses
 * the classic protocol. 0, or -1 (a thread could not start) with the
 * reason in errstr. */
int orphans_start(struct consumer *c, char *errstr, size_t n);
void orphans_stop(struct consumer *c);     /* joins the thread; no-op if not started */
/* Whether the watch runs (its metrics are published only then). */
int orphans_enabled(const struct consumer *c);

#endif
