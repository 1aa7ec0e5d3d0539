/* http.c -- see http.h. */
#include "http.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_server {
    struct MHD_Daemon *d;
    http_render_fn fn;
    void *arg;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    http_server *s = cls;
    if (*state == NULL) {           /* first call: headers only */
        *state = s;
        return MHD_YES;
    }
    if (*upload_size) {             /* a body is not expected: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        char *b = strdup("method not allowed\n");
        return b ? reply(c, 405, "text/plain; charset=utf-8", b, strlen(b)) : MHD_NO;
    }
    metrics_buf body = { 0 };
    const char *ctype = "text/plain; charset=utf-8";
    int status = s->fn(url, &body, &ctype, s->arg);
    if (body.failed || !body.out.data) {
        metrics_buf_free(&body);
        char *b = strdup("out of memory\n");
        return b ? reply(c, 500, "text/plain; charset=utf-8", b, strlen(b)) : MHD_NO;
    }
    return reply(c, status, ctype, body.out.data, body.out.len);
}

http_server *http_start(const char *address, int port, http_render_fn fn, void *arg, char *errstr, size_t n)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(errstr, n, "out of memory"); return NULL; }
    s->fn = fn;
    s->arg = arg;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        snprintf(errstr, n, "http.address %s: not an IPv4 address", address);
        free(s);
        return NULL;
    }
    /* Slow or idle clients must not starve the probes: epoll (no select()
     * limit on descriptors) in one internal thread, room for 512
     * connections of at most 16 KiB each (8 MiB), and a 5 s inactivity
     * timeout; 200 clients that trickle a header line every 3 s still
     * leave /health answering within a second (tests/test_http.c). */
    s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, (uint16_t)port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(errstr, n, "cannot listen on %s:%d (in use, or not allowed)", address, port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

int http_port(const http_server *s) { return s->port; }

void http_stop(http_server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    free(s);
}
