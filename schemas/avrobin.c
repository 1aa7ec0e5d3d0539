/* avrobin.c -- Article and DhatuRecord in Avro binary without Avro C (see
 * avrobin.h). The field order is the .avsc files' (codec.c checks it against
 * the parsed schemas when a codec is created). */
#include "avrobin.h"
#include <string.h>

/* ---- reading */

struct rd { const unsigned char *p, *end; };

/* A zig-zag varint of at most 10 bytes, as datum_check.c and Avro C's
 * read_long take it (bits past the 64th are dropped, as they are there). */
static int rd_long(struct rd *r, int64_t *v)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        unsigned char b = *r->p++;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
            return 0;
        }
    }
    return -1;
}

/* A string: its bytes copied to *w and NUL-terminated. */
static int rd_str(struct rd *r, char **w, const char **s, size_t *len)
{
    int64_t n;
    if (rd_long(r, &n) || n < 0 || n > r->end - r->p) return -1;
    memcpy(*w, r->p, (size_t)n);
    (*w)[n] = '\0';
    *s = *w;
    if (len) *len = (size_t)n;
    *w += n + 1;
    r->p += n;
    return 0;
}

/* A ["null", T] union's branch: 0 null, 1 T, -1 corrupt. */
static int rd_branch(struct rd *r)
{
    int64_t b;
    if (rd_long(r, &b) || b < 0 || b > 1) return -1;
    return (int)b;
}

static int rd_opt_str(struct rd *r, char **w, const char **s, size_t *len)
{
    int b = rd_branch(r);
    if (b < 0) return -1;
    return b ? rd_str(r, w, s, len) : 0;
}

schema_status avrobin_read_article(const unsigned char *p, size_t len, dbuf *strings, schema_article *a,
                                   const char **why)
{
    /* Every string is at most its share of the datum, plus its NUL (6). */
    if (dbuf_reserve(strings, len + 8)) {
        *why = "out of memory";
        return SCHEMA_ERR_NOMEM;
    }
    struct rd r = { p, p + len };
    char *w = strings->data;
    int b;
    *why = "datum";
    if (rd_str(&r, &w, &a->id, &a->id_len) || rd_opt_str(&r, &w, &a->title, &a->title_len) ||
        rd_str(&r, &w, &a->text, &a->text_len) || rd_opt_str(&r, &w, &a->lang, NULL) ||
        rd_opt_str(&r, &w, &a->source, &a->source_len) || rd_opt_str(&r, &w, &a->url, &a->url_len) ||
        (b = rd_branch(&r)) < 0 || (b && rd_long(&r, &a->published)))
        return SCHEMA_ERR_UNDECODABLE;
    a->has_published = b;
    if (r.p != r.end) {
        *why = "trailing";
        return SCHEMA_ERR_UNDECODABLE;
    }
    return SCHEMA_OK;
}

/* ---- writing: as Avro C's binary encoding writes the same values */

static unsigned char *wr_long(unsigned char *o, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (u > 0x7f) {
        *o++ = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    *o++ = (unsigned char)u;
    return o;
}

static unsigned char *wr_str(unsigned char *o, const char *s, size_t n)
{
    o = wr_long(o, (int64_t)n);
    memcpy(o, s, n);
    return o + n;
}

static unsigned char *wr_opt_str(unsigned char *o, const char *s, size_t n)
{
    if (!s) return wr_long(o, 0);
    return wr_str(wr_long(o, 1), s, n);
}

/* Little-endian IEEE 754 bits, NaN payloads and -0 included. */
static unsigned char *wr_double(unsigned char *o, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++) o[i] = (unsigned char)(u >> (8 * i));
    return o + 8;
}

/* Arrays as Avro C writes them: one block of k items (none when k is 0),
 * then the 0 that ends the array. */
static unsigned char *wr_doubles(unsigned char *o, const double *x, int k)
{
    o = wr_long(o, k);
    for (int i = 0; i < k; i++) o = wr_double(o, x[i]);
    return wr_long(o, 0);
}

