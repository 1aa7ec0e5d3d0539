/* report.h -- dhatu-report's insides (tools/report.c reads records and
 * articles and sums what they say; tools/report_page.c writes the page).
 * Not a library: one program's two halves. */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "dhatu_record.h"

#define PROG "dhatu-report"
#define ND DHATU_NDHATU
#define NCOL (ND + 1)               /* the dhātus, then "none" (no evidence) */
#define TOP 5                       /* articles shown per dhātu */
#define MAX_GROUPS 12               /* langs or sources shown; the rest is "other" */
#define MAX_BUCKETS 60

/* Articles by id (open addressing): title, lang, source, published. */
typedef struct art { char *id, *title, *lang, *source; int64_t published; int has_published; } art;
typedef struct arts { art *v; size_t cap, n; } arts;

art *arts_find(const arts *t, const char *id);

/* What the records say. */
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
    struct idom { char *id; int dom; } *ids;     /* --compare: every record's id and dominant */
    size_t nids, cap_ids;
    int keep_ids;
} report;

/* The page of one record set, and the comparison of two (A and B, named na
 * and nb). Both sort what they need in r (times, ids). */
void write_report(FILE *o, report *r, const arts *a, const char *title);
void write_compare(FILE *o, report *ra, report *rb, const char *na, const char *nb, const arts *a,
                   const char *title);

#endif
