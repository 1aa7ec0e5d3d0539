/* config.c -- see config.h. */
#include "config.h"
#include "clock.h"
#include "errmsg.h"
#include "registry.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum ctype { C_STR, C_INT, C_LIST };

/* The one place where settings, their defaults and their meaning live. */
static const struct setting {
    const char *path;
    enum ctype type;
    size_t off;
    const char *def;        /* strings and lists (comma-separated); NULL: empty */
    int64_t idef, min, max; /* integers */
    const char *help;
} settings[] = {
#define S(p, f, d, h)               { p, C_STR, offsetof(ccfg, f), d, 0, 0, 0, h }
#define I(p, f, d, lo, hi, h)       { p, C_INT, offsetof(ccfg, f), NULL, d, lo, hi, h }
#define L(p, f, d, h)               { p, C_LIST, offsetof(ccfg, f), d, 0, 0, 0, h }
    S("kafka.brokers", brokers, "127.0.0.1:9092", "bootstrap servers, host:port[,host:port...]"),
    S("kafka.group_id", group_id, "dhatu", "consumer group: members share the input partitions"),
    S("kafka.group_instance_id", group_instance_id, "", "static membership id (empty: dynamic member)"),
    /* Cooperative by default: a member that joins or leaves moves only the
     * partitions that change owner, instead of stopping the whole group
     * (what autoscaling does all day). Needs librdkafka >= 2.6.1 and the
     * final commit that serves a rebalance under way (loop.c); with an
     * older librdkafka the consumer falls back to range and says so
     * (docs/DELIVERY.md "Rebalancing"). */
    S("kafka.assignor", assignor, "cooperative-sticky",
      "partition.assignment.strategy: cooperative-sticky (incremental), range or roundrobin (eager)"),
    S("kafka.group_protocol", group_protocol, "classic",
      "classic (the client assigns, kafka.assignor) or consumer (KIP-848: the brokers assign; Kafka 4)"),
    /* Share groups (KIP-932): members past the partition count. The
     * preview share consumer of librdkafka 2.15; docs/SHARE.md. */
    S("kafka.group_type", group_type, "consumer",
      "consumer (a consumer group) or share (a share group, KIP-932, Kafka 4.2+; EXPERIMENTAL, at least once only)"),
    /* A member killed between the two rounds of a cooperative rebalance
     * leaves partitions to nobody, for good under static membership
     * (orphans.h); the watch finds them and has the group assign them. */
    I("kafka.orphan_check_ms", orphan_check_ms, 10000, 0, 3600000,
      "ask the group coordinator this often whether every input partition has an owner (0: never)"),
    /* librdkafka retries a join that cannot succeed without a word above
     * debug level (KIP-848 against a broker older than 4.0: the member
     * waits unassigned for ever; bench/compat.sh on 3.9.2). */
    I("kafka.join_warn_ms", join_warn_ms, 60000, 0, 86400000,
      "warn, and again at every such period, while the member is out of its group: at start, or after a lost assignment (0: never)"),
    I("kafka.orphan_grace_ms", orphan_grace_ms, 30000, 1000, 86400000,
      "partitions unowned this long in a stable group: join a short-lived member so that the group assigns them"),
    /* The start-up checks (topics exist; each output topic's message size
     * limit) wait this long for the brokers. A cluster that does not
     * answer DescribeConfigs (librdkafka's mock cluster, which the unit
     * tests use) costs this much at every start. */
    I("kafka.startup_timeout_ms", startup_timeout_ms, 15000, 100, 600000,
      "how long the start-up checks wait for the brokers: the topics exist, their message size limits"),
    S("kafka.client_id", client_id, "dhatu-consumer", "client.id sent to the brokers"),
    /* Replay: a new group reads history from a time, not from the start or
     * the end (auto.offset.reset); a group with commits goes on from them. */
    S("kafka.start_at", start_at, "",
      "a group with no committed offset for a partition starts at the first offset at or after this time "
      "(RFC 3339 or epoch ms; --start-at); empty: auto.offset.reset"),
    S("kafka.properties_file", properties_file, "",
      "librdkafka client properties, key=value lines (also -F); kafka.librdkafka and -X win over it"),
    L("kafka.librdkafka", librdkafka, NULL, "extra librdkafka properties, \"key=value\" (also -X)"),
    I("share.max_deliveries", share_max_deliveries, 5, 1, 1000,
      "share group: a record delivered more times than this is dead-lettered (class redelivery-limit)"),
    I("share.lock_ms", share_lock_ms, 30000, 1000, 3600000,
      "share group: the brokers' group.share.record.lock.duration.ms; a batch taking over half of it is logged"),
    I("share.backlog_interval_ms", share_backlog_ms, 5000, 100, 3600000,
      "share group: how often the member asks the input partitions' ends for dhatu_share_backlog_records"),
    L("topics.input", input, "articles", "topics to consume articles from"),
    S("topics.output", output, "dhatu-records", "topic for dhatu records"),
    S("topics.dead_letter", dead_letter, "dhatu-dlq", "topic for messages that cannot be processed"),
    S("engine.backend", backend, "auto", "cpu-ref, cpu, opencl, cuda, auto"),
    S("engine.model", model, "lexicon", "lexicon or seed"),
    S("engine.lexicon", lexicon, "", "lexicon file (empty: the built-in one)"),
    I("engine.threads", threads, 0, 0, 1024, "cpu backend threads (0: every core)"),
    I("engine.device", device, -1, -1, 63, "GPU device index (-1: the first, GPUs before other kinds)"),
    I("engine.platform", platform, -1, -1, 15, "opencl: platform index (-1: any)"),
    S("engine.device_type", device_type, "any", "opencl: gpu, accelerator, cpu or any"),
    I("engine.device_memory", device_memory, 0, 0, (int64_t)1 << 40,
      "GPU device bytes for batches in flight (0: a quarter of the device's memory)"),
    I("engine.profile", profile, 1, 0, 1,
      "GPU backends: time copies and kernels on the device for dhatu_device_busy_seconds_total (1) or not (0)"),
    I("engine.max_article_bytes", max_article_bytes, 16 << 20, 1, (int64_t)1 << 30,
      "larger articles are dead-lettered (too-large)"),
    I("batch.max_articles", batch_articles, 1024, 1, 1 << 20, "a batch closes at this many articles"),
    I("batch.max_bytes", batch_bytes, 8 << 20, 1024, (int64_t)1 << 31, "... or this many message bytes"),
    I("batch.linger_ms", linger_ms, 20, 0, 60000, "... or when its first message is this old"),
    I("batch.max_in_flight", max_in_flight, 4, 1, 64,
      "batches handed to the engine and not yet produced; at the bound, wait, then pause"),
    I("batch.max_unacked", max_unacked, 65536, 16, 1 << 24,
      "per partition: messages whose output is not yet acknowledged; at the bound, it pauses"),
    S("delivery.mode", mode, "at-least-once", "at-least-once or exactly-once (transactions)"),
    S("delivery.output_format", output_format, "avro",
      "avro (single-object encoding), avro-registry (Confluent framing, needs registry.url) or json"),
    I("delivery.transaction_interval_ms", txn_interval_ms, 1000, 10, 600000,
      "exactly-once: commit a transaction this often"),
    I("delivery.transaction_timeout_ms", txn_timeout_ms, 60000, 1000, 900000,
      "exactly-once: transaction.timeout.ms"),
    /* A Kafka client's schema.registry.* properties (-X, kafka.librdkafka,
     * the properties file) are taken as these too: url, basic.auth.user.info
     * (user:password), ssl.ca.location (ccfg_validate). */
    S("registry.url", registry_url, "",
      "schema registry (Confluent-compatible API) for Confluent-framed input and avro-registry output; "
      "empty: none (such input is dead-lettered, schema-registry)"),
    S("registry.ca", registry_ca, "", "PEM CA file for an https registry (empty: the system's)"),
    S("registry.user", registry_user, "", "basic authentication user (empty: none)"),
    S("registry.password", registry_password, "", "basic authentication password (masked in --print-config)"),
    S("registry.subject_strategy", registry_strategy, "topic",
      "avro-registry output subject: topic (TopicNameStrategy, <output>-value) or record (org.dhatu.DhatuRecord)"),
    I("registry.timeout_ms", registry_timeout_ms, 5000, 100, 600000,
      "per request; a registry that does not answer is retried, its messages wait (never dead-lettered)"),
    S("http.address", http_address, "0.0.0.0", "listen address of /metrics, /health, /ready (IPv4)"),
    I("http.port", http_port, 8080, -1, 65535, "listen port (0: any free port, logged; -1: no listener)"),
    I("http.stats_interval_ms", stats_interval_ms, 5000, 0, 3600000,
      "librdkafka statistics (lag, offsets, group state) for /metrics every this often (0: off)"),
    I("trace.generate", trace_generate, 0, 0, 1,
      "1: give an article without a valid W3C traceparent header a new one, carried to its record or "
      "dead letter (an article's traceparent and tracestate are carried either way)"),
    I("lifecycle.shutdown_deadline_ms", shutdown_deadline_ms, 30000, 100, 3600000,
      "SIGTERM/SIGINT: finish, flush and commit within this time"),
    I("lifecycle.exit_idle_ms", exit_idle_ms, 0, 0, 86400000,
      "exit once every assigned partition is drained, the group's lag is 0, and idle this long (0: never)"),
    I("lifecycle.exit_after", exit_after, 0, 0, INT64_MAX, "exit after this many articles (0: never)"),
#undef S
#undef I
#undef L
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static int take_registry_props(ccfg *c, char *errstr, size_t n);


static const struct setting *find(const char *path, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].path) == len && !strncmp(settings[i].path, path, len)) return &settings[i];
    return NULL;
}

