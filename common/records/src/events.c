/* Events: one JSON schema per kind behind a common envelope (kind, ts, app, source). */
#include "records_json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[SG_EV_KIND_COUNT] = {
    "server_up", "server_down", "player_connect", "player_disconnect", "verify_rejected", "score",
};

/* One list for both names of a disconnect reason: the event's and the session record's. */
static const struct {
    const char *event, *release;
} disconnect_names[SG_DISCONNECT_REASON_COUNT] = {
    [SG_DISCONNECT_GOODBYE] = {"goodbye", "player_left"},
    [SG_DISCONNECT_TIMEOUT] = {"timeout", "player_timeout"},
    [SG_DISCONNECT_KICKED] = {"kicked", "player_kicked"},
    [SG_DISCONNECT_SERVER_STOP] = {"server_stop", "server_stop"},
    [SG_DISCONNECT_ERROR] = {"error", "player_error"},
};

static const char *const reject_names[SG_REJECT_REASON_COUNT] = {
    "unknown_client",    "session_not_ready", "ip_mismatch", "wrong_server",
    "already_connected", "unavailable",       "bad_token",   "session_gone",
    "ip_limit",          "server_full",
};

const char *sg_event_kind_name(sg_event_kind k)
{
    return (unsigned)k < SG_EV_KIND_COUNT ? kind_names[k] : "unknown";
}

sg_status sg_event_kind_parse(const char *name, sg_event_kind *out)
{
    for (int i = 0; name && i < SG_EV_KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (sg_event_kind)i;
            return SG_OK;
        }
    }
    return sg_fail(SG_E_INVALID, "unknown event kind");
}

const char *sg_disconnect_reason_name(sg_disconnect_reason r)
{
    return (unsigned)r < SG_DISCONNECT_REASON_COUNT ? disconnect_names[r].event : "unknown";
}

const char *sg_disconnect_release_name(sg_disconnect_reason r)
{
    return (unsigned)r < SG_DISCONNECT_REASON_COUNT ? disconnect_names[r].release : "player_left";
}

const char *sg_reject_reason_name(sg_reject_reason r)
{
    return (unsigned)r < SG_REJECT_REASON_COUNT ? reject_names[r] : "unknown";
}

sg_status sg_event_from_json(const char *json, size_t len, sg_event *out)
{
    jr r = {.what = "event"};
    memset(out, 0, sizeof *out);
    cJSON *o = jr_parse(&r, json, len);
    if (!o) return r.st;
    int kind = jr_enum(&r, o, "kind", kind_names, SG_EV_KIND_COUNT);
    out->kind = kind < 0 ? SG_EV_SERVER_UP : (sg_event_kind)kind;
    jr_ms(&r, o, "ts", true, &out->ts);
    jr_str(&r, o, "app", true, JR_TEXT, out->app, sizeof out->app);
    jr_str(&r, o, "source", true, JR_TEXT, out->source, sizeof out->source);
    if (r.st != SG_OK) {
        cJSON_Delete(o);
        return r.st;
    }
    switch (out->kind) {
    case SG_EV_SERVER_UP:
    case SG_EV_SERVER_DOWN: {
        __typeof__(out->u.server) *v = &out->u.server;
        jr_str(&r, o, "fqdn", true, JR_KEY, v->fqdn, sizeof v->fqdn);
        jr_str(&r, o, "request_id", true, JR_TEXT, v->request_id, sizeof v->request_id);
        jr_str(&r, o, "public_ip", false, JR_IP, v->public_ip, sizeof v->public_ip);
        if (out->kind == SG_EV_SERVER_DOWN)
            jr_str(&r, o, "reason", false, JR_CODE, v->reason, sizeof v->reason);
        break;
    }
    case SG_EV_PLAYER_CONNECT:
    case SG_EV_PLAYER_DISCONNECT: {
        __typeof__(out->u.player) *v = &out->u.player;
        jr_str(&r, o, "session_id", true, JR_KEY, v->session_id, sizeof v->session_id);
        jr_client_id(&r, o, "client_id", true, &v->client_id);
        jr_str(&r, o, "player_ip", true, JR_IP, v->player_ip, sizeof v->player_ip);
        jr_str(&r, o, "fqdn", true, JR_KEY, v->fqdn, sizeof v->fqdn);
        jr_str(&r, o, "user_id", false, JR_USER, v->user_id, sizeof v->user_id);
        v->duration_ms = -1;
        if (out->kind == SG_EV_PLAYER_DISCONNECT) {
            const char *names[SG_DISCONNECT_REASON_COUNT];
            for (int i = 0; i < SG_DISCONNECT_REASON_COUNT; i++) names[i] = disconnect_names[i].event;
            int reason = jr_enum(&r, o, "reason", names, SG_DISCONNECT_REASON_COUNT);
            v->reason = reason < 0 ? SG_DISCONNECT_ERROR : (sg_disconnect_reason)reason;
            jr_ms(&r, o, "duration_ms", false, &v->duration_ms);
        }
        break;
    }
    case SG_EV_VERIFY_REJECTED: {
        __typeof__(out->u.reject) *v = &out->u.reject;
        jr_client_id(&r, o, "client_id", false, &v->client_id);
        jr_str(&r, o, "session_id", false, JR_KEY, v->session_id, sizeof v->session_id);
        jr_str(&r, o, "player_ip", true, JR_IP, v->player_ip, sizeof v->player_ip);
        jr_str(&r, o, "fqdn", true, JR_KEY, v->fqdn, sizeof v->fqdn);
        int reason = jr_enum(&r, o, "reason", reject_names, SG_REJECT_REASON_COUNT);
        v->reason = reason < 0 ? SG_REJECT_UNAVAILABLE : (sg_reject_reason)reason;
        jr_str(&r, o, "message", false, JR_TEXT, v->message, sizeof v->message);
        jr_str(&r, o, "exposure", false, JR_TEXT, v->exposure, sizeof v->exposure);
        break;
    }
    case SG_EV_SCORE: {
        __typeof__(out->u.score) *v = &out->u.score;
        jr_str(&r, o, "session_id", true, JR_KEY, v->session_id, sizeof v->session_id);
        jr_client_id(&r, o, "client_id", true, &v->client_id);
        jr_str(&r, o, "score_kind", true, JR_CODE, v->score_kind, sizeof v->score_kind);
        jr_int(&r, o, "value", true, -JR_MAX_SAFE_INT, JR_MAX_SAFE_INT, &v->value);
        jr_client_id(&r, o, "target_client_id", false, &v->target_client_id);
        jr_str(&r, o, "user_id", false, JR_USER, v->user_id, sizeof v->user_id);
        jr_str(&r, o, "target_session_id", false, JR_KEY, v->target_session_id,
               sizeof v->target_session_id);
        jr_str(&r, o, "target_user_id", false, JR_USER, v->target_user_id,
               sizeof v->target_user_id);
        break;
    }
    default:
        break;
    }
    cJSON_Delete(o);
    return r.st;
}

