/* fuzz_lexicon.c -- an untrusted lexicon file through the parser and the
 * trie compiler: every input builds an engine or is refused with a
 * "file:line: reason" message, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dhatu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/dhatu-fuzz-lexicon-XXXXXX", err[512];
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) size = 0;
    close(fd);
    dhatu_config cfg;
    dhatu_config_init(&cfg);
    cfg.backend = "cpu-ref";
    cfg.lexicon_path = path;
    dhatu_engine *e = NULL;
    dhatu_status st = dhatu_engine_create(&cfg, &e, err, sizeof err);
    unlink(path);
    if (st == DHATU_OK) {
        dhatu_batch *b;
        dhatu_record r;
        if (dhatu_batch_create(e, &b, err, sizeof err) ||
            dhatu_batch_add(b, NULL, 0, (const char *)data, size, "en", err, sizeof err) ||
            dhatu_engine_vectorize(e, b, &r, err, sizeof err))
            abort();
        dhatu_batch_destroy(b);
    } else if (st != DHATU_ERR_LEXICON && st != DHATU_ERR_NOMEM) {
        abort();
    }
    dhatu_engine_destroy(e);
    return 0;
}
