/* dhatu_impl.h -- the backend interface: what a backend implements.
 *
 * A backend is a table of functions plus a context. The engine (engine.c)
 * owns the context: it calls init once, vectorize_batch any number of times
 * (never concurrently: always from the engine's dispatcher thread, which
 * also runs the asynchronous tickets of dhatu.h), and free once. Entries marked (optional) may be NULL;
 * the engine checks. Backends never print: errors come back as a status and
 * a message in the caller's buffer, and leave the backend usable.
 */
#ifndef DHATU_IMPL_H
#define DHATU_IMPL_H

#include "dhatu.h"
#include "lexicon.h"

#define DHATU_BACKEND_API_VERSION 1

typedef enum dhatu_model_kind {
    DHATU_MODEL_SEED = 0,
    DHATU_MODEL_LEXICON = 1
} dhatu_model_kind;

/* A batch as backends see it: article i is text[offsets[i] .. offsets[i+1]),
 * filtered by langmask[i] (lexicon model). All borrowed for one call. */
typedef struct dhatu_batch_view {
    size_t n;
    const char *text;
    const uint64_t *offsets;     /* n + 1 entries, offsets[0] == 0 */
    const uint32_t *langmask;    /* n entries */
} dhatu_batch_view;

typedef struct dhatu_backend_params {
    dhatu_model_kind model;
    const dhatu_lexicon *lexicon; /* NULL for the seed model; borrowed for the engine's life */
    const dhatu_config *cfg;      /* effective configuration; borrowed likewise */
    int auto_pick;                /* 1: "auto" is asking; decline (DHATU_ERR_UNAVAILABLE, with
                                     the reason) where another backend would do better */
} dhatu_backend_params;

struct dhatu_backend_i {
    const char *(*get_name)(void);
    /* Sets *ctx. On error frees what it took and returns the status. */
    dhatu_status (*init)(const dhatu_backend_params *p, void **ctx,
                         char *errstr, size_t errstr_size);
    /* Fills out[0 .. b->n-1]. Must not allocate per article. */
    dhatu_status (*vectorize_batch)(void *ctx, const dhatu_batch_view *b, dhatu_record *out,
                                    char *errstr, size_t errstr_size);
    void (*free)(void *ctx);
    /* (optional) One line: threads, device, memory. */
    const char *(*describe)(void *ctx);
    /* (optional) Host memory for batches, e.g. pinned for DMA; NULL on failure. */
    void *(*host_alloc)(void *ctx, size_t size);
    void (*host_free)(void *ctx, void *ptr);
    /* (optional) Device seconds so far: copy-in, kernels, copy-out (profiling on). */
    void (*device_times)(void *ctx, double t[3]);
    /* (optional) Bytes held: device slots, device tables, pinned host memory.
     * Called from any thread while a batch runs: read what init fixed, or atomics. */
    void (*device_memory)(void *ctx, size_t m[3]);
};

typedef struct dhatu_backend {
    const struct dhatu_backend_i *iface;
    void *context;
    int api_version;
} dhatu_backend;

extern const struct dhatu_backend_i dhatu_backend_cpu_ref_i;
extern const struct dhatu_backend_i dhatu_backend_cpu_i;
extern const struct dhatu_backend_i dhatu_backend_opencl_i; /* when DHATU_HAVE_OPENCL */
extern const struct dhatu_backend_i dhatu_backend_cuda_i;   /* when DHATU_HAVE_CUDA */

#endif
