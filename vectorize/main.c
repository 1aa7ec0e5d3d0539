/* dhatu-vectorize -- the offline vectorizer: JSON Lines articles in, one JSON
 * dhātu record per line out; or, with --bench, a timing of the engine.
 *
 * Exit status: 0 every line became a record; 1 some lines were reported and
 * skipped; 2 nothing could run (usage, configuration, unreadable input). */
#define _POSIX_C_SOURCE 200809L
#include "vectorize.h"
#include "articles.h"
#include "dhatu.h"
#include "idbuf.h"
#include "log.h"
#include "schema_json.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"



static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [options] [FILE...]\n"
        "Reads articles as JSON Lines (FILE, or stdin when none or '-') and writes one\n"
        "JSON dhatu record per line to stdout.\n\n"
        "  -m, --model NAME          seed | lexicon (default lexicon)\n"
        "  -B, --backend NAME        cpu-ref | cpu | opencl | cuda | auto (default cpu)\n"
        "  -l, --lexicon FILE        lexicon file (default: the built-in data/lexicon.txt)\n"
        "  -n, --batch N             articles per engine batch (default 1024)\n"
        "  -j, --threads N           cpu backend worker threads, 0 = all cores (default 0)\n"
        "      --max-article-bytes N reject longer articles (default 16777216)\n"
        "      --batch-bytes N       text bytes per engine batch (default 33554432)\n"
        "      --device N            GPU backends: device index (default -1: the first,\n"
        "                            GPUs before other kinds)\n"
        "      --platform N          opencl: platform index (default -1: any)\n"
        "      --device-type T       opencl: gpu | accelerator | cpu | any (default any)\n"
        "      --device-memory N     GPU backends: device bytes for batches in flight\n"
        "                            (default 0: a quarter of the device's memory)\n"
        "      --profile             --bench: also time copies and kernels on the device\n"
        "      --bench               time the engine over the input instead of printing\n"
        "                            records; -m and -B then take comma lists\n"
        "      --rounds N            timed rounds per backend and model (default 5)\n"
        "      --synthetic N         input: N generated seed-like short articles\n"
        "  -q, --quiet               no progress line and no summary\n"
        "  -h, --help                this help\n"
        "  -V, --version             version, backends built in, Unicode version\n\n"
        "Exit status: 0 all lines processed, 1 some lines reported and skipped,\n"
        "2 usage, configuration or input error.\n");
}

/* ---- input: articles kept in memory for --bench ---- */

typedef struct article_set {
    dbuf text;             /* title, text and lang of each article, each NUL-terminated */
    struct art { size_t title, title_len, text, text_len, lang; int has_title, has_lang; } *a;
    size_t n, acap;
    size_t text_bytes;
} article_set;

static int set_push(article_set *s, const char *p, size_t n, size_t *at)
{
    *at = s->text.len;
    return dbuf_append(&s->text, p, n) || dbuf_append(&s->text, "", 1);
}

static int set_add(article_set *s, const char *title, size_t tl, const char *text, size_t xl,
                   const char *lang)
{
    if (s->n == s->acap) {
        size_t cap = s->acap ? s->acap * 2 : 1024;
        struct art *a = realloc(s->a, cap * sizeof *a);
        if (!a) return -1;
        s->a = a;
        s->acap = cap;
    }
    struct art *a = &s->a[s->n];
    memset(a, 0, sizeof *a);
    a->has_title = title != NULL;
    a->has_lang = lang != NULL;
    a->title_len = tl;
    a->text_len = xl;
    if ((title && set_push(s, title, tl, &a->title)) || set_push(s, text, xl, &a->text) ||
        (lang && set_push(s, lang, strlen(lang), &a->lang)))
        return -1;
    s->n++;
    s->text_bytes += xl + (title ? tl + 1 : 0);
    return 0;
}

static const char *const templates[10] = {
    "The quantum computational framework demonstrates significant algorithmic efficiency.",
    "Neural network architectures can model complex relationships between linguistic features.",
    "Distributed systems must handle network partitions while preserving data consistency.",
    "The proposed method evaluates semantic similarity through a sequence of iterative steps.",
    "Researchers observed that the measured effect depends on the initial conditions chosen.",
    "Statistical inference requires careful assessment of uncertainty in sampled populations.",
    "The algorithm selects an optimal strategy by comparing the expected cost of each option.",
    "Language models convey information by predicting the next token in a written message.",
    "Experimental results suggest a causal relation between memory access and performance.",
    "Recursive decomposition repeats the same operation until every subproblem is resolved.",
};

