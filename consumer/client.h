/* client.h -- the member's librdkafka clients (client.c): their
 * configuration from the settings, the refusals of unsafe overrides, the
 * cluster check at start. Errors: NULL or -1 with the reason in the
 * caller's buffer. */
#ifndef CLIENT_H
#define CLIENT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct consumer consumer;

/* Refuses -X items that change a guarded property of either client. */
int client_check_overrides(consumer *c, char *errstr, size_t n);
/* The member's callbacks, handed in by member.c, which composes the
 * modules (so the client module calls none of those above it). Each gets
 * the struct consumer as its opaque. */
typedef struct client_callbacks {
    void (*on_delivery)(rd_kafka_t *, const rd_kafka_message_t *, void *);
    void (*on_rebalance)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *);
    int (*on_stats)(rd_kafka_t *, char *, size_t, void *);    /* NULL: none */
} client_callbacks;
/* The member's producer (on_delivery) and consumer (on_rebalance, on_stats).
 * NULL with the reason in errstr. */
rd_kafka_t *client_producer(consumer *c, const client_callbacks *cb, char *errstr, size_t n);
rd_kafka_t *client_consumer(consumer *c, const client_callbacks *cb, char *errstr, size_t n);
/* The share consumer of a share group (share.h): explicit acknowledgement,
 * max.poll.records from batch.max_articles, the user's properties over
 * ours; on_stats (NULL: none) every http.stats_interval_ms. NULL with the
 * reason in errstr. */
rd_kafka_share_t *client_share(consumer *c, int (*on_stats)(rd_kafka_t *, char *, size_t, void *), char *errstr,
                               size_t n);
/* The input topics as a subscription list (caller destroys). */
rd_kafka_topic_partition_list_t *client_input_topics(const consumer *c);
/* The orphan watch's nudge member (orphans.h): the consumer's properties
 * without group.instance.id (a dynamic member) and without its callbacks;
 * opaque must start with a kafka_events. */
rd_kafka_t *client_nudge(consumer *c, void *opaque,
                         void (*rebalance)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *),
                         char *errstr, size_t n);
int client_check_cluster(consumer *c, char *errstr, size_t n);

#endif
