/* content.h -- what the stream says, as metrics: the records a member
 * produced, counted by dominant dhātu, the sum of each dhātu's weight, the
 * polarity of each dhātu, and tokens (dhatu_content_* in /metrics).
 *
 * Cardinality is bounded by design: the labels are the model (one per
 * member), the dhātu (9, plus "none" for a record without evidence) and
 * the polarity (3). A batch's records are summed into a content_batch on
 * the encoder thread's stack, without atomics, and published with one
 * atomic add per series per batch: nothing per record touches shared
 * memory. content_stats is read by the scrape (any thread). Can't fail.
 */
#ifndef CONTENT_H
#define CONTENT_H

#include <stdatomic.h>
#include <stdint.h>
#include "dhatu_record.h"
#include "metrics.h"

#define CONTENT_NONE DHATU_NDHATU           /* dominant index of a record without evidence */
#define CONTENT_WEIGHT_UNIT 1e-6            /* weights are summed in millionths */

typedef struct content_stats {
    atomic_uint_fast64_t dominant[DHATU_NDHATU + 1];
    atomic_uint_fast64_t weight[DHATU_NDHATU];          /* in CONTENT_WEIGHT_UNIT */
    atomic_uint_fast64_t polarity[DHATU_NDHATU][3];     /* none, positive, negative */
    atomic_uint_fast64_t tokens;
} content_stats;

typedef struct content_batch {
    uint64_t dominant[DHATU_NDHATU + 1];
    uint64_t weight[DHATU_NDHATU];
    uint64_t polarity[DHATU_NDHATU][3];
    uint64_t tokens;
} content_batch;

/* Adds one produced record to the batch's sums (b zeroed first by the caller). */
void content_add(content_batch *b, const dhatu_record *r);
/* Adds the batch's sums to s. */
void content_publish(content_stats *s, const content_batch *b);

/* The four families, for the exporter's table (names and help in order:
 * articles, weight, polarity, tokens). */
enum { CONTENT_NFAMILIES = 4 };
extern const char *const content_family_names[CONTENT_NFAMILIES];
extern const char *const content_family_help[CONTENT_NFAMILIES];
/* Every content series of s, labelled with model. */
void content_render(metrics_buf *b, const content_stats *s, const char *model);

#endif
