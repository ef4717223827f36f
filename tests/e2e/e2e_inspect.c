/* Looking at the components: the simulator's admin API, the store's buckets and queue, and
 * every event published (collected by a background thread from the suite's start). */
#include <curl/curl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

/* ---- simulator ---- */

static long sim_call(const char *method, const char *path, const char *json, char **body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", E.sim_url, path);
    CURL *c = curl_easy_init();
    sg_test_buf b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (json) curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sg_test_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (body)
        *body = b.p;
    else
        free(b.p);
    return status;
}

cJSON *e2e_sim_state(void)
{
    char *body = NULL;
    long st = sim_call("GET", "/_sim/state", NULL, &body);
    cJSON *j = st == 200 && body ? cJSON_Parse(body) : NULL;
    free(body);
    return j;
}

/* Agones: a seat is live while a GameServer's players List holds it ("Allocated"). */
static void agones_seat(const char *sid, char *status, size_t size, char *deployment, size_t dsize)
{
    cJSON *s = e2e_sim_state();
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
    {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "lists"),
                                             "players"),
            "values");
        const cJSON *v;
        cJSON_ArrayForEach(v, values)
        {
            if (!cJSON_IsString(v) || strcmp(v->valuestring, sid) != 0) continue;
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(g, "state");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
            snprintf(status, size, "%s", cJSON_IsString(st) ? st->valuestring : "?");
            if (deployment && cJSON_IsString(name))
                snprintf(deployment, dsize, "%s", name->valuestring);
        }
    }
    cJSON_Delete(s);
}

void e2e_sim_session(const char *sid, char *status, size_t size, char *deployment, size_t dsize)
{
    status[0] = '\0';
    if (deployment) deployment[0] = '\0';
    if (E.agones) {
        agones_seat(sid, status, size, deployment, dsize);
        return;
    }
    cJSON *s = e2e_sim_state();
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "sessions"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "session_id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, sid) != 0) continue;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
        const cJSON *dep = cJSON_GetObjectItemCaseSensitive(e, "deployment");
        bool terminated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "terminated"));
        snprintf(status, size, "%s",
                 terminated ? "terminated" : (cJSON_IsString(st) ? st->valuestring : "?"));
        if (deployment && cJSON_IsString(dep)) snprintf(deployment, dsize, "%s", dep->valuestring);
    }
    cJSON_Delete(s);
}

bool e2e_sim_live(const char *sid)
{
    char st[32];
    e2e_sim_session(sid, st, sizeof st, NULL, 0);
    return st[0] && strcmp(st, "terminated") != 0;
}

int e2e_sim_live_count(void)
{
    cJSON *s = e2e_sim_state();
    int n = 0;
    const cJSON *e;
    if (E.agones) {
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
        {
            n += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "lists"),
                                                 "players"),
                "values"));
        }
        cJSON_Delete(s);
        return s ? n : -1;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "sessions"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "terminated"))) n++;
    }
    cJSON_Delete(s);
    return s ? n : -1;
}

double e2e_sim_counter(const char *name)
{
    cJSON *s = e2e_sim_state();
    /* Agones: allocations made ("sessions_created": seats; frees are allocations too). */
    const cJSON *v =
        E.agones ? cJSON_GetObjectItemCaseSensitive(
                       cJSON_GetObjectItemCaseSensitive(s, "allocations"), "allocated")
                 : cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "counters"),
                                                    name);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(s);
    return d;
}

int e2e_sim_post(const char *path, const char *json)
{
    /* Agones: the latency fault is the allocator's delayMs. */
    if (E.agones && strcmp(path, "/_sim/faults") == 0 && json) {
        cJSON *in = cJSON_Parse(json);
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(in, "latency_ms");
        char j[64];
        snprintf(j, sizeof j, "{\"delayMs\": %lld}",
                 cJSON_IsNumber(ms) ? (long long)ms->valuedouble : 0LL);
        cJSON_Delete(in);
        return (int)sim_call("POST", path, j, NULL);
    }
    return (int)sim_call("POST", path, json ? json : "{}", NULL);
}

int e2e_sim_delete(const char *path)
{
    if (E.agones && strcmp(path, "/_sim/faults") == 0)
        return (int)sim_call("POST", path, "{}", NULL); /* {} clears every fault */
    return (int)sim_call("DELETE", path, NULL, NULL);
}

/* ---- store ---- */

bool e2e_session_get(const char *sid, sg_session_record *r)
{
    sg_kv_entry *e = NULL;
    if (sg_kv_get(E.sessions, sid, &e) != SG_OK) return false;
    bool ok = sg_session_from_json(e->value, e->len, r) == SG_OK;
    sg_kv_entry_free(e);
    return ok;
}

bool e2e_token_get(const char *client_id, char *sid, size_t size)
{
    sg_kv_entry *e = NULL;
    if (sg_kv_get(E.tokens, client_id, &e) != SG_OK) return false;
    bool ok = sg_connect_token_value_parse(e->value, e->len, sid, size) == SG_OK;
    sg_kv_entry_free(e);
    return ok;
}

