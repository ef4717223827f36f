/* The Edgegap client against seatgate-edgegap-sim: every call, every error class the simulator
 * can produce, retries and their bounds, the pace under a burst, timeouts on a hanging
 * server, and the non-blocking path with hundreds of concurrent requests.
 * Usage: test_edgegap_client <path to seatgate-edgegap-sim> <sim-config.json> */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "seatgate/edgegap.h"
#include "seatgate/log.h"
#include "sim_harness.h"

#define API_KEY "0f6c1a2b-e458-4592-b607-c2c28afd8b62"
#define DEP_V1 "5a1d0c0ffee1"
#define DEP_V2 "0b2c0ffee002"

static const char *sim_bin, *sim_config;
static sim_proc sim;

/* ---- attempt log (observer) ---- */

#define MAX_LOG 8192
static sg_edgegap_attempt attempt_log[MAX_LOG];
static size_t attempt_n;

static void observe(const sg_edgegap_attempt *a, void *user)
{
    (void)user;
    if (attempt_n < MAX_LOG) attempt_log[attempt_n++] = *a;
}

static void base_options(sg_edgegap_options *o)
{
    sg_edgegap_options_default(o);
    o->base_url = sim.url;
    o->api_key = "token " API_KEY;
    o->connect_timeout_ms = 2000;
    o->timeout_ms = 5000;
    o->backoff_base_ms = 5;
    o->backoff_max_ms = 20;
    o->rate = 0;
    o->observe = observe;
}

static sg_edgegap_client *client_with(const sg_edgegap_options *o)
{
    sg_edgegap_client *c = NULL;
    assert_int_equal(sg_edgegap_client_new(o, &c), SG_OK);
    attempt_n = 0;
    return c;
}

static sg_edgegap_client *client_default(void)
{
    sg_edgegap_options o;
    base_options(&o);
    return client_with(&o);
}

static void set_faults(const char *json)
{
    assert_int_equal(sim_http(&sim, "POST", "/_sim/faults", json, NULL), 200);
}

static int reset_faults(void **state)
{
    (void)state;
    return sim_http(&sim, "DELETE", "/_sim/faults", NULL, NULL) == 200 ? 0 : -1;
}

static sg_edgegap_request *req_create(const char *version)
{
    static const char *ips[] = {"203.0.113.7"};
    sg_edgegap_create_params p = {
        .app_name = "demo", .version_name = version, .ip_list = ips, .ip_count = 1};
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_create_session(&p, &r), SG_OK);
    return r;
}

static sg_edgegap_request *req_get(const char *id)
{
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_get_session(id, &r), SG_OK);
    return r;
}

static sg_edgegap_request *req_delete(const char *id)
{
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_delete_session(id, &r), SG_OK);
    return r;
}

/* Creates a session (blocking) and returns its id in buf. */
static void create_session(sg_edgegap_client *c, const char *version, char *buf, size_t size)
{
    sg_edgegap_request *r = req_create(version);
    sg_edgegap_result res;
    assert_int_equal(sg_edgegap_perform(c, r, &res), SG_OK);
    assert_non_null(res.created);
    snprintf(buf, size, "%s", res.created->session_id);
    sg_edgegap_result_clear(&res);
    sg_edgegap_request_free(r);
}

static sg_status perform_free(sg_edgegap_client *c, sg_edgegap_request *r, sg_edgegap_result *res)
{
    sg_status st = sg_edgegap_perform(c, r, res);
    sg_edgegap_request_free(r);
    return st;
}

/* ---- every call ---- */

