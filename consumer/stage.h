/* stage.h -- the engine stage (stage.c): the queue of batches from the
 * polling thread to the engine thread (decode, submit to the engine), and
 * from it to the encoder thread (encode, produce), in the order the batches
 * were filled. The stage owns its struct; the others use the functions
 * below. Threads: stage_filling, stage_submit, stage_drop_filling and
 * stage_wait_idle are the polling thread's; the rest says so. Errors: the
 * stage records fatal ones in the consumer (outcome.h) and logs them. */
#ifndef STAGE_H
#define STAGE_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include "dbuf.h"
#include "dhatu.h"
#include "idbuf.h"
#include "registry.h"
#include "schema_avro.h"

typedef struct consumer consumer;

/* One batch of input messages, handed from the polling thread to the
 * engine thread, then to the encoder thread, which returns it; the stage
 * owns the messages from the hand-over until then. Each work has its own
 * engine batch and records, so one can be vectorized while the one before
 * is encoded. */
typedef struct work {
    rd_kafka_message_t **msgs;
    uint64_t *tokens;
    size_t n, bytes;
    int64_t opened_ms;
    struct work *next;
    dhatu_batch *batch;             /* the articles the engine vectorizes */
    dhatu_record *records;          /* ... and their records */
    size_t *rec_msg;                /* record j -> message index */
    idbuf ids;                      /* id of record j */
    idbuf meta;                     /* the article's lang (2j) and source (2j+1) of record j, NULL: none */
    size_t nrec;                    /* records for the encoder (0: the engine failed) */
    dhatu_ticket ticket;            /* with the engine (0: none, or done) */
    int64_t submitted_ns;
    dhatu_status vec_status;        /* the engine's outcome, and its message */
    char vec_err[256];
} work;


/* The engine stage: two queues (under mu) and what each thread owns. */
typedef struct stage {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_idle;
    work *queue_head, *queue_tail;  /* to the engine thread */
    work *done_head, *done_tail;    /* vectorized, to the encoder thread */
    work *free_list;
    int in_flight, stop, engine_exited, encoder_busy;
    int started;                    /* threads running: 0, 1 (engine) or 2 */
    pthread_t thread, encoder;
    work *filling;                  /* polling thread: the batch being filled */
    dhatu_engine *engine;           /* engine thread; its names are read by all */
    schema_codec *codec;            /* engine thread: decoding */
    registry *reg;                  /* engine thread: registry.url set, the writer schemas */
    /* encoder thread (or the engine thread while the encoder is idle, stage.c) */
    schema_codec *enc;              /* encoding; our record's registry id */
    dbuf out;
} stage;


int stage_init(consumer *c, char *errstr, size_t n);     /* engine, codec, buffers, works */
int stage_start(consumer *c);
/* avro-registry output: registers (or finds) the record schema's id, retrying
 * while the registry does not answer (saying so once in the log), until a
 * signal. 0, or -1 with the reason in errstr. */
int stage_register_output(consumer *c, char *errstr, size_t n);
void stage_stop(consumer *c);                            /* joins the engine thread */
void stage_free(consumer *c);
int stage_in_flight(consumer *c);
/* The batch being filled, taking an empty one when none is (NULL: all busy). */
work *stage_filling(consumer *c);
/* Appends message m (its tracking token) to w, the filling batch, which has
 * room; counts it as consumed. The polling thread's side. */
void stage_take(consumer *c, work *w, rd_kafka_message_t *m, uint64_t token);
/* Hands the filling batch (if not empty) to the engine; the caller checked in_flight. */
void stage_submit(consumer *c);
/* The batch being filled, or NULL when none is (never takes one). */
work *stage_current(consumer *c);
/* The engine (NULL before stage_init) and the registry client (NULL
 * without registry.url): borrowed, valid until stage_free. */
dhatu_engine *stage_engine(consumer *c);
registry *stage_registry(consumer *c);
/* Drops the filling batch's messages (after a fatal error or an abort). */
void stage_drop_filling(consumer *c);
/* Waits until the engine and the encoder returned every batch, serving
 * delivery reports meanwhile (the encoder may be waiting for room in the
 * producer's queue). 0, or -1 at the deadline with batches still out. */
int stage_wait_idle(consumer *c, int64_t deadline_ms);

#endif
