/* test_lines.c -- the line reader (common/lines.c): numbers, offsets, CRLF, overlong lines. */
#include "testlib.h"
#include "lines.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(lines_number_offsets_crlf_overlong_and_last_line)
{
    static const char in[] = "one\r\n\ntoo long a line\nfour\nlast";
    FILE *f = tl_text_file(in, sizeof in - 1);
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


TL_MAIN("lines",
        lines_number_offsets_crlf_overlong_and_last_line)
