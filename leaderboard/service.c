/* The leaderboard service: one applier (holding the lease) turns the event history into
 * player records; every replica watches those records into its ordered index and answers
 * HTTP reads from it. */
#include "service.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cors.h"
#include "lb.h"
#include "metrics.h"
#include "rank.h"
#include "reply.h"
#include "seatgate/addr.h"
#include "seatgate/clock.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"

#define KEY_LEASE "lease"
#define TOP_MAX 100

/* clang-format off */
static const sg_setting lb_settings[] = {
    {.name = "listen-address", .type = SG_SET_STRING, .def = "127.0.0.1",
     .help = "address the HTTP API listens on (:: for every address)"},
    {.name = "listen-port", .type = SG_SET_INT, .def = "8090", .min = 0, .max = 65535,
     .help = "TCP port of the HTTP API (0: any free port)"},
    {.name = "ready-file", .type = SG_SET_STRING,
     .help = "once listening, the base URL is written to this file"},
    {.name = "score-kinds", .type = SG_SET_STRING, .def = "kill,death,score,assist",
     .help = "score kinds kept and ranked (comma-separated snake_case; at most 15); "
             "other kinds are skipped as unknown_kind"},
    {.name = "elo-kind", .type = SG_SET_STRING, .def = "kill",
     .help = "a score event of this kind with a target is a win against the target for ELO "
             "(\"\": no ratings)"},
    {.name = "elo-k", .type = SG_SET_INT, .def = "32", .min = 1, .max = 400,
     .help = "ELO K-factor: the most a rating moves in one outcome"},
    {.name = "elo-initial", .type = SG_SET_INT, .def = "1500", .min = 0, .max = 10000,
     .help = "ELO rating of a player never rated"},
    {.name = "apply-batch", .type = SG_SET_INT, .def = "200", .min = 1, .max = 10000,
     .help = "events applied and written together (a batch also ends at 128 events' players)"},
    {.name = "max-event-size", .type = SG_SET_SIZE, .def = "4KiB", .min = 64,
     .max = 1024 * 1024, .help = "larger events are skipped as oversize"},
    {.name = "apply-lease", .type = SG_SET_DURATION, .def = "10s", .min = 1000, .max = 600000,
     .help = "one replica applies events while it holds this lease; another takes over when "
             "it lapses"},
    {.name = "cors-origins", .type = SG_SET_STRING, .def = "",
     .help = "origins whose pages may read the API (comma-separated, or *)"},
    {.name = "instance-id", .type = SG_SET_STRING,
     .help = "this replica's name in the lease and logs (default: host name and pid)"},
    {.name = "log-level", .type = SG_SET_STRING, .def = "info", .choices = SG_LOG_LEVEL_CHOICES,
     .help = "lines below this level are not written"},
};
/* clang-format on */

struct sg_lb_service {
    sg_lb_rules rules;
    long long lease_ms;
    int batch_events;
    char instance[128];
    char url[300];
    sg_store *store;
    sg_lb_store lbs;
    sg_rank *rank;
    sg_cors *cors;
    sg_metrics *metrics;
    struct MHD_Daemon *http;
    pthread_t applier, watcher;
    bool applier_started, watcher_started;
    atomic_bool stopping;
    atomic_bool caught_up;  /* the index holds every record the store had at start */
    atomic_bool applying;   /* this replica holds the lease */
    pthread_mutex_t mu;     /* state */
    sg_lb_state state;      /* the newest written */
    sg_counter *batches, *commit_failed;
    sg_gauge *g_pos, *g_applied, *g_players, *g_applier;
    sg_gauge *g_skipped[4];
};

sg_status sg_lb_config(sg_config *cfg)
{
    cfg->program = "seatgate-leaderboard";
    cfg->summary = "score events into totals, ELO ratings and a ranked HTTP API";
    cfg->env_prefix = "SEATGATE_";
    sg_status st = sg_config_add(cfg, lb_settings, sizeof lb_settings / sizeof lb_settings[0]);
    if (st == SG_OK) st = sg_config_add(cfg, sg_store_settings, sg_store_settings_count);
    return st;
}

const char *sg_lb_url(const sg_lb_service *s)
{
    return s->url;
}

