/* The shared records over the state store: one owner for sessions, connect tokens, claims,
 * releases, game server records and delete jobs (seatgate/ledger.h). */
#include "seatgate/ledger.h"

#include "seatgate/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sg_ledger {
    sg_store *store;
    sg_bucket *sessions, *tokens, *gameserver, *intents, *seats, *contexts;
    sg_queue *deletes;
};

/* A bucket the ledger's role did not open. */
static sg_status not_opened(const char *bucket)
{
    return sg_fail(SG_E_INVALID, "ledger: %s is not opened by this role", bucket);
}

/* Every process opens the shared buckets and the queue with the same options (records.h). */
static sg_status open_bucket(sg_store *s, const char *name, sg_bucket **out)
{
    sg_bucket_options o;
    sg_status st = sg_bucket_default_options(name, &o);
    return st ? st : sg_bucket_open(s, name, &o, out);
}

sg_status sg_ledger_open(sg_store *store, const sg_ledger_options *o, sg_ledger **out)
{
    *out = NULL;
    sg_ledger *l = calloc(1, sizeof *l);
    if (!l) return sg_fail(SG_E_NOMEM, "ledger: out of memory");
    l->store = store;
    sg_queue_options qo;
    sg_status st = sg_queue_default_options(SG_QUEUE_SESSION_DELETES, &qo);
    if (o->delete_lease_ms > 0) qo.lease_ms = o->delete_lease_ms;
    if (st == SG_OK) st = open_bucket(store, SG_BUCKET_SESSIONS, &l->sessions);
    if (st == SG_OK) st = open_bucket(store, SG_BUCKET_CONNECT_TOKENS, &l->tokens);
    if (st == SG_OK) st = open_bucket(store, SG_BUCKET_GAMESERVER, &l->gameserver);
    if (o->role == SG_LEDGER_MATCHMAKER) {
        if (st == SG_OK) st = open_bucket(store, SG_BUCKET_SESSION_INTENTS, &l->intents);
        if (st == SG_OK) st = open_bucket(store, SG_BUCKET_PLAYER_SEATS, &l->seats);
    } else if (st == SG_OK) {
        st = open_bucket(store, SG_BUCKET_CONTEXTS, &l->contexts);
    }
    if (st == SG_OK) st = sg_queue_open(store, SG_QUEUE_SESSION_DELETES, &qo, &l->deletes);
    if (st != SG_OK) {
        sg_ledger_close(l);
        return st;
    }
    *out = l;
    return SG_OK;
}

void sg_ledger_close(sg_ledger *l)
{
    if (!l) return;
    sg_queue_close(l->deletes);
    sg_bucket_close(l->contexts);
    sg_bucket_close(l->seats);
    sg_bucket_close(l->intents);
    sg_bucket_close(l->gameserver);
    sg_bucket_close(l->tokens);
    sg_bucket_close(l->sessions);
    free(l);
}

sg_store *sg_ledger_store(sg_ledger *l)
{
    return l->store;
}

bool sg_ledger_connected(sg_ledger *l)
{
    return sg_store_get_state(l->store) == SG_STORE_CONNECTED;
}

sg_status sg_ledger_put_session(sg_ledger *l, const sg_session_record *r)
{
    char *json = NULL;
    sg_status st = sg_session_to_json(r, &json);
    if (st != SG_OK) return st;
    st = sg_kv_put(l->sessions, r->session_id, json, strlen(json), NULL);
    free(json);
    return st;
}

sg_status sg_ledger_get_session(sg_ledger *l, const char *session_id, sg_session_record *out,
                                uint64_t *rev)
{
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->sessions, session_id, &e);
    if (st != SG_OK) return st;
    st = sg_session_from_json(e->value, e->len, out);
    if (rev) *rev = e->revision;
    sg_kv_entry_free(e);
    if (st != SG_OK)
        return sg_fail(SG_E_MALFORMED, "sessions: unreadable record %.64s: %s", session_id,
                       sg_last_error());
    return SG_OK;
}

