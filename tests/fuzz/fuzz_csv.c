/* fuzz_csv.c -- untrusted CSV (and JSON Lines) files through the article
 * reader: every byte sequence is read to its end, every article handed out
 * is NUL-terminated, and every report names a place. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "articles.h"

static articles_verdict take(void *ctx, const articles_where *w, const schema_article *a, char *why, size_t n)
{
    (void)ctx, (void)why, (void)n;
    if (!w->file || !a->id || a->id[a->id_len] || !a->text || a->text[a->text_len]) abort();
    return a->id_len == 1 && a->id[0] == 'x' ? ARTICLE_REJECTED : ARTICLE_TAKEN;
}

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    if (!strstr(msg, "in.csv") && !strstr(msg, "in.jsonl")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int csv = 0; csv < 2; csv++) {
        FILE *f = fmemopen((void *)data, size, "rb");
        if (!f) return 0;
        articles_opts o = { 4096, csv, take, report, NULL };
        articles_counts n = { 0, 0 };
        char err[256];
        articles_read(f, csv ? "in.csv" : "in.jsonl", &o, &n, err, sizeof err);
        fclose(f);
    }
    return 0;
}
