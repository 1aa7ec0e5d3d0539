/* report.c -- dhatu-report: what a set of dhātu records says, as one
 * self-contained HTML page with inline SVG charts (no script, no font, no
 * image fetched when it is opened).
 *
 *   dhatu-report [-o report.html] [--articles ARTICLES.jsonl] [--title T] FILE.jsonl...
 *
 * FILE: records as JSON Lines, as dhatu-vectorize and dhatu-dump print them
 * ("-": standard input). --articles: the articles they were made from, for
 * titles, lang, source and the publication time (records carry the input
 * message's timestamp in lineage.timestamp when they came from a topic).
 *
 * The page: the dominant dhātu's share, each dhātu's mean weight, polarity
 * per dhātu, the dominant share by lang and by source, over time, and the
 * articles that express each dhātu most. Every number a chart draws is also
 * printed in a table beside it (tests/report_test.py recomputes them).
 * Bad lines are reported as FILE:LINE: reason and skipped.
 * Exit status: 0; 1 some lines were skipped; 2 usage or I/O error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dhatu_record.h"
#include "lines.h"

#define PROG "dhatu-report"
#define ND DHATU_NDHATU
#define NCOL (ND + 1)               /* the dhātus, then "none" (no evidence) */
#define TOP 5                       /* articles shown per dhātu */
#define MAX_GROUPS 12               /* langs or sources shown; the rest is "other" */
#define MAX_BUCKETS 60

static const char *const colors[NCOL] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };

static const char *col_name(int i) { return i < ND ? dhatu_name(i) : "none"; }

/* ---- articles: id -> title, lang, source, published (open addressing) */

typedef struct art { char *id, *title, *lang, *source; int64_t published; int has_published; } art;
typedef struct arts { art *v; size_t cap, n; } arts;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static art *arts_find(const arts *t, const char *id)
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

typedef struct group { char *name; uint64_t n, dom[NCOL]; } group;
typedef struct top { double w; char *id; } top;

typedef struct report {
    uint64_t n, dom[NCOL], pol[ND][3], tokens, skipped;
    double weight[ND];
    group langs[MAX_GROUPS + 1], sources[MAX_GROUPS + 1];   /* last: "other" */
    int nlangs, nsources;
    struct { int64_t t; int dom; } *times;
    size_t ntimes, cap_times;
    top best[ND][TOP];
    char models[256];
} report;

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
    count_group(r->langs, &r->nlangs, ar && ar->lang ? ar->lang : "unknown", dom);
    count_group(r->sources, &r->nsources, ar && ar->source ? ar->source : "unknown", dom);
    json_t *ts = json_object_get(json_object_get(o, "lineage"), "timestamp");
    int has_t = json_is_integer(ts) && json_integer_value(ts) >= 0;
    int64_t t = has_t ? json_integer_value(ts) : ar && ar->has_published ? ar->published : 0;
    if (has_t || (ar && ar->has_published)) {
        if (r->ntimes == r->cap_times) {
            size_t cap = r->cap_times ? 2 * r->cap_times : 4096;
            void *p = realloc(r->times, cap * sizeof *r->times);
            if (!p) {
                why = "out of memory";
                goto done;
            }
            r->times = p;
            r->cap_times = cap;
        }
        r->times[r->ntimes].t = t;
        r->times[r->ntimes++].dom = dom;
    }
done:
    json_decref(o);
    return why;
}

/* Reads each line of f through fn; counts and reports bad ones. */
static int read_lines(const char *name, int (*fn)(void *, const char *, size_t, const char **), void *ctx,
                      uint64_t *skipped)
{
    FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
    if (!f) {
        fprintf(stderr, PROG ": %s: cannot open\n", name);
        return -1;
    }
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
    if (f != stdin) fclose(f);
    return st == LINES_EOF ? 0 : -1;
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

/* ---- HTML and SVG */

static void esc(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc(*s, o);
        }
    }
}

static double share(uint64_t k, uint64_t n) { return n ? (double)k / (double)n : 0; }

/* Horizontal bars, one per label, value in [0, 1]. */
static void bars(FILE *o, const char *id, int n, const char *const *labels, const double *v, const char *const *fill)
{
    int h = 22 * n + 10;
    fprintf(o, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 560 %d\" width=\"560\" height=\"%d\" role=\"img\">\n", id,
            h, h);
    for (int i = 0; i < n; i++) {
        int y = 5 + 22 * i;
        fprintf(o, "<text x=\"96\" y=\"%d\" text-anchor=\"end\">%s</text>", y + 15, labels[i]);
        fprintf(o, "<rect x=\"100\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", y, 380 * v[i], fill[i]);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\">%.1f%%</text>\n", 104 + 380 * v[i], y + 15, 100 * v[i]);
    }
    fputs("</svg>\n", o);
}

