/* records.c -- the record-printing run of dhatu-vectorize, as a pipeline:
 * the main thread reads and parses articles into one batch and submits it
 * to the engine (asynchronous: dhatu_engine_submit), and goes on parsing
 * the next while the engine works; a writer thread waits for each batch's
 * ticket, then formats and writes its records. NSLOT slots (batch,
 * records, ids, ticket) turn in a ring, so output stays in input order,
 * every core has work, and nothing is allocated per batch. A write or
 * engine error stops the run with its cause; what was written is counted. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "idbuf.h"
#include "schema_json.h"
#include "vectorize.h"

/* One filling, one in the engine, one being written. */
#define NSLOT 3
#define OUTCHUNK (256u << 10)

typedef struct slot {
    dhatu_batch *b;
    dhatu_record *out;
    idbuf ids;
    dhatu_ticket t;         /* its engine run, collected by the writer */
    int ready;              /* submitted, waiting for (or with) the writer */
} slot;

typedef struct run {
    const options *opt;     /* first: report_bad (main.c) finds it there */
    dhatu_engine *e;
    slot s[NSLOT];
    int cur;                /* the slot the main thread fills */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, write_failed; /* write_failed: a write or the engine failed */
    articles_counts in;
    /* writer thread only, read after the join */
    dbuf json;
    uint64_t records, failed_writes;
    double t0, last_progress;
} run;

/* Sends the records gathered in r->json; 0, or -1 when stdout failed. */
static int send_records(run *r, uint64_t *pending)
{
    if (r->json.len && fwrite(r->json.data, 1, r->json.len, stdout) != r->json.len) return -1;
    r->records += *pending;
    *pending = 0;
    dbuf_reset(&r->json);
    return 0;
}

/* Records are gathered into OUTCHUNK-sized writes: stdio's own buffer is
 * st_blksize (4 KiB on a pipe or /dev/null), a write call every four
 * records, which cost about a tenth of the run; a write this large skips
 * stdio's buffer and its copy. */
static int write_slot(run *r, slot *s)
{
    char err[512];
    const char *model = dhatu_engine_model_id(r->e);
    size_t n = dhatu_batch_count(s->b);
    uint64_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        size_t id_len;
        const char *id = idbuf_get(&s->ids, i, &id_len);
        if (schema_json_append_record(id, id_len, model, &s->out[i], NULL, &r->json, err, sizeof err)) {
            log_error(&r->opt->log, "cannot write record %.*s: %s", (int)id_len, id, err);
            r->failed_writes++;
            continue;
        }
        if (dbuf_append(&r->json, "\n", 1)) {
            log_error(&r->opt->log, "out of memory");
            return -1;
        }
        pending++;
        if (r->json.len >= OUTCHUNK && send_records(r, &pending)) return -1;
    }
    return send_records(r, &pending);
}

static void *writer_main(void *arg)
{
    run *r = arg;
    int k = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->s[k].ready && !r->done) pthread_cond_wait(&r->cv, &r->mu);
        if (!r->s[k].ready) break;
        int failed = r->write_failed;
        pthread_mutex_unlock(&r->mu);
        char err[512];
        /* Collected even after a failure: every ticket is released. */
        int engine_failed = dhatu_engine_wait(r->e, r->s[k].t, err, sizeof err) != DHATU_OK;
        if (engine_failed && !failed) log_error(&r->opt->log, "engine error: %s", err);
        int write_failed = 0;
        int stdout_failed = 0;
        if (!failed && !engine_failed) {
            write_failed = write_slot(r, &r->s[k]) != 0;
            stdout_failed = ferror(stdout) != 0;
            write_failed |= stdout_failed;
        }
        pthread_mutex_lock(&r->mu);
        if (stdout_failed && !r->write_failed) log_error(&r->opt->log, "cannot write to stdout: %s", strerror(errno));
        r->write_failed |= engine_failed | write_failed;
        r->s[k].ready = 0;
        pthread_cond_broadcast(&r->cv);
        k = (k + 1) % NSLOT;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Submits the filling slot, hands it to the writer, and takes the next one
 * once the writer is done with it. */
