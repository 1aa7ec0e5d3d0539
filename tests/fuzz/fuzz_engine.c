/* fuzz_engine.c -- untrusted text through the engine: the cpu backend must
 * give the cpu-ref oracle's record on the same bytes (any difference is a
 * finding), for both models; the first byte picks the lang, the second
 * splits title and text. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dhatu.h"

static dhatu_engine *eng[2][2];     /* [model][cpu-ref, cpu] */
static dhatu_batch *bat[2][2];

static int close_enough(double a, double b) { return fabs(a - b) <= 1e-6 * (fabs(b) > 1 ? fabs(b) : 1); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const models[2] = { "lexicon", "seed" }, *const backends[2] = { "cpu-ref", "cpu" };
    static const char *const langs[4] = { NULL, "en", "fr", "de" };
    char err[256];
    if (!eng[0][0])
        for (int m = 0; m < 2; m++)
            for (int b = 0; b < 2; b++) {
                dhatu_config cfg;
                dhatu_config_init(&cfg);
                cfg.model = models[m];
                cfg.backend = backends[b];
                cfg.threads = 1;
                if (dhatu_engine_create(&cfg, &eng[m][b], err, sizeof err) ||
                    dhatu_batch_create(eng[m][b], &bat[m][b], err, sizeof err))
                    abort();
            }
    if (size < 2) return 0;
    const char *lang = langs[data[0] & 3];
    size_t cut = data[1] % (size - 1);
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    for (int m = 0; m < 2; m++) {
        dhatu_record r[2];
        for (int b = 0; b < 2; b++) {
            dhatu_batch_reset(bat[m][b]);
            const char *title = cut ? text : NULL;
            if (dhatu_batch_add(bat[m][b], title, cut ? cut - 1 : 0, text + (cut ? cut - 1 : 0), len - (cut ? cut - 1 : 0),
                                lang, err, sizeof err) != DHATU_OK ||
                dhatu_engine_vectorize(eng[m][b], bat[m][b], &r[b], err, sizeof err) != DHATU_OK)
                abort();
        }
        if (r[0].tokens != r[1].tokens || r[0].signature != r[1].signature || r[0].dominant != r[1].dominant ||
            memcmp(r[0].positive, r[1].positive, sizeof r[0].positive) ||
            memcmp(r[0].negative, r[1].negative, sizeof r[0].negative) ||
            memcmp(r[0].polarity, r[1].polarity, sizeof r[0].polarity) ||
            memcmp(r[0].intensity, r[1].intensity, sizeof r[0].intensity) || !close_enough(r[0].ambiguity, r[1].ambiguity))
            abort();
        for (int d = 0; d < DHATU_NDHATU; d++)
            if (!close_enough(r[0].weights[d], r[1].weights[d])) abort();
    }
    return 0;
}
