/* The Edgegap platform: sessions as seats. */
#include "edgegap.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seatgate/codec.h"
#include "seatgate/log.h"

typedef struct edgegap_orch {
    sg_edgegap_client *client;
    char *app, *version;
    char port_name[64];
    pthread_t thread;
    bool thread_running; /* false once attached to the caller's loop */
    atomic_bool stop;
    /* Edgegap's numeric id of the configured app version, learned from the sessions this
     * matchmaker created (-1 until one was polled): tells other games' sessions apart. */
    atomic_llong app_version_id;
} edgegap_orch;

typedef struct call_ctx {
    void *cb;
    void *user;
    edgegap_orch *o;
    bool inspect;
} call_ctx;

#define MARKER_PARAM "seatgate_intent="

/* Edgegap's create_time ("2024-03-21 15:04:05.123456", UTC) in unix ms; 0 when unreadable. */
static long long parse_create_time(const char *t)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!t || sscanf(t, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return 0;
    if (y < 2000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t when = timegm(&tm);
    if (when == (time_t)-1) return 0;
    long long ms = (long long)when * 1000;
    if (t[n] == '.' && t[n + 1] >= '0' && t[n + 1] <= '9') {
        int frac = 0, digits = 0;
        for (const char *p = t + n + 1; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
            frac = frac * 10 + (*p - '0');
        while (digits++ < 3)
            frac *= 10;
        ms += frac;
    }
    return ms;
}

/* The marker this matchmaker put into the webhook URL ("" when none). */
static void marker_from_url(const char *url, char out[SG_SEAT_MARKER_MAX])
{
    out[0] = '\0';
    const char *q = url ? strchr(url, '?') : NULL;
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, MARKER_PARAM, strlen(MARKER_PARAM)) != 0) continue;
        const char *v = p + 1 + strlen(MARKER_PARAM);
        size_t n = strcspn(v, "&#");
        if (n >= SG_SEAT_MARKER_MAX) return;
        memcpy(out, v, n);
        out[n] = '\0';
        return;
    }
}

#define COPY(dst, src) sg_copy_str((dst), sizeof(dst), (src))

void sg_seat_from_edgegap(const sg_edgegap_session *s, sg_seat *out)
{
    memset(out, 0, sizeof *out);
    COPY(out->id, s->session_id);
    COPY(out->status, s->status);
    COPY(out->error, s->error);
    switch (s->state) {
    case SG_EDGEGAP_STATE_READY:
        /* Ready without a linked deployment cannot be connected to: keep waiting. */
        out->state = s->deployment.present ? SG_SEAT_READY : SG_SEAT_PENDING;
        break;
    case SG_EDGEGAP_STATE_ERROR:
    case SG_EDGEGAP_STATE_UNPROCESSABLE:
        out->state = SG_SEAT_FAILED;
        break;
    default:
        out->state = SG_SEAT_PENDING;
        break;
    }
    for (size_t i = 0; i < s->session_ip_count && out->player_ip_count < SG_SEAT_MAX_PLAYERS; i++)
        COPY(out->player_ips[out->player_ip_count++], s->session_ips[i].ip);
    out->created_ms = parse_create_time(s->create_time);
    if (!out->created_ms && s->elapsed >= 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        out->created_ms = ((long long)now.tv_sec - s->elapsed) * 1000;
    }
    marker_from_url(s->webhook_url, out->marker);
    const sg_edgegap_deployment *d = &s->deployment;
    if (!d->present) return;
    COPY(out->server_id, d->request_id);
    COPY(out->public_ip, d->public_ip);
    COPY(out->fqdn, d->fqdn);
    for (size_t i = 0; i < d->port_count && out->port_count < SG_SEAT_MAX_PORTS; i++) {
        sg_seat_port *p = &out->ports[out->port_count++];
        COPY(p->name, d->ports[i].key && *d->ports[i].key ? d->ports[i].key : d->ports[i].name);
        p->external = d->ports[i].external;
        p->internal = d->ports[i].internal;
        COPY(p->protocol, d->ports[i].protocol);
    }
    const sg_edgegap_location *l = &d->location;
    COPY(out->location.city, l->city);
    COPY(out->location.country, l->country);
    COPY(out->location.continent, l->continent);
    COPY(out->location.administrative_division, l->administrative_division);
    COPY(out->location.timezone, l->timezone);
    out->location.latitude = l->latitude;
    out->location.longitude = l->longitude;
    out->location.has_coordinates = l->has_coordinates;
}