sg_status sg_ledger_update_session(sg_ledger *l, const sg_session_record *r, uint64_t rev)
{
    char *json = NULL;
    sg_status st = sg_session_to_json(r, &json);
    if (st != SG_OK) return st;
    st = sg_kv_update(l->sessions, r->session_id, json, strlen(json), rev, NULL);
    free(json);
    return st;
}

sg_status sg_ledger_delete_session(sg_ledger *l, const char *session_id)
{
    return sg_kv_delete(l->sessions, session_id);
}

sg_status sg_ledger_session_ids(sg_ledger *l, char ***ids, size_t *count)
{
    return sg_kv_keys(l->sessions, ids, count);
}

typedef struct each_session {
    sg_session_fn fn;
    void *arg;
    size_t unreadable;
} each_session;

static sg_status session_entry(void *arg, const sg_kv_entry *e)
{
    each_session *x = arg;
    sg_session_record r;
    if (sg_session_from_json(e->value, e->len, &r) != SG_OK) {
        x->unreadable++;
        return SG_OK;
    }
    return x->fn(x->arg, &r, e->revision);
}

sg_status sg_ledger_each_session(sg_ledger *l, sg_session_fn fn, void *arg, size_t *unreadable)
{
    each_session x = {fn, arg, 0};
    sg_status st = sg_kv_each(l->sessions, session_entry, &x);
    if (unreadable) *unreadable = x.unreadable;
    return st;
}

sg_status sg_ledger_each_session_since(sg_ledger *l, uint64_t since, sg_session_fn fn, void *arg,
                                       size_t *unreadable)
{
    each_session x = {fn, arg, 0};
    sg_status st = sg_kv_each_since(l->sessions, since, session_entry, &x);
    if (unreadable) *unreadable = x.unreadable;
    return st;
}

typedef struct each_revision {
    sg_session_rev_fn fn;
    void *arg;
} each_revision;

static sg_status revision_entry(void *arg, const sg_kv_entry *e)
{
    each_revision *x = arg;
    return x->fn(x->arg, e->key, e->revision);
}

sg_status sg_ledger_session_revisions(sg_ledger *l, sg_session_rev_fn fn, void *arg)
{
    each_revision x = {fn, arg};
    return sg_kv_revisions(l->sessions, revision_entry, &x);
}

static sg_status seats_prepare(sg_ledger *l, const char *player,
                               bool (*fn)(sg_player_seats *ps, void *arg), void *arg, char *key,
                               size_t ksize, char **json, sg_kv_write *w);
static sg_status seats_change(sg_ledger *l, const char *player,
                              bool (*fn)(sg_player_seats *ps, void *arg), void *arg);
static bool set_session(sg_player_seats *ps, void *arg);
static sg_status seats_write(sg_ledger *l, const char *key, sg_player_seats *ps, uint64_t rev,
                             char **json, sg_kv_write *w);
typedef struct seat_set {
    const char *marker, *session_id;
    long long until;
} seat_set;

