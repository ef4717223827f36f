#include "fake_backend.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    hook_job *job;
    bool is_delete;
    char session_id[64];
    hook_session_done sdone;
    hook_delete_done ddone;
} pending;

typedef struct fake_ctx {
    fake_world *w;
    hook_identity id;
    pending q[256];
    int n;
} fake_ctx;

void fake_world_init(fake_world *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
}

void fake_world_destroy(fake_world *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
}

fake_session *fake_find(fake_world *w, const char *session_id)
{
    for (int i = 0; i < w->session_count; i++)
        if (strcmp(w->sessions[i].id, session_id) == 0) return &w->sessions[i];
    return NULL;
}

fake_session *fake_add(fake_world *w, uint64_t client_id, const char *session_id,
                       const char *player_ip, const char *server_ip, const char *request_id)
{
    pthread_mutex_lock(&w->mu);
    fake_session *s = &w->sessions[w->session_count++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", session_id);
    snprintf(s->status, sizeof s->status, "Ready");
    s->ready = true;
    snprintf(s->ips[0], sizeof s->ips[0], "%s", player_ip);
    s->ip_count = 1;
    snprintf(s->public_ip, sizeof s->public_ip, "%s", server_ip);
    snprintf(s->request_id, sizeof s->request_id, "%s", request_id);
    s->record = true;
    w->client_ids[w->client_count] = client_id;
    snprintf(w->client_sessions[w->client_count], 64, "%s", session_id);
    w->client_count++;
    pthread_mutex_unlock(&w->mu);
    return s;
}

int fake_count_events(fake_world *w, const char *kind)
{
    pthread_mutex_lock(&w->mu);
    int n = 0;
    for (int i = 0; i < w->event_count; i++)
        n += strcmp(w->events[i], kind) == 0;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void fake_gate(fake_world *w, bool closed)
{
    pthread_mutex_lock(&w->mu);
    w->gate_closed = closed;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static sg_status f_start(void *c, hook_identity *id, char **ctx_json)
{
    fake_ctx *f = c;
    pthread_mutex_lock(&f->w->mu);
    bool fail = f->w->start_failures > 0;
    if (fail) f->w->start_failures--;
    pthread_mutex_unlock(&f->w->mu);
    if (fail) return sg_fail(SG_E_UNAVAILABLE, "fake: context not available yet");
    *id = f->id;
    id->capacity = f->w->capacity;
    *ctx_json = strdup("{\"request_id\":\"fake\"}");
    return SG_OK;
}

static sg_status f_heartbeat(void *c, uint32_t players)
{
    fake_ctx *f = c;
    pthread_mutex_lock(&f->w->mu);
    f->w->heartbeats++;
    f->w->last_players = (int)players;
    pthread_mutex_unlock(&f->w->mu);
    return SG_OK;
}

static sg_status f_lookup(void *c, uint64_t client_id, char *sid, size_t size)
{
    fake_ctx *f = c;
    fake_world *w = f->w;
    pthread_mutex_lock(&w->mu);
    w->gate_waiting++;
    while (w->gate_closed)
        pthread_cond_wait(&w->cond, &w->mu);
    w->gate_waiting--;
    sg_status st = w->lookup_status;
    if (st == SG_OK) {
        st = SG_E_NOT_FOUND;
        for (int i = 0; i < w->client_count; i++) {
            if (w->client_ids[i] == client_id) {
                snprintf(sid, size, "%s", w->client_sessions[i]);
                st = SG_OK;
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    return st == SG_OK ? SG_OK : sg_fail(st, "fake: lookup %s", sg_status_name(st));
}

static void f_get(void *c, const char *session_id, hook_job *job, hook_session_done done)
{
    fake_ctx *f = c;
    pending *p = &f->q[f->n++];
    memset(p, 0, sizeof *p);
    p->job = job;
    p->sdone = done;
    snprintf(p->session_id, sizeof p->session_id, "%s", session_id);
}

static sg_status f_claim(void *c, const char *session_id, uint64_t client_id, const char *ip,
                         char *user_id)
{
    fake_ctx *f = c;
    (void)ip;
    user_id[0] = '\0';
    pthread_mutex_lock(&f->w->mu);
    sg_status st = f->w->claim_status;
    fake_session *s = fake_find(f->w, session_id);
    if (st == SG_OK) {
        if (!s || !s->record)
            st = SG_E_NOT_FOUND;
        else if (s->claim != 0)
            st = SG_E_CONFLICT;
        else {
            s->claim = 1;
            s->claimed_by = client_id;
        }
    }
    pthread_mutex_unlock(&f->w->mu);
    return st == SG_OK ? SG_OK : sg_fail(st, "fake: claim %s", sg_status_name(st));
}

static sg_status f_release(void *c, const char *session_id, uint64_t client_id, int reason)
{
    fake_ctx *f = c;
    (void)reason;
    pthread_mutex_lock(&f->w->mu);
    fake_session *s = fake_find(f->w, session_id);
    if (s && s->claim == 1 && s->claimed_by == client_id) s->claim = 2;
    pthread_mutex_unlock(&f->w->mu);
    return SG_OK;
}

static void f_delete(void *c, const char *session_id, hook_job *job, hook_delete_done done)
{
    fake_ctx *f = c;
    pending *p = &f->q[f->n++];
    memset(p, 0, sizeof *p);
    p->job = job;
    p->is_delete = true;
    p->ddone = done;
    snprintf(p->session_id, sizeof p->session_id, "%s", session_id);
}

static void record(fake_ctx *f, const char *kind, const char *json)
{
    pthread_mutex_lock(&f->w->mu);
    if (f->w->event_count < 256) {
        snprintf(f->w->events[f->w->event_count], 32, "%s", kind);
        snprintf(f->w->event_json[f->w->event_count], 512, "%s", json);
        f->w->event_count++;
    }
    pthread_mutex_unlock(&f->w->mu);
}

static sg_status f_publish(void *c, const hook_event *ev)
{
    static const char *const kinds[] = {"player_connect", "player_disconnect", "verify_rejected",
                                        "score"};
    char json[512];
    snprintf(json, sizeof json,
             "client_id=%llu session_id=%s ip=%s reason=%s message=%s duration_ms=%lld "
             "score_kind=%s value=%lld target=%llu",
             (unsigned long long)ev->client_id, ev->session_id ? ev->session_id : "",
             ev->ip ? ev->ip : "",
             ev->kind == HOOK_EV_VERIFY_REJECTED     ? sg_hook_reason_name(ev->reason)
             : ev->kind == HOOK_EV_PLAYER_DISCONNECT ? sg_hook_disconnect_reason_name(ev->reason)
                                                     : "-",
             ev->message ? ev->message : "", ev->duration_ms, ev->score_kind ? ev->score_kind : "",
             (long long)ev->value, (unsigned long long)ev->target_client_id);
    record(c, kinds[ev->kind], json);
    return SG_OK;
}

static void complete_all(fake_ctx *f)
{
    int n = f->n;
    pending copy[256];
    memcpy(copy, f->q, sizeof(pending) * (size_t)n);
    f->n = 0;
    for (int i = 0; i < n; i++) {
        pending *p = &copy[i];
        fake_world *w = f->w;
        pthread_mutex_lock(&w->mu);
        fake_session *s = fake_find(w, p->session_id);
        if (p->is_delete) {
            sg_status st = SG_OK;
            if (w->delete_failures > 0) {
                w->delete_failures--;
                st = SG_E_SERVER;
            } else {
                if (s) s->deleted = true;
                w->deletes++;
            }
            pthread_mutex_unlock(&w->mu);
            if (st != SG_OK) sg_fail(st, "fake: delete failed");
            p->ddone(p->job, st, false);
            continue;
        }
        sg_status st = w->edgegap_status;
        fake_session copy_s;
        if (st == SG_OK && (!s || s->edgegap_gone || s->deleted)) st = SG_E_NOT_FOUND;
        if (s) copy_s = *s;
        pthread_mutex_unlock(&w->mu);
        if (st != SG_OK) {
            sg_fail(st, "fake: get session %s", sg_status_name(st));
            p->sdone(p->job, st, NULL);
            continue;
        }
        const char *ips[4];
        for (int k = 0; k < copy_s.ip_count; k++)
            ips[k] = copy_s.ips[k];
        hook_session_view v = {.status = copy_s.status,
                               .ready = copy_s.ready,
                               .ips = ips,
                               .ip_count = (size_t)copy_s.ip_count,
                               .has_deployment = copy_s.public_ip[0] != '\0',
                               .public_ip = copy_s.public_ip,
                               .request_id = copy_s.request_id};
        p->sdone(p->job, SG_OK, &v);
    }
}

static void f_run(void *c, int timeout_ms, int wake_fd)
{
    fake_ctx *f = c;
    if (f->n > 0) {
        complete_all(f);
        return;
    }
    struct pollfd p = {.fd = wake_fd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
}

static sg_status f_stop(void *c, int timeout_ms)
{
    fake_ctx *f = c;
    (void)timeout_ms;
    complete_all(f);
    pthread_mutex_lock(&f->w->mu);
    f->w->stops++;
    pthread_mutex_unlock(&f->w->mu);
    record(f, "server_down", "");
    return SG_OK;
}

static void f_free(void *c)
{
    free(c);
}

static const hook_backend_ops fake_ops = {
    .start = f_start,
    .heartbeat = f_heartbeat,
    .lookup_client = f_lookup,
    .get_session = f_get,
    .claim = f_claim,
    .release = f_release,
    .delete_session = f_delete,
    .publish = f_publish,
    .run = f_run,
    .stop = f_stop,
    .free = f_free,
};

hook_backend fake_backend(fake_world *w, const char *request_id, const char *public_ip)
{
    fake_ctx *f = calloc(1, sizeof *f);
    f->w = w;
    snprintf(f->id.request_id, sizeof f->id.request_id, "%s", request_id);
    snprintf(f->id.public_ip, sizeof f->id.public_ip, "%s", public_ip);
    snprintf(f->id.fqdn, sizeof f->id.fqdn, "%s.pr.example", request_id);
    return (hook_backend){.ops = &fake_ops, .ctx = f};
}