static void fill_result(const sg_edgegap_result *res, sg_orch_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = res->status;
    r->http_status = res->http_status;
    r->retry_after_ms = res->retry_after_ms;
    r->latency_us = res->latency_us;
    r->ambiguous = res->ambiguous;
    COPY(r->message, res->message);
}

static void *drive(void *arg)
{
    edgegap_orch *o = arg;
    pthread_setname_np(pthread_self(), "sg-edgegap");
    while (!atomic_load(&o->stop)) {
        if (sg_edgegap_run(o->client, 1000, NULL, 0, NULL) != SG_OK)
            SG_ERROR("orchestrator", "edgegap_run_failed", "error=%s",
                     sg_status_name(SG_E_INTERNAL));
    }
    sg_edgegap_driver_gone(o->client);
    return NULL;
}

static sg_status attach(void *self)
{
    edgegap_orch *o = self;
    if (!o->thread_running) return sg_fail(SG_E_INVALID, "edgegap orchestrator: already attached");
    atomic_store(&o->stop, true);
    sg_edgegap_wakeup(o->client);
    pthread_join(o->thread, NULL);
    o->thread_running = false;
    return SG_OK;
}

static void step(void *self, int fd, int timeout_ms)
{
    edgegap_orch *o = self;
    sg_edgegap_waitfd w = {.fd = fd, .events = POLLIN};
    if (sg_edgegap_run(o->client, timeout_ms, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, NULL) != SG_OK)
        SG_ERROR("orchestrator", "edgegap_run_failed", "error=%s", sg_status_name(SG_E_INTERNAL));
}

static void detach(void *self)
{
    sg_edgegap_driver_gone(((edgegap_orch *)self)->client);
}

static call_ctx *ctx_new(void *cb, void *user)
{
    call_ctx *c = malloc(sizeof *c);
    if (c) *c = (call_ctx){cb, user, NULL, false};
    return c;
}

/* The result of a call that could not be started. */
static void fail_now(sg_orch_result *r, sg_status st, const char *what)
{
    memset(r, 0, sizeof *r);
    r->status = st;
    r->retry_after_ms = -1;
    snprintf(r->message, sizeof r->message, "%s: %s", what, sg_last_error());
}

static void on_created(sg_edgegap_result *res, void *user)
{
    call_ctx *c = user;
    sg_orch_result r;
    fill_result(res, &r);
    const char *id = res->status == SG_OK && res->created ? res->created->session_id : NULL;
    ((sg_orch_created_fn)c->cb)(&r, id, c->user);
    free(c);
}

static void create_seat(void *self, const sg_seat_request *req, sg_orch_created_fn cb, void *user)
{
    edgegap_orch *o = self;
    sg_edgegap_selector sel[16];
    size_t nsel = req->selector_count < 16 ? req->selector_count : 16;
    for (size_t i = 0; i < nsel; i++)
        sel[i] = (sg_edgegap_selector){req->selectors[i], false};
    const char *ips[1] = {req->player_ip};
    /* The marker rides in the webhook URL: Edgegap echoes it in every session body and list
     * entry, and sends it back to our webhook, which ignores query strings. */
    char hook[1024];
    const char *webhook = req->webhook_url;
    if (webhook && req->marker && *req->marker) {
        int n = snprintf(hook, sizeof hook, "%s%c%s%s", webhook, strchr(webhook, '?') ? '&' : '?',
                         MARKER_PARAM, req->marker);
        if (n > 0 && (size_t)n < sizeof hook) webhook = hook;
    }
    sg_edgegap_create_params p = {
        .app_name = o->app,
        .version_name = o->version,
        .ip_list = ips,
        .ip_count = 1,
        .webhook_url = webhook,
        .selectors = nsel ? sel : NULL,
        .selector_count = nsel,
        .deployment_request_id = req->server_id,
        .has_position = req->has_position,
        .latitude = req->latitude,
        .longitude = req->longitude,
    };
    sg_edgegap_request *rq = NULL;
    call_ctx *c = ctx_new((void *)cb, user);
    sg_status st = c ? sg_edgegap_request_create_session(&p, &rq) : SG_E_NOMEM;
    if (st == SG_OK) st = sg_edgegap_submit(o->client, rq, on_created, c);
    if (st != SG_OK) {
        /* Not started (bad input, out of memory): the callback runs here (see the header). */
        sg_orch_result r;
        fail_now(&r, st, "create_session");
        free(c);
        cb(&r, NULL, user);
    }
}