sg_status sg_ledger_record_session(sg_ledger *l, const sg_session_record *r, const char *ack_marker,
                                   sg_seat_update *seat)
{
    bool ack = ack_marker && *ack_marker;
    if (ack && !l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    char *json = NULL, *seats_json = NULL, seats_key[SG_PLAYER_KEY_MAX + 8];
    sg_status st = sg_session_to_json(r, &json);
    if (st != SG_OK) return st;
    sg_kv_write w[3];
    size_t n = 0;
    w[n++] = (sg_kv_write){
        .bucket = l->sessions, .key = r->session_id, .value = json, .len = strlen(json)};
    if (ack) w[n++] = (sg_kv_write){.bucket = l->intents, .key = ack_marker};
    seat_set a = {seat ? seat->marker : NULL, r->session_id, seat ? seat->until : 0};
    if (seat && seat->known && seat->known_rev && l->seats) {
        /* over the record as this request wrote it: no read (a conflict reads it below) */
        sg_player_seats *ps = malloc(sizeof *ps);
        seat->result = ps ? SG_OK : SG_E_NOMEM;
        if (ps) {
            *ps = *seat->known;
            sg_player_seats_key(seat->player, seats_key, sizeof seats_key);
            seat->result = set_session(ps, &a) ? seats_write(l, seats_key, ps, seat->known_rev,
                                                             &seats_json, &w[n])
                                               : SG_E_NOT_FOUND;
            free(ps);
        }
        if (seat->result == SG_OK) n++;
    } else if (seat) {
        seat->result = seats_prepare(l, seat->player, set_session, &a, seats_key, sizeof seats_key,
                                     &seats_json, &w[n]);
        if (seat->result == SG_OK) n++;
    }
    st = sg_kv_write_many(w, n);
    if (w[0].result == SG_OK && (!ack || w[1].result == SG_OK)) st = SG_OK;
    if (seat && seats_json) {
        seat->result = w[n - 1].result == SG_E_EXISTS ? SG_E_CONFLICT : w[n - 1].result;
        /* another request of the player changed the record meanwhile: the usual retries */
        if (st == SG_OK && seat->result == SG_E_CONFLICT)
            seat->result = seats_change(l, seat->player, set_session, &a);
    }
    free(seats_json);
    free(json);
    return st;
}

sg_status sg_ledger_put_token_and_session(sg_ledger *l, uint64_t client_id,
                                          const sg_session_record *r)
{
    char *json = NULL;
    sg_status st = sg_session_to_json(r, &json);
    if (st != SG_OK) return st;
    char key[32];
    sg_connect_token_key(client_id, key, sizeof key);
    sg_kv_write w[2] = {
        {.bucket = l->tokens, .key = key, .value = r->session_id, .len = strlen(r->session_id)},
        {.bucket = l->sessions, .key = r->session_id, .value = json, .len = strlen(json)}};
    st = sg_kv_write_many(w, 2);
    free(json);
    return st;
}

sg_status sg_ledger_put_token(sg_ledger *l, uint64_t client_id, const char *session_id)
{
    char key[32];
    sg_connect_token_key(client_id, key, sizeof key);
    return sg_kv_put(l->tokens, key, session_id, strlen(session_id), NULL);
}

sg_status sg_ledger_lookup_client(sg_ledger *l, uint64_t client_id, char *session_id, size_t size)
{
    char key[32];
    sg_connect_token_key(client_id, key, sizeof key);
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->tokens, key, &e);
    if (st != SG_OK) return st;
    st = sg_connect_token_value_parse(e->value, e->len, session_id, size);
    sg_kv_entry_free(e);
    return st == SG_OK ? SG_OK : sg_fail(SG_E_MALFORMED, "connect_tokens: bad value for %s", key);
}

/* ---- claims and releases ------------------------------------------------------------------ */

/* Conflicting writes (the matchmaker updating a record, another server's release) are
 * retried from a fresh read this many times. */
#define SESSION_CAS_TRIES 4

