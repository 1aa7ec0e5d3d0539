/* engine.c -- the public API of dhatu.h: configuration, backend registry,
 * batches, and the tickets that a dispatcher thread runs on the chosen
 * backend (dhatu_engine_vectorize is submit and wait).
 *
 * Why one dispatcher thread per engine: a backend context is not
 * reentrant (dhatu_impl.h), and each backend already spreads one batch over
 * all it has (the cpu backend's workers, a GPU backend's slots and
 * streams). What the host gains is overlap: while the dispatcher runs batch
 * k, the caller decodes batch k+1 and encodes batch k-1, so a device never
 * waits for Kafka. Tickets therefore complete in submission order; they may
 * be collected in any order. */
#define _GNU_SOURCE     /* pthread_setname_np */
#include "dhatu.h"
#include "dhatu_impl.h"
#include "alloc.h"
#include "error.h"
#include "lexicon.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_IN_FLIGHT_LIMIT 64

typedef enum { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

/* One outstanding ticket: what it borrows and, once done, its outcome. */
typedef struct job {
    job_state state;
    dhatu_ticket ticket;
    dhatu_batch_view view;
    dhatu_record *out;
    dhatu_status status;
    char err[256];
} job;

/* The dispatcher: jobs[] under mu; the thread starts at the first submit. */
typedef struct dispatcher {
    pthread_mutex_t mu;
    pthread_cond_t cv_work;         /* a job was queued, or stop */
    pthread_cond_t cv_done;         /* a job completed */
    job jobs[MAX_IN_FLIGHT_LIMIT];
    int njobs;                      /* cfg.max_in_flight */
    int outstanding;                /* jobs not FREE */
    dhatu_ticket next_ticket;       /* the next one handed out; queued jobs run in ticket order */
    int started, stop;
    pthread_t thread;
    /* The backend's device seconds, read on the dispatcher thread after each
     * batch (the backend updates them there), so any thread may ask. */
    double times[3];
} dispatcher;

#define SEED_MODEL_ID "seed-1"

struct dhatu_engine {
    dhatu_config cfg;           /* strings below point into owned copies */
    char backend_name[16];
    char model_name[16];
    char device_type[16];
    char *lexicon_path;
    dhatu_model_kind model;
    dhatu_lexicon *lexicon;     /* lexicon model only */
    dhatu_backend backend;
    char describe[512];
    dispatcher d;
};

struct dhatu_batch {
    dhatu_engine *e;
    size_t cap_articles, cap_bytes;
    size_t n;
    char *text;
    uint64_t *offsets;          /* cap_articles + 1 */
    uint32_t *langmask;
};

/* Compiled backends, best first: "auto" takes the first one that starts
 * (GPU backends decline it when their only device is a CPU). */
static const struct dhatu_backend_i *const registry[] = {
#ifdef DHATU_HAVE_CUDA
    &dhatu_backend_cuda_i,
#endif
#ifdef DHATU_HAVE_OPENCL
    &dhatu_backend_opencl_i,
#endif
    &dhatu_backend_cpu_i,
    &dhatu_backend_cpu_ref_i,
};
#define NREGISTRY (sizeof registry / sizeof registry[0])
/* The backends "auto" may pick: all but the slow oracle, the last. */
#define NAUTO (NREGISTRY - 1)

void dhatu_config_init(dhatu_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = "cpu";
    cfg->model = "lexicon";
    cfg->lexicon_path = NULL;
    cfg->max_article_bytes = (size_t)16 << 20;
    cfg->batch_max_articles = 4096;
    cfg->batch_max_bytes = (size_t)32 << 20;
    cfg->threads = 0;
    cfg->device_index = -1;
    cfg->platform_index = -1;
    cfg->device_type = "any";
    cfg->device_memory = 0;
    cfg->max_in_flight = 4;
}

const char *const *dhatu_backend_names(void)
{
    static const char *names[NREGISTRY + 1];
    for (size_t i = 0; i < NREGISTRY; i++) names[i] = registry[i]->get_name();
    names[NREGISTRY] = NULL;
    return names;
}

static dhatu_status start_backend(dhatu_engine *e, const struct dhatu_backend_i *iface, int auto_pick,
                                  char *errstr, size_t n)
{
    dhatu_backend_params p = { e->model, e->lexicon, &e->cfg, auto_pick };
    void *ctx = NULL;
    dhatu_status st = iface->init(&p, &ctx, errstr, n);
    if (st) return st;
    e->backend.iface = iface;
    e->backend.context = ctx;
    e->backend.api_version = DHATU_BACKEND_API_VERSION;
    snprintf(e->backend_name, sizeof e->backend_name, "%s", iface->get_name());
    snprintf(e->describe, sizeof e->describe, "%s", iface->describe ? iface->describe(ctx) : e->backend_name);
    return DHATU_OK;
}

static dhatu_status choose_backend(dhatu_engine *e, const char *want, char *errstr, size_t n)
{
    if (!strcmp(want, "auto")) {
        /* Try each candidate in order and say why the better ones were passed over. */
        char why[sizeof e->describe] = "";
        size_t used = 0;
        for (size_t i = 0; i < NAUTO; i++) {
            char err[256] = "";
            if (start_backend(e, registry[i], 1, err, sizeof err) == DHATU_OK) {
                char d[sizeof e->describe];
                memcpy(d, e->describe, sizeof d);
                snprintf(e->describe, sizeof e->describe, "auto chose %s (%.160s)%s%s", e->backend_name, d,
                         used ? "; passed over: " : NAUTO == 1 ? "; no GPU backend is built in" : "", why);
                return DHATU_OK;
            }
            if (used < sizeof why)
                used += (size_t)snprintf(why + used, sizeof why - used, "%s%s", used ? "; " : "", err);
        }
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "auto: no backend could start: %s", why);
    }
    for (size_t i = 0; i < NREGISTRY; i++) {
        if (!strcmp(want, registry[i]->get_name())) return start_backend(e, registry[i], 0, errstr, n);
    }
    if (!strcmp(want, "cuda") || !strcmp(want, "opencl"))
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE,
                               "backend '%s' is not built into this binary (its toolkit was not found at build time)",
                               want);
    return dhatu_set_error(errstr, n, DHATU_ERR_ARG,
                           "unknown backend '%s' (expected cpu-ref, cpu, opencl, cuda or auto)", want);
}

