/* registry.h -- a client of a schema registry's Confluent-compatible REST API
 * (Confluent Schema Registry, Apicurio's /apis/ccompat/v6 or v7, Karapace).
 *
 * Two calls: the schema of an id (GET /schemas/ids/{id}) and the id of a
 * subject's schema, registered if new (POST /subjects/{subject}/versions,
 * which the registry answers with the existing id when the schema is
 * already there). libcurl does the HTTP: timeouts, HTTPS with a CA file,
 * basic authentication.
 *
 * Cache: an id never changes meaning in a registry, so a schema once fetched
 * is kept for the client's life, up to cache_max schemas (then the cache
 * is emptied and refills: a bound, not an LRU, since a deployment sees a
 * handful of ids). Registered subjects are cached the same way.
 *
 * Failures are told apart, because the caller acts differently on each:
 * REGISTRY_NOT_FOUND (the registry says the id does not exist: a dead
 * letter, unknown-schema), REGISTRY_UNAVAILABLE (no answer, a timeout, a 5xx
 * or 429 after the retries: wait and try again, never drop a message),
 * REGISTRY_REFUSED (401/403, another 4xx: a configuration error) and
 * REGISTRY_BAD_RESPONSE (an answer we cannot read). Transient failures are
 * retried `retries` times with exponential backoff from backoff_ms before
 * REGISTRY_UNAVAILABLE is returned.
 *
 * Ownership and threads: one client per thread (it owns a curl handle and
 * its cache; no globals of its own; curl_global_init is called once per
 * process by registry_create, thread-safe since libcurl 7.84). A schema
 * text it returns is borrowed until the next call on the same client.
 * Errors: a status and the caller's message buffer (nothing prints).
 */
#ifndef SCHEMA_REGISTRY_H
#define SCHEMA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"

typedef struct registry registry;

typedef enum registry_status {
    REGISTRY_OK = 0,
    REGISTRY_NOT_FOUND,     /* 404: no such id (or subject) */
    REGISTRY_UNAVAILABLE,   /* no answer, timeout, 5xx or 429, after the retries */
    REGISTRY_REFUSED,       /* 401, 403, 409 (incompatible) or another 4xx */
    REGISTRY_BAD_RESPONSE,  /* an answer that is not the API's JSON */
    REGISTRY_NOMEM
} registry_status;

typedef struct registry_config {
    const char *url;        /* base URL, e.g. http://host:8081 or .../apis/ccompat/v6 (required) */
    const char *ca_file;    /* PEM CA bundle for HTTPS; NULL or "": the system's */
    const char *user;       /* basic authentication; NULL or "": none */
    const char *password;
    long timeout_ms;        /* per request (0: 5000) */
    int retries;            /* extra attempts on transient failures (-1: 0; 0: 3) */
    long backoff_ms;        /* first retry delay, doubled each time (0: 200) */
    size_t cache_max;       /* schemas kept (0: 1000) */
} registry_config;

const char *registry_status_name(registry_status s);

/* Copies what it needs of cfg. REGISTRY_NOMEM, or REGISTRY_REFUSED for a
 * configuration libcurl rejects (no URL, a CA file that does not exist). */
registry_status registry_create(registry **out, const registry_config *cfg, char *errstr, size_t errstr_size);
void registry_destroy(registry *r);     /* NULL is fine */

/* The schema text of id (borrowed until the next call on r). */
registry_status registry_schema(registry *r, uint32_t id, const char **schema, size_t *len,
                                char *errstr, size_t errstr_size);

/* The id of schema (JSON text) under subject, registering it if new. */
registry_status registry_register(registry *r, const char *subject, const char *schema, uint32_t *id,
                                  char *errstr, size_t errstr_size);

/* A Kafka client's schema.registry.* properties (what Confluent's
 * serializers read: url, basic.auth.user.info as user:password,
 * ssl.ca.location; basic.auth.credentials.source is accepted and ignored),
 * taken out of an array of "key=value" items (v[0..*n), the taken ones
 * freed and the rest kept in order) so that librdkafka never sees them.
 * -1 with a message for another schema.registry.* key or a malformed value. */
typedef struct registry_props { char *url, *user, *password, *ca_file; } registry_props;
int registry_take_props(char **v, int *n, registry_props *out, char *errstr, size_t errstr_size);
void registry_props_free(registry_props *p);

/* A schema_lookup_fn (schema_avro.h) over a registry passed as ctx: OK,
 * SCHEMA_ERR_UNKNOWN_SCHEMA for an id the registry does not have, and
 * SCHEMA_ERR_UNAVAILABLE for anything else that is not the message's fault
 * (no answer, a refusal such as 401: waiting, not dead-lettering, is right). */
schema_status registry_codec_lookup(void *ctx, uint32_t id, const char **json, size_t *len,
                                    char *errstr, size_t errstr_size);

/* Counters since creation, for metrics: requests that got an answer of
 * the API, transient failures (each attempt), cache hits. */
typedef struct registry_counts {
    uint64_t requests, failures, cache_hits;
} registry_counts;
void registry_get_counts(const registry *r, registry_counts *out);

#endif