static char **str_at(ccfg *c, const struct setting *s) { return (char **)((char *)c + s->off); }
static int64_t *int_at(ccfg *c, const struct setting *s) { return (int64_t *)((char *)c + s->off); }
static ccfg_list *list_at(ccfg *c, const struct setting *s) { return (ccfg_list *)((char *)c + s->off); }

static void list_clear(ccfg_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int list_push(ccfg_list *l, const char *s, size_t len)
{
    char **v = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v) return -1;
    l->v = v;
    if (!(v[l->n] = strndup(s, len))) return -1;
    l->n++;
    return 0;
}

/* Comma-separated items, blanks trimmed, empties skipped. */
static int list_parse(ccfg_list *l, const char *s)
{
    list_clear(l);
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *a = s, *b = s + len;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (b > a && list_push(l, a, (size_t)(b - a))) return -1;
        s = e ? e + 1 : NULL;
    }
    return 0;
}

static int set_str(char **dst, const char *v)
{
    char *d = strdup(v);
    if (!d) return -1;
    free(*dst);
    *dst = d;
    return 0;
}

void ccfg_defaults(ccfg *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->type == C_STR) set_str(str_at(c, s), s->def ? s->def : "");
        else if (s->type == C_INT) *int_at(c, s) = s->idef;
        else list_parse(list_at(c, s), s->def);
    }
}

