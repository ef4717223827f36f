/* The store side every platform's backend shares: the ledger's buckets and queue, events,
 * the gameserver record (see hook_internal.h). Blocking but bounded (store-timeout), on the
 * hook's worker thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hook_internal.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

#define COMP "hook"

void hook_wipe_free(char *s)
{
    if (!s) return;
    sodium_memzero(s, strlen(s));
    free(s);
}

sg_status hook_shared_init(hook_shared *sh, const sg_hook_options *o)
{
    memset(sh, 0, sizeof *sh);
    sg_status st = hook_store_options(o, &sh->store_opts);
    if (st != SG_OK) return st;
    if (!hook_options_is_set(o, "store-url"))
        SG_WARN(COMP, "store_default",
                "url=%s hint=\"store-url (SEATGATE_STORE_URL) is not set: this server shares "
                "state only with processes using the same file; set it to the matchmaker's "
                "nats:// URL\"",
                SG_KV_DEFAULT_URL);
    sh->register_server = hook_options_num(o, "register") != 0;
    const char *exp = hook_options_value(o, "exposure-mode");
    snprintf(sh->exposure, sizeof sh->exposure, "%s", exp ? exp : "hostport");
    return SG_OK;
}

void hook_shared_clear(hook_shared *sh)
{
    sg_ledger_close(sh->ledger);
    sg_store_close(sh->store);
    sh->ledger = NULL;
    sh->store = NULL;
    hook_store_options_clear(&sh->store_opts);
}

/* All or nothing, so that a retried start never finds the store open with a bucket or the
 * queue missing. */
sg_status hook_shared_open(hook_shared *sh)
{
    if (sh->store) return SG_OK;
    sg_status st = sg_store_open(&sh->store_opts, &sh->store);
    if (st != SG_OK) return st;
    sg_ledger_options lo = {.role = SG_LEDGER_GAME_SERVER};
    st = sg_ledger_open(sh->store, &lo, &sh->ledger);
    if (st != SG_OK) {
        sg_store_close(sh->store);
        sh->store = NULL;
    }
    return st;
}

static sg_status publish_server(hook_shared *sh, sg_event_kind kind, const char *reason)
{
    sg_event e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    snprintf(e.source, sizeof e.source, "%s", sh->id.fqdn);
    snprintf(e.u.server.fqdn, sizeof e.u.server.fqdn, "%s", sh->id.fqdn);
    snprintf(e.u.server.request_id, sizeof e.u.server.request_id, "%s", sh->id.request_id);
    snprintf(e.u.server.public_ip, sizeof e.u.server.public_ip, "%s", sh->id.public_ip);
    if (reason) snprintf(e.u.server.reason, sizeof e.u.server.reason, "%s", reason);
    return sg_event_publish(sh->store, &e);
}

sg_status hook_shared_register(hook_shared *sh, const char *context_json, size_t len)
{
    sh->id.capacity = sh->record.capacity;
    if (!sh->register_server) return SG_OK;
    sg_status st = sg_ledger_put_context(sh->ledger, sh->id.fqdn, context_json, len);
    if (st == SG_OK) st = sg_ledger_put_server(sh->ledger, &sh->record);
    if (st == SG_OK) st = publish_server(sh, SG_EV_SERVER_UP, NULL);
    return st;
}

sg_status hook_shared_deregister(hook_shared *sh)
{
    if (!sh->started || !sh->register_server) return SG_OK;
    sg_status d = sg_ledger_remove_server(sh->ledger, sh->id.fqdn);
    sg_status e = publish_server(sh, SG_EV_SERVER_DOWN, "stopped");
    return d != SG_OK ? d : e;
}

sg_status hook_shared_heartbeat(void *ctx, uint32_t players)
{
    hook_shared *sh = ctx;
    if (!sh->register_server) return SG_OK;
    sh->record.players = (int)players;
    sh->record.heartbeat_at = sg_clock_wall_ms();
    return sg_ledger_put_server(sh->ledger, &sh->record);
}

