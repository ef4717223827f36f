/* seatgate matchmaker: where seats come from.
 *
 * An orchestrator reserves a seat on a game server for one player, tells when it is ready
 * and where to connect, and releases it. Edgegap (sessions as seats) and Agones (a
 * player slot on an allocated GameServer) implement the same table, so the HTTP layer and the
 * connect flow never change with the backend.
 *
 * Like sqlite3_io_methods, the interface is a versioned table of function pointers over an
 * opaque self. Every operation is asynchronous: it returns at once and calls its completion
 * callback exactly once, on the orchestrator's own thread (or, once attached, on the thread
 * that calls step); only an operation that cannot
 * even start (invalid input, out of memory) calls back inside the call, on the caller's
 * thread. Callbacks must be quick and must not block; they usually post to the caller's loop.
 * The operations may be called from any thread. The result and seat passed to a callback
 * are valid during the call only.
 */
#ifndef SEATGATE_MM_ORCHESTRATOR_H
#define SEATGATE_MM_ORCHESTRATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_SEAT_ID_MAX 128
#define SG_SEAT_MAX_PORTS 16
#define SG_SEAT_MAX_PLAYERS 4
#define SG_SEAT_MARKER_MAX 33 /* a create intent marker (32 hex digits) and its NUL */

typedef enum sg_seat_state {
    SG_SEAT_PENDING = 0, /* still being placed: poll again */
    SG_SEAT_READY,       /* the player may connect */
    SG_SEAT_FAILED       /* final: the backend gave up (message in sg_seat.error) */
} sg_seat_state;

typedef struct sg_seat_port {
    char name[64];
    int external; /* what the player connects to; -1 when unknown */
    int internal;
    char protocol[16]; /* "UDP", "TCP", "WS"... */
} sg_seat_port;

typedef struct sg_seat_location {
    char city[64], country[64], continent[64], administrative_division[64], timezone[64];
    double latitude, longitude;
    bool has_coordinates;
} sg_seat_location;

typedef struct sg_seat {
    char id[SG_SEAT_ID_MAX]; /* the backend's id (Edgegap session id) */
    sg_seat_state state;
    char status[32];    /* the backend's own word for it ("Seeking", "Ready") */
    char error[160];    /* why it failed, "" otherwise; never secret */
    char server_id[64]; /* the game server (Edgegap deployment request id) */
    char public_ip[64];
    char fqdn[256];
    /* Behind a gateway: the URL players dial and the route it forwards by ("" otherwise). */
    char gateway_url[256];
    char route[SG_SEAT_ID_MAX];
    sg_seat_port ports[SG_SEAT_MAX_PORTS];
    size_t port_count;
    sg_seat_location location;
    /* For reconciliation (a seat whose id was never learned): */
    char player_ips[SG_SEAT_MAX_PLAYERS][46]; /* the players it was made for */
    size_t player_ip_count;
    long long created_ms;            /* when the backend made it (unix ms); 0 when unknown */
    char marker[SG_SEAT_MARKER_MAX]; /* the creating request's marker, when echoed; else "" */
    bool other_game; /* inspect_seat only: the backend knows it is not of this game */
} sg_seat;

/* The outcome of one operation. Errors follow the Edgegap client's classes:
 * SG_E_BAD_REQUEST, SG_E_UNAUTHORIZED, SG_E_CONFLICT (refused), SG_E_NOT_FOUND (no such seat),
 * SG_E_RATE_LIMITED (retry_after_ms), SG_E_SERVER, SG_E_TIMEOUT, SG_E_NETWORK (unavailable),
 * SG_E_MALFORMED (unreadable answer), SG_E_UNAVAILABLE (shutting down). */
typedef struct sg_orch_result {
    sg_status status;
    int http_status;          /* 0 when none */
    long long retry_after_ms; /* -1 when none */
    long long latency_us;
    bool ambiguous; /* create only: a seat may exist although the call failed */
    char message[256];
} sg_orch_result;

