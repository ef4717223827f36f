/* The verification rules applied to an Edgegap session: pure functions, no I/O. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hook_internal.h"

static const char *const reason_names[SG_HOOK_REASON_COUNT] = {
    [SG_HOOK_ACCEPTED] = "accepted",
    [SG_HOOK_REJECT_INVALID] = "invalid",
    [SG_HOOK_REJECT_UNKNOWN_CLIENT] = "unknown_client",
    [SG_HOOK_REJECT_SESSION_MISMATCH] = "session_mismatch",
    [SG_HOOK_REJECT_SESSION_GONE] = "session_gone",
    [SG_HOOK_REJECT_SESSION_NOT_READY] = "session_not_ready",
    [SG_HOOK_REJECT_IP_MISMATCH] = "ip_mismatch",
    [SG_HOOK_REJECT_WRONG_SERVER_IP] = "wrong_server_ip",
    [SG_HOOK_REJECT_WRONG_SERVER_ID] = "wrong_server_id",
    [SG_HOOK_REJECT_ALREADY_CONNECTED] = "already_connected",
    [SG_HOOK_REJECT_UNAVAILABLE] = "unavailable",
    [SG_HOOK_REJECT_RATE_LIMITED] = "rate_limited",
    [SG_HOOK_REJECT_IP_LIMIT] = "ip_limit",
    [SG_HOOK_REJECT_SERVER_FULL] = "server_full",
    [SG_HOOK_REJECT_BAD_SEAT_TOKEN] = "bad_seat_token",
};

const char *sg_hook_reason_name(sg_hook_reason reason)
{
    if ((unsigned)reason >= SG_HOOK_REASON_COUNT) return "unknown";
    return reason_names[reason];
}

const char *sg_hook_disconnect_reason_name(int reason)
{
    static const char *const names[SG_HOOK_DISCONNECT_REASON_COUNT] = {
        [SG_HOOK_DISCONNECT_GOODBYE] = "goodbye", [SG_HOOK_DISCONNECT_TIMEOUT] = "timeout",
        [SG_HOOK_DISCONNECT_KICKED] = "kicked",   [SG_HOOK_DISCONNECT_SERVER_STOP] = "server_stop",
        [SG_HOOK_DISCONNECT_ERROR] = "error",
    };
    if (reason < 0 || reason >= SG_HOOK_DISCONNECT_REASON_COUNT) return "unknown";
    return names[reason];
}

void hook_verdict_set(sg_hook_verdict *v, sg_hook_reason reason, const char *fmt, ...)
{
    v->reason = (int32_t)reason;
    v->accepted = reason == SG_HOOK_ACCEPTED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
}

/* Same IP after parsing both sides (IPv4-mapped IPv6 equals IPv4); text that does not parse
 * never matches. */
static bool same_ip(const char *text, const sg_addr *a)
{
    sg_addr b;
    if (!text || sg_addr_parse(text, SG_PORT_OPTIONAL, &b) != SG_OK) return false;
    return sg_addr_equal(a, &b, false);
}

bool hook_check_session(const hook_identity *self, const sg_addr *source,
                        const hook_session_view *s, sg_hook_verdict *v)
{
    const char *status = s->status && *s->status ? s->status : "unknown";
    if (!s->ready || !s->has_deployment) {
        hook_verdict_set(v, SG_HOOK_REJECT_SESSION_NOT_READY, "session is %s, not ready", status);
        return false;
    }
    bool listed = false;
    for (size_t i = 0; i < s->ip_count && !listed; i++)
        listed = same_ip(s->ips[i], source);
    if (!listed) {
        hook_verdict_set(v, SG_HOOK_REJECT_IP_MISMATCH,
                         "source IP %s is not one of the session's %zu IP(s)", v->source_ip,
                         s->ip_count);
        return false;
    }
    sg_addr mine;
    if (sg_addr_parse(self->public_ip, SG_PORT_OPTIONAL, &mine) != SG_OK ||
        !same_ip(s->public_ip, &mine)) {
        hook_verdict_set(v, SG_HOOK_REJECT_WRONG_SERVER_IP,
                         "session belongs to the server at %.64s, this is %.64s",
                         s->public_ip ? s->public_ip : "?", self->public_ip);
        return false;
    }
    if (!s->request_id || strcmp(s->request_id, self->request_id) != 0) {
        hook_verdict_set(v, SG_HOOK_REJECT_WRONG_SERVER_ID,
                         "session belongs to deployment %.64s, this is %.64s",
                         s->request_id ? s->request_id : "?", self->request_id);
        return false;
    }
    hook_verdict_set(v, SG_HOOK_ACCEPTED, "session %s verified", v->session_id);
    return true;
}
