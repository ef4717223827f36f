/* Simulator tests, faults group: injected errors, bursts, 429s, rate limits, latency, hangs
 * under concurrent load, and request accounting. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_test.h"

static void set_faults(const char *json)
{
    http_resp r;
    admin(&r, &g_sim, "POST", "/_sim/faults", json);
    assert_int_equal(r.status, 200);
    http_free(&r);
}

static void clear_faults(void)
{
    http_resp r;
    admin(&r, &g_sim, "DELETE", "/_sim/faults", NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    set_faults("{\"rate_limit_rps\":0}");
}

static long list_status(http_resp *out)
{
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/sessions", NULL);
    long s = r.status;
    if (out)
        *out = r;
    else
        http_free(&r);
    return s;
}

static void test_error_rate_one_fails_every_call(void **state)
{
    (void)state;
    set_faults("{\"error_rate\":1,\"error_status\":503}");
    for (int i = 0; i < 5; i++) {
        http_resp r;
        list_status(&r);
        assert_error_body(&r, 503);
        http_free(&r);
    }
    http_resp r; /* admin endpoints are never faulted */
    admin(&r, &g_sim, "GET", "/_sim/state", NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    clear_faults();
    assert_int_equal(list_status(NULL), 200);
}

static void test_error_rate_half_mixes_500_503_and_200(void **state)
{
    (void)state;
    set_faults("{\"error_rate\":0.5}");
    int ok = 0, s500 = 0, s503 = 0;
    for (int i = 0; i < 200; i++) {
        long s = list_status(NULL);
        if (s == 200)
            ok++;
        else if (s == 500)
            s500++;
        else if (s == 503)
            s503++;
        else
            fail_msg("unexpected status %ld", s);
    }
    clear_faults();
    assert_true(ok > 0 && s500 > 0 && s503 > 0);
}

static void test_burst_fails_the_next_calls(void **state)
{
    (void)state;
    set_faults("{\"burst\":3,\"burst_status\":500}");
    for (int i = 0; i < 3; i++)
        assert_int_equal(list_status(NULL), 500);
    assert_int_equal(list_status(NULL), 200);
    clear_faults();
}

static void test_forced_429_carries_retry_after(void **state)
{
    (void)state;
    set_faults("{\"force_429\":2,\"retry_after_s\":7}");
    for (int i = 0; i < 2; i++) {
        http_resp r;
        list_status(&r);
        assert_error_body(&r, 429);
        assert_int_equal(r.retry_after, 7);
        http_free(&r);
    }
    assert_int_equal(list_status(NULL), 200);
    clear_faults();
}

static void test_rate_limit_answers_429_with_retry_after(void **state)
{
    (void)state;
    set_faults("{\"rate_limit_rps\":0.5,\"rate_limit_burst\":2}");
    int ok = 0, limited = 0;
    for (int i = 0; i < 10; i++) {
        http_resp r;
        long s = list_status(&r);
        if (s == 200) ok++;
        if (s == 429) {
            limited++;
            assert_true(r.retry_after >= 1);
            assert_non_null(jstr(r.json, "message"));
        }
        http_free(&r);
    }
    assert_true(ok >= 2);
    assert_true(limited >= 1);
    assert_true(state_num("faults.rate_limited") >= 1);
    clear_faults();
    assert_int_equal(list_status(NULL), 200);
}

static void test_latency_delays_but_answers(void **state)
{
    (void)state;
    double before = state_num("server.delayed_total");
    set_faults("{\"latency_ms\":200}");
    assert_int_equal(list_status(NULL), 200);
    clear_faults();
    assert_true(state_num("server.delayed_total") == before + 1);
}

/* Edgegap acts, then the answer never arrives: the session exists although the caller
 * never learned its id (a create answer lost to a timeout or a dropped connection). */
static void test_lost_create_answer_leaves_the_session(void **state)
{
    (void)state;
    double live = state_num("counters.sessions_live");
    set_faults("{\"lose_create_answers\":1}");
    http_resp r;
    api(&r, &g_sim, "POST", "/v1/session",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"198.51.100.77\"]}");
    assert_int_equal(r.status, 0); /* no answer: the connection was closed */
    http_free(&r);
    assert_true(state_num("counters.sessions_live") == live + 1);
    assert_true(state_num("server.lost_answers") >= 1);
    assert_true(state_num("faults.lose_create_answers") == 0); /* only the next one */
    /* Only creates are affected; the next create is answered. */
    char id[64];
    create("big", NULL, id, sizeof id);
    assert_int_equal(delete_session(id), 200);
    /* A delayed answer: the session exists before the answer leaves. */
    set_faults("{\"create_answer_delay_ms\":400}");
    api(&r, &g_sim, "GET", "/v1/sessions", NULL); /* other calls are not delayed */
    assert_int_equal(r.status, 200);
    http_free(&r);
    double held = state_num("server.held_answers");
    create("big", NULL, id, sizeof id);
    assert_true(state_num("server.held_answers") == held + 1);
    clear_faults();
    assert_int_equal(delete_session(id), 200);
    /* The session the lost answer created is still there: list it and delete it. */
    api(&r, &g_sim, "GET", "/v1/sessions?limit=100", NULL);
    assert_int_equal(r.status, 200);
    const cJSON *d = cJSON_GetObjectItem(r.json, "data"), *e;
    int deleted = 0;
    cJSON_ArrayForEach(e, d)
    {
        const char *sid = jstr(e, "session_id");
        http_resp g;
        get_session(sid, &g);
        const char *ip = jstr(g.json, "session_ips.0.ip");
        if (g.status == 200 && ip && strcmp(ip, "198.51.100.77") == 0)
            deleted += delete_session(sid) == 200;
        http_free(&g);
    }
    http_free(&r);
    assert_int_equal(deleted, 1);
    assert_true(state_num("counters.sessions_live") == live);
}