static int set_int_checked(ccfg *c, const struct setting *s, int64_t v, char *errstr, size_t n,
                           const char *where)
{
    if (v < s->min || v > s->max) {
        if (errstr && n)
            snprintf(errstr, n, "%s%s: %" PRId64 " is outside %" PRId64 "..%" PRId64, where, s->path,
                     v, s->min, s->max);
        return -1;
    }
    *int_at(c, s) = v;
    return 0;
}

int ccfg_set(ccfg *c, const char *a, char *errstr, size_t n)
{
    const char *eq = strchr(a, '=');
    if (!eq) return errmsg(errstr, n, "-s %s: expected path=value", a);
    const struct setting *s = find(a, (size_t)(eq - a));
    if (!s) return errmsg(errstr, n, "-s %s: unknown setting (dhatu-consumer --help lists them)", a);
    const char *v = eq + 1;
    if (s->type == C_STR) return set_str(str_at(c, s), v) ? errmsg(errstr, n, "out of memory") : 0;
    if (s->type == C_LIST) return list_parse(list_at(c, s), v) ? errmsg(errstr, n, "out of memory") : 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) return errmsg(errstr, n, "-s %s: not an integer", a);
    return set_int_checked(c, s, x, errstr, n, "-s ");
}

int ccfg_add_librdkafka(ccfg *c, const char *kv, char *errstr, size_t n)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return errmsg(errstr, n, "-X %s: expected key=value", kv);
    return list_push(&c->librdkafka, kv, strlen(kv)) ? errmsg(errstr, n, "out of memory") : 0;
}