static unsigned char *wr_ints(unsigned char *o, const uint32_t *x32, const uint8_t *x8, int k)
{
    o = wr_long(o, k);
    for (int i = 0; i < k; i++) o = wr_long(o, x32 ? (int32_t)x32[i] : (int32_t)x8[i]);
    return wr_long(o, 0);
}

#define VARINT_MAX 10

size_t avrobin_article_bound(const schema_article *a)
{
    return 7 * VARINT_MAX + 6 * VARINT_MAX + a->id_len + a->title_len + a->text_len +
           (a->lang ? strlen(a->lang) : 0) + a->source_len + a->url_len;
}

size_t avrobin_write_article(unsigned char *out, const schema_article *a)
{
    unsigned char *o = out;
    o = wr_str(o, a->id, a->id_len);
    o = wr_opt_str(o, a->title, a->title_len);
    o = wr_str(o, a->text, a->text_len);
    o = wr_opt_str(o, a->lang, a->lang ? strlen(a->lang) : 0);
    o = wr_opt_str(o, a->source, a->source_len);
    o = wr_opt_str(o, a->url, a->url_len);
    o = wr_long(o, a->has_published ? 1 : 0);
    if (a->has_published) o = wr_long(o, a->published);
    return (size_t)(o - out);
}

size_t avrobin_record_bound(size_t id_len, size_t model_len, const schema_lineage *l)
{
    /* Strings and their lengths; 3 double arrays of 9 and one of 10 (count,
     * items, end); 3 int arrays and polarity of 9; tokens, dominant,
     * signature, ambiguity; the lineage's numbers. Generous by design. */
    size_t fixed = 4 * (2 * VARINT_MAX + 10 * 8) + 4 * (2 * VARINT_MAX + 9 * VARINT_MAX) + 4 * VARINT_MAX + 8 +
                   6 * VARINT_MAX;
    return fixed + 9 * VARINT_MAX + id_len + model_len + strlen(l->topic) + strlen(l->processor) +
           strlen(l->backend) + (l->lang ? l->lang_len : 0) + (l->source ? l->source_len : 0);
}

size_t avrobin_write_record(unsigned char *out, const char *id, size_t id_len, const char *model,
                            size_t model_len, const dhatu_record *r, const schema_lineage *l)
{
    unsigned char *o = out;
    o = wr_str(o, id, id_len);
    o = wr_str(o, model, model_len);
    o = wr_doubles(o, r->weights, DHATU_NDHATU);
    o = wr_ints(o, r->positive, NULL, DHATU_NDHATU);
    o = wr_ints(o, r->negative, NULL, DHATU_NDHATU);
    o = wr_long(o, (int64_t)r->tokens);
    if (r->dominant >= 0) {
        o = wr_long(o, 1);
        o = wr_long(o, r->dominant);
    } else {
        o = wr_long(o, 0);
    }
    o = wr_long(o, DHATU_NDHATU);                       /* polarity: enum indexes */
    for (int i = 0; i < DHATU_NDHATU; i++) o = wr_long(o, r->polarity[i] < 3 ? r->polarity[i] : 0);
    o = wr_long(o, 0);
    o = wr_ints(o, NULL, r->intensity, DHATU_NDHATU);
    o = wr_doubles(o, r->confidence, DHATU_NDHATU);
    o = wr_long(o, (int64_t)r->signature);
    o = wr_doubles(o, r->prime_bases, DHATU_NPRIMES);
    o = wr_double(o, r->ambiguity);
    o = wr_str(o, l->topic, strlen(l->topic));          /* lineage */
    o = wr_long(o, l->partition);
    o = wr_long(o, l->offset);
    if (l->timestamp >= 0) {
        o = wr_long(o, 1);
        o = wr_long(o, l->timestamp);
    } else {
        o = wr_long(o, 0);
    }
    o = wr_long(o, l->processed_at);
    o = wr_str(o, l->processor, strlen(l->processor));
    o = wr_str(o, l->backend, strlen(l->backend));
    o = wr_opt_str(o, l->lang, l->lang_len);            /* version 2 */
    o = wr_opt_str(o, l->source, l->source_len);
    return (size_t)(o - out);
}
