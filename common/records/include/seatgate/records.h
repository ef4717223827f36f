/* seatgate: what goes into the store's buckets, its delete queue and its events, as typed C
 * structs with one JSON form each (the contracts in schemas/).
 *
 *   bucket/queue/event        key                value
 *   connect_tokens            client id (decimal) session id as plain text
 *   sessions                  session id          sg_session_record
 *   contexts                  game server FQDN    Edgegap context JSON, passed through
 *   gameserver                game server FQDN    sg_gameserver_record
 *   queue session_deletes     -                   sg_delete_job
 *   session_intents           intent marker       sg_create_intent
 *   events <app>.events.<kind> -                  sg_event
 *
 * Every *_to_json checks the struct first and refuses to write an invalid one (SG_E_INVALID
 * naming the field), so nothing that breaks the schema reaches the store. Every *_from_json
 * is a tolerant reader of untrusted text: unknown fields are ignored, missing or ill-typed
 * required fields and over-long strings are SG_E_MALFORMED naming the field.
 * Strings are copied into fixed-size arrays: structs need no freeing. *_to_json returns a
 * malloc()ed, NUL-terminated compact JSON text (free() it). Thread-safe (no shared state).
 *
 * Client ids are unsigned 64-bit and travel as decimal strings: JSON numbers above 2^53 lose
 * precision in most readers. Timestamps are unix milliseconds.
 */
#ifndef SEATGATE_RECORDS_H
#define SEATGATE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/kv.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_REC_ID_MAX 128    /* session ids, request ids (with NUL) */
#define SG_REC_FQDN_MAX 254  /* host names, sources (with NUL) */
#define SG_REC_IP_MAX 46     /* textual IPv4/IPv6 (with NUL) */
#define SG_REC_NAME_MAX 64   /* short names: app, version, reasons, port names, places */
#define SG_REC_TEXT_MAX 256  /* human messages */
#define SG_REC_PORTS_MAX 16  /* ports per game server */
#define SG_REC_DIGEST_LEN 64 /* hex SHA-256 */
#define SG_REC_USER_MAX 65   /* authenticated user ids (with NUL) */

/* Well-known bucket and queue names (prefixed with the app by the store). */
/* The name of the game port every component looks for by default (the simulator's
 * deployments, the hook, the example server, the matchmaker's port-name). */
#define SG_DEFAULT_PORT_NAME "game"

#define SG_BUCKET_CONNECT_TOKENS "connect_tokens"
#define SG_BUCKET_SESSIONS "sessions"
#define SG_BUCKET_CONTEXTS "contexts"
#define SG_BUCKET_GAMESERVER "gameserver"
#define SG_QUEUE_SESSION_DELETES "session_deletes"
#define SG_BUCKET_SESSION_INTENTS "session_intents"
#define SG_BUCKET_PLAYER_SEATS "player_seats"

/* Canonical options of the shared buckets and the delete queue. Whoever creates a bucket or
 * the queue first fixes its configuration, so every process (matchmaker, game server hook,
 * tools) opens them with these:
 *
 *   connect_tokens   TTL SG_CONNECT_TOKENS_TTL_MS: the longest token lifetime the
 *                    matchmaker accepts (--token-expire, at most SG_TOKEN_EXPIRE_MAX_S)
 *                    plus 30 s of slack, so an entry outlives its token
 *   sessions         no TTL (the reaper and delete jobs remove records)
 *   contexts         no TTL
 *   gameserver       TTL SG_GAMESERVER_TTL_MS = the longest --server-stale, so a record
 *                    rewritten by every heartbeat is still there when the matchmaker decides
 *                    whether its server went silent; records of servers gone for a day vanish
 *   session_intents  TTL 24 h (bounds what removed intents leave behind)
 *   session_deletes  lease SG_DELETE_LEASE_DEFAULT_MS (the matchmaker may ask for its
 *                    --delete-lease; the creator's lease stays in force)
 *
 * History is 1, replicas 0 (= the store's kv-replicas), create true. */