/* Walks a group of the file: every leaf must be a known setting of the
 * right type. */
static int load_group(ccfg *c, config_setting_t *g, const char *prefix, const char *file,
                      char *errstr, size_t n)
{
    int len = config_setting_length(g);
    for (int i = 0; i < len; i++) {
        config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        char path[256], where[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", config_setting_name(e));
        snprintf(where, sizeof where, "%s:%d: ", file, config_setting_source_line(e));
        if (config_setting_is_group(e)) {
            if (load_group(c, e, path, file, errstr, n)) return -1;
            continue;
        }
        const struct setting *s = find(path, strlen(path));
        if (!s) return errmsg(errstr, n, "%sunknown setting %s", where, path);
        int t = config_setting_type(e);
        if (s->type == C_STR) {
            if (t != CONFIG_TYPE_STRING) return errmsg(errstr, n, "%s%s must be a string", where, path);
            if (set_str(str_at(c, s), config_setting_get_string(e))) return errmsg(errstr, n, "out of memory");
        } else if (s->type == C_INT) {
            if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
                return errmsg(errstr, n, "%s%s must be an integer", where, path);
            if (set_int_checked(c, s, config_setting_get_int64(e), errstr, n, where)) return -1;
        } else {
            if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
                return errmsg(errstr, n, "%s%s must be a list of strings [\"...\", ...]", where, path);
            ccfg_list *l = list_at(c, s);
            list_clear(l);
            for (int k = 0; k < config_setting_length(e); k++) {
                const char *v = config_setting_get_string_elem(e, k);
                if (!v) return errmsg(errstr, n, "%s%s must hold strings only", where, path);
                if (list_push(l, v, strlen(v))) return errmsg(errstr, n, "out of memory");
            }
        }
    }
    return 0;
}

int ccfg_load_file(ccfg *c, const char *path, char *errstr, size_t n)
{
    config_t cf;
    config_init(&cf);
    if (!config_read_file(&cf, path)) {
        char line[32];
        snprintf(line, sizeof line, "%d", config_error_line(&cf));
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
            errmsg(errstr, n, "%s: cannot read the file", path);
        else if (errstr && n)
            snprintf(errstr, n, "%s:%s: %s", path, line, config_error_text(&cf));
        config_destroy(&cf);
        return -1;
    }
    int rc = load_group(c, config_root_setting(&cf), "", path, errstr, n);
    config_destroy(&cf);
    return rc;
}

static int one_of(const char *v, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (!strcmp(v, set[i])) return 1;
    return 0;
}

/* host:port[,host:port...], optionally with a scheme (PLAINTEXT://, SSL://...). */
static int brokers_ok(const char *s)
{
    if (!*s) return 0;
    char *copy = strdup(s), *save = NULL;
    int ok = copy != NULL;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && ok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok)) tok++;
        char *scheme = strstr(tok, "://");
        if (scheme) tok = scheme + 3;
        char *colon = strrchr(tok, ':');
        if (!colon || colon == tok) { ok = 0; break; }
        char *end;
        long port = strtol(colon + 1, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        ok = end != colon + 1 && !*end && port > 0 && port < 65536;
    }
    free(copy);
    return ok;
}

