/* dhatu-vectorize -- the offline vectorizer: JSON Lines articles in, one JSON
 * dhātu record per line out; or, with --bench, a timing of the engine.
 *
 * Exit status: 0 every line became a record; 1 some lines were reported and
 * skipped; 2 nothing could run (usage, configuration, unreadable input). */
#define _POSIX_C_SOURCE 200809L
#include "dhatu.h"
#include "lines.h"
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

#define PROG "dhatu-vectorize"

typedef struct options {
    const char *models;      /* comma list in --bench */
    const char *backends;    /* comma list in --bench */
    const char *lexicon;
    size_t batch;
    int threads;
    size_t max_article;
    size_t batch_bytes;      /* 0: the engine's default */
    int device, platform;
    const char *device_type;
    size_t device_memory;
    int profile;
    int bench;
    int rounds;
    long synthetic;
    int quiet;
    int progress;
} options;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

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
    char *data;           /* title, text and lang of each article, back to back */
    size_t len, cap;
    struct art { size_t title, title_len, text, text_len, lang; int has_title, has_lang; } *a;
    size_t n, acap;
    size_t text_bytes;
} article_set;

static int set_push(article_set *s, const char *p, size_t n, size_t *at)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1 << 20;
        while (cap < s->len + n + 1) cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d) return -1;
        s->data = d;
        s->cap = cap;
    }
    *at = s->len;
    if (n) memcpy(s->data + s->len, p, n);
    s->data[s->len + n] = '\0';
    s->len += n + 1;
    return 0;
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

/* ---- input: every file's articles, bad lines reported once, here ---- */

/* Called for each parsed article. Returns 0 when taken, 1 when rejected
 * (the callback reported why), -1 on a fatal error. */
typedef int (*article_fn)(void *ctx, const char *where, uint64_t lineno, uint64_t offset,
                          const schema_article *a);

typedef struct read_counts { uint64_t articles, skipped; } read_counts;

static void report(const char *where, uint64_t lineno, uint64_t offset, const char *what)
{
    fprintf(stderr, PROG ": %s:%" PRIu64 ": offset %" PRIu64 ": %s\n", where, lineno, offset, what);
}

static int read_stream(const options *o, FILE *f, const char *where, article_fn fn, void *ctx,
                       read_counts *n)
{
    size_t max_line = o->max_article * 6 + (1 << 20); /* JSON escapes grow text up to 6x */
    lines_reader *lr = lines_open(f, max_line);
    if (!lr) { fprintf(stderr, PROG ": out of memory\n"); return -1; }
    const char *line;
    size_t len;
    uint64_t lineno, offset;
    lines_status ls;
    int rc = 0;
    while ((ls = lines_next(lr, &line, &len, &lineno, &offset)) != LINES_EOF) {
        if (ls == LINES_IO_ERROR) {
            fprintf(stderr, PROG ": %s: read error: %s\n", where, strerror(errno));
            rc = -1;
            break;
        }
        char err[320];
        if (ls == LINES_TOO_LONG) {
            snprintf(err, sizeof err, "line longer than %zu bytes, skipped", max_line);
            report(where, lineno, offset, err);
            n->skipped++;
            continue;
        }
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue; /* blank lines are not articles */
        schema_article a;
        if (schema_json_parse_article(line, len, &a, err, sizeof err)) {
            report(where, lineno, offset, err);
            n->skipped++;
            continue;
        }
        n->articles++;
        int taken = fn(ctx, where, lineno, offset, &a);
        schema_article_clear(&a);
        if (taken < 0) { rc = -1; break; }
        if (taken > 0) n->skipped++;
    }
    lines_close(lr);
    return rc;
}

/* Reads FILEs in order (stdin when none or "-"). Returns -1 when a file
 * cannot be opened or read, or fn failed fatally. */
static int read_articles(const options *o, char **files, int nfiles, article_fn fn, void *ctx,
                         read_counts *n)
{
    for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
        const char *name = nfiles ? files[i] : "-";
        int is_stdin = !strcmp(name, "-");
        FILE *f = is_stdin ? stdin : fopen(name, "rb");
        if (!f) {
            fprintf(stderr, PROG ": %s: %s\n", name, strerror(errno));
            return -1;
        }
        int rc = read_stream(o, f, is_stdin ? "<stdin>" : name, fn, ctx, n);
        if (!is_stdin) fclose(f);
        if (rc) return -1;
    }
    return 0;
}

/* ---- the record-printing run ---- */

typedef struct run {
    const options *opt;
    dhatu_engine *e;
    dhatu_batch *b;
    dhatu_record *out;
    char *ids;             /* ids of the batch's articles, NUL-separated */
    size_t ids_len, ids_cap;
    size_t *id_off, *id_len;
    schema_buf json;
    read_counts in;
    uint64_t records, failed_writes;
    double t0, last_progress;
} run;

