/* The Agones platform: seats are values in a GameServer's List (see agones.h). */
#include "agones.h"

#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "seatgate/addr.h"
#include "seatgate/clock.h"
#include "seatgate/codec.h"
#include "seatgate/log.h"

#define MAX_ANSWER (1u << 20)
#define CACHE_SLOTS 4096         /* seats remembered for poll_seat (a ring: oldest go first) */
#define CACHE_TTL_MS (10 * 60 * 1000)
#define SEAT_LABEL "seatgate.dev/seat"

typedef enum job_kind { JOB_CREATE, JOB_RELEASE, JOB_CHECK } job_kind;

typedef struct job {
    job_kind kind;
    void *cb, *user;
    char seat_id[SG_SEAT_ID_MAX];
    char *body;
    struct curl_slist *headers;
    CURL *easy;
    char *answer;
    size_t len;
    bool too_large;
    int attempts;
    long long not_before_ms; /* a retry waits until then */
    long long started_us;
    struct job *next;
    struct job *aprev, *anext; /* in the active list */
} job;

typedef struct cached {
    char id[SG_SEAT_ID_MAX];
    long long at_ms;
    sg_seat seat;
} cached;

typedef struct agones_orch {
    sg_agones_orch_options o; /* strings below are owned copies */
    char *url, *cert, *key, *ca, *ns, *fleet, *sched, *list, *addr_type, *port_name, *gw;
    sg_agones_pair *labels;
    CURLM *multi;
    pthread_t thread;
    bool thread_running; /* false once attached to the caller's loop */
    atomic_bool stop;
    /* The thread driving the multi handle (the address of its tl_me): its own submissions
     * need no wake-up, since it starts the queue before it waits again. */
    atomic_uintptr_t driver;
    pthread_mutex_t mu;
    job *queue;  /* submitted, not yet in the multi handle */
    job *later;  /* waiting for a retry (owned by the thread) */
    job *active; /* in the multi handle (owned by the thread) */
    cached *cache;
    size_t cache_next;
} agones_orch;

static _Thread_local char tl_me;

static void active_add(agones_orch *g, job *j)
{
    j->aprev = NULL;
    j->anext = g->active;
    if (g->active) g->active->aprev = j;
    g->active = j;
}

static void active_remove(agones_orch *g, job *j)
{
    if (j->aprev)
        j->aprev->anext = j->anext;
    else
        g->active = j->anext;
    if (j->anext) j->anext->aprev = j->aprev;
    j->aprev = j->anext = NULL;
}

const char *sg_agones_exposure_name(sg_agones_exposure e)
{
    switch (e) {
    case SG_AGONES_HOSTPORT:
        return "hostport";
    case SG_AGONES_NODEPORT:
        return "nodeport";
    case SG_AGONES_CONTAINERPORT:
        return "containerport";
    case SG_AGONES_GATEWAY:
        return "gateway";
    }
    return "unknown";
}

#define COPY(dst, src) sg_copy_str((dst), sizeof(dst), (src))