static bool stopping(sg_lb_service *s)
{
    return atomic_load(&s->stopping);
}

static void nap(sg_lb_service *s, long long ms)
{
    for (long long t = 0; t < ms && !stopping(s); t += 50) sg_sleep_ms(50);
}

/* ---- the lease ------------------------------------------------------------------------ */

/* Takes or renews the lease; true while this replica holds it until *until. */
static bool hold_lease(sg_lb_service *s, long long *until)
{
    long long now = sg_clock_wall_ms();
    sg_lb_lease mine = {.until = now + s->lease_ms};
    snprintf(mine.holder, sizeof mine.holder, "%s", s->instance);
    char *text = NULL;
    if (sg_lb_lease_to_json(&mine, &text) != SG_OK) return false;
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(s->lbs.state, KEY_LEASE, &e);
    if (st == SG_E_NOT_FOUND) {
        st = sg_kv_create(s->lbs.state, KEY_LEASE, text, strlen(text), NULL);
    } else if (st == SG_OK) {
        sg_lb_lease cur;
        bool readable = sg_lb_lease_from_json(e->value, e->len, &cur) == SG_OK;
        if (!readable || strcmp(cur.holder, s->instance) == 0 || cur.until < now)
            st = sg_kv_update(s->lbs.state, KEY_LEASE, text, strlen(text), e->revision, NULL);
        else
            st = SG_E_CONFLICT; /* another replica applies */
    }
    sg_kv_entry_free(e);
    free(text);
    bool held = st == SG_OK;
    if (held != atomic_load(&s->applying))
        SG_INFO("leaderboard", held ? "lease_taken" : "lease_lost", "instance=%s", s->instance);
    atomic_store(&s->applying, held);
    if (held) *until = mine.until;
    return held;
}

/* ---- the applier ---------------------------------------------------------------------- */

/* The applier's own copy of the records it read or wrote since it took the lease: while it
 * holds the lease nobody else writes them, so a record seen here is the stored one and need
 * not be read again (a store round trip per player on NATS). Open addressing; emptied when
 * three quarters full. */
#define CACHE_SLOTS 16384

typedef struct player_cache {
    sg_lb_service *s;
    size_t used;
    bool *taken;
    sg_lb_player *slot;
} player_cache;

static size_t cache_home(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)(h & (CACHE_SLOTS - 1));
}

static sg_lb_player *cache_find(player_cache *c, const char *id)
{
    for (size_t i = cache_home(id);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        if (!c->taken[i]) return NULL;
        if (strcmp(c->slot[i].id, id) == 0) return &c->slot[i];
    }
}

static void cache_put(player_cache *c, const sg_lb_player *p)
{
    sg_lb_player *hit = cache_find(c, p->id);
    if (hit) {
        *hit = *p;
        return;
    }
    if (c->used >= CACHE_SLOTS / 4 * 3) {
        memset(c->taken, 0, CACHE_SLOTS * sizeof *c->taken);
        c->used = 0;
    }
    size_t i = cache_home(p->id);
    while (c->taken[i]) i = (i + 1) & (CACHE_SLOTS - 1);
    c->taken[i] = true;
    c->slot[i] = *p;
    c->used++;
}

static sg_status load_player(void *arg, const char *id, sg_lb_player *out)
{
    player_cache *c = arg;
    sg_lb_service *s = c->s;
    sg_lb_player *hit = cache_find(c, id);
    if (hit) {
        *out = *hit;
        return SG_OK;
    }
    char key[40];
    sg_lb_player_key(id, key, sizeof key);
    sg_kv_entry *e = NULL;
    sg_status st = sg_kv_get(s->lbs.players, key, &e);
    if (st != SG_OK) return st;
    st = sg_lb_player_from_json(e->value, e->len, out);
    sg_kv_entry_free(e);
    if (st == SG_OK && strcmp(out->id, id) != 0)
        st = sg_fail(SG_E_MALFORMED, "leaderboard: record %s names another player", key);
    if (st == SG_OK) cache_put(c, out);
    return st;
}

static void publish_state(sg_lb_service *s, const sg_lb_state *st)
{
    pthread_mutex_lock(&s->mu);
    s->state = *st;
    pthread_mutex_unlock(&s->mu);
}

