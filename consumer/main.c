/* dhatu-consumer -- a Kafka consumer-group member that turns articles into
 * dhātu records. This file: the command line, setting up one struct
 * consumer, the summary, and the one cleanup path. How the member works is
 * in consumer.h; docs/DELIVERY.md says what it guarantees.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consumer.h"

/* The one file-scope mutable: what a signal handler may write. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int64_t now_ms(void) { return now_ns() / 1000000; }

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void consumer_fail(consumer *c, int status)
{
    int expected = 0;
    atomic_compare_exchange_strong(&c->fatal, &expected, status);
}

/* ---- command line */

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: " PROG " [options]\n"
        "Consumes articles from Kafka (consumer group), vectorizes them and produces dhatu records.\n\n"
        "  -c, --config FILE         libconfig file (deploy/local/dhatu-consumer.conf documents it)\n"
        "  -b, --brokers LIST        kafka.brokers\n"
        "  -g, --group ID            kafka.group_id\n"
        "  -t, --input TOPICS        topics.input (comma-separated)\n"
        "  -o, --output TOPIC        topics.output\n"
        "  -d, --dead-letter TOPIC   topics.dead_letter\n"
        "  -B, --backend NAME        engine.backend (cpu-ref, cpu, opencl, cuda, auto)\n"
        "  -m, --model NAME          engine.model (lexicon, seed)\n"
        "  -F FILE                   kafka.properties_file: librdkafka properties, key=value lines\n"
        "                            (security: deploy/local/kafka.sh writes one per principal)\n"
        "  -X key=value              a librdkafka property (repeatable); it wins over our defaults,\n"
        "                            except those the delivery guarantee rests on (refused)\n"
        "  -s path=value             any setting below (repeatable)\n"
        "      --exactly-once        delivery.mode=exactly-once\n"
        "      --format avro|json    delivery.output_format\n"
        "      --exit-idle MS        lifecycle.exit_idle_ms: exit once drained and idle\n"
        "      --exit-after N        lifecycle.exit_after: exit after N articles\n"
        "      --print-config        print the effective configuration (secrets masked) and exit\n"
        "      --help-config         the settings as a Markdown table (docs/CONFIGURATION.md)\n"
        "      --help-metrics        the metric families of /metrics (docs/MONITORING.md)\n"
        "      --passthrough         benchmark baseline: decode, encode an empty record, produce,\n"
        "                            commit; the engine is skipped (records are NOT dhatu vectors)\n"
        "  -q, --quiet               warnings and errors only\n"
        "  -v, --verbose             debug lines too (librdkafka's: add -X debug=cgrp,...)\n"
        "  -h, --help                this help;  -V, --version\n\n"
        "Exit status: 0 clean, 1 configuration or start-up error, 2 shutdown deadline passed with\n"
        "work unacknowledged (it will be redone), 3 fatal runtime error.\n\nSettings:\n");
    ccfg_print_help(f);
}

enum { O_EOS = 256, O_FORMAT, O_EXIT_IDLE, O_EXIT_AFTER, O_PRINT, O_PASSTHROUGH, O_HELP_CONFIG, O_HELP_METRICS };
static const struct option longopts[] = {
    { "config", required_argument, 0, 'c' },      { "brokers", required_argument, 0, 'b' },
    { "group", required_argument, 0, 'g' },       { "input", required_argument, 0, 't' },
    { "output", required_argument, 0, 'o' },      { "dead-letter", required_argument, 0, 'd' },
    { "backend", required_argument, 0, 'B' },     { "model", required_argument, 0, 'm' },
    { "properties", required_argument, 0, 'F' },
    { "exactly-once", no_argument, 0, O_EOS },    { "format", required_argument, 0, O_FORMAT },
    { "exit-idle", required_argument, 0, O_EXIT_IDLE }, { "exit-after", required_argument, 0, O_EXIT_AFTER },
    { "print-config", no_argument, 0, O_PRINT },  { "quiet", no_argument, 0, 'q' },
    { "verbose", no_argument, 0, 'v' },
    { "help", no_argument, 0, 'h' },              { "version", no_argument, 0, 'V' },
    { "passthrough", no_argument, 0, O_PASSTHROUGH },
    { "help-config", no_argument, 0, O_HELP_CONFIG }, { "help-metrics", no_argument, 0, O_HELP_METRICS },
    { 0, 0, 0, 0 }
};
#define SHORTOPTS "c:b:g:t:o:d:B:m:F:X:s:qvhV"

