/* The Agones backend: the shared store side (hook_store.c) and the GameServer's SDK sidecar
 * on 127.0.0.1:$AGONES_SDK_HTTP_PORT, both from the hook's worker thread (every SDK call is
 * bounded by agones-sdk-timeout). The GameServer names this server; Ready once registered;
 * Health pings at a period derived from its spec.health; a verification needs the session
 * record naming this GameServer and the seat in its players List; a player's leave removes
 * the seat from the List; seats nobody will claim are removed by a periodic sweep; Shutdown
 * at stop, or once allocated and empty for agones-shutdown-empty. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hook_internal.h"
#include "seatgate/agones.h"
#include "seatgate/clock.h"
#include "seatgate/codec.h"
#include "seatgate/log.h"

#define COMP "hook"
#define SEEN_MAX 1024 /* list values seen without a session record, remembered for the sweep */

typedef struct seen {
    char value[SG_AGONES_NAME_MAX];
    long long first_ms;
} seen;

typedef struct agones_be {
    hook_shared sh; /* first: the shared operations take the backend's context */
    sg_agones_sdk *sdk;
    int sdk_port;
    char list[64];
    char address_type[32];
    char fqdn_setting[SG_REC_FQDN_MAX];
    char cert_digest[SG_REC_DIGEST_LEN + 1];
    int capacity;
    long long health_ms;      /* 0: from spec.health */
    long long sweep_ms;       /* 0: no sweep */
    long long orphan_ms;      /* a value without a record this long is removed */
    long long empty_ms;       /* 0: never shut down for being empty */
    bool shutdown_on_stop;
    /* after start (monotonic ms) */
    long long next_ping_ms, next_sweep_ms, empty_since_ms;
    bool health_off, shut_down;
    int ping_failures;
    sg_agones_address addrs[SG_AGONES_MAX_ADDRESSES];
    size_t addr_count;
    seen seen[SEEN_MAX];
} agones_be;

/* ---- start ------------------------------------------------------------------------------ */

static bool is_ip(const char *t)
{
    sg_addr a;
    return t && *t && sg_addr_parse(t, SG_PORT_FORBIDDEN, &a) == SG_OK;
}

/* The address players reach this server at: of agones-address-type, else the primary one if
 * it is an IP, else the first ExternalIP or InternalIP. */
static const char *pick_public_ip(const agones_be *b, const sg_agones_gameserver *gs)
{
    const char *t = b->address_type[0] ? b->address_type : NULL;
    const char *a = sg_agones_pick_address(gs->addresses, gs->address_count, gs->address, t);
    if (is_ip(a)) return a;
    const char *types[] = {"ExternalIP", "InternalIP"};
    for (int i = 0; i < 2; i++) {
        a = sg_agones_pick_address(gs->addresses, gs->address_count, NULL, types[i]);
        if (is_ip(a)) return a;
    }
    return NULL;
}

/* The context kept in the store for this server: the fields every platform's context has
 * (schemas/context.schema.json) and the GameServer as the SDK gave it. */
static char *context_json(const agones_be *b, const char *gs_body)
{
    const sg_gameserver_record *r = &b->sh.record;
    size_t cap = strlen(gs_body) + 1024 + r->port_count * 96;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t n = (size_t)snprintf(out, cap,
                                "{\"platform\":\"agones\",\"request_id\":\"%s\",\"public_ip\":\"%s\","
                                "\"fqdn\":\"%s\",\"ports\":{",
                                r->request_id, r->public_ip, r->fqdn);
    for (size_t i = 0; i < r->port_count && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":{\"external\":%u}", i ? "," : "",
                              r->ports[i].name, r->ports[i].external);
    if (n < cap) n += (size_t)snprintf(out + n, cap - n, "},\"gameserver\":%s}", gs_body);
    if (n >= cap) {
        free(out);
        return NULL;
    }
    return out;
}

static void set_health_period(agones_be *b, const sg_agones_gameserver *gs)
{
    b->health_off = gs->health_disabled;
    if (b->health_ms > 0) return;
    /* Ping twice per period: one lost ping never counts as a failure. */
    long long period = gs->health_period_s > 0 ? gs->health_period_s * 1000 : 5000;
    b->health_ms = period / 2 < 500 ? 500 : period / 2;
}

