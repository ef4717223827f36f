/* The gameserver hook over an in-memory backend: every verification rule, dependency
 * failures, disconnects and retried deletes, game events, start and stop, the bounded
 * queues, and the game thread never waiting for the worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_backend.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

#define SERVER_IP "203.0.113.10"
#define SERVER_ID "aaaabbbbcccc"
#define PLAYER_IP "198.51.100.7"

typedef struct fixture {
    fake_world w;
    sg_hook *h;
} fixture;

static sg_hook_options *test_options(void)
{
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    assert_non_null(o);
    assert_int_equal(sg_hook_options_set(o, "heartbeat", "50ms"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "delete-retry", "20ms"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "verify-timeout", "5s"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "stop-timeout", "1s"), SG_OK);
    return o;
}

static sg_hook *new_hook(fake_world *w, sg_hook_options *o, const char *id, const char *ip)
{
    sg_hook *h = NULL;
    assert_int_equal(hook_new_with_backend(o, fake_backend(w, id, ip), &h), SG_OK);
    return h;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fake_world_init(&f->w);
    sg_hook_options *o = test_options();
    f->h = new_hook(&f->w, o, SERVER_ID, SERVER_IP);
    sg_hook_options_free(o);
    assert_int_equal(sg_hook_wait_started(f->h, 5000), SG_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sg_hook_free(f->h);
    fake_world_destroy(&f->w);
    free(f);
    return 0;
}

typedef struct got {
    int calls;
    sg_hook_verdict v;
    int done_calls;
    sg_status done_status;
} got;

static void on_verdict(const sg_hook_verdict *v, void *user)
{
    got *g = user;
    g->calls++;
    g->v = *v;
}

static void on_done(uint64_t client_id, sg_status st, void *user)
{
    (void)client_id;
    got *g = user;
    g->done_calls++;
    g->done_status = st;
}

/* Polls the hook like a game loop until n callbacks ran into g (bounded wait). */
static void poll_until(sg_hook *h, const int *counter, int n)
{
    for (int i = 0; i < 5000 && *counter < n; i++) {
        if (sg_hook_poll(h, 0) == 0) sg_sleep_ms(1);
    }
    assert_int_equal(*counter, n);
}

static sg_hook_verdict verify(fixture *f, uint64_t cid, const char *ip, const char *hint)
{
    got g = {0};
    assert_int_equal(sg_hook_verify(f->h, cid, ip, hint, on_verdict, &g), SG_OK);
    poll_until(f->h, &g.calls, 1);
    assert_int_equal(g.v.client_id, cid);
    return g.v;
}

static void expect_reason(sg_hook_verdict v, sg_hook_reason r)
{
    if (v.reason != (int)r)
        fail_msg("reason %s (%s), expected %s", sg_hook_reason_name(v.reason), v.message,
                 sg_hook_reason_name(r));
    assert_int_equal(v.accepted, r == SG_HOOK_ACCEPTED);
}

static void accepts_a_ready_session_for_this_server(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 11, "s11-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    sg_hook_verdict v = verify(f, 11, PLAYER_IP ":5555", "s11-S");
    expect_reason(v, SG_HOOK_ACCEPTED);
    assert_string_equal(v.session_id, "s11-S");
    assert_string_equal(v.source_ip, PLAYER_IP);
    assert_int_equal(fake_find(&f->w, "s11-S")->claim, 1);
    assert_int_equal(fake_count_events(&f->w, "player_connect"), 1);
    sg_hook_stats st;
    sg_hook_get_stats(f->h, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.players, 1);
    char *json = NULL;
    assert_int_equal(sg_hook_sessions_json(f->h, &json), SG_OK);
    assert_non_null(strstr(json, "\"client_id\":\"11\""));
    assert_non_null(strstr(json, "\"session_id\":\"s11-S\""));
    free(json);
}

static void ipv4_mapped_ipv6_source_matches_ipv4(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 12, "s12-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 12, "::ffff:" PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
}

static void rejects_unknown_or_expired_client_id(void **state)
{
    fixture *f = *state;
    sg_hook_verdict v = verify(f, 999, PLAYER_IP, NULL);
    expect_reason(v, SG_HOOK_REJECT_UNKNOWN_CLIENT);
    assert_int_equal(fake_count_events(&f->w, "verify_rejected"), 1);
    pthread_mutex_lock(&f->w.mu);
    assert_non_null(strstr(f->w.event_json[0], "reason=unknown_client"));
    pthread_mutex_unlock(&f->w.mu);
}

static void rejects_a_token_naming_another_session(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 13, "s13-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 13, PLAYER_IP, "other-S"), SG_HOOK_REJECT_SESSION_MISMATCH);
    assert_int_equal(fake_find(&f->w, "s13-S")->claim, 0);
}

