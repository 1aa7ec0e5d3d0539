/* articles.c -- see articles.h. */
#include "articles.h"
#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "errmsg.h"
#include "lines.h"
#include "schema_json.h"

__attribute__((format(printf, 3, 4)))
static void report(const articles_opts *o, articles_counts *n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) n->skipped++;
    if (o->on_bad) o->on_bad(o->ctx, msg);
}

/* Hands one article to the caller; a rejection is reported where it was read. */
static articles_verdict deliver(const articles_opts *o, const articles_where *w, const schema_article *a,
                                articles_counts *n)
{
    char why[512] = "";
    n->articles++;
    articles_verdict v = o->on_article(o->ctx, w, a, why, sizeof why);
    if (v == ARTICLE_REJECTED)
        report(o, n, "%s:%" PRIu64 ": offset %" PRIu64 ": %s", w->file, w->line, w->offset, why);
    return v;
}

/* Reports why a stream failed, in the caller's errstr. */
#define failed(errstr, en, ...) (errmsg((errstr), (en), __VA_ARGS__), ARTICLES_FAILED)

/* ---- JSON Lines */

static articles_status read_jsonl(FILE *f, const char *name, const articles_opts *o, articles_counts *n,
                                  char *errstr, size_t en)
{
    lines_reader *lr = lines_open(f, o->max_line);
    if (!lr) return failed(errstr, en, "%s: out of memory", name);
    dbuf scratch = { 0 };       /* the article's strings: no allocation per line */
    const char *line;
    size_t len;
    uint64_t lineno, offset;
    lines_status ls;
    articles_status st = ARTICLES_OK;
    while (st == ARTICLES_OK && (ls = lines_next(lr, &line, &len, &lineno, &offset)) != LINES_EOF) {
        if (ls == LINES_IO_ERROR) {
            st = failed(errstr, en, "%s: read error: %s", name, strerror(errno));
            break;
        }
        if (ls == LINES_TOO_LONG) {
            report(o, n, "%s:%" PRIu64 ": offset %" PRIu64 ": line longer than %zu bytes, skipped", name, lineno,
                   offset, o->max_line);
            continue;
        }
        if (lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
            line += 3;                          /* a UTF-8 byte-order mark, as editors write it */
            len -= 3;
            offset += 3;
        }
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue;                 /* blank lines are not articles */
        char err[320];
        schema_article a;
        if (schema_json_parse_article_in(line, len, &a, &scratch, err, sizeof err)) {
            report(o, n, "%s:%" PRIu64 ": offset %" PRIu64 ": %s", name, lineno, offset, err);
            continue;
        }
        articles_where w = { name, lineno, offset, offset + len + 1 };
        articles_verdict v = deliver(o, &w, &a, n);
        schema_article_clear(&a);
        if (v == ARTICLE_STOP) st = ARTICLES_STOPPED;
        else if (v == ARTICLE_FATAL) st = failed(errstr, en, "%s", "");
    }
    lines_close(lr);
    dbuf_free(&scratch);
    return st;
}

/* ---- CSV (RFC 4180, a header row names the columns) */

enum { F_ID, F_TITLE, F_TEXT, F_LANG, F_SOURCE, F_URL, F_PUBLISHED, F_N };
static const char *const field_names[F_N] = { "id", "title", "text", "lang", "source", "url", "published" };
#define MAX_COLS 64

typedef struct csv_state {
    const articles_opts *o;
    articles_counts *n;
    const char *file;
    int header_done, col_of[MAX_COLS], ncols, bad_header;
    articles_verdict verdict;   /* the last callback's answer that stops reading */
    size_t col;
    dbuf val[F_N];
    int has[F_N];
    uint64_t line, rec_line, rec_off, off, consumed;
} csv_state;

static void csv_field(void *s, size_t len, void *data)
{
    csv_state *c = data;
    if (c->col == 0) {
        c->rec_line = c->line;
        c->rec_off = c->off;
    }
    size_t col = c->col++;
    if (!c->header_done) {
        if (col < MAX_COLS) {
            c->col_of[col] = -1;
            for (int k = 0; k < F_N; k++)
                if (strlen(field_names[k]) == len && !memcmp(s, field_names[k], len)) c->col_of[col] = k;
            c->ncols = (int)col + 1;
        }
        return;
    }
    int k = col < MAX_COLS && (int)col < c->ncols ? c->col_of[col] : -1;
    if (k < 0) return;
    if (dbuf_set(&c->val[k], s, len)) { c->verdict = ARTICLE_FATAL; return; }
    c->has[k] = 1;
}

