/* report.c -- dhatu-report: what a set of dhātu records says, as one
 * self-contained HTML page with inline SVG charts (no script, no font, no
 * image fetched when it is opened).
 *
 *   dhatu-report [-o report.html] [--articles ARTICLES.jsonl] [--title T] FILE.jsonl...
 *   dhatu-report -b BROKERS -t TOPIC [--since TIME] [--until TIME] [-F FILE] [-X k=v] -o report.html
 *   dhatu-report --compare [-o compare.html] [--articles ARTICLES.jsonl] A.jsonl B.jsonl
 *   dhatu-report --compare -b BROKERS -t TOPIC_A -t TOPIC_B -o compare.html
 *
 * -t TOPIC: the records of a topic, read by running dhatu-dump (found
 * beside this program, or $DHATU_DUMP) with -b, --since, --until,
 * --registry, -F and -X: reading Kafka stays dhatu-dump's one job and this
 * program never links librdkafka.
 *
 * FILE: records as JSON Lines, as dhatu-vectorize and dhatu-dump print them
 * ("-": standard input). --articles: the articles they were made from, for
 * titles, lang, source and the publication time (records from a topic
 * carry the input message's timestamp in lineage.timestamp, and the
 * article's lang and source, which are used first).
 *
 * The page: the dominant dhātu's share, each dhātu's mean weight, polarity
 * per dhātu, the dominant share by lang and by source, over time, and the
 * articles that express each dhātu most. --compare: two record sets of the
 * same articles (two lexicon versions, say), side by side, where each
 * article's dominant dhātu went, and which changed. Every number a chart draws is also
 * printed in a table beside it (tests/report_test.py recomputes them).
 * Bad lines are reported as FILE:LINE: reason and skipped.
 * Exit status: 0; 1 some lines were skipped; 2 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lines.h"
#include "report.h"


/* ---- articles: id -> title, lang, source, published (open addressing) */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

art *arts_find(const arts *t, const char *id)
{
    if (!t->cap) return NULL;
    for (size_t i = hash(id) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->v[i].id) return NULL;
        if (!strcmp(t->v[i].id, id)) return &t->v[i];
    }
}

static int arts_put(arts *t, art a)
{
    if (2 * (t->n + 1) > t->cap) {
        arts bigger = { calloc(t->cap ? 2 * t->cap : 1024, sizeof(art)), t->cap ? 2 * t->cap : 1024, 0 };
        if (!bigger.v) return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i].id) arts_put(&bigger, t->v[i]);
        free(t->v);
        *t = bigger;
    }
    size_t i = hash(a.id) & (t->cap - 1);
    while (t->v[i].id && strcmp(t->v[i].id, a.id)) i = (i + 1) & (t->cap - 1);
    if (t->v[i].id) return 0;       /* the first article of an id wins */
    t->v[i] = a;
    t->n++;
    return 0;
}

static char *dup_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

/* ---- what the records say */

static void count_group(group *g, int *ng, const char *name, int dom)
{
    int i;
    for (i = 0; i < *ng && strcmp(g[i].name, name); i++) {}
    if (i == *ng) {
        if (*ng < MAX_GROUPS) g[(*ng)++].name = strdup(name);
        else i = MAX_GROUPS;        /* other */
    }
    if (!g[i].name) g[i].name = strdup("other");
    g[i].n++;
    g[i].dom[dom]++;
}

static void keep_best(top *b, double w, const char *id)
{
    if (w <= 0) return;
    int i = TOP - 1;
    if (b[i].id && (b[i].w > w || (b[i].w == w && strcmp(b[i].id, id) <= 0))) return;
    free(b[i].id);
    for (; i > 0 && (!b[i - 1].id || b[i - 1].w < w || (b[i - 1].w == w && strcmp(b[i - 1].id, id) > 0)); i--)
        b[i] = b[i - 1];
    b[i].w = w;
    b[i].id = strdup(id);
}

/* Room for element n of an array of cap elements (doubled, from 4096). */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 4096;
    void *p = realloc(*v, c * size);
    if (!p) return -1;
    *v = p;
    *cap = c;
    return 0;
}

static int dhatu_index(const char *s)
{
    for (int i = 0; s && i < ND; i++)
        if (!strcmp(s, dhatu_name(i))) return i;
    return -1;
}