dhatu_status dhatu_engine_create(const dhatu_config *cfg, dhatu_engine **out,
                                 char *errstr, size_t n)
{
    *out = NULL;
    dhatu_config def;
    if (!cfg) { dhatu_config_init(&def); cfg = &def; }
    const char *backend = cfg->backend ? cfg->backend : "cpu";
    const char *model = cfg->model ? cfg->model : "lexicon";
    if (strcmp(model, "seed") && strcmp(model, "lexicon"))
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "unknown model '%s' (expected seed or lexicon)", model);
    if (!cfg->max_article_bytes || !cfg->batch_max_articles || !cfg->batch_max_bytes)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "max_article_bytes, batch_max_articles and "
                               "batch_max_bytes must be positive");
    if (cfg->max_article_bytes > ((size_t)1 << 40))
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "max_article_bytes is absurdly large");
    if (cfg->threads < 0 || cfg->threads > 4096)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "threads must be 0 (all cores) .. 4096");
    if (cfg->max_in_flight < 1 || cfg->max_in_flight > MAX_IN_FLIGHT_LIMIT)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "max_in_flight must be 1 .. %d", MAX_IN_FLIGHT_LIMIT);
    if (cfg->device_index < -1 || cfg->platform_index < -1)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "device_index and platform_index must be -1 (any) or more");
    const char *dtype = cfg->device_type ? cfg->device_type : "any";
    if (strcmp(dtype, "any") && strcmp(dtype, "gpu") && strcmp(dtype, "cpu") && strcmp(dtype, "accelerator"))
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "unknown device type '%s' (expected gpu, accelerator, cpu or any)",
                               dtype);

    dhatu_engine *e = dhatu_calloc(1, sizeof *e);
    if (!e) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "engine: out of memory");
    dhatu_status st;
    e->cfg = *cfg;
    snprintf(e->model_name, sizeof e->model_name, "%s", model);
    e->cfg.model = e->model_name;
    snprintf(e->device_type, sizeof e->device_type, "%s", dtype);
    e->cfg.device_type = e->device_type;
    e->model = strcmp(model, "seed") ? DHATU_MODEL_LEXICON : DHATU_MODEL_SEED;
    if (cfg->lexicon_path) {
        size_t len = strlen(cfg->lexicon_path);
        if (!(e->lexicon_path = dhatu_malloc(len + 1))) {
            st = dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "engine: out of memory");
            goto err;
        }
        memcpy(e->lexicon_path, cfg->lexicon_path, len + 1);
    }
    e->cfg.lexicon_path = e->lexicon_path;
    if (e->model == DHATU_MODEL_LEXICON) {
        st = e->lexicon_path ? dhatu_lexicon_load_file(e->lexicon_path, &e->lexicon, errstr, n)
                             : dhatu_lexicon_load_default(&e->lexicon, errstr, n);
        if (st) goto err;
    }
    if ((st = choose_backend(e, backend, errstr, n))) goto err;
    e->cfg.backend = e->backend_name;
    pthread_mutex_init(&e->d.mu, NULL);
    pthread_cond_init(&e->d.cv_work, NULL);
    pthread_cond_init(&e->d.cv_done, NULL);
    e->d.njobs = e->cfg.max_in_flight;
    e->d.next_ticket = 1;
    *out = e;
    return DHATU_OK;