/* The article of the current CSV row, or a reason in why. */
static int csv_article(csv_state *c, schema_article *a, char *why, size_t wn)
{
    memset(a, 0, sizeof *a);
    if (!c->has[F_ID] || c->val[F_ID].len == 0) return snprintf(why, wn, "missing id"), -1;
    if (!c->has[F_TEXT]) return snprintf(why, wn, "missing text"), -1;
    if (c->has[F_PUBLISHED] && c->val[F_PUBLISHED].len) {
        const dbuf *p = &c->val[F_PUBLISHED];
        char *end;
        errno = 0;
        long long ms = strtoll(p->data, &end, 10);
        if (!errno && end == p->data + p->len) a->published = ms;
        else if (schema_parse_rfc3339(p->data, p->len, &a->published))
            return snprintf(why, wn, "published is neither ms since the epoch nor an RFC 3339 time"), -1;
        a->has_published = 1;
    }
#define OPT(k, s, l) if (c->has[k] && c->val[k].len) { s = c->val[k].data; l = c->val[k].len; }
    a->id = c->val[F_ID].data;     a->id_len = c->val[F_ID].len;
    a->text = c->val[F_TEXT].data; a->text_len = c->val[F_TEXT].len;
    OPT(F_TITLE, a->title, a->title_len)
    OPT(F_SOURCE, a->source, a->source_len)
    OPT(F_URL, a->url, a->url_len)
#undef OPT
    if (c->has[F_LANG] && c->val[F_LANG].len) a->lang = c->val[F_LANG].data;
    return 0;
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
        c->bad_header = !seen_id || !seen_text;
    } else if (c->verdict == ARTICLE_TAKEN && !c->bad_header) {
        schema_article a;
        char why[160];
        if (c->col > (size_t)c->ncols) {
            report(c->o, c->n, "%s:%" PRIu64 ": offset %" PRIu64 ": %zu fields, the header names %d", c->file,
                   c->rec_line, c->rec_off, c->col, c->ncols);
        } else if (csv_article(c, &a, why, sizeof why)) {
            report(c->o, c->n, "%s:%" PRIu64 ": offset %" PRIu64 ": %s", c->file, c->rec_line, c->rec_off, why);
        } else {
            articles_where w = { c->file, c->rec_line, c->rec_off, c->consumed };
            articles_verdict v = deliver(c->o, &w, &a, c->n);
            if (v == ARTICLE_STOP || v == ARTICLE_FATAL) c->verdict = v;
        }
    }
    c->col = 0;
    memset(c->has, 0, sizeof c->has);
}

static articles_status read_csv(FILE *f, const char *name, const articles_opts *o, articles_counts *n,
                                char *errstr, size_t en)
{
    struct csv_parser p;
    csv_state c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.n = n;
    c.file = name;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)) return failed(errstr, en, "%s: out of memory", name);
    lines_reader *r = lines_open(f, o->max_line);
    const char *line;
    size_t len;
    uint64_t lineno, off;
    lines_status ls;
    articles_status st = r ? ARTICLES_OK : failed(errstr, en, "%s: out of memory", name);
    int abandoned = 0;
    /* Fed one line at a time, so a record's first line is known for errors
     * (quoted fields may span lines). */
    while (st == ARTICLES_OK && c.verdict == ARTICLE_TAKEN && !c.bad_header && !abandoned &&
           (ls = lines_next(r, &line, &len, &lineno, &off)) != LINES_EOF) {
        if (ls != LINES_OK) {
            char what[64];
            snprintf(what, sizeof what, "%" PRIu64 ": %s", lineno, ls == LINES_TOO_LONG ? "line too long" : strerror(errno));
            st = failed(errstr, en, "%s:%s", name, what);
            break;
        }
        if (lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
            line += 3;                          /* a UTF-8 byte-order mark */
            len -= 3;
            off += 3;
        }
        c.line = lineno;
        c.off = off;
        c.consumed = off + len + 1;
        if (csv_parse(&p, line, len, csv_field, csv_record, &c) != len ||
            csv_parse(&p, "\n", 1, csv_field, csv_record, &c) != 1) {
            report(o, n, "%s:%" PRIu64 ": offset %" PRIu64 ": %s; stopping this file", name, lineno, off,
                   csv_strerror(csv_error(&p)));
            abandoned = 1;
            break;
        }
    }
    if (c.bad_header)
        st = failed(errstr, en, "%s: the CSV header must name the columns id and text%s", name,
                    " (and may name title, lang, source, url, published)");
    else if (st == ARTICLES_OK && !abandoned && c.verdict == ARTICLE_TAKEN &&
             csv_fini(&p, csv_field, csv_record, &c) != 0)
        report(o, n, "%s: unterminated quoted field at the end", name);
    if (st == ARTICLES_OK && c.verdict == ARTICLE_FATAL) st = failed(errstr, en, "%s", "");
    else if (st == ARTICLES_OK && c.verdict == ARTICLE_STOP) st = ARTICLES_STOPPED;
    csv_free(&p);
    lines_close(r);
    for (int k = 0; k < F_N; k++) dbuf_free(&c.val[k]);
    return st;
}

articles_status articles_read(FILE *f, const char *name, const articles_opts *o, articles_counts *n,
                              char *errstr, size_t en)
{
    if (errstr && en) errstr[0] = '\0';
    size_t nl = strlen(name);
    int csv = o->csv || (nl > 4 && !strcmp(name + nl - 4, ".csv"));
    return csv ? read_csv(f, name, o, n, errstr, en) : read_jsonl(f, name, o, n, errstr, en);
}

articles_status articles_read_files(char *const *files, int nfiles, const articles_opts *o,
                                    articles_counts *n, char *errstr, size_t en)
{
    for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
        const char *name = nfiles ? files[i] : "-";
        int is_stdin = !strcmp(name, "-");
        FILE *f = is_stdin ? stdin : fopen(name, "rb");
        if (!f) return failed(errstr, en, "%s: %s", name, strerror(errno));
        articles_status st = articles_read(f, is_stdin ? "<stdin>" : name, o, n, errstr, en);
        if (!is_stdin) fclose(f);
        if (st != ARTICLES_OK) return st;
    }
    return ARTICLES_OK;
}