static sg_status a_start(void *ctx, hook_identity *id, char **context)
{
    agones_be *b = ctx;
    char *body = NULL;
    sg_status st = sg_agones_sdk_call(b->sdk, "GET", "/gameserver", NULL, NULL, &body);
    if (st != SG_OK)
        return sg_fail(st == SG_E_BAD_REQUEST ? SG_E_INVALID : SG_E_UNAVAILABLE,
                       "Agones SDK sidecar: %s", sg_last_error());
    sg_agones_gameserver *gs = NULL;
    st = sg_agones_parse_gameserver(body, strlen(body), b->list, &gs);
    if (st != SG_OK) {
        free(body);
        return sg_fail(SG_E_UNAVAILABLE, "Agones SDK sidecar: %s", sg_last_error());
    }
    const char *ip = pick_public_ip(b, gs);
    if (!ip) {
        st = sg_fail(SG_E_UNAVAILABLE, "GameServer %s has no IP address yet (%s)", gs->name,
                     b->address_type[0] ? b->address_type : "primary");
        goto done;
    }
    hook_identity *me = &b->sh.id;
    memset(me, 0, sizeof *me);
    if (strlen(gs->name) >= sizeof me->request_id || strlen(ip) >= sizeof me->public_ip) {
        st = sg_fail(SG_E_INVALID, "GameServer name or address too long");
        goto done;
    }
    sg_copy_str(me->request_id, sizeof me->request_id, gs->name);
    sg_copy_str(me->public_ip, sizeof me->public_ip, ip);
    sg_copy_str(me->fqdn, sizeof me->fqdn, b->fqdn_setting[0] ? b->fqdn_setting : gs->name);
    if (!sg_kv_key_valid(me->fqdn)) {
        st = sg_fail(SG_E_INVALID, "server name '%.64s' is not a valid store key", me->fqdn);
        goto done;
    }
    if (gs->list_capacity < 0)
        SG_WARN(COMP, "agones_no_list",
                "list=%s gameserver=%s hint=\"the GameServer has no such List: give the Fleet's "
                "template spec.lists.%s a capacity (the matchmaker seats players in it)\"",
                b->list, gs->name, b->list);
    sg_gameserver_record *r = &b->sh.record;
    memset(r, 0, sizeof *r);
    snprintf(r->request_id, sizeof r->request_id, "%s", me->request_id);
    snprintf(r->fqdn, sizeof r->fqdn, "%s", me->fqdn);
    snprintf(r->public_ip, sizeof r->public_ip, "%s", me->public_ip);
    for (size_t i = 0; i < gs->port_count && r->port_count < SG_REC_PORTS_MAX; i++) {
        if (gs->ports[i].port <= 0) continue;
        sg_port *p = &r->ports[r->port_count++];
        snprintf(p->name, sizeof p->name, "%s", gs->ports[i].name);
        p->external = (uint16_t)gs->ports[i].port;
        /* The SDK reports host ports only; with Passthrough the container port is the same. */
        p->internal = p->external;
        snprintf(p->protocol, sizeof p->protocol, "UDP");
    }
    r->capacity = b->capacity > 0 ? b->capacity : gs->list_capacity > 0 ? (int)gs->list_capacity : 0;
    if (gs->city[0] || gs->country[0] || gs->has_coords) { /* the Fleet's annotations */
        r->has_location = true;
        snprintf(r->location.city, sizeof r->location.city, "%s", gs->city);
        snprintf(r->location.country, sizeof r->location.country, "%s", gs->country);
        r->location.has_coords = gs->has_coords;
        r->location.latitude = gs->latitude;
        r->location.longitude = gs->longitude;
    }
    /* Its name as a label, so placement can allocate this GameServer by name (a name too
     * long for a label value cannot be: an allocation naming it finds nothing, and the
     * matchmaker decides again without it). */
    if (strlen(gs->name) > 63)
        SG_WARN(COMP, "agones_name_too_long", "gameserver=%s hint=\"placement cannot name it: "
                "label values are at most 63 characters\"", gs->name);
    else if (sg_agones_sdk_set_label(b->sdk, SG_AGONES_NAME_LABEL_KEY, gs->name) != SG_OK)
        SG_WARN(COMP, "agones_label_failed", "gameserver=%s error=\"%s\"", gs->name, sg_last_error());
    snprintf(r->cert_digest, sizeof r->cert_digest, "%s", b->cert_digest);
    r->started_at = r->heartbeat_at = sg_clock_wall_ms();
    memcpy(b->addrs, gs->addresses, sizeof b->addrs);
    b->addr_count = gs->address_count;
    set_health_period(b, gs);
    char *cj = context_json(b, body);
    if (!cj) {
        st = sg_fail(SG_E_NOMEM, "out of memory");
        goto done;
    }
    st = hook_shared_open(&b->sh);
    if (st == SG_OK) st = hook_shared_register(&b->sh, cj, strlen(cj));
    if (st == SG_E_INVALID) {
        free(cj);
        goto done;
    }
    if (st != SG_OK) {
        free(cj);
        st = sg_fail(SG_E_UNAVAILABLE, "store: %s", sg_last_error());
        goto done;
    }
    /* Registered: the server may take players now (a tool that only looks, register=false,
     * changes nothing at the platform). */
    st = b->sh.register_server ? sg_agones_sdk_ready(b->sdk) : SG_OK;
    if (st != SG_OK) {
        free(cj);
        st = sg_fail(SG_E_UNAVAILABLE, "Agones SDK Ready: %s", sg_last_error());
        goto done;
    }
    if (!b->sh.register_server) { /* a tool: no pings, no sweep, no shutdown */
        b->health_off = true;
        b->sweep_ms = 0;
        b->empty_ms = 0;
    }
    if (!b->health_off) sg_agones_sdk_health(b->sdk); /* the first ping at once */
    long long now = sg_clock_mono_ms();
    b->next_ping_ms = now + b->health_ms;
    b->next_sweep_ms = now + (b->sweep_ms > 0 ? b->sweep_ms : 0);
    b->sh.started = true;
    *id = *me;
    *context = cj;
    SG_INFO(COMP, "agones_ready", "gameserver=%s state=%s address=%s health_ping_ms=%lld list=%s",
            gs->name, gs->state, me->public_ip, b->health_off ? 0LL : b->health_ms, b->list);
done:
    sg_agones_gameserver_free(gs);
    free(body);
    return st;
}

