/* outcome.h -- how a member ends and why a message was set aside: the exit
 * statuses, the first fatal status of a run, and the dead-letter classes.
 *
 * Every module of the consumer reports through these, so this header needs
 * nothing of the consumer's (only the schema statuses, which are the first
 * dead-letter classes); keeping it apart is what lets the modules form
 * layers instead of a circle.
 *
 * Threading: outcome_fail is atomic and may be called from any thread;
 * the class names are static strings. Nothing here can fail.
 */
#ifndef OUTCOME_H
#define OUTCOME_H

#include <stdatomic.h>

#include "schema.h"

/* Exit statuses (docs/DELIVERY.md). */
enum { EXIT_CLEAN = 0, EXIT_CONFIG = 1, EXIT_UNCLEAN = 2, EXIT_FATAL = 3 };

/* Dead-letter classes: the schema statuses that describe a message
 * (schema.h), then the consumer's own. */
enum {
    DL_TOO_LARGE = SCHEMA_NSTATUS, /* over engine.max_article_bytes */
    DL_INVALID_FOR_MODEL,          /* the engine refused the article */
    DL_RECORD_TOO_LARGE,           /* its record is larger than the output topic or producer accept */
    DL_REJECTED,                   /* the broker refused its record for another reason of its own */
    DL_REDELIVERY_LIMIT,           /* share group: delivered more than share.max_deliveries times */
    DL_OTHER,
    DL_NCLASSES
};

/* Records status in *fatal unless a fatal status is already there (the
 * first cause is the one an operator needs; later ones follow from it). */
void outcome_fail(atomic_int *fatal, int status);

/* The label of a dead-letter class ("wrong-schema", "too-large"...), as in
 * the dhatu.dead_letter.class header and the metrics; "other" when cls is
 * none of them. */
const char *outcome_dl_name(int cls);

/* Whether cls is a dead-letter class (out-of-memory, ok, internal and an
 * unavailable registry are not: those messages wait or the member fails). */
int outcome_dl_used(int cls);

#endif