sg_status hook_shared_lookup(void *ctx, uint64_t client_id, char *session_id, size_t size)
{
    hook_shared *sh = ctx;
    return sg_ledger_lookup_client(sh->ledger, client_id, session_id, size);
}

sg_status hook_shared_claim(void *ctx, const char *session_id, uint64_t client_id, const char *ip,
                            char *user_id)
{
    hook_shared *sh = ctx;
    (void)ip;
    sg_claim c = {.session_id = session_id,
                  .client_id = client_id,
                  .fqdn = sh->id.fqdn,
                  .request_id = sh->id.request_id,
                  .now_ms = sg_clock_wall_ms(),
                  .user_id = user_id};
    return sg_ledger_claim(sh->ledger, &c); /* SG_E_CONFLICT when another server won */
}

/* The hook's disconnect reasons are the records' (one list): the cast below relies on it. */
_Static_assert(SG_HOOK_DISCONNECT_GOODBYE == (int)SG_DISCONNECT_GOODBYE &&
                   SG_HOOK_DISCONNECT_TIMEOUT == (int)SG_DISCONNECT_TIMEOUT &&
                   SG_HOOK_DISCONNECT_KICKED == (int)SG_DISCONNECT_KICKED &&
                   SG_HOOK_DISCONNECT_SERVER_STOP == (int)SG_DISCONNECT_SERVER_STOP &&
                   SG_HOOK_DISCONNECT_ERROR == (int)SG_DISCONNECT_ERROR &&
                   SG_HOOK_DISCONNECT_REASON_COUNT == (int)SG_DISCONNECT_REASON_COUNT,
               "sg_hook_disconnect_reason must list the records' disconnect reasons in order");

sg_status hook_shared_release(void *ctx, const char *session_id, uint64_t client_id, int reason)
{
    hook_shared *sh = ctx;
    return sg_ledger_release(sh->ledger, session_id, client_id, sh->id.fqdn,
                             sg_disconnect_release_name((sg_disconnect_reason)reason),
                             sg_clock_wall_ms(), NULL);
}

sg_status hook_shared_enqueue_delete(hook_shared *sh, const char *session_id, const char *reason)
{
    return sg_ledger_enqueue_delete(sh->ledger, session_id, reason, sh->id.fqdn);
}

/* ---- events ----------------------------------------------------------------------------- */

static sg_reject_reason reject_reason(int r)
{
    switch (r) {
    case SG_HOOK_REJECT_UNKNOWN_CLIENT:
        return SG_REJECT_UNKNOWN_CLIENT;
    case SG_HOOK_REJECT_SESSION_GONE:
        return SG_REJECT_SESSION_GONE;
    case SG_HOOK_REJECT_SESSION_NOT_READY:
        return SG_REJECT_SESSION_NOT_READY;
    case SG_HOOK_REJECT_IP_MISMATCH:
        return SG_REJECT_IP_MISMATCH;
    case SG_HOOK_REJECT_WRONG_SERVER_IP:
    case SG_HOOK_REJECT_WRONG_SERVER_ID:
        return SG_REJECT_WRONG_SERVER;
    case SG_HOOK_REJECT_ALREADY_CONNECTED:
        return SG_REJECT_ALREADY_CONNECTED;
    case SG_HOOK_REJECT_UNAVAILABLE:
    case SG_HOOK_REJECT_RATE_LIMITED: /* never published (refused without I/O), listed anyway */
        return SG_REJECT_UNAVAILABLE;
    case SG_HOOK_REJECT_IP_LIMIT:
        return SG_REJECT_IP_LIMIT;
    case SG_HOOK_REJECT_SERVER_FULL:
        return SG_REJECT_SERVER_FULL;
    default:
        return SG_REJECT_BAD_TOKEN; /* invalid input, session mismatch */
    }
}

/* The event schema wants an IP; "?" (unparsable source) becomes "". */
static void copy_ip(char *dst, size_t size, const char *ip)
{
    snprintf(dst, size, "%s", ip && strcmp(ip, "?") != 0 ? ip : "");
}

