/* kafka.c -- see kafka.h. */
#define _GNU_SOURCE /* dladdr */
#include "kafka.h"
#include "errmsg.h"
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kafka_conf_check(const kafka_prop *defaults, int n, char *const *user, int nuser, char *errstr, size_t en)
{
    for (int u = 0; u < nuser; u++) {
        const char *eq = strchr(user[u], '=');
        if (!eq || eq == user[u])
            return errmsg(errstr, en, "-X %s: expected key=value", kafka_conf_is_secret(user[u]) ? "(secret)" : user[u]);
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
        /* A secret's value is never printed, even when librdkafka refuses it. */
        if (r != RD_KAFKA_CONF_OK)
            return errmsg(errstr, en, "-X %.*s%s: %s", (int)(eq - user[u]), user[u],
                          kafka_conf_is_secret(user[u]) ? "=********" : eq, err);
    }
    return 0;
}

int kafka_conf_is_secret(const char *key)
{
    static const char *const words[] = { "password", "secret", "jaas", "ssl.key.pem",
                                         "ssl_key", "token", "credential", NULL };
    const char *eq = strchr(key, '=');
    size_t klen = eq ? (size_t)(eq - key) : strlen(key);
    for (int i = 0; words[i]; i++) {
        const char *hit = strstr(key, words[i]);
        if (hit && (size_t)(hit - key) < klen) return 1;
    }
    return 0;
}

int kafka_items_add(kafka_items *it, const char *kv)
{
    char *copy = strdup(kv);
    char **v = copy ? realloc(it->v, ((size_t)it->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(copy);
        return -1;
    }
    it->v = v;
    it->v[it->n++] = copy;
    return 0;
}

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s)) s++;
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    *end = '\0';
    return s;
}

int kafka_items_file(kafka_items *it, const char *path, char *errstr, size_t en)
{
    FILE *f = fopen(path, "r");
    if (!f) return errmsg(errstr, en, "%s: %s", path, strerror(errno));
    char *line = NULL, kv[4096];
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *s = trim(line, line + len);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            rc = errmsg(errstr, en, "%s:%d: expected key=value", path, lineno);
            break;
        }
        /* s starts with a non-space and eq > s: the key is never empty. */
        char *key = trim(s, eq), *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if ((size_t)snprintf(kv, sizeof kv, "%s=%s", key, value) >= sizeof kv)
            rc = errmsg(errstr, en, "%s:%d: %s: longer than %zu bytes", path, lineno, key, sizeof kv - 1);
        else if (kafka_items_add(it, kv)) rc = errmsg(errstr, en, "out of memory");
    }
    if (!rc && ferror(f)) rc = errmsg(errstr, en, "%s: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

int kafka_items_option(kafka_items *it, int opt, const char *arg, char *errstr, size_t en)
{
    if (opt == 'X') return kafka_items_add(it, arg) ? errmsg(errstr, en, "out of memory") : 0;
    char why[512];
    return kafka_items_file(it, arg, why, sizeof why) ? errmsg(errstr, en, "-F %s", why) : 0;
}

void kafka_items_free(kafka_items *it)
{
    for (int i = 0; i < it->n; i++) free(it->v[i]);
    free(it->v);
    it->v = NULL;
    it->n = 0;
}

void kafka_version(char *buf, size_t size)
{
    Dl_info info;
    if (dladdr((void *)rd_kafka_version, &info) && info.dli_fname)
        snprintf(buf, size, "librdkafka %s from %s", rd_kafka_version_str(), info.dli_fname);
    else
        snprintf(buf, size, "librdkafka %s", rd_kafka_version_str());
}

const char *kafka_version_warning(char *const *user, int nuser)
{
    const char *mech = kafka_conf_user_value(user, nuser, "sasl.mechanism", "");
    if (rd_kafka_version() < 0x020601ff && !strncmp(mech, "SCRAM", 5))
        return "SASL/SCRAM against Kafka 4 needs librdkafka 2.6.1 or newer (older ones send a final message "
               "Kafka 4 rejects as invalid credentials); scripts/rdkafka.sh builds 2.15.1";
    return NULL;
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
    /* A broker that refuses the client's certificate (or its absence)
     * answers with a TLS alert, which librdkafka reports as a transport
     * error: "... alert bad certificate", "... alert certificate required". */
    int cert_alert = err == RD_KAFKA_RESP_ERR__TRANSPORT && strstr(reason, " alert ") && strstr(reason, "certificate");
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL || cert_alert) {
        /* 0 -> 2 (writing) -> 1 (readable): one writer, readers wait for 1. */
        int expected = 0;
        if (atomic_compare_exchange_strong(&ev->auth_failed, &expected, 2)) {
            snprintf(ev->auth_reason, sizeof ev->auth_reason, "%s", reason);
            atomic_store(&ev->auth_failed, 1);
        }
    }
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
    const kafka_events *ev = rd_kafka_opaque(rk);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    /* Short tries, so that a failed handshake ends the wait at once. */
    for (int waited = 0; waited < timeout_ms; waited += 500) {
        if (ev && atomic_load(&ev->auth_failed) == 1)
            return errmsg(errstr, en, "authentication with %s failed: %s", brokers, ev->auth_reason);
        err = rd_kafka_metadata(rk, 1, NULL, &md, 500);
        rd_kafka_poll(rk, 0); /* serves the error events that set auth_failed */
        if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
    }
    if (ev && atomic_load(&ev->auth_failed) == 1)
        return errmsg(errstr, en, "authentication with %s failed: %s", brokers, ev->auth_reason);
    if (err) return errmsg(errstr, en, "cannot reach the brokers %s: %s", brokers, rd_kafka_err2str(err));
    size_t used = 0;
    errstr[0] = '\0';
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < md->topic_cnt && !found; i++)
            found = !strcmp(md->topics[i].topic, topics[k]) && !md->topics[i].err;
        if (found || used >= en) continue;
        /* Missing from the list of all topics: absent, or hidden from this
         * principal by an ACL (asking for the topic itself tells which). */
        const char *why = "does not exist";
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topics[k], NULL);
        const struct rd_kafka_metadata *one = NULL;
        if (t && !rd_kafka_metadata(rk, 0, t, &one, 5000) && one->topic_cnt == 1 &&
            one->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
            why = "is not authorized for this principal (ACL: Describe)";
        if (one) rd_kafka_metadata_destroy(one);
        if (t) rd_kafka_topic_destroy(t);
        int w = snprintf(errstr + used, en - used, "%stopic %s %s on %s", used ? "; " : "", topics[k], why, brokers);
        used += w > 0 ? (size_t)w : 0;
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

int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *count, char *why, size_t wn)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms)
                                  : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!err && (md->topic_cnt != 1 || md->topics[0].err))
        err = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!err) *count = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (err) snprintf(why, wn, "metadata of %s: %s", topic, rd_kafka_err2str(err));
    return err ? -1 : 0;
}
