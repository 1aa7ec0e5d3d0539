/* test_http.c -- the consumer's HTTP listener on a real socket: routes and
 * statuses come from the render function, GET and HEAD only, an oversized
 * request is refused without harm, port 0 picks a free port. */
#include "testlib.h"
#include "http.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "clock.h"
#include <unistd.h>

static int render(const char *path, metrics_buf *b, const char **ctype, void *arg)
{
    int *calls = arg;
    (*calls)++;
    if (!strcmp(path, "/metrics")) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        metrics_text(b, "x_total 1\n", 10);
        return 200;
    }
    metrics_text(b, "nope\n", 5);
    return 404;
}

/* Sends req to 127.0.0.1:port and returns the whole answer in out. */
static size_t ask(int port, const char *req, size_t req_len, char *out, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    size_t sent = 0;
    while (sent < req_len) {
        ssize_t w = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (w <= 0) break;      /* the server may close on an oversized request */
        sent += (size_t)w;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = recv(fd, out + got, n - 1 - got, 0)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fd);
    return got;
}

START_TEST(routes_methods_and_limits)
{
    int calls = 0;
    char err[256], out[8192];
    http_server *s = http_start("127.0.0.1", 0, render, &calls, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int port = http_port(s);
    ck_assert_int_gt(port, 0);

    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(port, get, strlen(get), out, sizeof out);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200", 12), "%s", out);
    ck_assert_msg(strstr(out, "text/plain; version=0.0.4") && strstr(out, "\r\n\r\nx_total 1\n"), "%s", out);

    const char *missing = "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(port, missing, strlen(missing), out, sizeof out);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 404", 12), "%s", out);

    const char *head = "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ask(port, head, strlen(head), out, sizeof out);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200", 12) && !strstr(out, "x_total"), "%s", out);

    int before = calls;
    const char *post = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ask(port, post, strlen(post), out, sizeof out);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 405", 12), "%s", out);
    ck_assert_int_eq(calls, before);       /* refused before rendering */

    /* Headers far past the per-connection memory limit: refused, and the
     * listener still answers afterwards. */
    static char big[65536];
    int k = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(big + k, 'a', sizeof big - (size_t)k - 8);
    memcpy(big + sizeof big - 8, "\r\n\r\n", 4);
    ask(port, big, sizeof big - 4, out, sizeof out);
    ck_assert_msg(strncmp(out, "HTTP/1.1 200", 12), "an oversized request was served: %.40s", out);
    ask(port, get, strlen(get), out, sizeof out);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200", 12), "%s", out);

    /* The port is taken now: a second listener says so. */
    http_server *again = http_start("127.0.0.1", port, render, &calls, err, sizeof err);
    ck_assert_ptr_null(again);
    ck_assert_uint_gt(strlen(err), 0);
    http_stop(s);
    http_stop(NULL);
}
END_TEST

/* 200 clients that open a request and trickle a header line every 3 s (a
 * slowloris) hold their connections; the probe must still answer within a
 * second, every time, for 8 s. */
START_TEST(slow_clients_do_not_block_the_probes)
{
    int calls = 0;
    char err[256], out[4096];
    http_server *s = http_start("127.0.0.1", 0, render, &calls, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int port = http_port(s), slow[200];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200; i++) {
        slow[i] = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(slow[i], 0);
        ck_assert_int_eq(connect(slow[i], (struct sockaddr *)&sa, sizeof sa), 0);
        const char *start = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        ck_assert_int_gt(send(slow[i], start, strlen(start), MSG_NOSIGNAL), 0);
    }
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    double t0 = clk_now_s(), last_trickle = t0, worst = 0;
    int probes = 0;
    while (clk_now_s() - t0 < 8) {
        if (clk_now_s() - last_trickle >= 3) {
            for (int i = 0; i < 200; i++) send(slow[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
            last_trickle = clk_now_s();
        }
        double t = clk_now_s();
        ask(port, get, strlen(get), out, sizeof out);
        double took = clk_now_s() - t;
        ck_assert_msg(!strncmp(out, "HTTP/1.1 200", 12), "probe %d after %.1f s: %.40s", probes, t - t0, out);
        ck_assert_msg(took < 1.0, "probe %d took %.2f s", probes, took);
        if (took > worst) worst = took;
        probes++;
        struct timespec pause = { 0, 200000000 };
        nanosleep(&pause, NULL);
    }
    printf("http: %d probes under 200 slow clients, the slowest %.3f s\n", probes, worst);
    for (int i = 0; i < 200; i++) close(slow[i]);
    http_stop(s);
}
END_TEST

TL_MAIN("http", routes_methods_and_limits, slow_clients_do_not_block_the_probes)
