/* seatgate-e2e: the end-to-end scenarios over the whole system (see e2e.h for the topology).
 *
 *   seatgate-e2e --output-dir DIR --matchmaker-bin ... --sim-bin ... --server-bin ...
 *                --client-bin ... [--nats-nodes 3] [--scenarios join,leave,...]
 *   seatgate-e2e --mode external --matchmaker-url http://matchmaker:8080 --sim-url ...
 *                --nats-url nats://nats:4222 --client-bin ... (docker-compose runner)
 *
 * Every setting is also an environment variable SEATGATE_E2E_<NAME>. Each scenario asserts
 * what every component shows: HTTP answers, UDP accept/deny, bucket contents, events, and
 * the simulator's sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "seatgate/clock.h"
#include "seatgate/config.h"
#include "seatgate/log.h"

#define MAX_PLAYERS 64

static char scenarios[512];

static bool wanted(const char *name)
{
    if (!scenarios[0]) return true;
    char list[520];
    snprintf(list, sizeof list, ",%s,", scenarios);
    char key[64];
    snprintf(key, sizeof key, ",%s,", name);
    return strstr(list, key) != NULL;
}

#define SCENARIO(name)                                                                             \
    do {                                                                                           \
        if (!wanted(name)) skip();                                                                 \
        fprintf(stderr, "== scenario %s\n", name);                                                 \
    } while (0)

#define NEEDS_CONTROL()                                                                            \
    do {                                                                                           \
        if (!e2e_can_control()) {                                                                  \
            fprintf(stderr, "   (needs process control: local mode, or --control-dir)\n");         \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- shared checks ---- */

static void expect_answer(const e2e_player *p)
{
    int d = e2e_player_deployment(p);
    if (p->status != 200 || !p->session_id[0] || !p->client_id[0] || d < 0)
        fail_msg("connect-me from %s: HTTP %ld %s (session '%s', %s:%d)", p->ip[0] ? p->ip : "-",
                 p->status, p->error, p->session_id, p->host, p->port);
    /* The certificate digest the server published, as 64 lower-case hex digits, or none. */
    if (strcmp(p->cert_digest, E.dep[d].cert_digest_want) != 0)
        fail_msg("cert_digest '%s', expected '%s'", p->cert_digest, E.dep[d].cert_digest_want);
}

/* The answer is reflected in the store and at the simulator. */
static void expect_recorded(const e2e_player *p, const char *player_ip)
{
    int d = e2e_player_deployment(p);
    sg_session_record r;
    assert_true(e2e_session_get(p->session_id, &r));
    char cid[32];
    snprintf(cid, sizeof cid, "%llu", (unsigned long long)r.client_id);
    assert_string_equal(cid, p->client_id);
    if (player_ip && player_ip[0]) assert_string_equal(r.player_ip, player_ip);
    assert_true(r.has_deployment);
    assert_string_equal(r.deployment.request_id, E.dep[d].request_id);
    assert_int_equal(r.deployment.port, E.dep[d].port);
    char sid[128];
    assert_true(e2e_token_get(p->client_id, sid, sizeof sid));
    assert_string_equal(sid, p->session_id);
    char status[32], dep[32];
    e2e_sim_session(p->session_id, status, sizeof status, dep, sizeof dep);
    /* Edgegap: a Ready session; Agones: a seat in an Allocated GameServer's players List. */
    assert_string_equal(status, E.agones ? "Allocated" : "Ready");
    assert_string_equal(dep, E.dep[d].request_id);
}

/* The token's private list, opened with the shared key: the address the player dials, then
 * the server's bind address (0.0.0.0:internal port) when the ports differ. */
static void expect_token_addresses(const char *token_file, int d)
{
    sg_token_opened t;
    if (!e2e_open_token(token_file, &t)) fail_msg("%s does not open as %s", token_file, E.dialect);
    char want[2][80], got[2][SG_ADDR_STRLEN] = {"", ""};
    snprintf(want[0], sizeof want[0], "%s:%d", E.dep[d].public_ip, E.dep[d].port);
    snprintf(want[1], sizeof want[1], "0.0.0.0:%d", E.dep[d].internal_port);
    size_t n = E.dep[d].internal_port != E.dep[d].port ? 2 : 1;
    for (size_t i = 0; i < t.server_count && i < 2; i++)
        sg_addr_format(&t.servers[i], true, got[i], sizeof got[i]);
    size_t count = t.server_count;
    sg_token_opened_wipe(&t);
    if (count != n || strcmp(got[0], want[0]) != 0 || (n == 2 && strcmp(got[1], want[1]) != 0))
        fail_msg("private addresses: %zu (%s %s), expected %zu (%s %s)", count, got[0], got[1], n,
                 want[0], n == 2 ? want[1] : "");
}

static bool claimed_by(const char *sid, const char *request_id)
{
    sg_session_record r;
    return e2e_session_get(sid, &r) && r.state == SG_SESSION_CLAIMED &&
           strcmp(r.claimed_by_request_id, request_id) == 0;
}

/* No record holds the session any more: absent, or released on its way out. */
static bool let_go(const char *sid)
{
    sg_session_record r;
    return !e2e_session_get(sid, &r) || r.state == SG_SESSION_RELEASED;
}

static void expect_gone(const char *sid, long timeout_ms)
{
    if (!E2E_WAIT_UNTIL(!e2e_sim_live(sid) && let_go(sid), timeout_ms)) {
        char status[32];
        sg_session_record r;
        e2e_sim_session(sid, status, sizeof status, NULL, 0);
        bool rec = e2e_session_get(sid, &r);
        fail_msg("session %s still held: simulator '%s', record %s", sid, status,
                 rec ? sg_session_state_name(r.state) : "absent");
    }
}

static void new_player(e2e_player *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->ip, sizeof p->ip, "%s", e2e_next_ip());
}

/* After a store outage: the matchmaker is ready again and both game servers (whichever are
 * running) heartbeat again. */
