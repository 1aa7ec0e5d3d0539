/* dhatu-dump -- prints a topic as JSON Lines, for people and tests.
 *
 * Reads every partition of a topic from the beginning to its current end
 * (no consumer group, nothing committed) and prints one line per message:
 * a record topic as the record's JSON (Avro decoded with the built-in
 * schema), or with --raw any topic as {"partition","offset","key",
 * "headers":{...},"value"} (the value as a string when it is UTF-8, else as
 * hex). A dead letter met in record mode (a dhatu.error.class header, or
 * no value) is printed as --raw prints it, with a warning once, never as
 * an empty line. --committed reads only committed transactional messages,
 * and exits 3 when an open transaction hid the end of a partition.
 * --since and --until keep the messages whose timestamp is in that window
 * (offsets for times start each partition). --group G prints, instead of
 * messages, G's committed offset and the end of every partition (an
 * OffsetFetch: it never joins G). -X sets
 * any librdkafka property (TLS, SASL). It decodes records, so it links the
 * schemas library but never the engine.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dhatu_record.h"
#include "kafka.h"
#include "log.h"
#include "registry.h"
#include "schema_avro.h"

#define PROG "dhatu-dump"

static json_t *bytes_json(const void *p, size_t len)
{
    if (!p) return json_null();
    json_t *s = json_stringn(p, len);
    if (s) return s;
    char *hex = malloc(len * 2 + 5);
    if (!hex) return json_null();
    memcpy(hex, "hex:", 4);
    for (size_t i = 0; i < len; i++) sprintf(hex + 4 + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    s = json_string(hex);
    free(hex);
    return s;
}

/* --group: the group's committed offset and the end of every partition of
 * l, one JSON line each; 0, or 1 when either could not be read. */
static int print_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int timeout_ms, logger *lg)
{
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, timeout_ms);
    if (e) {
        log_error(lg, "committed offsets: %s", rd_kafka_err2str(e));
        return 1;
    }
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &l->elems[i];
        int64_t lo, hi;
        if (p->err || (e = rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi, timeout_ms))) {
            log_error(lg, "[%" PRId32 "]: %s", p->partition, rd_kafka_err2str(p->err ? p->err : e));
            return 1;
        }
        if (p->offset >= 0) printf("{\"partition\":%" PRId32 ",\"committed\":%" PRId64 ",\"end\":%" PRId64 "}\n",
                                   p->partition, p->offset, hi);
        else printf("{\"partition\":%" PRId32 ",\"committed\":null,\"end\":%" PRId64 "}\n", p->partition, hi);
    }
    return fflush(stdout) ? 1 : 0;
}

/* --committed: 3 when the read of a partition ended (at its last stable
 * offset, where librdkafka signals EOF in read_committed) below its high
 * watermark (as the last fetch saw it): an open transaction, e.g. of a
 * producer that died inside it, hides what follows it until it times out.
 * Says where; else 0. */
static int open_transactions(rd_kafka_t *rk, const char *topic, const int64_t *stable, int nparts, logger *lg)
{
    int open = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(rk, topic, p, &lo, &hi) || hi < 0) continue;
        if (stable[p] < hi) {
            log_warn(lg, "[%d]: read up to offset %" PRId64 " of %" PRId64 ": a transaction is still open there; "
                         "what follows it is not shown until it ends", p, stable[p], hi);
            open = 1;
        }
    }
    return open ? 3 : 0;
}

/* A dead letter of dhatu-consumer: its dhatu.error.class header, or no
 * value at all (nothing to decode). */
static int is_dead_letter(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v;
    size_t n;
    if (!m->payload) return 1;
    return rd_kafka_message_headers(m, &hdrs) == 0 && rd_kafka_header_get_last(hdrs, "dhatu.error.class", &v, &n) == 0;
}

/* One line {"partition","offset","key","headers":{...},"value"}; -1 when
 * stdout refuses it. */