/* ---- verify ----------------------------------------------------------------------------- */

static bool one_of_mine(const agones_be *b, const char *ip)
{
    if (!ip || !*ip) return false;
    if (strcmp(ip, b->sh.id.public_ip) == 0) return true;
    for (size_t i = 0; i < b->addr_count; i++)
        if (strcmp(b->addrs[i].address, ip) == 0) return true;
    return false;
}

/* Whether the seat is in this GameServer's list now (the SDK's own view). */
static sg_status seat_listed(agones_be *b, const char *seat, bool *listed)
{
    *listed = false;
    char path[160], *body = NULL;
    snprintf(path, sizeof path, "/v1beta1/lists/%s", b->list);
    sg_status st = sg_agones_sdk_call(b->sdk, "GET", path, NULL, NULL, &body);
    long long capacity;
    size_t count;
    if (st == SG_OK) st = sg_agones_parse_list(body, strlen(body), seat, &capacity, &count, listed);
    free(body);
    return st;
}

static void a_get_session(void *ctx, const char *session_id, hook_job *job, hook_session_done done)
{
    agones_be *b = ctx;
    sg_session_record rec;
    sg_status st = sg_ledger_get_session(b->sh.ledger, session_id, &rec, NULL);
    if (st != SG_OK) {
        if (st != SG_E_NOT_FOUND) st = sg_fail(SG_E_UNAVAILABLE, "%s", sg_last_error());
        done(job, st, NULL);
        return;
    }
    bool mine = rec.has_deployment && strcmp(rec.deployment.request_id, b->sh.id.request_id) == 0;
    if (mine) {
        bool listed = false;
        st = seat_listed(b, session_id, &listed);
        if (st != SG_OK) {
            done(job, sg_fail(SG_E_UNAVAILABLE, "%s", sg_last_error()), NULL);
            return;
        }
        if (!listed) {
            /* Removed from the list (reaped, or released): the seat is gone. */
            done(job, sg_fail(SG_E_GONE, "seat %s is not in this server's %s list", session_id,
                              b->list),
                 NULL);
            return;
        }
    }
    const char *ips[] = {rec.player_ip};
    /* The matchmaker may hand out any of this server's addresses (agones-address-type). */
    const char *server_ip = mine && one_of_mine(b, rec.deployment.public_ip) ? b->sh.id.public_ip
                                                                            : rec.deployment.public_ip;
    hook_session_view v = {.status = rec.has_deployment ? "Allocated (recorded)" : "not recorded",
                           .ready = rec.has_deployment,
                           .ips = ips,
                           .ip_count = rec.player_ip[0] ? 1 : 0,
                           .has_deployment = rec.has_deployment,
                           .public_ip = server_ip,
                           .request_id = rec.deployment.request_id};
    done(job, SG_OK, &v);
}

/* ---- seats ------------------------------------------------------------------------------ */