static void wait_recovered(long long since)
{
    char url[300];
    snprintf(url, sizeof url, "%s/readyz", E.mm_url[0]);
    if (!E2E_WAIT_UNTIL(e2e_http_get_status(url) == 200, 20000))
        fail_msg("the matchmaker is not ready again");
    for (int d = 0; d < E2E_DEPLOYMENTS; d++) {
        sg_gameserver_record g = {0};
        if (E.dep[d].killed) continue;
        if (!E2E_WAIT_UNTIL(e2e_gameserver_get(E.dep[d].request_id, &g) && g.heartbeat_at > since,
                            20000))
            fail_msg("%s does not heartbeat again", E.dep[d].request_id);
    }
}

/* Sessions at the simulator, not ended, made for one player address. */
static int live_for_ip(const char *ip, bool print)
{
    if (E.agones) {
        /* Seats in the lists recorded for ip, and seats without any record (whose player
         * cannot be told: counted, a leak either way). */
        cJSON *s = e2e_sim_state();
        const cJSON *g;
        int live = 0;
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
        {
            const cJSON *v;
            cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(
                                          cJSON_GetObjectItemCaseSensitive(g, "lists"), "players"),
                                      "values"))
            {
                sg_session_record r;
                bool rec = e2e_session_get(v->valuestring, &r);
                if (rec && strcmp(r.player_ip, ip) != 0) continue;
                live++;
                if (print) fprintf(stderr, "   live for %s: %s%s\n", ip, v->valuestring, rec ? "" : " (no record)");
            }
        }
        cJSON_Delete(s);
        return live;
    }
    cJSON *s = e2e_sim_state();
    const cJSON *e;
    int live = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "sessions"))
    {
        const cJSON *ips = cJSON_GetObjectItemCaseSensitive(e, "ips");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "terminated")) ||
            cJSON_GetArraySize(ips) != 1 ||
            strcmp(cJSON_GetArrayItem(ips, 0)->valuestring, ip) != 0)
            continue;
        live++;
        if (print)
            fprintf(stderr, "   live for %s: %s %s\n", ip,
                    cJSON_GetObjectItemCaseSensitive(e, "session_id")->valuestring,
                    cJSON_GetObjectItemCaseSensitive(e, "status")->valuestring);
    }
    cJSON_Delete(s);
    return live;
}

/* ---- many players join concurrently; then they leave ---- */

static e2e_player crowd[MAX_PLAYERS];
static int crowd_n;
static size_t crowd_mark;

static void crowd_join(long stay_ms)
{
    crowd_n = E.players > MAX_PLAYERS ? MAX_PLAYERS : E.players;
    crowd_mark = e2e_events_mark();
    for (int i = 0; i < crowd_n; i++)
        new_player(&crowd[i]);
    e2e_connect_me_all(crowd, crowd_n, E.mm_url[0]);
    int per[E2E_DEPLOYMENTS] = {0};
    for (int i = 0; i < crowd_n; i++) {
        expect_answer(&crowd[i]);
        expect_recorded(&crowd[i], crowd[i].ip);
        per[e2e_player_deployment(&crowd[i])]++;
        for (int j = 0; j < i; j++)
            assert_string_not_equal(crowd[i].session_id, crowd[j].session_id);
    }
    fprintf(stderr, "   %d answers: %d on %s, %d on %s\n", crowd_n, per[0], E.dep[0].request_id,
            per[1], E.dep[1].request_id);
    if (per[0] == 0 || per[1] == 0) /* spread over both servers: more players than seats */
        fail_msg("all players on one server: give the deployments fewer seats than --players");
    for (int i = 0; i < crowd_n; i++)
        assert_true(e2e_play(&crowd[i], NULL, stay_ms, true));
    /* Every player is admitted by the server the answer named. */
    for (int i = 0; i < crowd_n; i++) {
        const char *rid = E.dep[e2e_player_deployment(&crowd[i])].request_id;
        if (!e2e_events_wait(crowd_mark, "player_connect", "session_id", crowd[i].session_id, 1,
                             15000))
            fail_msg("no player_connect for %s", crowd[i].session_id);
        assert_true(E2E_WAIT_UNTIL(claimed_by(crowd[i].session_id, rid), 5000));
    }
    assert_int_equal(e2e_events_count(crowd_mark, "verify_rejected", NULL, NULL), 0);
    /* Both servers are registered and count their players. */
    for (int d = 0; d < E2E_DEPLOYMENTS; d++) {
        sg_gameserver_record g = {0};
        int want = per[d];
        if (!E2E_WAIT_UNTIL(e2e_gameserver_get(E.dep[d].request_id, &g) && g.players >= want,
                            20000))
            fail_msg("gameserver record of %s shows %d players, not %d (heartbeat %lld ms ago; "
                     "last read: %s)",
                     E.dep[d].request_id, g.players, want, sg_clock_wall_ms() - g.heartbeat_at,
                     sg_last_error());
        assert_int_equal(g.ports[0].external, E.dep[d].port);
    }
}

static void crowd_leave(void)
{
    for (int i = 0; i < crowd_n; i++) {
        e2e_play_wait(&crowd[i], 30000);
        char want[64];
        snprintf(want, sizeof want, "accepted client_id=%s ", crowd[i].client_id);
        if (crowd[i].exit_code != 0 || strncmp(crowd[i].line, want, strlen(want)) != 0)
            fail_msg("player %s: exit %d '%s'", crowd[i].client_id, crowd[i].exit_code,
                     crowd[i].line);
    }
    for (int i = 0; i < crowd_n; i++) {
        if (!e2e_events_wait(crowd_mark, "player_disconnect", "session_id", crowd[i].session_id, 1,
                             10000))
            fail_msg("no player_disconnect for %s", crowd[i].session_id);
        char reason[32];
        e2e_events_reason(crowd_mark, "player_disconnect", "session_id", crowd[i].session_id,
                          reason, sizeof reason);
        assert_string_equal(reason, "goodbye");
    }
    /* Deleted at Edgegap: directly by the server with a key, through the queue otherwise. */
    for (int i = 0; i < crowd_n; i++)
        expect_gone(crowd[i].session_id, 15000);
}