static void rejects_a_session_edgegap_no_longer_knows(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 14, "s14-S", PLAYER_IP, SERVER_IP, SERVER_ID)->edgegap_gone = true;
    expect_reason(verify(f, 14, PLAYER_IP, NULL), SG_HOOK_REJECT_SESSION_GONE);
}

static void rejects_a_session_not_ready(void **state)
{
    fixture *f = *state;
    fake_session *s = fake_add(&f->w, 15, "s15-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    pthread_mutex_lock(&f->w.mu);
    s->ready = false;
    strcpy(s->status, "Seeking");
    pthread_mutex_unlock(&f->w.mu);
    sg_hook_verdict v = verify(f, 15, PLAYER_IP, NULL);
    expect_reason(v, SG_HOOK_REJECT_SESSION_NOT_READY);
    assert_non_null(strstr(v.message, "Seeking"));
}

static void rejects_an_ip_not_in_the_session(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 16, "s16-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 16, "192.0.2.99", NULL), SG_HOOK_REJECT_IP_MISMATCH);
    assert_int_equal(fake_find(&f->w, "s16-S")->claim, 0);
}

static void rejects_another_servers_session_by_ip(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 17, "s17-S", PLAYER_IP, "203.0.113.99", SERVER_ID);
    expect_reason(verify(f, 17, PLAYER_IP, NULL), SG_HOOK_REJECT_WRONG_SERVER_IP);
}

static void rejects_another_servers_session_by_request_id(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 18, "s18-S", PLAYER_IP, SERVER_IP, "ddddeeeeffff");
    expect_reason(verify(f, 18, PLAYER_IP, NULL), SG_HOOK_REJECT_WRONG_SERVER_ID);
}

static void rejects_a_second_connection_to_a_held_session(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 19, "s19-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 19, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    /* the same client id again */
    expect_reason(verify(f, 19, PLAYER_IP, NULL), SG_HOOK_REJECT_ALREADY_CONNECTED);
    /* another client id mapped to the same session */
    pthread_mutex_lock(&f->w.mu);
    f->w.client_ids[f->w.client_count] = 20;
    strcpy(f->w.client_sessions[f->w.client_count++], "s19-S");
    pthread_mutex_unlock(&f->w.mu);
    expect_reason(verify(f, 20, PLAYER_IP, NULL), SG_HOOK_REJECT_ALREADY_CONNECTED);
}

static void rejects_bad_input_through_the_queue(void **state)
{
    fixture *f = *state;
    expect_reason(verify(f, 0, PLAYER_IP, NULL), SG_HOOK_REJECT_INVALID);
    expect_reason(verify(f, 21, "not-an-ip", NULL), SG_HOOK_REJECT_INVALID);
    got g = {0};
    assert_int_equal(sg_hook_verify(f->h, 21, NULL, NULL, on_verdict, &g), SG_E_INVALID);
    assert_int_equal(sg_hook_verify(f->h, 21, PLAYER_IP, NULL, NULL, NULL), SG_E_INVALID);
}

