/* The Edgegap backend: the shared store side (hook_store.c) and the Edgegap client, both
 * driven from the hook's worker thread. The deployment's context names this server;
 * verifications read the session from Edgegap (with the organisation key) or from the
 * session record; a player's leave deletes the session, or queues the delete for the
 * matchmaker. Edgegap calls go through the client's non-blocking path. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../hook_internal.h"
#include "seatgate/clock.h"
#include "seatgate/edgegap.h"
#include "seatgate/kv.h"
#include "seatgate/ledger.h"
#include "seatgate/log.h"
#include "seatgate/records.h"

#define COMP "hook"

typedef struct live {
    hook_shared sh; /* first: the shared operations take the backend's context */
    sg_edgegap_client *edgegap;
    bool has_api_key;
    /* settings */
    char *context_url, *context_token;
    char fqdn_setting[SG_REC_FQDN_MAX];
    char port_name[SG_REC_NAME_MAX];
    char cert_digest[SG_REC_DIGEST_LEN + 1];
    char env_request_id[SG_REC_ID_MAX], env_public_ip[SG_REC_IP_MAX];
    int capacity;
} live;

static char *dup_opt(const sg_hook_options *o, const char *name)
{
    const char *v = hook_options_value(o, name);
    return v ? strdup(v) : NULL;
}

static void copy_opt(char *dst, size_t size, const sg_hook_options *o, const char *name)
{
    const char *v = hook_options_value(o, name);
    snprintf(dst, size, "%s", v ? v : "");
}

/* ---- start ------------------------------------------------------------------------------ */

static void fill_record(live *l, const sg_edgegap_context *c)
{
    sg_gameserver_record *r = &l->sh.record;
    memset(r, 0, sizeof *r);
    snprintf(r->request_id, sizeof r->request_id, "%s", l->sh.id.request_id);
    snprintf(r->fqdn, sizeof r->fqdn, "%s", l->sh.id.fqdn);
    snprintf(r->public_ip, sizeof r->public_ip, "%s", l->sh.id.public_ip);
    for (size_t i = 0; i < c->port_count && r->port_count < SG_REC_PORTS_MAX; i++) {
        const sg_edgegap_port *p = &c->ports[i];
        if (p->external <= 0 || p->external > 65535) continue;
        sg_port *o = &r->ports[r->port_count++];
        snprintf(o->name, sizeof o->name, "%s", p->name);
        o->external = (uint16_t)p->external;
        o->internal = (uint16_t)(p->internal > 0 && p->internal <= 65535 ? p->internal : 0);
        snprintf(o->protocol, sizeof o->protocol, "%s", p->protocol);
    }
    if (c->location.city[0] || c->location.country[0] || c->location.has_coordinates) {
        r->has_location = true;
        snprintf(r->location.city, sizeof r->location.city, "%s", c->location.city);
        snprintf(r->location.country, sizeof r->location.country, "%s", c->location.country);
        snprintf(r->location.continent, sizeof r->location.continent, "%s", c->location.continent);
        r->location.has_coords = c->location.has_coordinates;
        r->location.latitude = c->location.latitude;
        r->location.longitude = c->location.longitude;
    }
    r->capacity = l->capacity > 0 ? l->capacity : (c->sockets > 0 ? c->sockets : 0);
    snprintf(r->cert_digest, sizeof r->cert_digest, "%s", l->cert_digest);
    r->started_at = r->heartbeat_at = sg_clock_wall_ms();
}