static void many_players_join_concurrently(void **state)
{
    (void)state;
    SCENARIO("join");
    crowd_join(8000);
}

static void players_leave_and_sessions_are_gone(void **state)
{
    (void)state;
    SCENARIO("leave");
    if (crowd_n == 0) skip();
    crowd_leave();
    crowd_n = 0;
}

/* ---- replayed, stolen and foreign tokens ---- */

static void misuse_checks(void);

static void misused_tokens_are_refused(void **state)
{
    (void)state;
    SCENARIO("misuse");
    misuse_checks();
}

/* The misuse scenario's checks (also run by cluster_node_killed, whatever was asked for). */
static void misuse_checks(void)
{
    size_t mark = e2e_events_mark();
    char line[512], path[600];

    /* A player gets in and stays. */
    e2e_player owner;
    new_player(&owner);
    e2e_connect_me(&owner, E.mm_url[0], NULL);
    expect_answer(&owner);
    expect_recorded(&owner, owner.ip);
    int d = e2e_player_deployment(&owner);
    assert_true(e2e_play(&owner, NULL, 3000, true));
    assert_true(e2e_events_wait(mark, "player_connect", "session_id", owner.session_id, 1, 10000));
    assert_true(E2E_WAIT_UNTIL(claimed_by(owner.session_id, E.dep[d].request_id), 5000));

    /* Replayed: the same token again, from the same and from another address. */
    assert_int_equal(e2e_play_token(owner.token_file, owner.ip, line, sizeof line), 2);
    assert_non_null(strstr(line, "denied reason=token_reused"));
    const char *other = e2e_next_ip();
    if (other[0]) {
        assert_int_equal(e2e_play_token(owner.token_file, other, line, sizeof line), 2);
        assert_non_null(strstr(line, "denied reason=token_reused"));
    }
    assert_true(claimed_by(owner.session_id, E.dep[d].request_id));

    /* Used from another IP than the one the session was made for. */
    if (other[0]) {
        e2e_player thief;
        new_player(&thief);
        e2e_connect_me(&thief, E.mm_url[0], NULL);
        expect_answer(&thief);
        expect_recorded(&thief, thief.ip);
        const char *stolen_from = e2e_next_ip();
        assert_int_equal(e2e_play_token(thief.token_file, stolen_from, line, sizeof line), 2);
        if (!strstr(line, "denied reason=ip_mismatch")) fail_msg("stolen token: '%s'", line);
        assert_true(
            e2e_events_wait(mark, "verify_rejected", "client_id", thief.client_id, 1, 5000));
        char reason[32];
        e2e_events_reason(mark, "verify_rejected", "client_id", thief.client_id, reason,
                          sizeof reason);
        assert_string_equal(reason, "ip_mismatch");
        sg_session_record r;
        assert_true(e2e_session_get(thief.session_id, &r));
        assert_int_equal(r.state, SG_SESSION_UNCLAIMED);
    }
    /* The same through a trusted proxy: the session is made for the address the proxy names,
     * and the token used from the proxy's own address is refused. */
    {
        e2e_player proxied;
        memset(&proxied, 0, sizeof proxied);
        if (!E.external) snprintf(proxied.ip, sizeof proxied.ip, "127.0.0.1");
        char header[96];
        snprintf(header, sizeof header, "X-Forwarded-For: %s", E.xff_ip);
        e2e_connect_me(&proxied, E.mm_url[0], header);
        expect_answer(&proxied);
        expect_recorded(&proxied, E.xff_ip);
        cJSON *s = e2e_sim_state();
        const cJSON *e;
        bool found = false;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "sessions"))
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "session_id");
            const cJSON *ips = cJSON_GetObjectItemCaseSensitive(e, "ips");
            if (cJSON_IsString(id) && strcmp(id->valuestring, proxied.session_id) == 0)
                found = cJSON_GetArraySize(ips) == 1 &&
                        strcmp(cJSON_GetArrayItem(ips, 0)->valuestring, E.xff_ip) == 0;
        }
        /* Agones: the allocation named the proxied player's address on the GameServer. */
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
        {
            const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(e, "annotations"), "seatgate.dev/player-ip");
            const cJSON *seat = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(e, "labels"), "seatgate.dev/seat");
            if (cJSON_IsString(seat) && strcmp(seat->valuestring, proxied.session_id) == 0)
                found = cJSON_IsString(ann) && strcmp(ann->valuestring, E.xff_ip) == 0;
        }
        cJSON_Delete(s);
        assert_true(found); /* the platform was asked for the proxied player's address */
        assert_int_equal(e2e_play_token(proxied.token_file, proxied.ip, line, sizeof line), 2);
        if (!strstr(line, "denied reason=ip_mismatch")) fail_msg("proxied token: '%s'", line);
    }

    /* Used at the other server: a token naming the other server's address, carrying this
     * session (minted with the shared key, as a leaked key would allow). */
    if (E.key_hex[0]) {
        e2e_player p;
        new_player(&p);
        e2e_connect_me(&p, E.mm_url[0], NULL);
        expect_answer(&p);
        int mine = e2e_player_deployment(&p), theirs = 1 - mine;
        unsigned long long cid = strtoull(p.client_id, NULL, 10);
        snprintf(path, sizeof path, "%s/foreign-%s.b64", E.dir, p.client_id);
        assert_true(e2e_forge_token(theirs, cid, p.session_id, true, path));
        assert_int_equal(e2e_play_token(path, p.ip, line, sizeof line), 2);
        /* Servers on one address (loopback) differ by their id; on addresses of their own
         * (containers), by the address already. */
        const char *want = strcmp(E.dep[0].public_ip, E.dep[1].public_ip) == 0
                               ? "denied reason=wrong_server_id"
                               : "denied reason=wrong_server_ip";
        if (!strstr(line, want)) fail_msg("foreign token: '%s', expected '%s'", line, want);
        char reason[32];
        assert_true(e2e_events_wait(mark, "verify_rejected", "client_id", p.client_id, 1, 5000));
        e2e_events_reason(mark, "verify_rejected", "client_id", p.client_id, reason, sizeof reason);
        assert_string_equal(reason, "wrong_server");
        /* Refused there, the player still gets in where the matchmaker sent them. */
        assert_int_equal(e2e_play_token(p.token_file, p.ip, line, sizeof line), 0);
        assert_non_null(strstr(line, "accepted"));
        assert_true(E2E_WAIT_UNTIL(let_go(p.session_id) && !e2e_sim_live(p.session_id), 15000));
    } else {
        fprintf(stderr, "   (no netcode key given: the foreign-server token is not minted)\n");
    }
    if (E.key_hex[0]) expect_token_addresses(owner.token_file, d);
    if (E.key_hex[0] && E.port_mapping && strcmp(E.dialect, "lightyear") == 0) {
        /* A lightyear server behind the mapping looks for its bind address in the private
         * list: a token listing only the public address gets no answer at all. */
        e2e_player p;
        new_player(&p);
        e2e_connect_me(&p, E.mm_url[0], NULL);
        expect_answer(&p);
        size_t before = e2e_events_mark();
        unsigned long long cid = strtoull(p.client_id, NULL, 10);
        snprintf(path, sizeof path, "%s/public-only-%s.b64", E.dir, p.client_id);
        assert_true(e2e_forge_token(e2e_player_deployment(&p), cid, p.session_id, false, path));
        assert_int_equal(e2e_play_token(path, p.ip, line, sizeof line), 3);
        if (!strstr(line, "no_answer")) fail_msg("public-only token: '%s'", line);
        assert_int_equal(e2e_events_count(before, "verify_rejected", "client_id", p.client_id), 0);
        assert_int_equal(e2e_events_count(before, "player_connect", "client_id", p.client_id), 0);
        /* The matchmaker's own token, with the bind address, gets in. */
        assert_int_equal(e2e_play_token(p.token_file, p.ip, line, sizeof line), 0);
        assert_non_null(strstr(line, "accepted"));
        assert_true(E2E_WAIT_UNTIL(let_go(p.session_id) && !e2e_sim_live(p.session_id), 15000));
    }
    e2e_play_wait(&owner, 20000);
    assert_int_equal(owner.exit_code, 0);
    expect_gone(owner.session_id, 15000);
}