/* Applies events while the lease holds; returns on trouble (the caller starts over from
 * what is stored). */
static void apply_while_leader(sg_lb_service *s, long long until)
{
    sg_lb_state st;
    sg_status rc = sg_lb_recover(&s->lbs, &st);
    if (rc != SG_OK) {
        SG_WARN("leaderboard", "recover_failed", "status=%s error=\"%s\"", sg_status_name(rc),
                sg_last_error());
        return;
    }
    publish_state(s, &st);
    sg_event_sub *sub = NULL;
    rc = sg_event_subscribe_from(s->store, st.pos, &sub);
    if (rc != SG_OK) {
        SG_WARN("leaderboard", "history_unavailable", "status=%s error=\"%s\"",
                sg_status_name(rc), sg_last_error());
        return;
    }
    SG_INFO("leaderboard", "applying", "from=%llu", (unsigned long long)st.pos);
    sg_lb_batch *b = malloc(sizeof *b);
    player_cache cache = {.s = s,
                          .taken = calloc(CACHE_SLOTS, sizeof *cache.taken),
                          .slot = malloc(CACHE_SLOTS * sizeof *cache.slot)};
    if (!cache.taken || !cache.slot) {
        free(b);
        b = NULL;
    }
    while (b && !stopping(s)) {
        sg_lb_batch_init(b, &s->rules, &st, load_player, &cache);
        int n = 0;
        rc = SG_OK;
        while (n < s->batch_events && !sg_lb_batch_full(b) && !stopping(s)) {
            uint64_t pos = 0;
            char *json = NULL;
            rc = sg_event_next_at(sub, n == 0 ? 250 : 0, &pos, NULL, &json);
            if (rc == SG_E_TIMEOUT) {
                rc = SG_OK;
                break;
            }
            if (rc != SG_OK) break;
            rc = sg_lb_batch_add(b, pos, json, strlen(json), sg_clock_wall_ms());
            free(json);
            if (rc != SG_OK) break;
            n++;
        }
        if (rc != SG_OK) {
            SG_WARN("leaderboard", "batch_dropped", "status=%s error=\"%s\"", sg_status_name(rc),
                    sg_last_error());
            break;
        }
        long long now = sg_clock_wall_ms();
        if (until - now < s->lease_ms / 3 && !hold_lease(s, &until)) break;
        if (n == 0) continue;
        rc = sg_lb_commit(&s->lbs, b);
        if (rc != SG_OK) {
            sg_counter_inc(s->commit_failed);
            SG_WARN("leaderboard", "commit_failed", "status=%s error=\"%s\"", sg_status_name(rc),
                    sg_last_error());
            break;
        }
        sg_counter_inc(s->batches);
        for (size_t i = 0; i < b->count; i++) cache_put(&cache, &b->players[i]);
        st = b->state;
        publish_state(s, &st);
        SG_DEBUG("leaderboard", "batch", "events=%d players=%zu pos=%llu", n, b->count,
                 (unsigned long long)st.pos);
    }
    free(b);
    free(cache.taken);
    free(cache.slot);
    sg_event_sub_free(sub);
}

static void *applier_main(void *arg)
{
    sg_lb_service *s = arg;
    pthread_setname_np(pthread_self(), "sg-lb-apply");
    while (!stopping(s)) {
        long long until = 0;
        if (hold_lease(s, &until)) {
            apply_while_leader(s, until);
            if (!stopping(s)) nap(s, 500);
        } else {
            /* Another replica applies: show how far it got (metrics, /readyz). */
            sg_kv_entry *e = NULL;
            sg_lb_state st;
            if (sg_kv_get(s->lbs.state, "applied", &e) == SG_OK &&
                sg_lb_state_from_json(e->value, e->len, &st) == SG_OK)
                publish_state(s, &st);
            sg_kv_entry_free(e);
            nap(s, s->lease_ms / 3);
        }
    }
    return NULL;
}

/* ---- the index ------------------------------------------------------------------------- */