/* One record line; NULL, or why it is not a record. */
static const char *add_record(report *r, const arts *a, const char *line, size_t len)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    if (!o) return "not JSON";
    const char *why = NULL;
    json_t *w = json_object_get(o, "weights"), *pol = json_object_get(o, "polarity");
    const char *id = json_string_value(json_object_get(o, "id"));
    json_t *domv = json_object_get(o, "dominant");
    int dom = json_is_null(domv) ? ND : dhatu_index(json_string_value(domv));
    if (!id || json_array_size(w) != ND || json_array_size(pol) != ND || dom < 0) {
        why = "not a dhātu record (id, weights, polarity and dominant are required)";
        goto done;
    }
    double ws[ND];
    for (int i = 0; i < ND; i++) {
        ws[i] = json_number_value(json_array_get(w, (size_t)i));
        if (!(ws[i] >= 0 && ws[i] <= 1)) {
            why = "a weight outside [0, 1]";
            goto done;
        }
    }
    if (r->keep_ids) {
        if (grow((void **)&r->ids, &r->cap_ids, r->nids, sizeof *r->ids) ||
            !(r->ids[r->nids].id = strdup(id))) {
            why = "out of memory";
            goto done;
        }
        r->ids[r->nids++].dom = dom;
    }
    r->n++;
    r->dom[dom]++;
    r->tokens += (uint64_t)json_integer_value(json_object_get(o, "tokens"));
    for (int i = 0; i < ND; i++) {
        r->weight[i] += ws[i];
        const char *p = json_string_value(json_array_get(pol, (size_t)i));
        r->pol[i][p && !strcmp(p, "positive") ? 1 : p && !strcmp(p, "negative") ? 2 : 0]++;
        keep_best(r->best[i], ws[i], id);
    }
    const char *model = json_string_value(json_object_get(o, "model"));
    if (model && !strstr(r->models, model) && strlen(r->models) + strlen(model) + 3 < sizeof r->models)
        strcat(strcat(r->models, r->models[0] ? ", " : ""), model);
    const art *ar = arts_find(a, id);
    /* The record's own lang and source (records of a topic, since schema
     * version 2), else the article's (--articles). */
    const char *lang = json_string_value(json_object_get(o, "lang")),
               *source = json_string_value(json_object_get(o, "source"));
    if (!lang && ar) lang = ar->lang;
    if (!source && ar) source = ar->source;
    count_group(r->langs, &r->nlangs, lang ? lang : "unknown", dom);
    count_group(r->sources, &r->nsources, source ? source : "unknown", dom);
    json_t *ts = json_object_get(json_object_get(o, "lineage"), "timestamp");
    int has_t = json_is_integer(ts) && json_integer_value(ts) >= 0;
    int64_t t = has_t ? json_integer_value(ts) : ar && ar->has_published ? ar->published : 0;
    if (has_t || (ar && ar->has_published)) {
        if (grow((void **)&r->times, &r->cap_times, r->ntimes, sizeof *r->times)) {
            why = "out of memory";
            goto done;
        }
        r->times[r->ntimes].t = t;
        r->times[r->ntimes++].dom = dom;
    }
done:
    json_decref(o);
    return why;
}

/* Reads each line of f through fn; counts and reports bad ones. */
static int read_stream(FILE *f, const char *name, int (*fn)(void *, const char *, size_t, const char **),
                       void *ctx, uint64_t *skipped)
{
    lines_reader *lr = lines_open(f, 1 << 26);
    const char *line, *why;
    size_t len;
    uint64_t no, off;
    lines_status st;
    while ((st = lines_next(lr, &line, &len, &no, &off)) != LINES_EOF) {
        if (st != LINES_OK) {
            fprintf(stderr, PROG ": %s:%" PRIu64 ": offset %" PRIu64 ": %s\n", name, no, off,
                    st == LINES_TOO_LONG ? "line too long, skipped" : "read error");
            if (st != LINES_TOO_LONG) break;
            (*skipped)++;
            continue;
        }
        if (len == 0) continue;
        if (fn(ctx, line, len, &why)) {
            fprintf(stderr, PROG ": %s:%" PRIu64 ": offset %" PRIu64 ": %s\n", name, no, off, why);
            (*skipped)++;
        }
    }
    lines_close(lr);
    return st == LINES_EOF ? 0 : -1;
}

static int read_lines(const char *name, int (*fn)(void *, const char *, size_t, const char **), void *ctx,
                      uint64_t *skipped)
{
    FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
    if (!f) {
        fprintf(stderr, PROG ": %s: cannot open\n", name);
        return -1;
    }
    int rc = read_stream(f, name, fn, ctx, skipped);
    if (f != stdin) fclose(f);
    return rc;
}

/* ---- records from a topic: dhatu-dump reads it (brokers, security,
 * registry, transactions, the time window are its job), this program
 * reads what it prints, so dhatu-report itself never links librdkafka. */

typedef struct dump_args {
    const char *brokers, *since, *until, *registry;
    const char *items[64];      /* -F FILE and -X key=value, as given: "-F", path, "-X", kv... */
    int nitems;
} dump_args;

/* dhatu-dump beside this program (installed together, built together), or
 * $DHATU_DUMP. */
