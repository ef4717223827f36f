/* The hook's worker thread: the start sequence, heartbeats, and every request the game
 * enqueued (verify, disconnect, game event), driven through the backend. Only this thread
 * calls the backend. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hook_internal.h"
#include "seatgate/clock.h"
#include "seatgate/jws.h"
#include "seatgate/log.h"

#define COMP "hook"

static const hook_backend_ops *ops(sg_hook *h)
{
    return h->backend.ops;
}

/* ---- connections held here (under h->mu: inspection reads them) ----------------------- */

static hook_conn *conn_find(sg_hook *h, uint64_t client_id)
{
    for (size_t i = 0; i < h->conn_count; i++)
        if (h->conns[i].client_id == client_id) return &h->conns[i];
    return NULL;
}

/* The gameserver record's player count is rewritten soon after a player joins or leaves
 * (not only at the next heartbeat), so placement sees servers as they are; changes within
 * this window share one write. */
#define PLAYERS_WRITE_DELAY_MS 200

static void players_changed(sg_hook *h)
{
    long long soon = sg_clock_mono_ms() + PLAYERS_WRITE_DELAY_MS;
    if (soon < h->next_heartbeat_ms) h->next_heartbeat_ms = soon;
}

static bool conn_add(sg_hook *h, const hook_job *j)
{
    pthread_mutex_lock(&h->mu);
    if (h->conn_count == h->conn_cap) {
        size_t cap = h->conn_cap ? h->conn_cap * 2 : 16;
        hook_conn *n = realloc(h->conns, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&h->mu);
            return false;
        }
        h->conns = n;
        h->conn_cap = cap;
    }
    hook_conn *c = &h->conns[h->conn_count++];
    memset(c, 0, sizeof *c);
    c->client_id = j->client_id;
    snprintf(c->session_id, sizeof c->session_id, "%s", j->verdict.session_id);
    snprintf(c->ip, sizeof c->ip, "%s", j->verdict.source_ip);
    snprintf(c->user_id, sizeof c->user_id, "%s", j->user_id);
    c->since = (long long)time(NULL);
    pthread_mutex_unlock(&h->mu);
    players_changed(h);
    return true;
}

/* Removes the connection of client_id into *out; false when there is none. */
static bool conn_remove(sg_hook *h, uint64_t client_id, hook_conn *out)
{
    pthread_mutex_lock(&h->mu);
    hook_conn *c = conn_find(h, client_id);
    if (c) {
        *out = *c;
        *c = h->conns[--h->conn_count];
    }
    pthread_mutex_unlock(&h->mu);
    if (c) players_changed(h);
    return c != NULL;
}

static bool conn_get(sg_hook *h, uint64_t client_id, hook_conn *out)
{
    pthread_mutex_lock(&h->mu);
    hook_conn *c = conn_find(h, client_id);
    if (c) *out = *c;
    pthread_mutex_unlock(&h->mu);
    return c != NULL;
}

#define STAT_ADD(h, field)                                                                         \
    do {                                                                                           \
        pthread_mutex_lock(&(h)->mu);                                                              \
        (h)->stats.field++;                                                                        \
        pthread_mutex_unlock(&(h)->mu);                                                            \
    } while (0)

/* ---- events ---------------------------------------------------------------------------- */

static sg_status publish(sg_hook *h, const hook_event *ev)
{
    sg_status st = ops(h)->publish(h->backend.ctx, ev);
    if (st == SG_OK) {
        STAT_ADD(h, events_published);
    } else {
        char q[300];
        SG_WARN(COMP, "publish_failed", "event=%d status=%s error=%s", (int)ev->kind,
                sg_status_name(st), sg_log_quote(sg_last_error(), q, sizeof q));
    }
    return st;
}

/* ---- verify ---------------------------------------------------------------------------- */