static sg_status l_start(void *ctx, hook_identity *id, char **context_json)
{
    live *l = ctx;
    sg_edgegap_request *req = NULL;
    sg_status st = sg_edgegap_request_get_context(l->context_url, l->context_token, &req);
    if (st != SG_OK) return st;
    sg_edgegap_result res;
    memset(&res, 0, sizeof res);
    st = sg_edgegap_perform(l->edgegap, req, &res);
    sg_edgegap_request_free(req);
    if (st != SG_OK) {
        /* 404: Edgegap does not have the context yet; retried by the worker. */
        st = sg_fail(st == SG_E_NOT_FOUND                                ? SG_E_NOT_FOUND
                     : st == SG_E_UNAUTHORIZED || st == SG_E_BAD_REQUEST ? st
                                                                         : SG_E_UNAVAILABLE,
                     "context: %s (HTTP %d) %s", sg_status_name(res.status), res.http_status,
                     res.message);
        sg_edgegap_result_clear(&res);
        return st;
    }
    const sg_edgegap_context *c = res.context;
    memset(&l->sh.id, 0, sizeof l->sh.id);
    snprintf(l->sh.id.request_id, sizeof l->sh.id.request_id, "%s",
             *c->request_id ? c->request_id : l->env_request_id);
    snprintf(l->sh.id.public_ip, sizeof l->sh.id.public_ip, "%s",
             *c->public_ip ? c->public_ip : l->env_public_ip);
    snprintf(l->sh.id.fqdn, sizeof l->sh.id.fqdn, "%s",
             l->fqdn_setting[0] ? l->fqdn_setting
             : *c->fqdn         ? c->fqdn
                                : l->sh.id.request_id);
    if (l->env_request_id[0] && strcmp(l->env_request_id, l->sh.id.request_id) != 0) {
        st = sg_fail(SG_E_INVALID, "context: request id %s is not ARBITRIUM_REQUEST_ID %s",
                     l->sh.id.request_id, l->env_request_id);
        sg_edgegap_result_clear(&res);
        return st;
    }
    if (!sg_kv_key_valid(l->sh.id.fqdn)) {
        st = sg_fail(SG_E_INVALID, "context: server name '%.64s' is not a valid store key",
                     l->sh.id.fqdn);
        sg_edgegap_result_clear(&res);
        return st;
    }
    fill_record(l, c);
    if (!sg_edgegap_find_port(c->ports, c->port_count, l->port_name))
        SG_WARN(COMP, "port_not_found", "port_name=%s", l->port_name);
    st = hook_shared_open(&l->sh);
    if (st == SG_OK) st = hook_shared_register(&l->sh, c->raw_json, c->raw_len);
    if (st == SG_OK) *context_json = strdup(c->raw_json);
    sg_edgegap_result_clear(&res);
    if (st == SG_E_INVALID) return st; /* a bad record (e.g. cert-digest): no retry helps */
    if (st != SG_OK) return sg_fail(SG_E_UNAVAILABLE, "store: %s", sg_last_error());
    l->sh.started = true;
    *id = l->sh.id;
    return SG_OK;
}

/* ---- verify ----------------------------------------------------------------------------- */

typedef struct pending_get {
    hook_job *job;
    hook_session_done done;
} pending_get;

static void on_get(sg_edgegap_result *res, void *user)
{
    pending_get *p = user;
    if (res->status != SG_OK) {
        sg_fail(res->status, "Edgegap: %s (HTTP %d) %s", sg_status_name(res->status),
                res->http_status, res->message);
        p->done(p->job, res->status, NULL);
        free(p);
        return;
    }
    const sg_edgegap_session *s = res->session;
    const char **ips = calloc(s->session_ip_count + 1, sizeof *ips);
    for (size_t i = 0; ips && i < s->session_ip_count; i++)
        ips[i] = s->session_ips[i].ip;
    hook_session_view v = {.status = s->status,
                           .ready = s->state == SG_EDGEGAP_STATE_READY && s->ready,
                           .ips = ips,
                           .ip_count = ips ? s->session_ip_count : 0,
                           .has_deployment = s->deployment.present,
                           .public_ip = s->deployment.public_ip,
                           .request_id = s->deployment.request_id};
    p->done(p->job, SG_OK, &v);
    free(ips);
    free(p);
}

/* Without the organisation key the hook cannot ask Edgegap: the session record the
 * matchmaker wrote once the session was Ready (player IP, deployment) is the source. */
