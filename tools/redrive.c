/* dhatu-redrive -- puts dead letters back, once their cause is fixed.
 *
 * Reads a dead-letter topic of dhatu-consumer from the beginning to its
 * current end (read_committed: a dead letter of an aborted transaction was
 * never delivered, its article was redone), selects dead letters by class
 * (dhatu.error.class), by time (the dead letter's timestamp, which is its
 * article's) and by id (the key: the article id, as dhatu-producer writes
 * it), and produces each one's original key, value and headers back to
 * its original topic and partition (dhatu.original.*), or to --to TOPIC
 * (partitioned by key there), with the original timestamp and three
 * provenance headers:
 *   dhatu.redrive.count  how many times this article has been re-driven (1, 2...)
 *   dhatu.redrive.time   when, RFC 3339 UTC
 *   dhatu.redrive.from   the dead letter it was taken from: TOPIC/PARTITION/OFFSET
 * The consumer copies an article's headers onto its dead letter, so the
 * count survives a second failure; an article whose count has reached
 * --max-redrives is refused, and so is a reference-only dead letter (no
 * value was kept: the article is still at its original offset, which the
 * message names). --dry-run produces nothing and prints the same lines.
 *
 * Output: one JSON line per selected dead letter on stdout (what was sent,
 * or would be, or was refused and why), a summary on stderr. The producer
 * is idempotent with acks=all; a line says "sent" only once the broker has
 * acknowledged that message. Nothing is committed, no group is joined:
 * running it twice re-drives twice (at least once, as the consumer's
 * default; narrow the selection with --since/--until/--id).
 *
 * Exit: 0 every selected dead letter sent (or listable, --dry-run); 1 a
 * read or delivery error (the lines say what was sent); 2 usage, or the
 * cluster or topic cannot be reached; 3 some were refused, the rest sent.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dhatu_record.h"   /* DHATU_VERSION_STRING */
#include "kafka.h"
#include "log.h"

#define PROG "dhatu-redrive"
#define MAX_LIST 64         /* --reason and --id values */

typedef struct sel {
    const char *reasons[MAX_LIST], *ids[MAX_LIST];
    int nreasons, nids;
    int64_t since, until;   /* epoch ms; -1: open */
    const char *to;         /* NULL: the original topic */
    long max_redrives;
    int dry_run;
} sel;

/* Counts by outcome, and the classes met (for the summary). */
typedef struct tally {
    long read, not_dead_letters, selected, sent, failed, queued;
    long refused_reference, refused_limit, refused_origin;
    struct { char name[40]; long n; } classes[24];
    int nclasses;
} tally;

/* The program's state the delivery callback reaches through the opaque
 * (first member: kafka.h's events). */
typedef struct app {
    kafka_events kev;
    tally t;
    logger *lg;
} app;

static int header(rd_kafka_headers_t *h, const char *name, char *buf, size_t n)
{
    const void *v;
    size_t size;
    buf[0] = '\0';
    if (!h || rd_kafka_header_get_last(h, name, &v, &size) || !v) return 0;
    snprintf(buf, n, "%.*s", (int)size, (const char *)v);
    return 1;
}

/* The headers the consumer added when it dead-lettered the message, and
 * our own provenance: not copied back onto the article. */
static int dead_letter_header(const char *name)
{
    return !strncmp(name, "dhatu.error.", 12) || !strncmp(name, "dhatu.original.", 15) ||
           !strncmp(name, "dhatu.value.", 12) || !strcmp(name, "dhatu.processor") ||
           !strncmp(name, "dhatu.redrive.", 14);
}

static void count_class(tally *t, const char *cls)
{
    for (int i = 0; i < t->nclasses; i++)
        if (!strcmp(t->classes[i].name, cls)) {
            t->classes[i].n++;
            return;
        }
    if (t->nclasses < (int)(sizeof t->classes / sizeof t->classes[0])) {
        snprintf(t->classes[t->nclasses].name, sizeof t->classes[0].name, "%s", cls);
        t->classes[t->nclasses++].n = 1;
    }
}

static int in_list(const char *const *v, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(v[i]) == len && !memcmp(v[i], s, len)) return 1;
    return 0;
}

/* The JSON line about dead letter m: what happened to it (action), which
 * one it is; the caller adds fields, then emit prints it. */