static void verify_finish(sg_hook *h, hook_job *j)
{
    sg_hook_verdict *v = &j->verdict;
    char q[300];
    pthread_mutex_lock(&h->mu);
    h->stats.verifies++;
    if (v->accepted)
        h->stats.accepted++;
    else if (v->reason > 0 && v->reason < SG_HOOK_REASON_COUNT)
        h->stats.rejected[v->reason]++;
    pthread_mutex_unlock(&h->mu);
    if (h->dry_run) {
        SG_INFO(COMP, "verify_dry_run", "client_id=%" PRIu64 " reason=%s", v->client_id,
                sg_hook_reason_name((sg_hook_reason)v->reason));
    } else if (v->accepted) {
        SG_INFO(COMP, "player_accepted", "client_id=%" PRIu64 " session_id=%s ip=%s user=%s",
                v->client_id, v->session_id, v->source_ip, j->user_id[0] ? j->user_id : "-");
        hook_event ev = {.kind = HOOK_EV_PLAYER_CONNECT,
                         .client_id = v->client_id,
                         .session_id = v->session_id,
                         .ip = v->source_ip,
                         .user_id = j->user_id};
        publish(h, &ev);
    } else {
        if (hook_guard_memorable(v->reason))
            hook_guard_remember(h->guard, v->client_id, &j->source, v->reason, sg_clock_mono_ms());
        const char *reason = sg_hook_reason_name((sg_hook_reason)v->reason);
        SG_WARN(COMP, "player_rejected",
                "client_id=%" PRIu64 " session_id=%s ip=%s reason=%s exposure=%s msg=%s",
                v->client_id, *v->session_id ? v->session_id : "-", v->source_ip, reason,
                h->exposure, sg_log_quote(v->message, q, sizeof q));
        hook_event ev = {.kind = HOOK_EV_VERIFY_REJECTED,
                         .client_id = v->client_id,
                         .session_id = v->session_id,
                         .ip = v->source_ip,
                         .reason = v->reason,
                         .message = v->message};
        publish(h, &ev);
    }
    hook_complete(h, j);
}

/* A refusal the guard serves (rate limited, or remembered): counted, no event, and logged
 * at most once per 10 s with how many there were. */
static void reject_quietly(sg_hook *h, hook_job *j, sg_hook_reason reason, const char *msg)
{
    hook_verdict_set(&j->verdict, reason, "%s", msg);
    pthread_mutex_lock(&h->mu);
    h->stats.verifies++;
    h->stats.rejected[reason]++;
    h->stats.quiet++;
    pthread_mutex_unlock(&h->mu);
    h->quiet_since_log++;
    unsigned long long held = 0;
    if (sg_log_limit(&h->quiet_log, 10000, &held)) {
        SG_WARN(COMP, "rejections_repeated",
                "count=%llu last_reason=%s last_ip=%s hint=\"refused without any call: replayed "
                "or flooding connection requests (verify-rate, reject-memory)\"",
                h->quiet_since_log, sg_hook_reason_name(reason), j->verdict.source_ip);
        h->quiet_since_log = 0;
    }
    hook_complete(h, j);
}

