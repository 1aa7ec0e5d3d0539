/* dhatu-producer -- feeds articles (JSON Lines or CSV) into a Kafka topic.
 *
 * Each input article becomes one message keyed by its id, encoded as Avro
 * single-object (default) or JSON (schema_avro.h). The producer is
 * idempotent (no duplicates or reordering on retries). A bad input line is
 * reported as FILE:LINE: offset N: reason and skipped. At the end a summary
 * says how many articles the broker acknowledged; the exit status is
 * non-zero when any was not.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dhatu.h"
#include "lines.h"
#include "schema_avro.h"

#define PROG "dhatu-producer"
#define MAX_LINE (64u << 20)

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2, EXIT_UNACKED = 3 };

static struct {
    rd_kafka_t *rk;
    const char *topic;
    schema_codec *codec;
    schema_format fmt;
    schema_buf out;
    int64_t limit, rate, progress;
    uint64_t read, produced, acked, failed, bad, bytes_in, total_bytes;
    int64_t started_ns, last_progress_ns;
    rd_kafka_resp_err_t first_error;
} P;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (!P.failed) P.first_error = m->err;
        P.failed++;
    } else {
        P.acked++;
    }
}

static void progress(int final)
{
    if (!P.progress) return;
    int64_t t = now_ns();
    if (!final && t - P.last_progress_ns < 200000000) return;
    P.last_progress_ns = t;
    double secs = (double)(t - P.started_ns) / 1e9, rate = secs > 0 ? (double)P.produced / secs : 0;
    char eta[48] = "";
    if (P.total_bytes && P.bytes_in && secs > 0.5) {
        double frac = (double)P.bytes_in / (double)P.total_bytes;
        snprintf(eta, sizeof eta, " %3.0f%% ETA %.0fs", frac * 100, frac > 0 ? secs / frac - secs : 0);
    }
    fprintf(stderr, "\r%s: %" PRIu64 " produced, %" PRIu64 " acked, %.0f/s%s\033[K%s", PROG, P.produced,
            P.acked, rate, eta, final ? "\n" : "");
}

static void pace(void)
{
    if (P.rate <= 0) return;
    int64_t due = P.started_ns + (int64_t)((double)P.produced * 1e9 / (double)P.rate);
    int64_t t = now_ns();
    while (t < due) {
        rd_kafka_poll(P.rk, (int)((due - t) / 1000000));   /* serve reports while waiting */
        t = now_ns();
    }
}

static int limit_reached(void) { return P.limit > 0 && (int64_t)P.produced >= P.limit; }

static void bad_line(const char *file, uint64_t line, uint64_t off, const char *why)
{
    fprintf(stderr, "%s%s:%" PRIu64 ": offset %" PRIu64 ": %s\n", P.progress ? "\r\033[K" : "", file, line,
            off, why);
    P.bad++;
}

/* Encodes and produces one article; -1 on a fatal producer error. */
static int send_article(const schema_article *a, const char *file, uint64_t line, uint64_t off)
{
    char err[512];
    if (schema_codec_encode_article(P.codec, P.fmt, a, &P.out, err, sizeof err)) {
        bad_line(file, line, off, err);
        return 0;
    }
    pace();
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            P.rk, RD_KAFKA_V_TOPIC(P.topic), RD_KAFKA_V_KEY(a->id, a->id_len),
            RD_KAFKA_V_VALUE(P.out.data, P.out.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(P.rk, 50);
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            bad_line(file, line, off, "article larger than message.max.bytes (set -X message.max.bytes=...)");
            return 0;
        }
        if (e) {
            fprintf(stderr, "\n" PROG ": produce to %s: %s\n", P.topic, rd_kafka_err2str(e));
            return -1;
        }
        break;
    }
    P.produced++;
    rd_kafka_poll(P.rk, 0);
    progress(0);
    return 0;
}

/* ---- JSON Lines */

