/* record_codec.c -- dhātu records out (Avro single-object or JSON) and back
 * to JSON for tools and tests (schema_avro.h). */
#include "codec.h"
#include "avrobin.h"
#include <string.h>

static int append_doubles(avro_value_t *rec, int idx, const double *x, int k)
{
    avro_value_t arr, e;
    if (avro_value_get_by_index(rec, (size_t)idx, &arr, NULL)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_append(&arr, &e, NULL) || avro_value_set_double(&e, x[i])) return -1;
    return 0;
}

static int append_ints(avro_value_t *rec, int idx, const uint32_t *x32, const uint8_t *x8, int k)
{
    avro_value_t arr, e;
    if (avro_value_get_by_index(rec, (size_t)idx, &arr, NULL)) return -1;
    for (int i = 0; i < k; i++) {
        int32_t v = x32 ? (int32_t)x32[i] : (int32_t)x8[i];
        if (avro_value_append(&arr, &e, NULL) || avro_value_set_int(&e, v)) return -1;
    }
    return 0;
}

schema_status schema_codec_encode_record(schema_codec *c, schema_format fmt, const char *id, size_t id_len,
                                         const char *model_id, const dhatu_record *r,
                                         const schema_lineage *l, dbuf *out, char *errstr, size_t n)
{
    if (fmt == SCHEMA_FMT_JSON)
        return schema_json_write_record(id, id_len, model_id, r, l, out, errstr, n);
    if (!c->avro_c) {
        size_t hdr, model_len = strlen(model_id);
        schema_status st = codec_frame(&c->record, fmt, avrobin_record_bound(id_len, model_len, l), out, &hdr,
                                       errstr, n);
        if (st) return st;
        dbuf_setlen(out, hdr + avrobin_write_record((unsigned char *)out->data + hdr, id, id_len, model_id,
                                                    model_len, r, l));
        return SCHEMA_OK;
    }
    avro_value_t *v = &c->record.value, f, b, lin, arr, e;
    avro_value_reset(v);
    int bad = codec_set_str(v, R_ID, id, id_len) || codec_set_str(v, R_MODEL, model_id, strlen(model_id)) ||
              append_doubles(v, R_WEIGHTS, r->weights, DHATU_NDHATU) ||
              append_ints(v, R_POSITIVE, r->positive, NULL, DHATU_NDHATU) ||
              append_ints(v, R_NEGATIVE, r->negative, NULL, DHATU_NDHATU) ||
              append_ints(v, R_INTENSITY, NULL, r->intensity, DHATU_NDHATU) ||
              append_doubles(v, R_CONFIDENCE, r->confidence, DHATU_NDHATU) ||
              append_doubles(v, R_PRIME_BASES, r->prime_bases, DHATU_NPRIMES);
    bad = bad || avro_value_get_by_index(v, R_TOKENS, &f, NULL) ||
          avro_value_set_long(&f, (int64_t)r->tokens);
    bad = bad || avro_value_get_by_index(v, R_SIGNATURE, &f, NULL) ||
          avro_value_set_long(&f, (int64_t)r->signature);
    bad = bad || avro_value_get_by_index(v, R_AMBIGUITY, &f, NULL) ||
          avro_value_set_double(&f, r->ambiguity);
    bad = bad || avro_value_get_by_index(v, R_DOMINANT, &f, NULL) ||
          (r->dominant >= 0 ? avro_value_set_branch(&f, 1, &b) || avro_value_set_enum(&b, r->dominant)
                            : avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b));
    bad = bad || avro_value_get_by_index(v, R_POLARITY, &arr, NULL);
    for (int i = 0; !bad && i < DHATU_NDHATU; i++)
        bad = avro_value_append(&arr, &e, NULL) ||
              avro_value_set_enum(&e, r->polarity[i] < 3 ? r->polarity[i] : 0);
    bad = bad || avro_value_get_by_index(v, R_LINEAGE, &lin, NULL) ||
          codec_set_str(&lin, L_TOPIC, l->topic, strlen(l->topic)) ||
          codec_set_str(&lin, L_PROCESSOR, l->processor, strlen(l->processor)) ||
          codec_set_str(&lin, L_BACKEND, l->backend, strlen(l->backend)) ||
          codec_set_opt_long(&lin, L_TIMESTAMP, l->timestamp >= 0, l->timestamp);
    bad = bad || avro_value_get_by_index(&lin, L_PARTITION, &f, NULL) ||
          avro_value_set_int(&f, l->partition);
    bad = bad || avro_value_get_by_index(&lin, L_OFFSET, &f, NULL) || avro_value_set_long(&f, l->offset);
    bad = bad || avro_value_get_by_index(&lin, L_PROCESSED_AT, &f, NULL) ||
          avro_value_set_long(&f, l->processed_at);
    bad = bad || codec_set_opt_str(v, R_LANG, l->lang, l->lang_len) ||
          codec_set_opt_str(v, R_SOURCE, l->source, l->source_len);
    if (bad) return schema_error(errstr, n, SCHEMA_ERR_ENCODE, "Avro C: %s", avro_strerror());
    return codec_write(c, &c->record, fmt, out, errstr, n);
}

