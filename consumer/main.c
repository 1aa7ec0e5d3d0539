/* dhatu-consumer -- a Kafka consumer-group member that turns articles into
 * dhātu records. This file: the command line and the signals; member.c
 * starts the member, sums up its run and cleans up. How the member works is
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
        "      --start-at TIME       kafka.start_at: a group without committed offsets starts at TIME\n"
        "                            (RFC 3339 or epoch ms), to replay history (docs/REPLAY.md)\n"
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

enum { O_EOS = 256, O_FORMAT, O_EXIT_IDLE, O_EXIT_AFTER, O_PRINT, O_PASSTHROUGH, O_HELP_CONFIG, O_HELP_METRICS,
       O_START_AT };
static const struct option longopts[] = {
    { "config", required_argument, 0, 'c' },      { "brokers", required_argument, 0, 'b' },
    { "group", required_argument, 0, 'g' },       { "input", required_argument, 0, 't' },
    { "output", required_argument, 0, 'o' },      { "dead-letter", required_argument, 0, 'd' },
    { "backend", required_argument, 0, 'B' },     { "model", required_argument, 0, 'm' },
    { "properties", required_argument, 0, 'F' },
    { "exactly-once", no_argument, 0, O_EOS },    { "format", required_argument, 0, O_FORMAT },
    { "exit-idle", required_argument, 0, O_EXIT_IDLE }, { "exit-after", required_argument, 0, O_EXIT_AFTER },
    { "start-at", required_argument, 0, O_START_AT },
    { "print-config", no_argument, 0, O_PRINT },  { "quiet", no_argument, 0, 'q' },
    { "verbose", no_argument, 0, 'v' },
    { "help", no_argument, 0, 'h' },              { "version", no_argument, 0, 'V' },
    { "passthrough", no_argument, 0, O_PASSTHROUGH },
    { "help-config", no_argument, 0, O_HELP_CONFIG }, { "help-metrics", no_argument, 0, O_HELP_METRICS },
    { 0, 0, 0, 0 }
};
#define SHORTOPTS "c:b:g:t:o:d:B:m:F:X:s:qvhV"

/* Fills c->cfg from defaults, the file and the flags. 0, with *done set
 * when an option was answered (help, version, --print-config) and nothing
 * is left to run; or -1 with the reason in err (the usage line went to
 * stderr for an unknown option). */
static int parse_args(consumer *c, int argc, char **argv, int *done, int *quiet, char *err, size_t errn)
{
    int opt, print = 0;
    ccfg_defaults(&c->cfg);
    /* First pass: the file, so that flags override it whatever their order. */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
        if (opt == 'c' && ccfg_load_file(&c->cfg, optarg, err, errn)) return -1;
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
        case O_START_AT: path = "kafka.start_at"; break;
        case O_EOS: optarg = "exactly-once"; path = "delivery.mode"; break;
        case 'X':
            if (ccfg_add_librdkafka(&c->cfg, optarg, err, errn)) return -1;
            continue;
        case 's':
            if (ccfg_set(&c->cfg, optarg, err, errn)) return -1;
            continue;
        case O_PRINT: print = 1; continue;
        case O_PASSTHROUGH: c->passthrough = 1; continue;
        case 'q': *quiet = 1; continue;
        case 'v': *quiet = -1; continue;
        case 'h': usage(stdout); *done = 1; return 0;
        case O_HELP_CONFIG: ccfg_print_markdown(stdout); *done = 1; return 0;
        case O_HELP_METRICS: exporter_print_families(stdout); *done = 1; return 0;
        case 'V': {
            char v[512];
            kafka_version(v, sizeof v);
            printf(PROG " %s (%s)\n", DHATU_VERSION_STRING, v);
            *done = 1;
            return 0;
        }
        default:
            usage(stderr);
            snprintf(err, errn, "unknown option or missing argument (usage above)");
            return -1;
        }
        snprintf(kv, sizeof kv, "%s=%s", path, optarg);
        if (ccfg_set(&c->cfg, kv, err, errn)) return -1;
    }
    if (optind < argc) {
        snprintf(err, errn, "unexpected argument %s", argv[optind]);
        return -1;
    }
    if (ccfg_validate(&c->cfg, err, errn)) return -1;
    if (print) {
        ccfg_print(&c->cfg, stdout);
        *done = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    consumer *c = calloc(1, sizeof *c);
    if (!c) {
        fputs(PROG ": out of memory\n", stderr);
        return EXIT_CONFIG;
    }
    int done = 0, quiet = 0;
    char err[512];
    log_init(&c->log, PROG, "consumer", LOG_INFO, LOG_SERVICE);
    int rc = parse_args(c, argc, argv, &done, &quiet, err, sizeof err);
    if (rc) log_error(&c->log, "%s", err);
    if (rc || done) {
        ccfg_free(&c->cfg);
        free(c);
        return rc ? EXIT_CONFIG : EXIT_CLEAN;
    }
    char comp[96];
    snprintf(comp, sizeof comp, "consumer:%s", c->cfg.group_id);
    log_init(&c->log, PROG, comp, quiet > 0 ? LOG_WARN : quiet < 0 ? LOG_DEBUG : LOG_INFO, LOG_SERVICE);
    log_derive(&c->engine_log, &c->log, "engine");
    log_derive(&c->kev.log, &c->log, "kafka");
    c->stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int status = member_start(c) ? EXIT_CONFIG : c->share ? share_run(c) : loop_run(c);
    if (status != EXIT_CONFIG) member_summary(c, status);
    member_cleanup(c);
    free(c);
    return status;
}