static int flush_batch(run *r)
{
    char err[512];
    slot *s = &r->s[r->cur];
    if (!dhatu_batch_count(s->b)) return 0;
    /* At most NSLOT - 1 tickets are out, below max_in_flight (4). */
    if (dhatu_engine_submit(r->e, s->b, s->out, &s->t, err, sizeof err)) {
        log_error(&r->opt->log, "engine error: %s", err);
        return -1;
    }
    pthread_mutex_lock(&r->mu);
    s->ready = 1;
    pthread_cond_broadcast(&r->cv);
    r->cur = (r->cur + 1) % NSLOT;
    slot *next = &r->s[r->cur];
    while (next->ready) pthread_cond_wait(&r->cv, &r->mu);
    int failed = r->write_failed;
    pthread_mutex_unlock(&r->mu);
    dhatu_batch_reset(next->b);
    idbuf_reset(&next->ids);
    if (r->opt->progress) {
        double t = clk_now_s();
        if (t - r->last_progress > 0.25) {
            fprintf(stderr, "\r" PROG ": %" PRIu64 " articles, %.0f/s   ", r->in.articles,
                    (double)r->in.articles / (t - r->t0));
            r->last_progress = t;
        }
    }
    return failed ? -1 : 0;
}

/* articles_fn of the record run: adds to the batch, flushing it when full. */
static articles_verdict add_article(void *ctx, const articles_where *w, const schema_article *a, char *why,
                                    size_t wn)
{
    (void)w;
    run *r = ctx;
    char err[256];
    for (int attempt = 0; attempt < 2; attempt++) {
        slot *s = &r->s[r->cur];
        dhatu_status st = dhatu_batch_add(s->b, a->title, a->title_len, a->text, a->text_len, a->lang, err,
                                          sizeof err);
        if (st == DHATU_OK) {
            if (!idbuf_push(&s->ids, a->id, a->id_len)) return ARTICLE_TAKEN;
            log_error(&r->opt->log, "out of memory");
            return ARTICLE_FATAL;
        }
        if (st != DHATU_ERR_FULL || attempt) break;
        if (flush_batch(r)) return ARTICLE_FATAL;
    }
    snprintf(why, wn, "id %.*s: %s", (int)(a->id_len > 80 ? 80 : a->id_len), a->id, err);
    return ARTICLE_REJECTED;
}

int vectorize_records(const options *o, char **files, int nfiles)
{
    run r;
    memset(&r, 0, sizeof r);
    r.opt = o;
    char err[512];
    if (make_engine(o, o->backends, o->models, &r.e)) return 2;
    int fatal = 0;
    for (int k = 0; k < NSLOT && !fatal; k++) {
        if (dhatu_batch_create(r.e, &r.s[k].b, err, sizeof err)) {
            log_error(&o->log, "%s", err);
            fatal = 1;
        } else if (!(r.s[k].out = malloc(o->batch * sizeof *r.s[k].out)) || idbuf_init(&r.s[k].ids, o->batch)) {
            log_error(&o->log, "out of memory");
            fatal = 1;
        }
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    if (!fatal && pthread_create(&r.writer, NULL, writer_main, &r)) {
        log_error(&o->log, "cannot start the writer thread");
        fatal = 1;
    }
    r.writer_started = !fatal;
    r.t0 = r.last_progress = clk_now_s();

    if (!fatal && read_articles(o, files, nfiles, add_article, &r, &r.in)) fatal = 1;
    /* The last batch, even after a file failed: what was read is written. */
    if (r.writer_started && flush_batch(&r)) fatal = 1;
    if (r.writer_started) {
        pthread_mutex_lock(&r.mu);
        r.done = 1;
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        pthread_join(r.writer, NULL);
    }
    if (fflush(stdout) || ferror(stdout)) {
        if (!r.write_failed) log_error(&o->log, "cannot write to stdout: %s", strerror(errno));
        r.write_failed = 1;
    }
    fatal |= r.write_failed;
    double dt = clk_now_s() - r.t0;
    if (o->progress) fputc('\n', stderr);
    if (!o->quiet || fatal)
        log_write(&o->log, fatal ? LOG_ERROR : LOG_INFO,
                  "%" PRIu64 " records from %" PRIu64 " articles, %" PRIu64
                  " lines skipped, %.3f s, %.0f articles/s (model %s, backend %s: %s)",
                  r.records, r.in.articles, r.in.skipped + r.failed_writes, dt, dt > 0 ? (double)r.records / dt : 0.0,
                  dhatu_engine_model_id(r.e), dhatu_engine_backend(r.e), dhatu_engine_describe(r.e));
    for (int k = 0; k < NSLOT; k++) {
        dhatu_batch_destroy(r.s[k].b);
        free(r.s[k].out);
        idbuf_free(&r.s[k].ids);
    }
    dhatu_engine_destroy(r.e);
    dbuf_free(&r.json);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    return fatal ? 2 : (r.in.skipped || r.failed_writes) ? 1 : 0;
}
