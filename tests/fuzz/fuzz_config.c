/* fuzz_config.c -- an untrusted configuration file and -s/-X assignments
 * through the consumer's settings: every input is loaded, validated and
 * printed or refused with a message, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/dhatu-fuzz-config-XXXXXX", err[512];
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) size = 0;
    close(fd);
    ccfg c;
    ccfg_defaults(&c);
    if (ccfg_load_file(&c, path, err, sizeof err) == 0 && ccfg_validate(&c, err, sizeof err) == 0) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            ccfg_print(&c, devnull);
            fclose(devnull);
        }
    }
    unlink(path);
    /* The same bytes as a command-line assignment. */
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        ccfg_set(&c, s, err, sizeof err);
        ccfg_add_librdkafka(&c, s, err, sizeof err);
        ccfg_validate(&c, err, sizeof err);
        free(s);
    }
    ccfg_free(&c);
    return 0;
}