static void *watcher_main(void *arg)
{
    sg_lb_service *s = arg;
    pthread_setname_np(pthread_self(), "sg-lb-watch");
    while (!stopping(s)) {
        sg_watch *w = NULL;
        sg_status st = sg_kv_watch(s->lbs.players, NULL, &w);
        if (st != SG_OK) {
            SG_WARN("leaderboard", "watch_failed", "status=%s", sg_status_name(st));
            nap(s, 1000);
            continue;
        }
        while (!stopping(s)) {
            sg_kv_entry *e = NULL;
            st = sg_watch_next(w, 250, &e);
            if (st == SG_E_TIMEOUT) continue;
            if (st != SG_OK) break;
            if (!e) {
                atomic_store(&s->caught_up, true);
                continue;
            }
            if (e->op == SG_KV_PUT) {
                sg_lb_player p;
                if (sg_lb_player_from_json(e->value, e->len, &p) == SG_OK)
                    sg_rank_put(s->rank, &p);
                else
                    SG_WARN("leaderboard", "record_unreadable", "key=%s", e->key);
            }
            sg_kv_entry_free(e);
        }
        sg_watch_free(w);
        if (!stopping(s)) nap(s, 500);
    }
    return NULL;
}

/* ---- HTTP -------------------------------------------------------------------------------- */

typedef struct reply {
    int status;
    char *body;
    const char *type;
} reply;

static reply error_reply(int status, const char *code, const char *fmt, const char *arg)
{
    sg_reply_error e;
    sg_reply_error_set(&e, status, code, fmt, arg ? arg : "");
    return (reply){status, sg_reply_error_json(&e, NULL), "application/json"};
}

static reply json_reply(int status, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return error_reply(500, "internal", "out of memory%s", NULL);
    return (reply){status, text, "application/json"};
}

static void add_totals(cJSON *o, const sg_lb_player *p)
{
    cJSON *t = cJSON_AddObjectToObject(o, "totals");
    for (size_t i = 0; t && i < p->nkinds; i++)
        cJSON_AddNumberToObject(t, p->totals[i].kind, (double)p->totals[i].sum);
}

/* limit: 1..100, default 10. */
static bool parse_limit(const char *text, size_t *out)
{
    if (!text) {
        *out = 10;
        return true;
    }
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > TOP_MAX) return false;
    *out = (size_t)v;
    return true;
}

static reply top(sg_lb_service *s, const char *kind, const char *limit_text)
{
    size_t limit;
    if (!parse_limit(limit_text, &limit))
        return error_reply(400, "bad_field", "limit must be a whole number from 1 to 100%s", NULL);
    int ranking = sg_rank_of_kind(s->rank, kind);
    if (ranking < 0)
        return error_reply(400, "unknown_kind", "no ranking of kind '%.60s'", kind);
    sg_rank_row *rows = calloc(limit, sizeof *rows);
    if (!rows) return error_reply(500, "internal", "out of memory%s", NULL);
    size_t n = sg_rank_top(s->rank, ranking, 1, limit, rows);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "players_ranked", (double)sg_rank_count(s->rank));
    cJSON *arr = cJSON_AddArrayToObject(o, "players");
    for (size_t i = 0; arr && i < n; i++) {
        const sg_lb_player *p = &rows[i].player;
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddItemToArray(arr, e);
        cJSON_AddNumberToObject(e, "rank", (double)rows[i].rank);
        cJSON_AddStringToObject(e, "id", p->id);
        cJSON_AddBoolToObject(e, "anonymous", p->anonymous);
        cJSON_AddNumberToObject(e, "value",
                                ranking == 0 ? p->rating : (double)sg_lb_player_total(p, kind));
        cJSON_AddNumberToObject(e, "rating", p->rating);
        cJSON_AddNumberToObject(e, "sessions", (double)p->sessions);
    }
    free(rows);
    return json_reply(200, o);
}

