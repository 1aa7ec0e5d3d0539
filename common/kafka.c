/* kafka.c -- see kafka.h. */
#include "kafka.h"
#include "errmsg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kafka_conf_check(const kafka_prop *defaults, int n, char *const *user, int nuser, char *errstr, size_t en)
{
    for (int u = 0; u < nuser; u++) {
        const char *eq = strchr(user[u], '=');
        if (!eq || eq == user[u]) return errmsg(errstr, en, "-X %s: expected key=value", user[u]);
        size_t klen = (size_t)(eq - user[u]);
        for (int i = 0; i < n; i++)
            if (defaults[i].guard && strlen(defaults[i].key) == klen && !strncmp(defaults[i].key, user[u], klen) &&
                strcmp(defaults[i].value, eq + 1))
                return errmsg(errstr, en, "-X %s: refused: %s must stay %s (%s)", user[u], defaults[i].key,
                              defaults[i].value, defaults[i].guard);
    }
    return 0;
}

const char *kafka_conf_user_value(char *const *user, int nuser, const char *key, const char *dflt)
{
    size_t klen = strlen(key);
    for (int u = 0; u < nuser; u++)
        if (!strncmp(user[u], key, klen) && user[u][klen] == '=') dflt = user[u] + klen + 1;
    return dflt;
}

int kafka_conf_apply(rd_kafka_conf_t *conf, const kafka_prop *defaults, int n, char *const *user, int nuser,
                     char *errstr, size_t en)
{
    char err[512];
    if (kafka_conf_check(defaults, n, user, nuser, errstr, en)) return -1;
    for (int i = 0; i < n; i++)
        if (rd_kafka_conf_set(conf, defaults[i].key, defaults[i].value, err, sizeof err) != RD_KAFKA_CONF_OK)
            return errmsg(errstr, en, "property %s: %s", defaults[i].key, err);
    for (int u = 0; u < nuser; u++) {
        const char *eq = strchr(user[u], '=');
        char *key = strndup(user[u], (size_t)(eq - user[u]));
        if (!key) return errmsg(errstr, en, "out of memory");
        rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, eq + 1, err, sizeof err);
        free(key);
        if (r != RD_KAFKA_CONF_OK) return errmsg(errstr, en, "-X %s: %s", user[u], err);
    }
    return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    const kafka_events *ev = rd_kafka_opaque(rk);
    if (ev) LOG_AT(&ev->log, log_from_syslog(level), "%s: %s", fac, msg);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_events *ev = opaque;
    if (!ev) return;
    if (err != RD_KAFKA_RESP_ERR__FATAL) {
        /* Transient (a broker down, a timeout): librdkafka retries by itself. */
        log_warn(&ev->log, "%s: %s", rd_kafka_err2name(err), reason);
        return;
    }
    char why[400];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
    if (!atomic_load(&ev->fatal))
        snprintf(ev->fatal_reason, sizeof ev->fatal_reason, "%s: %s", rd_kafka_err2name(orig), why);
    log_error(&ev->log, "FATAL error: %s: %s", rd_kafka_err2name(orig), why);
    atomic_store(&ev->fatal, 1);
}

void kafka_route_events(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
}

int kafka_check_topics(rd_kafka_t *rk, const char *brokers, const char *const *topics, int n, int timeout_ms,
                       char *errstr, size_t en)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) return errmsg(errstr, en, "cannot reach the brokers %s: %s", brokers, rd_kafka_err2str(err));
    size_t used = 0;
    errstr[0] = '\0';
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < md->topic_cnt && !found; i++)
            found = !strcmp(md->topics[i].topic, topics[k]) && !md->topics[i].err;
        if (!found && used < en) {
            int w = snprintf(errstr + used, en - used, "%stopic %s does not exist on %s", used ? "; " : "",
                             topics[k], brokers);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    rd_kafka_metadata_destroy(md);
    return errstr[0] ? -1 : 0;
}

int kafka_topic_limits(rd_kafka_t *rk, const char *const *topics, int n, int64_t *limits, int timeout_ms,
                       char *errstr, size_t en)
{
    rd_kafka_ConfigResource_t *res[16];
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++) {
        limits[i] = 0;
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, res, (size_t)n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
    int rc = 0;
    const rd_kafka_DescribeConfigs_result_t *result = ev ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    if (!ev || rd_kafka_event_error(ev) || !result) {
        rc = errmsg(errstr, en, "describing topic configurations: %s",
                    ev ? rd_kafka_event_error_string(ev) : "timed out");
    } else {
        size_t cnt;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(result, &cnt);
        for (size_t r = 0; r < cnt; r++) {
            if (rd_kafka_ConfigResource_error(rs[r])) continue;
            size_t ne;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[r], &ne);
            for (size_t e = 0; e < ne; e++) {
                const char *v = rd_kafka_ConfigEntry_value(es[e]);
                if (strcmp(rd_kafka_ConfigEntry_name(es[e]), "max.message.bytes") || !v) continue;
                for (int i = 0; i < n; i++)
                    if (!strcmp(rd_kafka_ConfigResource_name(rs[r]), topics[i])) limits[i] = strtoll(v, NULL, 10);
            }
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < n; i++) rd_kafka_ConfigResource_destroy(res[i]);
    return rc;
}