/* Fills c->cfg from defaults, the file and the flags. Returns -1 to go on,
 * else an exit status (after printing what was asked or what is wrong). */
static int parse_args(consumer *c, int argc, char **argv, int *print, int *quiet)
{
    char err[512];
    int opt;
    ccfg_defaults(&c->cfg);
    /* First pass: the file, so that flags override it whatever their order. */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
        if (opt == 'c' && ccfg_load_file(&c->cfg, optarg, err, sizeof err)) goto bad;
    optind = 0;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
        char kv[1024];
        const char *path = NULL;
        switch (opt) {
        case 'c': continue;
        case 'b': path = "kafka.brokers"; break;
        case 'g': path = "kafka.group_id"; break;
        case 't': path = "topics.input"; break;
        case 'o': path = "topics.output"; break;
        case 'd': path = "topics.dead_letter"; break;
        case 'B': path = "engine.backend"; break;
        case 'm': path = "engine.model"; break;
        case 'F': path = "kafka.properties_file"; break;
        case O_FORMAT: path = "delivery.output_format"; break;
        case O_EXIT_IDLE: path = "lifecycle.exit_idle_ms"; break;
        case O_EXIT_AFTER: path = "lifecycle.exit_after"; break;
        case O_EOS: optarg = "exactly-once"; path = "delivery.mode"; break;
        case 'X':
            if (ccfg_add_librdkafka(&c->cfg, optarg, err, sizeof err)) goto bad;
            continue;
        case 's':
            if (ccfg_set(&c->cfg, optarg, err, sizeof err)) goto bad;
            continue;
        case O_PRINT: *print = 1; continue;
        case O_PASSTHROUGH: c->passthrough = 1; continue;
        case 'q': *quiet = 1; continue;
        case 'v': *quiet = -1; continue;
        case 'h': usage(stdout); return EXIT_CLEAN;
        case O_HELP_CONFIG: ccfg_print_markdown(stdout); return EXIT_CLEAN;
        case O_HELP_METRICS: exporter_print_families(stdout); return EXIT_CLEAN;
        case 'V': {
            char v[512];
            kafka_version(v, sizeof v);
            printf(PROG " %s (%s)\n", DHATU_VERSION_STRING, v);
            return EXIT_CLEAN;
        }
        default: usage(stderr); return EXIT_CONFIG;
        }
        snprintf(kv, sizeof kv, "%s=%s", path, optarg);
        if (ccfg_set(&c->cfg, kv, err, sizeof err)) goto bad;
    }
    if (optind < argc) {
        snprintf(err, sizeof err, "unexpected argument %s", argv[optind]);
        goto bad;
    }
    if (ccfg_validate(&c->cfg, err, sizeof err)) goto bad;
    return -1;
bad:
    log_error(&c->log, "%s", err);
    return EXIT_CONFIG;
}

/* Peak resident memory, from /proc (Linux), in MiB; -1 when unknown. */
static long peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static void summary(consumer *c, int status)
{
    consumer_stats *s = &c->stats;
    double secs = (double)(now_ms() - s->started_ms) / 1000.0;
    uint64_t n = atomic_load(&s->consumed), dead = 0;
    for (int i = 0; i < DL_NCLASSES; i++) dead += atomic_load(&s->dead_by[i]);
    int64_t last_ack = atomic_load(&s->last_ack_ms);
    int64_t busy_ms = s->first_msg_ms && last_ack > s->first_msg_ms ? last_ack - s->first_msg_ms : 0;
    char line[1024], more[256] = "";
    int k = snprintf(line, sizeof line,
             "%s: %" PRIu64 " articles consumed, %" PRIu64 " records, %" PRIu64
             " dead-lettered, %" PRIu64 " acknowledged, %" PRIu64 " delivery failures; %.1f s, "
             "%.0f articles/s, %.2f MB/s in; backend %s, model %s, %s; %" PRIu64 " rebalances",
             status == EXIT_CLEAN ? "clean exit" : status == EXIT_UNCLEAN ? "UNCLEAN exit" : "FAILED",
             n, atomic_load(&s->produced), dead, atomic_load(&s->delivered), atomic_load(&s->delivery_failed), secs,
             secs > 0 ? (double)n / secs : 0.0, secs > 0 ? (double)atomic_load(&s->in_bytes) / secs / 1e6 : 0.0,
             c->st.engine ? dhatu_engine_backend(c->st.engine) : "-", c->cfg.model, c->cfg.mode,
             (uint64_t)atomic_load(&s->rebalances));
    if (busy_ms > 0 && k > 0 && (size_t)k < sizeof line)
        k += snprintf(line + k, sizeof line - (size_t)k,
                      "; first article to last acknowledgement %.3f s: %.0f articles/s, %.2f MB/s", busy_ms / 1e3,
                      (double)n * 1e3 / (double)busy_ms, (double)atomic_load(&s->in_bytes) / 1e3 / (double)busy_ms);
    if (c->cfg.exactly_once)
        snprintf(more, sizeof more, "; %" PRIu64 " transactions committed, %" PRIu64 " aborted", s->txn_commits,
                 s->txn_aborts);
    if (c->st.reg) {
        size_t m = strlen(more);
        snprintf(more + m, sizeof more - m, "; registry: %" PRIu64 " requests, %" PRIu64 " failed, %" PRIu64
                 " cache hits", (uint64_t)atomic_load(&s->registry_requests),
                 (uint64_t)atomic_load(&s->registry_failures), (uint64_t)atomic_load(&s->registry_cache_hits));
    }
    /* The summary is the run's result: printed even with -q. */
    log_write(&c->log, status ? LOG_ERROR : LOG_INFO, "%s; peak RSS %ld MiB%s%s", line, peak_rss_mib(),
              c->passthrough ? "; PASSTHROUGH (no engine)" : "", more);
}

