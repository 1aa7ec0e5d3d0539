/* dhatu-producer -- feeds articles (JSON Lines or CSV) into a Kafka topic.
 *
 * Each input article becomes one message keyed by its id, encoded as Avro
 * single-object (default), JSON, or Avro with the Confluent framing of a
 * schema registry (schema_avro.h, registry.h). The producer is
 * idempotent (no duplicates or reordering on retries). A bad input line is
 * reported as FILE:LINE: offset N: reason and skipped (schemas/articles.h).
 * At the end, or on SIGINT/SIGTERM, it waits for the acknowledgements
 * (a second signal stops waiting) and says how many articles the broker
 * acknowledged; the exit status is non-zero when any was not.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

#include "articles.h"
#include "kafka.h"
#include "log.h"
#include "registry.h"
#include "schema_avro.h"

#define PROG "dhatu-producer"
#define MAX_LINE (64u << 20)

/* Exit statuses (docs: dhatu-producer --help). */
enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2, EXIT_UNACKED = 3, EXIT_INTERRUPTED = 130 };

/* The one file-scope mutable: signals seen (a second one stops the flush). */
static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

typedef struct producer {
    kafka_events kev;           /* first: kafka.h finds it through the opaque */
    logger log;                 /* [input] and results */
    rd_kafka_t *rk;
    const char *topic;
    schema_codec *codec;
    schema_format fmt;
    dbuf out;
    int64_t limit, rate;
    int progress;
    uint64_t produced, acked, failed, total_bytes, consumed;
    int64_t started_ns, last_progress_ns;
    rd_kafka_resp_err_t first_error;
} producer;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    producer *p = opaque;
    if (m->err) {
        if (!p->failed) p->first_error = m->err;
        p->failed++;
    } else {
        p->acked++;
    }
}

static void progress(producer *p, int final)
{
    if (!p->progress) return;
    int64_t t = clk_now_ns();
    if (!final && t - p->last_progress_ns < 200000000) return;
    p->last_progress_ns = t;
    double secs = (double)(t - p->started_ns) / 1e9, rate = secs > 0 ? (double)p->produced / secs : 0;
    char eta[48] = "";
    if (p->total_bytes && p->consumed && secs > 0.5) {
        double frac = (double)p->consumed / (double)p->total_bytes;
        snprintf(eta, sizeof eta, " %3.0f%% ETA %.0fs", frac * 100, frac > 0 ? secs / frac - secs : 0);
    }
    fprintf(stderr, "\r%s: %" PRIu64 " produced, %" PRIu64 " acked, %.0f/s%s\033[K%s", PROG, p->produced,
            p->acked, rate, eta, final ? "\n" : "");
}

static void pace(producer *p)
{
    if (p->rate <= 0) return;
    int64_t due = p->started_ns + (int64_t)((double)p->produced * 1e9 / (double)p->rate);
    int64_t t = clk_now_ns();
    while (t < due && !signals_seen) {
        rd_kafka_poll(p->rk, (int)((due - t) / 1000000));   /* serve reports while waiting */
        t = clk_now_ns();
    }
}

static void on_bad(void *ctx, const char *msg)
{
    producer *p = ctx;
    if (p->progress) fputs("\r\033[K", stderr);
    log_error(&p->log, "%s", msg);
}