static void every_call_works_against_the_simulator(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    sg_edgegap_result res;
    sg_edgegap_request *r = NULL;

    assert_int_equal(sg_edgegap_request_get_app_version("demo", "v1", &r), SG_OK);
    assert_int_equal(perform_free(c, r, &res), SG_OK);
    assert_string_equal(res.app_version->name, "v1");
    assert_true(res.app_version->is_active);
    sg_edgegap_result_clear(&res);
    assert_int_equal(sg_edgegap_request_get_app_version("demo", "old", &r), SG_OK);
    assert_int_equal(perform_free(c, r, &res), SG_OK);
    assert_false(res.app_version->is_active);
    sg_edgegap_result_clear(&res);
    assert_int_equal(sg_edgegap_request_get_app_version("demo", "nope", &r), SG_OK);
    assert_int_equal(perform_free(c, r, &res), SG_E_NOT_FOUND);
    assert_int_equal(res.http_status, 404);
    assert_true(res.message[0] != '\0');
    sg_edgegap_result_clear(&res);

    /* create, then get: linked to the configured deployment at once */
    const char *ips[] = {"203.0.113.7"};
    sg_edgegap_selector sel[] = {{"seatgate", true}};
    sg_edgegap_create_params p = {.app_name = "demo",
                                  .version_name = "v1",
                                  .ip_list = ips,
                                  .ip_count = 1,
                                  .webhook_url = "http://127.0.0.1:1/hook",
                                  .selectors = sel,
                                  .selector_count = 1};
    assert_int_equal(sg_edgegap_request_create_session(&p, &r), SG_OK);
    assert_int_equal(perform_free(c, r, &res), SG_OK);
    assert_int_equal(res.http_status, 200);
    assert_int_equal(res.attempts, 1);
    assert_false(res.ambiguous);
    char id[64];
    snprintf(id, sizeof id, "%s", res.created->session_id);
    assert_string_equal(res.created->app, "demo");
    assert_string_equal(res.created->version, "v1");
    assert_string_equal(res.created->webhook_url, "http://127.0.0.1:1/hook");
    sg_edgegap_result_clear(&res);

    assert_int_equal(perform_free(c, req_get(id), &res), SG_OK);
    const sg_edgegap_session *s = res.session;
    assert_string_equal(s->session_id, id);
    assert_int_equal(s->state, SG_EDGEGAP_STATE_READY);
    assert_true(s->ready);
    assert_true(s->linked);
    assert_true(sg_edgegap_session_has_ip(s, "203.0.113.7"));
    assert_true(s->deployment.present);
    assert_string_equal(s->deployment.request_id, DEP_V1);
    assert_string_equal(s->deployment.public_ip, "127.0.0.1");
    const sg_edgegap_port *gp =
        sg_edgegap_find_port(s->deployment.ports, s->deployment.port_count, "game");
    assert_non_null(gp);
    assert_int_equal(gp->external, 31504);
    assert_string_equal(gp->protocol, "UDP");
    assert_string_equal(s->deployment.location.city, "Montreal");
    sg_edgegap_result_clear(&res);

    /* list: the session is there */
    bool seen = false;
    for (int page = 1; page < 1000 && !seen; page++) {
        assert_int_equal(sg_edgegap_request_list_sessions(page, 100, &r), SG_OK);
        assert_int_equal(perform_free(c, r, &res), SG_OK);
        for (size_t i = 0; i < res.list->count; i++)
            if (strcmp(res.list->data[i].session_id, id) == 0) seen = true;
        bool more = res.list->has_next;
        assert_true(res.list->total_count >= 1);
        sg_edgegap_result_clear(&res);
        if (!more) break;
    }
    assert_true(seen);

    /* delete, then it is gone */
    assert_int_equal(perform_free(c, req_delete(id), &res), SG_OK);
    sg_edgegap_result_clear(&res);
    assert_int_equal(perform_free(c, req_get(id), &res), SG_E_NOT_FOUND);
    assert_int_equal(res.attempts, 1); /* 404 is not retried */
    sg_edgegap_result_clear(&res);
    assert_int_equal(perform_free(c, req_delete(id), &res), SG_E_NOT_FOUND);
    sg_edgegap_result_clear(&res);

    /* context: the raw token of the deployment, no API key needed */
    char url[256], token[128];
    assert_true(sim_env(&sim, DEP_V1, "CONTEXT_URL", url, sizeof url));
    assert_true(sim_env(&sim, DEP_V1, "CONTEXT_TOKEN", token, sizeof token));
    sg_edgegap_options o;
    base_options(&o);
    o.api_key = NULL;
    sg_edgegap_client *gs = client_with(&o);
    assert_int_equal(sg_edgegap_request_get_context(url, token, &r), SG_OK);
    assert_int_equal(perform_free(gs, r, &res), SG_OK);
    assert_string_equal(res.context->request_id, DEP_V1);
    assert_string_equal(res.context->public_ip, "127.0.0.1");
    assert_non_null(sg_edgegap_find_port(res.context->ports, res.context->port_count, "game"));
    assert_non_null(strstr(res.context->raw_json, DEP_V1));
    sg_edgegap_context *ctx = res.context; /* bodies can be taken from a result */
    res.context = NULL;
    sg_edgegap_result_clear(&res);
    assert_string_equal(ctx->request_id, DEP_V1);
    sg_edgegap_context_free(ctx);

    assert_int_equal(sg_edgegap_request_get_context(url, "wrong-token", &r), SG_OK);
    assert_int_equal(perform_free(gs, r, &res), SG_E_UNAUTHORIZED);
    assert_null(strstr(res.message, "wrong-token"));
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(gs);
    sg_edgegap_client_free(c);
}

