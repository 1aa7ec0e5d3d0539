/* dhatu.h -- the dhātu batch engine: articles in, dhātu records out.
 *
 * Purpose
 *   Turns batches of articles into dhātu records with one of two models
 *   ("seed": the research prototype's SHA-256 formula, bit for bit; "lexicon":
 *   counts of cue terms, see docs/LEXICON.md) on one of several backends
 *   ("cpu-ref", the plain oracle; "cpu", all cores; GPU backends where built;
 *   "auto", the best that works here).
 *
 * Ownership
 *   Every object comes from a *_create function and goes back through the
 *   matching *_destroy, which accepts NULL. The caller owns batches and record
 *   arrays; the engine keeps no pointer into them once a call returns, except
 *   those of a submitted ticket, until it completes. To stop with batches
 *   in flight: dhatu_engine_cancel, then destroy the batches (never while
 *   a ticket holds them), then the engine. dhatu_engine_destroy also waits
 *   for a batch running and drops queued ones, as a last resort.
 *   Strings returned by accessors are borrowed until the engine is destroyed.
 *
 * Threading
 *   One engine serves one thread at a time, except for the asynchronous
 *   calls (dhatu_engine_submit, _poll, _wait, _in_flight), which any threads
 *   may make at once; each ticket is polled or waited by one thread. A batch
 *   may be filled, reset or destroyed only while it is not in flight.
 *   Distinct engines are independent. Batches run on the engine's own
 *   dispatcher thread, one at a time, in the order they were submitted (the
 *   "cpu" backend spreads each over its worker threads, a GPU backend over
 *   its device slots and streams); dhatu_engine_vectorize is submit and
 *   wait.
 *
 * Asynchronous use
 *   dhatu_engine_submit hands over a batch and its record array and returns
 *   a ticket at once; both stay borrowed by the engine until the ticket
 *   completes (dhatu_engine_poll says it has, or dhatu_engine_wait returns).
 *   At most cfg.max_in_flight tickets are outstanding: a submit beyond that
 *   returns DHATU_ERR_BUSY. A failed batch fails its own ticket (its status
 *   and message come back from poll or wait); the engine and the other
 *   tickets go on. Completing a ticket releases it: a second poll or wait of
 *   it is DHATU_ERR_ARG. The host fills the next batch meanwhile, which is
 *   what keeps a device busy.
 *
 * Errors
 *   Functions return a dhatu_status (DHATU_OK == 0) and, on error, write a
 *   NUL-terminated message into the caller's errstr buffer (errstr may be
 *   NULL). Nothing in this library prints, aborts or exits.
 *
 * Memory
 *   Bounded by configuration: a batch holds at most batch_max_articles
 *   articles and max(batch_max_bytes, max_article_bytes) bytes of text;
 *   dhatu_engine_vectorize allocates nothing per article.
 *
 * Usage
 *   dhatu_config cfg;
 *   dhatu_config_init(&cfg);
 *   cfg.model = "lexicon";
 *   dhatu_engine *e;  dhatu_batch *b;  char err[256];
 *   if (dhatu_engine_create(&cfg, &e, err, sizeof err)) { report(err); }
 *   dhatu_batch_create(e, &b, err, sizeof err);
 *   dhatu_batch_add(b, title, tlen, text, len, "en", err, sizeof err);
 *   dhatu_record *out = malloc(dhatu_batch_count(b) * sizeof *out);
 *   dhatu_engine_vectorize(e, b, out, err, sizeof err);
 *   dhatu_batch_destroy(b);  dhatu_engine_destroy(e);
 */
#ifndef DHATU_H
#define DHATU_H

