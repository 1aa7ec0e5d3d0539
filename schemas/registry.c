/* registry.c -- the schema registry client (registry.h), over libcurl. */
#define _DEFAULT_SOURCE /* usleep */
#include "registry.h"
#include "dbuf.h"
#include "errmsg.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct entry {
    uint32_t id;
    char *subject;      /* NULL: an id lookup; else a registered subject's schema */
    char *schema;
} entry;

struct registry {
    CURL *curl;
    char *url, *ca_file, *user, *password;
    long timeout_ms, backoff_ms;
    int retries;
    size_t cache_max, n;
    entry *cache;
    dbuf body;          /* the last response */
    registry_counts counts;
};

const char *registry_status_name(registry_status s)
{
    static const char *const names[] = { "ok", "not-found", "unavailable", "refused", "bad-response", "out-of-memory" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static registry_status fail(char *errstr, size_t n, registry_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static registry_status fail(char *errstr, size_t n, registry_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errmsg_v(errstr, n, fmt, ap);
    va_end(ap);
    return st;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

registry_status registry_create(registry **out, const registry_config *cfg, char *errstr, size_t n)
{
    *out = NULL;
    if (!cfg->url || !*cfg->url) return fail(errstr, n, REGISTRY_REFUSED, "no registry URL");
    if (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8))
        return fail(errstr, n, REGISTRY_REFUSED, "registry URL \"%s\": expected http:// or https://", cfg->url);
    if (cfg->ca_file && *cfg->ca_file && access(cfg->ca_file, R_OK))
        return fail(errstr, n, REGISTRY_REFUSED, "registry CA file %s cannot be read", cfg->ca_file);
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return fail(errstr, n, REGISTRY_NOMEM, "libcurl could not initialise");
    registry *r = calloc(1, sizeof *r);
    if (!r) {
        curl_global_cleanup();
        return fail(errstr, n, REGISTRY_NOMEM, "out of memory");
    }
    size_t ul = strlen(cfg->url);
    while (ul > 0 && cfg->url[ul - 1] == '/') ul--;     /* "base/" and "base" alike */
    r->url = strndup(cfg->url, ul);
    r->ca_file = dup_or_null(cfg->ca_file);
    r->user = dup_or_null(cfg->user);
    r->password = dup_or_null(cfg->password);
    r->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    r->retries = cfg->retries < 0 ? 0 : cfg->retries > 0 ? cfg->retries : 3;
    r->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 200;
    r->cache_max = cfg->cache_max ? cfg->cache_max : 1000;
    r->cache = calloc(r->cache_max, sizeof *r->cache);
    r->curl = curl_easy_init();
    if (!r->url || !r->cache || !r->curl || (cfg->user && *cfg->user && !r->user) ||
        (cfg->password && *cfg->password && !r->password)) {
        registry_destroy(r);
        return fail(errstr, n, REGISTRY_NOMEM, "out of memory");
    }
    *out = r;
    return REGISTRY_OK;
}

static void cache_clear(registry *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->cache[i].subject);
        free(r->cache[i].schema);
    }
    r->n = 0;
}

void registry_destroy(registry *r)
{
    if (!r) return;
    if (r->cache) cache_clear(r);
    free(r->cache);
    if (r->curl) curl_easy_cleanup(r->curl);
    dbuf_free(&r->body);
    free(r->url);
    free(r->ca_file);
    free(r->user);
    if (r->password) memset(r->password, 0, strlen(r->password));
    free(r->password);
    free(r);
    curl_global_cleanup();      /* pairs with registry_create's init (reference-counted) */
}

void registry_get_counts(const registry *r, registry_counts *out)
{
    *out = r->counts;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    dbuf *b = arg;
    return dbuf_append(b, p, size * nmemb) ? 0 : size * nmemb;
}

/* One request with the retries: the status code in *code when the API
 * answered (2xx or a client error), REGISTRY_UNAVAILABLE otherwise. */
static registry_status request(registry *r, const char *path, const char *post, long *code, char *errstr, size_t n)
{
    char url[2048];
    if ((size_t)snprintf(url, sizeof url, "%s%s", r->url, path) >= sizeof url)
        return fail(errstr, n, REGISTRY_REFUSED, "registry URL too long");
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    if (post && hdr) hdr = curl_slist_append(hdr, "Content-Type: application/vnd.schemaregistry.v1+json");
    if (!hdr) return fail(errstr, n, REGISTRY_NOMEM, "out of memory");
    char why[CURL_ERROR_SIZE] = "";
    long delay = r->backoff_ms;
    registry_status st = REGISTRY_UNAVAILABLE;
    for (int attempt = 0; attempt <= r->retries; attempt++) {
        if (attempt) {
            usleep((useconds_t)delay * 1000);
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
        }
        CURL *h = r->curl;
        curl_easy_reset(h);
        dbuf_reset(&r->body);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);          /* threads: no SIGALRM for timeouts */
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, why);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (r->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
        if (r->user) {
            curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(h, CURLOPT_USERNAME, r->user);
            curl_easy_setopt(h, CURLOPT_PASSWORD, r->password ? r->password : "");
        }
        if (post) curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        why[0] = 0;
        CURLcode cc = curl_easy_perform(h);
        if (cc != CURLE_OK) {
            r->counts.failures++;
            /* A certificate the CA does not vouch for will not heal by waiting. */
            if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
                cc == CURLE_SSL_CERTPROBLEM) {
                st = fail(errstr, n, REGISTRY_REFUSED, "registry %s: %s", url, why[0] ? why : curl_easy_strerror(cc));
                break;
            }
            st = fail(errstr, n, REGISTRY_UNAVAILABLE, "registry %s: %s (%d attempt%s)", url,
                      why[0] ? why : curl_easy_strerror(cc), attempt + 1, attempt ? "s" : "");
            continue;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
        if (*code >= 500 || *code == 429) {
            r->counts.failures++;
            st = fail(errstr, n, REGISTRY_UNAVAILABLE, "registry %s: HTTP %ld (%d attempt%s)", url, *code,
                      attempt + 1, attempt ? "s" : "");
            continue;
        }
        r->counts.requests++;
        st = REGISTRY_OK;
        break;
    }
    curl_slist_free_all(hdr);
    return st;
}