static reply player(sg_lb_service *s, const char *id)
{
    sg_lb_player p;
    size_t ranks[SG_RANK_MAX];
    if (!*id || strlen(id) >= SG_LB_ID_MAX)
        return error_reply(400, "bad_field", "a player id is 1 to 159 bytes%s", NULL);
    if (!sg_rank_find(s->rank, id, &p, ranks))
        return error_reply(404, "not_found", "no player '%.60s' on the leaderboard", id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p.id);
    cJSON_AddBoolToObject(o, "anonymous", p.anonymous);
    add_totals(o, &p);
    cJSON_AddNumberToObject(o, "sessions", (double)p.sessions);
    cJSON_AddNumberToObject(o, "last_seen", (double)p.last_seen);
    cJSON_AddNumberToObject(o, "rating", p.rating);
    cJSON_AddNumberToObject(o, "rated", (double)p.rated);
    cJSON *r = cJSON_AddObjectToObject(o, "ranks");
    cJSON_AddNumberToObject(r, "elo", (double)ranks[0]);
    for (size_t i = 0; r && i < s->rules.nkinds; i++)
        cJSON_AddNumberToObject(r, s->rules.kinds[i], (double)ranks[i + 1]);
    return json_reply(200, o);
}

static reply route(sg_lb_service *s, struct MHD_Connection *c, const char *method,
                   const char *url)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return error_reply(405, "method_not_allowed", "only GET%s", NULL);
    if (strcmp(url, "/healthz") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        return json_reply(200, o);
    }
    if (strcmp(url, "/readyz") == 0) {
        bool store_ok = sg_store_get_state(s->store) == SG_STORE_CONNECTED;
        if (!store_ok) return error_reply(503, "not_ready", "the store is not reachable%s", NULL);
        if (!atomic_load(&s->caught_up))
            return error_reply(503, "not_ready", "the index is still loading%s", NULL);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ready");
        cJSON_AddBoolToObject(o, "applying", atomic_load(&s->applying));
        return json_reply(200, o);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text = NULL;
        size_t len = 0;
        if (sg_metrics_render(s->metrics, &text, &len) != SG_OK)
            return error_reply(500, "internal", "out of memory%s", NULL);
        return (reply){200, text, "text/plain; version=0.0.4; charset=utf-8"};
    }
    if (strcmp(url, "/leaderboard") == 0) {
        const char *kind = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kind");
        if (!kind || !*kind)
            return error_reply(400, "bad_field", "kind is required (a score kind, or elo)%s",
                               NULL);
        return top(s, kind, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"));
    }
    if (strcmp(url, "/leaderboard/elo") == 0)
        return top(s, "elo", MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"));
    if (strncmp(url, "/players/", 9) == 0) return player(s, url + 9);
    return error_reply(404, "not_found", "no such route%s", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    sg_lb_service *s = cls;
    if (!*req_cls) { /* first call: headers only */
        *req_cls = s;
        return MHD_YES;
    }
    if (*upload_size) { /* a body is not read */
        *upload_size = 0;
        return MHD_YES;
    }
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    sg_cors_headers ch = {0};
    if (strcmp(method, "OPTIONS") == 0) {
        sg_cors_result cr = sg_cors_preflight(
            s->cors, origin,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method"),
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers"),
            &ch);
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        for (size_t i = 0; i < ch.count; i++)
            MHD_add_response_header(resp, ch.h[i].name, ch.h[i].value);
        enum MHD_Result r = MHD_queue_response(c, cr == SG_CORS_ALLOWED ? 204 : 403, resp);
        MHD_destroy_response(resp);
        return r;
    }
    sg_cors_request(s->cors, origin, &ch);
    reply rp = route(s, c, method, url);
    if (!rp.body) rp = (reply){500, strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}"), "application/json"};
    size_t len = rp.body ? strlen(rp.body) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, rp.body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", rp.type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < ch.count; i++) MHD_add_response_header(resp, ch.h[i].name, ch.h[i].value);
    enum MHD_Result r = MHD_queue_response(c, (unsigned)rp.status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* ---- metrics ----------------------------------------------------------------------------- */

static void on_scrape(sg_metrics *m, void *user)
{
    (void)m;
    sg_lb_service *s = user;
    pthread_mutex_lock(&s->mu);
    sg_lb_state st = s->state;
    pthread_mutex_unlock(&s->mu);
    sg_gauge_set(s->g_pos, (int64_t)st.pos);
    sg_gauge_set(s->g_applied, st.applied);
    sg_gauge_set(s->g_skipped[0], st.malformed);
    sg_gauge_set(s->g_skipped[1], st.unknown_kind);
    sg_gauge_set(s->g_skipped[2], st.oversize);
    sg_gauge_set(s->g_skipped[3], st.unrated);
    sg_gauge_set(s->g_players, (int64_t)sg_rank_count(s->rank));
    sg_gauge_set(s->g_applier, atomic_load(&s->applying) ? 1 : 0);
}

static sg_status setup_metrics(sg_lb_service *s)
{
    sg_status st = sg_metrics_new(&s->metrics);
    if (st != SG_OK) return st;
    sg_metrics *m = s->metrics;
    s->batches = sg_metrics_counter(m, "seatgate_leaderboard_batches_total",
                                    "batches of events written", NULL);
    s->commit_failed = sg_metrics_counter(m, "seatgate_leaderboard_commit_failures_total",
                                          "batches the store refused (applied again)", NULL);
    s->g_pos = sg_metrics_gauge(m, "seatgate_leaderboard_position",
                                "event history position applied up to, as written (a replica "
                                "that does not apply reads it every third of the lease)",
                                NULL);
    s->g_applied = sg_metrics_gauge(m, "seatgate_leaderboard_events_applied",
                                    "events applied, as written", NULL);
    static const char *const why[4] = {"malformed", "unknown_kind", "oversize", "unrated"};
    for (int i = 0; i < 4; i++) {
        const char *labels[] = {"reason", why[i], NULL};
        s->g_skipped[i] = sg_metrics_gauge(m, "seatgate_leaderboard_events_skipped",
                                           "events skipped (unrated: totals counted, no rating)",
                                           labels);
    }
    s->g_players = sg_metrics_gauge(m, "seatgate_leaderboard_players", "players in the index",
                                    NULL);
    s->g_applier = sg_metrics_gauge(m, "seatgate_leaderboard_applier",
                                    "1 while this replica holds the lease and applies events",
                                    NULL);
    if (st == SG_OK) st = sg_metrics_add_process(m);
    if (st == SG_OK) st = sg_metrics_on_scrape(m, on_scrape, s);
    return st;
}

/* ---- start and stop ---------------------------------------------------------------------- */

static sg_status bad(const char *setting, const char *why)
{
    return sg_fail(SG_E_INVALID, "%s: %s", setting, why);
}

sg_status sg_lb_start(const sg_config *cfg, sg_lb_service **out)
{
    *out = NULL;
    sg_lb_service *s = calloc(1, sizeof *s);
    if (!s) return sg_fail(SG_E_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    sg_status st = sg_lb_rules_set_kinds(&s->rules, sg_config_str(cfg, "score-kinds"));
    if (st != SG_OK) st = bad("score-kinds", sg_last_error());
    const char *rated = sg_config_str(cfg, "elo-kind");
    if (st == SG_OK && rated && *rated && !sg_lb_rules_has_kind(&s->rules, rated))
        st = bad("elo-kind", "must be one of score-kinds (or \"\")");
    if (st == SG_OK) {
        snprintf(s->rules.rated_kind, sizeof s->rules.rated_kind, "%s", rated ? rated : "");
        s->rules.k_factor = (double)sg_config_num(cfg, "elo-k");
        s->rules.initial_rating = (double)sg_config_num(cfg, "elo-initial");
        s->rules.max_event_bytes = (size_t)sg_config_num(cfg, "max-event-size");
        s->lease_ms = sg_config_num(cfg, "apply-lease");
        s->batch_events = (int)sg_config_num(cfg, "apply-batch");
        const char *inst = sg_config_str(cfg, "instance-id");
        if (inst && *inst) {
            snprintf(s->instance, sizeof s->instance, "%.100s", inst);
        } else {
            char host[64] = "leaderboard";
            gethostname(host, sizeof host - 1);
            snprintf(s->instance, sizeof s->instance, "%.63s-%ld", host, (long)getpid());
        }
        sg_cors_options co = {.origins = sg_config_str(cfg, "cors-origins"),
                              .max_age_s = 600,
                              .allow_methods = "GET, OPTIONS"};
        st = sg_cors_new(&co, &s->cors);
        if (st != SG_OK) st = bad("cors-origins", sg_last_error());
    }
    if (st == SG_OK) st = sg_rank_new((const char (*)[SG_REC_NAME_MAX])s->rules.kinds,
                                      s->rules.nkinds, &s->rank);
    if (st == SG_OK) st = setup_metrics(s);
    sg_store_options so;
    if (st == SG_OK) st = sg_store_options_from_config(cfg, &so);
    if (st == SG_OK) {
        so.event_history = true; /* the history is what is read: make sure it is kept */
        st = sg_store_open(&so, &s->store);
    }
    sg_bucket_options bo;
    if (st == SG_OK) {
        sg_bucket_options_init(&bo);
        bo.create = true;
        st = sg_bucket_open(s->store, SG_BUCKET_LB_PLAYERS, &bo, &s->lbs.players);
    }
    if (st == SG_OK) {
        bo.max_value_size = 1024 * 1024; /* a journal holds up to 256 players */
        st = sg_bucket_open(s->store, SG_BUCKET_LB_STATE, &bo, &s->lbs.state);
    }
    if (st == SG_OK) {
        const char *addr = sg_config_str(cfg, "listen-address");
        int port = (int)sg_config_num(cfg, "listen-port");
        sg_addr la;
        struct sockaddr_storage ss;
        if (sg_addr_parse(addr, SG_PORT_FORBIDDEN, &la) != SG_OK) {
            st = bad("listen-address", "not an address");
        } else {
            la.port = (uint16_t)port;
            sg_addr_to_sockaddr(&la, &ss);
        }
        bool v6 = st == SG_OK && la.family == AF_INET6;
        if (st == SG_OK) {
            unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                             (v6 ? MHD_USE_IPv6 : 0u);
            s->http = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                                       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                       MHD_OPTION_THREAD_POOL_SIZE, 2u,
                                       MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
            if (!s->http) st = sg_fail(SG_E_IO, "listen: cannot listen on %s port %d", addr, port);
        }
        if (st == SG_OK) {
            const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->http, MHD_DAEMON_INFO_BIND_PORT);
            int bound = di ? di->port : port;
            snprintf(s->url, sizeof s->url, v6 ? "http://[%s]:%d" : "http://%s:%d", addr, bound);
        }
    }
    if (st == SG_OK) {
        sg_lb_fault_init();
        if (pthread_create(&s->watcher, NULL, watcher_main, s) == 0) s->watcher_started = true;
        if (pthread_create(&s->applier, NULL, applier_main, s) == 0) s->applier_started = true;
        if (!s->watcher_started || !s->applier_started) st = sg_fail(SG_E_IO, "cannot start threads");
    }
    if (st != SG_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", sg_last_error());
        sg_lb_stop(s);
        return sg_fail(st, "%s", why);
    }
    SG_INFO("leaderboard", "listening", "url=%s instance=%s store=%s kinds=%zu rated=%s", s->url,
            s->instance, sg_store_backend(s->store), s->rules.nkinds,
            s->rules.rated_kind[0] ? s->rules.rated_kind : "-");
    *out = s;
    return SG_OK;
}

/* A stopping applier hands the lease back, so another replica takes over at once. */
static void release_lease(sg_lb_service *s)
{
    sg_kv_entry *e = NULL;
    sg_lb_lease cur;
    if (sg_kv_get(s->lbs.state, KEY_LEASE, &e) == SG_OK &&
        sg_lb_lease_from_json(e->value, e->len, &cur) == SG_OK &&
        strcmp(cur.holder, s->instance) == 0) {
        cur.until = 0;
        char *text = NULL;
        if (sg_lb_lease_to_json(&cur, &text) == SG_OK)
            sg_kv_update(s->lbs.state, KEY_LEASE, text, strlen(text), e->revision, NULL);
        free(text);
    }
    sg_kv_entry_free(e);
}

void sg_lb_stop(sg_lb_service *s)
{
    if (!s) return;
    atomic_store(&s->stopping, true);
    if (s->http) MHD_stop_daemon(s->http);
    if (s->applier_started) pthread_join(s->applier, NULL);
    if (atomic_load(&s->applying) && s->lbs.state) release_lease(s);
    if (s->watcher_started) pthread_join(s->watcher, NULL);
    if (s->lbs.players) sg_bucket_close(s->lbs.players);
    if (s->lbs.state) sg_bucket_close(s->lbs.state);
    sg_store_close(s->store);
    sg_rank_free(s->rank);
    sg_cors_free(s->cors);
    sg_metrics_free(s->metrics);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
