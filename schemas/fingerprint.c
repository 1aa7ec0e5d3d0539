/* fingerprint.c -- see fingerprint.h. */
#include "fingerprint.h"
#include <jansson.h>
#include <string.h>

/* ---- CRC-64-AVRO and the Parsing Canonical Form (Avro specification,
 * "Schema Fingerprints" and "Parsing Canonical Form for Schemas"). */

#define CRC64_EMPTY 0xc15d213aa4d7a795ULL

uint64_t schema_avro_crc64(const void *buf, size_t len)
{
    /* The table is 2 KiB computed on each call: fingerprints are taken once
     * per codec, never per message. */
    uint64_t table[256];
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++) fp = (fp >> 1) ^ (CRC64_EMPTY & (0 - (fp & 1)));
        table[i] = fp;
    }
    const unsigned char *p = buf;
    uint64_t fp = CRC64_EMPTY;
    for (size_t i = 0; i < len; i++) fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

static int is_primitive(const char *t)
{
    static const char *const prim[] = { "null", "boolean", "int", "long", "float",
                                        "double", "bytes", "string", NULL };
    for (int i = 0; prim[i]; i++)
        if (!strcmp(t, prim[i])) return 1;
    return 0;
}

/* fullname of a name in a namespace (ns may be NULL or ""). */
static json_t *fullname(const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns) return json_string(name);
    return json_sprintf("%s.%s", ns, name);
}

static json_t *pcf(json_t *s, const char *ns);

static json_t *pcf_named(json_t *s, const char *type, const char *ns)
{
    const char *name = json_string_value(json_object_get(s, "name"));
    if (!name) return NULL;
    const char *own_ns = json_string_value(json_object_get(s, "namespace"));
    json_t *full = fullname(name, own_ns ? own_ns : ns);
    if (!full) return NULL;
    /* The namespace of nested names is the fullname's prefix. */
    char nsbuf[512] = "";
    const char *fn = json_string_value(full), *dot = strrchr(fn, '.');
    if (dot && (size_t)(dot - fn) < sizeof nsbuf) memcpy(nsbuf, fn, (size_t)(dot - fn));
    json_t *o = json_object();
    json_object_set_new(o, "name", full);
    json_object_set_new(o, "type", json_string(type));
    if (!strcmp(type, "record") || !strcmp(type, "error")) {
        json_t *fields = json_object_get(s, "fields"), *out = json_array(), *f;
        size_t i;
        if (!json_is_array(fields)) { json_decref(o); json_decref(out); return NULL; }
        json_array_foreach(fields, i, f) {
            json_t *fo = json_object(), *ft = pcf(json_object_get(f, "type"), nsbuf);
            json_t *fname = json_object_get(f, "name");
            if (!ft || !json_is_string(fname)) {
                json_decref(fo); json_decref(ft); json_decref(o); json_decref(out);
                return NULL;
            }
            json_object_set(fo, "name", fname);
            json_object_set_new(fo, "type", ft);
            json_array_append_new(out, fo);
        }
        json_object_set_new(o, "fields", out);
    } else if (!strcmp(type, "enum")) {
        json_object_set(o, "symbols", json_object_get(s, "symbols"));
    } else if (!strcmp(type, "fixed")) {
        json_object_set(o, "size", json_object_get(s, "size"));
    }
    return o;
}

/* Canonical form of one schema node: primitives become bare names, named
 * types get full names, attributes other than name, type, fields, symbols,
 * items, values and size go, and keys come in that order. */
static json_t *pcf(json_t *s, const char *ns)
{
    if (!s) return NULL;
    if (json_is_string(s)) {
        const char *t = json_string_value(s);
        return is_primitive(t) ? json_string(t) : fullname(t, ns);
    }
    if (json_is_array(s)) {
        json_t *out = json_array(), *b;
        size_t i;
        json_array_foreach(s, i, b) {
            json_t *c = pcf(b, ns);
            if (!c) { json_decref(out); return NULL; }
            json_array_append_new(out, c);
        }
        return out;
    }
    if (!json_is_object(s)) return NULL;
    json_t *type = json_object_get(s, "type");
    if (!json_is_string(type)) return pcf(type, ns);
    const char *t = json_string_value(type);
    if (is_primitive(t)) return json_string(t);
    if (!strcmp(t, "array") || !strcmp(t, "map")) {
        const char *key = t[0] == 'a' ? "items" : "values";
        json_t *inner = pcf(json_object_get(s, key), ns);
        if (!inner) return NULL;
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(t));
        json_object_set_new(o, key, inner);
        return o;
    }
    if (!strcmp(t, "record") || !strcmp(t, "error") || !strcmp(t, "enum") || !strcmp(t, "fixed"))
        return pcf_named(s, t, ns);
    return fullname(t, ns);     /* a reference to a named type */
}

schema_status schema_avro_canonical(const char *schema_json, size_t len, dbuf *out,
                                    char *errstr, size_t n)
{
    json_error_t je;
    json_t *s = json_loadb(schema_json, len, JSON_DECODE_ANY, &je);
    if (!s) return schema_error(errstr, n, SCHEMA_ERR_INVALID, "schema is not JSON: %s", je.text);
    json_t *c = pcf(s, NULL);
    json_decref(s);
    if (!c) return schema_error(errstr, n, SCHEMA_ERR_INVALID, "schema is not a valid Avro schema");
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    size_t need = json_dumpb(c, NULL, 0, flags);
    if (dbuf_reserve(out, need)) { json_decref(c); return schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory"); }
    dbuf_setlen(out, json_dumpb(c, out->data, out->cap, flags));
    json_decref(c);
    return SCHEMA_OK;
}