/* Records the id of the article just added to the batch. */
static int remember_id(run *r, const char *id, size_t len)
{
    if (r->ids_len + len > r->ids_cap) {
        size_t cap = r->ids_cap ? r->ids_cap : 1 << 16;
        while (cap < r->ids_len + len) cap *= 2;
        char *p = realloc(r->ids, cap);
        if (!p) return -1;
        r->ids = p;
        r->ids_cap = cap;
    }
    size_t i = dhatu_batch_count(r->b) - 1;
    memcpy(r->ids + r->ids_len, id, len);
    r->id_off[i] = r->ids_len;
    r->id_len[i] = len;
    r->ids_len += len;
    return 0;
}

static int flush_batch(run *r)
{
    char err[512];
    size_t n = dhatu_batch_count(r->b);
    if (!n) return 0;
    if (dhatu_engine_vectorize(r->e, r->b, r->out, err, sizeof err)) {
        fprintf(stderr, PROG ": engine error: %s\n", err);
        return -1;
    }
    const char *model = dhatu_engine_model_id(r->e);
    for (size_t i = 0; i < n; i++) {
        if (schema_json_write_record(r->ids + r->id_off[i], r->id_len[i], model, &r->out[i], NULL,
                                     &r->json, err, sizeof err)) {
            fprintf(stderr, PROG ": cannot write record %.*s: %s\n", (int)r->id_len[i],
                    r->ids + r->id_off[i], err);
            r->failed_writes++;
            continue;
        }
        r->json.data[r->json.len] = '\n';
        fwrite(r->json.data, 1, r->json.len + 1, stdout);
        r->records++;
    }
    if (ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write to stdout: %s\n", strerror(errno));
        return -1;
    }
    dhatu_batch_reset(r->b);
    r->ids_len = 0;
    if (r->opt->progress) {
        double t = now_s();
        if (t - r->last_progress > 0.25) {
            fprintf(stderr, "\r" PROG ": %" PRIu64 " articles, %.0f/s   ", r->in.articles,
                    (double)r->in.articles / (t - r->t0));
            r->last_progress = t;
        }
    }
    return 0;
}

/* article_fn of the record run: adds to the batch, flushing it when full. */
static int add_article(void *ctx, const char *where, uint64_t lineno, uint64_t offset,
                       const schema_article *a)
{
    run *r = ctx;
    char err[256];
    for (int attempt = 0; attempt < 2; attempt++) {
        dhatu_status st = dhatu_batch_add(r->b, a->title, a->title_len, a->text, a->text_len,
                                          a->lang, err, sizeof err);
        if (st == DHATU_OK) return remember_id(r, a->id, a->id_len) ? -1 : 0;
        if (st != DHATU_ERR_FULL || attempt) break;
        if (flush_batch(r)) return -1;
    }
    char what[400];
    snprintf(what, sizeof what, "id %.*s: %s", (int)(a->id_len > 80 ? 80 : a->id_len), a->id, err);
    report(where, lineno, offset, what);
    return 1;
}

static int make_engine(const options *o, const char *backend, const char *model, dhatu_engine **e)
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
        fprintf(stderr, PROG ": %s\n", err);
        return -1;
    }
    return 0;
}