/* Rows of stacked bars: each row's parts add up to 1. */
static void stacked(FILE *o, const char *id, int rows, const char *const *labels, const double *parts, int nparts,
                    const char *const *fill, int label_w)
{
    int h = 22 * rows + 10, w = label_w + 420;
    fprintf(o, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n", id,
            w, h, w, h);
    for (int r = 0; r < rows; r++) {
        int y = 5 + 22 * r;
        double x = label_w;
        fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 4, y + 15);
        esc(o, labels[r]);
        fputs("</text>", o);
        for (int p = 0; p < nparts; p++) {
            double wp = 400 * parts[r * nparts + p];
            if (wp > 0) fprintf(o, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", x, y, wp, fill[p]);
            x += wp;
        }
        fputc('\n', o);
    }
    fputs("</svg>\n", o);
}

static void legend(FILE *o, int n, const char *const *names, const char *const *fill)
{
    fputs("<p class=\"legend\">", o);
    for (int i = 0; i < n; i++) fprintf(o, "<span><i style=\"background:%s\"></i>%s</span> ", fill[i], names[i]);
    fputs("</p>\n", o);
}

/* The dominant share by group (lang or source): chart and table. */
static void by_group(FILE *o, const char *what, const char *id, const group *g, int ng)
{
    int rows = 0;
    const char *labels[MAX_GROUPS + 1];
    double parts[(MAX_GROUPS + 1) * NCOL];
    for (int i = 0; i <= MAX_GROUPS; i++) {
        if (!g[i].n) continue;
        labels[rows] = g[i].name;
        for (int d = 0; d < NCOL; d++) parts[rows * NCOL + d] = share(g[i].dom[d], g[i].n);
        rows++;
    }
    (void)ng;
    fprintf(o, "<h2>Dominant dhātu by %s</h2>\n", what);
    stacked(o, id, rows, labels, parts, NCOL, colors, 140);
    fprintf(o, "<table class=\"data\" id=\"%s-table\"><tr><th>%s</th><th>records</th>", id, what);
    for (int d = 0; d < NCOL; d++) fprintf(o, "<th>%s</th>", col_name(d));
    fputs("</tr>\n", o);
    for (int i = 0; i <= MAX_GROUPS; i++) {
        if (!g[i].n) continue;
        fputs("<tr><td class=\"name\">", o);
        esc(o, g[i].name);
        fprintf(o, "</td><td class=\"n\">%" PRIu64 "</td>", g[i].n);
        for (int d = 0; d < NCOL; d++) fprintf(o, "<td data-dhatu=\"%s\">%" PRIu64 "</td>", col_name(d), g[i].dom[d]);
        fputs("</tr>\n", o);
    }
    fputs("</table>\n", o);
}