static json_t *line_new(const rd_kafka_message_t *m, const char *action, const char *cls)
{
    json_t *o = json_object();
    json_object_set_new(o, "action", json_string(action));
    json_object_set_new(o, "dlq_partition", json_integer(m->partition));
    json_object_set_new(o, "dlq_offset", json_integer(m->offset));
    json_object_set_new(o, "class", json_string(cls));
    json_t *k = m->key ? json_stringn(m->key, m->key_len) : NULL;
    json_object_set_new(o, "key", k ? k : json_null());
    return o;
}

/* Prints line on stdout and releases it. */
static void emit(json_t *line)
{
    json_dumpf(line, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(line);
}

/* A refused dead letter's line: extra (owned) says why. */
static void refused_line(const rd_kafka_message_t *m, const char *cls, json_t *extra)
{
    json_t *o = line_new(m, "refused", cls);
    json_object_update(o, extra);
    json_decref(extra);
    emit(o);
}

/* A produced message's line, printed when the broker answers: the line
 * rides as the message's opaque (owned), the app as the configuration's. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    app *a = opaque;
    json_t *line = m->_private;
    if (m->err) {
        a->t.failed++;
        json_object_set_new(line, "action", json_string("failed"));
        json_object_set_new(line, "error", json_string(rd_kafka_err2str(m->err)));
        log_error(a->lg, "%s [%" PRId32 "]: %s", rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
    } else {
        a->t.sent++;
        json_object_set_new(line, "partition", json_integer(m->partition));
        json_object_set_new(line, "offset", json_integer(m->offset));
    }
    a->t.queued--;
    emit(line);
}

static void rfc3339_now(char *buf, size_t n)
{
    int64_t ms = clk_wall_ms();
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t w = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + w, n - w, ".%03dZ", (int)(ms % 1000));
}

/* Re-drives (or lists) dead letter m, selected. 0, or -1 when the producer
 * refuses the message outright (counted as failed). */
static int redrive(app *a, rd_kafka_t *prod, const rd_kafka_message_t *m, rd_kafka_headers_t *dh, const char *cls,
                   const char *dlq, const sel *s)
{
    char dropped[256], otopic[256], opart[32], ooff[32], ots[32], cnt[32], when[40], from[320];
    header(dh, "dhatu.value.dropped", dropped, sizeof dropped);
    int have_topic = header(dh, "dhatu.original.topic", otopic, sizeof otopic);
    header(dh, "dhatu.original.partition", opart, sizeof opart);
    header(dh, "dhatu.original.offset", ooff, sizeof ooff);
    long count = header(dh, "dhatu.redrive.count", cnt, sizeof cnt) ? strtol(cnt, NULL, 10) : 0;
    if (!m->payload || dropped[0]) {
        a->t.refused_reference++;
        log_warn(a->lg, "%s [%" PRId32 "] @%" PRId64 ": refused: a reference-only dead letter (%s), its value was "
                 "not kept; the article is still in %s [%s] at offset %s: produce it from there",
                 dlq, m->partition, m->offset, dropped[0] ? dropped : "no value", have_topic ? otopic : "?",
                 opart[0] ? opart : "?", ooff[0] ? ooff : "?");
        refused_line(m, cls, json_pack("{s:s}", "reason", "reference-only"));
        return 0;
    }
    if (count >= s->max_redrives) {
        a->t.refused_limit++;
        log_warn(a->lg, "%s [%" PRId32 "] @%" PRId64 ": refused: re-driven %ld time%s already (--max-redrives %ld)",
                 dlq, m->partition, m->offset, count, count == 1 ? "" : "s", s->max_redrives);
        refused_line(m, cls, json_pack("{s:s,s:I}", "reason", "redrive-limit", "redrive_count", (json_int_t)count));
        return 0;
    }
    if (!s->to && !have_topic) {
        a->t.refused_origin++;
        log_warn(a->lg, "%s [%" PRId32 "] @%" PRId64 ": refused: no dhatu.original.topic header (name a topic with "
                 "--to)", dlq, m->partition, m->offset);
        refused_line(m, cls, json_pack("{s:s}", "reason", "no-origin"));
        return 0;
    }
    const char *to = s->to ? s->to : otopic;
    /* Back where it was: the same partition keeps its order with the key's
     * other articles whatever partitioner first placed it; another topic
     * is partitioned by key. */
    char *end = NULL;
    long p = strtol(opart, &end, 10);
    int32_t partition = (!s->to && opart[0] && !*end && p >= 0) ? (int32_t)p : RD_KAFKA_PARTITION_UA;
    int64_t ts = -1;
    if (header(dh, "dhatu.original.timestamp", ots, sizeof ots)) ts = strtoll(ots, NULL, 10);
    else {
        rd_kafka_timestamp_type_t tt;
        ts = rd_kafka_message_timestamp(m, &tt);
    }
    json_t *line = line_new(m, s->dry_run ? "would-send" : "sent", cls);
    json_object_set_new(line, "to", json_string(to));
    json_object_set_new(line, "redrive_count", json_integer(count + 1));
    if (s->dry_run) {
        if (partition != RD_KAFKA_PARTITION_UA) json_object_set_new(line, "partition", json_integer(partition));
        emit(line);
        a->t.sent++;
        return 0;
    }
    /* The article's own headers, then the provenance. */
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; dh && rd_kafka_header_get_all(dh, i, &name, &val, &size) == 0; i++)
        if (!dead_letter_header(name)) rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
    snprintf(cnt, sizeof cnt, "%ld", count + 1);
    rfc3339_now(when, sizeof when);
    snprintf(from, sizeof from, "%s/%" PRId32 "/%" PRId64, dlq, m->partition, m->offset);
    rd_kafka_header_add(h, "dhatu.redrive.count", -1, cnt, -1);
    rd_kafka_header_add(h, "dhatu.redrive.time", -1, when, -1);
    rd_kafka_header_add(h, "dhatu.redrive.from", -1, from, -1);
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(to), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
                                RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(line), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(prod, 100);        /* the reports empty the queue */
    }
    if (err) {
        rd_kafka_headers_destroy(h);
        a->t.failed++;
        log_error(a->lg, "%s [%" PRId32 "] @%" PRId64 ": cannot produce to %s: %s", dlq, m->partition, m->offset, to,
                  rd_kafka_err2str(err));
        json_object_set_new(line, "action", json_string("failed"));
        json_object_set_new(line, "error", json_string(rd_kafka_err2str(err)));
        emit(line);
        return -1;
    }
    a->t.queued++;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " -b BROKERS -t DLQ_TOPIC [--reason CLASS]... [--since TIME] [--until TIME]\n"
               "       [--id ID]... [--to TOPIC] [--max-redrives N] [--dry-run] [-F FILE] [-X key=value]...\n"
               "Puts dead letters of dhatu-consumer back: each selected dead letter's original key, value and\n"
               "headers go to its original topic and partition (or to --to TOPIC, by key), with its original\n"
               "timestamp and the headers dhatu.redrive.count, dhatu.redrive.time and dhatu.redrive.from.\n"
               "  --reason CLASS   only this dhatu.error.class (repeat, or a comma list): too-large, unknown-schema...\n"
               "  --since, --until only dead letters whose timestamp (their article's) is at or after, at or\n"
               "                   before, TIME (epoch ms or RFC 3339 with its offset)\n"
               "  --id ID          only the dead letter whose key is ID (the article id; repeat for more)\n"
               "  --to TOPIC       produce there instead of the original topic\n"
               "  --max-redrives N refuse an article already re-driven N times (default 3)\n"
               "  --dry-run        produce nothing; print what would be sent\n"
               "Refused: reference-only dead letters (their value was not kept: the message says where the\n"
               "article still is) and articles at the re-drive limit. One JSON line per selected dead letter on\n"
               "stdout; a summary on stderr. Nothing is committed: running it twice re-drives twice.\n"
               "Exit: 0 all sent, 1 read or delivery errors, 2 usage or connection, 3 some refused.\n");
}

