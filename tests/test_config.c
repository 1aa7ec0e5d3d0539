/* test_config.c -- dhatu-consumer's configuration: defaults validate, a file
 * overrides them, unknown keys and wrong types fail with file:line, -s and
 * -X override, secrets are masked when printed. */
#include "testlib.h"
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static const char *write_conf(const char *text)
{
    strcpy(path, "/tmp/dhatu-test-conf-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(defaults_validate)
{
    ccfg c;
    char err[256];
    ccfg_defaults(&c);
    ck_assert_msg(ccfg_validate(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.brokers, "127.0.0.1:9092");
    ck_assert_int_eq(c.input.n, 1);
    ck_assert_str_eq(c.input.v[0], "articles");
    ck_assert_int_eq(c.exactly_once, 0);
    ccfg_free(&c);
}
END_TEST

START_TEST(file_overrides_and_flags_override_file)
{
    ccfg c;
    char err[256];
    ccfg_defaults(&c);
    write_conf("kafka = { brokers = \"k1:9092,k2:9093\"; librdkafka = [\"socket.timeout.ms=5000\"]; };\n"
               "topics = { input = [\"a\", \"b\"]; };\n"
               "batch = { max_articles = 100; };\n"
               "delivery = { mode = \"exactly-once\"; };\n");
    ck_assert_msg(ccfg_load_file(&c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ccfg_set(&c, "batch.max_articles=7", err, sizeof err), 0);
    ck_assert_int_eq(ccfg_set(&c, "topics.input=x, y ,z", err, sizeof err), 0);
    ck_assert_int_eq(ccfg_add_librdkafka(&c, "sasl.password=hunter2", err, sizeof err), 0);
    ck_assert_msg(ccfg_validate(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.brokers, "k1:9092,k2:9093");
    ck_assert_int_eq(c.batch_articles, 7);
    ck_assert_int_eq(c.input.n, 3);
    ck_assert_str_eq(c.input.v[1], "y");
    ck_assert_int_eq(c.exactly_once, 1);
    ck_assert_int_eq(c.librdkafka.n, 2);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ccfg_print(&c, f);
    fclose(f);
    ck_assert_ptr_null(strstr(out, "hunter2"));
    ck_assert_ptr_nonnull(strstr(out, "\"sasl.password=********\""));
    ck_assert_ptr_nonnull(strstr(out, "\"socket.timeout.ms=5000\""));
    /* What --print-config prints is a valid configuration file again. */
    FILE *g = fopen(path, "w");
    fputs(out, g);
    fclose(g);
    ccfg d;
    ccfg_defaults(&d);
    ck_assert_msg(ccfg_load_file(&d, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(d.batch_articles, 7);
    ck_assert_int_eq(d.input.n, 3);
    ccfg_free(&d);
    free(out);
    unlink(path);
    ccfg_free(&c);
}
END_TEST

START_TEST(errors_name_the_line_and_the_problem)
{
    static const struct { const char *text, *expect; } cases[] = {
        { "kafka = {\n  brokerz = \"x:1\";\n};\n", ":2: unknown setting kafka.brokerz" },
        { "batch = { max_articles = \"many\"; };\n", "batch.max_articles must be an integer" },
        { "batch = { max_articles = 0; };\n", "batch.max_articles: 0 is outside 1.." },
        { "topics = { input = 5; };\n", "topics.input must be a list" },
        { "kafka = { brokers = ; };\n", ":1: syntax error" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ccfg c;
        char err[256] = "";
        ccfg_defaults(&c);
        write_conf(cases[i].text);
        ck_assert_int_eq(ccfg_load_file(&c, path, err, sizeof err), -1);
        ck_assert_msg(strstr(err, cases[i].expect), "case %zu: %s", i, err);
        unlink(path);
        ccfg_free(&c);
    }
}
END_TEST

START_TEST(validation_rejects_unusable_values)
{
    static const char *const bad[] = { "kafka.brokers=", "kafka.brokers=localhost", "kafka.brokers=h:99999",
                                       "kafka.assignor=sticky", "delivery.mode=twice", "engine.model=bert",
                                       "delivery.output_format=xml", "topics.output=articles", NULL };
    for (int i = 0; bad[i]; i++) {
        ccfg c;
        char err[256];
        ccfg_defaults(&c);
        ck_assert_int_eq(ccfg_set(&c, bad[i], err, sizeof err), 0);
        ck_assert_msg(ccfg_validate(&c, err, sizeof err) == -1, "accepted %s", bad[i]);
        ccfg_free(&c);
    }
    ccfg c;
    char err[256];
    ccfg_defaults(&c);
    ck_assert_int_eq(ccfg_set(&c, "nope.key=1", err, sizeof err), -1);
    ck_assert_int_eq(ccfg_set(&c, "batch.linger_ms=abc", err, sizeof err), -1);
    ck_assert_int_eq(ccfg_add_librdkafka(&c, "=x", err, sizeof err), -1);
    ck_assert(ccfg_is_secret("ssl.key.password"));
    ck_assert(ccfg_is_secret("sasl.oauthbearer.client.secret"));
    ck_assert(!ccfg_is_secret("linger.ms"));
    ccfg_free(&c);
}
END_TEST

/* kafka.properties_file (-F): key=value lines with comments and spaces;
 * kafka.librdkafka (-X) wins because it comes after; a bad line names
 * FILE:LINE and never the value; secrets are masked when printed. */
START_TEST(properties_file)
{
    ccfg c;
    char err[512], kv[600];
    ccfg_defaults(&c);
    const char *f = write_conf("# client of the local cluster\n\n  security.protocol = sasl_ssl \n"
                               "sasl.password=hunter2\nlinger.ms=7\n");
    snprintf(kv, sizeof kv, "kafka.properties_file=%s", f);
    ck_assert_int_eq(ccfg_set(&c, kv, err, sizeof err), 0);
    ck_assert_int_eq(ccfg_add_librdkafka(&c, "linger.ms=9", err, sizeof err), 0);
    ck_assert_msg(ccfg_validate(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.kafka_props.n, 4);
    ck_assert_str_eq(c.kafka_props.v[0], "security.protocol=sasl_ssl");
    ck_assert_str_eq(kafka_conf_user_value(c.kafka_props.v, c.kafka_props.n, "linger.ms", ""), "9");
    /* Validating twice does not duplicate the items. */
    ck_assert_msg(ccfg_validate(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.kafka_props.n, 4);
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem = open_memstream(&out, &outlen);
    ccfg_print(&c, mem);
    fclose(mem);
    ck_assert_msg(!strstr(out, "hunter2"), "a secret printed: %s", out);
    free(out);
    unlink(f);
    ccfg_free(&c);

    ccfg_defaults(&c);
    f = write_conf("ok=1\nsasl.password hunter2\n");
    snprintf(kv, sizeof kv, "kafka.properties_file=%s", f);
    ck_assert_int_eq(ccfg_set(&c, kv, err, sizeof err), 0);
    ck_assert_int_eq(ccfg_validate(&c, err, sizeof err), -1);
    char where[128];
    snprintf(where, sizeof where, "%s:2: expected key=value", f);
    ck_assert_str_eq(err, where);
    unlink(f);
    ck_assert_int_eq(ccfg_set(&c, "kafka.properties_file=/nonexistent/client.properties", err, sizeof err), 0);
    ck_assert_int_eq(ccfg_validate(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent/client.properties: No such file"), "%s", err);
    ccfg_free(&c);

    /* A value librdkafka refuses is named (secrets are masked instead: kafka.c). */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char *user[] = { "ssl.key.password=hunter2", "compression.codec=nope" };
    ck_assert_int_eq(kafka_conf_apply(conf, NULL, 0, user + 1, 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "compression.codec=nope"), "%s", err);
    ck_assert(kafka_conf_is_secret(user[0]) && !kafka_conf_is_secret("linger.ms=5"));
    ck_assert(!kafka_conf_is_secret("linger.ms=my-secret"));
    rd_kafka_conf_destroy(conf);
}
END_TEST

TL_MAIN("config",
        properties_file,
        defaults_validate,
        file_overrides_and_flags_override_file,
        errors_name_the_line_and_the_problem,
        validation_rejects_unusable_values)