sg_status sg_ledger_claim(sg_ledger *l, const sg_claim *c)
{
    for (int attempt = 0; attempt < SESSION_CAS_TRIES; attempt++) {
        sg_session_record rec;
        uint64_t rev = 0;
        sg_status st = sg_ledger_get_session(l, c->session_id, &rec, &rev);
        if (st != SG_OK) return st;
        if (rec.state != SG_SESSION_UNCLAIMED)
            return sg_fail(SG_E_CONFLICT, "session %s is %s", c->session_id,
                           sg_session_state_name(rec.state));
        if (rec.client_id != 0 && rec.client_id != c->client_id)
            return sg_fail(SG_E_CONFLICT, "session %s was issued to another client", c->session_id);
        rec.state = SG_SESSION_CLAIMED;
        rec.client_id = c->client_id;
        snprintf(rec.claimed_by_fqdn, sizeof rec.claimed_by_fqdn, "%s", c->fqdn);
        snprintf(rec.claimed_by_request_id, sizeof rec.claimed_by_request_id, "%s",
                 c->request_id ? c->request_id : "");
        rec.claimed_at = c->now_ms;
        st = sg_ledger_update_session(l, &rec, rev);
        if (st == SG_OK && c->user_id) snprintf(c->user_id, SG_REC_USER_MAX, "%s", rec.user_id);
        if (st != SG_E_CONFLICT) return st;
        /* Another writer came first: read again (a rival's claim is then seen as such). */
    }
    return sg_fail(SG_E_CONFLICT, "session %s kept changing", c->session_id);
}

sg_status sg_ledger_release(sg_ledger *l, const char *session_id, uint64_t client_id,
                            const char *fqdn, const char *reason, long long now_ms, bool *released)
{
    if (released) *released = false;
    for (int attempt = 0; attempt < SESSION_CAS_TRIES; attempt++) {
        sg_session_record rec;
        uint64_t rev = 0;
        sg_status st = sg_ledger_get_session(l, session_id, &rec, &rev);
        if (st != SG_OK) return st;
        if (rec.state != SG_SESSION_CLAIMED || rec.client_id != client_id ||
            strcmp(rec.claimed_by_fqdn, fqdn) != 0)
            return SG_OK; /* not theirs (any more): nothing to release */
        rec.state = SG_SESSION_RELEASED;
        rec.released_at = now_ms;
        snprintf(rec.release_reason, sizeof rec.release_reason, "%s", reason);
        st = sg_ledger_update_session(l, &rec, rev);
        if (st == SG_OK && released) *released = true;
        if (st != SG_E_CONFLICT) return st;
    }
    return sg_fail(SG_E_CONFLICT, "session %s kept changing", session_id);
}

/* ---- game servers -------------------------------------------------------------------------- */

sg_status sg_ledger_put_server(sg_ledger *l, const sg_gameserver_record *r)
{
    char *json = NULL;
    sg_status st = sg_gameserver_to_json(r, &json);
    if (st == SG_OK) st = sg_kv_put(l->gameserver, r->fqdn, json, strlen(json), NULL);
    free(json);
    return st;
}

typedef struct each_server {
    sg_ledger_server_fn fn;
    void *arg;
    size_t skipped;
    sg_gameserver_record r;
} each_server;

static sg_status one_server(void *arg, const sg_kv_entry *e)
{
    each_server *w = arg;
    if (sg_gameserver_from_json(e->value, e->len, &w->r) == SG_OK)
        w->fn(w->arg, &w->r);
    else
        w->skipped++;
    return SG_OK;
}

sg_status sg_ledger_each_server(sg_ledger *l, sg_ledger_server_fn fn, void *arg, size_t *skipped)
{
    each_server *w = calloc(1, sizeof *w);
    if (!w) return sg_fail(SG_E_NOMEM, "out of memory");
    w->fn = fn;
    w->arg = arg;
    sg_status st = sg_kv_each(l->gameserver, one_server, w);
    if (skipped) *skipped = w->skipped;
    free(w);
    return st;
}

sg_status sg_ledger_remove_server(sg_ledger *l, const char *fqdn)
{
    return sg_kv_delete(l->gameserver, fqdn);
}

sg_status sg_ledger_put_context(sg_ledger *l, const char *fqdn, const char *json, size_t len)
{
    if (!l->contexts) return not_opened(SG_BUCKET_CONTEXTS);
    return sg_kv_put(l->contexts, fqdn, json, len, NULL);
}