bool e2e_gameserver_get(const char *request_id, sg_gameserver_record *r)
{
    const char *fqdn = NULL;
    for (int i = 0; i < E2E_DEPLOYMENTS; i++)
        if (strcmp(E.dep[i].request_id, request_id) == 0) fqdn = E.dep[i].fqdn;
    sg_kv_entry *e = NULL;
    if (!fqdn || sg_kv_get(E.gameserver, fqdn, &e) != SG_OK) return false;
    sg_gameserver_record g;
    bool ok = sg_gameserver_from_json(e->value, e->len, &g) == SG_OK &&
              strcmp(g.request_id, request_id) == 0;
    sg_kv_entry_free(e);
    if (ok) *r = g;
    return ok;
}

size_t e2e_session_ids(char ***ids)
{
    size_t n = 0;
    *ids = NULL;
    if (sg_kv_keys(E.sessions, ids, &n) != SG_OK) return 0;
    return n;
}

long e2e_delete_queue_depth(void)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    long depth = -1;
    char stream[96];
    snprintf(stream, sizeof stream, "%s_%s", E.app, SG_QUEUE_SESSION_DELETES);
    if (natsConnection_ConnectTo(&nc, E.nats_url) == NATS_OK &&
        natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
        js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK)
        depth = (long)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return depth;
}

/* ---- events ---- */

typedef struct ev {
    char kind[32];
    cJSON *json;
} ev;

static struct {
    pthread_t thread;
    bool running;
    atomic_bool stop;
    pthread_mutex_t mu;
    ev *list;
    size_t n, cap;
    sg_event_sub *sub;
} EV = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *collect(void *arg)
{
    (void)arg;
    while (!atomic_load(&EV.stop)) {
        char *kind = NULL, *json = NULL;
        if (sg_event_next(EV.sub, 200, &kind, &json) == SG_OK) {
            cJSON *j = cJSON_Parse(json);
            pthread_mutex_lock(&EV.mu);
            if (EV.n == EV.cap) {
                size_t cap = EV.cap ? EV.cap * 2 : 256;
                ev *l = realloc(EV.list, cap * sizeof *l);
                if (l) EV.list = l, EV.cap = cap;
            }
            if (EV.n < EV.cap && j) {
                snprintf(EV.list[EV.n].kind, sizeof EV.list[EV.n].kind, "%s", kind);
                EV.list[EV.n++].json = j;
                j = NULL;
            }
            pthread_mutex_unlock(&EV.mu);
            cJSON_Delete(j);
        }
        free(kind);
        free(json);
    }
    return NULL;
}

bool e2e_events_start(void)
{
    if (sg_event_subscribe(E.store, NULL, &EV.sub) != SG_OK) return false;
    atomic_store(&EV.stop, false);
    EV.running = pthread_create(&EV.thread, NULL, collect, NULL) == 0;
    return EV.running;
}

void e2e_events_stop(void)
{
    if (EV.running) {
        atomic_store(&EV.stop, true);
        pthread_join(EV.thread, NULL);
        EV.running = false;
    }
    sg_event_sub_free(EV.sub);
    EV.sub = NULL;
    for (size_t i = 0; i < EV.n; i++)
        cJSON_Delete(EV.list[i].json);
    free(EV.list);
    EV.list = NULL;
    EV.n = EV.cap = 0;
}

size_t e2e_events_mark(void)
{
    pthread_mutex_lock(&EV.mu);
    size_t n = EV.n;
    pthread_mutex_unlock(&EV.mu);
    return n;
}

static bool matches(const ev *e, const char *kind, const char *field, const char *value)
{
    if (strcmp(e->kind, kind) != 0) return false;
    if (!field) return true;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->json, field);
    return cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;
}

int e2e_events_count(size_t mark, const char *kind, const char *field, const char *value)
{
    int n = 0;
    pthread_mutex_lock(&EV.mu);
    for (size_t i = mark; i < EV.n; i++)
        if (matches(&EV.list[i], kind, field, value)) n++;
    pthread_mutex_unlock(&EV.mu);
    return n;
}

bool e2e_events_wait(size_t mark, const char *kind, const char *field, const char *value, int n,
                     long timeout_ms)
{
    return E2E_WAIT_UNTIL(e2e_events_count(mark, kind, field, value) >= n, timeout_ms);
}

void e2e_events_reason(size_t mark, const char *kind, const char *field, const char *value,
                       char *reason, size_t size)
{
    reason[0] = '\0';
    pthread_mutex_lock(&EV.mu);
    for (size_t i = mark; i < EV.n && !reason[0]; i++) {
        if (!matches(&EV.list[i], kind, field, value)) continue;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(EV.list[i].json, "reason");
        snprintf(reason, size, "%s", cJSON_IsString(r) ? r->valuestring : "?");
    }
    pthread_mutex_unlock(&EV.mu);
}