#define SG_TOKEN_EXPIRE_MAX_S 3600
#define SG_CONNECT_TOKENS_TTL_MS ((SG_TOKEN_EXPIRE_MAX_S + 30) * 1000LL)
#define SG_SERVER_STALE_MAX_MS (24 * 3600 * 1000LL)
#define SG_GAMESERVER_TTL_MS SG_SERVER_STALE_MAX_MS
#define SG_SESSION_INTENTS_TTL_MS (24 * 3600 * 1000LL)
#define SG_PLAYER_SEATS_TTL_MS (24 * 3600 * 1000LL)
#define SG_DELETE_LEASE_DEFAULT_MS 30000LL

/* Fills *out with the canonical options of shared bucket `name` (an SG_BUCKET_* name).
 * SG_E_INVALID for any other name (*out then holds sg_bucket_options_init's defaults). */
sg_status sg_bucket_default_options(const char *name, sg_bucket_options *out);

/* Fills *out with the canonical options of shared queue `name` (SG_QUEUE_SESSION_DELETES).
 * SG_E_INVALID for any other name (*out then holds sg_queue_options_init's defaults). */
sg_status sg_queue_default_options(const char *name, sg_queue_options *out);

typedef struct sg_location {
    char city[SG_REC_NAME_MAX];
    char country[SG_REC_NAME_MAX];
    char continent[SG_REC_NAME_MAX];
    bool has_coords;
    double latitude, longitude;
} sg_location;

/* ---- sessions ----------------------------------------------------------------------------- */

typedef enum sg_session_state {
    SG_SESSION_UNCLAIMED = 0, /* created at Edgegap, player not connected yet */
    SG_SESSION_CLAIMED,       /* a game server accepted the player */
    SG_SESSION_RELEASED       /* the player left; the Edgegap session is being deleted */
} sg_session_state;

typedef struct sg_deployment_ref {
    char request_id[SG_REC_ID_MAX];
    char public_ip[SG_REC_IP_MAX];
    char fqdn[SG_REC_FQDN_MAX];
    uint16_t port;                  /* external port the player connects to */
    char protocol[SG_REC_NAME_MAX]; /* "UDP", "TCP", "WS"... */
    bool has_location;
    sg_location location;
} sg_deployment_ref;

typedef struct sg_session_record {
    char session_id[SG_REC_ID_MAX]; /* required; a valid store key */
    sg_session_state state;         /* required */
    long long created_at;           /* required, unix ms */
    long long claim_deadline;       /* required: unclaimed past this, the reaper deletes it */
    uint64_t client_id;             /* 0 = not yet drawn */
    char player_ip[SG_REC_IP_MAX];
    char app[SG_REC_NAME_MAX];
    char version[SG_REC_NAME_MAX];
    char claimed_by_fqdn[SG_REC_FQDN_MAX]; /* set when claimed (with claimed_at) */
    char claimed_by_request_id[SG_REC_ID_MAX];
    long long claimed_at; /* 0 = absent */
    long long released_at;
    char release_reason[SG_REC_NAME_MAX];
    bool has_deployment;
    sg_deployment_ref deployment;
    char matchmaker[SG_REC_FQDN_MAX]; /* instance id of the matchmaker that created it */
    char user_id[SG_REC_USER_MAX];    /* the authenticated player ("" = anonymous) */
    /* How the seat was chosen (placement setting): "" none recorded, "joined" (a server
     * with room near the player), "new_server" (the platform asked for one near them),
     * "platform" (the platform's own choice); the chosen server's location and the RTT
     * estimate, with where it came from ("measured", "geoip"). */
    char placement[16];
    char placement_location[SG_REC_NAME_MAX];
    bool has_placement_rtt;
    double placement_rtt_ms;
    char placement_source[16];
} sg_session_record;

/* Whether s is a usable user id: 1..64 characters of A-Z a-z 0-9 and . _ : @ | + -
 * (a Nakama UUID, an OpenID Connect "sub" such as "auth0|5f7c..."). */
