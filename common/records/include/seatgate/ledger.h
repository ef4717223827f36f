/* seatgate: the one owner of the shared records in the state store.
 *
 * A thin layer over kv.h and records.h with the buckets opened once, used by the matchmaker
 * and by the gameserver hook alike, so that a session record, a claim, a release or a delete
 * job is read and written in one place and a bad record gets one error everywhere:
 * `sessions` (sg_session_record), `connect_tokens` (client id -> session id, TTL),
 * `gameserver` (the servers' records), the durable `session_deletes` queue, and by role:
 * the matchmaker's `session_intents` (sg_create_intent, written before every platform
 * create) and `player_seats` (the seats each player holds, for the cap); the game server's
 * `contexts` (its platform context as received).
 * Every call blocks (the store's calls do): the matchmaker runs them on its work pool and the
 * janitor's threads, the hook on its worker. Thread-safe.
 */
#ifndef SEATGATE_LEDGER_H
#define SEATGATE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "seatgate/kv.h"
#include "seatgate/records.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_ledger sg_ledger;

typedef enum sg_ledger_role {
    SG_LEDGER_MATCHMAKER = 0, /* also session_intents and player_seats */
    SG_LEDGER_GAME_SERVER     /* also contexts */
} sg_ledger_role;

typedef struct sg_ledger_options {
    long long delete_lease_ms; /* lease of a taken delete job (0: SG_DELETE_LEASE_DEFAULT_MS) */
    sg_ledger_role role;
} sg_ledger_options;

/* Opens the buckets and the queue on an open store (borrowed; close the ledger first), with
 * the canonical options of records.h (sg_bucket_default_options) when it creates them: all
 * or none. A call on a bucket the role does not open fails SG_E_INVALID.
 * Errors: those of sg_bucket_open / sg_queue_open. */
sg_status sg_ledger_open(sg_store *store, const sg_ledger_options *o, sg_ledger **out);
void sg_ledger_close(sg_ledger *l);

sg_store *sg_ledger_store(sg_ledger *l);
bool sg_ledger_connected(sg_ledger *l); /* never blocks */

/* Writes a session record (whatever is there). */
sg_status sg_ledger_put_session(sg_ledger *l, const sg_session_record *r);
/* Reads one. SG_E_NOT_FOUND when absent; SG_E_MALFORMED ("sessions: unreadable record ID:
 * ...") when unreadable. *rev may be NULL. */
sg_status sg_ledger_get_session(sg_ledger *l, const char *session_id, sg_session_record *out,
                                uint64_t *rev);
/* Writes r only if the record is still at revision rev. SG_E_CONFLICT otherwise. */
sg_status sg_ledger_update_session(sg_ledger *l, const sg_session_record *r, uint64_t rev);
sg_status sg_ledger_delete_session(sg_ledger *l, const char *session_id);
/* Every session id with a record. *ids is one allocation: free() it. */
sg_status sg_ledger_session_ids(sg_ledger *l, char ***ids, size_t *count);
/* Called for each session record by sg_ledger_each_session (r and rev valid during the call);
 * anything but SG_OK stops the walk. */
typedef sg_status (*sg_session_fn)(void *arg, const sg_session_record *r, uint64_t rev);
/* Every session record with its revision, read in one pass (sg_kv_each), not one read per
 * session. Unreadable records are skipped and counted in *unreadable (may be NULL). */
sg_status sg_ledger_each_session(sg_ledger *l, sg_session_fn fn, void *arg, size_t *unreadable);
/* As sg_ledger_each_session, for the records written after revision `since` alone
 * (sg_kv_each_since: on SQLite only those are read). */
sg_status sg_ledger_each_session_since(sg_ledger *l, uint64_t since, sg_session_fn fn, void *arg,
                                       size_t *unreadable);
/* Called for each session id with its record's revision by sg_ledger_session_revisions. */
typedef sg_status (*sg_session_rev_fn)(void *arg, const char *session_id, uint64_t rev);
/* Every session id with its record's revision, without the records (sg_kv_revisions): a
 * record's content at a revision never changes, so a caller that remembers what it read
 * needs to read again only the records whose revision moved. */
sg_status sg_ledger_session_revisions(sg_ledger *l, sg_session_rev_fn fn, void *arg);