/* ---- records back to JSON (tools and tests) */

/* The array field idx of rec, required to hold exactly k items. */
static int get_array(avro_value_t *rec, int idx, int k, avro_value_t *arr)
{
    size_t size = 0;
    if (avro_value_get_by_index(rec, (size_t)idx, arr, NULL) || avro_value_get_size(arr, &size)) return -1;
    return size == (size_t)k ? 0 : -1;
}

static int get_doubles(avro_value_t *rec, int idx, double *x, int k)
{
    avro_value_t arr, e;
    if (get_array(rec, idx, k, &arr)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_get_by_index(&arr, (size_t)i, &e, NULL) || avro_value_get_double(&e, &x[i]))
            return -1;
    return 0;
}

/* Ints or enum indexes (polarity). */
static int get_ints(avro_value_t *rec, int idx, int32_t *x, int k)
{
    avro_value_t arr, e;
    if (get_array(rec, idx, k, &arr)) return -1;
    for (int i = 0; i < k; i++)
        if (avro_value_get_by_index(&arr, (size_t)i, &e, NULL)) return -1;
        else if (avro_value_get_type(&e) == AVRO_ENUM ? avro_value_get_enum(&e, (int *)&x[i])
                                                      : avro_value_get_int(&e, &x[i]))
            return -1;
    return 0;
}