static void forget_seen(agones_be *b, const char *value)
{
    for (int i = 0; i < SEEN_MAX; i++)
        if (b->seen[i].value[0] && strcmp(b->seen[i].value, value) == 0) b->seen[i].value[0] = '\0';
}

static void a_delete_session(void *ctx, const char *session_id, hook_job *job,
                             hook_delete_done done)
{
    agones_be *b = ctx;
    sg_status st = sg_agones_sdk_list_remove(b->sdk, b->list, session_id);
    forget_seen(b, session_id);
    if (st == SG_OK || st == SG_E_NOT_FOUND) {
        done(job, SG_OK, false);
        return;
    }
    /* The sidecar did not answer: the matchmaker's delete worker frees it through the
     * allocator instead. */
    char q[200];
    SG_WARN(COMP, "agones_seat_remove_failed", "session_id=%s error=%s", session_id,
            sg_log_quote(sg_last_error(), q, sizeof q));
    sg_status qs = hook_shared_enqueue_delete(&b->sh, session_id, "player_left");
    done(job, qs, qs == SG_OK);
}

/* How long a list value may stay without a session record: the matchmaker adds the seat to
 * the list before it writes the record. */
static bool orphan_due(agones_be *b, const char *value, long long now)
{
    int free_slot = -1;
    for (int i = 0; i < SEEN_MAX; i++) {
        if (b->seen[i].value[0] && strcmp(b->seen[i].value, value) == 0)
            return now - b->seen[i].first_ms >= b->orphan_ms;
        if (!b->seen[i].value[0] && free_slot < 0) free_slot = i;
    }
    if (free_slot < 0) free_slot = (int)(now % SEEN_MAX);
    snprintf(b->seen[free_slot].value, sizeof b->seen[free_slot].value, "%s", value);
    b->seen[free_slot].first_ms = now;
    return false;
}

/* Removes the seats of this server's list that nobody will claim: released, unclaimed past
 * their deadline, recorded for another server, or without a record for agones-orphan-grace.
 * A claimed seat of this server stays. */
static void sweep(agones_be *b, long long now)
{
    sg_agones_gameserver *gs = NULL;
    if (sg_agones_sdk_get_gameserver(b->sdk, b->list, &gs) != SG_OK) return;
    long long wall = sg_clock_wall_ms();
    for (size_t i = 0; i < gs->list_count; i++) {
        const char *v = gs->list_values[i];
        sg_session_record rec;
        sg_status st = sg_ledger_get_session(b->sh.ledger, v, &rec, NULL);
        const char *why = NULL;
        if (st == SG_E_NOT_FOUND) {
            if (orphan_due(b, v, now)) why = "no_record";
        } else if (st == SG_OK) {
            forget_seen(b, v);
            if (rec.state == SG_SESSION_RELEASED)
                why = "released";
            else if (rec.state == SG_SESSION_UNCLAIMED && rec.claim_deadline > 0 &&
                     wall > rec.claim_deadline)
                why = "never_claimed";
            else if (rec.has_deployment && strcmp(rec.deployment.request_id, b->sh.id.request_id) != 0)
                why = "other_server";
        }
        if (!why) continue;
        sg_status r = sg_agones_sdk_list_remove(b->sdk, b->list, v);
        if (r == SG_OK || r == SG_E_NOT_FOUND) {
            forget_seen(b, v);
            SG_INFO(COMP, "agones_seat_removed", "session_id=%s reason=%s", v, why);
        }
    }
    /* Allocated, empty and no one connected for agones-shutdown-empty: give the server back. */
    bool empty = gs->list_count == 0 && b->sh.record.players == 0;
    if (b->empty_ms > 0 && strcmp(gs->state, "Allocated") == 0 && empty) {
        if (!b->empty_since_ms) b->empty_since_ms = now;
        if (now - b->empty_since_ms >= b->empty_ms && !b->shut_down &&
            sg_agones_sdk_shutdown(b->sdk) == SG_OK) {
            b->shut_down = true;
            SG_INFO(COMP, "agones_shutdown", "gameserver=%s reason=empty empty_ms=%lld", gs->name,
                    now - b->empty_since_ms);
        }
    } else {
        b->empty_since_ms = 0;
    }
    sg_agones_gameserver_free(gs);
}

/* ---- loop, stop, free ------------------------------------------------------------------- */