bool sg_user_id_valid(const char *s);

/* A fixed-size key for an authenticated player, of the same size as an address key
 * (seatgate/addr.h) and never equal to one: 'u', then 16 bytes of a BLAKE2b digest of the
 * id. Rate buckets and single flight key on it. */
#define SG_USER_KEY_BYTES 17
void sg_user_key(const char *user_id, uint8_t key[SG_USER_KEY_BYTES]);

const char *sg_session_state_name(sg_session_state st);
sg_status sg_session_to_json(const sg_session_record *r, char **out);
sg_status sg_session_from_json(const char *json, size_t len, sg_session_record *out);

/* ---- game servers ------------------------------------------------------------------------- */

typedef struct sg_port {
    char name[SG_REC_NAME_MAX];
    uint16_t external, internal;
    char protocol[SG_REC_NAME_MAX];
} sg_port;

typedef struct sg_gameserver_record {
    char request_id[SG_REC_ID_MAX];
    char fqdn[SG_REC_FQDN_MAX];
    char public_ip[SG_REC_IP_MAX];
    sg_port ports[SG_REC_PORTS_MAX];
    size_t port_count; /* at least 1 */
    bool has_location;
    sg_location location;
    int capacity;                            /* seats */
    int players;                             /* connected now */
    char cert_digest[SG_REC_DIGEST_LEN + 1]; /* "" or lower-case hex SHA-256 */
    long long started_at, heartbeat_at;
} sg_gameserver_record;

/* A WebTransport certificate digest as lightyear's WASM client takes it: the SHA-256 of the
 * leaf certificate as 64 hex digits, no colons. Accepts upper or lower case, with or without
 * the colons wtransport prints ("AB:CD:..."), and writes 64 lower-case hex digits into out.
 * Errors: SG_E_INVALID saying what is wrong (a length other than 32 bytes, a bad character). */
sg_status sg_cert_digest_normalize(const char *in, char out[SG_REC_DIGEST_LEN + 1]);

sg_status sg_gameserver_to_json(const sg_gameserver_record *r, char **out);
sg_status sg_gameserver_from_json(const char *json, size_t len, sg_gameserver_record *out);

/* ---- contexts (Edgegap's JSON, passed through) -------------------------------------------- */

typedef struct sg_context_info {
    char request_id[SG_REC_ID_MAX];
    char public_ip[SG_REC_IP_MAX];
    char fqdn[SG_REC_FQDN_MAX];
    size_t port_count;
} sg_context_info;

/* Checks that a context JSON holds request_id, public_ip, fqdn and a ports object (each
 * port an object with an integer "external"), and reports those fields. Extra fields are
 * allowed: the text is stored as it came. out may be NULL. */
sg_status sg_context_check(const char *json, size_t len, sg_context_info *out);

/* ---- connect tokens ----------------------------------------------------------------------- */

/* Key of a client id in connect_tokens: its decimal form (buf of at least 21 bytes). */
const char *sg_connect_token_key(uint64_t client_id, char *buf, size_t size);

/* Checks a connect_tokens value (a session id, plain text) and copies it NUL-terminated. */
sg_status sg_connect_token_value_parse(const char *v, size_t len, char *session_id, size_t size);

/* Parses a decimal client id (1..2^64-1, no sign, no leading zeros). */
sg_status sg_client_id_parse(const char *text, uint64_t *out);

/* ---- session delete jobs ------------------------------------------------------------------ */

typedef struct sg_delete_job {
    char session_id[SG_REC_ID_MAX];
    char reason[SG_REC_NAME_MAX]; /* snake_case: "player_left", "claim_expired"... */
    long long enqueued_at;
    char requested_by[SG_REC_FQDN_MAX]; /* matchmaker instance or game server FQDN */
} sg_delete_job;

sg_status sg_delete_job_to_json(const sg_delete_job *j, char **out);
sg_status sg_delete_job_from_json(const char *json, size_t len, sg_delete_job *out);