/* ---- nats-server restarted mid-run ---- */

static void nats_restart_loses_nothing(void **state)
{
    (void)state;
    SCENARIO("nats_restart");
    NEEDS_CONTROL();
    if (E.nats_nodes != 1) skip();
    size_t mark = e2e_events_mark();
    enum { K = 4 };
    e2e_player ps[K];
    for (int i = 0; i < K; i++)
        new_player(&ps[i]);
    e2e_connect_me_all(ps, K, E.mm_url[0]);
    for (int i = 0; i < K; i++) {
        expect_answer(&ps[i]);
        assert_true(e2e_play(&ps[i], NULL, 7000, true));
    }
    for (int i = 0; i < K; i++)
        assert_true(
            e2e_events_wait(mark, "player_connect", "session_id", ps[i].session_id, 1, 10000));
    double created = e2e_sim_counter("sessions_created");

    assert_true(e2e_nats_stop());
    /* While NATS is down: nothing can be recorded, so nothing is handed out or leaked. */
    e2e_player down;
    new_player(&down);
    e2e_connect_me(&down, E.mm_url[0], NULL);
    fprintf(stderr, "   connect-me with NATS down: HTTP %ld %s (Retry-After %s)\n", down.status,
            down.error, down.retry_after);
    assert_int_equal(down.status, 503);
    assert_string_equal(down.error, "store_unavailable");
    assert_true(down.retry_after[0]);
    assert_true(e2e_nats_start());

    /* Records written before the restart are all there. */
    for (int i = 0; i < K; i++) {
        const char *rid = E.dep[e2e_player_deployment(&ps[i])].request_id;
        assert_true(E2E_WAIT_UNTIL(claimed_by(ps[i].session_id, rid), 10000));
    }
    wait_recovered(sg_clock_wall_ms());
    /* The matchmaker serves again once reconnected. */
    e2e_player after;
    new_player(&after);
    assert_true(
        E2E_WAIT_UNTIL((e2e_connect_me(&after, E.mm_url[0], NULL), after.status == 200), 15000));
    expect_recorded(&after, after.ip);
    char line[512];
    if (e2e_play_token(after.token_file, after.ip, line, sizeof line) != 0)
        fail_msg("player after the restart: '%s'", line);
    /* The players connected through the restart leave normally. */
    for (int i = 0; i < K; i++) {
        e2e_play_wait(&ps[i], 30000);
        assert_int_equal(ps[i].exit_code, 0);
    }
    for (int i = 0; i < K; i++)
        expect_gone(ps[i].session_id, 20000);
    expect_gone(after.session_id, 20000);
    for (int i = 0; i < K; i++)
        assert_true(
            e2e_events_wait(mark, "player_disconnect", "session_id", ps[i].session_id, 1, 10000));
    /* The outage request created no session (or it was deleted again). */
    fprintf(stderr, "   sessions created since the outage: %.0f\n",
            e2e_sim_counter("sessions_created") - created);
    if (!E2E_WAIT_UNTIL(live_for_ip(down.ip, false) == 0, 15000)) {
        live_for_ip(down.ip, true);
        fail_msg("the outage request's session is still at the simulator");
    }
}

/* ---- a waiting /connect-me whose matchmaker dies ---- */

typedef struct waiter {
    e2e_player p;
    const char *url;
    pthread_t t;
} waiter;

static void *wait_call(void *arg)
{
    waiter *w = arg;
    e2e_connect_me(&w->p, w->url, NULL);
    return NULL;
}

/* Starts a /connect-me that waits (the simulator answers slowly) and returns once its session
 * is recorded; the caller then kills the matchmaker. */