/* ---- error classes ---- */

static void error_classes_map_to_statuses(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    sg_edgegap_result res;

    /* 400: inactive version (create is not retried) */
    assert_int_equal(perform_free(c, req_create("old"), &res), SG_E_BAD_REQUEST);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.attempts, 1);
    assert_false(res.ambiguous);
    assert_non_null(strstr(res.message, "not active"));
    sg_edgegap_result_clear(&res);

    /* 410: the session's deployment was terminated */
    char id[64];
    create_session(c, "v2", id, sizeof id);
    char path[96];
    snprintf(path, sizeof path, "/_sim/deployments/%s/stop", DEP_V2);
    assert_int_equal(sim_http(&sim, "POST", path, "{}", NULL), 200);
    assert_int_equal(perform_free(c, req_delete(id), &res), SG_E_GONE);
    assert_int_equal(res.http_status, 410);
    assert_int_equal(res.attempts, 1);
    sg_edgegap_result_clear(&res);

    /* 401: wrong key; the key never shows in the message */
    sg_edgegap_options o;
    base_options(&o);
    o.api_key = "deadbeef-wrong-key";
    sg_edgegap_client *bad = client_with(&o);
    assert_int_equal(perform_free(bad, req_get("x-S"), &res), SG_E_UNAUTHORIZED);
    assert_int_equal(res.http_status, 401);
    assert_int_equal(res.attempts, 1);
    assert_null(strstr(res.message, "deadbeef"));
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(bad);

    /* answer too large */
    base_options(&o);
    o.max_body = 64;
    sg_edgegap_client *small = client_with(&o);
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_list_sessions(1, 100, &r), SG_OK);
    assert_int_equal(perform_free(small, r, &res), SG_E_TOO_LARGE);
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(small);
    sg_edgegap_client_free(c);
}

/* ---- retries ---- */

static void server_errors_are_retried_for_idempotent_calls(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    sg_edgegap_result res;
    char id[64];
    create_session(c, "v1", id, sizeof id);

    set_faults("{\"burst\":2,\"burst_status\":503}");
    assert_int_equal(perform_free(c, req_get(id), &res), SG_OK);
    assert_int_equal(res.attempts, 3);
    sg_edgegap_result_clear(&res);

    /* bounded by the count: every answer a 500 */
    /* the simulator files injected faults under the route "(fault)" */
    long long before = sim_count(&sim, "GET (fault) 500");
    set_faults("{\"error_rate\":1,\"error_status\":500}");
    assert_int_equal(perform_free(c, req_get(id), &res), SG_E_SERVER);
    assert_int_equal(res.http_status, 500);
    assert_int_equal(res.attempts, 4); /* 1 + max_retries (3) */
    sg_edgegap_result_clear(&res);
    assert_int_equal(sim_count(&sim, "GET (fault) 500") - before, 4); /* the server saw 4 */

    /* delete is retried too */
    reset_faults(NULL);
    set_faults("{\"burst\":1,\"burst_status\":502}");
    assert_int_equal(perform_free(c, req_delete(id), &res), SG_OK);
    assert_int_equal(res.attempts, 2);
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(c);
}