static int set_synthetic(article_set *s, long n)
{
    char buf[256];
    for (long i = 0; i < n; i++) {
        int k = snprintf(buf, sizeof buf, "Article %06ld: %s Context %ld, Domain %ld.", i,
                         templates[i % 10], i % 100, i % 20);
        if (set_add(s, NULL, 0, buf, (size_t)k, NULL)) return -1;
    }
    return 0;
}

/* ---- input: every file's articles through schemas/articles.h ---- */

/* ctx is a struct run (records.c) or a bench_input: both begin with the options. */
static void report_bad(void *ctx, const char *msg)
{
    const options *o = *(const options *const *)ctx;
    log_error(&o->log, "%s", msg);
}

/* Reads FILEs in order (stdin when none or "-"). -1 when a file cannot be
 * opened or read, or fn failed fatally (reported). */
int read_articles(const options *o, char **files, int nfiles, articles_fn fn, void *ctx,
                         articles_counts *n)
{
    /* JSON escapes grow text up to 6x. */
    articles_opts ao = { o->max_article * 6 + (1 << 20), 0, fn, report_bad, ctx };
    char err[512];
    articles_status st = articles_read_files(files, nfiles, &ao, n, err, sizeof err);
    if (st == ARTICLES_FAILED && *err) log_error(&o->log, "%s", err);
    return st == ARTICLES_FAILED ? -1 : 0;
}

int make_engine(const options *o, const char *backend, const char *model, dhatu_engine **e)
{
    dhatu_config cfg;
    char err[512];
    dhatu_config_init(&cfg);
    cfg.backend = backend;
    cfg.model = model;
    cfg.lexicon_path = o->lexicon;
    cfg.threads = o->threads;
    cfg.max_article_bytes = o->max_article;
    cfg.batch_max_articles = o->batch;
    if (o->batch_bytes) cfg.batch_max_bytes = o->batch_bytes;
    cfg.device_index = o->device;
    cfg.platform_index = o->platform;
    cfg.device_type = o->device_type;
    cfg.device_memory = o->device_memory;
    cfg.profile = o->profile;
    if (dhatu_engine_create(&cfg, e, err, sizeof err)) {
        log_error(&o->log, "%s", err);
        return -1;
    }
    return 0;
}

/* ---- --bench ---- */

/* The options come first, as in struct run: report_bad finds them there. */
typedef struct bench_input { const options *opt; article_set *set; } bench_input;

/* articles_fn of --bench: keeps the article in memory. */
static articles_verdict keep_article(void *ctx, const articles_where *w, const schema_article *a, char *why,
                                     size_t wn)
{
    (void)w;
    article_set *s = ((bench_input *)ctx)->set;
    const options *o = ((bench_input *)ctx)->opt;
    size_t len = a->text_len + (a->title ? a->title_len + 1 : 0);
    if (len > o->max_article) {
        snprintf(why, wn, "article of %zu bytes exceeds the maximum of %zu bytes", len, o->max_article);
        return ARTICLE_REJECTED;
    }
    if (set_add(s, a->title, a->title_len, a->text, a->text_len, a->lang)) {
        log_error(&o->log, "out of memory");
        return ARTICLE_FATAL;
    }
    return ARTICLE_TAKEN;
}

