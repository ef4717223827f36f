/* Sessions, deployments and seats, as Edgegap's session API behaves for an app version:
 * a session takes seats on a deployment with room (ready ones first, then starting ones),
 * else autodeploys a new deployment from the version's template, else is Unprocessable.
 * A linked session turns Ready once its deployment is ready (plus the version's link
 * delay). Stopping a deployment cleans its sessions up: they leave every list, GET answers
 * 404 and DELETE 410. One mutex guards everything; time moves forward in sim_state_tick. */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seatgate/log.h"
#include "sim_model.h"

#define SIM_BUCKETS_MIN 4096 /* the session index doubles past two sessions a bucket */

typedef struct req_count {
    char key[96];
    long long n;
} req_count;

struct sim_state {
    pthread_mutex_t mu;
    const sim_catalog *cat;
    char public_url[256];
    char seed[128];
    int port_base, next_port;
    sim_webhooks *wh;
    sim_deployment *deps, *deps_tail;
    sim_session **buckets; /* by session id; nbuckets a power of two */
    size_t nbuckets, indexed;
    sim_session *head, *tail;
    size_t n_live, n_seeking;
    long long next_due;
    sg_heap seeking; /* seeking sessions by when to look at them again (sim_session.wake) */
    long long created, deleted, unprocessable, autodeploys, terminated;
    req_count *counts;
    size_t n_counts, cap_counts;
};

/* ---- small helpers ------------------------------------------------------------------- */

static int fail(cJSON **out, int status, const char *message)
{
    *out = sim_error_body(message);
    return status;
}

static size_t hash_id(const sim_state *st, const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (st->nbuckets - 1);
}

/* Doubles the session index (locked); on failure the old one stays (longer chains). */
static void grow_index(sim_state *st)
{
    size_t n = st->nbuckets * 2;
    sim_session **b = calloc(n, sizeof *b);
    if (!b) return;
    sim_session **old = st->buckets;
    size_t old_n = st->nbuckets;
    st->buckets = b;
    st->nbuckets = n;
    for (size_t i = 0; i < old_n; i++) {
        for (sim_session *s = old[i], *next; s; s = next) {
            next = s->hnext;
            size_t h = hash_id(st, s->id);
            s->hnext = b[h];
            b[h] = s;
        }
    }
    free(old);
}

static sim_session *session_of(sg_heap_node *n)
{
    return (sim_session *)(void *)((char *)n - offsetof(sim_session, wake));
}

/* When a seeking session is next worth a look: its link delay after creation, and not before
 * its deployment is ready (LLONG_MAX: its deployment starts when told). */
static long long wake_at(const sim_session *s)
{
    long long at = s->created_ms + s->ver->link_delay_ms;
    if (s->dep->state != DEP_READY && s->dep->ready_at_ms > at) at = s->dep->ready_at_ms;
    return at;
}

/* (Re)files a seeking session in the heap at its wake time (locked). */
static void schedule(sim_state *st, sim_session *s)
{
    sg_heap_remove(&st->seeking, &s->wake);
    s->wake.due = wake_at(s);
    if (sg_heap_push(&st->seeking, &s->wake) != SG_OK) {
        SG_ERROR("sim", "out_of_memory", "what=timer");
        return;
    }
    if (s->wake.due < st->next_due) st->next_due = s->wake.due;
}

static sim_session *find_session(sim_state *st, const char *id)
{
    for (sim_session *s = st->buckets[hash_id(st, id)]; s; s = s->hnext)
        if (strcmp(s->id, id) == 0) return s;
    return NULL;
}

static sim_deployment *find_deployment(sim_state *st, const char *rid)
{
    for (sim_deployment *d = st->deps; d; d = d->next)
        if (strcmp(d->request_id, rid) == 0) return d;
    return NULL;
}

static void derive(const char *seed, const char *label, const char *rid, unsigned char *out,
                   size_t n)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, n);
    crypto_generichash_update(&h, (const unsigned char *)seed, strlen(seed) + 1);
    crypto_generichash_update(&h, (const unsigned char *)label, strlen(label) + 1);
    crypto_generichash_update(&h, (const unsigned char *)rid, strlen(rid));
    crypto_generichash_final(&h, out, n);
}

/* Fills the secrets of a deployment: given ones, else derived from the seed (static
 * deployments, so another process can print the same env), else random. */