static int cmp_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void over_time(FILE *o, report *r)
{
    fputs("<h2>Dominant dhātu over time</h2>\n", o);
    if (!r->ntimes) {
        fputs("<p class=\"none\">No time: the records carry no message timestamp and no article gave a "
              "publication time (--articles).</p>\n", o);
        return;
    }
    qsort(r->times, r->ntimes, sizeof *r->times, cmp_time);
    int64_t lo = r->times[0].t, hi = r->times[r->ntimes - 1].t;
    static const int64_t widths[] = { 3600000LL, 21600000LL, 86400000LL, 604800000LL, 2592000000LL, 31536000000LL };
    static const char *const wnames[] = { "hour", "6 hours", "day", "week", "30 days", "365 days" };
    int k = 0;
    while (k < 5 && (hi - lo) / widths[k] + 1 > MAX_BUCKETS) k++;
    int64_t w = widths[k], first = lo - ((lo % w) + w) % w;
    int nb = (int)((hi - first) / w) + 1;
    if (nb > MAX_BUCKETS) nb = MAX_BUCKETS;     /* 365-day buckets past 60 years: the rest in the last */
    uint64_t cnt[MAX_BUCKETS][NCOL], tot[MAX_BUCKETS];
    memset(cnt, 0, sizeof cnt);
    memset(tot, 0, sizeof tot);
    for (size_t i = 0; i < r->ntimes; i++) {
        int b = (int)((r->times[i].t - first) / w);
        if (b >= nb) b = nb - 1;
        cnt[b][r->times[i].dom]++;
        tot[b]++;
    }
    int cw = 560 / nb > 40 ? 40 : 560 / nb, h = 220;
    fprintf(o, "<svg id=\"time\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
            cw * nb + 10, h + 20, cw * nb + 10, h + 20);
    for (int b = 0; b < nb; b++) {
        double y = h;
        for (int d = 0; d < NCOL; d++) {
            double hp = h * share(cnt[b][d], tot[b]);
            if (hp > 0) fprintf(o, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>", 5 + cw * b,
                                y - hp, cw - 2, hp, colors[d]);
            y -= hp;
        }
        fputc('\n', o);
    }
    fputs("</svg>\n", o);
    char t0[32];
    time_t s = (time_t)(first / 1000);
    strftime(t0, sizeof t0, "%Y-%m-%d %H:%M UTC", gmtime(&s));
    fprintf(o, "<p>%d buckets of one %s from %s (bucket width %" PRId64 " ms), by the message timestamp or the "
            "article's publication time; each column's parts add up to 1.</p>\n", nb, wnames[k], t0, w);
    fprintf(o, "<table class=\"data\" id=\"time-table\" data-first=\"%" PRId64 "\" data-width=\"%" PRId64 "\">"
            "<tr><th>bucket</th><th>records</th>", first, w);
    for (int d = 0; d < NCOL; d++) fprintf(o, "<th>%s</th>", col_name(d));
    fputs("</tr>\n", o);
    for (int b = 0; b < nb; b++) {
        if (!tot[b]) continue;
        fprintf(o, "<tr><td class=\"name\">%d</td><td class=\"n\">%" PRIu64 "</td>", b, tot[b]);
        for (int d = 0; d < NCOL; d++) fprintf(o, "<td data-dhatu=\"%s\">%" PRIu64 "</td>", col_name(d), cnt[b][d]);
        fputs("</tr>\n", o);
    }
    fputs("</table>\n", o);
}