/* The API's error answer, for messages: {"error_code": N, "message": "..."}. */
static void api_error(registry *r, long code, const char *what, registry_status st, char *errstr, size_t n)
{
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    fail(errstr, n, st, "registry: %s: HTTP %ld%s%s", what, code, msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

static registry_status remember(registry *r, uint32_t id, const char *subject, const char *schema, size_t len,
                                char *errstr, size_t n)
{
    if (r->n == r->cache_max) cache_clear(r);
    entry *e = &r->cache[r->n];
    e->id = id;
    e->subject = subject ? strdup(subject) : NULL;
    e->schema = strndup(schema, len);
    if ((subject && !e->subject) || !e->schema) {
        free(e->subject);
        free(e->schema);
        return fail(errstr, n, REGISTRY_NOMEM, "out of memory");
    }
    r->n++;
    return REGISTRY_OK;
}

registry_status registry_schema(registry *r, uint32_t id, const char **schema, size_t *len, char *errstr, size_t n)
{
    for (size_t i = 0; i < r->n; i++)
        if (!r->cache[i].subject && r->cache[i].id == id) {
            r->counts.cache_hits++;
            *schema = r->cache[i].schema;
            *len = strlen(*schema);
            return REGISTRY_OK;
        }
    char path[64];
    snprintf(path, sizeof path, "/schemas/ids/%u", id);
    long code = 0;
    char what[48];
    snprintf(what, sizeof what, "schema id %u", id);
    registry_status st = request(r, path, NULL, &code, errstr, n);
    if (st) return st;
    if (code == 404) return api_error(r, code, what, REGISTRY_NOT_FOUND, errstr, n), REGISTRY_NOT_FOUND;
    if (code != 200) return api_error(r, code, what, REGISTRY_REFUSED, errstr, n), REGISTRY_REFUSED;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    const char *s = j ? json_string_value(json_object_get(j, "schema")) : NULL;
    const char *type = j ? json_string_value(json_object_get(j, "schemaType")) : NULL;
    if (!s) {
        json_decref(j);
        return fail(errstr, n, REGISTRY_BAD_RESPONSE, "registry: %s: no \"schema\" in the answer", what);
    }
    if (type && strcmp(type, "AVRO")) {
        /* A Protobuf or JSON Schema id framed as Avro: the registry knows it, we cannot read it. */
        fail(errstr, n, REGISTRY_NOT_FOUND, "registry: %s is a %s schema, not Avro", what, type);
        json_decref(j);     /* type points into j */
        return REGISTRY_NOT_FOUND;
    }
    st = remember(r, id, NULL, s, json_string_length(json_object_get(j, "schema")), errstr, n);
    json_decref(j);
    if (st) return st;
    *schema = r->cache[r->n - 1].schema;
    *len = strlen(*schema);
    return REGISTRY_OK;
}

/* Subjects go into the path: letters, digits and "._-" as they are, the rest
 * percent-encoded (a topic name holds only the former). */
static int encode_subject(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '-';
        if (o + 4 > size) return -1;
        o += plain ? (size_t)snprintf(out + o, size - o, "%c", ch) : (size_t)snprintf(out + o, size - o, "%%%02X", ch);
    }
    out[o] = 0;
    return 0;
}

registry_status registry_register(registry *r, const char *subject, const char *schema, uint32_t *id,
                                  char *errstr, size_t n)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cache[i].subject && !strcmp(r->cache[i].subject, subject) && !strcmp(r->cache[i].schema, schema)) {
            r->counts.cache_hits++;
            *id = r->cache[i].id;
            return REGISTRY_OK;
        }
    char enc[768], path[1024];
    if (encode_subject(subject, enc, sizeof enc))
        return fail(errstr, n, REGISTRY_REFUSED, "subject too long: %s", subject);
    snprintf(path, sizeof path, "/subjects/%s/versions", enc);
    json_t *req = json_pack("{s:s}", "schema", schema);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) return fail(errstr, n, REGISTRY_NOMEM, "out of memory (or a schema that is not UTF-8)");
    long code = 0;
    registry_status st = request(r, path, body, &code, errstr, n);
    free(body);
    if (st) return st;
    char what[640];
    snprintf(what, sizeof what, "registering under subject %s", subject);
    if (code == 404) return api_error(r, code, what, REGISTRY_NOT_FOUND, errstr, n), REGISTRY_NOT_FOUND;
    if (code != 200) return api_error(r, code, what, REGISTRY_REFUSED, errstr, n), REGISTRY_REFUSED;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    json_t *v = j ? json_object_get(j, "id") : NULL;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
        json_decref(j);
        return fail(errstr, n, REGISTRY_BAD_RESPONSE, "registry: %s: no id in the answer", what);
    }
    *id = (uint32_t)json_integer_value(v);
    json_decref(j);
    return remember(r, *id, subject, schema, strlen(schema), errstr, n);
}

