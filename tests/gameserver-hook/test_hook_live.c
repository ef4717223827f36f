/* The gameserver hook with its real dependencies: a nats-server (JetStream) and the Edgegap
 * simulator, both started on loopback by this test. The test plays the matchmaker: it
 * creates sessions at the simulator and writes connect_tokens and session records. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nats_server.h"
#include "seatgate/edgegap.h"
#include "seatgate/gameserver_hook.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "seatgate/records.h"
#include "issue.h"
#include "sim_harness.h"

#define API_KEY "live-test-key-0123"
#define SERVER_A "aaaaaaaaaaa1"

static const char *sim_bin, *sim_config;

typedef struct world {
    sg_test_nats nats;
    sim_proc sim;
    sg_store *store;
    sg_bucket *tokens, *sessions, *gameserver, *contexts;
    sg_queue *deletes;
    sg_event_sub *events;
    sg_edgegap_client *api; /* the matchmaker's organisation client */
} world;

static world W;
static uint64_t next_client = 1000;

static const char *cert_digest_opt; /* cert-digest for the next new_hook (NULL: none) */

static sg_hook *new_hook(const char *request_id, bool api_key, const char *edgegap_timeout)
{
    char url[512], token[512];
    assert_true(sim_env(&W.sim, request_id, "CONTEXT_URL", url, sizeof url));
    assert_true(sim_env(&W.sim, request_id, "CONTEXT_TOKEN", token, sizeof token));
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "store-url", W.nats.url), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "app", "hooktest"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "edgegap-url", W.sim.url), SG_OK);
    if (api_key) assert_int_equal(sg_hook_options_set(o, "edgegap-api-key", API_KEY), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-url", url), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-token", token), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-request-id", request_id), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "edgegap-timeout", edgegap_timeout), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "store-timeout", "1s"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "verify-timeout", "4s"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "capacity", "16"), SG_OK);
    /* every player here comes from loopback: no per-address cap (hook.fake tests it) */
    assert_int_equal(sg_hook_options_set(o, "claims-per-ip", "0"), SG_OK);
    if (cert_digest_opt) assert_int_equal(sg_hook_options_set(o, "cert-digest", cert_digest_opt), SG_OK);
    sg_hook *h = NULL;
    assert_int_equal(sg_hook_new(o, &h), SG_OK);
    sg_hook_options_free(o);
    if (sg_hook_wait_started(h, 15000) != SG_OK) fail_msg("start: %s", sg_last_error());
    return h;
}

/* The matchmaker's part: a session at the simulator linked to `deployment` for player_ip,
 * its unclaimed record and connect_tokens[client_id]. Returns the client id. */
static uint64_t issue(const char *deployment, const char *player_ip, char *sid, size_t size)
{
    const char *public_ip = strcmp(deployment, "ccccccccccc3") == 0 ? "127.0.0.3" : "127.0.0.1";
    sg_deployment_ref dep;
    memset(&dep, 0, sizeof dep);
    snprintf(dep.request_id, sizeof dep.request_id, "%s", deployment);
    snprintf(dep.public_ip, sizeof dep.public_ip, "%s", public_ip);
    dep.port = 31700;
    snprintf(dep.protocol, sizeof dep.protocol, "UDP");
    uint64_t cid = next_client++;
    /* ddddddddddd4 is not Ready yet: its record has no deployment. */
    hook_test_issue(W.api, W.sessions, W.tokens, deployment, player_ip, cid,
                    strcmp(deployment, "ddddddddddd4") != 0 ? &dep : NULL, sid, size);
    return cid;
}

/* Status of GET /v1/session/{sid}: SG_OK or SG_E_NOT_FOUND. DELETE when del. */
static sg_status api_session(const char *sid, bool del)
{
    sg_edgegap_request *req = NULL;
    if (del)
        assert_int_equal(sg_edgegap_request_delete_session(sid, &req), SG_OK);
    else
        assert_int_equal(sg_edgegap_request_get_session(sid, &req), SG_OK);
    sg_edgegap_result res;
    sg_status st = sg_edgegap_perform(W.api, req, &res);
    sg_edgegap_request_free(req);
    sg_edgegap_result_clear(&res);
    return st;
}

