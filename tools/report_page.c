/* report_page.c -- dhatu-report's page: HTML with inline SVG, every number
 * a chart draws also printed in a table (see report.c for what it shows). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"

static const char *const colors[NCOL] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };

static const char *col_name(int i) { return i < ND ? dhatu_name(i) : "none"; }

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

/* The page's head, its one style sheet and its title as the heading. */
static void page_head(FILE *o, const char *title)
{
    fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", o);
    esc(o, title);
    fputs("</title>\n<style>\nbody{font:14px/1.4 sans-serif;max-width:1000px;margin:2em auto;color:#222}\n"
          "svg text{font:12px sans-serif;fill:#222}\ntable.data{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}\n"
          "table.data td,table.data th{border:1px solid #ddd;padding:2px 6px;text-align:right}\n"
          "td.name,th:first-child{text-align:left}\n.legend span{margin-right:1em}\n"
          ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\n</style></head><body>\n<h1>", o);
    esc(o, title);
    fputs("</h1>\n", o);
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

void write_report(FILE *o, report *r, const arts *a, const char *title)
{
    page_head(o, title);
    fprintf(o, "<p id=\"summary\">%" PRIu64 " records (model ", r->n);
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

/* Two bars per label: a and b, values in [0, 1]. */
static void pairs(FILE *o, const char *id, int n, const char *const *labels, const double *a, const double *b)
{
    int h = 30 * n + 10;
    fprintf(o, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 560 %d\" width=\"560\" height=\"%d\" role=\"img\">\n", id,
            h, h);
    for (int i = 0; i < n; i++) {
        int y = 5 + 30 * i;
        fprintf(o, "<text x=\"96\" y=\"%d\" text-anchor=\"end\">%s</text>", y + 17, labels[i]);
        fprintf(o, "<rect x=\"100\" y=\"%d\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>", y, 380 * a[i], colors[i % NCOL]);
        fprintf(o, "<rect x=\"100\" y=\"%d\" width=\"%.1f\" height=\"12\" fill=\"%s\" fill-opacity=\"0.45\"/>", y + 13,
                380 * b[i], colors[i % NCOL]);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\">%.1f%%</text>", 104 + 380 * a[i], y + 10, 100 * a[i]);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\">%.1f%%</text>\n", 104 + 380 * b[i], y + 24, 100 * b[i]);
    }
    fputs("</svg>\n", o);
}

static int cmp_idom(const void *x, const void *y)
{
    const struct idom *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a < b ? -1 : a > b);     /* stable: the first of an id first */
}