sg_status sg_ledger_cert_digest(sg_ledger *l, const char *fqdn, char out[SG_REC_DIGEST_LEN + 1])
{
    out[0] = '\0';
    if (!sg_kv_key_valid(fqdn)) return SG_OK;
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->gameserver, fqdn, &e);
    if (st == SG_E_NOT_FOUND) return SG_OK;
    if (st != SG_OK) return st;
    sg_gameserver_record *g = malloc(sizeof *g);
    if (g && sg_gameserver_from_json(e->value, e->len, g) == SG_OK)
        memcpy(out, g->cert_digest, sizeof g->cert_digest);
    free(g);
    sg_kv_entry_free(e);
    return SG_OK; /* an unreadable record just means no digest */
}

sg_status sg_ledger_server_heartbeat(sg_ledger *l, const char *fqdn, long long *heartbeat_ms)
{
    *heartbeat_ms = 0;
    if (!sg_kv_key_valid(fqdn)) return SG_E_NOT_FOUND;
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->gameserver, fqdn, &e);
    if (st != SG_OK) return st;
    sg_gameserver_record *g = malloc(sizeof *g);
    st = g && sg_gameserver_from_json(e->value, e->len, g) == SG_OK ? SG_OK : SG_E_NOT_FOUND;
    if (st == SG_OK) *heartbeat_ms = g->heartbeat_at;
    free(g);
    sg_kv_entry_free(e);
    return st;
}

sg_status sg_ledger_enqueue_delete(sg_ledger *l, const char *session_id, const char *reason,
                                   const char *requested_by)
{
    sg_delete_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.session_id, sizeof j.session_id, "%.*s", (int)sizeof j.session_id - 1, session_id);
    snprintf(j.reason, sizeof j.reason, "%.*s", (int)sizeof j.reason - 1, reason);
    snprintf(j.requested_by, sizeof j.requested_by, "%.*s", (int)sizeof j.requested_by - 1,
             requested_by);
    j.enqueued_at = sg_clock_wall_ms();
    char *json = NULL;
    sg_status st = sg_delete_job_to_json(&j, &json);
    if (st != SG_OK) return st;
    st = sg_queue_enqueue(l->deletes, json, strlen(json));
    free(json);
    return st;
}

sg_status sg_ledger_take_delete(sg_ledger *l, long long wait_ms, sg_job **job,
                                sg_delete_job *parsed)
{
    *job = NULL;
    sg_job *j = NULL;
    sg_status st = sg_queue_take(l->deletes, wait_ms, &j);
    if (st != SG_OK || !j) return st;
    size_t len = 0;
    const char *payload = sg_job_payload(j, &len);
    st = sg_delete_job_from_json(payload, len, parsed);
    if (st != SG_OK) {
        /* An unreadable job can never succeed: drop it rather than retry it forever. */
        sg_job_ack(j);
        sg_job_free(j);
        return st;
    }
    *job = j;
    return SG_OK;
}