static void write_report(FILE *o, report *r, const arts *a, const char *title)
{
    fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", o);
    esc(o, title);
    fputs("</title>\n<style>\nbody{font:14px/1.4 sans-serif;max-width:1000px;margin:2em auto;color:#222}\n"
          "svg text{font:12px sans-serif;fill:#222}\ntable.data{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}\n"
          "table.data td,table.data th{border:1px solid #ddd;padding:2px 6px;text-align:right}\n"
          "td.name,th:first-child{text-align:left}\n.legend span{margin-right:1em}\n"
          ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\n</style></head><body>\n<h1>", o);
    esc(o, title);
    fprintf(o, "</h1>\n<p id=\"summary\">%" PRIu64 " records (model ", r->n);
    esc(o, r->models[0] ? r->models : "unknown");
    fprintf(o, "), %" PRIu64 " tokens; %" PRIu64 " input lines skipped. Made by " PROG ".</p>\n", r->tokens,
            r->skipped);
    const char *names[NCOL];
    double v[NCOL];
    for (int d = 0; d < NCOL; d++) {
        names[d] = col_name(d);
        v[d] = share(r->dom[d], r->n);
    }
    legend(o, NCOL, names, colors);
    fputs("<h2>Dominant dhātu</h2>\n<p>The share of records whose dominant dhātu is each (none: no evidence).</p>\n", o);
    bars(o, "dominant", NCOL, names, v, colors);
    fputs("<table class=\"data\" id=\"dominant-table\"><tr><th>dhātu</th><th>records</th><th>share</th>"
          "<th>mean weight</th><th>positive</th><th>negative</th><th>none</th></tr>\n", o);
    for (int d = 0; d < NCOL; d++) {
        fprintf(o, "<tr data-dhatu=\"%s\"><td class=\"name\">%s</td><td class=\"n\">%" PRIu64 "</td><td>%.4f</td>",
                names[d], names[d], r->dom[d], v[d]);
        if (d < ND)
            fprintf(o, "<td class=\"w\">%.6f</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>",
                    r->n ? r->weight[d] / (double)r->n : 0, r->pol[d][1], r->pol[d][2], r->pol[d][0]);
        fputs("</tr>\n", o);
    }
    fputs("</table>\n<h2>Mean weight per dhātu</h2>\n<p>Each record's weights add up to 1 (or are all 0 without "
          "evidence).</p>\n", o);
    for (int d = 0; d < ND; d++) v[d] = r->n ? r->weight[d] / (double)r->n : 0;
    bars(o, "weight", ND, names, v, colors);
    fputs("<h2>Polarity per dhātu</h2>\n", o);
    static const char *const pnames[3] = { "positive", "negative", "none" };
    static const char *const pfill[3] = { "#59a14f", "#e15759", "#d8d8d8" };
    legend(o, 3, pnames, pfill);
    double parts[ND * 3];
    for (int d = 0; d < ND; d++) {
        parts[d * 3] = share(r->pol[d][1], r->n);
        parts[d * 3 + 1] = share(r->pol[d][2], r->n);
        parts[d * 3 + 2] = share(r->pol[d][0], r->n);
    }
    stacked(o, "polarity", ND, names, parts, 3, pfill, 100);
    by_group(o, "lang", "lang", r->langs, r->nlangs);
    by_group(o, "source", "source", r->sources, r->nsources);
    over_time(o, r);
    fputs("<h2>The articles that express each dhātu most</h2>\n<table class=\"data\" id=\"top-table\">"
          "<tr><th>dhātu</th><th>weight</th><th>id</th><th>title</th></tr>\n", o);
    for (int d = 0; d < ND; d++)
        for (int i = 0; i < TOP && r->best[d][i].id; i++) {
            const art *ar = arts_find(a, r->best[d][i].id);
            fprintf(o, "<tr data-dhatu=\"%s\"><td class=\"name\">%s</td><td class=\"w\">%.6f</td><td class=\"id\">",
                    names[d], names[d], r->best[d][i].w);
            esc(o, r->best[d][i].id);
            fputs("</td><td class=\"name\">", o);
            esc(o, ar && ar->title ? ar->title : "");
            fputs("</td></tr>\n", o);
        }
    fputs("</table>\n</body></html>\n", o);
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
    for (size_t i = 0; i < a->cap; i++) {
        free(a->v[i].id);
        free(a->v[i].title);
        free(a->v[i].lang);
        free(a->v[i].source);
    }
    free(a->v);
}

static void usage(FILE *f)
{
    fputs("Usage: " PROG " [-o FILE.html] [--articles ARTICLES.jsonl] [--title TEXT] RECORDS.jsonl...\n"
          "One self-contained HTML page (inline SVG, no script) of what the records say: the dominant\n"
          "dhātu's share, mean weights, polarity, by lang and by source (from --articles), over time,\n"
          "and the articles that express each dhātu most. RECORDS: JSON Lines of dhatu-vectorize or\n"
          "dhatu-dump (\"-\": standard input).\n"
          "  -o FILE            the page (default: standard output)\n"
          "  --articles FILE    the articles (JSON Lines): titles, lang, source, published\n"
          "  --title TEXT       the page's title\n"
          "Exit status: 0; 1 some input lines were skipped (each reported as FILE:LINE); 2 usage or\n"
          "I/O error.\n", f);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = { { "articles", required_argument, 0, 'a' },
                                        { "title", required_argument, 0, 'T' },
                                        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *out = NULL, *articles = NULL, *title = "What the records say";
    int c;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a': articles = optarg; break;
        case 'T': title = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc) {
        usage(stderr);
        return 2;
    }
    static report r;
    arts a = { 0 };
    uint64_t bad_articles = 0;
    int rc = 0;
    void *ctx[2] = { &r, &a };
    if (articles && read_lines(articles, on_article, &a, &bad_articles)) rc = 2;
    for (int i = optind; !rc && i < argc; i++)
        if (read_lines(argv[i], on_record, ctx, &r.skipped)) rc = 2;
    r.skipped += bad_articles;
    FILE *o = rc ? NULL : out ? fopen(out, "w") : stdout;
    if (!rc && !o) {
        fprintf(stderr, PROG ": %s: cannot write\n", out);
        rc = 2;
    }
    if (!rc) {
        write_report(o, &r, &a, title);
        if ((out ? fclose(o) : fflush(o)) != 0) {
            fprintf(stderr, PROG ": %s: write failed\n", out ? out : "standard output");
            rc = 2;
        } else {
            fprintf(stderr, PROG ": %" PRIu64 " records%s%s\n", r.n, out ? " -> " : "", out ? out : "");
            rc = r.skipped ? 1 : 0;
        }
    }
    report_free(&r, &a);
    return rc;
}