err:
    dhatu_engine_destroy(e);
    return st;
}

/* Queued jobs never run: their callers get an error, not records. Under mu. */
static int cancel_queued(dispatcher *d)
{
    int k = 0;
    for (int i = 0; i < d->njobs; i++) {
        if (d->jobs[i].state != JOB_QUEUED) continue;
        d->jobs[i].state = JOB_DONE;
        d->jobs[i].status = dhatu_set_error(d->jobs[i].err, sizeof d->jobs[i].err, DHATU_ERR_CANCELLED,
                                            "cancelled before it ran (engine shutting down)");
        k++;
    }
    return k;
}

int dhatu_engine_cancel(dhatu_engine *e)
{
    dispatcher *d = &e->d;
    pthread_mutex_lock(&d->mu);
    int k = cancel_queued(d);
    pthread_cond_broadcast(&d->cv_done);
    for (;;) {
        int running = 0;
        for (int i = 0; i < d->njobs; i++) running |= d->jobs[i].state == JOB_RUNNING;
        if (!running) break;
        pthread_cond_wait(&d->cv_done, &d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return k;
}

static void dispatcher_stop(dhatu_engine *e)
{
    dispatcher *d = &e->d;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    cancel_queued(d);
    pthread_cond_broadcast(&d->cv_work);
    pthread_cond_broadcast(&d->cv_done);
    int started = d->started;
    pthread_mutex_unlock(&d->mu);
    if (started) pthread_join(d->thread, NULL);     /* after the batch it runs, if any */
    pthread_cond_destroy(&d->cv_work);
    pthread_cond_destroy(&d->cv_done);
    pthread_mutex_destroy(&d->mu);
}

void dhatu_engine_destroy(dhatu_engine *e)
{
    if (!e) return;
    if (e->d.njobs) dispatcher_stop(e);
    if (e->backend.iface) e->backend.iface->free(e->backend.context);
    dhatu_lexicon_destroy(e->lexicon);
    dhatu_free(e->lexicon_path);
    dhatu_free(e);
}

const char *dhatu_engine_backend(const dhatu_engine *e) { return e->backend_name; }
const char *dhatu_engine_describe(const dhatu_engine *e) { return e->describe; }
const dhatu_config *dhatu_engine_config(const dhatu_engine *e) { return &e->cfg; }

void dhatu_engine_device_times(const dhatu_engine *e, double *copy_in_s, double *compute_s, double *copy_out_s)
{
    double t[3];
    dispatcher *d = (dispatcher *)&e->d;
    pthread_mutex_lock(&d->mu);
    memcpy(t, d->times, sizeof t);
    pthread_mutex_unlock(&d->mu);
    if (copy_in_s) *copy_in_s = t[0];
    if (compute_s) *compute_s = t[1];
    if (copy_out_s) *copy_out_s = t[2];
}

const char *dhatu_engine_model_id(const dhatu_engine *e)
{
    return e->model == DHATU_MODEL_SEED ? SEED_MODEL_ID : e->lexicon->model_id;
}

void dhatu_engine_device_memory(const dhatu_engine *e, size_t *slots, size_t *tables, size_t *pinned)
{
    size_t m[3] = { 0, 0, 0 };
    if (e->backend.iface->device_memory) e->backend.iface->device_memory(e->backend.context, m);
    if (slots) *slots = m[0];
    if (tables) *tables = m[1];
    if (pinned) *pinned = m[2];
}

/* The oldest queued job (lowest ticket), or NULL. Under mu. */
static job *oldest_queued(dispatcher *d)
{
    job *best = NULL;
    for (int i = 0; i < d->njobs; i++)
        if (d->jobs[i].state == JOB_QUEUED && (!best || d->jobs[i].ticket < best->ticket)) best = &d->jobs[i];
    return best;
}

static void *dispatcher_main(void *arg)
{
    dhatu_engine *e = arg;
    dispatcher *d = &e->d;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        job *j;
        while (!d->stop && !(j = oldest_queued(d))) pthread_cond_wait(&d->cv_work, &d->mu);
        if (d->stop) break;
        j->state = JOB_RUNNING;
        dhatu_batch_view v = j->view;
        dhatu_record *out = j->out;
        pthread_mutex_unlock(&d->mu);
        /* Outside the lock: submits, polls and waits go on meanwhile. The
         * message goes to a buffer of the dispatcher's, copied under mu. */
        char err[sizeof j->err] = "";
        dhatu_status st = e->backend.iface->vectorize_batch(e->backend.context, &v, out, err, sizeof err);
        double t[3] = { 0, 0, 0 };
        if (e->backend.iface->device_times) e->backend.iface->device_times(e->backend.context, t);
        pthread_mutex_lock(&d->mu);
        memcpy(d->times, t, sizeof t);
        j->status = st;
        memcpy(j->err, err, sizeof err);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&d->cv_done);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static job *find_job(dispatcher *d, dhatu_ticket t)
{
    for (int i = 0; i < d->njobs; i++)
        if (d->jobs[i].state != JOB_FREE && d->jobs[i].ticket == t) return &d->jobs[i];
    return NULL;
}

dhatu_status dhatu_engine_submit(dhatu_engine *e, const dhatu_batch *b, dhatu_record *out, dhatu_ticket *ticket,
                                 char *errstr, size_t n)
{
    if (!e || !b || !ticket || (!out && b->n))
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "submit: NULL engine, batch, output or ticket");
    if (b->e != e)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "submit: the batch belongs to another engine");
    dispatcher *d = &e->d;
    pthread_mutex_lock(&d->mu);
    if (d->outstanding >= d->njobs) {
        pthread_mutex_unlock(&d->mu);
        return dhatu_set_error(errstr, n, DHATU_ERR_BUSY, "submit: %d batches in flight (max_in_flight)", d->njobs);
    }
    if (!d->started) {
        /* Started on first use: engines used offline only pay at their first batch. */
        if (pthread_create(&d->thread, NULL, dispatcher_main, e)) {
            pthread_mutex_unlock(&d->mu);
            return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "submit: cannot start the dispatcher thread");
        }
        pthread_setname_np(d->thread, "dhatu:dispatch");
        d->started = 1;
    }
    job *j = NULL;
    for (int i = 0; i < d->njobs && !j; i++)
        if (d->jobs[i].state == JOB_FREE) j = &d->jobs[i];
    *j = (job){ .ticket = d->next_ticket++, .view = { b->n, b->text, b->offsets, b->langmask }, .out = out };
    d->outstanding++;
    if (b->n) {
        j->state = JOB_QUEUED;
        pthread_cond_signal(&d->cv_work);
    } else {
        j->state = JOB_DONE;        /* an empty batch is a no-op that succeeds */
    }
    *ticket = j->ticket;
    pthread_mutex_unlock(&d->mu);
    return DHATU_OK;
}