static int feed_jsonl(FILE *f, const char *file)
{
    lines_reader *r = lines_open(f, MAX_LINE);
    if (!r) { fprintf(stderr, PROG ": out of memory\n"); return -1; }
    const char *line;
    size_t len;
    uint64_t lineno, off;
    lines_status st;
    int rc = 0;
    char err[512];
    while (!limit_reached() && (st = lines_next(r, &line, &len, &lineno, &off)) != LINES_EOF) {
        P.bytes_in = off + len + 1;
        if (st == LINES_IO_ERROR) {
            fprintf(stderr, PROG ": %s: read error: %s\n", file, strerror(errno));
            rc = -1;
            break;
        }
        if (st == LINES_TOO_LONG) { bad_line(file, lineno, off, "line too long"); continue; }
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i == len) continue;                 /* blank lines are allowed */
        P.read++;
        schema_article a;
        if (schema_json_parse_article(line, len, &a, err, sizeof err)) { bad_line(file, lineno, off, err); continue; }
        rc = send_article(&a, file, lineno, off);
        schema_article_clear(&a);
        if (rc) break;
    }
    lines_close(r);
    return rc;
}

/* ---- CSV (RFC 4180, header row names the columns) */

enum { F_ID, F_TITLE, F_TEXT, F_LANG, F_SOURCE, F_URL, F_PUBLISHED, F_N };
static const char *const field_names[F_N] = { "id", "title", "text", "lang", "source", "url", "published" };

typedef struct csv_state {
    const char *file;
    int header_done, col_of[64], ncols, failed;
    size_t col;
    schema_buf val[F_N];
    int has[F_N];
    uint64_t line, rec_line, rec_off, off;
} csv_state;

static void csv_field(void *s, size_t len, void *data)
{
    csv_state *c = data;
    if (c->col == 0 && !c->has[0] && !c->has[1] && !c->has[2]) {
        c->rec_line = c->line;
        c->rec_off = c->off;
    }
    size_t col = c->col++;
    if (!c->header_done) {
        if (col < 64) {
            c->col_of[col] = -1;
            for (int k = 0; k < F_N; k++)
                if (strlen(field_names[k]) == len && !memcmp(s, field_names[k], len)) c->col_of[col] = k;
            c->ncols = (int)col + 1;
        }
        return;
    }
    int k = col < 64 && (int)col < c->ncols ? c->col_of[col] : -1;
    if (k < 0) return;
    if (schema_buf_reserve(&c->val[k], len + 1)) { c->failed = 1; return; }
    memcpy(c->val[k].data, s, len);
    c->val[k].data[len] = '\0';
    c->val[k].len = len;
    c->has[k] = 1;
}

static void csv_record(int term, void *data)
{
    (void)term;
    csv_state *c = data;
    if (!c->header_done) {
        c->header_done = 1;
        int seen_id = 0, seen_text = 0;
        for (int i = 0; i < c->ncols; i++) {
            seen_id |= c->col_of[i] == F_ID;
            seen_text |= c->col_of[i] == F_TEXT;
        }
        if (!seen_id || !seen_text) {
            fprintf(stderr, PROG ": %s: the CSV header must name the columns id and text "
                    "(and may name title, lang, source, url, published)\n", c->file);
            c->failed = 1;
        }
        c->col = 0;
        return;
    }
    if (c->failed || limit_reached()) { c->col = 0; memset(c->has, 0, sizeof c->has); return; }
    P.read++;
    schema_article a;
    memset(&a, 0, sizeof a);
    char why[128] = "";
    if (!c->has[F_ID] || c->val[F_ID].len == 0) snprintf(why, sizeof why, "missing id");
    else if (!c->has[F_TEXT]) snprintf(why, sizeof why, "missing text");
    else if (c->has[F_PUBLISHED] && c->val[F_PUBLISHED].len) {
        const schema_buf *p = &c->val[F_PUBLISHED];
        char *end;
        errno = 0;
        long long ms = strtoll(p->data, &end, 10);
        if (!errno && end == p->data + p->len) a.published = ms;
        else if (schema_parse_rfc3339(p->data, p->len, &a.published))
            snprintf(why, sizeof why, "published is neither ms since the epoch nor an RFC 3339 time");
        a.has_published = 1;
    }
    if (*why) {
        bad_line(c->file, c->rec_line, c->rec_off, why);
    } else {
#define OPT(k, s, l) if (c->has[k] && c->val[k].len) { s = c->val[k].data; l = c->val[k].len; }
        a.id = c->val[F_ID].data;     a.id_len = c->val[F_ID].len;
        a.text = c->val[F_TEXT].data; a.text_len = c->val[F_TEXT].len;
        OPT(F_TITLE, a.title, a.title_len)
        OPT(F_SOURCE, a.source, a.source_len)
        OPT(F_URL, a.url, a.url_len)
        if (c->has[F_LANG] && c->val[F_LANG].len) a.lang = c->val[F_LANG].data;
#undef OPT
        if (send_article(&a, c->file, c->rec_line, c->rec_off)) c->failed = 1;
    }
    c->col = 0;
    memset(c->has, 0, sizeof c->has);
}