#include <stddef.h>
#include <stdint.h>
#include "dhatu_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dhatu_status {
    DHATU_OK = 0,
    DHATU_ERR_ARG,         /* a bad argument or configuration value */
    DHATU_ERR_NOMEM,       /* an allocation failed */
    DHATU_ERR_TOO_LARGE,   /* the article exceeds max_article_bytes */
    DHATU_ERR_FULL,        /* the batch has no room left for this article */
    DHATU_ERR_UNAVAILABLE, /* backend not built in, or no usable device */
    DHATU_ERR_LEXICON,     /* the lexicon file is unreadable or invalid */
    DHATU_ERR_DEVICE,      /* a device or runtime (OpenSSL, GPU) call failed */
    DHATU_ERR_INTERNAL,    /* a bug: an invariant of the engine broke */
    DHATU_ERR_BUSY,        /* submit: max_in_flight tickets are outstanding; complete one first */
    DHATU_ERR_PENDING,     /* poll: the ticket has not completed yet */
    DHATU_ERR_CANCELLED    /* the ticket's batch never ran: dhatu_engine_cancel or destroy */
} dhatu_status;


/* Engine configuration. Fill with dhatu_config_init, then set what differs.
 * Strings are borrowed for the duration of dhatu_engine_create only. */
typedef struct dhatu_config {
    const char *backend;        /* "cpu-ref", "cpu", "opencl", "cuda", "auto"; default "cpu" */
    const char *model;          /* "seed" or "lexicon"; default "lexicon" */
    const char *lexicon_path;   /* NULL: the built-in lexicon (data/lexicon.txt) */
    size_t max_article_bytes;   /* analysed text limit; default 16 MiB */
    size_t batch_max_articles;  /* batch capacity in articles; default 4096 */
    size_t batch_max_bytes;     /* batch capacity in text bytes; default 32 MiB */
    int threads;                /* "cpu" workers; 0 = every online core */
    int device_index;           /* GPU backends: which device (of device_type, counted across
                                   platforms); -1 = the first, GPUs before other kinds */
    int platform_index;         /* opencl: only this platform; -1 = any */
    const char *device_type;    /* opencl: "gpu", "accelerator", "cpu" or "any" (default) */
    size_t device_memory;       /* GPU backends: device bytes for batches in flight;
                                   0 = a quarter of the device's memory (as needed) */
    int profile;                /* GPU backends: time copies and kernels on the device
                                   (dhatu_engine_device_times); costs a little; default 0 */
    int max_in_flight;          /* asynchronous tickets outstanding at most; default 4, 1..64 */
} dhatu_config;

/* A submitted batch (dhatu_engine_submit); never 0. */
typedef uint64_t dhatu_ticket;

typedef struct dhatu_engine dhatu_engine;
typedef struct dhatu_batch dhatu_batch;

/* Fills *cfg with the defaults above. Can't fail. */
void dhatu_config_init(dhatu_config *cfg);

/* Creates an engine: loads and compiles the lexicon (lexicon model), starts
 * the backend. Returns DHATU_OK and sets *out, or an error with *out = NULL:
 * DHATU_ERR_ARG (unknown model or backend name, zero limits),
 * DHATU_ERR_UNAVAILABLE (backend not built or no device), DHATU_ERR_LEXICON
 * (with file:line: reason), DHATU_ERR_NOMEM. */
dhatu_status dhatu_engine_create(const dhatu_config *cfg, dhatu_engine **out,
                                 char *errstr, size_t errstr_size);

/* Stops the backend and frees everything. Accepts NULL. */
void dhatu_engine_destroy(dhatu_engine *e);

/* Vectorizes every article of b into out[0 .. dhatu_batch_count(b)-1].
 * out is caller-owned. b must come from this engine. On error the content
 * of out is unspecified and the engine stays usable. An empty batch is a
 * no-op that succeeds. */
dhatu_status dhatu_engine_vectorize(dhatu_engine *e, const dhatu_batch *b,
                                    dhatu_record *out,
                                    char *errstr, size_t errstr_size);

/* Queues b for vectorizing into out[0 .. dhatu_batch_count(b)-1] and sets
 * *ticket. b and out stay borrowed until the ticket completes. Returns at
 * once: DHATU_OK, DHATU_ERR_BUSY (max_in_flight outstanding; nothing was
 * queued), DHATU_ERR_ARG (NULL arguments, a batch of another engine). */
dhatu_status dhatu_engine_submit(dhatu_engine *e, const dhatu_batch *b, dhatu_record *out,
                                 dhatu_ticket *ticket, char *errstr, size_t errstr_size);