sg_status sg_ledger_put_intent(sg_ledger *l, const sg_create_intent *in)
{
    if (!l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    char *json = NULL;
    sg_status st = sg_create_intent_to_json(in, &json);
    if (st != SG_OK) return st;
    st = sg_kv_put(l->intents, in->marker, json, strlen(json), NULL);
    free(json);
    return st;
}

sg_status sg_ledger_ack_intent(sg_ledger *l, const char *marker)
{
    if (!l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    return sg_kv_delete(l->intents, marker);
}

sg_status sg_ledger_intent_markers(sg_ledger *l, char ***markers, size_t *count)
{
    if (!l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    return sg_kv_keys(l->intents, markers, count);
}

sg_status sg_ledger_get_intent(sg_ledger *l, const char *marker, sg_create_intent *out,
                               uint64_t *rev)
{
    if (!l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->intents, marker, &e);
    if (st != SG_OK) return st;
    st = sg_create_intent_from_json(e->value, e->len, out);
    if (rev) *rev = e->revision;
    sg_kv_entry_free(e);
    return st;
}

sg_status sg_ledger_update_intent(sg_ledger *l, const sg_create_intent *in, uint64_t rev)
{
    if (!l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    char *json = NULL;
    sg_status st = sg_create_intent_to_json(in, &json);
    if (st != SG_OK) return st;
    st = sg_kv_update(l->intents, in->marker, json, strlen(json), rev, NULL);
    free(json);
    return st;
}

/* ---- the seats each player holds ---------------------------------------------------------- */

#define SEATS_CAS_TRIES 8

/* The player's record and its revision (0 and an empty record when there is none). */
static sg_status seats_get(sg_ledger *l, const char *player, char *key, size_t ksize,
                           sg_player_seats *ps, uint64_t *rev)
{
    sg_player_seats_key(player, key, ksize);
    memset(ps, 0, sizeof *ps);
    *rev = 0;
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(l->seats, key, &e);
    if (st == SG_E_NOT_FOUND) {
        snprintf(ps->player, sizeof ps->player, "%s", player);
        return SG_OK;
    }
    if (st != SG_OK) return st;
    *rev = e->revision;
    st = sg_player_seats_from_json(e->value, e->len, ps);
    sg_kv_entry_free(e);
    if (st != SG_OK) { /* an unreadable record is replaced rather than trusted */
        memset(ps, 0, sizeof *ps);
        snprintf(ps->player, sizeof ps->player, "%s", player);
    }
    return SG_OK;
}

/* The write of the player's record ps over revision rev (a create when 0) into *w; *json
 * holds its value until the write is done (free it then). */
static sg_status seats_write(sg_ledger *l, const char *key, sg_player_seats *ps, uint64_t rev,
                             char **json, sg_kv_write *w)
{
    ps->updated_at = sg_clock_wall_ms();
    *json = NULL;
    sg_status st = sg_player_seats_to_json(ps, json);
    if (st != SG_OK) return st;
    *w = (sg_kv_write){.bucket = l->seats,
                       .key = key,
                       .value = *json,
                       .len = strlen(*json),
                       .mode = rev == 0 ? SG_KV_WRITE_CREATE : SG_KV_WRITE_UPDATE,
                       .last = rev};
    return SG_OK;
}

/* Writes the record if nobody changed it since rev (SG_E_CONFLICT otherwise); *new_rev (may
 * be NULL) gets the revision written. */
static sg_status seats_put(sg_ledger *l, const char *key, sg_player_seats *ps, uint64_t rev,
                           uint64_t *new_rev)
{
    char *json = NULL;
    sg_kv_write w;
    sg_status st = seats_write(l, key, ps, rev, &json, &w);
    if (st == SG_OK) st = sg_kv_write_many(&w, 1);
    if (st == SG_OK && new_rev) *new_rev = w.rev;
    free(json);
    return st == SG_E_EXISTS ? SG_E_CONFLICT : st;
}

static void seats_remove(sg_player_seats *ps, size_t i)
{
    memmove(&ps->seats[i], &ps->seats[i + 1], (ps->count - i - 1) * sizeof ps->seats[0]);
    ps->count--;
}

/* The player's record and the create intent in one batch (one commit on SQLite, one round
 * trip on NATS). When the record was refused (SG_E_CONFLICT) the intent may be written all
 * the same (*intent_written). When the intent failed, the reservation just made is dropped
 * again, so a seat no create will use does not count against the player. */
static sg_status put_seats_and_intent(sg_ledger *l, const char *key, sg_player_seats *ps,
                                      uint64_t rev, const sg_create_intent *in,
                                      bool *intent_written, uint64_t *new_rev)
{
    char *json = NULL, *ijson = NULL;
    sg_kv_write w[2];
    sg_status st = sg_create_intent_to_json(in, &ijson);
    if (st == SG_OK) st = seats_write(l, key, ps, rev, &json, &w[0]);
    if (st == SG_OK) {
        w[1] = (sg_kv_write){
            .bucket = l->intents, .key = in->marker, .value = ijson, .len = strlen(ijson)};
        sg_kv_write_many(w, 2);
        if (w[1].result == SG_OK) *intent_written = true;
        st = w[0].result == SG_E_EXISTS ? SG_E_CONFLICT : w[0].result;
        if (st == SG_OK) *new_rev = w[0].rev;
        if (st == SG_OK && w[1].result != SG_OK) {
            st = w[1].result;
            char why[256];
            snprintf(why, sizeof why, "%s", sg_last_error());
            sg_ledger_seat_drop(l, ps->player, in->marker);
            sg_fail(st, "%s", why);
        }
    }
    free(json);
    free(ijson);
    return st;
}

static sg_status reserve(sg_ledger *l, const sg_seats_request *rq, sg_seats_result *res,
                         sg_session_record *reuse, uint64_t *reuse_rev, long long *retry_after_ms,
                         bool *intent_written)
{
    for (int attempt = 0; attempt < SEATS_CAS_TRIES; attempt++) {
        char key[SG_PLAYER_KEY_MAX + 8];
        sg_player_seats ps;
        uint64_t rev;
        sg_status st = seats_get(l, rq->player, key, sizeof key, &ps, &rev);
        if (st != SG_OK) return st;
        long long now = sg_clock_wall_ms();
        bool changed = false;

        for (size_t i = 0; i < ps.count;) {
            sg_player_seat *s = &ps.seats[i];
            if (s->until <= now) {
                seats_remove(&ps, i);
                changed = true;
                continue;
            }
            if (s->session_id[0]) {
                sg_session_record r;
                uint64_t srev = 0;
                st = sg_ledger_get_session(l, s->session_id, &r, &srev);
                if (st == SG_E_NOT_FOUND || (st == SG_OK && r.state == SG_SESSION_RELEASED)) {
                    seats_remove(&ps, i);
                    changed = true;
                    continue;
                }
                if (st != SG_OK && st != SG_E_MALFORMED) return st;
                if (st == SG_OK && r.state == SG_SESSION_UNCLAIMED && r.has_deployment &&
                    r.client_id != 0 && r.claim_deadline - now >= rq->reuse_margin_ms &&
                    (!rq->player_ip || strcmp(r.player_ip, rq->player_ip) == 0)) {
                    *res = SG_SEATS_REUSE;
                    *reuse = r;
                    *reuse_rev = srev;
                    return SG_OK;
                }
            }
            i++;
        }
        if (ps.count >= (size_t)rq->cap || ps.count >= SG_PLAYER_SEATS_MAX) {
            long long first = ps.seats[0].until;
            for (size_t i = 1; i < ps.count; i++)
                if (ps.seats[i].until < first) first = ps.seats[i].until;
            *retry_after_ms = first - now > 1000 ? first - now : 1000;
            if (changed && seats_put(l, key, &ps, rev, NULL) == SG_E_CONFLICT) continue;
            *res = SG_SEATS_FULL;
            return SG_OK;
        }
        sg_player_seat *n = &ps.seats[ps.count++];
        memset(n, 0, sizeof *n);
        snprintf(n->marker, sizeof n->marker, "%s", rq->marker);
        n->until = rq->until;
        uint64_t new_rev = 0;
        st = rq->intent
                 ? put_seats_and_intent(l, key, &ps, rev, rq->intent, intent_written, &new_rev)
                 : seats_put(l, key, &ps, rev, &new_rev);
        if (st == SG_E_CONFLICT) continue; /* another request for this player came first */
        if (st != SG_OK) return st;
        *res = SG_SEATS_RESERVED;
        if (rq->written && rq->written_rev && new_rev) { /* (a backend without: read later) */
            *rq->written = ps;
            *rq->written_rev = new_rev;
        }
        return SG_OK;
    }
    return sg_fail(SG_E_CONFLICT, "player seats: the record kept changing");
}

sg_status sg_ledger_reserve_seat(sg_ledger *l, const sg_seats_request *rq, sg_seats_result *res,
                                 sg_session_record *reuse, uint64_t *reuse_rev,
                                 long long *retry_after_ms)
{
    if (!l->seats) return not_opened(SG_BUCKET_PLAYER_SEATS);
    if (rq->intent && !l->intents) return not_opened(SG_BUCKET_SESSION_INTENTS);
    bool intent_written = false;
    sg_status st = reserve(l, rq, res, reuse, reuse_rev, retry_after_ms, &intent_written);
    /* An intent written beside a reservation that lost a race belongs to no create. */
    if (intent_written && (st != SG_OK || *res != SG_SEATS_RESERVED)) {
        char why[256];
        snprintf(why, sizeof why, "%s", st ? sg_last_error() : "");
        sg_kv_delete(l->intents, rq->intent->marker);
        if (st) sg_fail(st, "%s", why);
    }
    return st;
}

/* Reads the player's record, applies fn and prepares its compare-and-set write into *w
 * (*json to free after). SG_E_NOT_FOUND when fn finds nothing to change. */
static sg_status seats_prepare(sg_ledger *l, const char *player,
                               bool (*fn)(sg_player_seats *ps, void *arg), void *arg, char *key,
                               size_t ksize, char **json, sg_kv_write *w)
{
    *json = NULL;
    if (!l->seats) return not_opened(SG_BUCKET_PLAYER_SEATS);
    sg_player_seats ps;
    uint64_t rev;
    sg_status st = seats_get(l, player, key, ksize, &ps, &rev);
    if (st != SG_OK) return st;
    if (!fn(&ps, arg)) return SG_E_NOT_FOUND;
    return seats_write(l, key, &ps, rev, json, w);
}

/* Applies fn to the player's record with compare-and-set (retried on conflicts). fn returns
 * false when there is nothing to change. */
static sg_status seats_change(sg_ledger *l, const char *player,
                              bool (*fn)(sg_player_seats *ps, void *arg), void *arg)
{
    for (int attempt = 0; attempt < SEATS_CAS_TRIES; attempt++) {
        char key[SG_PLAYER_KEY_MAX + 8], *json = NULL;
        sg_kv_write w;
        sg_status st = seats_prepare(l, player, fn, arg, key, sizeof key, &json, &w);
        if (st == SG_OK) st = sg_kv_write_many(&w, 1);
        free(json);
        if (st == SG_E_EXISTS) st = SG_E_CONFLICT;
        if (st != SG_E_CONFLICT) return st;
    }
    return sg_fail(SG_E_CONFLICT, "player seats: the record kept changing");
}

static bool set_session(sg_player_seats *ps, void *arg)
{
    const seat_set *a = arg;
    for (size_t i = 0; i < ps->count; i++) {
        sg_player_seat *s = &ps->seats[i];
        bool match = a->marker ? strcmp(s->marker, a->marker) == 0
                               : strcmp(s->session_id, a->session_id) == 0;
        if (!match) continue;
        snprintf(s->session_id, sizeof s->session_id, "%s", a->session_id);
        s->until = a->until;
        return true;
    }
    return false;
}

static bool drop_marker(sg_player_seats *ps, void *arg)
{
    const char *marker = arg;
    for (size_t i = 0; i < ps->count; i++) {
        if (strcmp(ps->seats[i].marker, marker) != 0) continue;
        seats_remove(ps, i);
        return true;
    }
    return false;
}

sg_status sg_ledger_seat_session(sg_ledger *l, const char *player, const char *marker,
                                 const char *session_id, long long until)
{
    seat_set a = {marker, session_id, until};
    return seats_change(l, player, set_session, &a);
}

sg_status sg_ledger_seat_drop(sg_ledger *l, const char *player, const char *marker)
{
    sg_status st = seats_change(l, player, drop_marker, (void *)marker);
    return st == SG_E_NOT_FOUND ? SG_OK : st;
}
