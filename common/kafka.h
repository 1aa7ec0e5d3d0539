/* kafka.h -- what the Kafka programs share around librdkafka: the rule for
 * configuration properties, the start-up check of the cluster, and the
 * routing of librdkafka's log lines and error events through log.h.
 *
 * Properties: a program's defaults are applied first and the user's
 * "key=value" list over them, so the user wins (as in kcat), except for
 * the few properties a program's delivery guarantee rests on
 * (enable.idempotence, acks, enable.auto.offset.store, ...): a user value
 * that differs from such a guarded default is refused with a message that
 * names the property and why, never silently applied or ignored.
 *
 * Events: kafka_route_events installs log and error callbacks that find a
 * kafka_events through the handle's opaque pointer, which must therefore
 * point at a struct whose first member is a kafka_events (C guarantees
 * the cast). librdkafka's lines go through that logger; ERR__FATAL is
 * handled as librdkafka's examples do: the underlying error is fetched,
 * logged, and `fatal` is set for the program's loop to act on.
 *
 * Errors: 0, or -1 with a message in errstr. Threads: the callbacks run on
 * librdkafka's threads or in poll calls; fatal is atomic.
 */
#ifndef KAFKA_H
#define KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>
#include "log.h"

typedef struct kafka_prop {
    const char *key, *value;
    const char *guard;      /* NULL: the user may override; else why the value is required */
} kafka_prop;

/* Refuses a user item that changes a guarded default (or is not
 * key=value), without touching any configuration: a program with two
 * clients checks the user's items against both before creating either. */
int kafka_conf_check(const kafka_prop *defaults, int n, char *const *user, int nuser, char *errstr,
                     size_t errstr_size);
/* The value the user's items give key (the last one wins), else dflt. */
const char *kafka_conf_user_value(char *const *user, int nuser, const char *key, const char *dflt);
/* Applies n defaults, then the user's "key=value" items over them (after
 * kafka_conf_check). */
int kafka_conf_apply(rd_kafka_conf_t *conf, const kafka_prop *defaults, int n, char *const *user, int nuser,
                     char *errstr, size_t errstr_size);

/* 1 when a librdkafka property's value is a secret (password, key,
 * token...): it is masked wherever a value would be printed. */
int kafka_conf_is_secret(const char *key);

/* A program's own list of "key=value" items (owned copies). */
typedef struct kafka_items { char **v; int n; } kafka_items;
int kafka_items_add(kafka_items *it, const char *kv);    /* -1: out of memory */
/* Appends the properties of a client file (kcat's -F): "key=value" lines,
 * blank lines and '#' comments skipped, whitespace around key and value
 * trimmed. A bad line is an error naming FILE:LINE (never the value). */
int kafka_items_file(kafka_items *it, const char *path, char *errstr, size_t errstr_size);
/* A tool's -X key=value (opt 'X') or -F FILE (opt 'F'): the item, or the
 * file's items. 0, or -1 with "out of memory" or "-F reason" in errstr. */
int kafka_items_option(kafka_items *it, int opt, const char *arg, char *errstr, size_t errstr_size);
void kafka_items_free(kafka_items *it);

/* "librdkafka 2.15.1 from /path/to/librdkafka.so.1": the library the program
 * runs with, for --version. */
void kafka_version(char *buf, size_t size);
/* A warning when the librdkafka in use cannot do what the user's items ask
 * (SASL/SCRAM against Kafka 4 needs 2.6.1), else NULL. */
const char *kafka_version_warning(char *const *user, int nuser);

typedef struct kafka_events {
    logger log;             /* librdkafka's lines, component "kafka" */
    atomic_int fatal;       /* set on RD_KAFKA_RESP_ERR__FATAL */
    char fatal_reason[512]; /* written once, before fatal is set */
    /* A TLS handshake or SASL authentication failed (wrong password, an
     * untrusted certificate): librdkafka retries those forever, so the
     * start-up check reads this to stop at once with the reason. */
    atomic_int auth_failed;
    char auth_reason[512];  /* written once, before auth_failed is set */
} kafka_events;

/* Installs the log and error callbacks (log lines come from librdkafka's
 * threads; each is one write). The caller sets the opaque
 * (rd_kafka_conf_set_opaque) to its struct, as described above. */
void kafka_route_events(rd_kafka_conf_t *conf);

/* The brokers answer within timeout_ms and each of the n topics exists
 * and may be described. Fails at once, with librdkafka's reason, when TLS
 * or SASL authentication fails (kafka_events.auth_failed), and names a
 * topic the principal is not authorized for (ACL) as such. It serves the
 * handle's events (rd_kafka_poll): pass a producer, or a consumer whose
 * main queue was not redirected (rd_kafka_poll_set_consumer). */
int kafka_check_topics(rd_kafka_t *rk, const char *brokers, const char *const *topics, int n, int timeout_ms,
                       char *errstr, size_t errstr_size);

/* max.message.bytes of each of n topics (DescribeConfigs), into limits[];
 * a topic whose limit cannot be read gets 0 (unknown). -1 with a message
 * when the request itself fails. */
int kafka_topic_limits(rd_kafka_t *rk, const char *const *topics, int n, int64_t *limits, int timeout_ms,
                       char *errstr, size_t errstr_size);

/* The partition count of topic, asked of the brokers (metadata) through
 * rk, any client handle. 0, or -1 with "metadata of TOPIC: reason" in why.
 * Thread-safe, as librdkafka's metadata call is. */
int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *count, char *why, size_t wn);

#endif