/* A player's reservation to name its session in the same batch as the session record. */
typedef struct sg_seat_update {
    const char *player, *marker; /* the player and their reservation (sg_seats_request) */
    long long until;             /* it counts until then (unix ms) */
    /* The player's record as this request last wrote it, and its revision (NULL: read it):
     * the update is made over it, and only read again if it changed meanwhile. */
    const sg_player_seats *known;
    uint64_t known_rev;
    sg_status result; /* out: SG_OK, SG_E_NOT_FOUND (no such reservation), store trouble */
} sg_seat_update;

/* Writes a session record and, when ack_marker is not NULL, removes that create intent and,
 * when seat is not NULL, points the player's reservation at the session (as
 * sg_ledger_seat_session; its outcome in seat->result): one batch, so on SQLite one
 * transaction and on NATS one round trip. Returns the record's (and intent's) outcome. */
sg_status sg_ledger_record_session(sg_ledger *l, const sg_session_record *r, const char *ack_marker,
                                   sg_seat_update *seat);
/* connect_tokens[client_id] = session_id and the session record r (on SQLite in one
 * transaction): what a connect answer needs written. */
sg_status sg_ledger_put_token_and_session(sg_ledger *l, uint64_t client_id,
                                          const sg_session_record *r);

/* connect_tokens[client_id] = session_id. */
sg_status sg_ledger_put_token(sg_ledger *l, uint64_t client_id, const char *session_id);
/* The session a client id was issued for. SG_E_NOT_FOUND when none (or its TTL passed);
 * SG_E_MALFORMED ("connect_tokens: bad value for KEY") when unreadable. */
sg_status sg_ledger_lookup_client(sg_ledger *l, uint64_t client_id, char *session_id, size_t size);

/* ---- claims and releases (compare-and-set on the session record) ------------------------ */

typedef struct sg_claim {
    const char *session_id;
    uint64_t client_id;
    const char *fqdn;       /* the game server claiming */
    const char *request_id; /* its platform id */
    long long now_ms;
    char *user_id; /* optional output (SG_REC_USER_MAX bytes): the session's user id, "" when
                    * the player is anonymous */
} sg_claim;

/* Marks an unclaimed session claimed by c->fqdn for c->client_id. Of two servers racing for
 * one session exactly one succeeds. SG_E_NOT_FOUND: no record; SG_E_CONFLICT: the session is
 * not unclaimed, was issued to another client, or another writer won the race;
 * SG_E_MALFORMED: unreadable record; store errors. */
sg_status sg_ledger_claim(sg_ledger *l, const sg_claim *c);

/* Marks the session released with `reason` (a release reason: "player_left",
 * sg_disconnect_release_name) if it is still claimed by client_id on fqdn. *released (may be
 * NULL) tells whether it was; a session that is not (any more) theirs is left as it is and
 * SG_OK returned. Retried on conflicting writes. */
sg_status sg_ledger_release(sg_ledger *l, const char *session_id, uint64_t client_id,
                            const char *fqdn, const char *reason, long long now_ms, bool *released);

/* ---- game servers ------------------------------------------------------------------------ */

/* gameserver[fqdn] = r (its heartbeat, players, capacity, ports...). */
sg_status sg_ledger_put_server(sg_ledger *l, const sg_gameserver_record *r);
sg_status sg_ledger_remove_server(sg_ledger *l, const char *fqdn);
/* contexts[fqdn] = the platform context as received (game-server role). */
sg_status sg_ledger_put_context(sg_ledger *l, const char *fqdn, const char *json, size_t len);

/* The certificate digest a game server published ("" when it has none or no record).
 * Errors: SG_E_UNAVAILABLE, SG_E_TIMEOUT, SG_E_IO (store trouble only). */
sg_status sg_ledger_cert_digest(sg_ledger *l, const char *fqdn, char out[SG_REC_DIGEST_LEN + 1]);

/* The last heartbeat (unix ms) of the game server registered under fqdn; SG_E_NOT_FOUND when
 * it has no (readable) record. Errors: SG_E_UNAVAILABLE, SG_E_TIMEOUT, SG_E_IO. */
sg_status sg_ledger_server_heartbeat(sg_ledger *l, const char *fqdn, long long *heartbeat_ms);

