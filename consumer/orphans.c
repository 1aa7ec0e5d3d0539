/* orphans.c -- see orphans.h. */
#define _GNU_SOURCE     /* pthread_setname_np */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "consumer.h"

#define ADMIN_TIMEOUT_MS 5000
#define NUDGE_WAIT_MS 30000     /* the nudge member's wait for its assignment */

/* The partitions of the input topics (topic i has nparts[i]) that no
 * member owns, added to unowned; their number. */
static int unowned_partitions(char *const *topics, const int *nparts, int ntopics,
                              const rd_kafka_topic_partition_list_t *owned, rd_kafka_topic_partition_list_t *unowned)
{
    for (int t = 0; t < ntopics; t++)
        for (int32_t p = 0; p < nparts[t]; p++)
            if (!rd_kafka_topic_partition_list_find(owned, topics[t], p))
                rd_kafka_topic_partition_list_add(unowned, topics[t], p);
    return unowned->cnt;
}

/* Sleeps up to ms; 1 when orphans_stop asked the thread to end. */
static int wait_or_stop(orphans *o, int64_t ms)
{
    int64_t until = clk_now_ms() + ms;
    pthread_mutex_lock(&o->mu);
    while (!o->stop && clk_now_ms() < until) {
        struct timespec ts = { (time_t)(until / 1000), (long)(until % 1000) * 1000000 };
        pthread_cond_timedwait(&o->cv, &o->mu, &ts);
    }
    int stop = o->stop;
    pthread_mutex_unlock(&o->mu);
    return stop;
}

/* A member's assignment as the consumer protocol encodes it (version,
 * then topics, each a string and an array of partitions, then user data),
 * added to owned. -1 when it does not parse. */
static int parse_assignment(const unsigned char *b, size_t n, rd_kafka_topic_partition_list_t *owned)
{
    size_t p = 0;
#define NEED(k) do { if (n - p < (size_t)(k)) return -1; } while (0)
#define I16() (p += 2, (int)(int16_t)((b[p - 2] << 8) | b[p - 1]))
#define I32() (p += 4, (int32_t)(((uint32_t)b[p - 4] << 24) | ((uint32_t)b[p - 3] << 16) | ((uint32_t)b[p - 2] << 8) | b[p - 1]))
    if (n == 0) return 0;           /* a member with nothing assigned */
    NEED(6);
    (void)I16();                    /* version */
    int32_t ntopics = I32();
    if (ntopics < 0) return -1;
    for (int32_t t = 0; t < ntopics; t++) {
        NEED(2);
        int len = I16();
        if (len < 0) return -1;
        NEED(len + 4);
        char topic[256];
        if (len >= (int)sizeof topic) return -1;
        memcpy(topic, b + p, (size_t)len);
        topic[len] = 0;
        p += (size_t)len;
        int32_t nparts = I32();
        if (nparts < 0) return -1;
        NEED((size_t)nparts * 4);
        for (int32_t k = 0; k < nparts; k++) rd_kafka_topic_partition_list_add(owned, topic, I32());
    }
#undef NEED
#undef I16
#undef I32
    return 0;
}

/* Asks the brokers for the group (ListGroups, then DescribeGroups of its
 * coordinator: rd_kafka_list_groups), its state and every member's
 * assignment, added to owned. 1 when the group is stable, 0 when it is not
 * (or has no member), -1 on error.
 *
 * Not the admin API's DescribeConsumerGroups: in librdkafka 2.12.0 a
 * coordinator that goes away while that request is under way can abort
 * the process ("rd_kafka_enq_once_del_source_return: Assertion
 * eonce->refcnt > 0", both members of leader-loss-eos and the member of
 * outage in CI on 2026-12-03). The older call queries the brokers
 * directly. */
static int describe_group(consumer *c, rd_kafka_topic_partition_list_t *owned, char *why, size_t wn)
{
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(c->consumer, c->cfg.group_id, &gl, ADMIN_TIMEOUT_MS);
    int rc = -1;
    if (err) {
        snprintf(why, wn, "list groups: %s", rd_kafka_err2str(err));
    } else {
        const struct rd_kafka_group_info *g = NULL;
        for (int i = 0; i < gl->group_cnt && !g; i++)
            if (!strcmp(gl->groups[i].group, c->cfg.group_id)) g = &gl->groups[i];
        if (!g) {
            snprintf(why, wn, "group %s not found", c->cfg.group_id);
        } else if (g->err) {
            snprintf(why, wn, "describe group: %s", rd_kafka_err2str(g->err));
        } else if (strcmp(g->state, "Stable") || g->member_cnt == 0) {
            rc = 0;     /* rebalancing, or no member (the next one's join assigns) */
        } else {
            rc = 1;
            for (int i = 0; i < g->member_cnt && rc == 1; i++) {
                if (parse_assignment(g->members[i].member_assignment, (size_t)g->members[i].member_assignment_size,
                                     owned)) {
                    snprintf(why, wn, "member %s: an assignment that does not parse", g->members[i].member_id);
                    rc = -1;
                }
            }
        }
    }
    if (gl) rd_kafka_group_list_destroy(gl);
    return rc;
}

/* The nudge member: a consumer of its own that joins, takes what it is
 * given without fetching it, and leaves. */
typedef struct nudge {
    kafka_events kev;               /* first: kafka.h finds it through the opaque */
    int cooperative;
    int assigned;                   /* an assignment arrived (possibly empty) */
} nudge;