/* ---- session create intents --------------------------------------------------------------- */

/* Written before a session is created, removed once the session is recorded (or the create
 * failed without creating anything). One left behind means the session's id may never have
 * been learned: after reconcile_after it is reconciled (sessions for that player IP created
 * in [created_at, created_at + window_ms] without a record are deleted). */
#define SG_INTENT_MARKER_LEN 32 /* lower-case hex */

typedef struct sg_create_intent {
    char marker[SG_INTENT_MARKER_LEN + 1]; /* required; the key */
    char player_ip[SG_REC_IP_MAX];         /* required */
    char app[SG_REC_NAME_MAX];             /* required */
    char version[SG_REC_NAME_MAX];         /* required */
    long long created_at;                  /* required: just before the create call */
    long long window_ms;                   /* required: longest the create call may take */
    long long reconcile_after;             /* required: reconciled from then on */
    char marker_via[SG_REC_NAME_MAX];      /* "" or "webhook_url": the marker reached Edgegap */
    char matchmaker[SG_REC_FQDN_MAX];      /* required: instance that created it */
    char reconciling_by[SG_REC_FQDN_MAX];  /* set while a replica reconciles it */
    long long reconciling_at;              /* 0 = not being reconciled */
} sg_create_intent;

sg_status sg_create_intent_to_json(const sg_create_intent *i, char **out);
sg_status sg_create_intent_from_json(const char *json, size_t len, sg_create_intent *out);

/* ---- the seats a player holds ---------------------------------------------------------------- */

/* One record per player (bucket player_seats, key sg_player_seats_key): the seats reserved
 * for them that may still be live. A seat is reserved (under its create intent's marker)
 * before its session is created, gets its session id once it exists, and counts until
 * `until` (the latest its session can stay unclaimed). Every matchmaker replica reads and
 * updates it with compare-and-set, so a cap on live seats per player holds across them. */
#define SG_PLAYER_SEATS_MAX 8
#define SG_PLAYER_KEY_MAX 80

typedef struct sg_player_seat {
    char marker[SG_INTENT_MARKER_LEN + 1]; /* required: the reservation */
    char session_id[SG_REC_ID_MAX];        /* "" until the session exists */
    long long until;                       /* required, unix ms: no longer counted after */
} sg_player_seat;

typedef struct sg_player_seats {
    char player[SG_PLAYER_KEY_MAX]; /* required: "203.0.113.7", "2001:db8:1:2::/64" */
    size_t count;
    sg_player_seat seats[SG_PLAYER_SEATS_MAX];
    long long updated_at; /* required, unix ms */
} sg_player_seats;

sg_status sg_player_seats_to_json(const sg_player_seats *p, char **out);
sg_status sg_player_seats_from_json(const char *json, size_t len, sg_player_seats *out);

/* The store key of a player ("ip4_203.0.113.7", "ip6_20010db8000100020000000000000000_64",
 * or for an authenticated player "user:<id>" the key "usr_" and 32 hex digits of a BLAKE2b
 * digest of the id). */
const char *sg_player_seats_key(const char *player, char *buf, size_t size);

/* ---- the leaderboard (seatgate-leaderboard) ------------------------------------------------ */

/* Bucket leaderboard_players: one sg_lb_player per player, key sg_lb_player_key(id).
 * Bucket leaderboard_state: key "applied" (sg_lb_state: how far the event history has been
 * applied), key "journal" (sg_lb_journal: a batch about to be written, redone after a crash)
 * and key "lease" (sg_lb_lease: which replica applies events now). */
#define SG_BUCKET_LB_PLAYERS "leaderboard_players"
#define SG_BUCKET_LB_STATE "leaderboard_state"
#define SG_LB_ID_MAX 160   /* a user id, or "anon-" and a session id (with NUL) */
#define SG_LB_KINDS_MAX 16 /* score kinds a player has totals of */
#define SG_LB_JOURNAL_MAX 256 /* players in one journal */