static void session_from_record(live *l, const char *session_id, hook_job *job,
                                hook_session_done done)
{
    sg_session_record rec;
    sg_status st = sg_ledger_get_session(l->sh.ledger, session_id, &rec, NULL);
    if (st != SG_OK) {
        if (st != SG_E_NOT_FOUND) st = sg_fail(SG_E_UNAVAILABLE, "%s", sg_last_error());
        done(job, st, NULL);
        return;
    }
    const char *ips[] = {rec.player_ip};
    hook_session_view v = {.status = rec.has_deployment ? "Ready (recorded)" : "not recorded",
                           .ready = rec.has_deployment,
                           .ips = ips,
                           .ip_count = rec.player_ip[0] ? 1 : 0,
                           .has_deployment = rec.has_deployment,
                           .public_ip = rec.deployment.public_ip,
                           .request_id = rec.deployment.request_id};
    done(job, SG_OK, &v);
}

static void l_get_session(void *ctx, const char *session_id, hook_job *job, hook_session_done done)
{
    live *l = ctx;
    if (!l->has_api_key) {
        session_from_record(l, session_id, job, done);
        return;
    }
    sg_edgegap_request *req = NULL;
    pending_get *p = malloc(sizeof *p);
    sg_status st =
        p ? sg_edgegap_request_get_session(session_id, &req) : sg_fail(SG_E_NOMEM, "out of memory");
    if (st != SG_OK) {
        free(p);
        done(job, st == SG_E_INVALID ? SG_E_NOT_FOUND : st, NULL);
        return;
    }
    p->job = job;
    p->done = done;
    sg_edgegap_submit(l->edgegap, req, on_get, p);
}

/* ---- deletes ---------------------------------------------------------------------------- */

typedef struct pending_delete {
    live *l;
    hook_job *job;
    hook_delete_done done;
    char session_id[SG_REC_ID_MAX];
} pending_delete;

static void on_delete(sg_edgegap_result *res, void *user)
{
    pending_delete *p = user;
    sg_status st = res->status;
    if (st == SG_OK || st == SG_E_NOT_FOUND || st == SG_E_GONE) {
        p->done(p->job, SG_OK, false);
    } else {
        /* Hand it to the durable queue; the matchmaker's worker completes it. */
        sg_status q = hook_shared_enqueue_delete(&p->l->sh, p->session_id, "player_left");
        if (q == SG_OK)
            p->done(p->job, SG_OK, true);
        else {
            sg_fail(st, "Edgegap delete: %s (HTTP %d); delete queue: %s", sg_status_name(st),
                    res->http_status, sg_status_name(q));
            p->done(p->job, st, false);
        }
    }
    free(p);
}

static void l_delete_session(void *ctx, const char *session_id, hook_job *job,
                             hook_delete_done done)
{
    live *l = ctx;
    if (!l->has_api_key) {
        sg_status st = hook_shared_enqueue_delete(&l->sh, session_id, "player_left");
        done(job, st, st == SG_OK);
        return;
    }
    sg_edgegap_request *req = NULL;
    pending_delete *p = calloc(1, sizeof *p);
    sg_status st = p ? sg_edgegap_request_delete_session(session_id, &req)
                     : sg_fail(SG_E_NOMEM, "out of memory");
    if (st != SG_OK) {
        free(p);
        done(job, st, false);
        return;
    }
    p->l = l;
    p->job = job;
    p->done = done;
    snprintf(p->session_id, sizeof p->session_id, "%s", session_id);
    sg_edgegap_submit(l->edgegap, req, on_delete, p);
}

/* ---- loop, stop, free -------------------------------------------------------------------- */

static void l_run(void *ctx, int timeout_ms, int wake_fd)
{
    live *l = ctx;
    sg_edgegap_waitfd w = {.fd = wake_fd, .events = 0x001 /* POLLIN */};
    sg_edgegap_run(l->edgegap, timeout_ms, &w, 1, NULL);
}