static void fill_secrets(sim_deployment *d, const sim_deploy_spec *spec, const char *seed)
{
    unsigned char raw[16];
    if (spec && spec->context_token[0]) {
        snprintf(d->context_token, sizeof d->context_token, "%s", spec->context_token);
    } else if (spec) {
        derive(seed, "context", d->request_id, raw, sizeof raw);
        sodium_bin2hex(d->context_token, sizeof d->context_token, raw, sizeof raw);
    } else {
        sim_random_hex(d->context_token, 32);
    }
    if (spec && spec->delete_token[0]) {
        snprintf(d->delete_token, sizeof d->delete_token, "%s", spec->delete_token);
    } else if (spec) {
        derive(seed, "delete", d->request_id, raw, sizeof raw);
        sodium_bin2hex(d->delete_token, sizeof d->delete_token, raw, sizeof raw);
    } else {
        sim_random_hex(d->delete_token, 32);
    }
    if (spec) {
        derive(seed, "numbers", d->request_id, raw, sizeof raw);
        d->security_number = spec->security_number
                                 ? spec->security_number
                                 : 1 + (int)(((unsigned)raw[0] << 8 | raw[1]) % 99999);
        d->access_point = 1 + (int)(((unsigned)raw[2] << 16 | raw[3] << 8 | raw[4]) % 999999);
    } else {
        d->security_number = 1 + (int)randombytes_uniform(99999);
        d->access_point = 1 + (int)randombytes_uniform(999999);
    }
}

static void fill_from_spec(sim_deployment *d, const sim_version *v, const sim_deploy_spec *spec)
{
    d->ver = v;
    snprintf(d->public_ip, sizeof d->public_ip, "%s", spec->public_ip);
    const char *tmpl = spec->fqdn[0] ? spec->fqdn : "{request_id}.pr.edgegap.net";
    const char *at = strstr(tmpl, "{request_id}");
    if (at)
        snprintf(d->fqdn, sizeof d->fqdn, "%.*s%s%s", (int)(at - tmpl), tmpl, d->request_id,
                 at + strlen("{request_id}"));
    else
        snprintf(d->fqdn, sizeof d->fqdn, "%s", tmpl);
    memcpy(d->ports, spec->ports, sizeof d->ports);
    d->n_ports = spec->n_ports;
    d->location = spec->location;
    memcpy(d->tags, spec->tags, sizeof d->tags);
    d->n_tags = spec->n_tags;
    d->sockets = v->kind == SIM_KIND_SEAT ? v->sockets : (v->sockets > 0 ? v->sockets : 1);
}

static void set_due(sim_state *st, long long at)
{
    if (at < st->next_due) st->next_due = at;
}

/* Creates a deployment (locked). spec is the version template or a static spec. */
static sim_deployment *start_deployment(sim_state *st, const sim_version *v,
                                        const sim_deploy_spec *spec, bool is_static,
                                        long long delay_ms)
{
    sim_deployment *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (spec->request_id[0]) {
        snprintf(d->request_id, sizeof d->request_id, "%s", spec->request_id);
    } else {
        do
            sim_random_hex(d->request_id, SIM_RID_LEN);
        while (find_deployment(st, d->request_id));
    }
    fill_from_spec(d, v, spec);
    for (size_t i = 0; i < d->n_ports; i++) {
        if (d->ports[i].external) continue;
        d->ports[i].external = st->next_port++;
        if (st->next_port > 59999) st->next_port = st->port_base;
    }
    fill_secrets(d, is_static ? spec : NULL, st->seed);
    long long now = sim_now_ms();
    if (delay_ms < 0) {
        d->ready_at_ms = LLONG_MAX;
    } else if (delay_ms == 0) {
        d->state = DEP_READY;
        d->start_wall = time(NULL);
    } else {
        d->ready_at_ms = now + delay_ms;
        set_due(st, d->ready_at_ms);
    }
    if (st->deps_tail)
        st->deps_tail->next = d;
    else
        st->deps = d;
    st->deps_tail = d;
    SG_INFO("sim", "deployment_started", "request_id=%s app=%s version=%s delay_ms=%lld",
            d->request_id, v->app, v->name, delay_ms);
    return d;
}