typedef struct sg_lb_total {
    char kind[SG_REC_NAME_MAX]; /* a score kind ("kill", "death", "score"...) */
    long long sum;              /* the sum of its values */
} sg_lb_total;

typedef struct sg_lb_player {
    char id[SG_LB_ID_MAX]; /* required: the authenticated user id, or "anon-<session id>" */
    bool anonymous;
    size_t nkinds;
    sg_lb_total totals[SG_LB_KINDS_MAX];
    long long sessions;  /* player_connect events: sessions played */
    long long last_seen; /* unix ms of the newest event applied to the player */
    double rating;       /* ELO */
    long long rated;     /* outcomes that changed the rating */
    uint64_t pos;        /* the event history position of the last event applied */
    long long updated_at; /* required, unix ms */
} sg_lb_player;

typedef struct sg_lb_state {
    uint64_t pos;       /* every event up to this position is applied */
    long long applied;  /* events applied */
    long long malformed, unknown_kind, oversize, unrated; /* events skipped, by why */
    long long updated_at; /* required, unix ms */
} sg_lb_state;

typedef struct sg_lb_journal {
    uint64_t from;     /* the position the batch starts after (the stored state's then) */
    sg_lb_state state; /* the state once the batch is written (its pos: the batch's last) */
    size_t count;
    sg_lb_player *players; /* count records (to_json reads them; from_json allocates: free()) */
} sg_lb_journal;

typedef struct sg_lb_lease {
    char holder[SG_REC_FQDN_MAX]; /* required: the replica's instance id */
    long long until;              /* required, unix ms */
} sg_lb_lease;

sg_status sg_lb_player_to_json(const sg_lb_player *p, char **out);
sg_status sg_lb_player_from_json(const char *json, size_t len, sg_lb_player *out);
sg_status sg_lb_state_to_json(const sg_lb_state *s, char **out);
sg_status sg_lb_state_from_json(const char *json, size_t len, sg_lb_state *out);
sg_status sg_lb_journal_to_json(const sg_lb_journal *j, char **out);
sg_status sg_lb_journal_from_json(const char *json, size_t len, sg_lb_journal *out);
sg_status sg_lb_lease_to_json(const sg_lb_lease *l, char **out);
sg_status sg_lb_lease_from_json(const char *json, size_t len, sg_lb_lease *out);
/* The store key of a player id: "p_" and 32 hex digits of a BLAKE2b digest of the id (ids
 * hold characters a key cannot). */
const char *sg_lb_player_key(const char *id, char *buf, size_t size);
/* A player's total of one kind (0 when none). */
long long sg_lb_player_total(const sg_lb_player *p, const char *kind);

/* ---- events ------------------------------------------------------------------------------- */

typedef enum sg_event_kind {
    SG_EV_SERVER_UP = 0,
    SG_EV_SERVER_DOWN,
    SG_EV_PLAYER_CONNECT,
    SG_EV_PLAYER_DISCONNECT,
    SG_EV_VERIFY_REJECTED,
    SG_EV_SCORE,
    SG_EV_KIND_COUNT
} sg_event_kind;

typedef enum sg_disconnect_reason {
    SG_DISCONNECT_GOODBYE = 0, /* the client said goodbye */
    SG_DISCONNECT_TIMEOUT,     /* the client went silent */
    SG_DISCONNECT_KICKED,      /* the game removed the player */
    SG_DISCONNECT_SERVER_STOP, /* the server is shutting down */
    SG_DISCONNECT_ERROR,       /* transport or protocol error */
    SG_DISCONNECT_REASON_COUNT
} sg_disconnect_reason;

