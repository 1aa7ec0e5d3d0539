/* watchdog.h -- the way out of a librdkafka call that ignores its timeout.
 *
 * librdkafka 2.12.0's rd_kafka_send_offsets_to_transaction can wait forever
 * whatever timeout it is given: its coordinator request's timeout is never
 * checked (librdkafka#5456), and a group coordinator that was decommissioned
 * while the cluster was down stays cached with no thread left to wake the
 * request (#5511). The cluster-down test caught both members of a group
 * blocked in it for over five minutes after the cluster came back; nothing
 * outside the call can end it.
 *
 * The polling thread arms the watchdog around each such call with the
 * call's own timeout; a call still running grace_ms after that makes the
 * watchdog's thread log what hangs and call on_fire (the consumer's exits
 * the process with status 3). Arm and disarm take a mutex and never block
 * otherwise.
 *
 * Ownership: the caller owns the struct; watchdog_start starts one thread,
 * watchdog_stop joins it. Not a singleton: a test runs several.
 */
#ifndef WATCHDOG_H
#define WATCHDOG_H

#include <pthread.h>
#include <stdint.h>

#include "log.h"

typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC: stop, arm */
    int started, stop;
    const char *call;           /* armed: the call's name (static text), else NULL */
    int64_t until_ms;           /* armed: when it must have returned (monotonic) */
    int64_t grace_ms;
    const logger *log;
    void (*on_fire)(void *arg, const char *call);
    void *arg;
} watchdog;

/* 0, or -1 when the thread cannot start (errno). */
int watchdog_start(watchdog *w, const logger *log, int64_t grace_ms, void (*on_fire)(void *arg, const char *call),
                   void *arg);
/* call: static text naming the call; timeout_ms: the timeout it was given. */
void watchdog_arm(watchdog *w, const char *call, int64_t timeout_ms);
void watchdog_disarm(watchdog *w);
void watchdog_stop(watchdog *w);        /* no-op when not started */

#endif
