/* fuzz_http.c -- untrusted bytes sent to the consumer's HTTP listener as a
 * request (over a real socket, then the write side closed): the listener
 * answers with a status line or closes, never crashes, and keeps serving
 * (a proper request after each input must still get 200). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "http.h"

static http_server *server;
static int port;

static int render(const char *path, metrics_buf *b, const char **ctype, void *arg)
{
    (void)arg;
    *ctype = "text/plain";
    metrics_text(b, path, strlen(path));
    return strcmp(path, "/metrics") ? 404 : 200;
}

/* Sends n bytes, closes the write side, reads the answer into out. */
static size_t exchange(const void *data, size_t n, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) abort();
    struct timeval tv = { 0, 200000 };    /* keep-alive answers never close */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) abort();
    size_t sent = 0;
    while (sent < n) {
        ssize_t w = send(fd, (const char *)data + sent, n - sent, MSG_NOSIGNAL);
        if (w <= 0) break;
        sent += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = recv(fd, out + got, cap - 1 - got, 0)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fd);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], out[65536];
    if (!server && !(server = http_start("127.0.0.1", 0, render, NULL, err, sizeof err))) abort();
    port = http_port(server);
    size_t got = exchange(data, size, out, sizeof out);
    if (got && strncmp(out, "HTTP/1.", 7)) abort();          /* an answer is an HTTP response */
    const char *probe = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    exchange(probe, strlen(probe), out, sizeof out);
    if (strncmp(out, "HTTP/1.1 200", 12)) abort();          /* and the listener still serves */
    return 0;
}