sg_status sg_seat_from_agones(const sg_agones_orch_options *o, const sg_agones_allocation *a,
                              const char *seat_id, sg_seat *out)
{
    memset(out, 0, sizeof *out);
    COPY(out->id, seat_id);
    out->state = SG_SEAT_READY;
    COPY(out->status, "Allocated");
    COPY(out->server_id, a->game_server_name);
    const char *addr;
    if (o->exposure == SG_AGONES_CONTAINERPORT)
        addr = sg_agones_pick_address(a->addresses, a->address_count, a->address, "PodIP");
    else
        addr = sg_agones_pick_address(a->addresses, a->address_count, a->address, o->address_type);
    if (!addr)
        return sg_fail(SG_E_MALFORMED, "GameServer %s has no %s address", a->game_server_name,
                       o->exposure == SG_AGONES_CONTAINERPORT
                           ? "PodIP"
                           : (o->address_type && *o->address_type ? o->address_type : "primary"));
    /* Host names go to fqdn, addresses to public_ip (the token needs an IP). */
    sg_addr probe;
    char text[80];
    snprintf(text, sizeof text, "%s", addr);
    if (strlen(addr) < sizeof text && sg_addr_parse(text, SG_PORT_FORBIDDEN, &probe) == SG_OK)
        COPY(out->public_ip, addr);
    else
        COPY(out->fqdn, addr);
    const sg_agones_port *gp = NULL;
    for (size_t i = 0; i < a->port_count && !gp; i++)
        if (!o->port_name || !*o->port_name || strcmp(a->ports[i].name, o->port_name) == 0)
            gp = &a->ports[i];
    if (!gp)
        return sg_fail(SG_E_MALFORMED, "GameServer %s has no port named '%s'",
                       a->game_server_name, o->port_name ? o->port_name : "");
    sg_seat_port *p = &out->ports[out->port_count++];
    COPY(p->name, gp->name);
    p->internal = o->exposure == SG_AGONES_CONTAINERPORT ? o->container_port : gp->port;
    p->external = o->exposure == SG_AGONES_NODEPORT        ? o->node_port
                  : o->exposure == SG_AGONES_CONTAINERPORT ? o->container_port
                                                           : gp->port;
    COPY(p->protocol, "UDP");
    out->created_ms = sg_clock_wall_ms();
    if (o->exposure == SG_AGONES_GATEWAY) {
        /* The token still names the server's own address (the game checks it); players dial
         * the gateway, which forwards by the route. */
        COPY(p->protocol, "WSS");
        COPY(out->route, a->game_server_name);
        char port[8];
        snprintf(port, sizeof port, "%d", gp->port);
        size_t n = 0;
        for (const char *t = o->gateway_url; t && *t && n + 1 < sizeof out->gateway_url;) {
            const char *rep = NULL;
            size_t skip = 0;
            if (strncmp(t, "{server}", 8) == 0) rep = a->game_server_name, skip = 8;
            else if (strncmp(t, "{port}", 6) == 0) rep = port, skip = 6;
            if (rep) {
                size_t r = strlen(rep);
                if (n + r >= sizeof out->gateway_url) break;
                memcpy(out->gateway_url + n, rep, r);
                n += r;
                t += skip;
            } else {
                out->gateway_url[n++] = *t++;
            }
        }
        out->gateway_url[n] = '\0';
        if (strlen(o->gateway_url) && n == 0)
            return sg_fail(SG_E_MALFORMED, "the gateway URL did not fit");
    }
    return SG_OK;
}

/* ---- the seat cache (poll_seat answers from it) ---------------------------------------- */

static void cache_put(agones_orch *g, const sg_seat *seat)
{
    pthread_mutex_lock(&g->mu);
    cached *c = &g->cache[g->cache_next++ % CACHE_SLOTS];
    COPY(c->id, seat->id);
    c->at_ms = sg_clock_mono_ms();
    c->seat = *seat;
    pthread_mutex_unlock(&g->mu);
}