static void retries_stop_at_the_time_budget(void **state)
{
    (void)state;
    sg_edgegap_options o;
    base_options(&o);
    o.max_retries = 20;
    o.retry_budget_ms = 150;
    o.backoff_base_ms = 40;
    o.backoff_max_ms = 40;
    sg_edgegap_client *c = client_with(&o);
    set_faults("{\"error_rate\":1,\"error_status\":500}");
    sg_edgegap_result res;
    assert_int_equal(perform_free(c, req_get("x-S"), &res), SG_E_SERVER);
    /* 21 attempts would need 20 waits averaging 20 ms (400 ms) > 150 ms budget */
    assert_true(res.attempts >= 1 && res.attempts < 21);
    /* no retry was scheduled to start after the budget */
    for (size_t i = 0; i < attempt_n; i++)
        if (attempt_log[i].will_retry) assert_true(attempt_log[i].attempt < res.attempts);
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(c);
}

static void create_is_not_retried_after_an_ambiguous_failure(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    sg_edgegap_result res;
    long long created = sim_counter(&sim, "sessions_created");
    set_faults("{\"burst\":1,\"burst_status\":500}");
    assert_int_equal(perform_free(c, req_create("v1"), &res), SG_E_SERVER);
    assert_int_equal(res.attempts, 1);
    assert_true(res.ambiguous);
    sg_edgegap_result_clear(&res);
    assert_int_equal(sim_counter(&sim, "sessions_created"), created);
    sg_edgegap_client_free(c);
}

static void rate_limits_honour_retry_after(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    sg_edgegap_result res;

    /* a 429 on create is safe to retry: nothing was created */
    set_faults("{\"force_429\":1,\"retry_after_s\":1}");
    assert_int_equal(perform_free(c, req_create("v1"), &res), SG_OK);
    assert_int_equal(res.attempts, 2);
    assert_false(res.ambiguous);
    char id[64];
    snprintf(id, sizeof id, "%s", res.created->session_id);
    sg_edgegap_result_clear(&res);
    assert_int_equal(attempt_n, 2);
    assert_int_equal(attempt_log[0].status, SG_E_RATE_LIMITED);
    assert_true(attempt_log[0].will_retry);
    /* the second attempt waited for Retry-After */
    assert_true(attempt_log[1].sent_at_us - attempt_log[0].sent_at_us >= 1000000);

    /* Retry-After beyond the budget: reported, with the server's value */
    sg_edgegap_options o;
    base_options(&o);
    o.retry_budget_ms = 300;
    sg_edgegap_client *tight = client_with(&o);
    set_faults("{\"force_429\":1,\"retry_after_s\":2}");
    assert_int_equal(perform_free(tight, req_get(id), &res), SG_E_RATE_LIMITED);
    assert_int_equal(res.http_status, 429);
    assert_int_equal(res.retry_after_ms, 2000);
    assert_int_equal(res.attempts, 1);
    sg_edgegap_result_clear(&res);
    sg_edgegap_client_free(tight);
    sg_edgegap_client_free(c);
}

static void hanging_server_times_out_within_the_setting(void **state)
{
    (void)state;
    sg_edgegap_options o;
    base_options(&o);
    o.timeout_ms = 300;
    o.max_retries = 1;
    sg_edgegap_client *c = client_with(&o);
    sg_edgegap_result res;
    set_faults("{\"hang\":true}");

    long long t0 = sg_edgegap_clock_us();
    assert_int_equal(perform_free(c, req_get("x-S"), &res), SG_E_TIMEOUT);
    long long took = sg_edgegap_clock_us() - t0;
    assert_int_equal(res.attempts, 2);
    assert_int_equal(res.http_status, 0);
    assert_true(took < 20LL * 300 * 1000); /* bounded, not hung */
    sg_edgegap_result_clear(&res);

    /* a create that timed out after sending is ambiguous and not retried */
    assert_int_equal(perform_free(c, req_create("v1"), &res), SG_E_TIMEOUT);
    assert_int_equal(res.attempts, 1);
    assert_true(res.ambiguous);
    sg_edgegap_result_clear(&res);
    reset_faults(NULL);
    sg_edgegap_client_free(c);
}

/* ---- pace ---- */

typedef struct done_count {
    int done, ok;
    sg_status last;
    char ids[1024][32];
} done_count;

static void count_done(sg_edgegap_result *res, void *user)
{
    done_count *d = user;
    if (res->status == SG_OK) {
        if (res->created && d->ok < 1024)
            snprintf(d->ids[d->ok], sizeof d->ids[0], "%s", res->created->session_id);
        d->ok++;
    }
    d->last = res->status;
    d->done++;
}