static void on_polled(sg_edgegap_result *res, void *user)
{
    call_ctx *c = user;
    sg_orch_result r;
    fill_result(res, &r);
    sg_seat *seat = NULL;
    if (res->status == SG_OK && res->session) {
        seat = malloc(sizeof *seat);
        if (seat)
            sg_seat_from_edgegap(res->session, seat);
        else
            r.status = SG_E_NOMEM;
        long long mine = atomic_load(&c->o->app_version_id), theirs = res->session->app_version;
        if (seat && c->inspect) {
            seat->other_game = mine >= 0 && theirs >= 0 && theirs != mine;
        } else if (theirs >= 0 && mine != theirs) {
            /* A session this matchmaker created: its app version is ours. */
            atomic_store(&c->o->app_version_id, theirs);
        }
    }
    ((sg_orch_polled_fn)c->cb)(&r, seat, c->user);
    free(seat);
    free(c);
}

static void get_seat(edgegap_orch *o, bool inspect, const char *seat_id, sg_orch_polled_fn cb,
                     void *user)
{
    sg_edgegap_request *rq = NULL;
    call_ctx *c = ctx_new((void *)cb, user);
    if (c) {
        c->o = o;
        c->inspect = inspect;
    }
    sg_status st = c ? sg_edgegap_request_get_session(seat_id, &rq) : SG_E_NOMEM;
    if (st == SG_OK) st = sg_edgegap_submit(o->client, rq, on_polled, c);
    if (st != SG_OK) {
        sg_orch_result r;
        fail_now(&r, st, "get_session");
        free(c);
        cb(&r, NULL, user);
    }
}

static void poll_seat(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user)
{
    get_seat(self, false, seat_id, cb, user);
}

static void inspect_seat(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user)
{
    get_seat(self, true, seat_id, cb, user);
}

static void on_released(sg_edgegap_result *res, void *user)
{
    call_ctx *c = user;
    sg_orch_result r;
    fill_result(res, &r);
    if (r.status == SG_E_NOT_FOUND || r.status == SG_E_GONE) r.status = SG_OK; /* already gone */
    ((sg_orch_done_fn)c->cb)(&r, c->user);
    free(c);
}

static void release_seat(void *self, const char *seat_id, sg_orch_done_fn cb, void *user)
{
    edgegap_orch *o = self;
    sg_edgegap_request *rq = NULL;
    call_ctx *c = ctx_new((void *)cb, user);
    sg_status st = c ? sg_edgegap_request_delete_session(seat_id, &rq) : SG_E_NOMEM;
    if (st == SG_OK) st = sg_edgegap_submit(o->client, rq, on_released, c);
    if (st != SG_OK) {
        sg_orch_result r;
        fail_now(&r, st, "delete_session");
        free(c);
        cb(&r, user);
    }
}

static void on_listed(sg_edgegap_result *res, void *user)
{
    call_ctx *c = user;
    sg_orch_result r;
    fill_result(res, &r);
    const char **ids = NULL;
    size_t n = 0;
    bool next = false;
    if (r.status == SG_OK && res->list) {
        ids = calloc(res->list->count ? res->list->count : 1, sizeof *ids);
        if (!ids) r.status = SG_E_NOMEM;
        for (size_t i = 0; ids && i < res->list->count; i++)
            ids[n++] = res->list->data[i].session_id;
        next = res->list->has_next;
    }
    ((sg_orch_listed_fn)c->cb)(&r, ids, n, next, c->user);
    free(ids);
    free(c);
}

static void list_seats(void *self, int page, sg_orch_listed_fn cb, void *user)
{
    edgegap_orch *o = self;
    sg_edgegap_request *rq = NULL;
    call_ctx *c = ctx_new((void *)cb, user);
    sg_status st = c ? sg_edgegap_request_list_sessions(page, 100, &rq) : SG_E_NOMEM;
    if (st == SG_OK) st = sg_edgegap_submit(o->client, rq, on_listed, c);
    if (st != SG_OK) {
        sg_orch_result r;
        fail_now(&r, st, "list_sessions");
        free(c);
        cb(&r, NULL, 0, false, user);
    }
}

/* The app version's ports name the configured port (when it lists names at all). */
static bool names_port(const sg_edgegap_app_version *v, const char *name, char *have, size_t size)
{
    size_t used = 0;
    have[0] = '\0';
    if (!name[0] || v->port_count == 0) return true;
    for (size_t i = 0; i < v->port_count; i++) {
        if (strcmp(v->port_names[i], name) == 0) return true;
        int w = snprintf(have + used, size - used, "%s%s", i ? ", " : "", v->port_names[i]);
        if (w > 0 && (size_t)w < size - used) used += (size_t)w;
    }
    return false;
}