/* Calls fn with every readable game server record, in one pass over the bucket (records that
 * do not parse are skipped and counted in *skipped, which may be NULL). */
typedef void (*sg_ledger_server_fn)(void *arg, const sg_gameserver_record *r);
sg_status sg_ledger_each_server(sg_ledger *l, sg_ledger_server_fn fn, void *arg, size_t *skipped);

/* Queues a durable delete of a platform session (the matchmaker's delete worker runs it). */
sg_status sg_ledger_enqueue_delete(sg_ledger *l, const char *session_id, const char *reason,
                                   const char *requested_by);
/* Takes the next delete job (waits up to wait_ms). SG_OK with *job NULL when none. */
sg_status sg_ledger_take_delete(sg_ledger *l, long long wait_ms, sg_job **job,
                                sg_delete_job *parsed);

/* session_intents: written before a create (put), removed once the outcome is known
 * (ack; idempotent). */
sg_status sg_ledger_put_intent(sg_ledger *l, const sg_create_intent *in);
sg_status sg_ledger_ack_intent(sg_ledger *l, const char *marker);
/* Every intent marker. *markers is one allocation: free() it. */
sg_status sg_ledger_intent_markers(sg_ledger *l, char ***markers, size_t *count);
/* Reads one. SG_E_NOT_FOUND when absent; SG_E_MALFORMED when unreadable. */
sg_status sg_ledger_get_intent(sg_ledger *l, const char *marker, sg_create_intent *out,
                               uint64_t *rev);
/* Compare-and-set on the revision (SG_E_CONFLICT when another writer came first). */
sg_status sg_ledger_update_intent(sg_ledger *l, const sg_create_intent *in, uint64_t rev);

/* ---- the seats each player holds (bucket player_seats) ---------------------------------- */

typedef enum sg_seats_result {
    SG_SEATS_RESERVED = 0, /* a new seat may be created: reserved under the marker */
    SG_SEATS_REUSE,        /* the player holds an unclaimed seat with a token: hand it again */
    SG_SEATS_FULL          /* the player holds `cap` live seats already */
} sg_seats_result;

typedef struct sg_seats_request {
    const char *player;        /* "203.0.113.7", "2001:db8:1:2::/64" */
    const char *marker;        /* the create intent a new seat would be made under */
    long long until;           /* a new reservation counts until then (unix ms) */
    int cap;                   /* live seats a player may hold (>= 1) */
    long long reuse_margin_ms; /* a held seat is handed again only with this long left */
    const char *player_ip;     /* ... and only to the address it was made for (the platform
                                * admits that one): NULL, any */
    /* Written with the reservation, in one batch, when a seat is reserved (NULL: none). It is
     * removed again when the answer is not SG_SEATS_RESERVED. */
    const sg_create_intent *intent;
    /* Out, when not NULL and the answer is SG_SEATS_RESERVED: the player's record as written
     * and its revision, for a later sg_seat_update.known (no read of it then). */
    sg_player_seats *written;
    uint64_t *written_rev;
} sg_seats_request;

/* Decides, with compare-and-set on the player's record (so replicas agree), whether a new
 * seat may be created for the player. REUSE fills *reuse with the session record to hand
 * again and *reuse_rev with its revision; FULL sets *retry_after_ms to when the first of
 * the player's seats stops counting. Seats whose session is gone or released, and those
 * past `until`, are dropped on the way. Errors: store trouble. */
sg_status sg_ledger_reserve_seat(sg_ledger *l, const sg_seats_request *rq, sg_seats_result *res,
                                 sg_session_record *reuse, uint64_t *reuse_rev,
                                 long long *retry_after_ms);
/* The reservation `marker` (or, marker NULL, the seat of session_id) now has its session and
 * counts until `until`. SG_E_NOT_FOUND when the player has no such seat. */
sg_status sg_ledger_seat_session(sg_ledger *l, const char *player, const char *marker,
                                 const char *session_id, long long until);
/* The reservation `marker` is over (its create failed, or its session was deleted). */
sg_status sg_ledger_seat_drop(sg_ledger *l, const char *player, const char *marker);

#ifdef __cplusplus
}
#endif
#endif