static void drive(sg_edgegap_client *c, const int *counter, int target)
{
    long long deadline = sg_edgegap_clock_us() + 60LL * 1000000;
    while (*counter < target) {
        assert_int_equal(sg_edgegap_run(c, 100, NULL, 0, NULL), SG_OK);
        if (sg_edgegap_clock_us() > deadline) fail_msg("requests did not complete");
    }
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* N requests at rate R with burst B: the k-th send (0-based) cannot leave before
 * t0 + (k - B + 1) / R. */
static void assert_paced(long long t0, double rate, int burst)
{
    long long sent[MAX_LOG];
    for (size_t i = 0; i < attempt_n; i++)
        sent[i] = attempt_log[i].sent_at_us;
    qsort(sent, attempt_n, sizeof sent[0], cmp_ll);
    for (size_t k = (size_t)burst; k < attempt_n; k++) {
        long long earliest = t0 + (long long)(((double)k - burst + 1) * 1e6 / rate);
        if (sent[k] < earliest)
            fail_msg("send %zu left at +%lld us, the bucket allowed +%lld us", k, sent[k] - t0,
                     earliest - t0);
    }
}

static void the_pace_holds_a_burst_back(void **state)
{
    (void)state;
    sg_edgegap_options o;
    base_options(&o);
    o.rate = 40;
    o.burst = 5;
    sg_edgegap_client *c = client_with(&o);
    char id[64];
    create_session(c, "v1", id, sizeof id);

    sg_edgegap_client_free(c);

    /* non-blocking: 30 at once, from a client with a full bucket of its own */
    c = client_with(&o);
    attempt_n = 0;
    long long t0 = sg_edgegap_clock_us();
    done_count *d = calloc(1, sizeof *d);
    for (int i = 0; i < 30; i++)
        assert_int_equal(sg_edgegap_submit(c, req_get(id), count_done, d), SG_OK);
    drive(c, &d->done, 30);
    assert_int_equal(d->ok, 30);
    assert_int_equal(attempt_n, 30);
    assert_paced(t0, 40, 5);
    /* and not everything was held: the first burst left at once */
    free(d);

    sg_edgegap_client_free(c);

    /* blocking: the same rule */
    o.burst = 2;
    c = client_with(&o);
    attempt_n = 0;
    t0 = sg_edgegap_clock_us();
    for (int i = 0; i < 8; i++) {
        sg_edgegap_result res;
        assert_int_equal(perform_free(c, req_get(id), &res), SG_OK);
        sg_edgegap_result_clear(&res);
    }
    assert_paced(t0, 40, 2);
    sg_edgegap_client_free(c);
}

/* ---- non-blocking at scale ---- */

typedef struct submitter {
    sg_edgegap_client *c;
    done_count *d;
    char (*ids)[32];
    int n;
} submitter;

static void *submit_gets(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < s->n; i++) {
        sg_edgegap_request *r = NULL;
        if (sg_edgegap_request_get_session(s->ids[i], &r) != SG_OK) continue;
        sg_edgegap_submit(s->c, r, count_done, s->d);
    }
    return NULL;
}

static void hundreds_of_concurrent_requests_complete(void **state)
{
    (void)state;
    enum { N = 500 };
    sg_edgegap_client *c = client_default();
    long long created0 = sim_counter(&sim, "sessions_created");

    done_count *creates = calloc(1, sizeof *creates);
    for (int i = 0; i < N; i++)
        assert_int_equal(sg_edgegap_submit(c, req_create("v1"), count_done, creates), SG_OK);
    assert_int_equal(sg_edgegap_pending(c), N);
    drive(c, &creates->done, N);
    assert_int_equal(creates->ok, N);
    assert_int_equal(sg_edgegap_pending(c), 0);
    assert_int_equal(sim_counter(&sim, "sessions_created") - created0, N);

    /* gets submitted from another thread while this one drives */
    done_count *gets = calloc(1, sizeof *gets);
    submitter sub = {.c = c, .d = gets, .ids = creates->ids, .n = N};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_gets, &sub), 0);
    drive(c, &gets->done, N);
    pthread_join(th, NULL);
    assert_int_equal(gets->ok, N);

    done_count *dels = calloc(1, sizeof *dels);
    for (int i = 0; i < N; i++)
        assert_int_equal(sg_edgegap_submit(c, req_delete(creates->ids[i]), count_done, dels),
                         SG_OK);
    drive(c, &dels->done, N);
    assert_int_equal(dels->ok, N);

    sg_edgegap_stats st;
    sg_edgegap_client_get_stats(c, &st);
    assert_int_equal(st.calls, 3 * N);
    assert_int_equal(st.by_status[SG_OK], 3 * N);
    free(creates);
    free(gets);
    free(dels);
    sg_edgegap_client_free(c);
}

