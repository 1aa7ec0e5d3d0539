/* test_common.c -- common/: the buffer's contract (always room for a
 * terminator, the 1,024-byte record case), the id buffer, the line reader,
 * the article reader's errors, and the log's format and levels. */
#include "testlib.h"
#include "articles.h"
#include "dbuf.h"
#include "idbuf.h"
#include "lines.h"
#include "log.h"
#include "schema_json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(dbuf_always_has_room_for_a_terminator)
{
    dbuf b = { 0 };
    char chunk[300];
    memset(chunk, 'x', sizeof chunk);
    for (size_t n = 0; n < 5000; n += 7) {
        ck_assert_int_eq(dbuf_set(&b, chunk, n % sizeof chunk), 0);
        ck_assert_uint_lt(b.len, b.cap);
        ck_assert_int_eq(b.data[b.len], '\0');
        b.data[b.len] = '\n';               /* the caller's right, by contract */
        ck_assert_int_eq(dbuf_append(&b, chunk, n % 13), 0);
        ck_assert_uint_lt(b.len, b.cap);
    }
    /* Exactly at each power of two, where "reserve len" used to give cap == len. */
    for (size_t size = 64; size <= 8192; size *= 2) {
        dbuf e = { 0 };
        ck_assert_int_eq(dbuf_reserve(&e, size), 0);
        ck_assert_uint_gt(e.cap, size);
        char *big = malloc(size);
        memset(big, 'y', size);
        ck_assert_int_eq(dbuf_set(&e, big, size), 0);
        e.data[e.len] = '\n';
        free(big);
        dbuf_free(&e);
    }
    ck_assert_int_eq(dbuf_printf(&b, "%s-%d", "n", 42), 0);
    ck_assert(b.len >= 4 && !memcmp(b.data + b.len - 4, "n-42", 4));
    dbuf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    dbuf_free(&b);
    ck_assert_ptr_null(b.data);
    dbuf_free(&b);                          /* a zeroed one is fine */
}
END_TEST

/* The bug this contract fixes: dhatu-vectorize writes a newline after each
 * JSON record; a record of exactly 1,024 bytes (the old buffer's first
 * capacity) overflowed the heap. Every record length from ~400 to ~2,500
 * bytes, 1,024 and 2,048 included, is written and terminated here; ASan
 * (the sanitizer build) sees any byte past the allocation. */
START_TEST(a_json_record_of_every_length_has_room_for_its_newline)
{
    dhatu_record r;
    memset(&r, 0, sizeof r);
    r.dominant = -1;
    for (int d = 0; d < DHATU_NDHATU; d++) r.weights[d] = 1.0 / 9.0;
    char *id = malloc(2200);
    memset(id, 'i', 2200);
    int hit1024 = 0, hit2048 = 0;
    for (size_t id_len = 1; id_len < 2200; id_len++) {
        dbuf out = { 0 };           /* fresh: the capacities of a first record */
        char err[128];
        char c = id[id_len];
        id[id_len] = '\0';
        ck_assert_int_eq(schema_json_write_record(id, id_len, "seed-1", &r, NULL, &out, err, sizeof err), SCHEMA_OK);
        id[id_len] = c;
        hit1024 |= out.len == 1024;
        hit2048 |= out.len == 2048;
        out.data[out.len] = '\n';
        ck_assert_uint_lt(out.len, out.cap);
        dbuf_free(&out);
    }
    ck_assert_msg(hit1024 && hit2048, "the lengths 1024 and 2048 were not exercised");
    free(id);
}
END_TEST