int ccfg_validate(ccfg *c, char *errstr, size_t n)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type == C_STR && !*str_at(c, &settings[i]))
            return errmsg(errstr, n, "out of memory");
    static const char *const modes[] = { "at-least-once", "exactly-once", NULL };
    static const char *const formats[] = { "avro", "json", "avro-registry", NULL };
    static const char *const assignors[] = { "cooperative-sticky", "range", "roundrobin",
                                             "range,roundrobin", NULL };
    static const char *const models[] = { "lexicon", "seed", NULL };
    static const char *const device_types[] = { "any", "gpu", "accelerator", "cpu", NULL };
    if (!brokers_ok(c->brokers))
        return errmsg(errstr, n, "kafka.brokers \"%s\": expected host:port[,host:port...]", c->brokers);
    if (!*c->group_id) return errmsg(errstr, n, "kafka.group_id must not be empty");
    static const char *const protocols[] = { "classic", "consumer", NULL };
    if (!one_of(c->group_protocol, protocols))
        return errmsg(errstr, n, "kafka.group_protocol \"%s\": expected classic or consumer", c->group_protocol);
    static const char *const group_types[] = { "consumer", "share", NULL };
    if (!one_of(c->group_type, group_types))
        return errmsg(errstr, n, "kafka.group_type \"%s\": expected consumer or share", c->group_type);
    if (!one_of(c->assignor, assignors))
        return errmsg(errstr, n, "kafka.assignor \"%s\": expected range, roundrobin or cooperative-sticky", c->assignor);
    if (c->input.n == 0) return errmsg(errstr, n, "topics.input: at least one topic");
    if (!*c->output || !*c->dead_letter)
        return errmsg(errstr, n, "topics.output and topics.dead_letter must be set");
    for (int i = 0; i < c->input.n; i++) {
        if (!strcmp(c->input.v[i], c->output) || !strcmp(c->input.v[i], c->dead_letter))
            return errmsg(errstr, n, "topic %s is both input and output", c->input.v[i]);
        for (int k = 0; k < i; k++)
            if (!strcmp(c->input.v[i], c->input.v[k]))
                return errmsg(errstr, n, "topics.input lists %s twice", c->input.v[i]);
    }
    if (!strcmp(c->output, c->dead_letter))
        return errmsg(errstr, n, "topics.output and topics.dead_letter are both %s: records and dead letters "
                      "must not share a topic", c->output);
    if (!one_of(c->model, models))
        return errmsg(errstr, n, "engine.model \"%s\": expected lexicon or seed", c->model);
    if (!one_of(c->device_type, device_types))
        return errmsg(errstr, n, "engine.device_type \"%s\": expected gpu, accelerator, cpu or any", c->device_type);
    if (!one_of(c->mode, modes))
        return errmsg(errstr, n, "delivery.mode \"%s\": expected at-least-once or exactly-once", c->mode);
    if (!one_of(c->output_format, formats))
        return errmsg(errstr, n, "delivery.output_format \"%s\": expected avro, avro-registry or json",
                      c->output_format);
    static const char *const strategies[] = { "topic", "record", NULL };
    if (!one_of(c->registry_strategy, strategies))
        return errmsg(errstr, n, "registry.subject_strategy \"%s\": expected topic or record", c->registry_strategy);
    for (int i = 0; i < c->librdkafka.n; i++)
        if (!strchr(c->librdkafka.v[i], '=') || c->librdkafka.v[i][0] == '=')
            return errmsg(errstr, n, "kafka.librdkafka \"%s\": expected key=value", c->librdkafka.v[i]);
    /* The file first, so that kafka.librdkafka and -X win (the last value
     * of a property is the one librdkafka keeps). */
    kafka_items_free(&c->kafka_props);
    if (*c->properties_file && kafka_items_file(&c->kafka_props, c->properties_file, errstr, n)) return -1;
    for (int i = 0; i < c->librdkafka.n; i++)
        if (kafka_items_add(&c->kafka_props, c->librdkafka.v[i])) return errmsg(errstr, n, "out of memory");
    if (take_registry_props(c, errstr, n)) return -1;
    if (*c->registry_url && strncmp(c->registry_url, "http://", 7) && strncmp(c->registry_url, "https://", 8))
        return errmsg(errstr, n, "registry.url \"%s\": expected http:// or https://", c->registry_url);
    if (!strcmp(c->output_format, "avro-registry") && !*c->registry_url)
        return errmsg(errstr, n, "delivery.output_format avro-registry needs registry.url");
    c->start_at_ms = -1;
    if (*c->start_at && clk_parse_time(c->start_at, &c->start_at_ms))
        return errmsg(errstr, n, "kafka.start_at \"%s\": expected RFC 3339 (2026-12-06T09:00:00Z) or epoch "
                      "milliseconds", c->start_at);
    c->exactly_once = !strcmp(c->mode, "exactly-once");
    c->share = !strcmp(c->group_type, "share");
    /* KIP-932: a transaction can hold output records and consumer-group
     * offsets, never share acknowledgements; an exactly-once claim would
     * be false. */
    if (c->share && c->exactly_once)
        return errmsg(errstr, n, "delivery.mode exactly-once is refused in a share group (kafka.group_type=share): "
                      "Kafka transactions do not cover share acknowledgements (KIP-932), so a record could be "
                      "both committed and delivered again; use at-least-once");
    c->json_output = !strcmp(c->output_format, "json");
    c->registry_output = !strcmp(c->output_format, "avro-registry");
    return 0;
}