static void dependency_failures_reject_as_unavailable(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 22, "s22-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    static const sg_status edgegap[] = {SG_E_SERVER, SG_E_TIMEOUT, SG_E_NETWORK, SG_E_RATE_LIMITED,
                                        SG_E_UNAUTHORIZED};
    for (size_t i = 0; i < sizeof edgegap / sizeof *edgegap; i++) {
        f->w.edgegap_status = edgegap[i];
        expect_reason(verify(f, 22, PLAYER_IP, NULL), SG_HOOK_REJECT_UNAVAILABLE);
    }
    f->w.edgegap_status = SG_OK;
    f->w.lookup_status = SG_E_UNAVAILABLE; /* store down */
    expect_reason(verify(f, 22, PLAYER_IP, NULL), SG_HOOK_REJECT_UNAVAILABLE);
    f->w.lookup_status = SG_OK;
    f->w.claim_status = SG_E_UNAVAILABLE;
    expect_reason(verify(f, 22, PLAYER_IP, NULL), SG_HOOK_REJECT_UNAVAILABLE);
    f->w.claim_status = SG_OK;
    assert_int_equal(fake_find(&f->w, "s22-S")->claim, 0);
    /* and once the dependencies are back, the player gets in */
    expect_reason(verify(f, 22, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
}

static void disconnect_releases_deletes_and_publishes(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 23, "s23-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 23, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    got g = {0};
    assert_int_equal(sg_hook_disconnect(f->h, 23, SG_HOOK_DISCONNECT_GOODBYE, on_done, &g), SG_OK);
    poll_until(f->h, &g.done_calls, 1);
    assert_int_equal(g.done_status, SG_OK);
    fake_session *s = fake_find(&f->w, "s23-S");
    assert_int_equal(s->claim, 2);
    assert_true(s->deleted);
    assert_int_equal(fake_count_events(&f->w, "player_disconnect"), 1);
    pthread_mutex_lock(&f->w.mu);
    bool tagged = false;
    for (int i = 0; i < f->w.event_count; i++)
        tagged |= strstr(f->w.event_json[i], "reason=goodbye") != NULL;
    pthread_mutex_unlock(&f->w.mu);
    assert_true(tagged);
    sg_hook_stats st;
    sg_hook_get_stats(f->h, &st);
    assert_int_equal(st.players, 0);
    assert_int_equal(st.deletes_done, 1);
    /* a released session cannot be claimed again */
    expect_reason(verify(f, 23, PLAYER_IP, NULL), SG_HOOK_REJECT_SESSION_GONE);
    /* a client never accepted here */
    assert_int_equal(sg_hook_disconnect_wait(f->h, 4242, SG_HOOK_DISCONNECT_KICKED, 5000),
                     SG_E_NOT_FOUND);
    assert_int_equal(sg_hook_disconnect(f->h, 23, 99, NULL, NULL), SG_E_INVALID);
}

static void a_failed_delete_completes_later(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 24, "s24-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 24, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    f->w.delete_failures = 2;
    assert_int_equal(sg_hook_disconnect_wait(f->h, 24, SG_HOOK_DISCONNECT_TIMEOUT, 5000),
                     SG_E_SERVER);
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&f->w.mu);
        bool deleted = fake_find(&f->w, "s24-S")->deleted;
        pthread_mutex_unlock(&f->w.mu);
        if (deleted) break;
        sg_sleep_ms(1);
    }
    assert_true(fake_find(&f->w, "s24-S")->deleted);
    assert_int_equal(f->w.delete_failures, 0);
}

static void score_events_are_tagged_with_session_and_client(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 25, "s25-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 25, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    got g = {0};
    assert_int_equal(sg_hook_publish_score(f->h, 25, "kill", 3, 26, on_done, &g), SG_OK);
    poll_until(f->h, &g.done_calls, 1);
    assert_int_equal(g.done_status, SG_OK);
    pthread_mutex_lock(&f->w.mu);
    const char *json = NULL;
    for (int i = 0; i < f->w.event_count; i++)
        if (strcmp(f->w.events[i], "score") == 0) json = f->w.event_json[i];
    assert_non_null(json);
    assert_non_null(strstr(json, "client_id=25 session_id=s25-S"));
    assert_non_null(strstr(json, "score_kind=kill value=3 target=26"));
    pthread_mutex_unlock(&f->w.mu);
    /* not connected here */
    got g2 = {0};
    assert_int_equal(sg_hook_publish_score(f->h, 77, "kill", 1, 0, on_done, &g2), SG_OK);
    poll_until(f->h, &g2.done_calls, 1);
    assert_int_equal(g2.done_status, SG_E_NOT_FOUND);
    assert_int_equal(sg_hook_publish_score(f->h, 25, "Kill!", 1, 0, NULL, NULL), SG_E_INVALID);
    assert_int_equal(sg_hook_publish_score(f->h, 25, "", 1, 0, NULL, NULL), SG_E_INVALID);
    assert_int_equal(sg_hook_publish_score(f->h, 25, "score", INT64_MAX, 0, NULL, NULL),
                     SG_E_INVALID);
}

/* The worker is held at a gate: the game thread still enqueues without waiting, up to the
 * queue size, then gets SG_E_FULL; once the gate opens every callback runs. If an enqueue
 * waited for the worker this test would hang (and ctest would fail it on its timeout). */