static int feed_csv(FILE *f, const char *file)
{
    struct csv_parser p;
    csv_state c;
    memset(&c, 0, sizeof c);
    c.file = file;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)) { fprintf(stderr, PROG ": out of memory\n"); return -1; }
    lines_reader *r = lines_open(f, MAX_LINE);
    const char *line;
    size_t len;
    uint64_t lineno, off;
    lines_status st;
    int rc = r ? 0 : -1;
    /* Fed one line at a time, so a record's first line is known for errors
     * (quoted fields may span lines). */
    while (r && !c.failed && !limit_reached() && (st = lines_next(r, &line, &len, &lineno, &off)) != LINES_EOF) {
        if (st != LINES_OK) {
            fprintf(stderr, PROG ": %s:%" PRIu64 ": %s\n", file, lineno,
                    st == LINES_TOO_LONG ? "line too long" : strerror(errno));
            rc = -1;
            break;
        }
        c.line = lineno;
        c.off = off;
        P.bytes_in = off + len + 1;
        if (csv_parse(&p, line, len, csv_field, csv_record, &c) != len || csv_parse(&p, "\n", 1, csv_field, csv_record, &c) != 1) {
            /* Strict mode: a stray quote. The record cannot be resynchronised
             * reliably, so the rest of the file is not guessed at. */
            fprintf(stderr, PROG ": %s:%" PRIu64 ": offset %" PRIu64 ": %s; stopping this file\n", file, lineno, off,
                    csv_strerror(csv_error(&p)));
            P.bad++;
            rc = 0;
            break;
        }
    }
    if (!c.failed && rc == 0 && csv_fini(&p, csv_field, csv_record, &c) != 0) {
        fprintf(stderr, PROG ": %s: unterminated quoted field at the end\n", file);
        P.bad++;
    }
    if (c.failed && rc == 0) rc = -1;
    csv_free(&p);
    lines_close(r);
    for (int k = 0; k < F_N; k++) schema_buf_free(&c.val[k]);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: " PROG " [options] [FILE...]   (no FILE or '-': standard input)\n"
        "Feeds articles (JSON Lines, or CSV with a header row) into a Kafka topic, keyed by id.\n\n"
        "  -b, --brokers LIST      bootstrap servers (default 127.0.0.1:9092)\n"
        "  -t, --topic TOPIC       topic (default articles)\n"
        "  -f, --format avro|json  wire format (default avro: single-object encoding)\n"
        "      --csv               input is CSV (default: by the .csv extension)\n"
        "  -z, --compression C     none, gzip, snappy, lz4 (default), zstd\n"
        "  -X key=value            any librdkafka property (repeatable)\n"
        "      --rate N            at most N articles per second\n"
        "      --limit N           stop after N articles\n"
        "  -q, --quiet             no progress line or summary\n"
        "  -h, --help;  -V, --version\n\n"
        "Input fields: id (string or integer) and text are required; title, lang, source, url and\n"
        "published (ms since the epoch or RFC 3339) are optional.\n"
        "Exit status: 0 all acknowledged; 1 some input lines were bad (skipped); 2 usage, input or\n"
        "connection error; 3 some articles were not acknowledged by the broker.\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "brokers", required_argument, 0, 'b' }, { "topic", required_argument, 0, 't' },
        { "format", required_argument, 0, 'f' },  { "csv", no_argument, 0, 'C' },
        { "compression", required_argument, 0, 'z' }, { "rate", required_argument, 0, 'r' },
        { "limit", required_argument, 0, 'l' },   { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },          { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 } };
    const char *brokers = "127.0.0.1:9092", *compression = "lz4";
    int csv = 0, quiet = 0, c;
    char err[512];
    P.topic = "articles";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    while ((c = getopt_long(argc, argv, "b:t:f:z:X:qhV", lo, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': P.topic = optarg; break;
        case 'f':
            if (!strcmp(optarg, "avro")) P.fmt = SCHEMA_FMT_AVRO;
            else if (!strcmp(optarg, "json")) P.fmt = SCHEMA_FMT_JSON;
            else { fprintf(stderr, PROG ": --format: avro or json\n"); return EXIT_USAGE; }
            break;
        case 'C': csv = 1; break;
        case 'z': compression = optarg; break;
        case 'r': P.rate = strtoll(optarg, NULL, 10); break;
        case 'l': P.limit = strtoll(optarg, NULL, 10); break;
        case 'q': quiet = 1; break;
        case 'X': {
            char *kv = strdup(optarg), *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq) { fprintf(stderr, PROG ": -X %s: expected key=value\n", optarg); free(kv); return EXIT_USAGE; }
            *eq = '\0';
            if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof err)) {
                fprintf(stderr, PROG ": -X %s: %s\n", optarg, err);
                free(kv);
                return EXIT_USAGE;
            }
            free(kv);
            break;
        }
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf(PROG " %s (librdkafka %s)\n", DHATU_VERSION_STRING, rd_kafka_version_str()); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "compression.codec", compression, err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_USAGE;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(P.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_USAGE;
    }
    if (!(P.codec = schema_codec_create(err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        rd_kafka_destroy(P.rk);
        return EXIT_USAGE;
    }
    /* Fail fast when the brokers or the topic are not there. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(P.rk, P.topic, NULL);
    rd_kafka_resp_err_t me = rd_kafka_metadata(P.rk, 0, t, &md, 15000);
    int rc = 0;
    if (me) {
        fprintf(stderr, PROG ": cannot reach %s: %s\n", brokers, rd_kafka_err2str(me));
        rc = -1;
    } else if (md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, PROG ": topic %s: %s\n", P.topic,
                rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        rc = -1;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);

    P.progress = !quiet && isatty(STDERR_FILENO);
    P.started_ns = now_ns();
    int nfiles = argc - optind;
    for (int i = 0; rc == 0 && i < (nfiles ? nfiles : 1) && !limit_reached(); i++) {
        const char *name = nfiles ? argv[optind + i] : "-";
        FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
        if (!f) { fprintf(stderr, PROG ": %s: %s\n", name, strerror(errno)); rc = -1; break; }
        struct stat sb;
        P.total_bytes = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
        P.bytes_in = 0;
        size_t nl = strlen(name);
        int is_csv = csv || (nl > 4 && !strcmp(name + nl - 4, ".csv"));
        rc = is_csv ? feed_csv(f, strcmp(name, "-") ? name : "<stdin>") : feed_jsonl(f, strcmp(name, "-") ? name : "<stdin>");
        if (f != stdin) fclose(f);
    }
    /* Wait for every acknowledgement (message.timeout.ms bounds it). */
    while (rd_kafka_outq_len(P.rk) > 0 && P.acked + P.failed < P.produced) {
        rd_kafka_poll(P.rk, 100);
        progress(0);
    }
    rd_kafka_flush(P.rk, 10000);
    progress(1);
    double secs = (double)(now_ns() - P.started_ns) / 1e9;
    uint64_t unacked = P.produced - P.acked;
    if (!quiet || unacked || rc)
        fprintf(stderr, PROG ": %" PRIu64 " articles read, %" PRIu64 " produced to %s, %" PRIu64
                " acknowledged, %" PRIu64 " failed%s%s, %" PRIu64 " bad lines skipped; %.2f s, %.0f articles/s\n",
                P.read, P.produced, P.topic, P.acked, P.failed, P.failed ? ": " : "",
                P.failed ? rd_kafka_err2str(P.first_error) : "", P.bad, secs, secs > 0 ? (double)P.acked / secs : 0);
    schema_buf_free(&P.out);
    schema_codec_destroy(P.codec);
    rd_kafka_destroy(P.rk);
    if (unacked) return EXIT_UNACKED;
    if (rc) return EXIT_USAGE;
    return P.bad ? EXIT_BAD_INPUT : EXIT_OK;
}