typedef struct sg_seat_request {
    const char *player_ip;        /* bare IP text */
    const char *const *selectors; /* deployment tags to filter on (may be NULL) */
    size_t selector_count;
    const char *webhook_url; /* where the backend reports the seat (NULL: none) */
    /* A unique marker of this create (its intent), attached to the seat where the backend can
     * (Edgegap: inside webhook_url, so only with a webhook) and read back into
     * sg_seat.marker: a seat whose create answer was lost is then matched exactly. NULL:
     * none. */
    const char *marker;
    /* Placement (flow.c): join this server (Edgegap: deployment_request_id; NULL: the
     * platform picks), and the player's position when known (Edgegap: geo_ip_list).
     * Backends that cannot honour them ignore them (Agones: the allocator's own packing). */
    const char *server_id;
    bool has_position;
    double latitude, longitude;
} sg_seat_request;

typedef void (*sg_orch_created_fn)(const sg_orch_result *r, const char *seat_id, void *user);
typedef void (*sg_orch_polled_fn)(const sg_orch_result *r, const sg_seat *seat, void *user);
typedef void (*sg_orch_done_fn)(const sg_orch_result *r, void *user);
/* One page of seat ids (valid during the call); has_next when a later page exists. */
typedef void (*sg_orch_listed_fn)(const sg_orch_result *r, const char *const *ids, size_t count,
                                  bool has_next, void *user);

typedef struct sg_orchestrator_ops {
    int version; /* 2: inspect_seat added; 3: queue added; 4: attach, step, detach */
    const char *name;
    /* Reserves a seat; seat_id is set when r->status is SG_OK. */
    void (*create_seat)(void *self, const sg_seat_request *req, sg_orch_created_fn cb, void *user);
    /* Reads a seat's state; seat is set when r->status is SG_OK. */
    void (*poll_seat)(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user);
    /* Frees a seat. SG_OK also when the backend says it is already gone. */
    void (*release_seat)(void *self, const char *seat_id, sg_orch_done_fn cb, void *user);
    /* Lists the seats the backend holds, one page at a time (page from 1). Used to find
     * seats nobody recorded (a create whose answer was lost). */
    void (*list_seats)(void *self, int page, sg_orch_listed_fn cb, void *user);
    /* Reads any seat of the backend (found by list_seats) for reconciliation: like
     * poll_seat, and also sets sg_seat.other_game when the backend can tell the seat belongs
     * to another game. Never used to learn anything about this game's own seats. */
    void (*inspect_seat)(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user);
    /* Checks that the configured game (Edgegap app version) exists and is active. */
    void (*check)(void *self, sg_orch_done_fn cb, void *user);
    /* Parses a push notification body (Edgegap webhook) into a seat, synchronously.
     * Errors: SG_E_MALFORMED. May be NULL when the backend has none. */
    sg_status (*parse_notification)(void *self, const char *body, size_t len, sg_seat *out);
    /* Requests still pending complete with SG_E_UNAVAILABLE before this returns. */
    void (*destroy)(void *self);
    /* How long a create submitted now would wait in line for the backend's own pace (ms),
     * and the calls ahead of it; synchronous, any thread. May be NULL (no pace). */
    void (*queue)(void *self, long long *wait_ms, int *ahead);
    /* Driving the backend from the caller's own loop (version 4; all three NULL: the backend
     * keeps its own thread). attach: the backend's thread stops (calls in flight go on) and
     * from then on the caller calls step, again and again, on one thread: it moves the
     * backend's transfers along, runs due retries and completion callbacks (on that
     * thread), and waits at most timeout_ms for the backend's sockets or for fd (the
     * caller's own, an epoll fd for instance; -1: none) to become readable. Calls submitted
     * from that thread wake nothing: they start at its next step. detach: the caller will
     * not call step again; destroy may follow, and completes what is pending itself. */
    sg_status (*attach)(void *self);
    void (*step)(void *self, int fd, int timeout_ms);
    void (*detach)(void *self);
} sg_orchestrator_ops;

typedef struct sg_orchestrator {
    const sg_orchestrator_ops *ops;
    void *self;
} sg_orchestrator;

/* Finds a port by name (first port when name is NULL or empty). NULL when absent. */
const sg_seat_port *sg_seat_find_port(const sg_seat *seat, const char *name);

/* Stable name of a seat state ("pending", "ready", "failed"). */
const char *sg_seat_state_name(sg_seat_state st);

#ifdef __cplusplus
}
#endif
#endif
