/* seatgate matchmaker: what one client may do with HTTP connections.
 *
 * Two defences against clients that hold connections without finishing requests
 * (slowloris), which an idle timeout alone does not stop because every byte resets it:
 *   - a cap on concurrent connections per client address (IPv6 by prefix, as admission
 *     groups players): the connection past the cap is closed at once;
 *   - deadlines that bytes do not extend: a request's head (request line and headers) must
 *     be complete within head_timeout of its first byte being expected, its body within
 *     body_timeout of the head. A connection that misses one is shut down.
 * Waiting /connect-me requests (suspended) and keep-alive idle time are not covered: the
 * first is the flow's business, the second the idle timeout's.
 *
 * The server calls sg_conn_guard_open/_close from libmicrohttpd's connection notifications
 * and _phase as a request moves on; a thread checks the deadlines twice a second. A shut
 * down socket is only ever one the guard still tracks: libmicrohttpd reports a connection
 * closed before it closes its socket, and both sides take the guard's lock. Thread-safe.
 */
#ifndef SEATGATE_MM_CONN_GUARD_H
#define SEATGATE_MM_CONN_GUARD_H

#include <stddef.h>
#include <sys/socket.h>

#include "metrics.h"
#include "seatgate/addr.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_conn_guard_options {
    unsigned per_ip_limit;     /* concurrent connections per client address (0: no cap) */
    int ipv6_prefix;           /* IPv6 clients sharing this prefix share the cap (1..128) */
    long long head_timeout_ms; /* 0: no head deadline */
    long long body_timeout_ms; /* 0: no body deadline */
    const sg_cidr *exempt;     /* addresses without a cap (trusted proxies); borrowed */
    size_t exempt_count;
    sg_metrics *metrics; /* borrowed; may be NULL */
} sg_conn_guard_options;

typedef struct sg_conn_guard sg_conn_guard;
typedef struct sg_conn_track sg_conn_track;

typedef enum sg_conn_phase {
    SG_CONN_IDLE = 0, /* between requests, or waiting for the handler: no deadline */
    SG_CONN_HEAD,     /* reading a request head: head_timeout from now */
    SG_CONN_BODY      /* reading a request body: body_timeout from now */
} sg_conn_phase;

/* Errors: SG_E_INVALID, SG_E_NOMEM, SG_E_INTERNAL (thread). */
sg_status sg_conn_guard_new(const sg_conn_guard_options *o, sg_conn_guard **out);
void sg_conn_guard_free(sg_conn_guard *g); /* NULL is fine; after the server stopped */

/* A new connection on socket fd from peer: starts tracking it in the HEAD phase. Returns the
 * track (NULL when out of memory: the connection is then not guarded). When the address is
 * over its cap, the socket is shut down here and the track says so. */
sg_conn_track *sg_conn_guard_open(sg_conn_guard *g, int fd, const struct sockaddr *peer);
/* The connection is closed (its socket is about to be). NULL is fine. */
void sg_conn_guard_close(sg_conn_guard *g, sg_conn_track *t);
/* The request on it moved on (NULL is fine). */
void sg_conn_guard_phase(sg_conn_guard *g, sg_conn_track *t, sg_conn_phase phase);

#ifdef __cplusplus
}
#endif
#endif