static void verify_never_waits_for_the_worker(void **state)
{
    (void)state;
    fake_world w;
    fake_world_init(&w);
    sg_hook_options *o = test_options();
    assert_int_equal(sg_hook_options_set(o, "queue-size", "8"), SG_OK);
    sg_hook *h = new_hook(&w, o, SERVER_ID, SERVER_IP);
    sg_hook_options_free(o);
    assert_int_equal(sg_hook_wait_started(h, 5000), SG_OK);
    fake_add(&w, 31, "s31-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    fake_gate(&w, true);
    got g = {0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(sg_hook_verify(h, 31, PLAYER_IP, NULL, on_verdict, &g), SG_OK);
    assert_int_equal(sg_hook_verify(h, 31, PLAYER_IP, NULL, on_verdict, &g), SG_E_FULL);
    assert_int_equal(sg_hook_disconnect(h, 31, SG_HOOK_DISCONNECT_GOODBYE, NULL, NULL), SG_E_FULL);
    assert_int_equal(sg_hook_poll(h, 0), 0);
    sg_hook_stats st;
    sg_hook_get_stats(h, &st);
    assert_int_equal(st.full, 2);
    assert_int_equal(st.pending, 8);
    fake_gate(&w, false);
    poll_until(h, &g.calls, 8);
    sg_hook_get_stats(h, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.rejected[SG_HOOK_REJECT_ALREADY_CONNECTED], 7);
    assert_int_equal(st.pending, 0);
    sg_hook_free(h);
    fake_world_destroy(&w);
}

typedef struct racer {
    sg_hook *h;
    pthread_barrier_t *go;
    sg_hook_verdict v;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->go);
    assert_int_equal(sg_hook_verify_wait(r->h, 41, PLAYER_IP, NULL, 5000, &r->v), SG_OK);
    return NULL;
}

/* Two hooks (two servers of one deployment, as a test can have) race for one session: the
 * claim lets exactly one win. */
static void two_servers_racing_for_one_session(void **state)
{
    (void)state;
    fake_world w;
    fake_world_init(&w);
    sg_hook_options *o = test_options();
    for (int round = 0; round < 20; round++) {
        char sid[32];
        snprintf(sid, sizeof sid, "race%d-S", round);
        w.client_count = 0;
        fake_add(&w, 41, sid, PLAYER_IP, SERVER_IP, SERVER_ID);
        racer r[2];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            r[i].h = new_hook(&w, o, SERVER_ID, SERVER_IP);
            r[i].go = &go;
            assert_int_equal(sg_hook_wait_started(r[i].h, 5000), SG_OK);
        }
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, race, &r[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        assert_int_equal(r[0].v.accepted + r[1].v.accepted, 1);
        sg_hook_verdict *loser = r[0].v.accepted ? &r[1].v : &r[0].v;
        expect_reason(*loser, SG_HOOK_REJECT_ALREADY_CONNECTED);
        for (int i = 0; i < 2; i++)
            sg_hook_free(r[i].h);
        pthread_barrier_destroy(&go);
    }
    sg_hook_options_free(o);
    fake_world_destroy(&w);
}

static void start_retries_and_waiting_verifies_follow(void **state)
{
    (void)state;
    fake_world w;
    fake_world_init(&w);
    w.start_failures = 3;
    fake_add(&w, 51, "s51-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    sg_hook_options *o = test_options();
    sg_hook *h = new_hook(&w, o, SERVER_ID, SERVER_IP);
    sg_hook_options_free(o);
    got g = {0};
    assert_int_equal(sg_hook_verify(h, 51, PLAYER_IP, NULL, on_verdict, &g), SG_OK);
    assert_int_equal(sg_hook_wait_started(h, 10000), SG_OK);
    poll_until(h, &g.calls, 1);
    expect_reason(g.v, SG_HOOK_ACCEPTED);
    char *ctx = NULL;
    assert_int_equal(sg_hook_context_json(h, &ctx), SG_OK);
    assert_non_null(strstr(ctx, "request_id"));
    free(ctx);
    sg_hook_free(h);
    fake_world_destroy(&w);
}

static void verifies_before_a_start_that_never_comes_are_unavailable(void **state)
{
    (void)state;
    fake_world w;
    fake_world_init(&w);
    w.start_failures = 1000000;
    sg_hook_options *o = test_options();
    assert_int_equal(sg_hook_options_set(o, "verify-timeout", "100ms"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "start-timeout", "300ms"), SG_OK);
    sg_hook *h = new_hook(&w, o, SERVER_ID, SERVER_IP);
    sg_hook_options_free(o);
    got g = {0};
    assert_int_equal(sg_hook_verify(h, 52, PLAYER_IP, NULL, on_verdict, &g), SG_OK);
    poll_until(h, &g.calls, 1);
    expect_reason(g.v, SG_HOOK_REJECT_UNAVAILABLE);
    assert_int_equal(sg_hook_wait_started(h, 10000), SG_E_UNAVAILABLE);
    /* The game learns why, not only that it failed. */
    assert_string_equal(sg_last_error(), "hook: start failed: fake: context not available yet "
                                         "(gave up after start-timeout)");
    sg_hook_verdict v;
    assert_int_equal(sg_hook_verify_wait(h, 52, PLAYER_IP, NULL, 5000, &v), SG_OK);
    expect_reason(v, SG_HOOK_REJECT_UNAVAILABLE);
    sg_hook_free(h);
    fake_world_destroy(&w);
}

/* One address holds at most claims-per-ip (4) connections on a server: the fifth player from
 * it is refused ip_limit, and gets in once one of the four left. */
static void one_address_holds_a_bounded_number_of_seats(void **state)
{
    fixture *f = *state;
    for (uint64_t c = 71; c <= 75; c++) {
        char sid[32];
        snprintf(sid, sizeof sid, "s%llu-S", (unsigned long long)c);
        fake_add(&f->w, c, sid, PLAYER_IP, SERVER_IP, SERVER_ID);
    }
    for (uint64_t c = 71; c <= 74; c++) expect_reason(verify(f, c, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    sg_hook_verdict v = verify(f, 75, PLAYER_IP, NULL);
    expect_reason(v, SG_HOOK_REJECT_IP_LIMIT);
    assert_non_null(strstr(v.message, "claims-per-ip"));
    assert_string_equal(sg_hook_reason_name(SG_HOOK_REJECT_IP_LIMIT), "ip_limit");
    got g = {0};
    assert_int_equal(sg_hook_disconnect(f->h, 71, SG_HOOK_DISCONNECT_GOODBYE, on_done, &g), SG_OK);
    poll_until(f->h, &g.done_calls, 1);
    expect_reason(verify(f, 75, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
}

/* A server at its capacity refuses the next player as server_full (whatever their address),
 * takes them once someone left, and its heartbeats carry the player count. */
static void a_full_server_refuses_with_its_own_reason(void **state)
{
    (void)state;
    fake_world w;
    fake_world_init(&w);
    w.capacity = 2;
    sg_hook_options *o = test_options();
    sg_hook *h = new_hook(&w, o, SERVER_ID, SERVER_IP);
    sg_hook_options_free(o);
    assert_int_equal(sg_hook_wait_started(h, 5000), SG_OK);
    fixture f = {.h = h}; /* (verify reads only its hook) */
    fake_add(&w, 81, "s81-S", "198.51.100.81", SERVER_IP, SERVER_ID);
    fake_add(&w, 82, "s82-S", "198.51.100.82", SERVER_IP, SERVER_ID);
    fake_add(&w, 83, "s83-S", "198.51.100.83", SERVER_IP, SERVER_ID);
    expect_reason(verify(&f, 81, "198.51.100.81", NULL), SG_HOOK_ACCEPTED);
    expect_reason(verify(&f, 82, "198.51.100.82", NULL), SG_HOOK_ACCEPTED);
    sg_hook_verdict v = verify(&f, 83, "198.51.100.83", NULL);
    expect_reason(v, SG_HOOK_REJECT_SERVER_FULL);
    assert_non_null(strstr(v.message, "2 players (capacity)"));
    assert_string_equal(sg_hook_reason_name(SG_HOOK_REJECT_SERVER_FULL), "server_full");
    assert_int_equal(fake_find(&w, "s83-S")->claim, 0); /* refused before any claim */
    for (int i = 0; i < 5000 && w.last_players != 2; i++) {
        sg_hook_poll(h, 0);
        sg_sleep_ms(1);
    }
    assert_int_equal(w.last_players, 2);
    got g = {0};
    assert_int_equal(sg_hook_disconnect(h, 81, SG_HOOK_DISCONNECT_GOODBYE, on_done, &g), SG_OK);
    poll_until(h, &g.done_calls, 1);
    expect_reason(verify(&f, 83, "198.51.100.83", NULL), SG_HOOK_ACCEPTED);
    assert_int_equal(fake_count_events(&w, "verify_rejected"), 1);
    sg_hook_free(h);
    fake_world_destroy(&w);
}

static void stop_refuses_new_requests_and_deregisters(void **state)
{
    fixture *f = *state;
    fake_add(&f->w, 61, "s61-S", PLAYER_IP, SERVER_IP, SERVER_ID);
    expect_reason(verify(f, 61, PLAYER_IP, NULL), SG_HOOK_ACCEPTED);
    got g = {0};
    assert_int_equal(sg_hook_disconnect(f->h, 61, SG_HOOK_DISCONNECT_SERVER_STOP, on_done, &g),
                     SG_OK);
    assert_int_equal(sg_hook_stop(f->h, 2000), SG_OK);
    poll_until(f->h, &g.done_calls, 1); /* queued work finished before the stop */
    assert_true(fake_find(&f->w, "s61-S")->deleted);
    assert_int_equal(f->w.stops, 1);
    assert_int_equal(fake_count_events(&f->w, "server_down"), 1);
    got g2 = {0};
    assert_int_equal(sg_hook_verify(f->h, 61, PLAYER_IP, NULL, on_verdict, &g2), SG_E_UNAVAILABLE);
    assert_int_equal(sg_hook_stop(f->h, 2000), SG_OK); /* idempotent */
    sg_hook_stats st;
    sg_hook_get_stats(f->h, &st);
    assert_int_equal(st.stopped, 1);
}

static void heartbeats_run_on_their_own(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&f->w.mu);
        int n = f->w.heartbeats;
        pthread_mutex_unlock(&f->w.mu);
        if (n >= 2) break;
        sg_sleep_ms(1);
    }
    assert_true(f->w.heartbeats >= 2);
}

/* The store's cluster and connection settings, under the same names and variables as the
 * matchmaker's, reach the options the hook opens the store with. */
static void store_settings_reach_the_store_options(void **state)
{
    (void)state;
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    sg_store_options so;
    assert_int_equal(hook_store_options(o, &so), SG_OK); /* defaults, as the store's */
    assert_int_equal(so.replicas, 1);
    assert_int_equal(so.reconnect_wait_ms, 2000);
    assert_int_equal(so.max_reconnects, -1);
    assert_null(so.tls_ca);
    hook_store_options_clear(&so);

    setenv("SEATGATE_KV_REPLICAS", "3", 1);
    setenv("SEATGATE_NATS_RECONNECT_WAIT", "250ms", 1);
    setenv("SEATGATE_NATS_MAX_RECONNECTS", "7", 1);
    setenv("SEATGATE_NATS_TLS_CA", "/etc/ca.pem", 1);
    setenv("SEATGATE_NATS_TLS_CERT", "/etc/c.pem", 1);
    setenv("SEATGATE_NATS_TLS_KEY", "/etc/k.pem", 1);
    setenv("SEATGATE_NATS_NAME", "gs-1", 1);
    setenv("SEATGATE_STORE_TIMEOUT", "3s", 1);
    sg_status st = sg_hook_options_load_env(o);
    unsetenv("SEATGATE_KV_REPLICAS");
    unsetenv("SEATGATE_NATS_RECONNECT_WAIT");
    unsetenv("SEATGATE_NATS_MAX_RECONNECTS");
    unsetenv("SEATGATE_NATS_TLS_CA");
    unsetenv("SEATGATE_NATS_TLS_CERT");
    unsetenv("SEATGATE_NATS_TLS_KEY");
    unsetenv("SEATGATE_NATS_NAME");
    unsetenv("SEATGATE_STORE_TIMEOUT");
    assert_int_equal(st, SG_OK);
    assert_string_equal(sg_hook_options_get(o, "kv-replicas"), "3");
    assert_int_equal(hook_store_options(o, &so), SG_OK);
    assert_int_equal(so.replicas, 3);
    assert_int_equal(so.reconnect_wait_ms, 250);
    assert_int_equal(so.max_reconnects, 7);
    assert_int_equal(so.timeout_ms, 3000);
    assert_string_equal(so.tls_ca, "/etc/ca.pem");
    assert_string_equal(so.tls_cert, "/etc/c.pem");
    assert_string_equal(so.tls_key, "/etc/k.pem");
    assert_string_equal(so.name, "gs-1");
    hook_store_options_clear(&so);
    assert_null(so.tls_ca);

    /* The store's ranges, errors naming the setting and its variable. */
    assert_int_equal(sg_hook_options_set(o, "kv-replicas", "6"), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "SEATGATE_KV_REPLICAS"));
    assert_int_equal(sg_hook_options_set(o, "kv-replicas", "0"), SG_E_INVALID);
    assert_int_equal(sg_hook_options_set(o, "nats-max-reconnects", "-2"), SG_E_INVALID);
    assert_int_equal(sg_hook_options_set(o, "nats-max-reconnects", "-1"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "nats-reconnect-wait", "1ms"), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "SEATGATE_NATS_RECONNECT_WAIT"));
    assert_string_equal(sg_hook_options_get(o, "kv-replicas"), "3"); /* unchanged */

    /* A certificate without its key is refused when the hook is made. */
    assert_int_equal(sg_hook_options_set(o, "nats-tls-key", NULL), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-url", "http://127.0.0.1:9/c"),
                     SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-token", "t"), SG_OK);
    sg_hook *h = NULL;
    assert_int_equal(sg_hook_new(o, &h), SG_E_INVALID);
    assert_null(h);
    assert_non_null(strstr(sg_last_error(), "nats-tls-key"));
    sg_hook_options_free(o);
}

static void options_validate_and_hide_secrets(void **state)
{
    (void)state;
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    assert_string_equal(sg_hook_options_get(o, "port-name"), "game"); /* the one default name */
    assert_int_equal(sg_hook_options_set(o, "no-such-thing", "1"), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "no-such-thing"));
    assert_int_equal(sg_hook_options_set(o, "heartbeat", "soon"), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "SEATGATE_HEARTBEAT"));
    assert_int_equal(sg_hook_options_set(o, "queue-size", "-3"), SG_E_INVALID);
    assert_int_equal(sg_hook_options_set(o, "edgegap-api-key", "token s3cr3t-key"), SG_OK);
    assert_string_equal(sg_hook_options_get(o, "edgegap-api-key"), "(set)");
    assert_null(sg_hook_options_get(o, "nope"));
    setenv("ARBITRIUM_REQUEST_ID", "0123456789ab", 1);
    setenv("SEATGATE_PORT_NAME", "udp-game", 1);
    setenv("SEATGATE_CAPACITY", "lots", 1);
    assert_int_equal(sg_hook_options_load_env(o), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "SEATGATE_CAPACITY"));
    unsetenv("SEATGATE_CAPACITY");
    assert_int_equal(sg_hook_options_load_env(o), SG_OK);
    assert_string_equal(sg_hook_options_get(o, "arbitrium-request-id"), "0123456789ab");
    assert_string_equal(sg_hook_options_get(o, "port-name"), "udp-game");
    unsetenv("ARBITRIUM_REQUEST_ID");
    unsetenv("SEATGATE_PORT_NAME");
    assert_true(sg_hook_options_count() > 20);
    assert_string_equal(sg_hook_options_name(0), "store-url");
    assert_null(sg_hook_options_name(10000));

    /* help texts: every setting has a variable and help; secret defaults never shown */
    size_t secrets = 0;
    for (size_t i = 0; i < sg_hook_options_count(); i++) {
        const char *env = NULL, *def = "x", *help = NULL;
        bool secret = false;
        assert_true(sg_hook_options_describe(i, &env, &def, &help, &secret));
        assert_non_null(env);
        assert_non_null(help);
        if (secret) {
            assert_null(def);
            secrets++;
        }
    }
    assert_true(secrets >= 4);
    const char *env = NULL, *def = NULL;
    assert_true(sg_hook_options_describe(0, &env, &def, NULL, NULL));
    assert_string_equal(env, "SEATGATE_STORE_URL");
    assert_string_equal(def, "sqlite://./seatgate.db");
    assert_false(sg_hook_options_describe(sg_hook_options_count(), NULL, NULL, NULL, NULL));
    sg_hook_options_free(o);
    assert_string_equal(sg_hook_reason_name(SG_HOOK_REJECT_IP_MISMATCH), "ip_mismatch");
    assert_string_equal(sg_hook_reason_name((sg_hook_reason)99), "unknown");
}

