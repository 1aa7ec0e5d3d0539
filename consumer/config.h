/* config.h -- dhatu-consumer's configuration: defaults, a libconfig file,
 * command-line overrides, validation and printing (secrets masked).
 *
 * Every setting lives in one table in config.c (path, type, default, help);
 * the struct below is what the rest of the consumer reads. A file may set
 * any path of the table (see deploy/local/dhatu-consumer.conf, which lists
 * them all); an unknown path, a wrong type or a bad value is an error that
 * names the file and line. Precedence: defaults < file < command line.
 *
 * Ownership: ccfg_* allocate the strings and lists; ccfg_free releases them.
 * Errors: 0 on success, -1 with a message in errstr.
 */
#ifndef CCFG_H
#define CCFG_H

#include <stdint.h>
#include <stdio.h>
#include "kafka.h"

typedef struct ccfg_list { char **v; int n; } ccfg_list;

typedef struct ccfg {
    /* kafka */
    char *brokers, *group_id, *group_instance_id, *assignor, *group_protocol, *client_id, *start_at;
    char *group_type;                      /* consumer, or share (KIP-932, share.h) */
    int64_t share_max_deliveries, share_lock_ms, share_backlog_ms;
    char *properties_file;                 /* librdkafka "key=value" lines (-F) */
    ccfg_list librdkafka;                  /* "key=value" for consumer and producer */
    int64_t orphan_check_ms, orphan_grace_ms, join_warn_ms;
    int64_t startup_timeout_ms;
    /* topics */
    ccfg_list input;
    char *output, *dead_letter;
    /* engine */
    char *backend, *model, *lexicon, *device_type;
    int64_t threads, device, platform, device_memory, max_article_bytes, profile;
    /* batch */
    int64_t batch_articles, batch_bytes, linger_ms, max_in_flight, max_unacked;
    /* delivery */
    char *mode, *output_format;
    int64_t txn_interval_ms, txn_timeout_ms;
    /* registry */
    char *registry_url, *registry_ca, *registry_user, *registry_password, *registry_strategy;
    int64_t registry_timeout_ms;
    /* http */
    char *http_address;
    int64_t http_port, stats_interval_ms;
    /* lifecycle */
    int64_t shutdown_deadline_ms, exit_idle_ms, exit_after;
    /* trace */
    int64_t trace_generate;
    /* derived by ccfg_validate */
    int exactly_once, json_output, registry_output, share;
    int64_t start_at_ms;                   /* kafka.start_at, parsed; -1: none */
    kafka_items kafka_props;               /* properties_file's items, then librdkafka's: what the clients get */
} ccfg;

void ccfg_defaults(ccfg *c);                     /* can fail only on memory: check ccfg_validate */
int ccfg_load_file(ccfg *c, const char *path, char *errstr, size_t n);
/* "path=value" for any path of the table (the -s option). */
int ccfg_set(ccfg *c, const char *assignment, char *errstr, size_t n);
/* Appends "key=value" to kafka.librdkafka (the -X option). */
int ccfg_add_librdkafka(ccfg *c, const char *kv, char *errstr, size_t n);
int ccfg_validate(ccfg *c, char *errstr, size_t n);
/* Prints the effective configuration in the file's syntax, secrets masked. */
void ccfg_print(const ccfg *c, FILE *f);
/* One line per setting: path, default, help (for --help). */
void ccfg_print_help(FILE *f);
/* The same as a Markdown table (dhatu-consumer --help-config), from which
 * docs/CONFIGURATION.md is generated, so the two cannot drift apart. */
void ccfg_print_markdown(FILE *f);
void ccfg_free(ccfg *c);

/* 1 when a librdkafka property holds a secret (password, key, token...). */
int ccfg_is_secret(const char *key);

#endif