static void start_waiter(waiter *w, int mm, char *sid, size_t size)
{
    new_player(&w->p);
    w->url = E.mm_url[mm];
    assert_int_equal(e2e_sim_post("/_sim/faults", "{\"latency_ms\": 1500}"), 200);
    assert_int_equal(pthread_create(&w->t, NULL, wait_call, w), 0);
    sid[0] = '\0';
    long long deadline = sg_test_now_ms() + 15000;
    while (E.agones && !sid[0] && sg_test_now_ms() < deadline) {
        /* Agones: the allocation took a seat (its answer is held back): the GameServer's
         * labels name the last seat, its annotations the player's address. */
        cJSON *s = e2e_sim_state();
        const cJSON *g;
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(s, "gameservers"))
        {
            const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(g, "annotations"), "seatgate.dev/player-ip");
            const cJSON *seat = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(g, "labels"), "seatgate.dev/seat");
            if (cJSON_IsString(ann) && cJSON_IsString(seat) && strcmp(ann->valuestring, w->p.ip) == 0)
                snprintf(sid, size, "%s", seat->valuestring);
        }
        cJSON_Delete(s);
        if (!sid[0]) sg_test_sleep_ms(50);
    }
    while (!E.agones && !sid[0] && sg_test_now_ms() < deadline) {
        char **ids = NULL;
        size_t n = e2e_session_ids(&ids);
        for (size_t i = 0; i < n && !sid[0]; i++) {
            sg_session_record r;
            if (e2e_session_get(ids[i], &r) && strcmp(r.player_ip, w->p.ip) == 0)
                snprintf(sid, size, "%s", ids[i]);
        }
        free(ids);
        if (!sid[0]) sg_test_sleep_ms(50);
    }
    if (!sid[0]) fail_msg("the waiting request's seat was never %s", E.agones ? "taken" : "recorded");
}

static void matchmaker_killed_mid_wait_leaks_nothing(void **state)
{
    (void)state;
    SCENARIO("matchmaker_restart");
    NEEDS_CONTROL();
    waiter w;
    char sid[128];
    start_waiter(&w, 0, sid, sizeof sid);
    assert_true(e2e_sim_live(sid));
    assert_true(e2e_matchmaker_kill(0));
    assert_int_equal(e2e_sim_delete("/_sim/faults"), 200);
    pthread_join(w.t, NULL);
    assert_int_equal(w.p.status, 0); /* the player got no answer: the process died */
    assert_true(e2e_matchmaker_start(0));
    sg_session_record r;
    if (E.agones) {
        /* Killed before the allocation's answer: a seat in a list, and no record of it. The
         * game server's hook removes it after agones-orphan-grace. */
        assert_false(e2e_session_get(sid, &r));
    } else {
        assert_true(e2e_session_get(sid, &r));
        assert_int_equal(r.state, SG_SESSION_UNCLAIMED);
    }
    /* The restarted matchmaker's reaper deletes it once its claim deadline has passed. */
    expect_gone(sid, 30000);
    /* And it serves players again. */
    e2e_player p;
    new_player(&p);
    e2e_connect_me(&p, E.mm_url[0], NULL);
    expect_answer(&p);
    char line[512];
    assert_int_equal(e2e_play_token(p.token_file, p.ip, line, sizeof line), 0);
    expect_gone(p.session_id, 15000);
}

/* ---- two replicas on one NATS, one killed mid-run ---- */

static void replica_killed_other_finishes(void **state)
{
    (void)state;
    SCENARIO("replicas");
    NEEDS_CONTROL();
    if (E.external && !E.mm_url[1][0]) {
        fprintf(stderr, "   (needs a second matchmaker: --replica-url)\n");
        skip();
    }
    assert_true(e2e_matchmaker_start(1));
    size_t mark = e2e_events_mark();
    enum { K = 6 };
    e2e_player ps[K];
    for (int i = 0; i < K; i++)
        new_player(&ps[i]);
    e2e_connect_me_all(ps, K / 2, E.mm_url[0]);
    e2e_connect_me_all(ps + K / 2, K - K / 2, E.mm_url[1]);
    for (int i = 0; i < K; i++) {
        expect_answer(&ps[i]);
        expect_recorded(&ps[i], ps[i].ip);
        assert_true(e2e_play(&ps[i], NULL, 2500, true));
    }
    for (int i = 0; i < K; i++)
        assert_true(
            e2e_events_wait(mark, "player_connect", "session_id", ps[i].session_id, 1, 10000));
    /* Replica 1 holds a waiting request when it dies, while the players are leaving. */
    waiter w;
    char sid[128];
    start_waiter(&w, 0, sid, sizeof sid);
    assert_true(e2e_matchmaker_kill(0));
    pthread_join(w.t, NULL);
    assert_int_equal(w.p.status, 0);
    assert_int_equal(e2e_sim_delete("/_sim/faults"), 200);
    for (int i = 0; i < K; i++) {
        e2e_play_wait(&ps[i], 30000);
        assert_int_equal(ps[i].exit_code, 0);
    }
    /* Replica 2 deletes every session: the players' (its delete workers) and the waiting
     * one (its reaper). */
    for (int i = 0; i < K; i++)
        expect_gone(ps[i].session_id, 45000);
    expect_gone(sid, 45000);
    assert_true(E2E_WAIT_UNTIL(e2e_delete_queue_depth() == 0, 45000));
    /* Back to one replica, as the other scenarios expect. */
    assert_true(e2e_matchmaker_start(0));
    assert_true(e2e_matchmaker_stop(1));
}

/* ---- a game server killed mid-game ---- */

