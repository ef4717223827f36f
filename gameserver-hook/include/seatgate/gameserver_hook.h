/* seatgate gameserver hook: verify players on connect, free their seat on disconnect, and
 * never stall the game loop.
 *
 * A game server links this library (libseatgate_gameserver_hook, shared or static; pkg-config
 * name `seatgate-gameserver-hook`) and creates one hook per game server instance. The hook:
 *   - at start, learns who this server is from its platform (Edgegap: the deployment's
 *     context; Agones: the GameServer from the SDK sidecar, then Ready and Health pings) and
 *     registers the server;
 *   - verifies each new connection (client id + source IP, and the session id from the
 *     token's user data when the transport exposes it): the session must exist, be ready,
 *     list the player's IP, belong to this deployment, and not be held by another
 *     connection anywhere (an atomic claim in the shared store);
 *   - on disconnect releases the claim, frees the seat (Edgegap: deletes the session; Agones:
 *     removes it from the GameServer's players List) and publishes an event;
 *   - publishes score events (score, kill...) for the leaderboard.
 *
 * Threading. All network work runs on the hook's own worker thread. The calls a game makes
 * from its loop (sg_hook_verify, sg_hook_disconnect, sg_hook_publish_score) only enqueue and
 * return at once; their results come back through sg_hook_poll, which the game calls each
 * tick: callbacks run inside it, on the thread that calls it. Queues are bounded: an enqueue
 * that finds the hook holding `queue-size` unfinished requests returns SG_E_FULL (the game
 * should refuse that connection). The *_wait variants block and are meant for tools and
 * tests; they must not be called from inside a callback.
 *
 * Several hooks may live in one process, each with its own store, Edgegap client and pace;
 * the only process-wide state is the log level and sink (below). One hook's calls
 * may come from any thread, but sg_hook_poll must not run on two threads at once, and
 * sg_hook_free must not race with any other call on the same hook.
 *
 * Errors are sg_status codes (seatgate/status.h); sg_last_error() explains the last one on
 * the calling thread. Secrets (API keys, NATS credentials) are never logged nor echoed.
 *
 * The ABI uses plain C types only: opaque handles, integers, NUL-terminated strings, and
 * structs passed by pointer whose layout is fixed (Rust: #[repr(C)]).
 */
#ifndef SEATGATE_GAMESERVER_HOOK_H
#define SEATGATE_GAMESERVER_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_HOOK_VERSION_MAJOR 0
#define SG_HOOK_VERSION_MINOR 2
#define SG_HOOK_VERSION_TEXT "0.2.0"

/* ------------------------------------------------------------------------------------------
 * Options: a set of named settings (the same names as the SEATGATE_* environment variables,
 * lower-case and dashed: "store-url" is SEATGATE_STORE_URL). docs/gameserver-hook.md has
 * the table. Edgegap's ARBITRIUM_* variables are settings too ("arbitrium-request-id").
 * ---------------------------------------------------------------------------------------- */

typedef struct sg_hook_options sg_hook_options;

/* New options holding the defaults into *out (NULL on error). Errors: SG_E_NOMEM. Free with
 * sg_hook_options_free. (Every *_new of the library returns a status and an out-parameter.) */
sg_status sg_hook_options_new(sg_hook_options **out);
void sg_hook_options_free(sg_hook_options *o);

/* Sets one setting (value copied; NULL unsets it). Errors: SG_E_INVALID naming an unknown
 * setting or a value that does not parse (a secret's value is never echoed). */
sg_status sg_hook_options_set(sg_hook_options *o, const char *name, const char *value);

/* Reads every setting from the environment: SEATGATE_<NAME> (secrets also from
 * SEATGATE_<NAME>_FILE) and the ARBITRIUM_* variables. Variables that are unset leave the
 * current value alone, so sg_hook_options_set calls made afterwards win.
 * Errors: SG_E_INVALID naming the variable, SG_E_IO when a secret file cannot be read. */
sg_status sg_hook_options_load_env(sg_hook_options *o);

/* The effective text of a setting ("" when unset; "(set)" for a secret that is set), or
 * NULL for an unknown name. Valid until the setting changes or the options are freed. */
const char *sg_hook_options_get(const sg_hook_options *o, const char *name);

/* Number of settings and their names, in table order (for tools that list them). */
size_t sg_hook_options_count(void);
const char *sg_hook_options_name(size_t index);

/* Describes setting `index` for help texts: its environment variable, default (NULL when
 * unset; never shown for secrets) and one-line help. Returns false past the last one. */
bool sg_hook_options_describe(size_t index, const char **env, const char **def,
                              const char **help, bool *secret);

