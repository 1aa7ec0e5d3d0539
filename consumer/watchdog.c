/* watchdog.c -- see watchdog.h. */
#define _GNU_SOURCE     /* pthread_setname_np */
#include "watchdog.h"
#include "clock.h"

#include <errno.h>
#include <time.h>

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t t = clk_now_ms();
        if (w->call && t >= w->until_ms + w->grace_ms) {
            const char *call = w->call;
            log_error(w->log, "%s has not returned %lld ms after its own timeout (librdkafka#5456, #5511: a "
                              "coordinator request that ignores its timeout); the member cannot go on",
                      call, (long long)(t - w->until_ms));
            w->call = NULL;
            pthread_mutex_unlock(&w->mu);
            w->on_fire(w->arg, call);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        /* Wake at the deadline of the armed call, or each second. */
        int64_t wake = w->call ? w->until_ms + w->grace_ms : t + 1000;
        if (wake > t + 1000) wake = t + 1000;
        struct timespec ts = { (time_t)(wake / 1000), (long)(wake % 1000) * 1000000 };
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int watchdog_start(watchdog *w, const logger *log, int64_t grace_ms, void (*on_fire)(void *arg, const char *call),
                   void *arg)
{
    *w = (watchdog){ .grace_ms = grace_ms, .log = log, .on_fire = on_fire, .arg = arg };
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    int err = pthread_create(&w->thread, NULL, watchdog_main, w);
    if (!err) pthread_setname_np(w->thread, "dhatu:watchdog");
    if (err) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        errno = err;
        return -1;
    }
    w->started = 1;
    return 0;
}

void watchdog_arm(watchdog *w, const char *call, int64_t timeout_ms)
{
    if (!w->started) return;
    pthread_mutex_lock(&w->mu);
    w->call = call;
    w->until_ms = clk_now_ms() + timeout_ms;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void watchdog_disarm(watchdog *w)
{
    if (!w->started) return;
    pthread_mutex_lock(&w->mu);
    w->call = NULL;
    pthread_mutex_unlock(&w->mu);
}

void watchdog_stop(watchdog *w)
{
    if (!w->started) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->started = 0;
}