void write_compare(FILE *o, report *ra, report *rb, const char *na, const char *nb, const arts *ar,
                          const char *title)
{
    page_head(o, title);
    /* Articles in both, joined by id (the first record of an id on each side). */
    qsort(ra->ids, ra->nids, sizeof *ra->ids, cmp_idom);
    qsort(rb->ids, rb->nids, sizeof *rb->ids, cmp_idom);
    static uint64_t moves[NCOL][NCOL];
    uint64_t joined = 0, changed = 0;
    size_t i = 0, j = 0;
    while (i < ra->nids && j < rb->nids) {
        int c = strcmp(ra->ids[i].id, rb->ids[j].id);
        if (c == 0) {
            moves[ra->ids[i].dom][rb->ids[j].dom]++;
            joined++;
            changed += ra->ids[i].dom != rb->ids[j].dom;
        }
        const char *id = c <= 0 ? ra->ids[i].id : rb->ids[j].id;
        if (c <= 0) while (i < ra->nids && !strcmp(ra->ids[i].id, id)) i++;
        if (c >= 0) while (j < rb->nids && !strcmp(rb->ids[j].id, id)) j++;
    }
    fputs("<p id=\"summary\">A: <b>", o);
    esc(o, na);
    fprintf(o, "</b>, %" PRIu64 " records (model ", ra->n);
    esc(o, ra->models[0] ? ra->models : "unknown");
    fputs("); B: <b>", o);
    esc(o, nb);
    fprintf(o, "</b>, %" PRIu64 " records (model ", rb->n);
    esc(o, rb->models[0] ? rb->models : "unknown");
    fprintf(o, "). <span id=\"joined\">%" PRIu64 "</span> articles in both, of which <span id=\"changed\">%" PRIu64
            "</span> changed their dominant dhātu.</p>\n", joined, changed);
    const char *names[NCOL];
    double a[NCOL], b[NCOL];
    for (int d = 0; d < NCOL; d++) {
        names[d] = col_name(d);
        a[d] = share(ra->dom[d], ra->n);
        b[d] = share(rb->dom[d], rb->n);
    }
    fputs("<h2>Dominant dhātu, A (solid) and B (light)</h2>\n", o);
    pairs(o, "dominant", NCOL, names, a, b);
    for (int d = 0; d < ND; d++) {
        a[d] = ra->n ? ra->weight[d] / (double)ra->n : 0;
        b[d] = rb->n ? rb->weight[d] / (double)rb->n : 0;
    }
    fputs("<h2>Mean weight per dhātu, A (solid) and B (light)</h2>\n", o);
    pairs(o, "weight", ND, names, a, b);
    fputs("<table class=\"data\" id=\"compare-table\"><tr><th>dhātu</th><th>A records</th><th>A share</th>"
          "<th>B records</th><th>B share</th><th>B - A (points)</th><th>A mean weight</th><th>B mean weight</th>"
          "</tr>\n", o);
    for (int d = 0; d < NCOL; d++) {
        double sa = share(ra->dom[d], ra->n), sb = share(rb->dom[d], rb->n);
        fprintf(o, "<tr data-dhatu=\"%s\"><td class=\"name\">%s</td><td>%" PRIu64 "</td><td>%.4f</td><td>%" PRIu64
                "</td><td>%.4f</td><td>%+.2f</td>", names[d], names[d], ra->dom[d], sa, rb->dom[d], sb, 100 * (sb - sa));
        if (d < ND) fprintf(o, "<td>%.6f</td><td>%.6f</td>", a[d], b[d]);
        fputs("</tr>\n", o);
    }
    fputs("</table>\n<h2>Where the dominant dhātu went</h2>\n<p>Articles in both, by their dominant dhātu in A "
          "(rows) and in B (columns).</p>\n<table class=\"data\" id=\"moves-table\"><tr><th>A \\ B</th>", o);
    for (int d = 0; d < NCOL; d++) fprintf(o, "<th>%s</th>", names[d]);
    fputs("</tr>\n", o);
    for (int x = 0; x < NCOL; x++) {
        fprintf(o, "<tr data-from=\"%s\"><td class=\"name\">%s</td>", names[x], names[x]);
        for (int y = 0; y < NCOL; y++) fprintf(o, "<td data-to=\"%s\">%" PRIu64 "</td>", names[y], moves[x][y]);
        fputs("</tr>\n", o);
    }
    fputs("</table>\n<h2>Articles whose dominant dhātu changed (the first 50 by id)</h2>\n"
          "<table class=\"data\" id=\"changed-table\"><tr><th>id</th><th>A</th><th>B</th><th>title</th></tr>\n", o);
    int shown = 0;
    for (i = 0, j = 0; i < ra->nids && j < rb->nids && shown < 50;) {
        int c = strcmp(ra->ids[i].id, rb->ids[j].id);
        if (c == 0 && ra->ids[i].dom != rb->ids[j].dom) {
            const art *t = arts_find(ar, ra->ids[i].id);
            fputs("<tr><td class=\"name\">", o);
            esc(o, ra->ids[i].id);
            fprintf(o, "</td><td>%s</td><td>%s</td><td class=\"name\">", names[ra->ids[i].dom], names[rb->ids[j].dom]);
            esc(o, t && t->title ? t->title : "");
            fputs("</td></tr>\n", o);
            shown++;
        }
        const char *id = c <= 0 ? ra->ids[i].id : rb->ids[j].id;
        if (c <= 0) while (i < ra->nids && !strcmp(ra->ids[i].id, id)) i++;
        if (c >= 0) while (j < rb->nids && !strcmp(rb->ids[j].id, id)) j++;
    }
    fputs("</table>\n</body></html>\n", o);
}