static sg_status l_stop(void *ctx, int timeout_ms)
{
    live *l = ctx;
    long long until = sg_clock_wall_ms() + timeout_ms;
    while (sg_edgegap_pending(l->edgegap) > 0 && sg_clock_wall_ms() < until)
        sg_edgegap_run(l->edgegap, (int)(until - sg_clock_wall_ms()), NULL, 0, NULL);
    sg_status st = sg_edgegap_pending(l->edgegap) > 0 ? SG_E_TIMEOUT : SG_OK;
    /* Unfinished Edgegap calls complete now with SG_E_UNAVAILABLE: deletes among them go to
     * the durable queue (on_delete). */
    sg_edgegap_client_free(l->edgegap);
    l->edgegap = NULL;
    sg_status d = hook_shared_deregister(&l->sh);
    if (st == SG_OK) st = d;
    return st;
}

static void l_free(void *ctx)
{
    live *l = ctx;
    if (!l) return;
    sg_edgegap_client_free(l->edgegap);
    hook_shared_clear(&l->sh);
    hook_wipe_free(l->context_url);
    hook_wipe_free(l->context_token);
    free(l);
}

static const hook_backend_ops live_ops = {
    .start = l_start,
    .heartbeat = hook_shared_heartbeat,
    .lookup_client = hook_shared_lookup,
    .get_session = l_get_session,
    .claim = hook_shared_claim,
    .release = hook_shared_release,
    .delete_session = l_delete_session,
    .publish = hook_shared_publish,
    .run = l_run,
    .stop = l_stop,
    .free = l_free,
};

sg_status hook_backend_edgegap_new(const sg_hook_options *o, hook_backend *out)
{
    memset(out, 0, sizeof *out);
    if (!hook_options_value(o, "arbitrium-context-url") ||
        !hook_options_value(o, "arbitrium-context-token"))
        return sg_fail(SG_E_INVALID,
                       "hook: arbitrium-context-url and arbitrium-context-token "
                       "(ARBITRIUM_CONTEXT_URL, ARBITRIUM_CONTEXT_TOKEN) are required");
    sg_edgegap_options eo;
    sg_status st = sg_edgegap_options_from_config(hook_options_config(o), &eo);
    if (st != SG_OK) return st;
    live *l = calloc(1, sizeof *l);
    if (!l) return sg_fail(SG_E_NOMEM, "hook: out of memory");
    if ((st = hook_shared_init(&l->sh, o)) != SG_OK) {
        free(l);
        return st;
    }
    l->context_url = dup_opt(o, "arbitrium-context-url");
    l->context_token = dup_opt(o, "arbitrium-context-token");
    copy_opt(l->fqdn_setting, sizeof l->fqdn_setting, o, "fqdn");
    copy_opt(l->port_name, sizeof l->port_name, o, "port-name");
    const char *digest = hook_options_value(o, "cert-digest");
    if (digest && *digest) sg_cert_digest_normalize(digest, l->cert_digest); /* checked by new */
    copy_opt(l->env_request_id, sizeof l->env_request_id, o, "arbitrium-request-id");
    copy_opt(l->env_public_ip, sizeof l->env_public_ip, o, "arbitrium-public-ip");
    l->capacity = (int)hook_options_num(o, "capacity");

    l->has_api_key = eo.api_key != NULL && *eo.api_key;
    if (eo.connect_timeout_ms > eo.timeout_ms) eo.connect_timeout_ms = eo.timeout_ms;
    /* No retry may outlive the verification that waits for it. */
    long long verify_ms = hook_options_num(o, "verify-timeout");
    if (verify_ms > 0 && eo.retry_budget_ms > verify_ms / 2) eo.retry_budget_ms = verify_ms / 2;
    eo.backoff_base_ms = 100;
    st = sg_edgegap_client_new(&eo, &l->edgegap);
    if (st != SG_OK) {
        l_free(l);
        return st;
    }
    /* The store is opened by the start sequence (and retried with it). */
    *out = (hook_backend){.ops = &live_ops, .ctx = l};
    return SG_OK;
}