/* Whether the ticket completed: DHATU_ERR_PENDING if not (the ticket stays
 * outstanding), else the batch's own status, with its message, and the
 * ticket is released. DHATU_ERR_ARG for a ticket not outstanding. */
dhatu_status dhatu_engine_poll(dhatu_engine *e, dhatu_ticket ticket, char *errstr, size_t errstr_size);
/* Waits for the ticket to complete, then as dhatu_engine_poll. */
dhatu_status dhatu_engine_wait(dhatu_engine *e, dhatu_ticket ticket, char *errstr, size_t errstr_size);
/* Shutdown with batches in flight: every queued ticket completes at once
 * with DHATU_ERR_CANCELLED, and the call returns once the batch running (if
 * any) is done. Every ticket is then complete (collect them with poll or
 * wait), so batches can be destroyed, then the engine. The engine stays
 * usable. Returns the number of tickets cancelled. */
int dhatu_engine_cancel(dhatu_engine *e);
/* Tickets outstanding: queued, running, or completed and not yet collected. */
int dhatu_engine_in_flight(const dhatu_engine *e);
/* What a GPU backend holds, in bytes: device buffers of its slots, device
 * tables (lexicon, constants), and pinned host memory of batches. All 0 on
 * the CPU backends. Can't fail. */
void dhatu_engine_device_memory(const dhatu_engine *e, size_t *slots, size_t *tables, size_t *pinned);

/* The backend actually running ("cpu" when "auto" chose it). Can't fail. */
const char *dhatu_engine_backend(const dhatu_engine *e);
/* One line on the backend: threads or device, and for "auto" why it was
 * chosen. Can't fail. */
const char *dhatu_engine_describe(const dhatu_engine *e);
/* Device time spent since the engine was created, in seconds, summed over
 * chunks: copies to the device, kernels, copies back. All 0 unless the
 * backend is a GPU one and cfg.profile was set. Can't fail. */
void dhatu_engine_device_times(const dhatu_engine *e, double *copy_in_s, double *compute_s, double *copy_out_s);
/* Model name and version as records carry it, e.g. "lexicon-1". Can't fail. */
const char *dhatu_engine_model_id(const dhatu_engine *e);
/* The effective configuration (defaults applied). Can't fail. */
const dhatu_config *dhatu_engine_config(const dhatu_engine *e);

/* Creates an empty batch sized from the engine's configuration (host memory
 * that GPU backends can copy from directly). Free with dhatu_batch_destroy,
 * before the engine: a GPU backend owns the pinned memory behind it. */
dhatu_status dhatu_batch_create(dhatu_engine *e, dhatu_batch **out,
                                char *errstr, size_t errstr_size);
void dhatu_batch_destroy(dhatu_batch *b);  /* accepts NULL */
void dhatu_batch_reset(dhatu_batch *b);    /* empties the batch; can't fail */
size_t dhatu_batch_count(const dhatu_batch *b);
size_t dhatu_batch_bytes(const dhatu_batch *b);

/* Appends one article. The analysed text is title + " " + text when title is
 * not NULL (an empty title counts as present, as in the prototype), else
 * text. lang is a BCP 47 tag or NULL (see docs/LEXICON.md for the filter).
 * Bytes are copied; the text may hold any bytes, NUL and invalid UTF-8
 * included. Errors leave the batch unchanged:
 *   DHATU_ERR_TOO_LARGE  analysed text over max_article_bytes (never truncated);
 *   DHATU_ERR_FULL       no room: vectorize and reset, then add again. */
dhatu_status dhatu_batch_add(dhatu_batch *b, const char *title, size_t title_len,
                             const char *text, size_t text_len, const char *lang,
                             char *errstr, size_t errstr_size);

/* The backends compiled into this build, NULL-terminated ("auto" excluded). */
const char *const *dhatu_backend_names(void);
/* A static description of a status code. Can't fail. */
const char *dhatu_status_str(dhatu_status s);
/* The Unicode version of the tokenizer's character data, e.g. "14.0.0". */
const char *dhatu_unicode_version(void);

#ifdef __cplusplus
}
#endif
#endif /* DHATU_H */