/* schema.registry.* among the client properties are what Kafka users pass
 * to other clients: they become registry.* settings, unless those are set,
 * and never reach librdkafka, which would refuse them. */
static int take_registry_props(ccfg *c, char *errstr, size_t n)
{
    registry_props rp = { 0 };
    errstr[0] = 0;
    int rc = registry_take_props(c->kafka_props.v, &c->kafka_props.n, &rp, errstr, n);
    if (!rc) {
        char **dst[] = { &c->registry_url, &c->registry_user, &c->registry_password, &c->registry_ca };
        char **src[] = { &rp.url, &rp.user, &rp.password, &rp.ca_file };
        for (int i = 0; i < 4; i++)
            if (*src[i] && !**dst[i]) {
                free(*dst[i]);
                *dst[i] = *src[i];
                *src[i] = NULL;
            }
    }
    registry_props_free(&rp);
    return rc;
}

int ccfg_is_secret(const char *key)
{
    /* schema.registry.basic.auth.user.info is user:password. */
    const char *eq = strchr(key, '=');
    size_t len = eq ? (size_t)(eq - key) : strlen(key);
    if (len >= 14 && !strncmp(key + len - 14, "auth.user.info", 14)) return 1;
    return kafka_conf_is_secret(key);
}

static void print_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void ccfg_print(const ccfg *c, FILE *f)
{
    const char *group = "";
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *dot = strchr(s->path, '.');
        size_t glen = (size_t)(dot - s->path);
        if (strncmp(group, s->path, glen) || group[glen] != '.') {
            if (*group) fputs("};\n", f);
            fprintf(f, "%.*s = {\n", (int)glen, s->path);
            group = s->path;
        }
        fprintf(f, "  %s = ", dot + 1);
        ccfg *cc = (ccfg *)c;
        if (s->type == C_STR) {
            const char *v = *str_at(cc, s);
            print_quoted(f, *v && strstr(s->path, "password") ? "********" : v);
        } else if (s->type == C_INT) {
            fprintf(f, "%" PRId64 "L", *int_at(cc, s));
        } else {
            const ccfg_list *l = list_at(cc, s);
            fputc('[', f);
            for (int k = 0; k < l->n; k++) {
                if (k) fputs(", ", f);
                const char *eq = strchr(l->v[k], '=');
                if (eq && ccfg_is_secret(l->v[k]) && (size_t)(eq - l->v[k]) < 200) {
                    char masked[256];
                    snprintf(masked, sizeof masked, "%.*s=********", (int)(eq - l->v[k]), l->v[k]);
                    print_quoted(f, masked);
                } else {
                    print_quoted(f, l->v[k]);
                }
            }
            fputc(']', f);
        }
        fputs(";\n", f);
    }
    fputs("};\n", f);
}

void ccfg_print_help(FILE *f)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        char def[64];
        if (s->type == C_INT) snprintf(def, sizeof def, "%" PRId64, s->idef);
        else snprintf(def, sizeof def, "\"%s\"", s->def ? s->def : "");
        fprintf(f, "  %-34s %-16s %s\n", s->path, def, s->help);
    }
}

void ccfg_print_markdown(FILE *f)
{
    fputs("| setting | default | meaning |\n|---|---|---|\n", f);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        fprintf(f, "| `%s` | ", s->path);
        if (s->type == C_INT) fprintf(f, "`%" PRId64 "`", s->idef);
        else if (s->def && *s->def) fprintf(f, "`%s`", s->def);
        else fputs("empty", f);
        fputs(" | ", f);
        for (const char *p = s->help; *p; p++) {
            if (*p == '|') fputc('\\', f);
            fputc(*p, f);
        }
        fputs(" |\n", f);
    }
}

void ccfg_free(ccfg *c)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->type == C_STR) free(*str_at(c, s));
        else if (s->type == C_LIST) list_clear(list_at(c, s));
    }
    kafka_items_free(&c->kafka_props);
    memset(c, 0, sizeof *c);
}