static void emit_webhook(sim_state *st, const sim_session *s)
{
    if (!st->wh || !s->webhook_url) return;
    cJSON *body = sim_render_session(s, sim_now_ms());
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) return;
    sim_webhooks_post(st->wh, s->webhook_url, text, s->id, sim_ses_status_name(s->status));
    free(text);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

sg_status sim_state_new(const sim_catalog *cat, const sim_state_opts *opts, sim_state **out)
{
    *out = NULL;
    sim_state *st = calloc(1, sizeof *st);
    if (!st) return SG_E_NOMEM;
    st->nbuckets = SIM_BUCKETS_MIN;
    st->buckets = calloc(st->nbuckets, sizeof *st->buckets);
    if (!st->buckets) {
        free(st);
        return SG_E_NOMEM;
    }
    pthread_mutex_init(&st->mu, NULL);
    st->cat = cat;
    snprintf(st->public_url, sizeof st->public_url, "%s", opts->public_url ? opts->public_url : "");
    snprintf(st->seed, sizeof st->seed, "%s", opts->token_seed ? opts->token_seed : "");
    st->port_base = st->next_port = opts->external_port_base > 0 ? opts->external_port_base : 30000;
    st->wh = opts->webhooks;
    st->next_due = LLONG_MAX;
    for (size_t i = 0; i < cat->n; i++) {
        const sim_version *v = &cat->versions[i];
        for (size_t j = 0; j < v->n_statics; j++) {
            if (!start_deployment(st, v, &v->statics[j], true, v->statics[j].start_delay_ms)) {
                sim_state_free(st);
                return SG_E_NOMEM;
            }
        }
    }
    *out = st;
    return SG_OK;
}

void sim_state_set_public_url(sim_state *st, const char *url)
{
    pthread_mutex_lock(&st->mu);
    snprintf(st->public_url, sizeof st->public_url, "%s", url);
    pthread_mutex_unlock(&st->mu);
}

static void free_session(sim_session *s)
{
    free(s->ips);
    free(s->webhook_url);
    free(s->selectors_json);
    free(s);
}