/* Releases a done job and returns its outcome. Under mu. */
static dhatu_status collect(dispatcher *d, job *j, char *errstr, size_t n)
{
    dhatu_status st = j->status;
    if (st && errstr && n) dhatu_set_error(errstr, n, st, "%s", j->err);
    j->state = JOB_FREE;
    d->outstanding--;
    pthread_cond_broadcast(&d->cv_done);     /* a slot is free: a vectorize call may wait for one */
    return st;
}

static dhatu_status complete(dhatu_engine *e, dhatu_ticket t, int block, char *errstr, size_t n)
{
    if (!e) return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "NULL engine");
    dispatcher *d = &e->d;
    pthread_mutex_lock(&d->mu);
    job *j = find_job(d, t);
    while (j && block && j->state != JOB_DONE) pthread_cond_wait(&d->cv_done, &d->mu);
    dhatu_status st;
    if (!j) st = dhatu_set_error(errstr, n, DHATU_ERR_ARG, "ticket %llu is not outstanding", (unsigned long long)t);
    else if (j->state != JOB_DONE) st = DHATU_ERR_PENDING;
    else st = collect(d, j, errstr, n);
    pthread_mutex_unlock(&d->mu);
    return st;
}

dhatu_status dhatu_engine_poll(dhatu_engine *e, dhatu_ticket t, char *errstr, size_t n)
{
    return complete(e, t, 0, errstr, n);
}

dhatu_status dhatu_engine_wait(dhatu_engine *e, dhatu_ticket t, char *errstr, size_t n)
{
    return complete(e, t, 1, errstr, n);
}

int dhatu_engine_in_flight(const dhatu_engine *e)
{
    dispatcher *d = (dispatcher *)&e->d;
    pthread_mutex_lock(&d->mu);
    int k = d->outstanding;
    pthread_mutex_unlock(&d->mu);
    return k;
}