sg_status hook_shared_publish(void *ctx, const hook_event *ev)
{
    hook_shared *sh = ctx;
    if (!sh->store) return sg_fail(SG_E_UNAVAILABLE, "store not open");
    sg_event e;
    memset(&e, 0, sizeof e);
    snprintf(e.source, sizeof e.source, "%s", sh->id.fqdn);
    switch (ev->kind) {
    case HOOK_EV_PLAYER_CONNECT:
    case HOOK_EV_PLAYER_DISCONNECT:
        e.kind =
            ev->kind == HOOK_EV_PLAYER_CONNECT ? SG_EV_PLAYER_CONNECT : SG_EV_PLAYER_DISCONNECT;
        snprintf(e.u.player.session_id, sizeof e.u.player.session_id, "%s", ev->session_id);
        e.u.player.client_id = ev->client_id;
        copy_ip(e.u.player.player_ip, sizeof e.u.player.player_ip, ev->ip);
        snprintf(e.u.player.fqdn, sizeof e.u.player.fqdn, "%s", sh->id.fqdn);
        e.u.player.reason = (sg_disconnect_reason)ev->reason; /* one list: see above */
        e.u.player.duration_ms = ev->kind == HOOK_EV_PLAYER_DISCONNECT ? ev->duration_ms : -1;
        snprintf(e.u.player.user_id, sizeof e.u.player.user_id, "%s",
                 ev->user_id ? ev->user_id : "");
        break;
    case HOOK_EV_VERIFY_REJECTED:
        e.kind = SG_EV_VERIFY_REJECTED;
        e.u.reject.client_id = ev->client_id;
        snprintf(e.u.reject.session_id, sizeof e.u.reject.session_id, "%s",
                 ev->session_id ? ev->session_id : "");
        copy_ip(e.u.reject.player_ip, sizeof e.u.reject.player_ip, ev->ip);
        snprintf(e.u.reject.fqdn, sizeof e.u.reject.fqdn, "%s", sh->id.fqdn);
        e.u.reject.reason = reject_reason(ev->reason);
        snprintf(e.u.reject.message, sizeof e.u.reject.message, "%s",
                 ev->message ? ev->message : "");
        snprintf(e.u.reject.exposure, sizeof e.u.reject.exposure, "%s", sh->exposure);
        break;
    case HOOK_EV_SCORE:
        e.kind = SG_EV_SCORE;
        snprintf(e.u.score.session_id, sizeof e.u.score.session_id, "%s", ev->session_id);
        e.u.score.client_id = ev->client_id;
        snprintf(e.u.score.score_kind, sizeof e.u.score.score_kind, "%s", ev->score_kind);
        e.u.score.value = ev->value;
        e.u.score.target_client_id = ev->target_client_id;
        snprintf(e.u.score.user_id, sizeof e.u.score.user_id, "%s", ev->user_id ? ev->user_id : "");
        snprintf(e.u.score.target_session_id, sizeof e.u.score.target_session_id, "%s",
                 ev->target_session_id ? ev->target_session_id : "");
        snprintf(e.u.score.target_user_id, sizeof e.u.score.target_user_id, "%s",
                 ev->target_user_id ? ev->target_user_id : "");
        break;
    }
    return sg_event_publish(sh->store, &e);
}

/* ---- which platform --------------------------------------------------------------------- */

sg_status hook_platform_pick(const sg_hook_options *o, const char **name)
{
    const char *p = hook_options_value(o, "platform");
    if (p && strcmp(p, "auto") != 0) {
        *name = strcmp(p, "agones") == 0 ? "agones" : "edgegap";
        return SG_OK;
    }
    if (hook_options_is_set(o, "agones-sdk-http-port")) {
        *name = "agones";
        return SG_OK;
    }
    if (hook_options_is_set(o, "arbitrium-context-url")) {
        *name = "edgegap";
        return SG_OK;
    }
    *name = NULL;
    return sg_fail(SG_E_INVALID,
                   "hook: the platform cannot be told: set platform (SEATGATE_PLATFORM) to "
                   "edgegap or agones, or run where Edgegap (ARBITRIUM_CONTEXT_URL) or Agones "
                   "(AGONES_SDK_HTTP_PORT) sets the environment");
}
