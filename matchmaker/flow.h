/* seatgate matchmaker: the connect flow, from an admitted request to a connect token.
 *
 *   0. write a create intent (session_intents bucket: player IP, time, a unique marker), so
 *      that a create whose answer is lost (or a crash before step 2) can be reconciled;
 *   1. create a seat (Edgegap session) for the player's IP;
 *   2. record it as unclaimed at once (sessions bucket, with a claim deadline), so nothing
 *      that fails later can leak it, then acknowledge (remove) the intent;
 *   3. wait for it: an immediate poll, then polls backing off from poll_first_ms to
 *      poll_max_ms; with a webhook, the webhook's wake-up poll, and polls every poll_max_ms
 *      only in case it is lost; a final failure, the deadline or the player
 *      hanging up ends the wait, and the session is deleted (durable delete queue);
 *   4. pick the port by name, draw a client id, mint the netcode token for
 *      public_ip:external_port with the session id in its user data;
 *   5. write connect_tokens and the session record, then answer 200
 *      (schemas/http/connect_response.schema.json).
 *
 * Single flight: while a player IP has a request waiting, further requests from that IP
 * join it and get the same answer (one session per player, not one per click).
 *
 * All flow state lives on one loop thread; orchestrator and store results are posted to
 * it. sg_flow_start and sg_flow_notify may be called from any thread.
 */
#ifndef SEATGATE_MM_FLOW_H
#define SEATGATE_MM_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "connect_call.h"
#include "fleet.h"
#include "geoip.h"
#include "seatgate/ledger.h"
#include "loop.h"
#include "metrics.h"
#include "platform/orchestrator.h"
#include "seatgate/jws.h"
#include "seatgate/keys.h"
#include "seatgate/token.h"
#include "workpool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a token's encrypted (server-checked) address list holds besides the public address
 * the player dials: nothing, the game server's bind address (0.0.0.0:<internal port>: a
 * lightyear 0.29 server checks its own address), or the bind address when the internal port
 * differs from the external one (a port mapping). */
typedef enum sg_flow_private_addrs {
    SG_FLOW_PRIVATE_AUTO = 0,
    SG_FLOW_PRIVATE_PUBLIC,
    SG_FLOW_PRIVATE_BIND
} sg_flow_private_addrs;

typedef struct sg_flow_options {
    sg_loop *loop;         /* borrowed; started by the caller */
    sg_orchestrator *orch; /* borrowed */
    sg_workpool *pool;     /* borrowed: runs store calls */
    /* Store calls made on the loop thread itself instead of the pool, those queued during
     * one loop turn together in one store batch (sg_store_batch_begin: one transaction and
     * one commit, no thread hand-off). Only for a store that has batches (SQLite). */
    bool store_on_loop;
    sg_ledger *ledger;     /* borrowed */
    sg_metrics *metrics;   /* borrowed */

    const sg_key *key; /* netcode private key (borrowed) */
    uint64_t protocol_id;
    int64_t token_expire_s;
    int32_t token_timeout_s;
    sg_token_dialect dialect;
    sg_flow_private_addrs private_addrs;

    const char *port_name;     /* NULL/"": the first port */
    long long wait_timeout_ms; /* from the request to a ready seat, at most */
    long long poll_first_ms;   /* first delay after the immediate poll */
    long long poll_max_ms;
    long long claim_grace_ms; /* unclaimed this long after the token expired: reaped */
    /* Create intents: the longest a create call may take (retries included), and how long
     * after that an intent left behind waits before it is reconciled. */
    long long intent_window_ms;
    long long reconcile_grace_ms;
    const char *webhook_url; /* sent to the orchestrator; NULL: polling only */
    const char *platform_title;   /* "Edgegap", "Agones": in error messages (static) */
    const char *exposure;         /* how players reach servers, for metrics and logs */
    /* Tokens handed out: the netcode connect token, and/or a signed seat token (JWS) made
     * with seat_keys (borrowed; NULL: none) and seat_kid, for seat_audience. */
    bool netcode_token;
    const sg_jws_keyset *seat_keys;
    const char *seat_kid;
    const char *seat_audience;
    /* Player authentication (borrowed; NULL: anonymous players). Calls that carry a bearer
     * token for the online check are checked on auth_pool first. */
    sg_auth *auth;
    sg_workpool *auth_pool;
    /* Placement: with a fleet view (borrowed; NULL: none) and a mode other than platform,
     * each create first decides where the player should play (placement.h). */
    sg_fleet *fleet;
    sg_geoip *geoip; /* borrowed; NULL: players' positions are unknown */
    sg_place_mode placement;
    double placement_budget_ms;
    double placement_fill_slack_ms;
    long long placement_stale_ms;
    bool legacy_error_codes;      /* platform errors as edgegap_* (the older names) */
    bool single_flight;
    int seats_per_player;       /* live seats one player (IP, IPv6 prefix) may hold (0: no cap);
                                 * a player who holds an unclaimed one gets it again */
    int ipv6_prefix;            /* IPv6 players sharing it are one player (1..128; 0: 64) */
    long long shutdown_wait_ms; /* sg_flow_shutdown waits this long for creates in flight
                                 * (0: 30 s); what is left is cut, its intent kept */
    const char *instance;      /* this matchmaker's id, in records */
    const char *app, *version; /* for records */
} sg_flow_options;

typedef struct sg_flow sg_flow;

/* Strings in o are copied. Errors: SG_E_INVALID, SG_E_NOMEM. */
sg_status sg_flow_new(const sg_flow_options *o, sg_flow **out);

/* Handles an admitted call (any thread): call->done runs once, later, on the loop thread. */
void sg_flow_start(sg_flow *f, sg_connect_call *call);

/* A webhook body (any thread): wakes the waiting request for that session. Returns 204, or
 * 400 when the body is not a session. */
int sg_flow_notify(sg_flow *f, const char *body, size_t len);

/* Answers every waiting request with 503 (shutting down), queues the deletion of their
 * sessions, and waits until the flow holds nothing. Call before stopping the server. */
void sg_flow_shutdown(sg_flow *f);

/* Requests and flights currently held (for tests and metrics). Any thread. */
size_t sg_flow_waiting(sg_flow *f);

void sg_flow_free(sg_flow *f); /* after sg_flow_shutdown */

/* How the seat was chosen, for the answer (NULL: placement is off). */
typedef struct sg_flow_placement {
    const char *decision; /* "joined", "new_server", "platform" */
    const char *location; /* the joined server's city ("" unknown) */
    bool has_rtt;
    double rtt_ms;
    const char *source; /* "measured", "geoip" */
} sg_flow_placement;

/* Builds the 200 answer body (schemas/http/connect_response.schema.json; flow_answer.c). */
char *sg_flow_answer_json(const sg_seat *seat, const sg_seat_port *port, const char *token_b64,
                          uint64_t client_id, uint64_t expires_at, const char *cert_digest,
                          const char *seat_token, const sg_flow_placement *placement);

#ifdef __cplusplus
}
#endif
#endif