static void on_checked(sg_edgegap_result *res, void *user)
{
    call_ctx *c = user;
    edgegap_orch *o = c->o;
    sg_orch_result r;
    fill_result(res, &r);
    char have[160];
    if (r.status == SG_OK && res->app_version && !res->app_version->is_active) {
        r.status = SG_E_BAD_REQUEST;
        snprintf(r.message, sizeof r.message, "the app version is not active");
    } else if (r.status == SG_OK && res->app_version &&
               !names_port(res->app_version, o->port_name, have, sizeof have)) {
        r.status = SG_E_BAD_REQUEST;
        snprintf(r.message, sizeof r.message,
                 "the app version has no port named '%.60s' (--port-name); its ports: %s",
                 o->port_name, have);
    }
    ((sg_orch_done_fn)c->cb)(&r, c->user);
    free(c);
}

static void check(void *self, sg_orch_done_fn cb, void *user)
{
    edgegap_orch *o = self;
    sg_edgegap_request *rq = NULL;
    call_ctx *c = ctx_new((void *)cb, user);
    if (c) c->o = o;
    sg_status st = c ? sg_edgegap_request_get_app_version(o->app, o->version, &rq) : SG_E_NOMEM;
    if (st == SG_OK) st = sg_edgegap_submit(o->client, rq, on_checked, c);
    if (st != SG_OK) {
        sg_orch_result r;
        fail_now(&r, st, "get_app_version");
        free(c);
        cb(&r, user);
    }
}

static sg_status parse_notification(void *self, const char *body, size_t len, sg_seat *out)
{
    (void)self;
    sg_edgegap_session *s = NULL;
    sg_status st = sg_edgegap_parse_session(body, len, &s);
    if (st != SG_OK) return st;
    sg_seat_from_edgegap(s, out);
    sg_edgegap_session_free(s);
    return SG_OK;
}

static void destroy(void *self)
{
    edgegap_orch *o = self;
    if (!o) return;
    if (o->thread_running) {
        atomic_store(&o->stop, true);
        sg_edgegap_wakeup(o->client);
        pthread_join(o->thread, NULL);
    }
    sg_edgegap_client_free(o->client); /* pending callbacks run here with SG_E_UNAVAILABLE */
    free(o->app);
    free(o->version);
    free(o);
}

static void queue(void *self, long long *wait_ms, int *ahead)
{
    sg_edgegap_client_queue(((edgegap_orch *)self)->client, wait_ms, ahead);
}

static const sg_orchestrator_ops edgegap_ops = {
    .version = 4,
    .name = "edgegap",
    .create_seat = create_seat,
    .poll_seat = poll_seat,
    .release_seat = release_seat,
    .list_seats = list_seats,
    .inspect_seat = inspect_seat,
    .check = check,
    .parse_notification = parse_notification,
    .destroy = destroy,
    .queue = queue,
    .attach = attach,
    .step = step,
    .detach = detach,
};

sg_status sg_orchestrator_edgegap_new(const sg_edgegap_orch_options *opt, sg_orchestrator *out)
{
    memset(out, 0, sizeof *out);
    if (!opt->app || !*opt->app || !opt->version || !*opt->version)
        return sg_fail(SG_E_INVALID, "edgegap orchestrator: app and version are required");
    edgegap_orch *o = calloc(1, sizeof *o);
    if (!o) return sg_fail(SG_E_NOMEM, "edgegap orchestrator: out of memory");
    atomic_init(&o->app_version_id, -1);
    o->app = strdup(opt->app);
    o->version = strdup(opt->version);
    snprintf(o->port_name, sizeof o->port_name, "%s", opt->port_name ? opt->port_name : "");
    sg_status st =
        o->app && o->version ? sg_edgegap_client_new(&opt->client, &o->client) : SG_E_NOMEM;
    if (st != SG_OK) {
        free(o->app);
        free(o->version);
        free(o);
        return st;
    }
    if (pthread_create(&o->thread, NULL, drive, o) != 0) {
        sg_edgegap_client_free(o->client);
        free(o->app);
        free(o->version);
        free(o);
        return sg_fail(SG_E_IO, "edgegap orchestrator: cannot start its thread");
    }
    o->thread_running = true;
    out->ops = &edgegap_ops;
    out->self = o;
    return SG_OK;
}
