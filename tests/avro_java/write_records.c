/* write_records.c OUT.hex OUT.jsonl -- records for Java's Apache Avro to
 * read (tests/avro_java/interop.py): 2,000 records as our writer writes
 * them (schema version 2: lang and source each present or null, strings
 * with accents, CJK and emoji, doubles from 0 to 1e300, -0, subnormals),
 * and every fifth one in schema version 1 as a member before 2026-12-07
 * wrote it (version 2's datum less its two null branches, version 1's
 * fingerprint). OUT.hex: one single-object message per line, in hex;
 * OUT.jsonl: each message as our own reader (schema_codec_record_to_json)
 * reads it back, for the driver to compare with Java's reading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema_avro.h"

static uint64_t state = 0x2545F4914F6CDD1DULL;
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double some_double(void)
{
    static const double v[] = { 0.0, -0.0, 1.0, 0.1, 1.0 / 3, 1e300, -1e-300, 4.9e-324, 2.2250738585072014e-308,
                                123456.789, 0.5, 1e-7 };
    return next() % 2 ? v[next() % (sizeof v / sizeof *v)] : (double)(next() % 1000000) / 999983.0;
}

int main(int argc, char **argv)
{
    static const char *const langs[] = { "en", "fr", "und", "zh-Hant", "pt-BR" };
    static const char *const sources[] = { "arxiv", "Le Monde \xc3\xa9\xc3\xa9", "\xe6\x96\xb0\xe8\x81\x9e",
                                           "feed \xf0\x9f\x93\xb0", "" };
    if (argc != 3) {
        fprintf(stderr, "usage: write_records OUT.hex OUT.jsonl\n");
        return 2;
    }
    schema_codec *c;
    char err[256];
    if (schema_codec_create(&c, err, sizeof err)) {
        fprintf(stderr, "codec: %s\n", err);
        return 1;
    }
    FILE *hex = fopen(argv[1], "w"), *js = fopen(argv[2], "w");
    if (!hex || !js) {
        perror("write_records");
        return 1;
    }
    uint64_t fp1 = schema_codec_record_v1_fingerprint(c);
    dbuf out = { 0 }, back = { 0 };
    int status = 0;
    for (int k = 0; k < 2000 && !status; k++) {
        dhatu_record r;
        memset(&r, 0, sizeof r);
        for (int i = 0; i < DHATU_NDHATU; i++) {
            r.weights[i] = some_double();
            r.confidence[i] = some_double();
            r.positive[i] = (uint32_t)(next() % 100000);
            r.negative[i] = (uint32_t)(next() % 7);
            r.polarity[i] = (uint8_t)(next() % 3);
            r.intensity[i] = (uint8_t)(next() % 5);
        }
        for (int i = 0; i < DHATU_NPRIMES; i++) r.prime_bases[i] = some_double() * (double)(next() % 1000);
        r.ambiguity = some_double();
        r.tokens = next() % 5000000;
        r.signature = next() % 196830000000000ULL;
        r.dominant = (int8_t)(next() % 10) - 1;
        int v1 = k % 5 == 4;
        char id[32];
        snprintf(id, sizeof id, "interop-%d", k);
        const char *lang = v1 || next() % 4 == 0 ? NULL : langs[next() % 5];
        const char *src = v1 || next() % 4 == 0 ? NULL : sources[next() % 5];
        schema_lineage l = { "articles-\xc3\xa9t\xc3\xa9", (int32_t)(next() % 64), (int64_t)(next() % 1000000000),
                             next() % 3 ? 1765000000000 + (int64_t)k : -1, 1765000001000 + (int64_t)k,
                             "dhatu-consumer 0.1.0", k % 2 ? "cpu" : "opencl",
                             lang, lang ? strlen(lang) : 0, src, src ? strlen(src) : 0 };
        if (schema_codec_encode_record(c, SCHEMA_FMT_AVRO, id, strlen(id), k % 3 ? "lexicon-1" : "seed-1", &r, &l,
                                       &out, err, sizeof err)) {
            fprintf(stderr, "record %d: %s\n", k, err);
            status = 1;
            break;
        }
        if (v1) {       /* version 1: no lang, no source, its own fingerprint */
            out.len -= 2;
            for (int i = 0; i < 8; i++) out.data[2 + i] = (char)(fp1 >> (8 * i));
        }
        if (schema_codec_record_to_json(c, out.data, out.len, &back, err, sizeof err)) {
            fprintf(stderr, "record %d read back: %s\n", k, err);
            status = 1;
            break;
        }
        for (size_t i = 0; i < out.len; i++) fprintf(hex, "%02x", (unsigned char)out.data[i]);
        fputc('\n', hex);
        fwrite(back.data, 1, back.len, js);
        fputc('\n', js);
    }
    if (fclose(hex) || fclose(js)) status = 1;
    dbuf_free(&out);
    dbuf_free(&back);
    schema_codec_destroy(c);
    return status;
}