static sg_session_record session_record(const char *sid)
{
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(W.sessions, sid, &e), SG_OK);
    sg_session_record r;
    assert_int_equal(sg_session_from_json(e->value, e->len, &r), SG_OK);
    sg_kv_entry_free(e);
    return r;
}

static void expect(sg_hook *h, uint64_t cid, const char *ip, const char *hint, sg_hook_reason r)
{
    sg_hook_verdict v;
    assert_int_equal(sg_hook_verify_wait(h, cid, ip, hint, 10000, &v), SG_OK);
    if (v.reason != (int)r)
        fail_msg("client %llu: %s (%s), expected %s", (unsigned long long)cid,
                 sg_hook_reason_name(v.reason), v.message, sg_hook_reason_name(r));
}

/* Waits for an event of `kind` whose JSON contains `needle`. */
static void expect_event(const char *kind, const char *needle)
{
    for (int i = 0; i < 200; i++) {
        char *k = NULL, *json = NULL;
        if (sg_event_next(W.events, 100, &k, &json) != SG_OK) continue;
        bool match = strcmp(k, kind) == 0 && strstr(json, needle) != NULL;
        free(k);
        free(json);
        if (match) return;
    }
    fail_msg("no %s event with %s", kind, needle);
}

static void start_registers_the_server(void **state)
{
    (void)state;
    /* wtransport prints the digest colon-separated, upper case here: published normalised */
    cert_digest_opt = "0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:"
                      "A5:B4:C3:D2:E1:F0";
    sg_hook *h = new_hook(SERVER_A, true, "2s");
    cert_digest_opt = NULL;
    expect_event("server_up", SERVER_A);
    sg_kv_entry *e = NULL;
    assert_int_equal(sg_kv_get(W.gameserver, SERVER_A ".pr.edgegap.net", &e), SG_OK);
    sg_gameserver_record g;
    assert_int_equal(sg_gameserver_from_json(e->value, e->len, &g), SG_OK);
    sg_kv_entry_free(e);
    assert_string_equal(g.request_id, SERVER_A);
    assert_string_equal(g.public_ip, "127.0.0.1");
    assert_int_equal(g.capacity, 16);
    assert_int_equal(g.ports[0].external, 31700);
    assert_string_equal(g.cert_digest,
                        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
    assert_int_equal(sg_kv_get(W.contexts, SERVER_A ".pr.edgegap.net", &e), SG_OK);
    assert_non_null(strstr(e->value, SERVER_A));
    sg_kv_entry_free(e);
    assert_int_equal(sg_hook_stop(h, 3000), SG_OK);
    expect_event("server_down", SERVER_A);
    assert_int_equal(sg_kv_get(W.gameserver, SERVER_A ".pr.edgegap.net", &e), SG_E_NOT_FOUND);
    sg_hook_free(h);
}

static void each_check_rejects_on_its_own(void **state)
{
    (void)state;
    sg_hook *h = new_hook(SERVER_A, true, "2s");
    char sid[128];
    /* accepted, and the claim is recorded */
    uint64_t ok = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, ok, "::ffff:127.0.0.1", sid, SG_HOOK_ACCEPTED);
    sg_session_record r = session_record(sid);
    assert_int_equal(r.state, SG_SESSION_CLAIMED);
    assert_string_equal(r.claimed_by_request_id, SERVER_A);
    expect_event("player_connect", sid);
    /* again: already connected */
    expect(h, ok, "127.0.0.1", sid, SG_HOOK_REJECT_ALREADY_CONNECTED);
    /* unknown client id */
    expect(h, 987654321, "127.0.0.1", NULL, SG_HOOK_REJECT_UNKNOWN_CLIENT);
    expect_event("verify_rejected", "\"reason\":\"unknown_client\"");
    /* another session named by the token */
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", "other-S", SG_HOOK_REJECT_SESSION_MISMATCH);
    /* IP not in the session */
    expect(h, c, "127.0.0.9", sid, SG_HOOK_REJECT_IP_MISMATCH);
    expect_event("verify_rejected", "\"reason\":\"ip_mismatch\"");
    /* wrong server by request id (same public IP) and by IP */
    c = issue("bbbbbbbbbbb2", "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_WRONG_SERVER_ID);
    c = issue("ccccccccccc3", "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_WRONG_SERVER_IP);
    expect_event("verify_rejected", "\"reason\":\"wrong_server\"");
    /* not ready: its deployment is still starting */
    c = issue("ddddddddddd4", "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_SESSION_NOT_READY);
    /* gone: deleted at Edgegap */
    c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    assert_int_equal(api_session(sid, true), SG_OK);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_SESSION_GONE);
    sg_hook_free(h);
}

typedef struct racer {
    sg_hook *h;
    uint64_t cid;
    sg_hook_verdict v;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    sg_hook_verify_wait(r->h, r->cid, "127.0.0.1", NULL, 10000, &r->v);
    return NULL;
}

static void two_servers_race_for_one_session(void **state)
{
    (void)state;
    racer r[2] = {{.h = new_hook(SERVER_A, true, "2s")}, {.h = new_hook(SERVER_A, true, "2s")}};
    for (int round = 0; round < 5; round++) {
        char sid[128];
        uint64_t cid = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            r[i].cid = cid;
            pthread_create(&t[i], NULL, race, &r[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        assert_int_equal(r[0].v.accepted + r[1].v.accepted, 1);
        assert_int_equal(r[r[0].v.accepted ? 1 : 0].v.reason, SG_HOOK_REJECT_ALREADY_CONNECTED);
    }
    sg_hook_free(r[0].h);
    sg_hook_free(r[1].h);
}

static void dependency_failures_reject_as_unavailable(void **state)
{
    (void)state;
    sg_hook *h = new_hook(SERVER_A, true, "300ms");
    char sid[128];
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    /* Edgegap 5xx */
    assert_int_equal(
        sim_http(&W.sim, "POST", "/_sim/faults", "{\"error_rate\":1,\"error_status\":502}", NULL),
        200);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_UNAVAILABLE);
    /* Edgegap timeout */
    assert_int_equal(sim_http(&W.sim, "DELETE", "/_sim/faults", NULL, NULL), 200);
    assert_int_equal(sim_http(&W.sim, "POST", "/_sim/faults", "{\"hang\":true}", NULL), 200);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_UNAVAILABLE);
    assert_int_equal(sim_http(&W.sim, "DELETE", "/_sim/faults", NULL, NULL), 200);
    assert_int_equal(session_record(sid).state, SG_SESSION_UNCLAIMED);
    /* NATS down */
    sg_test_nats_stop(&W.nats);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_UNAVAILABLE);
    assert_int_equal(sg_test_nats_restart(&W.nats), 0);
    /* back: the player gets in (the store reconnects by itself) */
    sg_hook_verdict v = {0};
    for (int i = 0; i < 100 && !v.accepted; i++) {
        assert_int_equal(sg_hook_verify_wait(h, c, "127.0.0.1", sid, 10000, &v), SG_OK);
        if (!v.accepted) {
            /* a client retrying this fast also meets the per-address verify rate */
            assert_true(v.reason == SG_HOOK_REJECT_UNAVAILABLE ||
                        v.reason == SG_HOOK_REJECT_RATE_LIMITED);
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(v.accepted);
    sg_hook_free(h);
}

static void disconnect_deletes_the_session_and_publishes(void **state)
{
    (void)state;
    sg_hook *h = new_hook(SERVER_A, true, "2s");
    char sid[128];
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_ACCEPTED);
    assert_int_equal(api_session(sid, false), SG_OK);
    assert_int_equal(sg_hook_disconnect_wait(h, c, SG_HOOK_DISCONNECT_GOODBYE, 10000), SG_OK);
    assert_int_equal(api_session(sid, false), SG_E_NOT_FOUND);
    sg_session_record r = session_record(sid);
    assert_int_equal(r.state, SG_SESSION_RELEASED);
    expect_event("player_disconnect", "\"reason\":\"goodbye\"");
    sg_hook_stats st;
    sg_hook_get_stats(h, &st);
    assert_int_equal(st.deletes_done, 1);
    sg_hook_free(h);
}

/* Takes the next delete job and checks it names sid. */
static void expect_delete_job(const char *sid)
{
    sg_job *j = NULL;
    assert_int_equal(sg_queue_take(W.deletes, 2000, &j), SG_OK);
    assert_non_null(j);
    sg_delete_job d;
    size_t len = 0;
    const char *p = sg_job_payload(j, &len);
    assert_int_equal(sg_delete_job_from_json(p, len, &d), SG_OK);
    assert_string_equal(d.session_id, sid);
    assert_string_equal(d.requested_by, SERVER_A ".pr.edgegap.net");
    assert_int_equal(sg_job_ack(j), SG_OK);
    sg_job_free(j);
}

static void failed_or_keyless_deletes_go_to_the_durable_queue(void **state)
{
    (void)state;
    char sid[128];
    /* with a key, Edgegap failing: the delete is queued for later */
    sg_hook *h = new_hook(SERVER_A, true, "300ms");
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_ACCEPTED);
    assert_int_equal(sim_http(&W.sim, "POST", "/_sim/faults", "{\"error_rate\":1}", NULL), 200);
    assert_int_equal(sg_hook_disconnect_wait(h, c, SG_HOOK_DISCONNECT_TIMEOUT, 10000), SG_OK);
    assert_int_equal(sim_http(&W.sim, "DELETE", "/_sim/faults", NULL, NULL), 200);
    sg_hook_stats st;
    sg_hook_get_stats(h, &st);
    assert_int_equal(st.deletes_queued, 1);
    sg_hook_free(h);
    expect_delete_job(sid);
    assert_int_equal(api_session(sid, false), SG_OK); /* still there, for the worker */
    /* without a key: always through the queue */
    h = new_hook(SERVER_A, false, "2s");
    /* (without a key the checks read the matchmaker's session record) */
    c = issue("bbbbbbbbbbb2", "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_WRONG_SERVER_ID);
    c = issue("ddddddddddd4", "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_REJECT_SESSION_NOT_READY);
    c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.2", sid, SG_HOOK_REJECT_IP_MISMATCH);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_ACCEPTED);
    assert_int_equal(sg_hook_disconnect_wait(h, c, SG_HOOK_DISCONNECT_KICKED, 10000), SG_OK);
    sg_hook_free(h);
    expect_delete_job(sid);
}

static void score_events_are_published(void **state)
{
    (void)state;
    sg_hook *h = new_hook(SERVER_A, true, "2s");
    char sid[128];
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_ACCEPTED);
    assert_int_equal(sg_hook_publish_score(h, c, "kill", 2, 77, NULL, NULL), SG_OK);
    expect_event("score", "\"score_kind\":\"kill\"");
    sg_hook_free(h);
}

static int setup(void **state)
{
    (void)state;
    if (sg_test_nats_start(&W.nats) != 0) return -1;
    if (!sim_start(&W.sim, sim_bin, sim_config, API_KEY)) return -1;
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = W.nats.url;
    so.app = "hooktest";
    so.timeout_ms = 2000;
    if (sg_store_open(&so, &W.store) != SG_OK) return -1;
    sg_bucket_options bo;
    sg_bucket_default_options(SG_BUCKET_CONNECT_TOKENS, &bo);
    sg_bucket_open(W.store, SG_BUCKET_CONNECT_TOKENS, &bo, &W.tokens);
    sg_bucket_default_options(SG_BUCKET_SESSIONS, &bo);
    sg_bucket_open(W.store, SG_BUCKET_SESSIONS, &bo, &W.sessions);
    sg_bucket_default_options(SG_BUCKET_CONTEXTS, &bo);
    sg_bucket_open(W.store, SG_BUCKET_CONTEXTS, &bo, &W.contexts);
    sg_bucket_default_options(SG_BUCKET_GAMESERVER, &bo);
    sg_bucket_open(W.store, SG_BUCKET_GAMESERVER, &bo, &W.gameserver);
    sg_queue_options qo;
    sg_queue_default_options(SG_QUEUE_SESSION_DELETES, &qo);
    sg_queue_open(W.store, SG_QUEUE_SESSION_DELETES, &qo, &W.deletes);
    sg_event_subscribe(W.store, NULL, &W.events);
    sg_edgegap_options eo;
    sg_edgegap_options_default(&eo);
    eo.base_url = W.sim.url;
    eo.api_key = API_KEY;
    eo.rate = 0;
    if (sg_edgegap_client_new(&eo, &W.api) != SG_OK) return -1;
    return W.tokens && W.sessions && W.contexts && W.gameserver && W.deletes && W.events ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sg_edgegap_client_free(W.api);
    sg_event_sub_free(W.events);
    sg_queue_close(W.deletes);
    sg_bucket_close(W.tokens);
    sg_bucket_close(W.sessions);
    sg_bucket_close(W.contexts);
    sg_bucket_close(W.gameserver);
    sg_store_close(W.store);
    sim_stop(&W.sim);
    sg_test_nats_free(&W.nats);
    sg_store_library_cleanup();
    return 0;
}

static int replay_lines;
static void count_rejections(int level, const char *line, void *user)
{
    (void)level;
    (void)user;
    if (strstr(line, "event=player_rejected") || strstr(line, "event=rejections_repeated"))
        replay_lines++;
}

static void run_verifies(sg_hook *h, uint64_t cid, const char *ip, const char *hint, int n,
                         int *rejected)
{
    sg_hook_verdict v;
    for (int i = 0; i < n; i++) {
        assert_int_equal(sg_hook_verify_wait(h, cid, ip, hint, 10000, &v), SG_OK);
        *rejected += !v.accepted;
    }
}

/* A used connection request replayed 2,000 times (the accepted client's own address), a
 * thief replaying it from another address, and 500 made-up client ids from one address:
 * every one is refused, yet the work and the output stay bounded. Edgegap is asked a couple
 * of times, not thousands; a handful of verify_rejected events and log lines are written,
 * the rest only counted; and the real player of another session is not locked out. */
static void replayed_requests_cost_almost_nothing(void **state)
{
    (void)state;
    sg_hook *h = new_hook(SERVER_A, true, "2s");
    char sid[128], sid2[128];
    uint64_t c = issue(SERVER_A, "127.0.0.1", sid, sizeof sid);
    uint64_t c2 = issue(SERVER_A, "127.0.0.2", sid2, sizeof sid2);
    expect(h, c, "127.0.0.1", sid, SG_HOOK_ACCEPTED);
    const char *gets = "GET /v1/session/{session_id} 200";
    long long gets0 = sim_count(&W.sim, gets);
    sg_hook_stats s0, s1;
    sg_hook_get_stats(h, &s0);
    replay_lines = 0;
    sg_hook_log_set_sink(count_rejections, NULL);
    sg_hook_log_set_level(SG_HOOK_LOG_INFO);
    int rejected = 0;
    run_verifies(h, c, "127.0.0.1", sid, 2000, &rejected);        /* the replay */
    run_verifies(h, c, "127.0.0.9", sid, 200, &rejected);         /* a thief's replay */
    for (uint64_t k = 0; k < 500; k++)                             /* made-up ids */
        run_verifies(h, 0x7000000000000000ULL + k, "127.0.0.7", NULL, 1, &rejected);
    sg_hook_log_set_sink(NULL, NULL);
    sg_hook_log_set_level(SG_HOOK_LOG_OFF);
    sg_hook_get_stats(h, &s1);
    assert_int_equal(rejected, 2700);
    /* Edgegap: at most once per (client id, address) pair that was not refused before. */
    long long asked = sim_count(&W.sim, gets) - gets0;
    if (asked > 2) fail_msg("Edgegap was asked %lld times", asked);
    /* Events and log lines: bounded by the verify rate, not by the flood. */
    uint64_t events = s1.events_published - s0.events_published;
    if (events > 20) fail_msg("%llu events published", (unsigned long long)events);
    if (replay_lines > 20) fail_msg("%d log lines written", replay_lines);
    assert_true(s1.quiet - s0.quiet >= 2600);
    assert_true(s1.rejected[SG_HOOK_REJECT_RATE_LIMITED] > s0.rejected[SG_HOOK_REJECT_RATE_LIMITED]);
    /* The other player (other address, other session) is still let in. */
    expect(h, c2, "127.0.0.2", sid2, SG_HOOK_ACCEPTED);
    sg_hook_free(h);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIMULATOR CONFIG\n", argv[0]);
        return 2;
    }
    sim_bin = argv[1];
    sim_config = argv[2];
    sg_log_set_level(SG_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_registers_the_server),
        cmocka_unit_test(each_check_rejects_on_its_own),
        cmocka_unit_test(two_servers_race_for_one_session),
        cmocka_unit_test(disconnect_deletes_the_session_and_publishes),
        cmocka_unit_test(failed_or_keyless_deletes_go_to_the_durable_queue),
        cmocka_unit_test(score_events_are_published),
        cmocka_unit_test(replayed_requests_cost_almost_nothing),
        cmocka_unit_test(dependency_failures_reject_as_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