static void reject(sg_hook *h, hook_job *j, sg_hook_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reject(sg_hook *h, hook_job *j, sg_hook_reason reason, const char *fmt, ...)
{
    char msg[sizeof j->verdict.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hook_verdict_set(&j->verdict, reason, "%s", msg);
    verify_finish(h, j);
}

static void on_session(hook_job *j, sg_status st, const hook_session_view *s)
{
    sg_hook *h = j->hook;
    j->in_flight = false;
    h->in_flight--;
    sg_hook_verdict *v = &j->verdict;
    if (st == SG_E_NOT_FOUND || st == SG_E_GONE) {
        reject(h, j, SG_HOOK_REJECT_SESSION_GONE, "the platform does not hold seat %s",
               v->session_id);
        return;
    }
    if (st != SG_OK) {
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "cannot read the seat from the platform: %s",
               sg_last_error());
        return;
    }
    if (!hook_check_session(&h->self, &j->source, s, v)) {
        verify_finish(h, j);
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool here = conn_find(h, j->client_id) != NULL;
    int from_ip = 0;
    for (size_t i = 0; i < h->conn_count; i++)
        from_ip += strcmp(h->conns[i].ip, v->source_ip) == 0;
    pthread_mutex_unlock(&h->mu);
    if (here) {
        reject(h, j, SG_HOOK_REJECT_ALREADY_CONNECTED, "%s",
               "this client id is already connected to this server");
        return;
    }
    pthread_mutex_lock(&h->mu);
    size_t players = h->conn_count;
    pthread_mutex_unlock(&h->mu);
    if (h->self.capacity > 0 && players >= (size_t)h->self.capacity) {
        reject(h, j, SG_HOOK_REJECT_SERVER_FULL, "this server holds its %d players (capacity)",
               h->self.capacity);
        return;
    }
    if (h->claims_per_ip > 0 && from_ip >= h->claims_per_ip) {
        reject(h, j, SG_HOOK_REJECT_IP_LIMIT,
               "this address already holds %d connections on this server (claims-per-ip)",
               from_ip);
        return;
    }
    if (h->dry_run) {
        hook_verdict_set(v, SG_HOOK_ACCEPTED, "session %s would be accepted (dry run)",
                         v->session_id);
        verify_finish(h, j);
        return;
    }
    st = ops(h)->claim(h->backend.ctx, v->session_id, j->client_id, v->source_ip, j->user_id);
    if (st == SG_E_CONFLICT) {
        reject(h, j, SG_HOOK_REJECT_ALREADY_CONNECTED, "session %s is held by another connection",
               v->session_id);
    } else if (st == SG_E_NOT_FOUND) {
        reject(h, j, SG_HOOK_REJECT_UNKNOWN_CLIENT, "no session record for %s", v->session_id);
    } else if (st != SG_OK) {
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "cannot claim the session: %s", sg_last_error());
    } else if (!conn_add(h, j)) {
        ops(h)->release(h->backend.ctx, v->session_id, j->client_id, SG_HOOK_DISCONNECT_ERROR);
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "out of memory");
    } else {
        verify_finish(h, j);
    }
}

/* A seat token presented instead of a connect token: verified, then its claims checked
 * against this server and the source address; its jti and sid become the client id and
 * seat the rest of the verification uses. False when it was refused (rejected here). */
static bool seat_token_start(sg_hook *h, hook_job *j)
{
    if (h->start_status != SG_OK) {
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "the hook did not start: %s",
               sg_status_name(h->start_status));
        return false;
    }
    if (!h->seat_keys) {
        reject(h, j, SG_HOOK_REJECT_BAD_SEAT_TOKEN, "%s",
               "seat tokens are not accepted here (no seat-token-keys)");
        return false;
    }
    sg_jws_verify_options o = {.leeway_s = h->seat_leeway_s};
    sg_jws_reason why = SG_JWS_MALFORMED;
    char *text = NULL;
    if (sg_jws_verify(h->seat_keys, j->seat_token, j->seat_token_len, &o, &why, &text) != SG_OK) {
        reject(h, j, SG_HOOK_REJECT_BAD_SEAT_TOKEN, "seat token refused (%s)",
               sg_jws_reason_name(why));
        return false;
    }
    cJSON *c = cJSON_Parse(text);
    free(text);
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud");
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(c, "instanceId");
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(c, "ip");
    const cJSON *jti = cJSON_GetObjectItemCaseSensitive(c, "jti");
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(c, "sid");
    bool aud_ok = !h->seat_audience[0];
    if (!aud_ok && cJSON_IsString(aud)) aud_ok = strcmp(aud->valuestring, h->seat_audience) == 0;
    const cJSON *a;
    if (!aud_ok && cJSON_IsArray(aud))
        cJSON_ArrayForEach(a, aud) aud_ok |= cJSON_IsString(a) && strcmp(a->valuestring, h->seat_audience) == 0;
    char *end = NULL;
    unsigned long long cid = cJSON_IsString(jti) ? strtoull(jti->valuestring, &end, 10) : 0;
    bool ok = false;
    sg_addr from;
    if (!aud_ok) {
        reject(h, j, SG_HOOK_REJECT_BAD_SEAT_TOKEN, "%s", "seat token refused (wrong_audience)");
    } else if (!cJSON_IsString(jti) || !end || *end || cid == 0 || !cJSON_IsString(sid) ||
               strlen(sid->valuestring) >= sizeof j->session_hint) {
        reject(h, j, SG_HOOK_REJECT_BAD_SEAT_TOKEN, "%s",
               "seat token refused (claims): jti must be the client id, sid the seat");
    } else if (!cJSON_IsString(inst) || strcmp(inst->valuestring, h->self.request_id) != 0) {
        j->client_id = j->verdict.client_id = cid;
        snprintf(j->verdict.session_id, sizeof j->verdict.session_id, "%s", sid->valuestring);
        reject(h, j, SG_HOOK_REJECT_WRONG_SERVER_ID, "seat token for server %.64s, this is %.64s",
               cJSON_IsString(inst) ? inst->valuestring : "?", h->self.request_id);
    } else if (!cJSON_IsString(ip) || sg_addr_parse(ip->valuestring, SG_PORT_FORBIDDEN, &from) != SG_OK ||
               !sg_addr_equal(&from, &j->source, false)) {
        j->client_id = j->verdict.client_id = cid;
        snprintf(j->verdict.session_id, sizeof j->verdict.session_id, "%s", sid->valuestring);
        reject(h, j, SG_HOOK_REJECT_IP_MISMATCH, "seat token for address %.46s, used from %s",
               cJSON_IsString(ip) ? ip->valuestring : "?", j->verdict.source_ip);
    } else {
        j->client_id = j->verdict.client_id = cid;
        snprintf(j->session_hint, sizeof j->session_hint, "%s", sid->valuestring);
        ok = true;
    }
    cJSON_Delete(c);
    return ok;
}