static sg_status check_event(const char *json, size_t len, void *scratch)
{
    return sg_event_from_json(json, len, scratch);
}

sg_status sg_event_to_json(const sg_event *e, char **out)
{
    *out = NULL;
    if ((unsigned)e->kind >= SG_EV_KIND_COUNT)
        return sg_fail(SG_E_INVALID, "event: unknown kind %d", (int)e->kind);
    bool ok = true;
    cJSON *o = cJSON_CreateObject();
    if (!o) return sg_fail(SG_E_NOMEM, "event: out of memory");
    jw_str(o, "kind", kind_names[e->kind], 32, &ok);
    jw_num(o, "ts", (double)e->ts, &ok);
    JW_STR(o, "app", e->app, &ok);
    JW_STR(o, "source", e->source, &ok);
    switch (e->kind) {
    case SG_EV_SERVER_UP:
    case SG_EV_SERVER_DOWN:
        JW_STR(o, "fqdn", e->u.server.fqdn, &ok);
        JW_STR(o, "request_id", e->u.server.request_id, &ok);
        JW_STR(o, "public_ip", e->u.server.public_ip, &ok);
        if (e->kind == SG_EV_SERVER_DOWN) JW_STR(o, "reason", e->u.server.reason, &ok);
        break;
    case SG_EV_PLAYER_CONNECT:
    case SG_EV_PLAYER_DISCONNECT:
        JW_STR(o, "session_id", e->u.player.session_id, &ok);
        jw_client_id(o, "client_id", e->u.player.client_id, &ok);
        JW_STR(o, "player_ip", e->u.player.player_ip, &ok);
        JW_STR(o, "fqdn", e->u.player.fqdn, &ok);
        JW_STR(o, "user_id", e->u.player.user_id, &ok);
        if (e->kind == SG_EV_PLAYER_DISCONNECT) {
            jw_str(o, "reason", sg_disconnect_reason_name(e->u.player.reason), 32, &ok);
            if (e->u.player.duration_ms >= 0)
                jw_num(o, "duration_ms", (double)e->u.player.duration_ms, &ok);
        }
        break;
    case SG_EV_VERIFY_REJECTED:
        jw_client_id(o, "client_id", e->u.reject.client_id, &ok);
        JW_STR(o, "session_id", e->u.reject.session_id, &ok);
        JW_STR(o, "player_ip", e->u.reject.player_ip, &ok);
        JW_STR(o, "fqdn", e->u.reject.fqdn, &ok);
        jw_str(o, "reason", sg_reject_reason_name(e->u.reject.reason), 32, &ok);
        JW_STR(o, "message", e->u.reject.message, &ok);
        JW_STR(o, "exposure", e->u.reject.exposure, &ok);
        break;
    case SG_EV_SCORE:
        JW_STR(o, "session_id", e->u.score.session_id, &ok);
        jw_client_id(o, "client_id", e->u.score.client_id, &ok);
        JW_STR(o, "score_kind", e->u.score.score_kind, &ok);
        jw_num(o, "value", (double)e->u.score.value, &ok);
        jw_client_id(o, "target_client_id", e->u.score.target_client_id, &ok);
        JW_STR(o, "user_id", e->u.score.user_id, &ok);
        JW_STR(o, "target_session_id", e->u.score.target_session_id, &ok);
        JW_STR(o, "target_user_id", e->u.score.target_user_id, &ok);
        break;
    default:
        break;
    }
    sg_event *scratch = malloc(sizeof *scratch);
    if (!scratch) {
        cJSON_Delete(o);
        return sg_fail(SG_E_NOMEM, "event: out of memory");
    }
    sg_status st = jw_finish(o, ok, "event", check_event, scratch, out);
    free(scratch);
    return st;
}

sg_status sg_event_publish(sg_store *s, const sg_event *e)
{
    sg_event *copy = malloc(sizeof *copy);
    if (!copy) return sg_fail(SG_E_NOMEM, "event: out of memory");
    *copy = *e;
    if (copy->ts == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        copy->ts = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    if (!copy->app[0]) snprintf(copy->app, sizeof copy->app, "%s", sg_store_app(s));
    char *json = NULL;
    sg_status st = sg_event_to_json(copy, &json);
    if (st == SG_OK)
        st = sg_event_publish_json(s, sg_event_kind_name(copy->kind), json, strlen(json));
    free(json);
    free(copy);
    return st;
}
