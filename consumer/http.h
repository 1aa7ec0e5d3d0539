/* http.h -- the consumer's HTTP listener (libmicrohttpd): /metrics, /health,
 * /ready, for Prometheus and Kubernetes probes.
 *
 * libmicrohttpd runs its own thread (epoll); each request calls the render
 * function, which fills a body and a status. Connections (512), per-
 * connection memory (16 KiB, so request size) and idle time (5 s) are
 * bounded, so slow or hostile clients can neither stall the pipeline, nor
 * grow memory, nor keep the probes from answering. GET and HEAD only (405
 * otherwise).
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include "metrics.h"

/* Fills body for path; returns the HTTP status (404 for unknown paths).
 * *content_type points to a static string. Called on the listener's thread. */
typedef int (*http_render_fn)(const char *path, metrics_buf *body, const char **content_type, void *arg);

typedef struct http_server http_server;

/* Listens on address:port (port 0: an ephemeral port, see http_port).
 * NULL with a message in errstr when the address cannot be bound. */
http_server *http_start(const char *address, int port, http_render_fn fn, void *arg,
                        char *errstr, size_t errstr_size);
int http_port(const http_server *s);
void http_stop(http_server *s);     /* NULL is fine */

#endif