static int run_records(const options *o, char **files, int nfiles)
{
    run r;
    memset(&r, 0, sizeof r);
    r.opt = o;
    char err[512];
    if (make_engine(o, o->backends, o->models, &r.e)) return 2;
    if (dhatu_batch_create(r.e, &r.b, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        dhatu_engine_destroy(r.e);
        return 2;
    }
    r.out = malloc(o->batch * sizeof *r.out);
    r.id_off = malloc(o->batch * sizeof *r.id_off);
    r.id_len = malloc(o->batch * sizeof *r.id_len);
    int fatal = !r.out || !r.id_off || !r.id_len;
    if (fatal) fprintf(stderr, PROG ": out of memory\n");
    r.t0 = r.last_progress = now_s();

    if (!fatal && read_articles(o, files, nfiles, add_article, &r, &r.in)) fatal = 1;
    if (!fatal && flush_batch(&r)) fatal = 1;
    fflush(stdout);
    double dt = now_s() - r.t0;
    if (o->progress) fputc('\n', stderr);
    if (!o->quiet)
        fprintf(stderr, PROG ": %" PRIu64 " records from %" PRIu64 " articles, %" PRIu64
                " lines skipped, %.3f s, %.0f articles/s (model %s, backend %s: %s)\n",
                r.records, r.in.articles, r.in.skipped + r.failed_writes, dt, dt > 0 ? (double)r.records / dt : 0.0,
                dhatu_engine_model_id(r.e), dhatu_engine_backend(r.e), dhatu_engine_describe(r.e));
    dhatu_batch_destroy(r.b);
    dhatu_engine_destroy(r.e);
    schema_buf_free(&r.json);
    free(r.out);
    free(r.id_off);
    free(r.id_len);
    free(r.ids);
    return fatal ? 2 : (r.in.skipped || r.failed_writes) ? 1 : 0;
}

/* ---- --bench ---- */

typedef struct bench_input { article_set *set; const options *opt; } bench_input;

/* article_fn of --bench: keeps the article in memory. */
static int keep_article(void *ctx, const char *where, uint64_t lineno, uint64_t offset,
                        const schema_article *a)
{
    article_set *s = ((bench_input *)ctx)->set;
    const options *o = ((bench_input *)ctx)->opt;
    size_t len = a->text_len + (a->title ? a->title_len + 1 : 0);
    if (len > o->max_article) {
        char what[128];
        snprintf(what, sizeof what, "article of %zu bytes exceeds the maximum of %zu bytes", len, o->max_article);
        report(where, lineno, offset, what);
        return 1;
    }
    if (set_add(s, a->title, a->title_len, a->text, a->text_len, a->lang)) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    return 0;
}

static int load_all(const options *o, char **files, int nfiles, article_set *s)
{
    if (o->synthetic > 0) return set_synthetic(s, o->synthetic);
    bench_input in = { s, o };
    read_counts n = { 0, 0 };
    if (read_articles(o, files, nfiles, keep_article, &in, &n)) return -1;
    if (n.skipped) fprintf(stderr, PROG ": --bench: %" PRIu64 " input lines skipped\n", n.skipped);
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
        if (dhatu_batch_create(e, &batches[b], err, sizeof err)) { fprintf(stderr, PROG ": %s\n", err); rc = -1; break; }
        for (; i < s->n && dhatu_batch_count(batches[b]) < o->batch; i++) {
            const struct art *a = &s->a[i];
            dhatu_status st = dhatu_batch_add(batches[b], a->has_title ? s->data + a->title : NULL, a->title_len,
                                              s->data + a->text, a->text_len,
                                              a->has_lang ? s->data + a->lang : NULL, err, sizeof err);
            if (st == DHATU_ERR_FULL) break;
            if (st) { fprintf(stderr, PROG ": %s\n", err); rc = -1; break; }
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
            double t = now_s();
            if (dhatu_engine_vectorize(e, batches[b], out, err, sizeof err)) {
                fprintf(stderr, PROG ": %s\n", err);
                rc = -1;
                break;
            }
            t = now_s() - t;
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
    if (load_all(o, files, nfiles, &s)) { free(s.data); free(s.a); return 2; }
    if (!s.n) { fprintf(stderr, PROG ": --bench: no articles\n"); return 2; }
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
    free(s.data);
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
                fprintf(stderr, PROG ": --batch must be 1..1000000\n");
                return 2;
            }
            break;
        case 'j':
            if (parse_size(optarg, &v, 0) || v > 4096) { fprintf(stderr, PROG ": --threads must be 0..4096\n"); return 2; }
            o.threads = (int)v;
            break;
        case 1:
            if (parse_size(optarg, &o.max_article, 1)) { fprintf(stderr, PROG ": bad --max-article-bytes\n"); return 2; }
            break;
        case 2: o.bench = 1; break;
        case 3:
            if (parse_size(optarg, &v, 1) || v > 100000) { fprintf(stderr, PROG ": --rounds must be 1..100000\n"); return 2; }
            o.rounds = (int)v;
            break;
        case 4:
            if (parse_size(optarg, &v, 1) || v > 100000000) { fprintf(stderr, PROG ": bad --synthetic\n"); return 2; }
            o.synthetic = (long)v;
            break;
        case 5:
            if (parse_size(optarg, &o.batch_bytes, 1)) { fprintf(stderr, PROG ": bad --batch-bytes\n"); return 2; }
            break;
        case 6:
        case 7:
            if (parse_size(optarg, &v, 0) || v > 63) {
                fprintf(stderr, PROG ": --%s must be 0..63\n", c == 6 ? "device" : "platform");
                return 2;
            }
            if (c == 6) o.device = (int)v; else o.platform = (int)v;
            break;
        case 8: o.device_type = optarg; break;
        case 9:
            if (parse_size(optarg, &o.device_memory, 1)) { fprintf(stderr, PROG ": bad --device-memory\n"); return 2; }
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
        fprintf(stderr, PROG ": lists of models or backends need --bench\n");
        return 2;
    }
    if (o.synthetic && !o.bench) {
        fprintf(stderr, PROG ": --synthetic needs --bench\n");
        return 2;
    }
    o.progress = !o.quiet && !o.bench && isatty(STDERR_FILENO);
    return o.bench ? run_bench(&o, argv + optind, argc - optind)
                   : run_records(&o, argv + optind, argc - optind);
}