static bool cache_get(agones_orch *g, const char *id, sg_seat *out)
{
    bool found = false;
    long long now = sg_clock_mono_ms();
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < CACHE_SLOTS && !found; i++) {
        cached *c = &g->cache[i];
        if (c->id[0] && now - c->at_ms < CACHE_TTL_MS && strcmp(c->id, id) == 0) {
            *out = c->seat;
            found = true;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return found;
}

static void cache_drop(agones_orch *g, const char *id)
{
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (strcmp(g->cache[i].id, id) == 0) g->cache[i].id[0] = '\0';
    pthread_mutex_unlock(&g->mu);
}

/* ---- jobs ------------------------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    job *j = user;
    size_t add = size * n;
    if (j->len + add + 1 > MAX_ANSWER) {
        j->too_large = true;
        return 0;
    }
    char *b = realloc(j->answer, j->len + add + 1);
    if (!b) return 0;
    memcpy(b + j->len, p, add);
    j->answer = b;
    j->len += add;
    b[j->len] = '\0';
    return add;
}

static void job_free(job *j)
{
    if (!j) return;
    if (j->easy) curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    free(j->body);
    free(j->answer);
    free(j);
}

static void result_init(sg_orch_result *r, sg_status st)
{
    memset(r, 0, sizeof *r);
    r->status = st;
    r->retry_after_ms = -1;
}

/* Completes a job: exactly one callback. */
static void complete(agones_orch *g, job *j, const sg_orch_result *r, const sg_seat *seat)
{
    (void)g;
    switch (j->kind) {
    case JOB_CREATE:
        ((sg_orch_created_fn)j->cb)(r, r->status == SG_OK ? seat->id : NULL, j->user);
        break;
    case JOB_RELEASE:
    case JOB_CHECK:
        ((sg_orch_done_fn)j->cb)(r, j->user);
        break;
    }
    job_free(j);
}

static sg_status setup_easy(agones_orch *g, job *j)
{
    if (j->easy) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    free(j->answer);
    j->answer = NULL;
    j->len = 0;
    j->too_large = false;
    CURL *e = curl_easy_init();
    if (!e) return sg_fail(SG_E_NOMEM, "out of memory");
    char url[1024];
    snprintf(url, sizeof url, "%s/gameserverallocation", g->url);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)g->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)g->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    if (g->cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, g->cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, g->key);
    }
    if (g->ca) curl_easy_setopt(e, CURLOPT_CAINFO, g->ca);
    if (j->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* check: any HTTP answer proves TLS works */
    }
    j->easy = e;
    j->attempts++;
    j->started_us = sg_clock_mono_us();
    return SG_OK;
}

static void submit(agones_orch *g, job *j)
{
    j->headers = curl_slist_append(NULL, "Content-Type: application/json");
    pthread_mutex_lock(&g->mu);
    j->next = g->queue;
    g->queue = j;
    pthread_mutex_unlock(&g->mu);
    if (atomic_load(&g->driver) != (uintptr_t)&tl_me) curl_multi_wakeup(g->multi);
}

static bool tls_error(CURLcode rc)
{
    return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_CIPHER || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_SSL_CRL_BADFILE || rc == CURLE_SSL_ENGINE_INITFAILED;
}

/* One finished transfer: complete the job, or keep it for a retry (true). */
static bool finished(agones_orch *g, job *j, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    sg_orch_result r;
    result_init(&r, SG_OK);
    r.http_status = (int)code;
    r.latency_us = sg_clock_mono_us() - j->started_us;
    sg_seat seat;
    memset(&seat, 0, sizeof seat);
    if (rc != CURLE_OK) {
        bool https = strncmp(g->url, "https:", 6) == 0;
        r.status = rc == CURLE_OPERATION_TIMEDOUT ? SG_E_TIMEOUT : SG_E_NETWORK;
        if (https && tls_error(rc))
            snprintf(r.message, sizeof r.message,
                     "the allocator refused the TLS connection (%s): check agones-client-cert, "
                     "agones-client-key and agones-ca-cert",
                     curl_easy_strerror(rc));
        else
            snprintf(r.message, sizeof r.message, "the allocator could not be reached: %s",
                     curl_easy_strerror(rc));
        /* A create whose request may have reached the allocator may have taken a seat. */
        r.ambiguous = j->kind == JOB_CREATE && rc == CURLE_OPERATION_TIMEDOUT;
    } else if (j->kind == JOB_CHECK) {
        /* Any HTTP answer: reachable, TLS (and the client certificate) accepted. */
        if (code == 401 || code == 403) {
            r.status = SG_E_UNAUTHORIZED;
            snprintf(r.message, sizeof r.message, "the allocator answered HTTP %ld", code);
        }
    } else if (code == 200) {
        sg_agones_allocation a;
        sg_status st = sg_agones_parse_allocation(j->answer, j->len, g->list, j->seat_id, &a);
        if (st == SG_OK && j->kind == JOB_CREATE && !a.list_has_value) {
            st = sg_fail(SG_E_CONFLICT, "GameServer %s has no room in its %s list",
                         a.game_server_name, g->list);
        }
        if (st == SG_OK && j->kind == JOB_CREATE) st = sg_seat_from_agones(&g->o, &a, j->seat_id, &seat);
        if (st != SG_OK) {
            r.status = st;
            r.ambiguous = j->kind == JOB_CREATE; /* a seat may have been added */
            COPY(r.message, sg_last_error());
        } else if (j->kind == JOB_CREATE) {
            cache_put(g, &seat);
        }
    } else {
        int gcode;
        char msg[160];
        sg_agones_parse_error(j->answer, j->len, &gcode, msg, sizeof msg);
        if (code == 409 && j->attempts <= g->o.contention_retries) {
            /* Contention: back off (50 ms doubling, with jitter) and try again. */
            long long d = 50LL << (j->attempts - 1);
            j->not_before_ms = sg_clock_mono_ms() + d / 2 + (long long)randombytes_uniform((uint32_t)d);
            return true;
        }
        if (code == g->o.unallocated_status) {
            r.status = j->kind == JOB_RELEASE ? SG_OK : SG_E_FULL; /* release: already gone */
            r.retry_after_ms = g->o.no_capacity_retry_ms;
        } else if (code == 409) {
            /* Contention that outlasted the retries: busy, try again shortly. */
            r.status = SG_E_RATE_LIMITED;
            r.retry_after_ms = 1000;
        } else if (code == 400 || code == 404 || code == 405) {
            r.status = SG_E_BAD_REQUEST;
        } else if (code == 401 || code == 403) {
            r.status = SG_E_UNAUTHORIZED;
        } else if (code == 504) {
            r.status = SG_E_TIMEOUT;
        } else {
            r.status = SG_E_SERVER;
        }
        snprintf(r.message, sizeof r.message, "allocator: HTTP %ld%s%s", code, msg[0] ? ": " : "",
                 msg);
        if (j->kind == JOB_RELEASE && r.status == SG_OK) r.message[0] = '\0';
    }
    if (j->kind == JOB_RELEASE && r.status == SG_OK) cache_drop(g, j->seat_id);
    complete(g, j, &r, &seat);
    return false;
}