static void verify_start(sg_hook *h, hook_job *j)
{
    sg_hook_verdict *v = &j->verdict;
    if (j->source.family == 0) {
        reject(h, j, SG_HOOK_REJECT_INVALID, "%s", "source IP does not parse");
        return;
    }
    if (j->seat_token && !seat_token_start(h, j)) return;
    if (j->client_id == 0) {
        reject(h, j, SG_HOOK_REJECT_INVALID, "%s", "client id 0 is not valid");
        return;
    }
    if (h->start_status != SG_OK) {
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "the hook did not start: %s",
               sg_status_name(h->start_status));
        return;
    }
    long long now = sg_clock_mono_ms();
    int remembered = 0;
    if (hook_guard_remembered(h->guard, j->client_id, &j->source, now, &remembered)) {
        snprintf(v->session_id, sizeof v->session_id, "%s", j->session_hint);
        reject_quietly(h, j, (sg_hook_reason)remembered,
                       "refused a moment ago from this address: refused again");
        return;
    }
    if (!hook_guard_admit(h->guard, &j->source, now)) {
        reject_quietly(h, j, SG_HOOK_REJECT_RATE_LIMITED,
                       "too many connection attempts from this address; try again shortly");
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool here = conn_find(h, j->client_id) != NULL;
    pthread_mutex_unlock(&h->mu);
    if (here) {
        snprintf(v->session_id, sizeof v->session_id, "%s", j->session_hint);
        reject(h, j, SG_HOOK_REJECT_ALREADY_CONNECTED, "%s",
               "this client id is already connected to this server");
        return;
    }
    sg_status st =
        ops(h)->lookup_client(h->backend.ctx, j->client_id, v->session_id, sizeof v->session_id);
    if (st == SG_E_NOT_FOUND) {
        v->session_id[0] = '\0';
        reject(h, j, SG_HOOK_REJECT_UNKNOWN_CLIENT, "%s",
               "client id not issued by the matchmaker, or its token expired");
        return;
    }
    if (st != SG_OK) {
        v->session_id[0] = '\0';
        reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "cannot read connect_tokens: %s", sg_last_error());
        return;
    }
    if (j->session_hint[0] && strcmp(j->session_hint, v->session_id) != 0) {
        reject(h, j, SG_HOOK_REJECT_SESSION_MISMATCH,
               "the token names another session than the one recorded for this client (%s)",
               v->session_id);
        return;
    }
    j->in_flight = true;
    h->in_flight++;
    ops(h)->get_session(h->backend.ctx, v->session_id, j, on_session);
}

/* ---- disconnect and retried deletes ---------------------------------------------------- */