static int set_prop(char **dst, const char *v, size_t len)
{
    free(*dst);
    *dst = strndup(v, len);
    return *dst ? 0 : -1;
}

int registry_take_props(char **v, int *n, registry_props *out, char *errstr, size_t en)
{
    static const char prefix[] = "schema.registry.";
    int kept = 0, rc = 0;
    for (int i = 0; i < *n; i++) {
        char *kv = v[i];
        if (rc || strncmp(kv, prefix, sizeof prefix - 1)) {
            v[kept++] = kv;
            continue;
        }
        const char *key = kv + sizeof prefix - 1, *eq = strchr(kv, '='), *val = eq ? eq + 1 : "";
        size_t klen = eq ? (size_t)(eq - key) : strlen(key);
#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(key, k, klen))
        if (KEY("url")) {
            rc = set_prop(&out->url, val, strlen(val));
        } else if (KEY("basic.auth.user.info")) {
            const char *colon = strchr(val, ':');
            rc = !colon ? errmsg(errstr, en, "schema.registry.basic.auth.user.info: expected user:password")
                        : set_prop(&out->user, val, (size_t)(colon - val)) ||
                          set_prop(&out->password, colon + 1, strlen(colon + 1));
        } else if (KEY("ssl.ca.location")) {
            rc = set_prop(&out->ca_file, val, strlen(val));
        } else if (!KEY("basic.auth.credentials.source")) {
            rc = errmsg(errstr, en, "schema.registry.%.*s: not supported (url, basic.auth.user.info and "
                        "ssl.ca.location are)", (int)klen, key);
        }
#undef KEY
        if (rc && errstr && !*errstr) errmsg(errstr, en, "out of memory");
        if (!rc) free(kv);
        else v[kept++] = kv;
    }
    *n = kept;
    return rc ? -1 : 0;
}

void registry_props_free(registry_props *p)
{
    free(p->url);
    free(p->user);
    if (p->password) memset(p->password, 0, strlen(p->password));
    free(p->password);
    free(p->ca_file);
    memset(p, 0, sizeof *p);
}

schema_status registry_codec_lookup(void *ctx, uint32_t id, const char **json, size_t *len, char *errstr, size_t n)
{
    switch (registry_schema(ctx, id, json, len, errstr, n)) {
    case REGISTRY_OK: return SCHEMA_OK;
    case REGISTRY_NOT_FOUND: return SCHEMA_ERR_UNKNOWN_SCHEMA;
    case REGISTRY_NOMEM: return SCHEMA_ERR_NOMEM;
    default: return SCHEMA_ERR_UNAVAILABLE;
    }
}
