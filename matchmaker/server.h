/* seatgate matchmaker: the HTTP service (libmicrohttpd).
 *
 * Routes
 *   POST    /connect-me         a seat and a connect token (the connect handler decides)
 *   OPTIONS /connect-me         CORS preflight
 *   GET     /healthz            200 while the process runs
 *   GET     /readyz             200 when the handler says ready, else 503 with the reason
 *   GET     /metrics            Prometheus text
 *   POST    <webhook path>      Edgegap's session webhook (only when a path is configured)
 * Unknown paths answer 404, known paths with another method 405 (with Allow). Errors are
 * JSON (reply.h).
 *
 * Before a /connect-me reaches the handler the server parses its body (connect_request.h),
 * finds the player's IP (client_ip.h) and applies admission control (admission.h). The
 * waiting request holds no thread: its connection is suspended until the handler calls
 * done(). libmicrohttpd runs its own epoll thread (or a pool of them).
 */
#ifndef SEATGATE_MM_SERVER_H
#define SEATGATE_MM_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "admission.h"
#include "auth.h"
#include "client_ip.h"
#include "connect_call.h"
#include "connect_request.h"
#include "cors.h"
#include "metrics.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_server_options {
    const char *listen_address; /* "::" (both IPv4 and IPv6), "0.0.0.0", "127.0.0.1"... */
    int port;                   /* 0 picks a free port (see sg_server_port) */
    const char *tls_cert_pem;   /* both set: HTTPS (contents, not paths); NULL: plain HTTP */
    const char *tls_key_pem;
    unsigned connection_limit;     /* concurrent connections */
    size_t connection_memory;      /* per-connection buffer (headers, answers in progress) */
    unsigned connection_timeout_s; /* idle connections (not waiting requests) close after */
    unsigned threads;              /* HTTP threads (1: one epoll thread) */
    unsigned per_ip_connections;   /* concurrent connections per client address (0: no cap;
                                    * trusted proxies are never capped) */
    long long head_timeout_ms;     /* a request head must be complete within this (0: none) */
    long long body_timeout_ms;     /* its body within this of the head (0: none) */
    int ipv6_prefix;               /* IPv6 clients sharing it share the cap (0: 64) */
    size_t max_webhook_body;
    const char *webhook_path; /* "/edgegap/webhook/<secret>" or NULL; compared in constant time */

    sg_connect_body_options body;
    sg_client_ip_options client_ip;
    const sg_cors *cors;     /* borrowed */
    sg_admission *admission; /* borrowed */
    sg_auth *auth;           /* borrowed; NULL: players are anonymous */
    sg_metrics *metrics;     /* borrowed */
    sg_connect_handler handler;
} sg_server_options;

typedef struct sg_server sg_server;

/* Starts listening. Errors: SG_E_INVALID (options), SG_E_IO (cannot listen; the message
 * says where), SG_E_NOMEM. */
sg_status sg_server_start(const sg_server_options *o, sg_server **out);

/* The port actually bound. */
int sg_server_port(const sg_server *s);
bool sg_server_tls(const sg_server *s);

/* Stops accepting new connections (for a graceful stop); waiting requests continue. */
void sg_server_quiesce(sg_server *s);

/* Stops the server. Every suspended request must have been completed (done() called)
 * before; the caller ends the handler's work first. */
void sg_server_stop(sg_server *s);

#ifdef __cplusplus
}
#endif
#endif