static void schedule_retry(sg_hook *h, const char *session_id, uint64_t client_id)
{
    hook_job *r = calloc(1, sizeof *r);
    if (!r) {
        SG_ERROR(COMP, "delete_lost", "session_id=%s error=no_memory", session_id);
        return;
    }
    r->kind = JOB_RETRY_DELETE;
    r->hook = h;
    r->client_id = client_id;
    snprintf(r->verdict.session_id, sizeof r->verdict.session_id, "%s", session_id);
    r->value = 1; /* attempts failed so far: the first delete */
    r->deadline_ms = sg_clock_mono_ms() + sg_backoff_ms(h->delete_retry_ms, 60000, 1);
    hook_list_push(&h->retrying, r);
}

static void on_deleted(hook_job *j, sg_status st, bool queued)
{
    sg_hook *h = j->hook;
    j->in_flight = false;
    h->in_flight--;
    char q[300];
    if (st == SG_OK) {
        SG_INFO(COMP, queued ? "session_delete_queued" : "session_deleted", "session_id=%s",
                j->verdict.session_id);
        pthread_mutex_lock(&h->mu);
        if (queued)
            h->stats.deletes_queued++;
        else
            h->stats.deletes_done++;
        pthread_mutex_unlock(&h->mu);
    } else {
        SG_WARN(COMP, "session_delete_failed", "session_id=%s status=%s error=%s retry=hook",
                j->verdict.session_id, sg_status_name(st),
                sg_log_quote(sg_last_error(), q, sizeof q));
    }
    if (j->kind == JOB_RETRY_DELETE) {
        if (st != SG_OK) {
            j->value++;
            j->deadline_ms = sg_clock_mono_ms() + sg_backoff_ms(h->delete_retry_ms, 60000, (int)j->value);
            hook_list_push(&h->retrying, j);
        } else {
            free(j);
        }
        return;
    }
    if (st != SG_OK) schedule_retry(h, j->verdict.session_id, j->client_id);
    j->status = st;
    hook_complete(h, j);
}

static void disconnect_start(sg_hook *h, hook_job *j)
{
    hook_conn c;
    if (!conn_remove(h, j->client_id, &c)) {
        j->status = SG_E_NOT_FOUND;
        hook_complete(h, j);
        return;
    }
    snprintf(j->verdict.session_id, sizeof j->verdict.session_id, "%s", c.session_id);
    STAT_ADD(h, disconnects);
    char q[300];
    sg_status st = ops(h)->release(h->backend.ctx, c.session_id, c.client_id, j->reason);
    if (st != SG_OK)
        SG_WARN(COMP, "release_failed", "session_id=%s status=%s error=%s", c.session_id,
                sg_status_name(st), sg_log_quote(sg_last_error(), q, sizeof q));
    SG_INFO(COMP, "player_disconnected", "client_id=%" PRIu64 " session_id=%s reason=%s",
            c.client_id, c.session_id, sg_hook_disconnect_reason_name(j->reason));
    hook_event ev = {.kind = HOOK_EV_PLAYER_DISCONNECT,
                     .client_id = c.client_id,
                     .session_id = c.session_id,
                     .ip = c.ip,
                     .user_id = c.user_id,
                     .reason = j->reason,
                     .duration_ms = ((long long)time(NULL) - c.since) * 1000};
    publish(h, &ev);
    j->in_flight = true;
    h->in_flight++;
    ops(h)->delete_session(h->backend.ctx, c.session_id, j, on_deleted);
}

static void retry_due(sg_hook *h, long long now)
{
    hook_job *all = hook_list_take_all(&h->retrying);
    while (all) {
        hook_job *r = all;
        all = r->next;
        if (r->deadline_ms > now) {
            hook_list_push(&h->retrying, r);
            continue;
        }
        r->in_flight = true;
        h->in_flight++;
        ops(h)->delete_session(h->backend.ctx, r->verdict.session_id, r, on_deleted);
    }
}

/* ---- score events ---------------------------------------------------------------------- */