START_TEST(idbuf_keeps_ids_in_order_nul_terminated_and_bounded)
{
    idbuf ib;
    ck_assert_int_eq(idbuf_init(&ib, 3), 0);
    ck_assert_int_eq(idbuf_push(&ib, "a", 1), 0);
    ck_assert_int_eq(idbuf_push(&ib, "b\0c", 3), 0);          /* NUL inside an id */
    ck_assert_int_eq(idbuf_push(&ib, "", 0), 0);
    ck_assert_int_eq(idbuf_push(&ib, "d", 1), -1);            /* max_ids reached */
    ck_assert_uint_eq(idbuf_count(&ib), 3);
    size_t len;
    const char *id = idbuf_get(&ib, 1, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(id, "b\0c", 4));                         /* and its own NUL */
    ck_assert_str_eq(idbuf_get(&ib, 0, &len), "a");
    ck_assert_str_eq(idbuf_get(&ib, 2, &len), "");
    idbuf_reset(&ib);
    ck_assert_uint_eq(idbuf_count(&ib), 0);
    char big[5000];
    memset(big, 'z', sizeof big);
    ck_assert_int_eq(idbuf_push(&ib, big, sizeof big), 0);    /* grows past the first guess */
    ck_assert(!memcmp(idbuf_get(&ib, 0, &len), big, sizeof big) && len == sizeof big);
    idbuf_free(&ib);
}
END_TEST

static FILE *text_file(const char *s, size_t n)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(s, 1, n, f), n);
    rewind(f);
    return f;
}

START_TEST(lines_number_offsets_crlf_overlong_and_last_line)
{
    static const char in[] = "one\r\n\ntoo long a line\nfour\nlast";
    FILE *f = text_file(in, sizeof in - 1);
    lines_reader *r = lines_open(f, 8);
    const char *line;
    size_t len;
    uint64_t no, off;
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_OK);
    ck_assert(len == 4 && !memcmp(line, "one\r", 4) && no == 1 && off == 0);   /* '\r' kept for the parser */
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_OK);
    ck_assert(len == 0 && no == 2 && off == 5);
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_TOO_LONG);
    ck_assert(no == 3 && off == 6);
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_OK);
    ck_assert(len == 4 && !memcmp(line, "four", 4) && no == 4 && off == 22);
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_OK);
    ck_assert(len == 4 && !memcmp(line, "last", 4) && no == 5 && off == 27);
    ck_assert_int_eq(lines_next(r, &line, &len, &no, &off), LINES_EOF);
    lines_close(r);
    fclose(f);
}
END_TEST

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
    FILE *f = text_file(text, strlen(text));
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
START_TEST(log_lines_name_program_component_and_level)
{
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(cap), STDERR_FILENO);
    logger tool, svc;
    log_init(&tool, "prog", "input", LOG_WARN, LOG_TOOL);
    log_init(&svc, "prog", "consumer:g", LOG_INFO, LOG_SERVICE);
    log_error(&tool, "bad %d", 1);
    log_info(&tool, "hidden");          /* above the level */
    log_warn(&tool, "careful");
    log_info(&svc, "assigned %d", 4);
    log_debug(&svc, "hidden too");
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[1024] = "";
    rewind(cap);
    size_t got = fread(text, 1, sizeof text - 1, cap);
    text[got] = '\0';
    fclose(cap);
    ck_assert_msg(strstr(text, "prog [input]: error: bad 1\n"), "%s", text);
    ck_assert_msg(strstr(text, "prog [input]: warning: careful\n"), "%s", text);
    ck_assert_msg(!strstr(text, "hidden"), "%s", text);
    char want[64];
    snprintf(want, sizeof want, "Z prog[%d] INFO [consumer:g]: assigned 4\n", (int)getpid());
    ck_assert_msg(strstr(text, want), "%s", text);
    ck_assert_int_eq(log_from_syslog(3), LOG_ERROR);
    ck_assert_int_eq(log_from_syslog(4), LOG_WARN);
    ck_assert_int_eq(log_from_syslog(6), LOG_INFO);
    ck_assert_int_eq(log_from_syslog(7), LOG_DEBUG);
}
END_TEST

TL_MAIN("common",
        dbuf_always_has_room_for_a_terminator,
        a_json_record_of_every_length_has_room_for_its_newline,
        idbuf_keeps_ids_in_order_nul_terminated_and_bounded,
        lines_number_offsets_crlf_overlong_and_last_line,
        article_reader_reports_file_line_offset_reason,
        article_reader_csv_quoted_lines_errors_and_header,
        article_reader_stops_when_asked,
        article_reader_skips_a_bom_and_refuses_extra_csv_fields,
        log_lines_name_program_component_and_level)