static void start_job(agones_orch *g, job *j)
{
    sg_status st = setup_easy(g, j);
    if (st == SG_OK && curl_multi_add_handle(g->multi, j->easy) == CURLM_OK) {
        active_add(g, j);
        return;
    }
    sg_orch_result r;
    result_init(&r, SG_E_NOMEM);
    COPY(r.message, "cannot start the allocator call");
    sg_seat none = {0};
    complete(g, j, &r, &none);
}

/* One turn: starts what was submitted and what is due again, moves transfers along, and
 * waits at most max_wait_ms for a socket, a submission or fd (-1: none). */
static void step_once(agones_orch *g, int fd, int max_wait_ms)
{
    atomic_store(&g->driver, (uintptr_t)&tl_me);
    pthread_mutex_lock(&g->mu);
    job *q = g->queue;
    g->queue = NULL;
    pthread_mutex_unlock(&g->mu);
    while (q) {
        job *n = q->next;
        start_job(g, q);
        q = n;
    }
    long long now = sg_clock_mono_ms(), next_retry = -1;
    for (job **pp = &g->later; *pp;) {
        job *j = *pp;
        if (j->not_before_ms <= now) {
            *pp = j->next;
            start_job(g, j);
        } else {
            if (next_retry < 0 || j->not_before_ms < next_retry) next_retry = j->not_before_ms;
            pp = &j->next;
        }
    }
    int still = 0;
    curl_multi_perform(g->multi, &still);
    CURLMsg *m;
    int left, done = 0;
    while ((m = curl_multi_info_read(g->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        job *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(g->multi, m->easy_handle);
        active_remove(g, j);
        done++;
        if (finished(g, j, rc)) {
            j->next = g->later;
            g->later = j;
            if (next_retry < 0 || j->not_before_ms < next_retry) next_retry = j->not_before_ms;
        }
    }
    int wait = done > 0 ? 0 : max_wait_ms;
    if (next_retry >= 0) {
        long long d = next_retry - sg_clock_mono_ms();
        wait = d < 0 ? 0 : d < wait ? (int)d : wait;
    }
    pthread_mutex_lock(&g->mu);
    if (g->queue) wait = 0; /* submitted by a callback just run */
    pthread_mutex_unlock(&g->mu);
    struct curl_waitfd w = {.fd = fd, .events = CURL_WAIT_POLLIN};
    curl_multi_poll(g->multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, wait, NULL);
    curl_multi_perform(g->multi, &still);
}

static void *drive(void *arg)
{
    agones_orch *g = arg;
    pthread_setname_np(pthread_self(), "sg-agones");
    while (!atomic_load(&g->stop))
        step_once(g, -1, 1000);
    atomic_store(&g->driver, 0);
    return NULL;
}

static sg_status attach(void *self)
{
    agones_orch *g = self;
    if (!g->thread_running) return sg_fail(SG_E_INVALID, "agones: already attached");
    atomic_store(&g->stop, true);
    curl_multi_wakeup(g->multi);
    pthread_join(g->thread, NULL);
    g->thread_running = false;
    return SG_OK;
}

static void step(void *self, int fd, int timeout_ms)
{
    step_once(self, fd, timeout_ms);
}

static void detach(void *self)
{
    atomic_store(&((agones_orch *)self)->driver, 0);
}

static job *job_new(job_kind kind, void *cb, void *user)
{
    job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        j->cb = cb;
        j->user = user;
    }
    return j;
}

/* ---- the operations -------------------------------------------------------------------- */

static void fail_now_created(sg_orch_created_fn cb, void *user, sg_status st, const char *msg)
{
    sg_orch_result r;
    result_init(&r, st);
    COPY(r.message, msg);
    cb(&r, NULL, user);
}

static void create_seat(void *self, const sg_seat_request *req, sg_orch_created_fn cb, void *user)
{
    agones_orch *g = self;
    job *j = job_new(JOB_CREATE, (void *)cb, user);
    if (!j) return fail_now_created(cb, user, SG_E_NOMEM, "out of memory");
    /* The seat id: the create's marker when there is one (reconciliation matches it), else
     * random; a list value and a label value, so [a-z0-9-] only. */
    if (req->marker && *req->marker) {
        snprintf(j->seat_id, sizeof j->seat_id, "s-%.40s", req->marker);
    } else {
        unsigned char r[16];
        randombytes_buf(r, sizeof r);
        char hex[33];
        sodium_bin2hex(hex, sizeof hex, r, sizeof r);
        snprintf(j->seat_id, sizeof j->seat_id, "s-%s", hex);
    }
    sg_agones_pair labels[1] = {{SEAT_LABEL, j->seat_id}};
    char ip_note[64];
    snprintf(ip_note, sizeof ip_note, "%s", req->player_ip ? req->player_ip : "");
    sg_agones_pair ann[1] = {{"seatgate.dev/player-ip", ip_note}};
    /* Placement chose a GameServer: only that one (its hook labels it with its name). */
    sg_agones_pair *sels = malloc((g->o.match_label_count + 1) * sizeof *sels);
    if (!sels) {
        job_free(j);
        return fail_now_created(cb, user, SG_E_NOMEM, "out of memory");
    }
    size_t nsel = 0;
    for (size_t i = 0; i < g->o.match_label_count; i++)
        sels[nsel++] = g->labels[i];
    if (req->server_id && *req->server_id)
        sels[nsel++] = (sg_agones_pair){SG_AGONES_NAME_LABEL, req->server_id};
    sg_agones_alloc_params p = {
        .namespace_ = g->ns,
        .fleet = g->fleet,
        .match_labels = sels,
        .match_label_count = nsel,
        .scheduling = g->sched,
        .list = g->list,
        .value = j->seat_id,
        .labels = labels,
        .label_count = 1,
        .annotations = ann,
        .annotation_count = 1,
        .ready_only = g->o.one_per_server,
    };
    sg_status st = sg_agones_allocation_body(&p, &j->body);
    free(sels);
    if (st != SG_OK) {
        job_free(j);
        return fail_now_created(cb, user, st, sg_last_error());
    }
    submit(g, j);
}

static void poll_seat(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user)
{
    agones_orch *g = self;
    sg_orch_result r;
    sg_seat seat;
    if (cache_get(g, seat_id, &seat)) {
        result_init(&r, SG_OK);
        cb(&r, &seat, user);
        return;
    }
    result_init(&r, SG_E_NOT_FOUND);
    COPY(r.message, "seat not known here (allocated by another replica, or too long ago)");
    cb(&r, NULL, user);
}

static void release_seat(void *self, const char *seat_id, sg_orch_done_fn cb, void *user)
{
    agones_orch *g = self;
    job *j = job_new(JOB_RELEASE, (void *)cb, user);
    sg_status st = j ? sg_agones_release_body(g->ns, g->fleet, g->list, seat_id, &j->body)
                     : sg_fail(SG_E_NOMEM, "out of memory");
    if (st != SG_OK) {
        job_free(j);
        sg_orch_result r;
        result_init(&r, st);
        COPY(r.message, sg_last_error());
        cb(&r, user);
        return;
    }
    COPY(j->seat_id, seat_id);
    submit(g, j);
}

static void list_seats(void *self, int page, sg_orch_listed_fn cb, void *user)
{
    (void)self;
    (void)page;
    /* The allocator cannot list seats: there is nothing to reconcile from here (the game
     * server's hook removes seats nobody claimed). */
    sg_orch_result r;
    result_init(&r, SG_OK);
    cb(&r, NULL, 0, false, user);
}

static void inspect_seat(void *self, const char *seat_id, sg_orch_polled_fn cb, void *user)
{
    poll_seat(self, seat_id, cb, user);
}

static void check(void *self, sg_orch_done_fn cb, void *user)
{
    agones_orch *g = self;
    job *j = job_new(JOB_CHECK, (void *)cb, user);
    if (!j) {
        sg_orch_result r;
        result_init(&r, SG_E_NOMEM);
        cb(&r, user);
        return;
    }
    submit(g, j);
}

static void free_fields(agones_orch *g)
{
    if (g->multi) curl_multi_cleanup(g->multi);
    free(g->url);
    free(g->cert);
    free(g->key);
    free(g->ca);
    free(g->ns);
    free(g->fleet);
    free(g->sched);
    free(g->list);
    free(g->addr_type);
    free(g->port_name);
    free(g->gw);
    for (size_t i = 0; g->labels && i < g->o.match_label_count; i++) {
        free((char *)g->labels[i].key);
        free((char *)g->labels[i].value);
    }
    free(g->labels);
    free(g->cache);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void destroy(void *self)
{
    agones_orch *g = self;
    if (!g) return;
    if (g->thread_running) {
        atomic_store(&g->stop, true);
        curl_multi_wakeup(g->multi);
        pthread_join(g->thread, NULL);
    }
    /* Whatever is still pending completes as unavailable. */
    sg_orch_result r;
    result_init(&r, SG_E_UNAVAILABLE);
    COPY(r.message, "shutting down");
    sg_seat none = {0};
    while (g->active) {
        job *j = g->active;
        active_remove(g, j);
        curl_multi_remove_handle(g->multi, j->easy);
        complete(g, j, &r, &none);
    }
    job *lists[2] = {g->queue, g->later};
    for (int k = 0; k < 2; k++)
        for (job *j = lists[k], *n; j; j = n) {
            n = j->next;
            complete(g, j, &r, &none);
        }
    free_fields(g);
}

static const sg_orchestrator_ops agones_ops = {
    .version = 4, /* no queue: the allocator has no pace of ours */
    .name = "agones",
    .create_seat = create_seat,
    .poll_seat = poll_seat,
    .release_seat = release_seat,
    .list_seats = list_seats,
    .inspect_seat = inspect_seat,
    .check = check,
    .parse_notification = NULL,
    .destroy = destroy,
    .attach = attach,
    .step = step,
    .detach = detach,
};

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

sg_status sg_orchestrator_agones_new(const sg_agones_orch_options *opt, sg_orchestrator *out)
{
    memset(out, 0, sizeof *out);
    const char *u = opt->allocator_url;
    if (!u || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return sg_fail(SG_E_INVALID, "agones-allocator-url: an http:// or https:// URL is required");
    if ((opt->client_cert && *opt->client_cert) != (opt->client_key && *opt->client_key))
        return sg_fail(SG_E_INVALID, "agones-client-cert and agones-client-key go together");
    if (!opt->namespace_ || !*opt->namespace_)
        return sg_fail(SG_E_INVALID, "agones-namespace is required");
    if (!opt->list || !*opt->list) return sg_fail(SG_E_INVALID, "agones-list is required");
    if (opt->exposure == SG_AGONES_NODEPORT && (opt->node_port < 1 || opt->node_port > 65535))
        return sg_fail(SG_E_INVALID, "agones-exposure=nodeport needs agones-node-port");
    if (opt->exposure == SG_AGONES_GATEWAY &&
        (!opt->gateway_url || (strncmp(opt->gateway_url, "wss://", 6) != 0 &&
                               strncmp(opt->gateway_url, "ws://", 5) != 0 &&
                               strncmp(opt->gateway_url, "https://", 8) != 0)))
        return sg_fail(SG_E_INVALID, "agones-exposure=gateway needs agones-gateway-url "
                                     "(wss://host/..., with {server} for the route)");
    if (opt->exposure == SG_AGONES_CONTAINERPORT &&
        (opt->container_port < 1 || opt->container_port > 65535))
        return sg_fail(SG_E_INVALID, "agones-exposure=containerport needs agones-container-port");
    agones_orch *g = calloc(1, sizeof *g);
    if (!g) return sg_fail(SG_E_NOMEM, "out of memory");
    g->o = *opt;
    g->o.match_label_count = 0; /* counts the copies made below */
    size_t ulen = strlen(u);
    while (ulen > 0 && u[ulen - 1] == '/')
        ulen--;
    g->url = strndup(u, ulen);
    g->cert = dup_or_null(opt->client_cert);
    g->key = dup_or_null(opt->client_key);
    g->ca = dup_or_null(opt->ca_cert);
    g->ns = strdup(opt->namespace_);
    g->fleet = dup_or_null(opt->fleet);
    g->sched = strdup(opt->scheduling && *opt->scheduling ? opt->scheduling : "Packed");
    g->list = strdup(opt->list);
    g->addr_type = strdup(opt->address_type ? opt->address_type : "");
    g->port_name = strdup(opt->port_name ? opt->port_name : "");
    g->gw = strdup(opt->gateway_url ? opt->gateway_url : "");
    g->labels = calloc(opt->match_label_count + 1, sizeof *g->labels);
    g->cache = calloc(CACHE_SLOTS, sizeof *g->cache);
    bool ok = g->url && g->ns && g->sched && g->list && g->addr_type && g->port_name && g->gw &&
              g->labels && g->cache;
    for (size_t i = 0; ok && i < opt->match_label_count; i++) {
        g->labels[i].key = strdup(opt->match_labels[i].key);
        g->labels[i].value = strdup(opt->match_labels[i].value);
        g->o.match_label_count++;
        ok = g->labels[i].key && g->labels[i].value;
    }
    /* The options now point at the owned copies. */
    g->o.allocator_url = g->url;
    g->o.client_cert = g->cert;
    g->o.client_key = g->key;
    g->o.ca_cert = g->ca;
    g->o.namespace_ = g->ns;
    g->o.fleet = g->fleet;
    g->o.scheduling = g->sched;
    g->o.list = g->list;
    g->o.address_type = g->addr_type;
    g->o.port_name = g->port_name;
    g->o.gateway_url = g->gw;
    g->o.match_labels = g->labels;
    if (g->o.timeout_ms <= 0) g->o.timeout_ms = 5000;
    if (g->o.unallocated_status <= 0) g->o.unallocated_status = 429;
    if (g->o.no_capacity_retry_ms <= 0) g->o.no_capacity_retry_ms = 5000;
    pthread_mutex_init(&g->mu, NULL);
    if (ok) g->multi = curl_multi_init();
    if (!ok || !g->multi) {
        free_fields(g);
        return sg_fail(SG_E_NOMEM, "out of memory");
    }
    if (pthread_create(&g->thread, NULL, drive, g) != 0) {
        free_fields(g);
        return sg_fail(SG_E_IO, "agones: cannot start its thread");
    }
    g->thread_running = true;
    out->ops = &agones_ops;
    out->self = g;
    return SG_OK;
}