/* articles_fn: encodes and produces one article. */
static articles_verdict send_article(void *ctx, const articles_where *w, const schema_article *a, char *why,
                                     size_t wn)
{
    producer *p = ctx;
    if (signals_seen || atomic_load(&p->kev.fatal)) return ARTICLE_STOP;
    p->consumed = w->consumed;
    if (schema_codec_encode_article(p->codec, p->fmt, a, &p->out, why, wn)) return ARTICLE_REJECTED;
    pace(p);
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(a->id, a->id_len),
            RD_KAFKA_V_VALUE(p->out.data, p->out.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !signals_seen) {
            rd_kafka_poll(p->rk, 50);
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            snprintf(why, wn, "article larger than message.max.bytes (set -X message.max.bytes=...)");
            return ARTICLE_REJECTED;
        }
        if (e) {
            log_error(&p->log, "produce to %s: %s", p->topic, rd_kafka_err2str(e));
            return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? ARTICLE_STOP : ARTICLE_FATAL;
        }
        break;
    }
    p->produced++;
    rd_kafka_poll(p->rk, 0);
    progress(p, 0);
    return p->limit > 0 && (int64_t)p->produced >= p->limit ? ARTICLE_STOP : ARTICLE_TAKEN;
}

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: " PROG " [options] [FILE...]   (no FILE or '-': standard input)\n"
        "Feeds articles (JSON Lines, or CSV with a header row) into a Kafka topic, keyed by id.\n\n"
        "  -b, --brokers LIST      bootstrap servers (default 127.0.0.1:9092)\n"
        "  -t, --topic TOPIC       topic (default articles)\n"
        "  -f, --format FMT        avro (default: single-object encoding), json, or avro-registry\n"
        "                          (Confluent framing: the schema registered under TOPIC-value)\n"
        "      --registry URL      schema registry for avro-registry (also -X schema.registry.url=,\n"
        "                          schema.registry.basic.auth.user.info=, schema.registry.ssl.ca.location=)\n"
        "      --csv               input is CSV (default: by the .csv extension)\n"
        "  -z, --compression C     none, gzip, snappy, lz4 (default), zstd\n"
        "  -F FILE                 librdkafka properties, key=value lines (security: deploy/local/kafka.sh\n"
        "                          writes one per principal); later -X items win\n"
        "  -X key=value            any librdkafka property (repeatable); it wins over the defaults\n"
        "                          above, except enable.idempotence=true and acks=all (refused)\n"
        "      --rate N            at most N articles per second\n"
        "      --limit N           stop after N articles\n"
        "      --startup-timeout MS  how long the start-up check waits for the brokers and the\n"
        "                          topic (default 15000)\n"
        "  -q, --quiet             no progress line or summary\n"
        "  -h, --help;  -V, --version\n\n"
        "Input fields: id (string or integer) and text are required; title, lang, source, url and\n"
        "published (ms since the epoch or RFC 3339) are optional.\n"
        "SIGINT/SIGTERM: stop reading, wait for the acknowledgements of what was produced (a second\n"
        "signal stops waiting), report, exit.\n"
        "Exit status: 0 all acknowledged; 1 some input lines were bad (skipped); 2 usage, input or\n"
        "connection error; 3 some articles were not acknowledged by the broker; 130 interrupted\n"
        "(everything produced was acknowledged).\n");
}

typedef struct options {
    const char *brokers, *compression, *registry;
    int csv, quiet;
    int startup_ms;             /* --startup-timeout; 0: 15000 */
    kafka_items user;           /* -F lines and -X items, in command-line order */
} options;