static int load_all(const options *o, char **files, int nfiles, article_set *s)
{
    if (o->synthetic > 0) return set_synthetic(s, o->synthetic);
    bench_input in = { o, s };
    articles_counts n = { 0, 0 };
    if (read_articles(o, files, nfiles, keep_article, &in, &n)) return -1;
    if (n.skipped) log_warn(&o->log, "--bench: %" PRIu64 " input lines skipped", n.skipped);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_one(const options *o, const article_set *s, const char *backend, const char *model)
{
    dhatu_engine *e;
    char err[512];
    if (make_engine(o, backend, model, &e)) return -1;
    /* Batches are filled once, outside the timed region. */
    size_t nb = (s->n + o->batch - 1) / o->batch;
    dhatu_batch **batches = calloc(nb ? nb : 1, sizeof *batches);
    dhatu_record *out = malloc(o->batch * sizeof *out);
    double *lat = malloc((nb ? nb : 1) * (size_t)o->rounds * sizeof *lat);
    int rc = (!batches || !out || !lat) ? -1 : 0;
    for (size_t b = 0, i = 0; rc == 0 && b < nb; b++) {
        if (dhatu_batch_create(e, &batches[b], err, sizeof err)) { log_error(&o->log, "%s", err); rc = -1; break; }
        for (; i < s->n && dhatu_batch_count(batches[b]) < o->batch; i++) {
            const struct art *a = &s->a[i];
            dhatu_status st = dhatu_batch_add(batches[b], a->has_title ? s->text.data + a->title : NULL, a->title_len,
                                              s->text.data + a->text, a->text_len,
                                              a->has_lang ? s->text.data + a->lang : NULL, err, sizeof err);
            if (st == DHATU_ERR_FULL) break;
            if (st) { log_error(&o->log, "%s", err); rc = -1; break; }
        }
    }
    /* A batch can fill up by bytes before reaching o->batch articles: the
     * remainder is simply not timed, and the counts below say what was. */
    size_t articles = 0, bytes = 0;
    for (size_t b = 0; rc == 0 && b < nb; b++) {
        articles += dhatu_batch_count(batches[b]);
        bytes += dhatu_batch_bytes(batches[b]);
    }
    double total = 0, dev0[3] = { 0, 0, 0 }, dev1[3] = { 0, 0, 0 };
    for (int round = -1; rc == 0 && round < o->rounds; round++) { /* round -1 warms up */
        if (round == 0) dhatu_engine_device_times(e, &dev0[0], &dev0[1], &dev0[2]);
        for (size_t b = 0; b < nb; b++) {
            double t = clk_now_s();
            if (dhatu_engine_vectorize(e, batches[b], out, err, sizeof err)) {
                log_error(&o->log, "%s", err);
                rc = -1;
                break;
            }
            t = clk_now_s() - t;
            if (round >= 0) { lat[(size_t)round * nb + b] = t; total += t; }
        }
    }
    if (rc == 0 && total > 0) {
        size_t nl = nb * (size_t)o->rounds;
        qsort(lat, nl, sizeof *lat, cmp_double);
        double aps = (double)articles * o->rounds / total;
        double mbps = (double)bytes * o->rounds / total / 1e6;
        double p50 = lat[nl / 2] * 1e3, p99 = lat[(size_t)((double)(nl - 1) * 0.99)] * 1e3;
        double mean = total / (double)nl * 1e3;
        printf("%-8s %-8s %-26s %9zu articles %8.2f MB  %12.0f articles/s %9.1f MB/s  batch ms mean %.3f p50 %.3f p99 %.3f\n",
               backend, model, dhatu_engine_describe(e), articles, (double)bytes / 1e6, aps, mbps, mean, p50, p99);
        printf("{\"bench\":\"dhatu-vectorize\",\"backend\":\"%s\",\"model\":\"%s\",\"threads\":%d,"
               "\"batch\":%zu,\"articles\":%zu,\"bytes\":%zu,\"rounds\":%d,\"seconds\":%.6f,"
               "\"articles_per_s\":%.1f,\"mb_per_s\":%.3f,\"batch_ms_mean\":%.4f,\"batch_ms_p50\":%.4f,"
               "\"batch_ms_p99\":%.4f}\n",
               dhatu_engine_backend(e), model, o->threads, o->batch, articles, bytes, o->rounds, total,
               aps, mbps, mean, p50, p99);
        dhatu_engine_device_times(e, &dev1[0], &dev1[1], &dev1[2]);
        double in_s = dev1[0] - dev0[0], k_s = dev1[1] - dev0[1], out_s = dev1[2] - dev0[2];
        if (o->profile && k_s > 0) {
            /* Device time summed over chunks: with several chunks in flight
             * the sum can exceed the wall time, which is the point. */
            double gb = (double)bytes * o->rounds / 1e9;
            printf("%-8s %-8s device: copy-in %.3f s (%.2f GB/s), kernels %.3f s (%.2f GB/s, %.0f articles/s), "
                   "copy-out %.3f s; end to end %.2f GB/s\n",
                   backend, model, in_s, in_s > 0 ? gb / in_s : 0.0, k_s, gb / k_s,
                   (double)articles * o->rounds / k_s, out_s, gb / total);
            printf("{\"bench\":\"dhatu-vectorize-device\",\"backend\":\"%s\",\"model\":\"%s\",\"batch\":%zu,"
                   "\"copy_in_s\":%.6f,\"kernel_s\":%.6f,\"copy_out_s\":%.6f,\"wall_s\":%.6f,"
                   "\"kernel_gb_per_s\":%.4f,\"end_to_end_gb_per_s\":%.4f}\n",
                   dhatu_engine_backend(e), model, o->batch, in_s, k_s, out_s, total, gb / k_s, gb / total);
        }
        fflush(stdout);
    }
    for (size_t b = 0; batches && b < nb; b++) dhatu_batch_destroy(batches[b]);
    free(batches);
    free(out);
    free(lat);
    dhatu_engine_destroy(e);
    return rc;
}

static int run_bench(const options *o, char **files, int nfiles)
{
    article_set s;
    memset(&s, 0, sizeof s);
    if (load_all(o, files, nfiles, &s)) { dbuf_free(&s.text); free(s.a); return 2; }
    if (!s.n) { log_error(&o->log, "--bench: no articles"); return 2; }
    int rc = 0;
    char *backends = strdup(o->backends), *models = strdup(o->models);
    char *sb, *sm;
    for (char *b = strtok_r(backends, ",", &sb); b && !rc; b = strtok_r(NULL, ",", &sb)) {
        char *mcopy = strdup(models);
        for (char *m = strtok_r(mcopy, ",", &sm); m && !rc; m = strtok_r(NULL, ",", &sm))
            if (bench_one(o, &s, b, m)) rc = 2;
        free(mcopy);
    }
    free(backends);
    free(models);
    dbuf_free(&s.text);
    free(s.a);
    return rc;
}

static int parse_size(const char *s, size_t *out, size_t min)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || *e || e == s || s[0] == '-' || v < min) return -1;
    *out = (size_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.models = "lexicon";
    o.backends = "cpu";
    o.batch = 1024;
    o.max_article = (size_t)16 << 20;
    o.rounds = 5;
    o.device = -1;
    o.platform = -1;
    o.device_type = "any";
    log_init(&o.log, PROG, "input", LOG_INFO, LOG_TOOL);
    static const struct option longopts[] = {
        { "model", required_argument, 0, 'm' },   { "backend", required_argument, 0, 'B' },
        { "lexicon", required_argument, 0, 'l' }, { "batch", required_argument, 0, 'n' },
        { "threads", required_argument, 0, 'j' }, { "max-article-bytes", required_argument, 0, 1 },
        { "bench", no_argument, 0, 2 },           { "rounds", required_argument, 0, 3 },
        { "synthetic", required_argument, 0, 4 }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },          { "version", no_argument, 0, 'V' },
        { "batch-bytes", required_argument, 0, 5 }, { "device", required_argument, 0, 6 },
        { "platform", required_argument, 0, 7 },  { "device-type", required_argument, 0, 8 },
        { "device-memory", required_argument, 0, 9 }, { "profile", no_argument, 0, 10 },
        { 0, 0, 0, 0 }
    };
    int c;
    size_t v;
    while ((c = getopt_long(argc, argv, "m:B:l:n:j:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.models = optarg; break;
        case 'B': o.backends = optarg; break;
        case 'l': o.lexicon = optarg; break;
        case 'n':
            if (parse_size(optarg, &o.batch, 1) || o.batch > 1000000) {
                log_error(&o.log, "--batch must be 1..1000000");
                return 2;
            }
            break;
        case 'j':
            if (parse_size(optarg, &v, 0) || v > 4096) { log_error(&o.log, "--threads must be 0..4096"); return 2; }
            o.threads = (int)v;
            break;
        case 1:
            if (parse_size(optarg, &o.max_article, 1)) { log_error(&o.log, "bad --max-article-bytes"); return 2; }
            break;
        case 2: o.bench = 1; break;
        case 3:
            if (parse_size(optarg, &v, 1) || v > 100000) { log_error(&o.log, "--rounds must be 1..100000"); return 2; }
            o.rounds = (int)v;
            break;
        case 4:
            if (parse_size(optarg, &v, 1) || v > 100000000) { log_error(&o.log, "bad --synthetic"); return 2; }
            o.synthetic = (long)v;
            break;
        case 5:
            if (parse_size(optarg, &o.batch_bytes, 1)) { log_error(&o.log, "bad --batch-bytes"); return 2; }
            break;
        case 6:
        case 7:
            if (parse_size(optarg, &v, 0) || v > 63) {
                log_error(&o.log, "--%s must be 0..63", c == 6 ? "device" : "platform");
                return 2;
            }
            if (c == 6) o.device = (int)v; else o.platform = (int)v;
            break;
        case 8: o.device_type = optarg; break;
        case 9:
            if (parse_size(optarg, &o.device_memory, 1)) { log_error(&o.log, "bad --device-memory"); return 2; }
            break;
        case 10: o.profile = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': {
            printf(PROG " %s (Unicode %s; backends:", DHATU_VERSION_STRING, dhatu_unicode_version());
            for (const char *const *n = dhatu_backend_names(); *n; n++) printf(" %s", *n);
            printf(" auto)\n");
            return 0;
        }
        default: usage(stderr); return 2;
        }
    }
    if (!o.bench && (strchr(o.models, ',') || strchr(o.backends, ','))) {
        log_error(&o.log, "lists of models or backends need --bench");
        return 2;
    }
    if (o.synthetic && !o.bench) {
        log_error(&o.log, "--synthetic needs --bench");
        return 2;
    }
    o.progress = !o.quiet && !o.bench && isatty(STDERR_FILENO);
    return o.bench ? run_bench(&o, argv + optind, argc - optind)
                   : vectorize_records(&o, argv + optind, argc - optind);
}
