/* schema_json.c -- see schema_json.h. */
#include "schema_json.h"
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_err(char *errstr, size_t n, const char *msg, const char *arg)
{
    if (errstr && n) snprintf(errstr, n, "%s%s", msg, arg ? arg : "");
    return -1;
}

void schema_article_clear(schema_article *a)
{
    if (a->doc) json_decref((json_t *)a->doc);
    memset(a, 0, sizeof *a);
}

/* An optional string field: absent or null -> NULL; any other type is an error. */
static int opt_string(json_t *root, const char *key, const char **s, size_t *len,
                      char *errstr, size_t n)
{
    json_t *v = json_object_get(root, key);
    *s = NULL;
    if (len) *len = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        char msg[64];
        snprintf(msg, sizeof msg, "field \"%s\" must be a string or null", key);
        return set_err(errstr, n, msg, NULL);
    }
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return 0;
}

int schema_json_parse_article(const char *buf, size_t len, schema_article *a,
                              char *errstr, size_t n)
{
    memset(a, 0, sizeof *a);
    json_error_t je;
    /* JSON_ALLOW_NUL: a \u0000 in a text is data, not an error. */
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
        return set_err(errstr, n, msg, NULL);
    }
    a->doc = root;
    if (!json_is_object(root)) {
        schema_article_clear(a);
        return set_err(errstr, n, "expected a JSON object", NULL);
    }
    json_t *id = json_object_get(root, "id");
    if (json_is_string(id)) {
        a->id = json_string_value(id);
        a->id_len = json_string_length(id);
    } else if (json_is_integer(id)) {
        snprintf(a->id_buf, sizeof a->id_buf, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        a->id = a->id_buf;
        a->id_len = strlen(a->id_buf);
    } else {
        schema_article_clear(a);
        return set_err(errstr, n, id ? "field \"id\" must be a string or an integer"
                                     : "missing field \"id\"", NULL);
    }
    if (a->id_len == 0) {
        schema_article_clear(a);
        return set_err(errstr, n, "field \"id\" is empty", NULL);
    }
    json_t *text = json_object_get(root, "text");
    if (!json_is_string(text)) {
        schema_article_clear(a);
        return set_err(errstr, n, text ? "field \"text\" must be a string" : "missing field \"text\"", NULL);
    }
    a->text = json_string_value(text);
    a->text_len = json_string_length(text);
    if (opt_string(root, "title", &a->title, &a->title_len, errstr, n) ||
        opt_string(root, "lang", &a->lang, NULL, errstr, n)) {
        schema_article_clear(a);
        return -1;
    }
    return 0;
}

void schema_buf_free(schema_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static json_t *real_array(const double *v, int k)
{
    json_t *a = json_array();
    for (int i = 0; a && i < k; i++)
        if (json_array_append_new(a, json_real(v[i]))) { json_decref(a); return NULL; }
    return a;
}

static json_t *uint_array(const uint32_t *v, int k)
{
    json_t *a = json_array();
    for (int i = 0; a && i < k; i++)
        if (json_array_append_new(a, json_integer(v[i]))) { json_decref(a); return NULL; }
    return a;
}

int schema_json_write_record(const char *id, size_t id_len, const char *model_id,
                             const dhatu_record *r, schema_buf *out, char *errstr, size_t n)
{
    static const char *const pol[3] = { "none", "positive", "negative" };
    json_t *o = json_object();
    json_t *jid = json_stringn(id, id_len);
    if (!jid) { json_decref(o); return set_err(errstr, n, "record id is not valid UTF-8", NULL); }
    json_t *polarity = json_array(), *intensity = json_array();
    for (int i = 0; polarity && intensity && i < DHATU_NDHATU; i++) {
        json_array_append_new(polarity, json_string(pol[r->polarity[i] < 3 ? r->polarity[i] : 0]));
        json_array_append_new(intensity, json_integer(r->intensity[i]));
    }
    int bad = !o;
    bad |= json_object_set_new(o, "id", jid);
    bad |= json_object_set_new(o, "model", json_string(model_id));
    bad |= json_object_set_new(o, "weights", real_array(r->weights, DHATU_NDHATU));
    bad |= json_object_set_new(o, "positive", uint_array(r->positive, DHATU_NDHATU));
    bad |= json_object_set_new(o, "negative", uint_array(r->negative, DHATU_NDHATU));
    bad |= json_object_set_new(o, "tokens", json_integer((json_int_t)r->tokens));
    bad |= json_object_set_new(o, "dominant", r->dominant >= 0 ? json_string(dhatu_name(r->dominant))
                                                               : json_null());
    bad |= json_object_set_new(o, "polarity", polarity);
    bad |= json_object_set_new(o, "intensity", intensity);
    bad |= json_object_set_new(o, "confidence", real_array(r->confidence, DHATU_NDHATU));
    bad |= json_object_set_new(o, "signature", json_integer((json_int_t)r->signature));
    bad |= json_object_set_new(o, "prime_bases", real_array(r->prime_bases, DHATU_NPRIMES));
    bad |= json_object_set_new(o, "ambiguity", json_real(r->ambiguity));
    if (bad) {
        json_decref(o);
        return set_err(errstr, n, "out of memory while building a record", NULL);
    }
    /* Keys in the documented order. 15 significant digits: 0.2 prints as 0.2
     * (17 would print 0.20000000000000001), and the rounding stays below
     * 1e-15 relative, far inside the 1e-6 that backends must agree to. */
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    size_t need = json_dumpb(o, NULL, 0, flags);
    if (need > out->cap) {
        size_t cap = need + 1024;
        char *p = realloc(out->data, cap);
        if (!p) { json_decref(o); return set_err(errstr, n, "out of memory", NULL); }
        out->data = p;
        out->cap = cap;
    }
    out->len = json_dumpb(o, out->data, out->cap, flags);
    json_decref(o);
    return 0;
}