static void score_start(sg_hook *h, hook_job *j)
{
    hook_conn c;
    if (!conn_get(h, j->client_id, &c)) {
        j->status = SG_E_NOT_FOUND;
        hook_complete(h, j);
        return;
    }
    /* The target's identity, when it plays here too: the leaderboard rates it by that. */
    hook_conn t;
    bool target_here = j->target && conn_get(h, j->target, &t);
    hook_event ev = {.kind = HOOK_EV_SCORE,
                     .client_id = c.client_id,
                     .session_id = c.session_id,
                     .ip = c.ip,
                     .user_id = c.user_id,
                     .score_kind = j->name,
                     .value = j->value,
                     .target_client_id = j->target,
                     .target_session_id = target_here ? t.session_id : "",
                     .target_user_id = target_here ? t.user_id : ""};
    j->status = publish(h, &ev);
    hook_complete(h, j);
}

/* ---- start and the loop ---------------------------------------------------------------- */

static void start_attempt(sg_hook *h, long long now)
{
    hook_identity id;
    memset(&id, 0, sizeof id);
    char *ctx_json = NULL;
    sg_status st = ops(h)->start(h->backend.ctx, &id, &ctx_json);
    char q[300];
    if (st == SG_OK) {
        pthread_mutex_lock(&h->mu);
        h->self = id;
        free(h->context_json);
        h->context_json = ctx_json;
        h->start_status = SG_OK;
        h->started = true;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->mu);
        h->next_heartbeat_ms = now + h->heartbeat_ms;
        SG_INFO(COMP, "started", "request_id=%s public_ip=%s fqdn=%s", id.request_id, id.public_ip,
                id.fqdn);
        return;
    }
    free(ctx_json);
    bool retryable = st == SG_E_UNAVAILABLE || st == SG_E_NOT_FOUND || st == SG_E_TIMEOUT ||
                     st == SG_E_NETWORK || st == SG_E_SERVER || st == SG_E_RATE_LIMITED;
    if (retryable && now < h->start_deadline_ms && !h->stopping) {
        SG_WARN(COMP, "start_retry", "status=%s error=%s retry_in_ms=%lld", sg_status_name(st),
                sg_log_quote(sg_last_error(), q, sizeof q), sg_backoff_ms(100, 5000, h->start_tries + 1));
        h->next_start_ms = now + sg_backoff_ms(100, 5000, ++h->start_tries);
        return;
    }
    char why[SG_HOOK_MESSAGE_MAX];
    snprintf(why, sizeof why, "%s%s", sg_last_error(),
             retryable && !h->stopping ? " (gave up after start-timeout)" : "");
    SG_ERROR(COMP, "start_failed", "status=%s error=%s", sg_status_name(st),
             sg_log_quote(why, q, sizeof q));
    pthread_mutex_lock(&h->mu);
    memcpy(h->start_error, why, sizeof h->start_error);
    h->start_status = st == SG_E_TIMEOUT ? SG_E_UNAVAILABLE : st;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

static void dispatch(sg_hook *h, hook_job *j)
{
    switch (j->kind) {
    case JOB_VERIFY:
        if (h->start_status == SG_E_TIMEOUT && !h->stopping)
            hook_list_push(&h->waiting, j); /* wait for the start */
        else
            verify_start(h, j);
        break;
    case JOB_DISCONNECT:
        disconnect_start(h, j);
        break;
    case JOB_SCORE:
        score_start(h, j);
        break;
    case JOB_RETRY_DELETE:
        hook_list_push(&h->retrying, j);
        break;
    }
}

/* Verifies waiting for the start: go once started (or failed), reject past their deadline. */
static void run_waiting(sg_hook *h, long long now)
{
    hook_job *all = hook_list_take_all(&h->waiting);
    while (all) {
        hook_job *j = all;
        all = j->next;
        if (h->start_status != SG_E_TIMEOUT)
            verify_start(h, j);
        else if (now >= j->deadline_ms || h->stopping)
            reject(h, j, SG_HOOK_REJECT_UNAVAILABLE, "%s",
                   "the hook has not started yet (context or store unavailable)");
        else
            hook_list_push(&h->waiting, j);
    }
}

static long long min_ll(long long a, long long b)
{
    return a < b ? a : b;
}