/* Submit and wait. With max_in_flight tickets outstanding (another thread's
 * asynchronous batches) it waits for a slot instead of failing. */
dhatu_status dhatu_engine_vectorize(dhatu_engine *e, const dhatu_batch *b, dhatu_record *out,
                                    char *errstr, size_t n)
{
    if (!e || !b || (!out && b->n))
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "vectorize: NULL engine, batch or output");
    if (b->e != e)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "vectorize: the batch belongs to another engine");
    if (!b->n) return DHATU_OK;
    dhatu_ticket t = 0;
    dhatu_status st;
    while ((st = dhatu_engine_submit(e, b, out, &t, errstr, n)) == DHATU_ERR_BUSY) {
        pthread_mutex_lock(&e->d.mu);
        if (e->d.outstanding >= e->d.njobs) pthread_cond_wait(&e->d.cv_done, &e->d.mu);
        pthread_mutex_unlock(&e->d.mu);
    }
    return st ? st : dhatu_engine_wait(e, t, errstr, n);
}

/* Batch memory comes from the backend when it wants it (pinned for DMA). */
static void *host_alloc(dhatu_engine *e, size_t size)
{
    if (e->backend.iface->host_alloc) return e->backend.iface->host_alloc(e->backend.context, size);
    return dhatu_malloc(size);
}

static void host_free(dhatu_engine *e, void *p)
{
    if (!p) return;
    if (e->backend.iface->host_free) e->backend.iface->host_free(e->backend.context, p);
    else dhatu_free(p);
}

dhatu_status dhatu_batch_create(dhatu_engine *e, dhatu_batch **out, char *errstr, size_t n)
{
    *out = NULL;
    dhatu_batch *b = dhatu_calloc(1, sizeof *b);
    if (!b) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "batch: out of memory");
    b->e = e;
    b->cap_articles = e->cfg.batch_max_articles;
    /* A lone article up to the maximum must always fit an empty batch. */
    b->cap_bytes = e->cfg.batch_max_bytes > e->cfg.max_article_bytes ? e->cfg.batch_max_bytes
                                                                     : e->cfg.max_article_bytes;
    b->text = host_alloc(e, b->cap_bytes);
    b->offsets = host_alloc(e, (b->cap_articles + 1) * sizeof *b->offsets);
    b->langmask = host_alloc(e, b->cap_articles * sizeof *b->langmask);
    if (!b->text || !b->offsets || !b->langmask) {
        size_t want = b->cap_bytes;
        dhatu_batch_destroy(b);
        return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "batch: cannot allocate %zu bytes of text", want);
    }
    b->offsets[0] = 0;
    *out = b;
    return DHATU_OK;
}

void dhatu_batch_destroy(dhatu_batch *b)
{
    if (!b) return;
    host_free(b->e, b->text);
    host_free(b->e, b->offsets);
    host_free(b->e, b->langmask);
    dhatu_free(b);
}

void dhatu_batch_reset(dhatu_batch *b) { b->n = 0; }
size_t dhatu_batch_count(const dhatu_batch *b) { return b->n; }
size_t dhatu_batch_bytes(const dhatu_batch *b) { return (size_t)b->offsets[b->n]; }

dhatu_status dhatu_batch_add(dhatu_batch *b, const char *title, size_t title_len,
                             const char *text, size_t text_len, const char *lang,
                             char *errstr, size_t n)
{
    size_t len = text_len + (title ? title_len + 1 : 0);
    if (len < text_len || len > b->e->cfg.max_article_bytes)
        return dhatu_set_error(errstr, n, DHATU_ERR_TOO_LARGE,
                               "article of %zu bytes exceeds the maximum of %zu bytes", len,
                               b->e->cfg.max_article_bytes);
    size_t used = (size_t)b->offsets[b->n];
    if (b->n == b->cap_articles || len > b->cap_bytes - used)
        return dhatu_set_error(errstr, n, DHATU_ERR_FULL, "batch full (%zu articles, %zu bytes)",
                               b->n, used);
    char *w = b->text + used;
    if (title) {
        if (title_len) memcpy(w, title, title_len);
        w[title_len] = ' ';
        w += title_len + 1;
    }
    if (text_len) memcpy(w, text, text_len);
    b->langmask[b->n] = b->e->lexicon ? dhatu_lexicon_langmask(b->e->lexicon, lang) : DHATU_LEX_ALL;
    b->n++;
    b->offsets[b->n] = used + len;
    return DHATU_OK;
}