void sim_state_free(sim_state *st)
{
    if (!st) return;
    for (sim_session *s = st->head, *n; s; s = n) {
        n = s->next;
        free_session(s);
    }
    for (sim_deployment *d = st->deps, *n; d; d = n) {
        n = d->next;
        free(d);
    }
    free(st->counts);
    sg_heap_free(&st->seeking);
    free(st->buckets);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* Moves time on (locked): deployments whose start delay passed become ready, then seeking
 * sessions whose wake time passed become Ready (a webhook each). O(log n) per session that
 * changes, in the sessions held; the deployments are few. Returns when next to look. */
static long long tick_locked(sim_state *st, long long now)
{
    if (now < st->next_due) return st->next_due;
    long long next = LLONG_MAX;
    for (sim_deployment *d = st->deps; d; d = d->next) {
        if (d->state != DEP_STARTING || d->ready_at_ms == LLONG_MAX) continue;
        if (d->ready_at_ms <= now) {
            d->state = DEP_READY;
            d->start_wall = time(NULL);
            SG_INFO("sim", "deployment_ready", "request_id=%s", d->request_id);
        } else if (d->ready_at_ms < next) {
            next = d->ready_at_ms;
        }
    }
    sg_heap_node *top;
    while ((top = sg_heap_top(&st->seeking)) && top->due <= now) {
        sim_session *s = session_of(sg_heap_pop(&st->seeking));
        if (s->dep->state != DEP_READY || wake_at(s) > now) {
            schedule(st, s); /* filed before its deployment's start was known */
            continue;
        }
        s->status = SES_READY;
        st->n_seeking--;
        emit_webhook(st, s);
    }
    if ((top = sg_heap_top(&st->seeking)) && top->due < next) next = top->due;
    st->next_due = next;
    return next;
}

long long sim_state_tick(sim_state *st)
{
    pthread_mutex_lock(&st->mu);
    long long next = tick_locked(st, sim_now_ms());
    pthread_mutex_unlock(&st->mu);
    return next;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int seats_for(const sim_version *v, size_t n_ips)
{
    if (v->kind == SIM_KIND_SEAT) return n_ips > 0 ? (int)n_ips : 1;
    return -1; /* the whole deployment */
}

static bool has_room(const sim_deployment *d, int seats)
{
    if (d->state == DEP_STOPPED) return false;
    if (seats < 0) return d->used == 0;
    return d->sockets - d->used >= seats;
}

/* A deployment with room for the session: with the player's position, the nearest one
 * (Edgegap links by the players' location); without, a ready one before a starting one. */
static sim_deployment *pick_deployment(sim_state *st, const sim_version *v, int seats,
                                       const sim_session *s)
{
    sim_deployment *starting = NULL, *nearest = NULL;
    double best = 0;
    for (sim_deployment *d = st->deps; d; d = d->next) {
        if (d->ver != v || !has_room(d, seats) || d->state == DEP_STOPPED) continue;
        if (s->has_pos) {
            double ms = sim_rtt_ms(s->latitude, s->longitude, d->location.latitude,
                                   d->location.longitude);
            if (v->link_within_ms > 0 && ms > v->link_within_ms) continue;
            if (!nearest || ms < best) {
                nearest = d;
                best = ms;
            }
            continue;
        }
        if (d->state == DEP_READY) return d;
        if (!starting) starting = d;
    }
    return s->has_pos ? nearest : starting;
}

/* Where autodeploy starts a deployment for this player: the nearest region, else the
 * template's own location. */
static const sim_deploy_spec *autodeploy_spec(const sim_version *v, const sim_session *s)
{
    const sim_deploy_spec *best = &v->tmpl;
    double best_ms = 0;
    for (size_t i = 0; s->has_pos && i < v->n_regions; i++) {
        const sim_location *l = &v->regions[i].location;
        double ms = sim_rtt_ms(s->latitude, s->longitude, l->latitude, l->longitude);
        if (best == &v->tmpl || ms < best_ms) {
            best = &v->regions[i];
            best_ms = ms;
        }
    }
    return best;
}

/* The player's position: the first geo_ip_list entry's, else the ip_locations table's. */
static void locate_player(const sim_state *st, sim_session *s)
{
    for (size_t i = 0; i < s->n_ips; i++)
        if (s->ips[i].has_geo) {
            s->has_pos = true;
            s->latitude = s->ips[i].latitude;
            s->longitude = s->ips[i].longitude;
            return;
        }
    sg_addr a;
    for (size_t i = 0; i < s->n_ips; i++) {
        if (sg_addr_parse(s->ips[i].ip, SG_PORT_FORBIDDEN, &a) != SG_OK) continue;
        for (size_t k = 0; k < st->cat->n_ip_locations; k++)
            if (sg_cidr_contains(&st->cat->ip_locations[k].cidr, &a)) {
                s->has_pos = true;
                s->latitude = st->cat->ip_locations[k].latitude;
                s->longitude = st->cat->ip_locations[k].longitude;
                return;
            }
    }
}

static void link_session(sim_state *st, sim_session *s, sim_deployment *d, int seats)
{
    s->dep = d;
    s->seats = seats < 0 ? d->sockets : seats;
    d->used += s->seats;
    s->status = SES_SEEKING;
    st->n_seeking++;
    schedule(st, s);
}

static void insert_session(sim_state *st, sim_session *s)
{
    if (st->indexed >= st->nbuckets * 2) grow_index(st);
    size_t h = hash_id(st, s->id);
    s->hnext = st->buckets[h];
    st->buckets[h] = s;
    st->indexed++;
    s->prev = st->tail;
    if (st->tail)
        st->tail->next = s;
    else
        st->head = s;
    st->tail = s;
    st->n_live++;
}

static void remove_session(sim_state *st, sim_session *s)
{
    sim_session **pp = &st->buckets[hash_id(st, s->id)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = s->hnext;
        st->indexed--;
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        st->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        st->tail = s->prev;
}

/* Frees the seats a session holds (locked). */
static void release(sim_state *st, sim_session *s)
{
    if (s->dep && s->seats) {
        s->dep->used -= s->seats;
        s->seats = 0;
    }
    if (s->status == SES_SEEKING && s->dep) st->n_seeking--;
    sg_heap_remove(&st->seeking, &s->wake);
}

int sim_state_create_session(sim_state *st, const sim_session_req *req, cJSON **out)
{
    char msg[200];
    pthread_mutex_lock(&st->mu);
    long long now = sim_now_ms();
    tick_locked(st, now);
    const sim_version *v =
        sim_catalog_find(st->cat, req->app, req->version[0] ? req->version : NULL);
    int rc = 200;
    if (!v) {
        snprintf(msg, sizeof msg, "App version %s/%s not found", req->app,
                 req->version[0] ? req->version : "(latest)");
        rc = fail(out, 400, msg);
    } else if (!v->app_active || !v->active) {
        snprintf(msg, sizeof msg, "App version %s/%s is not active", v->app, v->name);
        rc = fail(out, 400, msg);
    }
    sim_deployment *target = NULL;
    if (rc == 200 && req->deployment_request_id[0]) {
        target = find_deployment(st, req->deployment_request_id);
        if (!target || target->state == DEP_STOPPED || target->ver != v) {
            snprintf(msg, sizeof msg, "Deployment %s not found for this app version",
                     req->deployment_request_id);
            rc = fail(out, 400, msg);
        }
    }
    sim_session *s = rc == 200 ? calloc(1, sizeof *s) : NULL;
    if (rc == 200 && !s) rc = fail(out, 500, "Out of memory");
    if (rc != 200) {
        pthread_mutex_unlock(&st->mu);
        return rc;
    }
    do {
        sim_random_hex(s->id, SIM_RID_LEN);
        strcat(s->id, "-S");
    } while (find_session(st, s->id));
    s->ver = v;
    s->ips = req->n_ips ? malloc(req->n_ips * sizeof *req->ips) : NULL;
    if (req->n_ips && !s->ips) {
        free(s);
        rc = fail(out, 500, "Out of memory");
        pthread_mutex_unlock(&st->mu);
        return rc;
    }
    if (req->n_ips) memcpy(s->ips, req->ips, req->n_ips * sizeof *req->ips);
    s->n_ips = req->n_ips;
    locate_player(st, s);
    s->webhook_url = req->webhook_url ? strdup(req->webhook_url) : NULL;
    s->selectors_json = req->selectors_json ? strdup(req->selectors_json) : NULL;
    snprintf(s->requested_rid, sizeof s->requested_rid, "%s", req->deployment_request_id);
    s->created_ms = now;
    clock_gettime(CLOCK_REALTIME, &s->created_wall);

    int seats = seats_for(v, req->n_ips);
    sim_deployment *d = NULL;
    if (seats > v->sockets) {
        d = NULL; /* more players than a deployment has seats: nothing can take them */
    } else if (target) {
        d = has_room(target, seats) ? target : NULL;
    } else {
        d = pick_deployment(st, v, seats, s);
        if (!d && v->autodeploy) {
            d = start_deployment(st, v, autodeploy_spec(v, s), false, v->tmpl.start_delay_ms);
            if (d) {
                d->autodeployed = true;
                st->autodeploys++;
            }
        }
    }
    if (d) {
        link_session(st, s, d, seats);
    } else {
        s->status = SES_UNPROCESSABLE;
        snprintf(s->error, sizeof s->error, "%s",
                 target ? "No free socket on the requested deployment"
                        : "No deployment with a free socket is available and autodeploy is off");
        st->unprocessable++;
    }
    insert_session(st, s);
    st->created++;
    *out = sim_render_session_created(s);
    if (s->status == SES_UNPROCESSABLE) emit_webhook(st, s);
    tick_locked(st, now); /* a zero link delay on a ready deployment is Ready at once */
    SG_DEBUG("sim", "session_created", "session_id=%s status=%s", s->id,
             sim_ses_status_name(s->status));
    pthread_mutex_unlock(&st->mu);
    return 200;
}

int sim_state_get_session(sim_state *st, const char *id, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    long long now = sim_now_ms();
    tick_locked(st, now);
    sim_session *s = find_session(st, id);
    int rc = 200;
    if (!s || s->terminated)
        rc = fail(out, 404, "Session not found");
    else
        *out = sim_render_session(s, now);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_delete_session(sim_state *st, const char *id, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    tick_locked(st, sim_now_ms());
    sim_session *s = find_session(st, id);
    int rc = 200;
    if (!s) {
        rc = fail(out, 404, "Session not found");
    } else if (s->terminated) {
        rc = fail(out, 410, "The instance of this session is already terminated");
    } else {
        release(st, s);
        remove_session(st, s);
        st->n_live--;
        st->deleted++;
        *out = cJSON_CreateObject();
        cJSON_AddStringToObject(*out, "message", "Session deleted");
        cJSON_AddStringToObject(*out, "session_id", s->id);
        cJSON_AddNullToObject(*out, "custom_id");
        free_session(s);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_list_sessions(sim_state *st, long long page, long long limit, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    tick_locked(st, sim_now_ms());
    long long total = (long long)st->n_live;
    long long pages = total == 0 ? 1 : (total + limit - 1) / limit;
    cJSON *o = cJSON_CreateObject();
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    long long skip = (page - 1) * limit, i = 0;
    for (sim_session *s = st->head; s && i < skip + limit; s = s->next) {
        if (s->terminated) continue;
        if (i++ >= skip) cJSON_AddItemToArray(data, sim_render_session_context(s));
    }
    cJSON_AddNumberToObject(o, "total_count", (double)total);
    cJSON *p = cJSON_AddObjectToObject(o, "pagination");
    cJSON_AddNumberToObject(p, "number", (double)page);
    if (page < pages)
        cJSON_AddNumberToObject(p, "next_page_number", (double)(page + 1));
    else
        cJSON_AddNullToObject(p, "next_page_number");
    if (page > 1)
        cJSON_AddNumberToObject(p, "previous_page_number", (double)(page - 1));
    else
        cJSON_AddNullToObject(p, "previous_page_number");
    cJSON *pg = cJSON_AddObjectToObject(p, "paginator");
    cJSON_AddNumberToObject(pg, "num_pages", (double)pages);
    cJSON_AddBoolToObject(p, "has_next", page < pages);
    cJSON_AddBoolToObject(p, "has_previous", page > 1);
    pthread_mutex_unlock(&st->mu);
    *out = o;
    return 200;
}

int sim_state_app_version(sim_state *st, const char *app, const char *version, cJSON **out)
{
    const sim_version *v = sim_catalog_find(st->cat, app, version);
    if (!v) {
        bool app_known = sim_catalog_find(st->cat, app, NULL) != NULL;
        return fail(out, 404, app_known ? "App version not found" : "App not found");
    }
    *out = sim_render_app_version(v);
    return 200;
}

/* ---- deployments --------------------------------------------------------------------------- */

/* Stops a deployment and cleans its sessions up (locked). */
static void stop_locked(sim_state *st, sim_deployment *d)
{
    long long now = sim_now_ms();
    d->state = DEP_STOPPED;
    for (sim_session *s = st->head; s; s = s->next) {
        if (s->dep != d || s->terminated) continue;
        release(st, s);
        s->terminated = true;
        s->terminated_ms = now;
        st->n_live--;
        st->terminated++;
    }
    d->used = 0;
    SG_INFO("sim", "deployment_stopped", "request_id=%s", d->request_id);
}

int sim_state_deployment_status(sim_state *st, const char *rid, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    long long now = sim_now_ms();
    tick_locked(st, now);
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    if (!d || d->state == DEP_STOPPED)
        rc = fail(out, 404, "Deployment not found");
    else
        *out = sim_render_status(d, now);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_context(sim_state *st, const char *rid, const char *security_number,
                      const char *authorization, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    tick_locked(st, sim_now_ms());
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    char num[16];
    if (d) snprintf(num, sizeof num, "%d", d->security_number);
    if (!d || d->state == DEP_STOPPED)
        rc = fail(out, 404, "Deployment not found");
    else if (!sim_secret_equal(authorization, d->context_token))
        rc = fail(out, 401, "Invalid or missing context token");
    else if (strcmp(num, security_number) != 0)
        rc = fail(out, 404, "Deployment not found");
    else
        *out = sim_render_context(d);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static cJSON *stopped_body(const sim_deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", "Deployment is stopping");
    cJSON_AddStringToObject(o, "request_id", d->request_id);
    return o;
}

int sim_state_self_stop(sim_state *st, const char *rid, const char *access_point,
                        const char *authorization, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    char num[16];
    if (d) snprintf(num, sizeof num, "%d", d->access_point);
    if (!d || d->state == DEP_STOPPED)
        rc = fail(out, 404, "Deployment not found");
    else if (!sim_secret_equal(authorization, d->delete_token))
        rc = fail(out, 401, "Invalid or missing delete token");
    else if (strcmp(num, access_point) != 0)
        rc = fail(out, 404, "Deployment not found");
    else {
        stop_locked(st, d);
        *out = stopped_body(d);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_stop_deployment(sim_state *st, const char *rid, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    if (!d || d->state == DEP_STOPPED)
        rc = fail(out, 404, "Deployment not found");
    else {
        stop_locked(st, d);
        *out = stopped_body(d);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_fail_deployment(sim_state *st, const char *rid, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    if (!d || d->state == DEP_STOPPED) {
        rc = fail(out, 404, "Deployment not found");
    } else {
        /* Sessions still waiting for it fail; any already Ready are cleaned up with it. */
        for (sim_session *s = st->head; s; s = s->next) {
            if (s->dep != d || s->terminated || s->status != SES_SEEKING) continue;
            release(st, s);
            s->dep = NULL;
            s->status = SES_ERROR;
            snprintf(s->error, sizeof s->error, "Deployment %s failed to start", d->request_id);
            emit_webhook(st, s);
        }
        stop_locked(st, d);
        *out = stopped_body(d);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_mark_ready(sim_state *st, const char *rid, cJSON **out)
{
    pthread_mutex_lock(&st->mu);
    sim_deployment *d = find_deployment(st, rid);
    int rc = 200;
    if (!d || d->state == DEP_STOPPED) {
        rc = fail(out, 404, "Deployment not found");
    } else {
        if (d->state == DEP_STARTING) {
            d->ready_at_ms = sim_now_ms();
            st->next_due = d->ready_at_ms;
            /* Its sessions were filed for a start "when told": look at them now. */
            for (sim_session *s = st->head; s; s = s->next)
                if (s->dep == d && !s->terminated && s->status == SES_SEEKING) schedule(st, s);
        }
        tick_locked(st, sim_now_ms());
        *out = sim_render_deployment(d);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_add_deployment(sim_state *st, const cJSON *body, cJSON **out)
{
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(body, "app");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(body, "start_delay_ms");
    if (!cJSON_IsString(app) || (ver && !cJSON_IsString(ver)) ||
        (delay &&
         (!cJSON_IsNumber(delay) || delay->valuedouble < -1 || delay->valuedouble > 86400000)))
        return fail(out, 400,
                    "Expected {\"app\": string, \"version\": string, "
                    "\"start_delay_ms\": -1..86400000}");
    const sim_version *v =
        sim_catalog_find(st->cat, app->valuestring, ver ? ver->valuestring : NULL);
    if (!v) return fail(out, 404, "App version not found");
    pthread_mutex_lock(&st->mu);
    long long ms = delay ? (long long)delay->valuedouble : v->tmpl.start_delay_ms;
    sim_deployment *d = start_deployment(st, v, &v->tmpl, false, ms);
    int rc = 200;
    if (!d)
        rc = fail(out, 500, "Out of memory");
    else
        *out = sim_render_deployment(d);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sim_state_env(sim_state *st, const char *rid, char **text)
{
    pthread_mutex_lock(&st->mu);
    sim_deployment *d = find_deployment(st, rid);
    *text = d ? sim_render_env(d, st->public_url) : NULL;
    pthread_mutex_unlock(&st->mu);
    return d ? (*text ? 200 : 500) : 404;
}

sg_status sim_static_env(const sim_catalog *cat, const sim_state_opts *opts, const char *rid,
                         char **text)
{
    *text = NULL;
    for (size_t i = 0; i < cat->n; i++) {
        const sim_version *v = &cat->versions[i];
        for (size_t j = 0; j < v->n_statics; j++) {
            if (strcmp(v->statics[j].request_id, rid) != 0) continue;
            sim_deployment d;
            memset(&d, 0, sizeof d);
            snprintf(d.request_id, sizeof d.request_id, "%s", rid);
            fill_from_spec(&d, v, &v->statics[j]);
            fill_secrets(&d, &v->statics[j], opts->token_seed ? opts->token_seed : "");
            *text = sim_render_env(&d, opts->public_url ? opts->public_url : "");
            return *text ? SG_OK : SG_E_NOMEM;
        }
    }
    return sg_fail(SG_E_NOT_FOUND,
                   "no deployment with request_id %.16s in the config (only deployments listed "
                   "with a fixed request_id can be printed)",
                   rid);
}

/* ---- inspection ------------------------------------------------------------------------- */

void sim_state_count(sim_state *st, const char *method, const char *route, int status)
{
    char key[96];
    snprintf(key, sizeof key, "%s %s %d", method, route, status);
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n_counts; i++) {
        if (strcmp(st->counts[i].key, key) == 0) {
            st->counts[i].n++;
            pthread_mutex_unlock(&st->mu);
            return;
        }
    }
    if (st->n_counts == st->cap_counts) {
        size_t cap = st->cap_counts ? st->cap_counts * 2 : 32;
        req_count *nc = realloc(st->counts, cap * sizeof *nc);
        if (!nc) {
            pthread_mutex_unlock(&st->mu);
            return;
        }
        st->counts = nc;
        st->cap_counts = cap;
    }
    snprintf(st->counts[st->n_counts].key, sizeof st->counts[0].key, "%s", key);
    st->counts[st->n_counts++].n = 1;
    pthread_mutex_unlock(&st->mu);
}

/* The request counts and counters (locked). */
static void add_counts(sim_state *st, cJSON *o)
{
    cJSON *req = cJSON_AddObjectToObject(o, "requests");
    for (size_t i = 0; i < st->n_counts; i++)
        cJSON_AddNumberToObject(req, st->counts[i].key, (double)st->counts[i].n);
    cJSON *c = cJSON_AddObjectToObject(o, "counters");
    cJSON_AddNumberToObject(c, "sessions_live", (double)st->n_live);
    cJSON_AddNumberToObject(c, "sessions_created", (double)st->created);
    cJSON_AddNumberToObject(c, "sessions_deleted", (double)st->deleted);
    cJSON_AddNumberToObject(c, "sessions_unprocessable", (double)st->unprocessable);
    cJSON_AddNumberToObject(c, "sessions_terminated", (double)st->terminated);
    cJSON_AddNumberToObject(c, "autodeploys", (double)st->autodeploys);
}

cJSON *sim_state_snapshot(sim_state *st)
{
    pthread_mutex_lock(&st->mu);
    long long now = sim_now_ms();
    tick_locked(st, now);
    cJSON *o = cJSON_CreateObject();
    cJSON *sessions = cJSON_AddArrayToObject(o, "sessions");
    for (sim_session *s = st->head; s; s = s->next) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "session_id", s->id);
        cJSON_AddStringToObject(e, "status", sim_ses_status_name(s->status));
        cJSON_AddBoolToObject(e, "terminated", s->terminated);
        if (s->dep)
            cJSON_AddStringToObject(e, "deployment", s->dep->request_id);
        else
            cJSON_AddNullToObject(e, "deployment");
        cJSON_AddNumberToObject(e, "seats", s->seats);
        /* the simulated round trip from the player to the deployment (null: unknown) */
        if (s->dep && s->has_pos)
            cJSON_AddNumberToObject(e, "rtt_ms",
                                    sim_rtt_ms(s->latitude, s->longitude, s->dep->location.latitude,
                                               s->dep->location.longitude));
        else
            cJSON_AddNullToObject(e, "rtt_ms");
        cJSON *ips = cJSON_AddArrayToObject(e, "ips");
        for (size_t i = 0; i < s->n_ips; i++)
            cJSON_AddItemToArray(ips, cJSON_CreateString(s->ips[i].ip));
        cJSON_AddItemToArray(sessions, e);
    }
    cJSON *deps = cJSON_AddArrayToObject(o, "deployments");
    for (sim_deployment *d = st->deps; d; d = d->next) {
        cJSON *e = sim_render_deployment(d);
        cJSON_AddStringToObject(e, "app", d->ver->app);
        cJSON_AddStringToObject(e, "version", d->ver->name);
        cJSON_AddBoolToObject(e, "autodeployed", d->autodeployed);
        cJSON_AddItemToArray(deps, e);
    }
    add_counts(st, o);
    pthread_mutex_unlock(&st->mu);
    return o;
}

cJSON *sim_state_counts(sim_state *st)
{
    pthread_mutex_lock(&st->mu);
    cJSON *o = cJSON_CreateObject();
    add_counts(st, o);
    pthread_mutex_unlock(&st->mu);
    return o;
}
