/* metrics.c -- see metrics.h. */
#include "metrics.h"
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void metrics_hist_init(metrics_hist *h, const double *bounds, int nbounds, double unit)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds > METRICS_MAX_BUCKETS ? METRICS_MAX_BUCKETS : nbounds;
    h->unit = unit;
}

void metrics_hist_observe(metrics_hist *h, uint64_t units)
{
    double v = (double)units * h->unit;
    int i = 0;
    while (i < h->nbounds && v > h->bounds[i]) i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_units, units, memory_order_relaxed);
}

void metrics_buf_free(metrics_buf *b)
{
    dbuf_free(&b->out);
    b->failed = 0;
}

static void put(metrics_buf *b, const char *s, size_t n)
{
    if (!b->failed && dbuf_append(&b->out, s, n)) b->failed = 1;
}

static void puts_(metrics_buf *b, const char *s) { put(b, s, strlen(s)); }

void metrics_text(metrics_buf *b, const char *s, size_t len) { put(b, s, len); }

__attribute__((format(printf, 2, 3)))
static void putf(metrics_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void metrics_escape(metrics_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\') puts_(b, "\\\\");
        else if (*s == '"') puts_(b, "\\\"");
        else if (*s == '\n') puts_(b, "\\n");
        else put(b, s, 1);
    }
}

void metrics_family(metrics_buf *b, const char *name, const char *type, const char *help)
{
    putf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {     /* HELP escapes backslash and newline only */
        if (*p == '\\') puts_(b, "\\\\");
        else if (*p == '\n') puts_(b, "\\n");
        else put(b, p, 1);
    }
    putf(b, "\n# TYPE %s %s\n", name, type);
}

static void labels_out(metrics_buf *b, const char *const *labels, const char *extra_k, const char *extra_v)
{
    int any = (labels && labels[0]) || extra_k;
    if (!any) return;
    puts_(b, "{");
    int first = 1;
    for (int i = 0; labels && labels[i]; i += 2) {
        putf(b, "%s%s=\"", first ? "" : ",", labels[i]);
        metrics_escape(b, labels[i + 1] ? labels[i + 1] : "");
        puts_(b, "\"");
        first = 0;
    }
    if (extra_k) {
        putf(b, "%s%s=\"%s\"", first ? "" : ",", extra_k, extra_v);
    }
    puts_(b, "}");
}

static void value_out(metrics_buf *b, double v)
{
    if (isinf(v)) puts_(b, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v)) puts_(b, "NaN");
    else if (v == floor(v) && fabs(v) < 1e15) putf(b, "%.0f", v);
    else putf(b, "%.17g", v);
}

void metrics_sample(metrics_buf *b, const char *name, const char *const *labels, double value)
{
    puts_(b, name);
    labels_out(b, labels, NULL, NULL);
    puts_(b, " ");
    value_out(b, value);
    puts_(b, "\n");
}

void metrics_histogram(metrics_buf *b, const char *name, const char *const *labels, const metrics_hist *h)
{
    /* Read each bucket once; cumulate so that every le is >= the previous
     * and +Inf equals _count, even while observations race the scrape. */
    uint64_t cum = 0;
    char bname[160], le[48];
    snprintf(bname, sizeof bname, "%s_bucket", name);
    for (int i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->nbounds) snprintf(le, sizeof le, "%.17g", h->bounds[i]);
        else snprintf(le, sizeof le, "+Inf");
        puts_(b, bname);
        labels_out(b, labels, "le", le);
        putf(b, " %llu\n", (unsigned long long)cum);
    }
    char n2[160];
    snprintf(n2, sizeof n2, "%s_sum", name);
    metrics_sample(b, n2, labels, (double)atomic_load_explicit(&h->sum_units, memory_order_relaxed) * h->unit);
    snprintf(n2, sizeof n2, "%s_count", name);
    metrics_sample(b, n2, labels, (double)cum);
}

void metrics_process(metrics_buf *b, double start_time_seconds)
{
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
              ru.ru_stime.tv_usec / 1e6;
    metrics_family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    metrics_sample(b, "process_cpu_seconds_total", NULL, cpu);
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long size;
        if (fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
        fclose(f);
    }
    metrics_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    metrics_sample(b, "process_resident_memory_bytes", NULL, (double)pages * (double)sysconf(_SC_PAGESIZE));
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') fds++;
    if (d) { closedir(d); fds--; }           /* the directory stream's own fd */
    metrics_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    metrics_sample(b, "process_open_fds", NULL, fds);
    metrics_family(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    metrics_sample(b, "process_start_time_seconds", NULL, start_time_seconds);
}