static void dump_path(char *buf, size_t n)
{
    const char *env = getenv("DHATU_DUMP");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return;
    }
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    buf[k > 0 ? k : 0] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash && (size_t)(slash - buf) + 12 < n) strcpy(slash + 1, "dhatu-dump");
    else snprintf(buf, n, "dhatu-dump");
}

/* The records of topic (dhatu-dump's output) through fn. 0; 1 dhatu-dump
 * reported messages it could not decode (counted as skipped); -1 it
 * failed (its message is on stderr). */
static int read_topic(const char *topic, const dump_args *d, int (*fn)(void *, const char *, size_t, const char **),
                      void *ctx, uint64_t *skipped)
{
    char exe[4096];
    const char *argv[96];
    int k = 0;
    dump_path(exe, sizeof exe);
    argv[k++] = exe;
    argv[k++] = "-b";
    argv[k++] = d->brokers;
    argv[k++] = "-t";
    argv[k++] = topic;
    if (d->since) { argv[k++] = "--since"; argv[k++] = d->since; }
    if (d->until) { argv[k++] = "--until"; argv[k++] = d->until; }
    if (d->registry) { argv[k++] = "--registry"; argv[k++] = d->registry; }
    for (int i = 0; i < d->nitems; i++) argv[k++] = d->items[i];
    argv[k] = NULL;
    int fds[2];
    if (pipe(fds)) {
        fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(exe, (char *const *)argv);
        fprintf(stderr, PROG ": cannot run %s: %s (set DHATU_DUMP)\n", exe, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "rb");
    int rc = f ? read_stream(f, topic, fn, ctx, skipped) : -1;
    if (f) fclose(f);
    else close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (rc || code > 1) {
        fprintf(stderr, PROG ": topic %s: dhatu-dump exited %d\n", topic, code);
        return -1;
    }
    if (code == 1) (*skipped)++;
    return 0;
}

static int on_record(void *ctx, const char *line, size_t len, const char **why)
{
    void **c = ctx;
    return (*why = add_record(c[0], c[1], line, len)) != NULL;
}

static int on_article(void *ctx, const char *line, size_t len, const char **why)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    json_t *id = o ? json_object_get(o, "id") : NULL;
    char idbuf[32];
    const char *ids = json_string_value(id);
    if (json_is_integer(id)) snprintf(idbuf, sizeof idbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(id)),
                             ids = idbuf;
    if (!ids) {
        json_decref(o);
        *why = "not an article with an id";
        return -1;
    }
    json_t *pub = json_object_get(o, "published");
    art a = { strdup(ids), dup_str(o, "title"), dup_str(o, "lang"), dup_str(o, "source"),
              json_integer_value(pub), json_is_integer(pub) };
    json_decref(o);
    if (arts_put(ctx, a)) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

static void report_free(report *r, arts *a)
{
    for (int i = 0; i <= MAX_GROUPS; i++) {
        free(r->langs[i].name);
        free(r->sources[i].name);
    }
    for (int d = 0; d < ND; d++)
        for (int i = 0; i < TOP; i++) free(r->best[d][i].id);
    free(r->times);
    for (size_t i = 0; i < r->nids; i++) free(r->ids[i].id);
    free(r->ids);
    for (size_t i = 0; a && i < a->cap; i++) {
        free(a->v[i].id);
        free(a->v[i].title);
        free(a->v[i].lang);
        free(a->v[i].source);
    }
    if (a) free(a->v);
}

static void usage(FILE *f)
{
    fputs("Usage: " PROG " [-o FILE.html] [--articles ARTICLES.jsonl] [--title TEXT] RECORDS.jsonl...\n"
          "       " PROG " -b BROKERS -t TOPIC [--since TIME] [--until TIME] [-F FILE] [-X key=value]... [-o FILE.html]\n"
          "       " PROG " --compare [-o FILE.html] [--articles ARTICLES.jsonl] A.jsonl B.jsonl\n"
          "       " PROG " --compare -b BROKERS -t TOPIC_A -t TOPIC_B [-o FILE.html]\n"
          "One self-contained HTML page (inline SVG, no script) of what the records say: the dominant\n"
          "dhātu's share, mean weights, polarity, by lang and by source (from --articles), over time,\n"
          "and the articles that express each dhātu most. RECORDS: JSON Lines of dhatu-vectorize or\n"
          "dhatu-dump (\"-\": standard input).\n"
          "  -o FILE            the page (default: standard output)\n"
          "  -t TOPIC           records of a topic (dhatu-dump, beside this program, reads it), with\n"
          "                     -b BROKERS, --since/--until TIME (message timestamps: epoch ms or RFC 3339),\n"
          "                     --registry URL, -F FILE and -X key=value (a secured cluster) as dhatu-dump\n"
          "  --articles FILE    the articles (JSON Lines): titles, lang, source, published\n"
          "  --title TEXT       the page's title\n"
          "  --compare          two record sets of the same articles (say two lexicon versions): the\n"
          "                     dominant shares and mean weights side by side, where each article's\n"
          "                     dominant dhatu went, the articles whose dominant dhatu changed\n"
          "Exit status: 0; 1 some input lines were skipped (each reported as FILE:LINE); 2 usage or\n"
          "I/O error.\n", f);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = { { "articles", required_argument, 0, 'a' },
                                        { "title", required_argument, 0, 'T' },
                                        { "compare", no_argument, 0, 'C' },
                                        { "brokers", required_argument, 0, 'b' },
                                        { "topic", required_argument, 0, 't' },
                                        { "since", required_argument, 0, 'S' },
                                        { "until", required_argument, 0, 'U' },
                                        { "registry", required_argument, 0, 'R' },
                                        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *out = NULL, *articles = NULL, *title = NULL, *topics[2] = { NULL, NULL };
    dump_args d = { .brokers = "127.0.0.1:9092" };
    int c, compare = 0, ntopics = 0;
    while ((c = getopt_long(argc, argv, "o:hb:t:F:X:", lo, NULL)) != -1) {
        switch (c) {
        case 'b': d.brokers = optarg; break;
        case 't':
            if (ntopics == 2) {
                fputs(PROG ": at most two -t TOPIC (--compare A B)\n", stderr);
                return 2;
            }
            topics[ntopics++] = optarg;
            break;
        case 'S': d.since = optarg; break;
        case 'U': d.until = optarg; break;
        case 'R': d.registry = optarg; break;
        case 'F':
        case 'X':
            if (d.nitems + 2 > (int)(sizeof d.items / sizeof *d.items)) {
                fputs(PROG ": too many -F and -X\n", stderr);
                return 2;
            }
            d.items[d.nitems++] = c == 'F' ? "-F" : "-X";
            d.items[d.nitems++] = optarg;
            break;
        case 'o': out = optarg; break;
        case 'a': articles = optarg; break;
        case 'T': title = optarg; break;
        case 'C': compare = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* The record sets: the topics (-t, in order), then the files. */
    int nfiles = argc - optind, nsets = ntopics + nfiles;
    if (nsets == 0 || (compare && nsets != 2)) {
        if (compare) fputs(PROG ": --compare takes two record sets, A and B (files or -t topics)\n", stderr);
        usage(stderr);
        return 2;
    }
    if (!ntopics && (d.since || d.until || d.registry || d.nitems)) {
        fputs(PROG ": --since, --until, --registry, -F and -X go with -t TOPIC\n", stderr);
        return 2;
    }
    const char *names[2] = { NULL, NULL };
    for (int k = 0; k < 2 && k < nsets; k++) names[k] = k < ntopics ? topics[k] : argv[optind + k - ntopics];
    if (!title) title = compare ? "What changed between two record sets" : "What the records say";
    static report r, rb;
    arts a = { 0 };
    uint64_t bad_articles = 0;
    int rc = 0;
    void *ctx[2] = { &r, &a }, *ctxb[2] = { &rb, &a };
    r.keep_ids = rb.keep_ids = compare;
    if (articles && read_lines(articles, on_article, &a, &bad_articles)) rc = 2;
    /* Set k: a topic while k < ntopics, else a file. */
#define READ_SET(k, cx, rep) ((k) < ntopics ? read_topic(topics[k], &d, on_record, cx, &(rep).skipped) \
                                            : read_lines(argv[optind + (k) - ntopics], on_record, cx, &(rep).skipped))
    if (compare) {
        if (!rc && (READ_SET(0, ctx, r) || READ_SET(1, ctxb, rb))) rc = 2;
    } else {
        for (int k = 0; !rc && k < nsets; k++)
            if (READ_SET(k, ctx, r)) rc = 2;
    }
#undef READ_SET
    r.skipped += bad_articles + rb.skipped;
    FILE *o = rc ? NULL : out ? fopen(out, "w") : stdout;
    if (!rc && !o) {
        fprintf(stderr, PROG ": %s: cannot write\n", out);
        rc = 2;
    }
    if (!rc) {
        if (compare) write_compare(o, &r, &rb, names[0], names[1], &a, title);
        else write_report(o, &r, &a, title);
        if ((out ? fclose(o) : fflush(o)) != 0) {
            fprintf(stderr, PROG ": %s: write failed\n", out ? out : "standard output");
            rc = 2;
        } else {
            fprintf(stderr, PROG ": %" PRIu64 " records%s%s\n", r.n, out ? " -> " : "", out ? out : "");
            rc = r.skipped ? 1 : 0;
        }
    }
    report_free(&r, &a);
    report_free(&rb, NULL);
    return rc;
}
