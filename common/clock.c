/* clock.c -- see clock.h (the time parser; the clocks are inline there). */
#include "clock.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm, which POSIX lacks. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p)) return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

int clk_parse_time(const char *s, int64_t *ms)
{
    if (!s || !*s) return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p)) p++;
    if (!*p) {                  /* epoch milliseconds */
        if (p - s > 15) return -1;
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    int y, mo, d, h, mi, sec, frac_ms = 0;
    p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d)) return -1;
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec)) return -1;
    if (*p == '.') {            /* fraction: milliseconds, the rest ignored */
        p++;
        int scale = 100, n = 0;
        while (isdigit((unsigned char)*p)) {
            if (scale) frac_ms += (*p - '0') * scale, scale /= 10;
            p++, n++;
        }
        if (!n) return -1;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1;              /* RFC 3339 requires the offset */
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) return -1;
    if (sec == 60) sec = 59;    /* a leap second: its last representable millisecond */
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *ms = t * 1000 + frac_ms;
    return 0;
}
