/* seatgate matchmaker: what the matchmaker writes to and reads from the state store.
 *
 * A thin layer over kv.h and records.h with the matchmaker's buckets opened once:
 * `sessions` (sg_session_record), `connect_tokens` (client id -> session id, TTL),
 * `gameserver` (read for certificate digests), `session_intents` (sg_create_intent, written
 * before every Edgegap create), `player_seats` (the seats each player holds, for the cap)
 * and the durable `session_deletes` queue.
 * Every call blocks (the store's calls do): the connect flow runs them on its work pool,
 * the janitor on its own threads. Thread-safe.
 */
#ifndef SEATGATE_MM_LEDGER_H
#define SEATGATE_MM_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "seatgate/kv.h"
#include "seatgate/records.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_ledger sg_ledger;

typedef struct sg_ledger_options {
    long long delete_lease_ms; /* lease of a taken delete job (0: SG_DELETE_LEASE_DEFAULT_MS) */
} sg_ledger_options;

/* Opens the buckets and the queue on an open store (borrowed; close the ledger first), with
 * the canonical options of records.h (sg_bucket_default_options) when it creates them.
 * Errors: those of sg_bucket_open / sg_queue_open. */
sg_status sg_ledger_open(sg_store *store, const sg_ledger_options *o, sg_ledger **out);
void sg_ledger_close(sg_ledger *l);

sg_store *sg_ledger_store(sg_ledger *l);
bool sg_ledger_connected(sg_ledger *l); /* never blocks */

/* Writes a session record (whatever is there). */
sg_status sg_ledger_put_session(sg_ledger *l, const sg_session_record *r);
/* Reads one. SG_E_NOT_FOUND when absent; SG_E_MALFORMED when unreadable. *rev may be NULL. */
sg_status sg_ledger_get_session(sg_ledger *l, const char *session_id, sg_session_record *out,
                                uint64_t *rev);
/* Writes r only if the record is still at revision rev. SG_E_CONFLICT otherwise. */
sg_status sg_ledger_update_session(sg_ledger *l, const sg_session_record *r, uint64_t rev);
sg_status sg_ledger_delete_session(sg_ledger *l, const char *session_id);
/* Every session id with a record. *ids is one allocation: free() it. */
sg_status sg_ledger_session_ids(sg_ledger *l, char ***ids, size_t *count);

/* Writes a session record and, when ack_marker is not NULL, removes that create intent:
 * on SQLite in one transaction. */
sg_status sg_ledger_record_session(sg_ledger *l, const sg_session_record *r,
                                   const char *ack_marker);
/* connect_tokens[client_id] = session_id and the session record r (on SQLite in one
 * transaction): what a connect answer needs written. */
sg_status sg_ledger_put_token_and_session(sg_ledger *l, uint64_t client_id,
                                          const sg_session_record *r);

/* connect_tokens[client_id] = session_id. */
sg_status sg_ledger_put_token(sg_ledger *l, uint64_t client_id, const char *session_id);

/* The certificate digest a game server published ("" when it has none or no record).
 * Errors: SG_E_UNAVAILABLE, SG_E_TIMEOUT, SG_E_IO (store trouble only). */
sg_status sg_ledger_cert_digest(sg_ledger *l, const char *fqdn, char out[SG_REC_DIGEST_LEN + 1]);

/* The last heartbeat (unix ms) of the game server registered under fqdn; SG_E_NOT_FOUND when
 * it has no (readable) record. Errors: SG_E_UNAVAILABLE, SG_E_TIMEOUT, SG_E_IO. */
sg_status sg_ledger_server_heartbeat(sg_ledger *l, const char *fqdn, long long *heartbeat_ms);

/* Queues a durable delete of an Edgegap session. */
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

/* Unix milliseconds (wall clock), the time base of records. */
long long sg_ledger_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
