/* dhatu-dump -- prints a topic as JSON Lines, for people and tests.
 *
 * Reads every partition of a topic from the beginning to its current end
 * (no consumer group, nothing committed) and prints one line per message:
 * a record topic as the record's JSON (Avro decoded with the built-in
 * schema), or with --raw any topic as {"partition","offset","key",
 * "headers":{...},"value"} (the value as a string when it is UTF-8, else as
 * hex). --committed reads only committed transactional messages.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhatu.h"
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

int main(int argc, char **argv)
{
    const char *brokers = "127.0.0.1:9092", *topic = NULL;
    int raw = 0, committed = 0, c;
    long timeout_ms = 30000;
    static const struct option lo[] = { { "brokers", required_argument, 0, 'b' },
        { "topic", required_argument, 0, 't' }, { "raw", no_argument, 0, 'r' },
        { "committed", no_argument, 0, 'C' }, { "timeout-ms", required_argument, 0, 'T' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    while ((c = getopt_long(argc, argv, "b:t:h", lo, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'r': raw = 1; break;
        case 'C': committed = 1; break;
        case 'T': timeout_ms = strtol(optarg, NULL, 10); break;
        default:
            fprintf(c == 'h' ? stdout : stderr, "Usage: " PROG " -b BROKERS -t TOPIC [--raw] [--committed] "
                    "[--timeout-ms N]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (!topic) { fprintf(stderr, PROG ": -t TOPIC is required\n"); return 2; }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "dhatu-dump", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "isolation.level", committed ? "read_committed" : "read_uncommitted",
                          err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, PROG ": %s\n", err); return 2; }
    schema_codec *codec = schema_codec_create(err, sizeof err);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (!codec || rd_kafka_metadata(rk, 0, t, &md, 15000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, PROG ": topic %s not found on %s%s%s\n", topic, brokers, codec ? "" : ": ", codec ? "" : err);
        return 2;
    }
    int nparts = md->topics[0].partition_cnt, eofs = 0, status = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    schema_buf out = { 0 };
    long idle = 0;
    while (eofs < nparts && idle < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) { idle += 100; continue; }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) { eofs++; rd_kafka_message_destroy(m); continue; }
        if (m->err) {
            fprintf(stderr, PROG ": %s\n", rd_kafka_message_errstr(m));
            status = 1;
        } else if (raw) {
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
            json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(o);
        } else if (schema_codec_record_to_json(codec, m->payload, m->len, &out, err, sizeof err)) {
            fprintf(stderr, PROG ": [%" PRId32 "] @%" PRId64 ": %s\n", m->partition, m->offset, err);
            status = 1;
        } else {
            fwrite(out.data, 1, out.len, stdout);
            fputc('\n', stdout);
        }
        rd_kafka_message_destroy(m);
    }
    if (eofs < nparts) {
        fprintf(stderr, PROG ": stopped after %ld ms without reaching the end of every partition\n", timeout_ms);
        status = 1;
    }
    schema_buf_free(&out);
    schema_codec_destroy(codec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return status;
}