/* The kind of value setting `index` takes, for help texts: "VALUE" (text), "N" (integer),
 * "BOOL" (true/false/1/0...), "DURATION" ("250ms", "5s", "2m") or "SIZE". False past the end. */
bool sg_hook_options_type(size_t index, const char **type);

/* ------------------------------------------------------------------------------------------
 * Logging. The hook writes one logfmt line per record ("ts=... level=warn comp=hook
 * event=start_retry status=unavailable ...") to stderr unless the game routes them into its
 * own logger with a sink. Both settings are process-wide (every hook in the process shares
 * them) and may be changed at any time; lines never hold secrets.
 * ---------------------------------------------------------------------------------------- */

typedef enum sg_hook_log_level {
    SG_HOOK_LOG_DEBUG = 0,
    SG_HOOK_LOG_INFO,
    SG_HOOK_LOG_WARN,
    SG_HOOK_LOG_ERROR,
    SG_HOOK_LOG_OFF
} sg_hook_log_level;

/* Lines below this level are dropped (default SG_HOOK_LOG_INFO). The log-level setting, when
 * given, does the same at sg_hook_new. */
void sg_hook_log_set_level(sg_hook_log_level level);

/* Receives each line (level, the text without a trailing newline, user). Called on the
 * thread that logs (often the hook's worker), one line at a time; it must not call back
 * into the hook. NULL restores stderr. */
typedef void (*sg_hook_log_fn)(int level, const char *line, void *user);
void sg_hook_log_set_sink(sg_hook_log_fn fn, void *user);

/* ------------------------------------------------------------------------------------------
 * Verdicts and reasons.
 * ---------------------------------------------------------------------------------------- */

typedef enum sg_hook_reason {
    SG_HOOK_ACCEPTED = 0,
    SG_HOOK_REJECT_INVALID,           /* client id 0, or a source IP that does not parse */
    SG_HOOK_REJECT_UNKNOWN_CLIENT,    /* no connect_tokens entry: unknown or expired client id */
    SG_HOOK_REJECT_SESSION_MISMATCH,  /* the token's session id is not the one recorded */
    SG_HOOK_REJECT_SESSION_GONE,      /* Edgegap no longer knows the session (deleted) */
    SG_HOOK_REJECT_SESSION_NOT_READY, /* the session is not Ready */
    SG_HOOK_REJECT_IP_MISMATCH,       /* the source IP is not in the session's session_ips */
    SG_HOOK_REJECT_WRONG_SERVER_IP,   /* the session's deployment has another public IP */
    SG_HOOK_REJECT_WRONG_SERVER_ID,   /* the session's deployment has another request id */
    SG_HOOK_REJECT_ALREADY_CONNECTED, /* another connection (here or elsewhere) holds it */
    SG_HOOK_REJECT_UNAVAILABLE,       /* a dependency failed (store, Edgegap), or stopping */
    SG_HOOK_REJECT_RATE_LIMITED,      /* too many verifications from this address (verify-rate) */
    SG_HOOK_REJECT_IP_LIMIT,          /* this address holds claims-per-ip connections here */
    SG_HOOK_REJECT_BAD_SEAT_TOKEN,    /* a seat token that does not verify: signature, key,
                                       * algorithm, times or audience (the message says which) */
    SG_HOOK_REJECT_SERVER_FULL,       /* this server holds as many players as its capacity */
    SG_HOOK_REASON_COUNT
} sg_hook_reason;

/* Stable snake_case name of a reason ("accepted", "ip_mismatch"...). Never NULL. */
const char *sg_hook_reason_name(sg_hook_reason reason);

/* The answer to a verification. Strings are NUL-terminated and never hold secrets. */
typedef struct sg_hook_verdict {
    uint64_t client_id;
    int32_t accepted;     /* 1 or 0 */
    int32_t reason;       /* an sg_hook_reason */
    char session_id[256]; /* "" when unknown */
    char source_ip[64];   /* normalised (IPv4-mapped IPv6 shown as IPv4) */
    char message[256];    /* human explanation */
} sg_hook_verdict;

/* ------------------------------------------------------------------------------------------
 * Lifecycle.
 * ---------------------------------------------------------------------------------------- */

typedef struct sg_hook sg_hook;