schema_status schema_codec_record_to_json(schema_codec *c, const void *vbuf, size_t len, dbuf *out,
                                          char *errstr, size_t n)
{
    const unsigned char *msg = vbuf;
    schema_status st;
    struct avro_type *as = &c->record;
    if (len >= CF_HEADER && msg[0] == 0x00) {         /* Confluent framing */
        st = codec_read_registry_same(c, &c->record, "org.dhatu.DhatuRecord", msg, len, &as, errstr, n);
    } else if (len == 0 || msg[0] != SO_MAGIC0) {     /* JSON records pass through */
        return dbuf_set(out, msg, len) ? schema_error(errstr, n, SCHEMA_ERR_NOMEM, "out of memory") : SCHEMA_OK;
    } else {
        /* Version 2, or a record written with version 1 (no lang, no source). */
        st = codec_read(c, as, "org.dhatu.DhatuRecord", msg, len, errstr, n);
        if (st == SCHEMA_ERR_WRONG_SCHEMA && codec_check_header(&c->record_v1, "", msg, len, NULL, 0) == SCHEMA_OK)
            st = codec_read(c, as = &c->record_v1, "org.dhatu.DhatuRecord", msg, len, errstr, n);
    }
    if (st) return st;
    avro_value_t *v = &as->value, f, b, lin;
    dhatu_record r;
    memset(&r, 0, sizeof r);
    int32_t pos[DHATU_NDHATU], neg[DHATU_NDHATU], inten[DHATU_NDHATU], pol[DHATU_NDHATU];
    const char *id = NULL, *model = NULL;
    size_t id_len = 0;
    int64_t tokens = 0, sig = 0;
    int bad = get_doubles(v, R_WEIGHTS, r.weights, DHATU_NDHATU) ||
              get_doubles(v, R_CONFIDENCE, r.confidence, DHATU_NDHATU) ||
              get_doubles(v, R_PRIME_BASES, r.prime_bases, DHATU_NPRIMES) ||
              get_ints(v, R_POSITIVE, pos, DHATU_NDHATU) || get_ints(v, R_NEGATIVE, neg, DHATU_NDHATU) ||
              get_ints(v, R_INTENSITY, inten, DHATU_NDHATU) || get_ints(v, R_POLARITY, pol, DHATU_NDHATU);
    bad = bad || avro_value_get_by_index(v, R_TOKENS, &f, NULL) || avro_value_get_long(&f, &tokens);
    bad = bad || avro_value_get_by_index(v, R_SIGNATURE, &f, NULL) || avro_value_get_long(&f, &sig);
    bad = bad || avro_value_get_by_index(v, R_AMBIGUITY, &f, NULL) ||
          avro_value_get_double(&f, &r.ambiguity);
    if (bad) return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "record arrays have the wrong length");
    for (int i = 0; i < DHATU_NDHATU; i++) {
        r.positive[i] = (uint32_t)pos[i];
        r.negative[i] = (uint32_t)neg[i];
        r.intensity[i] = (uint8_t)inten[i];
        r.polarity[i] = (uint8_t)pol[i];
    }
    r.tokens = (uint64_t)tokens;
    r.signature = (uint64_t)sig;
    int dom = -1;
    if (codec_opt_branch(v, R_DOMINANT, &b)) avro_value_get_enum(&b, &dom);
    r.dominant = (int8_t)dom;
    avro_value_get_by_index(v, R_ID, &f, NULL);
    codec_get_str(&f, &id, &id_len);
    avro_value_get_by_index(v, R_MODEL, &f, NULL);
    codec_get_str(&f, &model, NULL);
    schema_lineage l = { 0 };
    avro_value_get_by_index(v, R_LINEAGE, &lin, NULL);
    avro_value_get_by_index(&lin, L_TOPIC, &f, NULL);
    codec_get_str(&f, &l.topic, NULL);
    avro_value_get_by_index(&lin, L_PROCESSOR, &f, NULL);
    codec_get_str(&f, &l.processor, NULL);
    avro_value_get_by_index(&lin, L_BACKEND, &f, NULL);
    codec_get_str(&f, &l.backend, NULL);
    avro_value_get_by_index(&lin, L_PARTITION, &f, NULL);
    avro_value_get_int(&f, &l.partition);
    avro_value_get_by_index(&lin, L_OFFSET, &f, NULL);
    avro_value_get_long(&f, &l.offset);
    avro_value_get_by_index(&lin, L_PROCESSED_AT, &f, NULL);
    avro_value_get_long(&f, &l.processed_at);
    l.timestamp = -1;
    if (codec_opt_branch(&lin, L_TIMESTAMP, &b)) avro_value_get_long(&b, &l.timestamp);
    if (as == &c->record) {
        codec_get_opt_str(v, R_LANG, &l.lang, &l.lang_len);
        codec_get_opt_str(v, R_SOURCE, &l.source, &l.source_len);
    }
    if (!id || !model || !l.topic || !l.processor || !l.backend)
        return schema_error(errstr, n, SCHEMA_ERR_UNDECODABLE, "record strings missing");
    return schema_json_write_record(id, id_len, model, &r, &l, out, errstr, n);
}