static void stats_init(consumer_stats *s)
{
    static const double size_b[] = { 1, 4, 16, 64, 128, 256, 512, 1024, 2048, 4096 };
    static const double sec_b[] = { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                    5, 10 };
    static const double e2e_b[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800 };
    metrics_hist_init(&s->batch_articles, size_b, 10, 1);
    for (int i = 0; i < 3; i++) metrics_hist_init(&s->stage[i], sec_b, 15, 1e-9);
    metrics_hist_init(&s->produce_ack, sec_b, 15, 1e-9);
    metrics_hist_init(&s->e2e, e2e_b, 15, 1e-9);
    pthread_mutex_init(&s->stats_mu, NULL);
    s->started_ms = now_ms();
    s->start_wall_s = (double)wall_ms() / 1000.0;
    atomic_store(&s->heartbeat_ms, now_ms());
}

/* A transactional call outlived its timeout by this much: librdkafka will
 * not return from it (watchdog.h). Generous: a slow coordinator is not a
 * hung one. */
#define WATCHDOG_GRACE_MS 30000

/* Ends the process from the watchdog's thread: the polling thread is stuck
 * inside librdkafka, so no orderly shutdown can run. Nothing is lost: the
 * open transaction was never committed (the coordinator aborts it after
 * transaction.timeout.ms), so its input is redone by whoever restarts this
 * member or takes its partitions. Status 3, as for any fatal error. */
static void watchdog_exit(void *arg, const char *call)
{
    consumer *c = arg;
    log_error(&c->log, "FAILED: exiting with status %d while blocked in %s; the open transaction is not committed, "
                       "so its input will be consumed again", EXIT_FATAL, call);
    _exit(EXIT_FATAL);
}