typedef struct many {
    const sim_proc *p;
    int n;
    int ok;
} many;

/* Runs n concurrent GETs (curl multi) and counts the 200s. */
static void *run_many(void *arg)
{
    many *m = arg;
    CURLM *multi = curl_multi_init();
    CURL **h = calloc((size_t)m->n, sizeof *h);
    struct curl_slist *hdr = curl_slist_append(NULL, "Authorization: token " TEST_KEY);
    char url[256];
    strfmt(url, sizeof url, "%s/v1/sessions", m->p->url);
    for (int i = 0; i < m->n; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, sg_test_discard);
        curl_multi_add_handle(multi, h[i]);
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)m->n);
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running) curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < m->n; i++) {
        long code = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) m->ok++;
        curl_multi_remove_handle(multi, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_slist_free_all(hdr);
    free(h);
    curl_multi_cleanup(multi);
    return NULL;
}

static void test_hang_holds_calls_until_cleared_without_blocking_others(void **state)
{
    (void)state;
    set_faults("{\"hang\":true}");
    many m = {.p = &g_sim, .n = 300};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_many, &m), 0);
    /* All 300 are held while the admin endpoints keep answering. */
    double hung = 0;
    for (int i = 0; i < 1000 && hung < 300; i++) {
        hung = state_num("server.hung_requests");
        if (hung < 300) sg_test_sleep_ms(20);
    }
    assert_true(hung == 300);
    /* A client that gives up sees a timeout, not an answer. */
    char url[256];
    strfmt(url, sizeof url, "%s/v1/sessions", g_sim.url);
    http_resp r;
    http_do(&r, "GET", url, "token " TEST_KEY, NULL, 0, 300);
    assert_int_equal(r.curl, CURLE_OPERATION_TIMEDOUT);
    http_free(&r);
    clear_faults();
    pthread_join(t, NULL);
    assert_int_equal(m.ok, 300);
    assert_true(state_num("server.hung_requests") == 0);
}

static void test_bad_fault_settings_are_400(void **state)
{
    (void)state;
    const char *bad[] = {"{\"error_rate\":2}", "{\"nope\":1}", "{\"hang\":\"yes\"}", "[1]", "{"};
    for (size_t i = 0; i < 5; i++) {
        http_resp r;
        admin(&r, &g_sim, "POST", "/_sim/faults", bad[i]);
        assert_error_body(&r, 400);
        http_free(&r);
    }
    assert_int_equal(list_status(NULL), 200);
}

static void test_faults_set_at_start(void **state)
{
    (void)state;
    sim_proc p;
    const char *extra[] = {"--fault-burst", "2", "--fault-force-429", "1", NULL};
    assert_true(sim_proc_start(&p, g_bin, NULL, extra));
    long s[4];
    for (int i = 0; i < 4; i++) {
        http_resp r;
        api(&r, &p, "GET", "/v1/sessions", NULL);
        s[i] = r.status;
        http_free(&r);
    }
    assert_int_equal(sim_proc_stop(&p), 0);
    assert_int_equal(s[0], 429);
    assert_int_equal(s[1], 503);
    assert_int_equal(s[2], 503);
    assert_int_equal(s[3], 200);
}

static void test_request_counts_by_route_and_status(void **state)
{
    (void)state;
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/session/000000000000-S", NULL);
    http_free(&r);
    admin(&r, &g_sim, "GET", "/_sim/state", NULL);
    assert_true(jnum(cJSON_GetObjectItem(r.json, "requests"), "GET /v1/session/{session_id} 404") >=
                1);
    http_free(&r);
}

int sim_tests_faults(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_rate_one_fails_every_call),
        cmocka_unit_test(test_error_rate_half_mixes_500_503_and_200),
        cmocka_unit_test(test_burst_fails_the_next_calls),
        cmocka_unit_test(test_forced_429_carries_retry_after),
        cmocka_unit_test(test_rate_limit_answers_429_with_retry_after),
        cmocka_unit_test(test_latency_delays_but_answers),
        cmocka_unit_test(test_lost_create_answer_leaves_the_session),
        cmocka_unit_test(test_hang_holds_calls_until_cleared_without_blocking_others),
        cmocka_unit_test(test_bad_fault_settings_are_400),
        cmocka_unit_test(test_faults_set_at_start),
        cmocka_unit_test(test_request_counts_by_route_and_status),
    };
    return cmocka_run_group_tests_name("edgegap_sim.faults", tests, setup_plain, teardown);
}
