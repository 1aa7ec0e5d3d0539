/* vectorize.h -- what the parts of dhatu-vectorize share: the options, the
 * article reading, the engine's creation; main.c holds the command line and
 * --bench, records.c the record-printing run. */
#ifndef VECTORIZE_H
#define VECTORIZE_H

#include <stddef.h>
#include "articles.h"
#include "dhatu.h"
#include "clock.h"
#include "log.h"

#define PROG "dhatu-vectorize"

typedef struct options {
    const char *models;      /* comma list in --bench */
    const char *backends;    /* comma list in --bench */
    const char *lexicon;
    size_t batch;
    int threads;
    size_t max_article;
    size_t batch_bytes;      /* 0: the engine's default */
    int device, platform;
    const char *device_type;
    size_t device_memory;
    int profile;
    int bench;
    int rounds;
    long synthetic;
    int quiet;
    int progress;
    logger log;              /* [input] for bad lines, [engine] below */
} options;

/* Reads FILEs in order (stdin when none or "-"), reporting bad lines; ctx
 * must begin with a const options * (report_bad finds the log there). -1
 * when a file cannot be opened or read, or fn failed fatally (reported). */
int read_articles(const options *o, char **files, int nfiles, articles_fn fn, void *ctx, articles_counts *n);
int make_engine(const options *o, const char *backend, const char *model, dhatu_engine **e);
/* Records of every article to stdout, in input order; the exit status. */
int vectorize_records(const options *o, char **files, int nfiles);

#endif
