/* test_articles.c -- the article reader (schemas/articles.c): JSON Lines and CSV errors as
 * FILE:LINE: offset N: reason, quoting, headers, stopping. */
#include "testlib.h"
#include "articles.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An article reader run: what was taken, what was reported. */
typedef struct seen {
    char ids[16][32];
    int n, stop_after, reject_id_x;
    char reports[16][256];
    int nreports;
} seen;

static articles_verdict take(void *ctx, const articles_where *w, const schema_article *a, char *why, size_t wn)
{
    (void)w;
    seen *s = ctx;
    if (s->reject_id_x && a->id_len == 1 && a->id[0] == 'x') {
        snprintf(why, wn, "id x is refused here");
        return ARTICLE_REJECTED;
    }
    snprintf(s->ids[s->n++ % 16], 32, "%.*s", (int)a->id_len, a->id);
    return s->stop_after && s->n >= s->stop_after ? ARTICLE_STOP : ARTICLE_TAKEN;
}

static void bad(void *ctx, const char *msg)
{
    seen *s = ctx;
    snprintf(s->reports[s->nreports++ % 16], 256, "%s", msg);
}

static articles_status read_text(const char *text, const char *name, int csv, seen *s, articles_counts *n,
                                 char *err, size_t en)
{
    FILE *f = tl_text_file(text, strlen(text));
    articles_opts o = { 1 << 20, csv, take, bad, s };
    articles_status st = articles_read(f, name, &o, n, err, en);
    fclose(f);
    return st;
}

START_TEST(article_reader_reports_file_line_offset_reason)
{
    seen s = { .reject_id_x = 1 };
    articles_counts n = { 0, 0 };
    char err[256];
    const char *jl = "{\"id\":\"a\",\"text\":\"t\"}\nnot json\n\n{\"id\":\"x\",\"text\":\"t\"}\n{\"text\":\"t\"}\n"
                     "{\"id\":7,\"text\":\"t\"}";
    ck_assert_int_eq(read_text(jl, "in.jsonl", 0, &s, &n, err, sizeof err), ARTICLES_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.ids[0], "a");
    ck_assert_str_eq(s.ids[1], "7");
    ck_assert_uint_eq(n.articles, 3);           /* a, x (rejected), 7 */
    ck_assert_uint_eq(n.skipped, 3);            /* not json, x, missing id */
    ck_assert_int_eq(s.nreports, 3);
    ck_assert_msg(!strncmp(s.reports[0], "in.jsonl:2: offset 22: invalid JSON", 35), "%s", s.reports[0]);
    ck_assert_str_eq(s.reports[1], "in.jsonl:4: offset 32: id x is refused here");
    ck_assert_str_eq(s.reports[2], "in.jsonl:5: offset 54: missing field \"id\"");
}
END_TEST

START_TEST(article_reader_csv_quoted_lines_errors_and_header)
{
    seen s = { 0 };
    articles_counts n = { 0, 0 };
    char err[256];
    const char *csv = "url,id,text,published\n"
                      "u1,c1,\"two\nlines, quoted\",2024-05-01T12:00:00Z\n"
                      "u2,,no id,\n"
                      "u3,c3,\"He said \"\"no\"\".\",1714564800000\n"
                      "u4,c4,bad time,yesterday\n";
    ck_assert_int_eq(read_text(csv, "a.csv", 0, &s, &n, err, sizeof err), ARTICLES_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.ids[0], "c1");
    ck_assert_str_eq(s.ids[1], "c3");
    ck_assert_int_eq(s.nreports, 2);
    ck_assert_str_eq(s.reports[0], "a.csv:4: offset 69: missing id");
    ck_assert_msg(strstr(s.reports[1], "a.csv:6: offset ") && strstr(s.reports[1], "RFC 3339"), "%s", s.reports[1]);
    /* A stray quote abandons the rest of that file, reported once. */
    seen q = { 0 };
    ck_assert_int_eq(read_text("id,text\nq1,ok\nq2,bro\"ken\nq3,never\n", "b.csv", 1, &q, &n, err, sizeof err),
                     ARTICLES_OK);
    ck_assert_int_eq(q.n, 1);
    ck_assert_int_eq(q.nreports, 1);
    ck_assert_msg(strstr(q.reports[0], "b.csv:3: offset 14: ") && strstr(q.reports[0], "stopping this file"), "%s",
                  q.reports[0]);
    /* A header without id and text is unusable: the file fails. */
    seen h = { 0 };
    ck_assert_int_eq(read_text("name,body\nx,y\n", "c.csv", 1, &h, &n, err, sizeof err), ARTICLES_FAILED);
    ck_assert_msg(strstr(err, "c.csv: the CSV header must name the columns id and text"), "%s", err);
    ck_assert_int_eq(h.n, 0);
}
END_TEST

START_TEST(article_reader_stops_when_asked)
{
    seen s = { .stop_after = 2 };
    articles_counts n = { 0, 0 };
    char err[256];
    const char *jl = "{\"id\":\"1\",\"text\":\"t\"}\n{\"id\":\"2\",\"text\":\"t\"}\n{\"id\":\"3\",\"text\":\"t\"}\n";
    ck_assert_int_eq(read_text(jl, "s.jsonl", 0, &s, &n, err, sizeof err), ARTICLES_STOPPED);
    ck_assert_int_eq(s.n, 2);
    char *missing = "/nonexistent/x.jsonl";
    ck_assert_int_eq(articles_read_files(&missing, 1, &(articles_opts){ 1024, 0, take, bad, &s }, &n, err, sizeof err),
                     ARTICLES_FAILED);
    ck_assert_msg(strstr(err, "/nonexistent/x.jsonl: No such file"), "%s", err);
}
END_TEST

START_TEST(article_reader_skips_a_bom_and_refuses_extra_csv_fields)
{
    seen s = { 0 };
    articles_counts n = { 0, 0 };
    char err[256];
    ck_assert_int_eq(read_text("\xEF\xBB\xBF{\"id\":\"b1\",\"text\":\"t\"}\n", "bom.jsonl", 0, &s, &n, err, sizeof err),
                     ARTICLES_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.ids[0], "b1");
    ck_assert_int_eq(read_text("\xEF\xBB\xBFid,text\nb2,t\nb3,t,extra\nb4,t\n", "bom.csv", 0, &s, &n, err, sizeof err),
                     ARTICLES_OK);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.ids[1], "b2");
    ck_assert_str_eq(s.ids[2], "b4");
    ck_assert_int_eq(s.nreports, 1);
    ck_assert_str_eq(s.reports[0], "bom.csv:3: offset 16: 3 fields, the header names 2");
    /* A quote left open at the end is reported once, and nothing guessed. */
    seen u = { 0 };
    ck_assert_int_eq(read_text("id,text\nu1,ok\nu2,\"open\nstill open\n", "u.csv", 0, &u, &n, err, sizeof err),
                     ARTICLES_OK);
    ck_assert_int_eq(u.n, 1);
    ck_assert_int_eq(u.nreports, 1);
    ck_assert_str_eq(u.reports[0], "u.csv: unterminated quoted field at the end");
}
END_TEST

/* What log lines look like, and that levels filter (stderr captured). */

TL_MAIN("articles",
        article_reader_reports_file_line_offset_reason,
        article_reader_csv_quoted_lines_errors_and_header,
        article_reader_stops_when_asked,
        article_reader_skips_a_bom_and_refuses_extra_csv_fields)