static void periodic(agones_be *b)
{
    if (!b->sh.started || b->shut_down) return;
    long long now = sg_clock_mono_ms();
    if (!b->health_off && now >= b->next_ping_ms) {
        sg_status st = sg_agones_sdk_health(b->sdk);
        if (st != SG_OK && b->ping_failures++ % 10 == 0) {
            char q[200];
            SG_WARN(COMP, "agones_health_failed", "failures=%d error=%s", b->ping_failures,
                    sg_log_quote(sg_last_error(), q, sizeof q));
        } else if (st == SG_OK) {
            b->ping_failures = 0;
        }
        b->next_ping_ms = now + b->health_ms;
    }
    if (b->sweep_ms > 0 && now >= b->next_sweep_ms) {
        sweep(b, now);
        b->next_sweep_ms = now + b->sweep_ms;
    }
}

static void a_run(void *ctx, int timeout_ms, int wake_fd)
{
    agones_be *b = ctx;
    periodic(b);
    long long wait = timeout_ms;
    if (b->sh.started && !b->shut_down) {
        long long now = sg_clock_mono_ms();
        if (!b->health_off && b->next_ping_ms - now < wait) wait = b->next_ping_ms - now;
        if (b->sweep_ms > 0 && b->next_sweep_ms - now < wait) wait = b->next_sweep_ms - now;
    }
    if (wait < 0) wait = 0;
    struct pollfd p = {.fd = wake_fd, .events = POLLIN};
    while (poll(&p, 1, (int)wait) < 0 && errno == EINTR) {
    }
    periodic(b);
}

static sg_status a_stop(void *ctx, int timeout_ms)
{
    agones_be *b = ctx;
    (void)timeout_ms; /* SDK calls are bounded by agones-sdk-timeout */
    sg_status st = hook_shared_deregister(&b->sh);
    if (b->sh.started && b->sh.register_server && b->shutdown_on_stop && !b->shut_down) {
        sg_status s = sg_agones_sdk_shutdown(b->sdk);
        if (s == SG_OK) b->shut_down = true;
        if (st == SG_OK) st = s;
    }
    return st;
}

static void a_free(void *ctx)
{
    agones_be *b = ctx;
    if (!b) return;
    sg_agones_sdk_free(b->sdk);
    hook_shared_clear(&b->sh);
    free(b);
}

static const hook_backend_ops agones_ops = {
    .start = a_start,
    .heartbeat = hook_shared_heartbeat,
    .lookup_client = hook_shared_lookup,
    .get_session = a_get_session,
    .claim = hook_shared_claim,
    .release = hook_shared_release,
    .delete_session = a_delete_session,
    .publish = hook_shared_publish,
    .run = a_run,
    .stop = a_stop,
    .free = a_free,
};

sg_status hook_backend_agones_new(const sg_hook_options *o, hook_backend *out)
{
    memset(out, 0, sizeof *out);
    /* AGONES_SDK_HTTP_PORT, set by Agones in the game container; 9358 otherwise. */
    long long port = hook_options_num(o, "agones-sdk-http-port");
    if (port <= 0 || port > 65535)
        return sg_fail(SG_E_INVALID, "hook: agones-sdk-http-port (AGONES_SDK_HTTP_PORT) is not "
                                     "a port");
    agones_be *b = calloc(1, sizeof *b);
    if (!b) return sg_fail(SG_E_NOMEM, "hook: out of memory");
    sg_status st = hook_shared_init(&b->sh, o);
    if (st == SG_OK) st = sg_agones_sdk_new((int)port, hook_options_num(o, "agones-sdk-timeout"), &b->sdk);
    if (st != SG_OK) {
        a_free(b);
        return st;
    }
    b->sdk_port = (int)port;
    const char *v = hook_options_value(o, "agones-list");
    snprintf(b->list, sizeof b->list, "%s", v ? v : "players");
    v = hook_options_value(o, "agones-address-type");
    snprintf(b->address_type, sizeof b->address_type, "%s", v ? v : "");
    v = hook_options_value(o, "fqdn");
    snprintf(b->fqdn_setting, sizeof b->fqdn_setting, "%s", v ? v : "");
    const char *digest = hook_options_value(o, "cert-digest");
    if (digest && *digest) sg_cert_digest_normalize(digest, b->cert_digest); /* checked by new */
    b->capacity = (int)hook_options_num(o, "capacity");
    b->health_ms = hook_options_num(o, "agones-health-interval");
    b->sweep_ms = hook_options_num(o, "agones-seat-sweep");
    b->orphan_ms = hook_options_num(o, "agones-orphan-grace");
    b->empty_ms = hook_options_num(o, "agones-shutdown-empty");
    b->shutdown_on_stop = hook_options_num(o, "agones-shutdown-on-stop") != 0;
    *out = (hook_backend){.ops = &agones_ops, .ctx = b};
    return SG_OK;
}