/* ---- the driving loop ---- */

static void *write_later(void *arg)
{
    usleep(50000);
    ssize_t w = write(*(int *)arg, "x", 1);
    (void)w;
    return NULL;
}

static void *wake_later(void *arg)
{
    usleep(50000);
    sg_edgegap_wakeup(arg);
    return NULL;
}

static void run_waits_on_extra_fds_and_wakes(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    int p[2];
    assert_int_equal(pipe(p), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_later, &p[1]), 0);
    sg_edgegap_waitfd w = {.fd = p[0], .events = POLLIN};
    for (int i = 0; i < 100 && !(w.revents & POLLIN); i++)
        assert_int_equal(sg_edgegap_run(c, 10000, &w, 1, NULL), SG_OK);
    assert_true(w.revents & POLLIN);
    pthread_join(th, NULL);

    long long t0 = sg_edgegap_clock_us();
    assert_int_equal(pthread_create(&th, NULL, wake_later, c), 0);
    assert_int_equal(sg_edgegap_run(c, 30000, NULL, 0, NULL), SG_OK);
    assert_true(sg_edgegap_clock_us() - t0 < 25LL * 1000000); /* woken, not timed out */
    pthread_join(th, NULL);
    close(p[0]);
    close(p[1]);
    sg_edgegap_client_free(c);
}

static void non_blocking_retries_use_timers(void **state)
{
    (void)state;
    sg_edgegap_client *c = client_default();
    char id[64];
    create_session(c, "v1", id, sizeof id);
    set_faults("{\"burst\":4,\"burst_status\":503}");
    done_count *d = calloc(1, sizeof *d);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sg_edgegap_submit(c, req_get(id), count_done, d), SG_OK);
    drive(c, &d->done, 2);
    assert_int_equal(d->ok, 2);
    sg_edgegap_stats st;
    sg_edgegap_client_get_stats(c, &st);
    assert_int_equal(st.retries, 4);
    free(d);
    sg_edgegap_client_free(c);
}

static int group_setup(void **state)
{
    (void)state;
    sg_log_set_level(SG_LOG_WARN);
    return sim_start(&sim, sim_bin, sim_config, API_KEY) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    sim_stop(&sim);
    return 0;
}

static void stop_sim_at_exit(void)
{
    sim_stop(&sim);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIMULATOR CONFIG\n", argv[0]);
        return 2;
    }
    sim_bin = argv[1];
    sim_config = argv[2];
    atexit(stop_sim_at_exit);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_call_works_against_the_simulator, reset_faults),
        cmocka_unit_test_setup(error_classes_map_to_statuses, reset_faults),
        cmocka_unit_test_setup(server_errors_are_retried_for_idempotent_calls, reset_faults),
        cmocka_unit_test_setup(retries_stop_at_the_time_budget, reset_faults),
        cmocka_unit_test_setup(create_is_not_retried_after_an_ambiguous_failure, reset_faults),
        cmocka_unit_test_setup(rate_limits_honour_retry_after, reset_faults),
        cmocka_unit_test_setup(hanging_server_times_out_within_the_setting, reset_faults),
        cmocka_unit_test_setup(the_pace_holds_a_burst_back, reset_faults),
        cmocka_unit_test_setup(hundreds_of_concurrent_requests_complete, reset_faults),
        cmocka_unit_test_setup(run_waits_on_extra_fds_and_wakes, reset_faults),
        cmocka_unit_test_setup(non_blocking_retries_use_timers, reset_faults),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