/* Returns -1 to go on, else an exit status. */
static int parse_args(producer *p, options *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "brokers", required_argument, 0, 'b' }, { "topic", required_argument, 0, 't' },
        { "format", required_argument, 0, 'f' },  { "csv", no_argument, 0, 'C' },
        { "compression", required_argument, 0, 'z' }, { "rate", required_argument, 0, 'r' },
        { "limit", required_argument, 0, 'l' },   { "quiet", no_argument, 0, 'q' },
        { "registry", required_argument, 0, 'R' }, { "startup-timeout", required_argument, 0, 'S' },
        { "help", no_argument, 0, 'h' },          { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 } };
    int c;
    char err[512];
    while ((c = getopt_long(argc, argv, "b:t:f:z:F:X:qhV", lo, NULL)) != -1) {
        switch (c) {
        case 'b': o->brokers = optarg; break;
        case 't': p->topic = optarg; break;
        case 'f':
            if (!strcmp(optarg, "avro")) p->fmt = SCHEMA_FMT_AVRO;
            else if (!strcmp(optarg, "json")) p->fmt = SCHEMA_FMT_JSON;
            else if (!strcmp(optarg, "avro-registry")) p->fmt = SCHEMA_FMT_AVRO_REGISTRY;
            else { log_error(&p->log, "--format: avro, json or avro-registry"); return EXIT_USAGE; }
            break;
        case 'C': o->csv = 1; break;
        case 'R': o->registry = optarg; break;
        case 'z': o->compression = optarg; break;
        case 'r': p->rate = strtoll(optarg, NULL, 10); break;
        case 'l': p->limit = strtoll(optarg, NULL, 10); break;
        case 'S': {
            char *end;
            long long ms = strtoll(optarg, &end, 10);
            if (*end || ms < 100 || ms > 600000) {
                log_error(&p->log, "--startup-timeout: milliseconds, 100 to 600000");
                return EXIT_USAGE;
            }
            o->startup_ms = (int)ms;
            break;
        }
        case 'q': o->quiet = 1; break;
        case 'X':
        case 'F':
            if (kafka_items_option(&o->user, c, optarg, err, sizeof err)) { log_error(&p->log, "%s", err); return EXIT_USAGE; }
            break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V':
            kafka_version(err, sizeof err);
            printf(PROG " %s (%s)\n", DHATU_VERSION_STRING, err);
            return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    return -1;
}

/* avro-registry: the article schema's id under TOPIC-value, registered if
 * new. A registry that does not answer is an error here (nothing has been
 * read yet, so nothing is lost by stopping). */
static int register_schema(producer *p, const registry_props *rp, char *err, size_t en)
{
    if (!rp->url) {
        snprintf(err, en, "--format avro-registry needs --registry URL (or -X schema.registry.url=URL)");
        return -1;
    }
    registry_config rc = { .url = rp->url, .ca_file = rp->ca_file, .user = rp->user, .password = rp->password };
    registry *r;
    char subject[512], msg[512];
    snprintf(subject, sizeof subject, "%s-value", p->topic);
    uint32_t id = 0;
    registry_status st = registry_create(&r, &rc, msg, sizeof msg);
    if (!st) st = registry_register(r, subject, schema_article_avsc_text, &id, msg, sizeof msg);
    registry_destroy(r);
    if (st) {
        snprintf(err, en, "%s", msg);
        return -1;
    }
    schema_codec_set_registry_ids(p->codec, id, 0);
    log_info(&p->log, "articles framed with registry schema id %u (subject %s)", id, subject);
    return 0;
}

/* The client: defaults, the user's -X over them, the cluster check. */
static int connect_cluster(producer *p, const options *o, char *err, size_t en)
{
    kafka_prop props[] = {
        { "bootstrap.servers", o->brokers, NULL },
        { "enable.idempotence", "true", "retries never duplicate or reorder articles" },
        { "acks", "all", "an article counts as delivered only once every in-sync replica has it" },
        { "compression.codec", o->compression, NULL },
        { "linger.ms", "20", NULL },
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_apply(conf, props, 5, o->user.v, o->user.n, err, en)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    const char *brokers = kafka_conf_user_value(o->user.v, o->user.n, "bootstrap.servers", o->brokers);
    const char *old = kafka_version_warning(o->user.v, o->user.n);
    if (old) log_warn(&p->log, "librdkafka %s: %s", rd_kafka_version_str(), old);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    kafka_route_events(conf);
    char msg[512];
    if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg))) {
        snprintf(err, en, "%s", msg);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    /* Fail fast when the brokers or the topic are not there. */
    const char *topics[1] = { p->topic };
    return kafka_check_topics(p->rk, brokers, topics, 1, o->startup_ms ? o->startup_ms : 15000, err, en);
}

/* Waits for the acknowledgements (message.timeout.ms bounds it; a second
 * signal ends the wait). */