/* Creates a hook from options (copied; the options may be freed afterwards) and starts its
 * worker thread, which at once begins the start sequence: learn who this server is (Edgegap:
 * the deployment context, retried while Edgegap does not have it yet; Agones: the
 * GameServer from the SDK sidecar, retried while the sidecar is not up), write `contexts`
 * and `gameserver`, publish server-up (on Agones then call Ready), then keep the gameserver
 * record alive with heartbeats. Requests made before the start completes wait for it. The
 * platform is the `platform` setting, or told from the environment: AGONES_SDK_HTTP_PORT
 * (Agones) or ARBITRIUM_CONTEXT_URL (Edgegap, which also needs ARBITRIUM_CONTEXT_TOKEN).
 * Errors: SG_E_INVALID (a missing or bad setting, named), SG_E_NOMEM, SG_E_INTERNAL
 * (thread creation). */
sg_status sg_hook_new(const sg_hook_options *options, sg_hook **out);

/* Blocks until the start sequence has finished (or timeout_ms passed; <0 waits forever).
 * Returns SG_OK once started, the start's error (SG_E_UNAVAILABLE, SG_E_UNAUTHORIZED...) if
 * it gave up, or SG_E_TIMEOUT. For tools and for servers that want to be registered before
 * they open their port. */
sg_status sg_hook_wait_started(sg_hook *h, int timeout_ms);

/* Stops the hook: refuses new requests (SG_E_UNAVAILABLE), finishes the queued ones (their
 * callbacks run at the next sg_hook_poll), completes or hands over pending Edgegap deletes
 * to the durable queue within timeout_ms (< 0: the stop-timeout setting), removes the gameserver
 * record and publishes server-down. Blocking; idempotent. Returns SG_OK, or SG_E_TIMEOUT when work
 * remained (what was left is in the durable delete queue when the store was reachable). */
sg_status sg_hook_stop(sg_hook *h, int timeout_ms);

/* Stops the hook (with the stop-timeout setting) if not done, joins the worker, runs no
 * further callbacks and frees everything. NULL is fine. */
void sg_hook_free(sg_hook *h);

/* ------------------------------------------------------------------------------------------
 * Game-loop calls: enqueue and return at once. Errors common to all: SG_E_FULL (queue-size
 * requests unfinished), SG_E_UNAVAILABLE (stopping or stopped), SG_E_INVALID (bad input).
 * ---------------------------------------------------------------------------------------- */

/* Called from sg_hook_poll with the verdict (valid during the call only). */
typedef void (*sg_hook_verify_fn)(const sg_hook_verdict *verdict, void *user);

/* Queues the verification of a new connection. source_ip: text ("203.0.113.7",
 * "::ffff:203.0.113.7", "[2001:db8::1]:5000"; a port is ignored). session_id: the session
 * id from the token's user data (sg_hook_session_from_user_data), or NULL when the
 * transport does not expose it. cb (required) runs exactly once, inside a later
 * sg_hook_poll, unless the hook is freed first. */
sg_status sg_hook_verify(sg_hook *h, uint64_t client_id, const char *source_ip,
                         const char *session_id, sg_hook_verify_fn cb, void *user);

/* Queues the verification of a connection that presents a signed seat token (the
 * matchmaker's seat_token, for games that do not speak netcode: TCP, WebSocket) instead of a
 * netcode connect token. The token (len bytes, copied) is checked on the worker against the
 * seat-token-keys key set: signature, key and algorithm, exp/nbf/iat with seat-token-leeway,
 * aud against seat-token-audience (when set), all refused as bad_seat_token with the reason
 * in the message; then instanceId must be this server (else wrong_server_id), ip the source
 * address (else ip_mismatch), and its client id (jti) and seat (sid) go through the same
 * checks and atomic claim as sg_hook_verify, so a token is used once. The verdict's
 * client_id is the token's (0 when it did not verify). */
sg_status sg_hook_verify_seat_token(sg_hook *h, const char *token, size_t len,
                                    const char *source_ip, sg_hook_verify_fn cb, void *user);

/* Reads the session id the matchmaker wrote into a connect token's 256 bytes of user data
 * (a length byte, then that many printable ASCII characters) into out (NUL-terminated).
 * Errors: SG_E_MALFORMED (no session id there: length 0, or a byte outside '!'..'~'),
 * SG_E_TOO_LARGE (out too small; 256 bytes always suffice), SG_E_INVALID (NULL). */
sg_status sg_hook_session_from_user_data(const uint8_t user_data[256], char *out, size_t size);

/* Why a player left (published with player-disconnect). */
typedef enum sg_hook_disconnect_reason {
    SG_HOOK_DISCONNECT_GOODBYE = 0, /* the client said goodbye */
    SG_HOOK_DISCONNECT_TIMEOUT,     /* the client went silent */
    SG_HOOK_DISCONNECT_KICKED,      /* the game removed the player */
    SG_HOOK_DISCONNECT_SERVER_STOP, /* the server is shutting down */
    SG_HOOK_DISCONNECT_ERROR,       /* transport or protocol error */
    SG_HOOK_DISCONNECT_REASON_COUNT
} sg_hook_disconnect_reason;

