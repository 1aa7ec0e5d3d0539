/* test_registry.c -- the registry client (schemas/registry.h) over HTTPS with
 * basic authentication, against tests/registry/fake_registry.py (started by
 * run_client_test.sh): answers, the cache, each failure told apart (a wrong
 * password, an untrusted certificate, 404, a 500 that stays, a 503 that
 * heals, a timeout, a schema that is not Avro), registration, and the
 * schema.registry.* client properties. */
#include "testlib.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url(void)
{
    const char *u = getenv("DHATU_TEST_REGISTRY_URL");
    ck_assert_msg(u != NULL, "run through tests/registry/run_client_test.sh");
    return u;
}

static registry *client(const char *password, const char *ca, long timeout_ms)
{
    registry_config rc = { .url = url(), .ca_file = ca, .user = "u", .password = password, .timeout_ms = timeout_ms,
                           .retries = 2, .backoff_ms = 50 };
    registry *r;
    char err[512];
    ck_assert_msg(registry_create(&r, &rc, err, sizeof err) == REGISTRY_OK, "%s", err);
    return r;
}

static const char *ca(void) { return getenv("DHATU_TEST_REGISTRY_CA"); }

START_TEST(schemas_come_back_and_are_cached)
{
    registry *r = client("p w:d", ca(), 0);
    const char *s;
    size_t n;
    char err[512];
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(registry_schema(r, 1, &s, &n, err, sizeof err) == REGISTRY_OK, "%s", err);
        ck_assert_msg(strstr(s, "\"name\":\"A\"") != NULL && n == strlen(s), "%s", s);
    }
    registry_counts k;
    registry_get_counts(r, &k);
    ck_assert_uint_eq(k.requests, 1);
    ck_assert_uint_eq(k.cache_hits, 2);
    uint32_t id = 0;
    ck_assert_msg(registry_register(r, "s-value", "{\"type\":\"string\"}", &id, err, sizeof err) == REGISTRY_OK,
                  "%s", err);
    ck_assert_uint_eq(id, 42);
    ck_assert_int_eq(registry_register(r, "s-value", "{\"type\":\"string\"}", &id, err, sizeof err), REGISTRY_OK);
    registry_get_counts(r, &k);
    ck_assert_uint_eq(k.requests, 2);
    registry_destroy(r);
}
END_TEST

START_TEST(failures_are_told_apart)
{
    const char *s;
    size_t n;
    char err[512];
    registry *r = client("wrong", ca(), 0);
    ck_assert_int_eq(registry_schema(r, 1, &s, &n, err, sizeof err), REGISTRY_REFUSED);
    ck_assert_msg(strstr(err, "401") && strstr(err, "Unauthorized"), "%s", err);
    registry_destroy(r);

    /* Without our CA the certificate is refused at once, not retried. */
    r = client("p w:d", NULL, 0);
    time_t t0 = time(NULL);
    ck_assert_int_eq(registry_schema(r, 1, &s, &n, err, sizeof err), REGISTRY_REFUSED);
    ck_assert_msg(time(NULL) - t0 < 3, "an untrusted certificate was retried");
    registry_destroy(r);

    r = client("p w:d", ca(), 500);
    ck_assert_int_eq(registry_schema(r, 404, &s, &n, err, sizeof err), REGISTRY_NOT_FOUND);
    ck_assert_msg(strstr(err, "Schema not found") != NULL, "%s", err);
    ck_assert_int_eq(registry_schema(r, 500, &s, &n, err, sizeof err), REGISTRY_UNAVAILABLE);
    ck_assert_msg(strstr(err, "HTTP 500") && strstr(err, "3 attempts"), "%s", err);
    ck_assert_msg(registry_schema(r, 503, &s, &n, err, sizeof err) == REGISTRY_OK, "a 503 that heals: %s", err);
    ck_assert_int_eq(registry_schema(r, 999, &s, &n, err, sizeof err), REGISTRY_UNAVAILABLE);
    ck_assert_msg(strstr(err, "timed out") != NULL, "%s", err);
    ck_assert_int_eq(registry_schema(r, 7, &s, &n, err, sizeof err), REGISTRY_NOT_FOUND);
    ck_assert_msg(strstr(err, "PROTOBUF") != NULL, "%s", err);
    ck_assert_int_eq(registry_codec_lookup(r, 404, &s, &n, err, sizeof err), SCHEMA_ERR_UNKNOWN_SCHEMA);
    ck_assert_int_eq(registry_codec_lookup(r, 500, &s, &n, err, sizeof err), SCHEMA_ERR_UNAVAILABLE);
    registry_counts k;
    registry_get_counts(r, &k);
    ck_assert_uint_ge(k.failures, 3 + 2 + 3 + 3);   /* 500 x3, 503 x2, timeout x3, 500 x3 again */
    registry_destroy(r);

    /* Nothing listening: refused connections are transient (a registry restarting). */
    registry_config down = { .url = "http://127.0.0.1:1", .retries = 1, .backoff_ms = 10 };
    ck_assert_int_eq(registry_create(&r, &down, err, sizeof err), REGISTRY_OK);
    ck_assert_int_eq(registry_schema(r, 1, &s, &n, err, sizeof err), REGISTRY_UNAVAILABLE);
    ck_assert_msg(strstr(err, "2 attempts") != NULL, "%s", err);
    registry_destroy(r);

    registry_config bad = { .url = "ftp://x" };
    ck_assert_int_eq(registry_create(&r, &bad, err, sizeof err), REGISTRY_REFUSED);
    registry_config noca = { .url = url(), .ca_file = "/nonexistent/ca.pem" };
    ck_assert_int_eq(registry_create(&r, &noca, err, sizeof err), REGISTRY_REFUSED);
}
END_TEST

START_TEST(client_properties_become_settings)
{
    char *v[] = { strdup("bootstrap.servers=b:1"), strdup("schema.registry.url=http://r:1"),
                  strdup("schema.registry.basic.auth.user.info=me:se:cret"), strdup("acks=all"),
                  strdup("schema.registry.ssl.ca.location=/ca.pem"),
                  strdup("schema.registry.basic.auth.credentials.source=USER_INFO") };
    int n = 6;
    registry_props p = { 0 };
    char err[256];
    ck_assert_int_eq(registry_take_props(v, &n, &p, err, sizeof err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(v[0], "bootstrap.servers=b:1");
    ck_assert_str_eq(v[1], "acks=all");
    ck_assert_str_eq(p.url, "http://r:1");
    ck_assert_str_eq(p.user, "me");
    ck_assert_str_eq(p.password, "se:cret");
    ck_assert_str_eq(p.ca_file, "/ca.pem");
    registry_props_free(&p);
    free(v[0]);
    free(v[1]);
    char *w[] = { strdup("schema.registry.proxy.host=x") };
    n = 1;
    ck_assert_int_eq(registry_take_props(w, &n, &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "proxy.host") != NULL, "%s", err);
    ck_assert_int_eq(n, 1);
    free(w[0]);
    registry_props_free(&p);
}
END_TEST

TL_MAIN("registry", schemas_come_back_and_are_cached, failures_are_told_apart, client_properties_become_settings)