static void server_killed_sessions_end(void **state)
{
    (void)state;
    SCENARIO("server_killed");
    NEEDS_CONTROL();
    size_t mark = e2e_events_mark();
    enum { K = 6 };
    e2e_player ps[K];
    for (int i = 0; i < K; i++)
        new_player(&ps[i]);
    e2e_connect_me_all(ps, K, E.mm_url[0]);
    int per[E2E_DEPLOYMENTS] = {0};
    for (int i = 0; i < K; i++) {
        expect_answer(&ps[i]);
        per[e2e_player_deployment(&ps[i])]++;
        assert_true(e2e_play(&ps[i], NULL, 3000, true));
    }
    for (int i = 0; i < K; i++)
        assert_true(
            e2e_events_wait(mark, "player_connect", "session_id", ps[i].session_id, 1, 10000));
    int victim = per[0] >= per[1] ? 0 : 1;
    const char *rid = E.dep[victim].request_id;
    assert_true(e2e_server_kill(victim));
    if (!E.agones) {
        /* Edgegap notices the container is gone and ends the deployment with its sessions. */
        char path[128];
        snprintf(path, sizeof path, "/_sim/deployments/%s/stop", rid);
        assert_int_equal(e2e_sim_post(path, NULL), 200);
    }
    for (int i = 0; i < K; i++) {
        if (e2e_player_deployment(&ps[i]) != victim) continue;
        char status[32];
        /* Agones: the GameServer misses its health pings, goes Unhealthy and is deleted with
         * its players List. */
        E2E_WAIT_UNTIL((e2e_sim_session(ps[i].session_id, status, sizeof status, NULL, 0),
                        !status[0] || strcmp(status, "terminated") == 0),
                       E.agones ? 15000 : 0);
        assert_true(!status[0] || strcmp(status, "terminated") == 0);
        /* The matchmaker notices the server stopped heartbeating: no record claims it. */
        expect_gone(ps[i].session_id, 20000);
    }
    /* The other server's players are not affected and leave normally. */
    for (int i = 0; i < K; i++)
        e2e_play_wait(&ps[i], 30000);
    for (int i = 0; i < K; i++) {
        if (e2e_player_deployment(&ps[i]) == victim) continue;
        assert_int_equal(ps[i].exit_code, 0);
        expect_gone(ps[i].session_id, 15000);
    }
}

/* ---- a node of a three-node NATS cluster killed mid-run ---- */

static void cluster_node_killed_suite_passes(void **state)
{
    (void)state;
    SCENARIO("cluster_node_killed");
    NEEDS_CONTROL();
    if (E.nats_nodes < 3) skip();
    char stream[64];
    snprintf(stream, sizeof stream, "KV_%s_%s", E.app, SG_BUCKET_SESSIONS);
    long long killed_at = sg_clock_wall_ms();
    int victim = e2e_nats_kill_leader(stream);
    assert_true(victim >= 0);
    fprintf(stderr, "   killed node%d (leader of %s)\n", victim + 1, stream);
    /* Clients connected to that node move to another; calls fail fast meanwhile (an honest
     * 503 store_unavailable with Retry-After, never a hang), then everything works again. */
    e2e_player blip;
    new_player(&blip);
    int refused = 0;
    for (;;) {
        e2e_connect_me(&blip, E.mm_url[0], NULL);
        if (blip.status == 200 || sg_clock_wall_ms() - killed_at > 30000) break;
        if ((blip.status != 503 && blip.status != 429) || !blip.retry_after[0])
            fail_msg("during the election: HTTP %ld %s", blip.status, blip.error);
        refused++;
        long wait = atol(blip.retry_after) * 1000; /* as a client honouring Retry-After */
        sg_test_sleep_ms(wait < 500 ? 500 : wait);
    }
    fprintf(stderr, "   a player retrying got in after %lld ms (%d honest 503s before)\n",
            sg_clock_wall_ms() - killed_at, refused);
    expect_answer(&blip);
    expect_recorded(&blip, blip.ip);
    wait_recovered(killed_at);
    /* The refused attempts left no session behind at Edgegap (each was deleted directly,
     * the store being unavailable): only the one handed out stays. */
    if (!E2E_WAIT_UNTIL(live_for_ip(blip.ip, false) == 1, 15000)) {
        live_for_ip(blip.ip, true);
        fail_msg("sessions of the refused attempts are still at the simulator");
    }
    char line[512];
    assert_int_equal(e2e_play_token(blip.token_file, blip.ip, line, sizeof line), 0);
    expect_gone(blip.session_id, 15000);
    /* Everything again with two nodes of three. */
    crowd_join(8000);
    crowd_leave();
    crowd_n = 0;
    misuse_checks();
}

/* ---- settings and main ---- */

/* Kills scored on a game server reach the leaderboard: two players on one server, one kills
 * the other twice (SCORE packets; the server's hook publishes the score events, naming the
 * target, who plays there too). GET /leaderboard ranks the killer first with 2, and GET
 * /players shows both ratings as worked out by hand: K 32 from 1500, 1516 after the first
 * win, then E = 1 / (1 + 10^(-32/400)) = 0.545922 and 1516 + 32 * 0.454078 = 1530.530 (the
 * victim 1484, then 1469.470). */
static void kills_show_on_the_leaderboard(void **state)
{
    (void)state;
    SCENARIO("leaderboard");
    if (!E.lb_url[0]) fail_msg("this stack has no leaderboard (--leaderboard-bin)");
    e2e_player p[3];
    for (int i = 0; i < 3; i++) {
        new_player(&p[i]);
        e2e_connect_me(&p[i], E.mm_url[0], NULL);
        assert_int_equal(p[i].status, 200);
    }
    int a = -1, b = -1; /* two of three share one of the two servers */
    for (int i = 0; i < 3 && a < 0; i++)
        for (int j = i + 1; j < 3 && a < 0; j++)
            if (e2e_player_deployment(&p[i]) == e2e_player_deployment(&p[j])) a = i, b = j;
    assert_true(a >= 0);
    assert_true(e2e_play(&p[b], NULL, 5000, true));
    sg_session_record r;
    if (!E2E_WAIT_UNTIL(e2e_session_get(p[b].session_id, &r) && r.state == SG_SESSION_CLAIMED,
                        8000))
        fail_msg("the victim %s never got in", p[b].client_id);
    char kills[80];
    snprintf(kills, sizeof kills, "%s,%s", p[b].client_id, p[b].client_id);
    assert_true(e2e_play_kills(&p[a], 1500, kills));
    e2e_play_wait(&p[a], 15000);
    e2e_play_wait(&p[b], 15000);
    assert_int_equal(p[a].exit_code, 0);
    assert_int_equal(p[b].exit_code, 0);

    char url[512];
    snprintf(url, sizeof url, "%s/players/anon-%s", E.lb_url, p[a].session_id);
    cJSON *killer = NULL;
    long status = 0;
    long long deadline = sg_test_now_ms() + 15000;
    for (;;) {
        cJSON_Delete(killer);
        killer = e2e_http_get_json(url, &status);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(killer, "totals"), "kill");
        if (status == 200 && cJSON_IsNumber(k) && k->valuedouble == 2) break;
        if (sg_test_now_ms() > deadline)
            fail_msg("GET %s: %ld, no 2 kills within 15 s", url, status);
        sg_test_sleep_ms(100);
    }
    const cJSON *rating = cJSON_GetObjectItemCaseSensitive(killer, "rating");
    assert_true(cJSON_IsNumber(rating));
    assert_float_equal(rating->valuedouble, 1530.530, 1e-3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(killer, "sessions")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(killer, "ranks"), "kill")->valueint,
                     1);
    cJSON_Delete(killer);
    snprintf(url, sizeof url, "%s/players/anon-%s", E.lb_url, p[b].session_id);
    cJSON *victim = e2e_http_get_json(url, &status);
    assert_int_equal(status, 200);
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(victim, "rating")->valuedouble, 1469.470,
                       1e-3);
    cJSON_Delete(victim);
    snprintf(url, sizeof url, "%s/leaderboard?kind=kill&limit=10", E.lb_url);
    cJSON *top = e2e_http_get_json(url, &status);
    assert_int_equal(status, 200);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(top, "players"), 0);
    char want[160];
    snprintf(want, sizeof want, "anon-%s", p[a].session_id);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "id")->valuestring, want);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(first, "value")->valueint, 2);
    cJSON_Delete(top);
}

