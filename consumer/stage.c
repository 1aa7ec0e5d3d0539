/* stage.c -- the engine stage: a queue of batches from the polling thread
 * to the engine thread, which decodes them and submits them to the engine
 * (dhatu.h's tickets), and a queue from it to the encoder thread, which
 * waits for each ticket, then encodes and produces the records in the same
 * order (see consumer.h for the threads). Decoding one batch, computing
 * others (on the engine's dispatcher: the cpu workers or a device) and
 * encoding the one before all overlap, up to batch.max_in_flight. */
#define _GNU_SOURCE     /* pthread_setname_np */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "consumer.h"

/* Encodes and produces the records of w's batch (the encoder's side). */
static void encode_records(consumer *c, work *w)
{
    stage *s = &c->st;
    char err[512];
    int64_t t0 = clk_now_ns();
    schema_lineage lin = { .processed_at = clk_wall_ms(), .processor = PROCESSOR,
                           .backend = dhatu_engine_backend(s->engine) };
    const char *model = dhatu_engine_model_id(s->engine);
    schema_format fmt = c->cfg.json_output ? SCHEMA_FMT_JSON
                        : c->cfg.registry_output ? SCHEMA_FMT_AVRO_REGISTRY : SCHEMA_FMT_AVRO;
    content_batch said = { 0 };     /* what the batch's records say, published once below */
    for (size_t j = 0; j < w->nrec && !atomic_load(&c->fatal); j++) {
        const rd_kafka_message_t *m = w->msgs[w->rec_msg[j]];
        uint64_t token = w->tokens[w->rec_msg[j]];
        rd_kafka_timestamp_type_t tstype;
        lin.topic = rd_kafka_topic_name(m->rkt);
        lin.partition = m->partition;
        lin.offset = m->offset;
        lin.timestamp = rd_kafka_message_timestamp(m, &tstype);
        /* The article's trace context goes on its record, or on its dead
         * letter (the same one, generated or not). */
        trace_ctx trace;
        trace_copy(&trace, m, (int)c->cfg.trace_generate);
        size_t id_len;
        const char *id = idbuf_get(&w->ids, j, &id_len);
        lin.lang = idbuf_get(&w->meta, 2 * j, &lin.lang_len);
        lin.source = idbuf_get(&w->meta, 2 * j + 1, &lin.source_len);
        schema_status es = schema_codec_encode_record(s->enc, fmt, id, id_len, model, &w->records[j], &lin,
                                                      &s->out, err, sizeof err);
        if (es) {
            deliver_dead_letter(c, m, token, SCHEMA_ERR_ENCODE, err, &trace);
            continue;
        }
        /* A record larger than the output accepts (the id is repeated in
         * key and value) is its article's poison, not the cluster's. */
        if (c->output_limit > 0 && (int64_t)(s->out.len + id_len + 512) > c->output_limit) {
            snprintf(err, sizeof err, "its record of %zu bytes (key %zu) exceeds the %" PRId64
                     " bytes the output topic or the producer accepts", s->out.len, id_len, c->output_limit);
            deliver_dead_letter(c, m, token, DL_RECORD_TOO_LARGE, err, &trace);
            continue;
        }
        rd_kafka_headers_t *hdrs = NULL;
        trace_add(&hdrs, &trace);
        rd_kafka_resp_err_t e = deliver_produce(c, c->cfg.output, id, id_len, s->out.data, s->out.len, hdrs, token,
                                                lin.timestamp);
        if (deliver_error_is_per_message(e)) {
            snprintf(err, sizeof err, "its record of %zu bytes was refused: %s", s->out.len, rd_kafka_err2str(e));
            deliver_dead_letter(c, m, token, DL_RECORD_TOO_LARGE, err, &trace);
            continue;
        }
        if (deliver_txn_failed(c, e)) break;     /* the polling thread aborts or replaces (txn.c) */
        if (e) {
            log_error(&c->log, "cannot produce to %s: %s", c->cfg.output, rd_kafka_err2str(e));
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
        atomic_fetch_add(&c->stats.produced, 1);
        atomic_fetch_add(&c->stats.out_bytes, s->out.len);
        content_add(&said, &w->records[j]);
    }
    content_publish(&c->stats.content, &said);
    metrics_hist_observe(&c->stats.stage[2], (uint64_t)(clk_now_ns() - t0));
    w->nrec = 0;
    dhatu_batch_reset(w->batch);
    idbuf_reset(&w->ids);
    idbuf_reset(&w->meta);
}

/* Hands the articles gathered in w's batch to the engine (the engine
 * thread's side): a ticket, and the thread goes on decoding the next work
 * while the engine (its dispatcher, the device) computes this one. */
static void submit_batch(consumer *c, work *w)
{
    stage *s = &c->st;
    size_t nb = dhatu_batch_count(w->batch);
    w->nrec = 0;
    w->ticket = 0;
    w->vec_status = DHATU_OK;
    if (nb == 0) return;
    w->submitted_ns = clk_now_ns();
    metrics_hist_observe(&c->stats.batch_articles, nb);
    if (c->passthrough) {
        memset(w->records, 0, nb * sizeof *w->records);    /* a minimal record */
    } else {
        dhatu_status st = dhatu_engine_submit(s->engine, w->batch, w->records, &w->ticket, w->vec_err,
                                              sizeof w->vec_err);
        /* The engine takes as many tickets as there are works, so it is
         * never busy here; should it be, the call that waits is right too. */
        if (st == DHATU_ERR_BUSY)
            st = dhatu_engine_vectorize(s->engine, w->batch, w->records, w->vec_err, sizeof w->vec_err);
        w->vec_status = st;
    }
    w->nrec = nb;
}

/* Waits for w's ticket (the encoder's side, before encoding). An engine
 * failure is not the articles' fault: their offsets stay unstored, so they
 * are processed again after a restart. */
static void complete_batch(consumer *c, work *w)
{
    stage *s = &c->st;
    size_t nb = w->nrec;
    if (!nb) return;
    if (w->ticket) {
        w->vec_status = dhatu_engine_wait(s->engine, w->ticket, w->vec_err, sizeof w->vec_err);
        w->ticket = 0;
    }
    metrics_hist_observe(&c->stats.stage[1], (uint64_t)(clk_now_ns() - w->submitted_ns));
    if (w->vec_status != DHATU_OK) {
        log_error(&c->engine_log, "engine failed on a batch of %zu articles: %s", nb, w->vec_err);
        outcome_fail(&c->fatal, EXIT_FATAL);
        dhatu_batch_reset(w->batch);
        idbuf_reset(&w->ids);
        idbuf_reset(&w->meta);
        w->nrec = 0;
    }
}

/* The batch filled before the work's messages were all added (articles
 * larger than the batch's text capacity): its part is vectorized and
 * encoded here, on the engine thread, once the encoder is idle, which keeps
 * every record in input order. The encoder cannot wake meanwhile: only
 * this thread feeds it. */
static void flush_part(consumer *c, work *w)
{
    stage *s = &c->st;
    pthread_mutex_lock(&s->mu);
    while (s->done_head || s->encoder_busy) pthread_cond_wait(&s->cv_idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    log_debug(&c->engine_log, "batch text full at %zu articles: vectorizing this part first",
              dhatu_batch_count(w->batch));
    submit_batch(c, w);
    complete_batch(c, w);
    encode_records(c, w);
}

/* Adds one decoded article to the batch, flushing the batch first when it
 * is full; dead-letters what the engine refuses. */
static void add_article(consumer *c, work *w, size_t i, const schema_article *a, int64_t *decode_ns, int64_t *t)
{
    rd_kafka_message_t *m = w->msgs[i];
    char err[512];
    dhatu_status st = dhatu_batch_add(w->batch, a->title, a->title_len, a->text, a->text_len, a->lang,
                                      err, sizeof err);
    if (st == DHATU_ERR_FULL) {
        *decode_ns += clk_now_ns() - *t;
        flush_part(c, w);
        *t = clk_now_ns();
        st = dhatu_batch_add(w->batch, a->title, a->title_len, a->text, a->text_len, a->lang, err, sizeof err);
    }
    if (st == DHATU_OK && (idbuf_push(&w->ids, a->id, a->id_len) ||
                           idbuf_push(&w->meta, a->lang, a->lang ? strlen(a->lang) : 0) ||
                           idbuf_push(&w->meta, a->source, a->source_len)))
        st = DHATU_ERR_NOMEM;
    if (st == DHATU_OK) {
        w->rec_msg[dhatu_batch_count(w->batch) - 1] = i;
    } else if (st == DHATU_ERR_TOO_LARGE) {
        deliver_dead_letter(c, m, w->tokens[i], DL_TOO_LARGE, err, NULL);
    } else if (st == DHATU_ERR_NOMEM) {
        log_error(&c->engine_log, "out of memory adding an article to a batch");
        outcome_fail(&c->fatal, EXIT_FATAL);
    } else {
        deliver_dead_letter(c, m, w->tokens[i], DL_INVALID_FOR_MODEL, err, NULL);
    }
}

/* The registry's counters into the stats (the engine thread owns the client). */
static void registry_stats(consumer *c)
{
    registry_counts k;
    if (!c->st.reg) return;
    registry_get_counts(c->st.reg, &k);
    atomic_store(&c->stats.registry_requests, k.requests);
    atomic_store(&c->stats.registry_failures, k.failures);
    atomic_store(&c->stats.registry_cache_hits, k.cache_hits);
}

/* The codec's lookup: the registry's answers as the codec's statuses. A
 * refusal (401, 403) is treated as unavailable, not as the message's
 * fault: dead-lettering every message of a misconfigured consumer would be
 * worse than waiting while the log says why. */
static schema_status lookup(void *ctx, uint32_t id, const char **json, size_t *len, char *err, size_t en)
{
    consumer *c = ctx;
    uint64_t failures = atomic_load(&c->stats.registry_failures);
    schema_status st = registry_codec_lookup(c->st.reg, id, json, len, err, en);
    registry_stats(c);
    /* A refusal is not counted as a transient failure: say it loudly. */
    if (st == SCHEMA_ERR_UNAVAILABLE && atomic_load(&c->stats.registry_failures) == failures)
        log_error(&c->engine_log, "%s", err);
    return st;
}

/* Sleeps ms in steps, returning early on a signal or a fatal error. */
static int wait_unless_stopping(consumer *c, int64_t ms)
{
    for (int64_t end = clk_now_ms() + ms; clk_now_ms() < end;) {
        if (*c->stop || atomic_load(&c->fatal)) return -1;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return *c->stop || atomic_load(&c->fatal) ? -1 : 0;
}

/* Decodes m, waiting while the registry does not answer: its message is
 * neither processed nor dead-lettered, so nothing after it is
 * acknowledged on its partition and nothing is lost. The engine counts as
 * idle while it waits (/health stays up: a restart would not bring the
 * registry back), and registry_waiting says why the group does not move.
 * On a signal it gives up: SCHEMA_ERR_UNAVAILABLE, the offset stays
 * uncommitted and the message is redone by the next owner. */
static schema_status decode(consumer *c, rd_kafka_message_t *m, schema_article *a, char *err, size_t en)
{
    schema_status f = schema_codec_decode_article(c->st.codec, m->payload, m->len, a, err, en);
    int64_t delay = 250;
    while (f == SCHEMA_ERR_UNAVAILABLE) {
        if (!atomic_load(&c->stats.registry_waiting)) {
            log_warn(&c->engine_log, "%s [%" PRId32 "] @%" PRId64 ": %s; waiting for the registry", 
                     rd_kafka_topic_name(m->rkt), m->partition, m->offset, err);
            atomic_store(&c->stats.registry_waiting, 1);
        }
        int64_t busy = atomic_exchange(&c->stats.engine_busy_since_ms, 0);
        int stopping = wait_unless_stopping(c, delay);
        atomic_store(&c->stats.engine_busy_since_ms, busy ? clk_now_ms() : 0);
        if (stopping) return f;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
        f = schema_codec_decode_article(c->st.codec, m->payload, m->len, a, err, en);
    }
    if (atomic_exchange(&c->stats.registry_waiting, 0))
        log_info(&c->engine_log, "the registry answers again; resuming");
    return f;
}

static void process(consumer *c, work *w)
{
    char err[512];
    int64_t decode_ns = 0, t = clk_now_ns();
    for (size_t i = 0; i < w->n && !atomic_load(&c->fatal); i++) {
        rd_kafka_message_t *m = w->msgs[i];
        schema_article a;
        schema_status f = decode(c, m, &a, err, sizeof err);
        if (f == SCHEMA_ERR_UNAVAILABLE) {
            /* Stopping while the registry is away: this message and the rest
             * of the work stay unacknowledged (redone after a restart). */
            log_warn(&c->engine_log, "stopping while the registry does not answer: %zu message(s) left "
                     "unprocessed, to be redone", w->n - i);
            break;
        }
        if (f == SCHEMA_ERR_NOMEM) {
            log_error(&c->engine_log, "out of memory decoding %s [%" PRId32 "] @%" PRId64,
                      rd_kafka_topic_name(m->rkt), m->partition, m->offset);
            outcome_fail(&c->fatal, EXIT_FATAL);
            break;
        }
        if (f != SCHEMA_OK) {
            deliver_dead_letter(c, m, w->tokens[i], f, err, NULL);
            continue;
        }
        add_article(c, w, i, &a, &decode_ns, &t);
        schema_article_clear(&a);
    }
    decode_ns += clk_now_ns() - t;
    metrics_hist_observe(&c->stats.stage[0], (uint64_t)decode_ns);
    submit_batch(c, w);
}

/* Takes the first work of a queue (under s->mu). */
static work *pop(work **head, work **tail)
{
    work *w = *head;
    if (w && !(*head = w->next)) *tail = NULL;
    return w;
}

static void push(work **head, work **tail, work *w)
{
    w->next = NULL;
    if (*tail) (*tail)->next = w;
    else *head = w;
    *tail = w;
}

static void *engine_main(void *arg)
{
    consumer *c = arg;
    stage *s = &c->st;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->queue_head && !s->stop) pthread_cond_wait(&s->cv_work, &s->mu);
        work *w = pop(&s->queue_head, &s->queue_tail);
        if (!w) break;
        pthread_mutex_unlock(&s->mu);
        atomic_store(&c->stats.engine_busy_since_ms, clk_now_ms());
        process(c, w);
        atomic_store(&c->stats.engine_busy_since_ms, 0);
        pthread_mutex_lock(&s->mu);
        push(&s->done_head, &s->done_tail, w);
        pthread_cond_signal(&s->cv_done);
    }
    s->engine_exited = 1;
    pthread_cond_signal(&s->cv_done);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Encodes and produces each vectorized work in turn, then returns it. */
static void *encoder_main(void *arg)
{
    consumer *c = arg;
    stage *s = &c->st;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->done_head && !s->engine_exited) pthread_cond_wait(&s->cv_done, &s->mu);
        work *w = pop(&s->done_head, &s->done_tail);
        if (!w) break;
        s->encoder_busy = 1;
        pthread_mutex_unlock(&s->mu);
        atomic_store(&c->stats.encoder_busy_since_ms, clk_now_ms());
        complete_batch(c, w);       /* a device that hangs shows as a busy encoder in /health */
        encode_records(c, w);
        /* A share group's messages belong to their poll batch (share.c). */
        for (size_t i = 0; i < w->n && !c->share; i++) rd_kafka_message_destroy(w->msgs[i]);
        w->n = 0;
        w->bytes = 0;
        atomic_store(&c->stats.encoder_busy_since_ms, 0);
        pthread_mutex_lock(&s->mu);
        s->encoder_busy = 0;
        w->next = s->free_list;
        s->free_list = w;
        s->in_flight--;
        pthread_cond_broadcast(&s->cv_idle);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int stage_in_flight(consumer *c)
{
    pthread_mutex_lock(&c->st.mu);
    int n = c->st.in_flight;
    pthread_mutex_unlock(&c->st.mu);
    return n;
}

void stage_submit(consumer *c)
{
    stage *s = &c->st;
    work *w = s->filling;
    if (!w || w->n == 0) return;
    pthread_mutex_lock(&s->mu);
    push(&s->queue_head, &s->queue_tail, w);
    s->in_flight++;
    s->filling = s->free_list;      /* there are max_in_flight + 1 works */
    s->free_list = s->filling ? s->filling->next : NULL;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    if (s->filling) s->filling->n = 0, s->filling->bytes = 0;
}

work *stage_filling(consumer *c)
{
    stage *s = &c->st;
    if (s->filling) return s->filling;
    pthread_mutex_lock(&s->mu);
    s->filling = s->free_list;
    if (s->filling) {
        s->free_list = s->filling->next;
        s->filling->n = 0;
        s->filling->bytes = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return s->filling;
}

void stage_take(consumer *c, work *w, rd_kafka_message_t *m, uint64_t token)
{
    if (w->n == 0) w->opened_ms = clk_now_ms();
    if (!c->stats.first_msg_ms) c->stats.first_msg_ms = clk_now_ms();
    w->msgs[w->n] = m;
    w->tokens[w->n] = token;
    w->n++;
    w->bytes += m->len;
    atomic_fetch_add(&c->stats.consumed, 1);
    atomic_fetch_add(&c->stats.in_bytes, m->len);
}

void stage_drop_filling(consumer *c)
{
    work *w = c->st.filling;
    if (!w) return;
    for (size_t i = 0; i < w->n && !c->share; i++) rd_kafka_message_destroy(w->msgs[i]);
    w->n = 0;
    w->bytes = 0;
}

static void work_free(work *w)
{
    if (!w) return;
    free(w->msgs);
    free(w->tokens);
    free(w->records);
    free(w->rec_msg);
    idbuf_free(&w->ids);
    idbuf_free(&w->meta);
    dhatu_batch_destroy(w->batch);
    free(w);
}

static work *work_new(dhatu_engine *e, size_t n)
{
    work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    char msg[256];
    if (!(w->msgs = calloc(n, sizeof *w->msgs)) || !(w->tokens = calloc(n, sizeof *w->tokens)) ||
        !(w->records = calloc(n, sizeof *w->records)) || !(w->rec_msg = calloc(n, sizeof *w->rec_msg)) ||
        idbuf_init(&w->ids, n) || idbuf_init(&w->meta, 2 * n) || dhatu_batch_create(e, &w->batch, msg, sizeof msg)) {
        work_free(w);
        return NULL;
    }
    return w;
}

int stage_init(consumer *c, char *err, size_t en)
{
    stage *s = &c->st;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_done, NULL);
    pthread_cond_init(&s->cv_idle, NULL);
    dhatu_config ec;
    dhatu_config_init(&ec);
    ec.backend = c->cfg.backend;
    ec.model = c->cfg.model;
    ec.lexicon_path = *c->cfg.lexicon ? c->cfg.lexicon : NULL;
    ec.threads = (int)c->cfg.threads;
    ec.device_index = (int)c->cfg.device;
    ec.platform_index = (int)c->cfg.platform;
    ec.device_type = c->cfg.device_type;
    ec.device_memory = (size_t)c->cfg.device_memory;
    ec.max_article_bytes = (size_t)c->cfg.max_article_bytes;
    ec.batch_max_articles = (size_t)c->cfg.batch_articles;
    /* Each work holds an engine batch (pinned memory on a GPU): text room
     * for batch.max_bytes, or one article of the largest size; a work with
     * more text is flushed in parts (flush_part). */
    ec.batch_max_bytes = (size_t)c->cfg.batch_bytes;
    /* One ticket per work that can be with the engine or the encoder. */
    ec.max_in_flight = (int)c->cfg.max_in_flight;
    ec.profile = (int)c->cfg.profile;
    char msg[512];
    if (dhatu_engine_create(&ec, &s->engine, msg, sizeof msg)) {
        snprintf(err, en, "engine: %s", msg);
        return -1;
    }
    if (schema_codec_create(&s->codec, err, en) || schema_codec_create(&s->enc, err, en)) return -1;
    if (*c->cfg.registry_url) {
        registry_config rc = { .url = c->cfg.registry_url, .ca_file = c->cfg.registry_ca,
                               .user = c->cfg.registry_user, .password = c->cfg.registry_password,
                               .timeout_ms = c->cfg.registry_timeout_ms };
        char msg2[512];
        if (registry_create(&s->reg, &rc, msg2, sizeof msg2)) {
            snprintf(err, en, "registry: %s", msg2);
            return -1;
        }
        schema_codec_set_lookup(s->codec, lookup, c);
    }
    size_t n = (size_t)c->cfg.batch_articles;
    int bad = 0;
    /* max_in_flight batches with the engine or the encoder plus the one
     * filling. A batch's text is allocated at its capacity but touched only
     * as far as it is filled. */
    for (int64_t i = 0; !bad && i <= c->cfg.max_in_flight; i++) {
        work *w = work_new(s->engine, n);
        if (!w) bad = 1;
        else w->next = s->free_list, s->free_list = w;
    }
    if (bad) {
        snprintf(err, en, "out of memory");
        return -1;
    }
    s->filling = s->free_list;
    s->free_list = s->filling->next;
    return 0;
}

int stage_register_output(consumer *c, char *errstr, size_t n)
{
    if (!c->cfg.registry_output) return 0;
    char subject[512], err[512];
    if (!strcmp(c->cfg.registry_strategy, "record"))
        snprintf(subject, sizeof subject, "org.dhatu.DhatuRecord");
    else
        snprintf(subject, sizeof subject, "%s-value", c->cfg.output);
    uint32_t id = 0;
    int64_t delay = 250;
    for (int warned = 0;;) {
        registry_status st = registry_register(c->st.reg, subject, schema_record_avsc_text, &id, err, sizeof err);
        registry_stats(c);
        if (st == REGISTRY_OK) break;
        if (st != REGISTRY_UNAVAILABLE) {
            snprintf(errstr, n, "%s", err);
            return -1;
        }
        /* Progress, not an error: the caller hears only of the outcome. */
        if (!warned++) log_warn(&c->log, "%s; waiting for the registry", err);
        if (wait_unless_stopping(c, delay)) {
            snprintf(errstr, n, "stopped before the registry answered");
            return -1;
        }
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    schema_codec_set_registry_ids(c->st.enc, 0, id);
    log_info(&c->log, "records framed with registry schema id %u (subject %s)", id, subject);
    return 0;
}

int stage_start(consumer *c)
{
    stage *s = &c->st;
    if (pthread_create(&s->thread, NULL, engine_main, c)) return -1;
    pthread_setname_np(s->thread, "dhatu:engine");   /* top -H, perf and gdb say which thread is which */
    s->started = 1;
    if (pthread_create(&s->encoder, NULL, encoder_main, c)) return -1;
    pthread_setname_np(s->encoder, "dhatu:encoder");
    s->started = 2;
    return 0;
}

/* The engine thread finishes the queue and exits; the encoder then
 * finishes what the engine passed on and exits too. */
void stage_stop(consumer *c)
{
    stage *s = &c->st;
    if (!s->started) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->started == 2) pthread_join(s->encoder, NULL);
    s->started = 0;
}

void stage_free(consumer *c)
{
    stage *s = &c->st;
    for (work *w = s->free_list, *next; w; w = next) {
        next = w->next;
        work_free(w);
    }
    work_free(s->filling);
    dbuf_free(&s->out);
    schema_codec_destroy(s->codec);
    schema_codec_destroy(s->enc);
    registry_destroy(s->reg);
    dhatu_engine_destroy(s->engine);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_done);
    pthread_cond_destroy(&s->cv_idle);
    pthread_mutex_destroy(&s->mu);
}

int stage_wait_idle(consumer *c, int64_t deadline)
{
    while (stage_in_flight(c) > 0) {
        if (clk_now_ms() > deadline) return -1;
        deliver_serve(c, 5);
    }
    return 0;
}

work *stage_current(consumer *c) { return c->st.filling; }
dhatu_engine *stage_engine(consumer *c) { return c->st.engine; }
registry *stage_registry(consumer *c) { return c->st.reg; }