static void nudge_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                            void *opaque)
{
    nudge *n = opaque;
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (n->cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else rd_kafka_assign(rk, parts);
        /* Not fetched: the member consumes nothing. */
        if (parts->cnt) rd_kafka_pause_partitions(rk, parts);
        n->assigned = 1;
    } else {
        if (n->cooperative) e = rd_kafka_incremental_unassign(rk, parts);
        else rd_kafka_assign(rk, NULL);
    }
    if (e) rd_kafka_error_destroy(e);
}

static void run_nudge(consumer *c, orphans *o)
{
    nudge n = { .cooperative = c->cooperative };
    log_derive(&n.kev.log, &c->log, "kafka:nudge");
    char err[512];
    rd_kafka_t *rk = client_nudge(c, &n, nudge_rebalance, err, sizeof err);
    if (!rk) {
        log_warn(&c->log, "orphan watch: cannot create the nudge member: %s", err);
        return;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(c->cfg.input.n);
    for (int i = 0; i < c->cfg.input.n; i++)
        rd_kafka_topic_partition_list_add(sub, c->cfg.input.v[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (se) log_warn(&c->log, "orphan watch: the nudge member cannot subscribe: %s", rd_kafka_err2str(se));
    for (int64_t end = clk_now_ms() + NUDGE_WAIT_MS; !se && !n.assigned && clk_now_ms() < end;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) rd_kafka_message_destroy(m);    /* paused: only an error event can come */
        pthread_mutex_lock(&o->mu);
        int stop = o->stop;
        pthread_mutex_unlock(&o->mu);
        if (stop) break;
    }
    log_info(&c->log, "orphan watch: the nudge member %s; leaving", n.assigned ? "joined the group" :
                                                                  "had no assignment in time");
    rd_kafka_consumer_close(rk);    /* commits nothing: auto commit is off and nothing was stored */
    rd_kafka_destroy(rk);
    atomic_fetch_add(&c->stats.group_nudges, 1);
}

static void *orphans_main(void *arg)
{
    consumer *c = arg;
    orphans *o = &c->orph;
    int nparts[64];
    int64_t since = 0;              /* unowned partitions seen continuously since (0: none) */
    int logged = 0;
    while (!wait_or_stop(o, o->check_ms)) {
        char why[512] = "";
        rd_kafka_topic_partition_list_t *owned = rd_kafka_topic_partition_list_new(64);
        rd_kafka_topic_partition_list_t *unowned = rd_kafka_topic_partition_list_new(16);
        int stable = c->cfg.input.n <= 64 ? describe_group(c, owned, why, sizeof why) : -1;
        int n = stable != 1 ? 0 : -1;
        if (stable == 1) {
            int ok = 1;
            for (int t = 0; ok && t < c->cfg.input.n; t++)
                ok = kafka_partition_count(c->consumer, c->cfg.input.v[t], ADMIN_TIMEOUT_MS, &nparts[t], why, sizeof why) == 0;
            if (ok) n = unowned_partitions(c->cfg.input.v, nparts, c->cfg.input.n, owned, unowned);
        }
        if (n < 0 || stable < 0) {
            log_debug(&c->log, "orphan watch: %s", why);
        } else if (n == 0) {
            if (logged) log_info(&c->log, "orphan watch: every input partition has an owner again");
            since = 0;
            logged = 0;
        } else {
            int64_t t = clk_now_ms();
            if (!since) since = t;
            char list[256] = "";
            size_t used = 0;
            for (int i = 0; i < unowned->cnt && used < sizeof list - 32; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s [%" PRId32 "]", i ? ", " : "",
                                         unowned->elems[i].topic, unowned->elems[i].partition);
            if (!logged || t - since >= o->grace_ms)
                log_warn(&c->log, "orphan watch: %d partition(s) owned by no member of the stable group for %" PRId64
                                  " ms: %s", n, t - since, list);
            logged = 1;
            if (t - since >= o->grace_ms) {
                log_warn(&c->log, "orphan watch: a member killed between the two rounds of a cooperative "
                                  "rebalance leaves its revoked partitions to nobody; joining a nudge member "
                                  "to have the group assign them");
                run_nudge(c, o);
                since = 0;
            }
        }
        atomic_store(&c->stats.group_unowned, n > 0 ? n : 0);
        rd_kafka_topic_partition_list_destroy(owned);
        rd_kafka_topic_partition_list_destroy(unowned);
    }
    return NULL;
}

int orphans_start(consumer *c, char *errstr, size_t n)
{
    orphans *o = &c->orph;
    *o = (orphans){ .check_ms = c->cfg.orphan_check_ms, .grace_ms = c->cfg.orphan_grace_ms };
    if (!o->check_ms || !strcmp(c->cfg.group_protocol, "consumer")) return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    int err = pthread_create(&o->thread, NULL, orphans_main, c);
    if (!err) pthread_setname_np(o->thread, "dhatu:orphans");
    if (err) {
        snprintf(errstr, n, "orphan watch: cannot start its thread: %s", strerror(err));
        pthread_cond_destroy(&o->cv);
        pthread_mutex_destroy(&o->mu);
        return -1;
    }
    o->started = 1;
    return 0;
}

void orphans_stop(consumer *c)
{
    orphans *o = &c->orph;
    if (!o->started) return;
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->thread, NULL);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    o->started = 0;
}

int orphans_enabled(const struct consumer *c) { return c->orph.check_ms > 0; }