typedef enum sg_reject_reason {
    SG_REJECT_UNKNOWN_CLIENT = 0, /* no connect_tokens entry for the client id */
    SG_REJECT_SESSION_NOT_READY,  /* Edgegap session not Ready */
    SG_REJECT_IP_MISMATCH,        /* source IP not in session_ips */
    SG_REJECT_WRONG_SERVER,       /* session's deployment is another server */
    SG_REJECT_ALREADY_CONNECTED,  /* session already held by a connection */
    SG_REJECT_UNAVAILABLE,        /* store or Edgegap unreachable: fail closed */
    SG_REJECT_BAD_TOKEN,          /* connect token invalid or expired */
    SG_REJECT_SESSION_GONE,       /* the Edgegap session no longer exists */
    SG_REJECT_IP_LIMIT,           /* the address holds as many connections as it may there */
    SG_REJECT_SERVER_FULL,        /* the server holds as many players as its capacity */
    SG_REJECT_REASON_COUNT
} sg_reject_reason;

typedef struct sg_event {
    sg_event_kind kind;
    long long ts;                 /* unix ms; 0 = now (filled by sg_event_publish) */
    char app[SG_REC_NAME_MAX];    /* "" = the store's app (filled by sg_event_publish) */
    char source[SG_REC_FQDN_MAX]; /* who published: matchmaker instance or server FQDN */
    union {
        struct { /* server_up, server_down */
            char fqdn[SG_REC_FQDN_MAX];
            char request_id[SG_REC_ID_MAX];
            char public_ip[SG_REC_IP_MAX];
            char reason[SG_REC_NAME_MAX]; /* server_down only, optional */
        } server;
        struct { /* player_connect, player_disconnect */
            char session_id[SG_REC_ID_MAX];
            uint64_t client_id;
            char player_ip[SG_REC_IP_MAX];
            char fqdn[SG_REC_FQDN_MAX];
            sg_disconnect_reason reason; /* player_disconnect only */
            long long duration_ms;       /* player_disconnect only, optional (< 0 = absent) */
            char user_id[SG_REC_USER_MAX]; /* optional: the authenticated player */
        } player;
        struct {                            /* verify_rejected */
            uint64_t client_id;             /* 0 = unknown */
            char session_id[SG_REC_ID_MAX]; /* optional */
            char player_ip[SG_REC_IP_MAX];
            char fqdn[SG_REC_FQDN_MAX];
            sg_reject_reason reason;
            char message[SG_REC_TEXT_MAX]; /* optional, human-readable */
            char exposure[SG_REC_NAME_MAX]; /* optional: how players reach this server
                                             * (hostport, nodeport, gateway, containerport) */
        } reject;
        struct { /* score */
            char session_id[SG_REC_ID_MAX];
            uint64_t client_id;
            char score_kind[SG_REC_NAME_MAX]; /* "kill", "score"... (snake_case) */
            long long value;                  /* |value| <= 2^53 */
            uint64_t target_client_id;        /* optional (0 = none): who was hit */
            char user_id[SG_REC_USER_MAX];    /* optional: the authenticated player */
            /* optional: the target's session and authenticated id, when the target is
             * connected to the publishing server (the leaderboard's identity of it) */
            char target_session_id[SG_REC_ID_MAX];
            char target_user_id[SG_REC_USER_MAX];
        } score;
    } u;
} sg_event;

const char *sg_event_kind_name(sg_event_kind k);
sg_status sg_event_kind_parse(const char *name, sg_event_kind *out);
/* The event's name of a reason ("goodbye", "timeout"...; "unknown" past the list). */
const char *sg_disconnect_reason_name(sg_disconnect_reason r);
/* The session record's release_reason for it ("player_left", "player_timeout",
 * "player_kicked", "server_stop", "player_error"; "player_left" past the list). */
const char *sg_disconnect_release_name(sg_disconnect_reason r);
const char *sg_reject_reason_name(sg_reject_reason r);

sg_status sg_event_to_json(const sg_event *e, char **out);
sg_status sg_event_from_json(const char *json, size_t len, sg_event *out);

/* Publishes e on "<app>.events.<kind>", filling ts and app when unset. */
sg_status sg_event_publish(sg_store *s, const sg_event *e);

#ifdef __cplusplus
}
#endif
#endif