static int print_raw(const rd_kafka_message_t *m)
{
    json_t *o = json_object(), *h = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == 0) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++)
            json_object_set_new(h, name, bytes_json(val, size));
    }
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    json_object_set_new(o, "key", bytes_json(m->key, m->key_len));
    json_object_set_new(o, "headers", h);
    json_object_set_new(o, "value", bytes_json(m->payload, m->len));
    int bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) || fputc('\n', stdout) == EOF;
    json_decref(o);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *brokers = "127.0.0.1:9092", *topic = NULL, *registry_url = NULL, *group = NULL;
    int raw = 0, committed = 0, c;
    kafka_items user = { 0 }; /* -F lines and -X items, in command-line order */
    /* First member: kafka.h's callbacks find it through the opaque. */
    struct { kafka_events kev; } ev;
    memset(&ev, 0, sizeof ev);
    logger lg;
    log_init(&lg, PROG, "dump", LOG_INFO, LOG_TOOL);
    log_derive(&ev.kev.log, &lg, "kafka");
    long timeout_ms = 30000;
    int64_t since = -1, until = -1;     /* --since, --until: message timestamps, epoch ms */
    static const struct option lo[] = { { "brokers", required_argument, 0, 'b' },
        { "topic", required_argument, 0, 't' }, { "raw", no_argument, 0, 'r' },
        { "committed", no_argument, 0, 'C' }, { "timeout-ms", required_argument, 0, 'T' },
        { "registry", required_argument, 0, 'R' }, { "group", required_argument, 0, 'G' },
        { "since", required_argument, 0, 'S' }, { "until", required_argument, 0, 'U' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 } };
    char err[512];
    while ((c = getopt_long(argc, argv, "b:t:F:X:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'X':
        case 'F':
            if (kafka_items_option(&user, c, optarg, err, sizeof err)) {
                log_error(&lg, "%s", err);
                kafka_items_free(&user);
                return 2;
            }
            break;
        case 'V':
            kafka_version(err, sizeof err);
            printf(PROG " %s (%s)\n", DHATU_VERSION_STRING, err);
            kafka_items_free(&user);
            return 0;
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'r': raw = 1; break;
        case 'C': committed = 1; break;
        case 'T': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'R': registry_url = optarg; break;
        case 'G': group = optarg; break;
        case 'S':
        case 'U':
            if (clk_parse_time(optarg, c == 'S' ? &since : &until)) {
                log_error(&lg, "--%s %s: a time is epoch milliseconds or RFC 3339 with its offset",
                          c == 'S' ? "since" : "until", optarg);
                kafka_items_free(&user);
                return 2;
            }
            break;
        default:
            fprintf(c == 'h' ? stdout : stderr, "Usage: " PROG " -b BROKERS -t TOPIC [--raw] [--committed] "
                    "[--timeout-ms N] [--registry URL] [--group G] [-F FILE]\n"
                    "       [--since TIME] [--until TIME]\n"
                    "       [-X key=value...]\n"
                    "Prints a record topic as records; --raw prints every message as it is (partition,\n"
                    "offset, key, headers, value): the option for a dead-letter topic, whose messages are\n"
                    "the original articles, or only their reference, with the reason in dhatu.error.*\n"
                    "headers (without --raw they are printed that way too, with a warning).\n"
                    "Records: Avro single-object, JSON, or Confluent-framed (with --registry URL or\n"
                    "-X schema.registry.url=URL; schema.registry.basic.auth.user.info and\n"
                    "schema.registry.ssl.ca.location too).\n"
                    "--committed: read_committed; exit 3 when an open transaction hides a partition's end.\n"
                    "--since, --until: only messages whose timestamp is at or after, at or before, TIME\n"
                    "(epoch ms or RFC 3339); --since starts each partition at its first such offset.\n"
                    "--group G: one line per partition, {\"partition\",\"committed\",\"end\"}: the offset G\n"
                    "committed (null: none) and the partition's end; G is asked, never joined.\n");
            kafka_items_free(&user);
            return c == 'h' ? 0 : 2;
        }
    }
    if (!topic) {
        log_error(&lg, "-t TOPIC is required");
        kafka_items_free(&user);
        return 2;
    }
    /* Reads without a group's commits: nothing it does moves anyone's offsets. */
    kafka_prop props[] = {
        { "bootstrap.servers", brokers, NULL },
        /* rd_kafka_committed() asks for the consumer's own group.id; no
         * subscribe, so it never joins it. */
        { "group.id", group ? group : "dhatu-dump", NULL },
        { "enable.auto.commit", "false", "dhatu-dump never commits offsets" },
        { "enable.partition.eof", "true", "dhatu-dump stops at the end of every partition" },
        { "isolation.level", committed ? "read_committed" : "read_uncommitted", NULL },
    };
    registry_props rp = { 0 };
    registry *reg = NULL;
    err[0] = 0;
    if (registry_take_props(user.v, &user.n, &rp, err, sizeof err)) {
        log_error(&lg, "%s", err);
        kafka_items_free(&user);
        return 2;
    }
    if (registry_url || rp.url) {
        registry_config rc = { .url = registry_url ? registry_url : rp.url, .ca_file = rp.ca_file, .user = rp.user,
                               .password = rp.password };
        if (registry_create(&reg, &rc, err, sizeof err)) {
            log_error(&lg, "registry: %s", err);
            registry_props_free(&rp);
            kafka_items_free(&user);
            return 2;
        }
    }
    registry_props_free(&rp);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(conf, &ev);
    kafka_route_events(conf);
    rd_kafka_t *rk = NULL;
    if (kafka_conf_apply(conf, props, 5, user.v, user.n, err, sizeof err)) rd_kafka_conf_destroy(conf);
    else if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err))) rd_kafka_conf_destroy(conf);
    kafka_items_free(&user);
    if (!rk) {
        log_error(&lg, "%s", err);
        return 2;
    }
    schema_codec *codec = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (schema_codec_create(&codec, err, sizeof err) || rd_kafka_metadata(rk, 0, t, &md, 15000) ||
        md->topic_cnt != 1 || md->topics[0].err) {
        log_error(&lg, "topic %s not found on %s%s%s", topic, brokers, codec ? "" : ": ", codec ? "" : err);
        return 2;
    }
    if (reg) schema_codec_set_lookup(codec, registry_codec_lookup, reg);
    int nparts = md->topics[0].partition_cnt, eofs = 0, status = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    if (group) {
        status = print_offsets(rk, l, (int)(timeout_ms < 15000 ? timeout_ms : 15000), &lg);
        rd_kafka_topic_partition_list_destroy(l);
        schema_codec_destroy(codec);
        registry_destroy(reg);
        rd_kafka_destroy(rk);
        return status;
    }
    if (since >= 0) {   /* each partition from its first message at or after since (its end: none) */
        for (int i = 0; i < l->cnt; i++) l->elems[i].offset = since;
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, 15000);
        if (e) {
            log_error(&lg, "--since: offsets for times: %s", rd_kafka_err2str(e));
            return 2;
        }
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset < 0) l->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    /* --committed: where each partition's read ended (its last stable
     * offset): below the partition's high watermark, a transaction is open. */
    int64_t *stable = calloc((size_t)nparts, sizeof *stable);
    if (!stable) {
        log_error(&lg, "out of memory");
        return 2;
    }
    dbuf out = { 0 };
    long idle = 0;
    int write_failed = 0, warned = 0;
    while (eofs < nparts && idle < timeout_ms && !write_failed) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) { idle += 100; continue; }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < nparts) stable[m->partition] = m->offset;
            eofs++;
            rd_kafka_message_destroy(m);
            continue;
        }
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = m->err ? -1 : rd_kafka_message_timestamp(m, &tstype);
        if (!m->err && ((since >= 0 && ts < since) || (until >= 0 && ts > until))) {
            /* Outside the window: timestamps need not grow with offsets (CreateTime). */
        } else if (m->err) {
            log_error(&lg, "%s", rd_kafka_message_errstr(m));
            status = 1;
        } else if (raw || is_dead_letter(m)) {
            /* A dead letter is no record (its value is the original message,
             * or nothing when only a reference was kept): say what it is,
             * its headers first, rather than an empty line or a decode
             * error. */
            if (!raw && !warned) {
                log_warn(&lg, "%s holds dead letters (dhatu.error.* headers): printed as --raw prints them; "
                              "--raw is the option for a dead-letter topic", topic);
                warned = 1;
            }
            if (print_raw(m)) write_failed = 1;
        } else if (schema_codec_record_to_json(codec, m->payload, m->len, &out, err, sizeof err)) {
            log_error(&lg, "[%" PRId32 "] @%" PRId64 ": %s", m->partition, m->offset, err);
            status = 1;
        } else {
            out.data[out.len] = '\n';          /* dbuf.h: always room for it */
            if (fwrite(out.data, 1, out.len + 1, stdout) != out.len + 1) write_failed = 1;
        }
        rd_kafka_message_destroy(m);
    }
    if (fflush(stdout) || ferror(stdout) || write_failed) {
        log_error(&lg, "cannot write to stdout: %s", strerror(errno));
        status = 1;
    } else if (eofs < nparts) {
        log_error(&lg, "stopped after %ld ms without reaching the end of every partition", timeout_ms);
        status = 1;
    }
    if (committed && status == 0) status = open_transactions(rk, topic, stable, nparts, &lg);
    free(stable);
    dbuf_free(&out);
    schema_codec_destroy(codec);
    registry_destroy(reg);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return status;
}