/* sg_hook_new refuses what could only fail later, naming the setting: a store URL that
 * does not parse (its password never echoed), half of a NATS user/password pair, a key that
 * cannot be an Edgegap key, a log level that is not one. */
static void bad_settings_are_refused_by_sg_hook_new(void **state)
{
    (void)state;
    struct {
        const char *name, *value, *expect;
    } cases[] = {
        {"store-url", "redis://u:hunter2pass@127.0.0.1:6379",
         "--store-url: unknown scheme 'redis'"},
        {"store-url", "nats://u:hunter2pass@127.0.0.1:4222",
         "--store-url: credentials in the URL are not accepted"},
        {"nats-user", "gs", "nats-user is set but nats-password is not"},
        {"edgegap-api-key", "k", "--edgegap-api-key (SEATGATE_EDGEGAP_API_KEY): 1 characters"},
        {"cert-digest", "ab:cd:ef", "--cert-digest (SEATGATE_CERT_DIGEST): certificate digest: "
                                    "expected the 32-byte SHA-256 of the certificate (64 hex "
                                    "digits, colons allowed), got 6 digits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_hook_options *o = NULL;
        assert_int_equal(sg_hook_options_new(&o), SG_OK);
        assert_int_equal(sg_hook_options_set(o, "arbitrium-context-url", "http://127.0.0.1:9/c"),
                         SG_OK);
        assert_int_equal(sg_hook_options_set(o, "arbitrium-context-token", "t"), SG_OK);
        assert_int_equal(sg_hook_options_set(o, cases[i].name, cases[i].value), SG_OK);
        sg_hook *h = NULL;
        assert_int_equal(sg_hook_new(o, &h), SG_E_INVALID);
        assert_null(h);
        if (!strstr(sg_last_error(), cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, sg_last_error(), cases[i].expect);
        assert_null(strstr(sg_last_error(), "hunter2pass"));
        sg_hook_options_free(o);
    }
    /* A value from a fixed list is refused when it is set. */
    sg_hook_options *o = NULL;
    assert_int_equal(sg_hook_options_new(&o), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "log-level", "loud"), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "invalid value loud for --log-level (SEATGATE_LOG_LEVEL, "
                                         "from set): expected one of debug, info, warn, error, "
                                         "off");
    assert_string_equal(sg_hook_options_get(o, "log-level"), "info");
    sg_hook_options_free(o);
}

static int sink_lines;
static int sink_levels[8];
static char sink_last[512];
static void game_logger(int level, const char *line, void *user)
{
    assert_ptr_equal(user, &sink_lines);
    if (sink_lines < 8) sink_levels[sink_lines] = level;
    sink_lines++;
    snprintf(sink_last, sizeof sink_last, "%s", line);
}

/* A game routes the hook's lines into its own logger, at the level it chooses; the hook's
 * own log-level setting does the same at sg_hook_new. */
static void a_game_takes_the_hooks_log_lines(void **state)
{
    (void)state;
    sg_hook_log_set_level(SG_HOOK_LOG_WARN);
    sg_hook_log_set_sink(game_logger, &sink_lines);
    sink_lines = 0;
    fake_world w;
    fake_world_init(&w);
    w.start_failures = 2; /* two start_retry warnings, then started (info: filtered) */
    sg_hook_options *o = test_options();
    sg_hook *h = new_hook(&w, o, SERVER_ID, SERVER_IP);
    assert_int_equal(sg_hook_wait_started(h, 10000), SG_OK);
    sg_hook_free(h);
    assert_int_equal(sink_lines, 2);
    assert_int_equal(sink_levels[0], SG_HOOK_LOG_WARN);
    assert_non_null(strstr(sink_last, "level=warn comp=hook event=start_retry"));
    assert_null(strchr(sink_last, '\n'));

    /* log-level=off through the options silences it; the sink stays the game's */
    assert_int_equal(sg_hook_options_set(o, "log-level", "off"), SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-url", "http://127.0.0.1:9/c"),
                     SG_OK);
    assert_int_equal(sg_hook_options_set(o, "arbitrium-context-token", "t"), SG_OK);
    assert_int_equal(sg_hook_new(o, &h), SG_OK); /* starts in the background; stopped below */
    sink_lines = 0;
    sg_hook_free(h);
    assert_int_equal(sink_lines, 0);
    sg_hook_options_free(o);
    sg_hook_log_set_sink(NULL, NULL);
    sg_hook_log_set_level(SG_HOOK_LOG_OFF);
    fake_world_destroy(&w);
}

/* The session id the matchmaker wrote into the token's user data, read as a game does. */
static void session_id_from_user_data(void **state)
{
    (void)state;
    uint8_t ud[256] = {0};
    ud[0] = 12;
    memcpy(ud + 1, "f00dfeed42ab", 12);
    char sid[256];
    assert_int_equal(sg_hook_session_from_user_data(ud, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, "f00dfeed42ab");
    ud[0] = 0;
    assert_int_equal(sg_hook_session_from_user_data(ud, sid, sizeof sid), SG_E_MALFORMED);
    ud[0] = 3;
    ud[2] = ' ';
    assert_int_equal(sg_hook_session_from_user_data(ud, sid, sizeof sid), SG_E_MALFORMED);
    assert_int_equal(sg_hook_session_from_user_data(NULL, sid, sizeof sid), SG_E_INVALID);
}

int main(void)
{
    sg_log_set_level(SG_LOG_OFF);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(accepts_a_ready_session_for_this_server),
        T(ipv4_mapped_ipv6_source_matches_ipv4),
        T(rejects_unknown_or_expired_client_id),
        T(rejects_a_token_naming_another_session),
        T(rejects_a_session_edgegap_no_longer_knows),
        T(rejects_a_session_not_ready),
        T(rejects_an_ip_not_in_the_session),
        T(rejects_another_servers_session_by_ip),
        T(rejects_another_servers_session_by_request_id),
        T(rejects_a_second_connection_to_a_held_session),
        T(rejects_bad_input_through_the_queue),
        T(dependency_failures_reject_as_unavailable),
        T(disconnect_releases_deletes_and_publishes),
        T(a_failed_delete_completes_later),
        T(score_events_are_tagged_with_session_and_client),
        T(one_address_holds_a_bounded_number_of_seats),
        T(stop_refuses_new_requests_and_deregisters),
        T(heartbeats_run_on_their_own),
        cmocka_unit_test(a_full_server_refuses_with_its_own_reason),
        cmocka_unit_test(verify_never_waits_for_the_worker),
        cmocka_unit_test(two_servers_racing_for_one_session),
        cmocka_unit_test(start_retries_and_waiting_verifies_follow),
        cmocka_unit_test(verifies_before_a_start_that_never_comes_are_unavailable),
        cmocka_unit_test(options_validate_and_hide_secrets),
        cmocka_unit_test(store_settings_reach_the_store_options),
        cmocka_unit_test(bad_settings_are_refused_by_sg_hook_new),
        cmocka_unit_test(a_game_takes_the_hooks_log_lines),
        cmocka_unit_test(session_id_from_user_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
