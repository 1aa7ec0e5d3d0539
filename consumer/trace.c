/* trace.c -- see trace.h. */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static int hex(const char *s, size_t n, int *all_zero)
{
    *all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
        if (c != '0') *all_zero = 0;
    }
    return 1;
}

int trace_parent_valid(const char *s, size_t n)
{
    int zero;
    /* version 2, trace-id 32, parent-id 16, flags 2, three dashes: 55;
     * a later version may append fields after another dash. */
    if (n < 55 || (n > 55 && (s[0] == '0' && s[1] == '0'))) return 0;
    if (n > 55 && s[55] != '-') return 0;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return 0;
    if (!hex(s, 2, &zero) || (s[0] == 'f' && s[1] == 'f')) return 0;
    if (!hex(s + 3, 32, &zero) || zero) return 0;
    if (!hex(s + 36, 16, &zero) || zero) return 0;
    return hex(s + 53, 2, &zero);
}

static void generate_parent(char out[56])
{
    unsigned char b[24];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < sizeof b) {
        out[0] = 0;     /* no randomness: no trace rather than a colliding one */
        return;
    }
    b[0] |= 1;          /* never all zero */
    b[16] |= 1;
    char *o = out + sprintf(out, "00-");
    for (int i = 0; i < 16; i++) o += sprintf(o, "%02x", b[i]);
    *o++ = '-';
    for (int i = 16; i < 24; i++) o += sprintf(o, "%02x", b[i]);
    sprintf(o, "-01");
}

void trace_copy(trace_ctx *t, const rd_kafka_message_t *m, int generate)
{
    t->parent[0] = t->state[0] = 0;
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) == 0 && rd_kafka_header_get_last(h, TRACE_PARENT, &v, &n) == 0 && v &&
        trace_parent_valid(v, n)) {
        /* Only the fields this version defines (55 bytes). */
        memcpy(t->parent, v, 55);
        t->parent[55] = 0;
        if (rd_kafka_header_get_last(h, TRACE_STATE, &v, &n) == 0 && v && n) {
            if (n >= sizeof t->state) {     /* cut at the last list member that fits */
                n = sizeof t->state - 1;
                while (n && ((const char *)v)[n] != ',') n--;
            }
            memcpy(t->state, v, n);
            t->state[n] = 0;
        }
        return;
    }
    if (generate) generate_parent(t->parent);
}

void trace_add(rd_kafka_headers_t **h, const trace_ctx *t)
{
    if (!t->parent[0]) return;
    if (!*h) *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(*h, TRACE_PARENT, -1, t->parent, -1);
    if (t->state[0]) rd_kafka_header_add(*h, TRACE_STATE, -1, t->state, -1);
}