/* Stable snake_case name ("goodbye", "timeout", "kicked", "server_stop", "error"); "unknown"
 * for anything else. Never NULL. */
const char *sg_hook_disconnect_reason_name(int reason);

/* Called from sg_hook_poll when a disconnect or an event has been processed: status SG_OK,
 * or what went wrong (SG_E_NOT_FOUND: the client is not connected here). For a disconnect,
 * a session delete that could not be done now has been queued durably (or is retried by the
 * hook) and completes later: nothing more for the game to do. */
typedef void (*sg_hook_done_fn)(uint64_t client_id, sg_status status, void *user);

/* Queues the disconnect of an accepted client: releases its claim, deletes its Edgegap
 * session (directly with an API key, else through the matchmaker's delete queue), and
 * publishes player-disconnect with the reason (an sg_hook_disconnect_reason). cb may be
 * NULL. A client id this hook never accepted completes with SG_E_NOT_FOUND. */
sg_status sg_hook_disconnect(sg_hook *h, uint64_t client_id, int reason, sg_hook_done_fn cb,
                             void *user);

/* Queues a score event for an accepted client, published tagged with its session id and
 * client id: kind is short snake_case ("score", "kill"...), value an integer (|value| <=
 * 2^53), target_client_id the other player involved (0 for none). cb may be NULL; it gets
 * SG_E_NOT_FOUND when the client is not connected here. */
sg_status sg_hook_publish_score(sg_hook *h, uint64_t client_id, const char *kind, int64_t value,
                                uint64_t target_client_id, sg_hook_done_fn cb, void *user);

/* Runs the callbacks of every finished request, at most max of them (max <= 0: all), on
 * the calling thread. Returns how many ran. Cheap when there is nothing (no syscall). */
int sg_hook_poll(sg_hook *h, int max);

/* A file descriptor that becomes readable when sg_hook_poll has work (for games that wait
 * in poll/epoll). Reading it is sg_hook_poll's business; -1 when unavailable. */
int sg_hook_poll_fd(const sg_hook *h);

/* ------------------------------------------------------------------------------------------
 * Blocking variants for tools and tests. Never call them from a callback.
 * ---------------------------------------------------------------------------------------- */

/* Verifies and waits (timeout_ms < 0: forever). Returns SG_OK with *out filled (accepted
 * or not), or SG_E_FULL / SG_E_UNAVAILABLE / SG_E_INVALID / SG_E_TIMEOUT (the request then
 * still completes in the background, and an accepted connection is disconnected at once). */
sg_status sg_hook_verify_wait(sg_hook *h, uint64_t client_id, const char *source_ip,
                              const char *session_id, int timeout_ms, sg_hook_verdict *out);

/* Disconnects and waits; returns the status the callback would get, or SG_E_TIMEOUT. */
sg_status sg_hook_disconnect_wait(sg_hook *h, uint64_t client_id, int reason, int timeout_ms);

/* ------------------------------------------------------------------------------------------
 * Inspection (any thread; cheap: reads the hook's own state, no network).
 * ---------------------------------------------------------------------------------------- */

typedef struct sg_hook_stats {
    uint64_t verifies; /* verifications completed */
    uint64_t accepted;
    uint64_t rejected[SG_HOOK_REASON_COUNT]; /* by reason; [0] unused */
    uint64_t disconnects;
    uint64_t deletes_done;   /* Edgegap sessions deleted (or already gone) */
    uint64_t deletes_queued; /* deletes handed to the durable queue */
    uint64_t events_published;
    uint64_t full;    /* enqueues refused with SG_E_FULL */
    uint32_t players; /* connections currently held */
    uint32_t pending; /* requests enqueued and not yet polled */
    int32_t started;  /* 1 once the start sequence succeeded */
    int32_t stopped;
    uint64_t quiet; /* refusals repeated from memory or rate limited: no I/O, no event */
} sg_hook_stats;

void sg_hook_get_stats(sg_hook *h, sg_hook_stats *out);

/* Copies the deployment context JSON fetched at start into a new malloc()ed string (*out;
 * free() it). Errors: SG_E_NOT_FOUND before the start sequence fetched it. */
sg_status sg_hook_context_json(sg_hook *h, char **out);

/* Copies the connections this hook holds as a JSON array into a new malloc()ed string:
 * [{"client_id":"...","session_id":"...","ip":"...","since":unix_seconds}, ...]. */
sg_status sg_hook_sessions_json(sg_hook *h, char **out);

#ifdef __cplusplus
}
#endif
#endif