static void drain(producer *p, int interrupted)
{
    if (interrupted && p->produced > p->acked + p->failed)
        log_info(&p->log, "interrupted: waiting for %" PRIu64 " acknowledgements (signal again to stop waiting)",
                 p->produced - p->acked - p->failed);
    int limit = interrupted ? 1 : 0;
    while (rd_kafka_outq_len(p->rk) > 0 && p->acked + p->failed < p->produced && signals_seen <= limit) {
        rd_kafka_poll(p->rk, 100);
        progress(p, 0);
    }
    if (signals_seen <= limit) rd_kafka_flush(p->rk, 10000);
    progress(p, 1);
}

int main(int argc, char **argv)
{
    producer p;
    memset(&p, 0, sizeof p);
    options o = { .brokers = "127.0.0.1:9092", .compression = "lz4" };
    log_init(&p.log, PROG, "input", LOG_INFO, LOG_TOOL);
    log_derive(&p.kev.log, &p.log, "kafka");
    p.topic = "articles";
    int rc = parse_args(&p, &o, argc, argv);
    if (rc >= 0) {
        kafka_items_free(&o.user);
        return rc;
    }
    char err[1024] = "";
    int status = EXIT_OK;
    registry_props rp = { 0 };
    int bad = registry_take_props(o.user.v, &o.user.n, &rp, err, sizeof err);
    if (!bad && o.registry) {
        free(rp.url);
        bad = !(rp.url = strdup(o.registry));
    }
    if (bad || connect_cluster(&p, &o, err, sizeof err) || schema_codec_create(&p.codec, err, sizeof err) ||
        (p.fmt == SCHEMA_FMT_AVRO_REGISTRY && register_schema(&p, &rp, err, sizeof err))) {
        log_error(&p.log, "%s", err);
        status = EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    p.progress = !o.quiet && isatty(STDERR_FILENO);
    p.started_ns = clk_now_ns();
    articles_counts n = { 0, 0 };
    int nfiles = argc - optind;
    for (int i = 0; status == EXIT_OK && i < (nfiles ? nfiles : 1); i++) {
        /* One file at a time, for the progress line's total. */
        char *name = nfiles ? argv[optind + i] : "-";
        struct stat sb;
        p.total_bytes = strcmp(name, "-") && stat(name, &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
        articles_opts ao = { MAX_LINE, o.csv, send_article, on_bad, &p };
        articles_status st = articles_read_files(&name, 1, &ao, &n, err, sizeof err);
        if (st == ARTICLES_FAILED) {
            if (*err) log_error(&p.log, "%s", err);
            status = EXIT_USAGE;
        }
        if (st == ARTICLES_STOPPED) break;
    }
    int interrupted = signals_seen > 0;
    if (p.rk) drain(&p, interrupted);
    if (atomic_load(&p.kev.fatal)) status = EXIT_USAGE;
    double secs = (double)(clk_now_ns() - p.started_ns) / 1e9;
    uint64_t unacked = p.produced - p.acked;
    if (p.rk && (!o.quiet || unacked || status || interrupted))
        log_write(&p.log, unacked || status ? LOG_ERROR : LOG_INFO,
                  "%s%" PRIu64 " articles read, %" PRIu64 " produced to %s, %" PRIu64 " acknowledged, %" PRIu64
                  " failed%s%s, %" PRIu64 " not acknowledged, %" PRIu64 " bad lines skipped; %.2f s, %.0f articles/s",
                  interrupted ? "interrupted: " : "", n.articles, p.produced, p.topic, p.acked, p.failed,
                  p.failed ? ": " : "", p.failed ? rd_kafka_err2str(p.first_error) : "", unacked, n.skipped, secs,
                  secs > 0 ? (double)p.acked / secs : 0);
    dbuf_free(&p.out);
    schema_codec_destroy(p.codec);
    if (p.rk) rd_kafka_destroy(p.rk);
    kafka_items_free(&o.user);
    registry_props_free(&rp);
    if (unacked) return EXIT_UNACKED;
    if (status) return status;
    if (interrupted) return EXIT_INTERRUPTED;
    return n.skipped ? EXIT_BAD_INPUT : EXIT_OK;
}
