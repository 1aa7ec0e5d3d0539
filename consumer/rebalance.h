/* rebalance.h -- partitions assigned and revoked (rebalance.c): the
 * callback librdkafka calls from the loop's poll; opaque is the consumer. */
#ifndef REBALANCE_H
#define REBALANCE_H

#include <librdkafka/rdkafka.h>

typedef struct consumer consumer;

void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque);

#endif