void *hook_worker_main(void *arg)
{
    sg_hook *h = arg;
    pthread_setname_np(pthread_self(), "seatgate-hook");
    long long now = sg_clock_mono_ms();
    h->start_deadline_ms = now + h->start_timeout_ms;
    h->start_tries = 0;
    h->next_start_ms = now;
    long long stop_deadline = 0;
    bool stop_seen = false;

    for (;;) {
        uint64_t v;
        while (read(h->wake_fd, &v, sizeof v) < 0 && errno == EINTR) {
        }
        pthread_mutex_lock(&h->mu);
        hook_job *batch = hook_list_take_all(&h->incoming);
        bool stopping = h->stopping, quit = h->quit;
        int stop_ms = h->stop_timeout_req;
        pthread_mutex_unlock(&h->mu);
        now = sg_clock_mono_ms();
        if (stopping && !stop_seen) {
            stop_seen = true;
            stop_deadline = now + stop_ms;
        }
        while (batch) {
            hook_job *j = batch;
            batch = j->next;
            dispatch(h, j);
        }
        if (h->start_status == SG_E_TIMEOUT && !stopping && now >= h->next_start_ms)
            start_attempt(h, now);
        run_waiting(h, now);
        if (h->start_status == SG_OK && !stopping && now >= h->next_heartbeat_ms) {
            pthread_mutex_lock(&h->mu);
            uint32_t players = (uint32_t)h->conn_count;
            pthread_mutex_unlock(&h->mu);
            sg_status hst = ops(h)->heartbeat(h->backend.ctx, players);
            if (hst != SG_OK) {
                char q[300];
                SG_WARN(COMP, "heartbeat_failed", "status=%s error=%s", sg_status_name(hst),
                        sg_log_quote(sg_last_error(), q, sizeof q));
            }
            h->next_heartbeat_ms = now + h->heartbeat_ms;
        }
        if (!stopping || h->in_flight > 0) retry_due(h, now);

        if (stopping && (h->in_flight == 0 || now >= stop_deadline)) {
            long long left = stop_deadline - now;
            sg_status st = ops(h)->stop(h->backend.ctx, left > 0 ? (int)left : 0);
            /* Deletes the hook still retries itself are lost with the process unless the
             * backend's stop handed them over; report that as work left behind. */
            hook_job *r = hook_list_take_all(&h->retrying);
            if (r && st == SG_OK) st = SG_E_TIMEOUT;
            while (r) {
                hook_job *n = r->next;
                SG_ERROR(COMP, "delete_abandoned", "session_id=%s", r->verdict.session_id);
                free(r);
                r = n;
            }
            pthread_mutex_lock(&h->mu);
            h->stopped = true;
            h->stop_status = st;
            pthread_cond_broadcast(&h->cond);
            pthread_mutex_unlock(&h->mu);
            SG_INFO(COMP, "stopped", "status=%s", sg_status_name(st));
            break;
        }
        if (quit) break;

        long long wait = 1000;
        if (h->start_status == SG_E_TIMEOUT) wait = min_ll(wait, h->next_start_ms - now);
        if (h->start_status == SG_OK) wait = min_ll(wait, h->next_heartbeat_ms - now);
        for (hook_job *j = h->waiting.head; j; j = j->next)
            wait = min_ll(wait, j->deadline_ms - now);
        for (hook_job *j = h->retrying.head; j; j = j->next)
            wait = min_ll(wait, j->deadline_ms - now);
        if (stopping) wait = min_ll(wait, stop_deadline - now);
        if (wait < 0) wait = 0;
        atomic_store(&h->worker_idle, 1);
        pthread_mutex_lock(&h->mu);
        if (h->incoming.head) wait = 0; /* arrived before idle was visible: no wake-up came */
        pthread_mutex_unlock(&h->mu);
        ops(h)->run(h->backend.ctx, (int)wait, h->wake_fd);
        atomic_store(&h->worker_idle, 0);
    }
    /* Refuse whatever arrived after the stop (enqueue already refuses; this is a safety net). */
    pthread_mutex_lock(&h->mu);
    hook_job *left = hook_list_take_all(&h->incoming);
    pthread_mutex_unlock(&h->mu);
    while (left) {
        hook_job *j = left;
        left = j->next;
        if (j->kind == JOB_VERIFY) {
            hook_verdict_set(&j->verdict, SG_HOOK_REJECT_UNAVAILABLE, "the hook stopped");
        } else {
            j->status = SG_E_UNAVAILABLE;
        }
        hook_complete(h, j);
    }
    return NULL;
}