/* Everything up to the first poll. 0, or -1 after logging why. */
static int start(consumer *c)
{
    char err[512];
    if (client_check_overrides(c, err, sizeof err) || stage_init(c, err, sizeof err)) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    const char *old = kafka_version_warning(c->cfg.kafka_props.v, c->cfg.kafka_props.n);
    if (old) log_warn(&c->log, "librdkafka %s: %s", rd_kafka_version_str(), old);
    /* Before 2.6.1 a commit that meets a cooperative rebalance loses the
     * assignment (librdkafka#4059): eager is the safe choice there.
     * (Exactly-once used range too for a while, for a stall that turned
     * out to be librdkafka's send_offsets_to_transaction hanging under any
     * assignor: watchdog.h.) */
    int old_lib = rd_kafka_version() < 0x020601ff;
    if (old_lib && !strcmp(c->cfg.assignor, "cooperative-sticky") && strcmp(c->cfg.group_protocol, "consumer")) {
        log_warn(&c->log, "librdkafka %s predates the cooperative commit fix (#4059): kafka.assignor range "
                 "instead of cooperative-sticky (scripts/rdkafka.sh builds 2.12.0)", rd_kafka_version_str());
        if (ccfg_set(&c->cfg, "kafka.assignor=range", err, sizeof err)) {
            log_error(&c->log, "%s", err);
            return -1;
        }
    }
    if (track_table_init(&c->tracks, 4096, (uint32_t)(c->cfg.max_unacked + c->cfg.batch_articles))) {
        log_error(&c->log, "out of memory");
        return -1;
    }
    if (!(c->producer = client_producer(c, err, sizeof err)) || client_check_cluster(c, err, sizeof err) ||
        !(c->consumer = client_consumer(c, err, sizeof err))) {
        log_error(&c->log, "%s", err);
        return -1;
    }
    log_info(&c->log, "backend %s (%s), model %s, %s, output %s", dhatu_engine_backend(c->st.engine),
             dhatu_engine_describe(c->st.engine), dhatu_engine_model_id(c->st.engine), c->cfg.mode,
             c->cfg.output_format);
    /* KIP-848 assigns incrementally too (rd_kafka_rebalance_protocol says so). */
    c->cooperative = !strcmp(c->cfg.assignor, "cooperative-sticky") || !strcmp(c->cfg.group_protocol, "consumer");
    if (c->cfg.http_port >= 0) {
        if (!(c->http = http_start(c->cfg.http_address, (int)c->cfg.http_port, exporter_on_http, c, err,
                                   sizeof err))) {
            log_error(&c->log, "http: %s", err);
            return -1;
        }
        log_info(&c->log, "metrics and probes on http://%s:%d/metrics, /health, /ready", c->cfg.http_address,
                 http_port(c->http));
    }
    if (*c->cfg.registry_url) log_info(&c->log, "schema registry %s", c->cfg.registry_url);
    if (stage_register_output(c)) return -1;
    if (c->cfg.exactly_once) {
        if (watchdog_start(&c->wd, &c->log, WATCHDOG_GRACE_MS, watchdog_exit, c)) {
            log_error(&c->log, "cannot start the watchdog thread");
            return -1;
        }
        watchdog_arm(&c->wd, "init_transactions", 60000);
        rd_kafka_error_t *e = rd_kafka_init_transactions(c->producer, 60000);
        watchdog_disarm(&c->wd);
        if (e) {
            log_error(&c->log, "init_transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return -1;
        }
        txn_begin(c);
    }
    rd_kafka_poll_set_consumer(c->consumer);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(c->cfg.input.n);
    for (int i = 0; i < c->cfg.input.n; i++)
        rd_kafka_topic_partition_list_add(subs, c->cfg.input.v[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(c->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr) {
        log_error(&c->log, "subscribe: %s", rd_kafka_err2str(serr));
        return -1;
    }
    if (stage_start(c)) {
        log_error(&c->log, "cannot start the engine thread");
        return -1;
    }
    if (orphans_start(c)) return -1;
    return 0;
}

/* The one cleanup path, whatever was set up. */
static void cleanup(consumer *c)
{
    orphans_stop(c);            /* before the consumer handle it asks through */
    watchdog_stop(&c->wd);
    stage_stop(c);
    http_stop(c->http);          /* before the handles a scrape reads */
    if (c->consumer) rd_kafka_destroy(c->consumer);
    if (c->producer) rd_kafka_destroy(c->producer);
    stage_free(c);
    deliver_free_pending(c);
    track_table_free(&c->tracks);
    metrics_buf_free(&c->stats.stats_text);
    pthread_mutex_destroy(&c->stats.stats_mu);
    ccfg_free(&c->cfg);
}

int main(int argc, char **argv)
{
    consumer *c = calloc(1, sizeof *c);
    if (!c) {
        fputs(PROG ": out of memory\n", stderr);
        return EXIT_CONFIG;
    }
    int print = 0, quiet = 0;
    log_init(&c->log, PROG, "consumer", LOG_INFO, LOG_SERVICE);
    int rc = parse_args(c, argc, argv, &print, &quiet);
    if (rc < 0 && print) {
        ccfg_print(&c->cfg, stdout);
        rc = EXIT_CLEAN;
    }
    if (rc >= 0) {
        ccfg_free(&c->cfg);
        free(c);
        return rc;
    }
    char comp[96];
    snprintf(comp, sizeof comp, "consumer:%s", c->cfg.group_id);
    log_init(&c->log, PROG, comp, quiet > 0 ? LOG_WARN : quiet < 0 ? LOG_DEBUG : LOG_INFO, LOG_SERVICE);
    log_derive(&c->engine_log, &c->log, "engine");
    log_derive(&c->kev.log, &c->log, "kafka");
    c->stop = &stop_requested;
    c->last_activity_ms = now_ms();
    stats_init(&c->stats);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int status = start(c) ? EXIT_CONFIG : loop_run(c);
    if (status != EXIT_CONFIG) summary(c, status);
    cleanup(c);
    free(c);
    return status;
}