/* Appends a --reason or --id value (comma lists for --reason). */
static int add_values(const char **v, int *n, char *arg, int split)
{
    for (char *save = NULL, *tok = split ? strtok_r(arg, ",", &save) : arg; tok;
         tok = split ? strtok_r(NULL, ",", &save) : NULL) {
        if (*n == MAX_LIST) return -1;
        v[(*n)++] = tok;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = "127.0.0.1:9092", *dlq = NULL;
    sel s = { .since = -1, .until = -1, .max_redrives = 3 };
    kafka_items user = { 0 };
    app a;
    memset(&a, 0, sizeof a);
    logger lg;
    log_init(&lg, PROG, "redrive", LOG_INFO, LOG_TOOL);
    log_derive(&a.kev.log, &lg, "kafka");
    a.lg = &lg;
    long timeout_ms = 30000;
    char err[512];
    static const struct option lo[] = { { "brokers", required_argument, 0, 'b' },
        { "topic", required_argument, 0, 't' }, { "reason", required_argument, 0, 'r' },
        { "since", required_argument, 0, 'S' }, { "until", required_argument, 0, 'U' },
        { "id", required_argument, 0, 'i' }, { "to", required_argument, 0, 'o' },
        { "max-redrives", required_argument, 0, 'M' }, { "dry-run", no_argument, 0, 'n' },
        { "timeout-ms", required_argument, 0, 'T' }, { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:F:X:hV", lo, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'X':
        case 'F':
            if (kafka_items_option(&user, c, optarg, err, sizeof err)) {
                log_error(&lg, "%s", err);
                goto usage_error;
            }
            break;
        case 'V':
            kafka_version(err, sizeof err);
            printf(PROG " %s (%s)\n", DHATU_VERSION_STRING, err);
            kafka_items_free(&user);
            return 0;
        case 'b': brokers = optarg; break;
        case 't': dlq = optarg; break;
        case 'o': s.to = optarg; break;
        case 'n': s.dry_run = 1; break;
        case 'T': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'r':
        case 'i':
            if (c == 'r' ? add_values(s.reasons, &s.nreasons, optarg, 1) : add_values(s.ids, &s.nids, optarg, 0)) {
                log_error(&lg, "at most %d values of --reason and of --id", MAX_LIST);
                goto usage_error;
            }
            break;
        case 'M':
            s.max_redrives = strtol(optarg, &end, 10);
            if (!*optarg || *end || s.max_redrives < 1) {
                log_error(&lg, "--max-redrives %s: a count of 1 or more", optarg);
                goto usage_error;
            }
            break;
        case 'S':
        case 'U':
            if (clk_parse_time(optarg, c == 'S' ? &s.since : &s.until)) {
                log_error(&lg, "--%s %s: a time is epoch milliseconds or RFC 3339 with its offset",
                          c == 'S' ? "since" : "until", optarg);
                goto usage_error;
            }
            break;
        case 'h':
            usage(stdout);
            kafka_items_free(&user);
            return 0;
        default:
            usage(stderr);
            goto usage_error;
        }
    }
    if (!dlq || optind < argc) {
        log_error(&lg, optind < argc ? "unexpected argument %s" : "-t DLQ_TOPIC is required",
                  optind < argc ? argv[optind] : "");
        goto usage_error;
    }
    if (s.to && !strcmp(s.to, dlq)) {
        log_error(&lg, "--to %s is the dead-letter topic itself", s.to);
        goto usage_error;
    }
    /* The reader: no group joined, nothing committed. The writer:
     * idempotent, every replica, so a retry never duplicates an article. */
    kafka_prop cprops[] = {
        { "bootstrap.servers", brokers, NULL },
        { "group.id", "dhatu-redrive", NULL },
        { "enable.auto.commit", "false", "dhatu-redrive never commits offsets" },
        { "enable.partition.eof", "true", "dhatu-redrive stops at the end of every partition" },
        { "isolation.level", "read_committed", "a dead letter of an aborted transaction was never delivered" },
    };
    kafka_prop pprops[] = {
        { "bootstrap.servers", brokers, NULL },
        { "enable.idempotence", "true", "retries never duplicate or reorder re-driven articles" },
        { "acks", "all", "an article counts as re-driven only once every in-sync replica has it" },
    };
    if (kafka_conf_check(cprops, 5, user.v, user.n, err, sizeof err) ||
        kafka_conf_check(pprops, 3, user.v, user.n, err, sizeof err)) {
        log_error(&lg, "%s", err);
        goto usage_error;
    }
    rd_kafka_t *cons = NULL, *prod = NULL;
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(cc, &a);
    rd_kafka_conf_set_opaque(pc, &a);
    kafka_route_events(cc);
    kafka_route_events(pc);
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    if (kafka_conf_apply(cc, cprops, 5, user.v, user.n, err, sizeof err) ||
        !(cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err)))
        rd_kafka_conf_destroy(cc);
    if (cons && (kafka_conf_apply(pc, pprops, 3, user.v, user.n, err, sizeof err) ||
                 !(prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err))))
        rd_kafka_conf_destroy(pc);
    else if (!cons)
        rd_kafka_conf_destroy(pc);
    kafka_items_free(&user);
    if (!cons || !prod) {
        log_error(&lg, "%s", err);
        if (cons) rd_kafka_destroy(cons);
        return 2;
    }
    int nparts = 0, status = 0;
    if (kafka_partition_count(cons, dlq, 15000, &nparts, err, sizeof err) || nparts <= 0) {
        log_error(&lg, "%s", nparts <= 0 && !err[0] ? "no partitions" : err);
        rd_kafka_destroy(prod);
        rd_kafka_destroy(cons);
        return 2;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(l, dlq, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(cons, l);
    rd_kafka_topic_partition_list_destroy(l);
    int eofs = 0;
    long idle = 0;
    while (eofs < nparts && idle < timeout_ms && !atomic_load(&a.kev.fatal)) {
        rd_kafka_poll(prod, 0);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m) { idle += 100; continue; }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            log_error(&lg, "%s: %s", dlq, rd_kafka_message_errstr(m));
            status = 1;
        } else {
            a.t.read++;
            rd_kafka_headers_t *dh = NULL;
            char cls[40];
            rd_kafka_timestamp_type_t tt;
            int64_t ts = rd_kafka_message_timestamp(m, &tt);
            if (rd_kafka_message_headers(m, &dh) || !header(dh, "dhatu.error.class", cls, sizeof cls)) {
                /* Never re-drive what dhatu-consumer did not dead-letter. */
                if (!a.t.not_dead_letters++)
                    log_warn(&lg, "%s [%" PRId32 "] @%" PRId64 ": not a dead letter (no dhatu.error.class header): "
                             "skipped, as every such message is", dlq, m->partition, m->offset);
            } else {
                count_class(&a.t, cls);
                if ((!s.nreasons || in_list(s.reasons, s.nreasons, cls, strlen(cls))) &&
                    (s.since < 0 || ts >= s.since) && (s.until < 0 || ts <= s.until) &&
                    (!s.nids || (m->key && in_list(s.ids, s.nids, m->key, m->key_len)))) {
                    a.t.selected++;
                    if (redrive(&a, prod, m, dh, cls, dlq, &s)) status = 1;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (atomic_load(&a.kev.fatal)) {
        log_error(&lg, "stopped: %s", a.kev.fatal_reason);
        status = 1;
    } else if (eofs < nparts) {
        log_error(&lg, "stopped after %ld ms without reaching the end of every partition of %s", timeout_ms, dlq);
        status = 1;
    }
    /* Every sent line waits for its acknowledgement. */
    rd_kafka_flush(prod, (int)(timeout_ms > 60000 ? timeout_ms : 60000));
    if (a.t.queued > 0) {
        log_error(&lg, "%ld messages not acknowledged before the timeout: they may or may not have been delivered",
                  a.t.queued);
        status = 1;
    }
    if (a.t.failed) status = 1;
    long refused = a.t.refused_reference + a.t.refused_limit + a.t.refused_origin;
    if (!status && refused) status = 3;
    char classes[1024] = "";
    size_t w = 0;
    for (int i = 0; i < a.t.nclasses && w < sizeof classes; i++)
        w += (size_t)snprintf(classes + w, sizeof classes - w, "%s%s %ld", i ? ", " : "", a.t.classes[i].name,
                              a.t.classes[i].n);
    log_info(&lg, "%s: %ld dead letters read (%s%s), %ld selected, %ld %s%s, %ld refused (%ld reference-only, %ld at "
             "the re-drive limit, %ld without an origin), %ld failed%s",
             dlq, a.t.read, a.t.nclasses ? classes : "none", a.t.not_dead_letters ? "; and messages without a class" : "",
             a.t.selected, a.t.sent, s.dry_run ? "would be sent" : "sent",
             s.to ? " to --to" : "", refused, a.t.refused_reference, a.t.refused_limit, a.t.refused_origin,
             a.t.failed, s.nreasons && !a.t.selected ? " (no dead letter of the classes asked for)" : "");
    if (fflush(stdout) || ferror(stdout)) {
        log_error(&lg, "cannot write to stdout: %s", strerror(errno));
        status = 1;
    }
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    return status;

usage_error:
    kafka_items_free(&user);
    return 2;
}