int main(int argc, char **argv)
{
    sg_setting settings[] = {
        {.name = "mode",
         .type = SG_SET_STRING,
         .def = "local",
         .help = "local (start every program on loopback) or external (use the URLs below)"},
        {.name = "output-dir",
         .type = SG_SET_STRING,
         .flags = SG_SET_REQUIRED,
         .help = "folder for logs, configs and tokens (created)"},
        {.name = "scenarios",
         .type = SG_SET_STRING,
         .def = "",
         .help = "comma-separated scenarios to run (empty: all): join, leave, misuse, "
                 "nats_restart, matchmaker_restart, replicas, server_killed, "
                 "cluster_node_killed"},
        {.name = "players",
         .type = SG_SET_INT,
         .def = "24",
         .min = 2,
         .max = MAX_PLAYERS,
         .help = "players joining at once in the join scenario"},
        {.name = "player-ips",
         .type = SG_SET_STRING,
         .def = "127.0.0.10-250",
         .help = "source addresses for players, A.B.C.D-E (empty: the default address)"},
        {.name = "xff-ip",
         .type = SG_SET_STRING,
         .def = "198.51.100.7",
         .help = "address claimed through X-Forwarded-For (the matchmaker must trust the suite)"},
        {.name = "client-bin",
         .type = SG_SET_STRING,
         .flags = SG_SET_REQUIRED,
         .help = "seatgate-example-client"},
        {.name = "matchmaker-bin", .type = SG_SET_STRING, .help = "local: seatgate-matchmaker"},
        {.name = "sim-bin", .type = SG_SET_STRING, .help = "local: seatgate-edgegap-sim"},
        {.name = "platform",
         .type = SG_SET_STRING,
         .def = "edgegap",
         .choices = "edgegap|agones",
         .help = "local: the platform: Edgegap's simulator, or Agones' (a fleet of two "
                 "GameServers whose hooks talk to their SDK sidecars)"},
        {.name = "agones-sim-bin", .type = SG_SET_STRING, .help = "local: seatgate-agones-sim"},
        {.name = "server-bin", .type = SG_SET_STRING, .help = "local: seatgate-example-server"},
        {.name = "leaderboard-bin",
         .type = SG_SET_STRING,
         .help = "local: seatgate-leaderboard, run on the stack's store (the leaderboard "
                 "scenario needs it)"},
        {.name = "nats-nodes",
         .type = SG_SET_INT,
         .def = "1",
         .min = 1,
         .max = 3,
         .help = "1 nats-server, or a 3-node JetStream cluster with 3 replicas (external: "
                 "the controller knows its nodes by their server names)"},
        {.name = "matchmaker-url", .type = SG_SET_STRING, .help = "external: the matchmaker"},
        {.name = "leaderboard-url",
         .type = SG_SET_STRING,
         .help = "external: the leaderboard (the leaderboard scenario needs it)"},
        {.name = "sim-url", .type = SG_SET_STRING, .help = "external: the Edgegap simulator"},
        {.name = "nats-url", .type = SG_SET_STRING, .help = "external: NATS"},
        {.name = "replica-url",
         .type = SG_SET_STRING,
         .help = "external: a second matchmaker on the same store, started and stopped "
                 "through the controller (the replicas scenario)"},
        {.name = "control-dir",
         .type = SG_SET_STRING,
         .help = "external: a folder shared with the script that runs the stack; the "
                 "scenarios that kill or restart a service ask it there (unset: they are "
                 "skipped)"},
        {.name = "port-name",
         .type = SG_SET_STRING,
         .def = "game",
         .help = "external: the game port's name in the simulator's deployments"},
        {.name = "app", .type = SG_SET_STRING, .def = "e2e", .help = "store namespace (--app)"},
        {.name = "netcode-key",
         .type = SG_SET_STRING,
         .flags = SG_SET_SECRET,
         .help = "external: the shared netcode key (optional: mints a foreign-server token)"},
        {.name = "protocol-id",
         .type = SG_SET_STRING,
         .def = "4242",
         .help = "external: the netcode protocol id"},
        {.name = "token-dialect",
         .type = SG_SET_STRING,
         .def = "netcode-1.02",
         .choices = SG_TOKEN_DIALECT_CHOICES,
         .help = "how tokens are written, given to the matchmaker, servers and clients: "
                 "netcode-1.02, lightyear or lightyear-0.19"},
        {.name = "port-mapping",
         .type = SG_SET_BOOL,
         .def = "false",
         .help = "local: game servers bind another port than players dial, a relay in the "
                 "suite forwarding between them (the platform's port mapping)"},
    };
    sg_config cfg = {.program = "seatgate-e2e",
                     .summary = "End-to-end scenarios over the whole seatgate system",
                     .env_prefix = "SEATGATE_E2E_",
                     .settings = settings,
                     .count = sizeof settings / sizeof *settings};
    sg_status st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) return 0;
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-e2e: %s\n", sg_last_error());
        return 2;
    }
    sg_log_set_level(SG_LOG_OFF);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    E.external = strcmp(sg_config_str(&cfg, "mode"), "external") == 0;
    snprintf(E.dir, sizeof E.dir, "%s", sg_config_str(&cfg, "output-dir"));
    snprintf(E.app, sizeof E.app, "%s", sg_config_str(&cfg, "app"));
    snprintf(E.client_bin, sizeof E.client_bin, "%s", sg_config_str(&cfg, "client-bin"));
    snprintf(scenarios, sizeof scenarios, "%s", sg_config_str(&cfg, "scenarios"));
    snprintf(E.xff_ip, sizeof E.xff_ip, "%s", sg_config_str(&cfg, "xff-ip"));
    E.players = (int)sg_config_num(&cfg, "players");
    E.nats_nodes = (int)sg_config_num(&cfg, "nats-nodes");
    snprintf(E.dialect, sizeof E.dialect, "%s", sg_config_str(&cfg, "token-dialect"));
    E.port_mapping = sg_config_bool(&cfg, "port-mapping") && !E.external;
    const char *pool = sg_config_str(&cfg, "player-ips");
    E.player_ips = strdup(pool ? pool : "");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", E.dir);
    if (system(cmd) != 0) return 2;
    if (E.external) {
        const char *need[] = {"matchmaker-url", "sim-url", "nats-url"};
        for (int i = 0; i < 3; i++)
            if (!sg_config_str(&cfg, need[i])) {
                fprintf(stderr, "seatgate-e2e: --%s is required in external mode\n", need[i]);
                return 2;
            }
        snprintf(E.mm_url[0], sizeof E.mm_url[0], "%s", sg_config_str(&cfg, "matchmaker-url"));
        snprintf(E.sim_url, sizeof E.sim_url, "%s", sg_config_str(&cfg, "sim-url"));
        snprintf(E.nats_url, sizeof E.nats_url, "%s", sg_config_str(&cfg, "nats-url"));
        const char *lbu = sg_config_str(&cfg, "leaderboard-url");
        snprintf(E.lb_url, sizeof E.lb_url, "%s", lbu ? lbu : "");
        const char *replica = sg_config_str(&cfg, "replica-url");
        snprintf(E.mm_url[1], sizeof E.mm_url[1], "%s", replica ? replica : "");
        const char *control = sg_config_str(&cfg, "control-dir");
        snprintf(E.control_dir, sizeof E.control_dir, "%s", control ? control : "");
        snprintf(E.port_name, sizeof E.port_name, "%s", sg_config_str(&cfg, "port-name"));
        snprintf(E.protocol_id, sizeof E.protocol_id, "%s", sg_config_str(&cfg, "protocol-id"));
        const char *key = sg_config_str(&cfg, "netcode-key");
        snprintf(E.key_hex, sizeof E.key_hex, "%s", key ? key : "");
    } else {
        const char *need[] = {"matchmaker-bin", "sim-bin", "server-bin"};
        for (int i = 0; i < 3; i++)
            if (!sg_config_str(&cfg, need[i])) {
                fprintf(stderr, "seatgate-e2e: --%s is required in local mode\n", need[i]);
                return 2;
            }
        snprintf(E.mm_bin, sizeof E.mm_bin, "%s", sg_config_str(&cfg, "matchmaker-bin"));
        snprintf(E.sim_bin, sizeof E.sim_bin, "%s", sg_config_str(&cfg, "sim-bin"));
        snprintf(E.server_bin, sizeof E.server_bin, "%s", sg_config_str(&cfg, "server-bin"));
        const char *lb = sg_config_str(&cfg, "leaderboard-bin");
        snprintf(E.lb_bin, sizeof E.lb_bin, "%s", lb ? lb : "");
        E.agones = strcmp(sg_config_str(&cfg, "platform"), "agones") == 0;
        if (E.agones && !sg_config_str(&cfg, "agones-sim-bin")) {
            fprintf(stderr, "seatgate-e2e: --agones-sim-bin is required with --platform agones\n");
            return 2;
        }
        if (E.agones)
            snprintf(E.agones_bin, sizeof E.agones_bin, "%s", sg_config_str(&cfg, "agones-sim-bin"));
    }
    sg_config_free(&cfg);

    int failed = 1;
    if (!e2e_stack_start()) {
        fprintf(stderr, "seatgate-e2e: the system did not start (logs in %s)\n", E.dir);
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(many_players_join_concurrently),
            cmocka_unit_test(players_leave_and_sessions_are_gone),
            cmocka_unit_test(misused_tokens_are_refused),
            cmocka_unit_test(nats_restart_loses_nothing),
            cmocka_unit_test(matchmaker_killed_mid_wait_leaks_nothing),
            cmocka_unit_test(replica_killed_other_finishes),
            cmocka_unit_test(cluster_node_killed_suite_passes),
            cmocka_unit_test(server_killed_sessions_end),
            cmocka_unit_test(kills_show_on_the_leaderboard),
        };
        failed = cmocka_run_group_tests_name("e2e", tests, NULL, NULL);
        if (failed) {
            for (int i = 0; i < E2E_MATCHMAKERS; i++)
                if (E.mm[i].argc) sg_proc_print_log(&E.mm[i], 30);
            for (int i = 0; i < E2E_DEPLOYMENTS; i++)
                if (E.dep[i].proc.argc) sg_proc_print_log(&E.dep[i].proc, 30);
        }
    }
    e2e_stack_stop();
    free(E.player_ips);
    curl_global_cleanup();
    sg_store_library_cleanup();
    return failed ? 1 : 0;
}
