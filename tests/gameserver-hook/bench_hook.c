/* Figures for scripts/bench-hook (not a test):
 *   1. the cost of sg_hook_verify on the game thread (ns per call over many calls), with the
 *      worker running over the in-memory backend, and of an empty sg_hook_poll;
 *   2. verify latency end to end (p50/p99): enqueue to callback, with a real nats-server and
 *      the Edgegap simulator on loopback (connect_tokens, Edgegap GET, claim, event);
 *   3. the resident memory a started hook adds to the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_backend.h"
#include "nats_server.h"
#include "seatgate/edgegap.h"
#include "seatgate/kv.h"
#include "seatgate/log.h"
#include "seatgate/records.h"
#include "sim_harness.h"

#define API_KEY "bench-key-0123456789"
#define SERVER_A "aaaaaaaaaaa1"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int done_count;
static void on_verdict(const sg_hook_verdict *v, void *user)
{
    (void)v;
    (void)user;
    done_count++;
}

static void bench_enqueue(int calls)
{
    fake_world w;
    fake_world_init(&w);
    sg_hook_options *o = NULL;
    if (sg_hook_options_new(&o) != SG_OK) return;
    char qs[32];
    snprintf(qs, sizeof qs, "%d", calls + 16);
    sg_hook_options_set(o, "queue-size", qs);
    sg_hook *h = NULL;
    hook_new_with_backend(o, fake_backend(&w, SERVER_A, "127.0.0.1"), &h);
    sg_hook_options_free(o);
    sg_hook_wait_started(h, 5000);
    /* Worker held (busy elsewhere): the enqueue alone, no contention. */
    fake_gate(&w, true);
    double g0 = now_ns();
    for (int i = 0; i < calls; i++)
        sg_hook_verify(h, (uint64_t)i + 1, "127.0.0.1", NULL, on_verdict, NULL);
    double g1 = now_ns();
    fake_gate(&w, false);
    while (done_count < calls)
        sg_hook_poll(h, 0);
    done_count = 0;
    printf("verify enqueue, worker busy elsewhere: %.0f ns/call over %d calls\n", (g1 - g0) / calls,
           calls);
    /* Worker running flat out on the same queue: the enqueue under contention. */
    double t0 = now_ns();
    int refused = 0;
    for (int i = 0; i < calls; i++)
        if (sg_hook_verify(h, (uint64_t)i + 1, "127.0.0.1", NULL, on_verdict, NULL) != SG_OK)
            refused++;
    double t1 = now_ns();
    while (done_count < calls - refused)
        sg_hook_poll(h, 0);
    double t2 = now_ns();
    int polls = 1000000;
    for (int i = 0; i < polls; i++)
        sg_hook_poll(h, 0);
    double t3 = now_ns();
    printf(
        "verify enqueue, worker draining concurrently: %.0f ns/call over %d calls (%d refused)\n",
        (t1 - t0) / calls, calls, refused);
    printf("verify throughput (in-memory backend): %.0f verifies/s\n", calls / ((t2 - t0) / 1e9));
    printf("empty sg_hook_poll: %.1f ns/call\n", (t3 - t2) / polls);
    sg_hook_free(h);
    fake_world_destroy(&w);
}

static int bench_live(const char *sim_bin, const char *sim_config, int n)
{
    sg_test_nats nats = {0};
    sim_proc sim;
    if (sg_test_nats_start(&nats) != 0 || !sim_start(&sim, sim_bin, sim_config, API_KEY)) {
        fprintf(stderr, "bench: cannot start nats-server or the simulator\n");
        return 1;
    }
    sg_store_options so;
    sg_store_options_init(&so);
    so.url = nats.url;
    so.app = "bench";
    sg_store *store = NULL;
    sg_bucket *tokens = NULL, *sessions = NULL;
    sg_bucket_options bo;
    sg_bucket_options_init(&bo);
    bo.create = true;
    sg_store_open(&so, &store);
    bo.ttl_ms = 60000;
    sg_bucket_open(store, SG_BUCKET_CONNECT_TOKENS, &bo, &tokens);
    bo.ttl_ms = 0;
    sg_bucket_open(store, SG_BUCKET_SESSIONS, &bo, &sessions);
    sg_edgegap_options eo;
    sg_edgegap_options_default(&eo);
    eo.base_url = sim.url;
    eo.api_key = API_KEY;
    eo.rate = 0;
    sg_edgegap_client *api = NULL;
    sg_edgegap_client_new(&eo, &api);

    char url[512], token[512];
    sim_env(&sim, SERVER_A, "CONTEXT_URL", url, sizeof url);
    sim_env(&sim, SERVER_A, "CONTEXT_TOKEN", token, sizeof token);
    long rss0 = rss_kib();
    sg_hook_options *o = NULL;
    if (sg_hook_options_new(&o) != SG_OK) return 1;
    sg_hook_options_set(o, "store-url", nats.url);
    sg_hook_options_set(o, "app", "bench");
    sg_hook_options_set(o, "edgegap-url", sim.url);
    sg_hook_options_set(o, "edgegap-api-key", API_KEY);
    sg_hook_options_set(o, "arbitrium-context-url", url);
    sg_hook_options_set(o, "arbitrium-context-token", token);
    sg_hook *h = NULL;
    if (sg_hook_new(o, &h) != SG_OK || sg_hook_wait_started(h, 15000) != SG_OK) {
        fprintf(stderr, "bench: hook: %s\n", sg_last_error());
        return 1;
    }
    sg_hook_options_free(o);

    double *lat = calloc((size_t)n, sizeof *lat);
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        const char *ips[] = {"127.0.0.1"};
        sg_edgegap_create_params p = {.app_name = "demo",
                                      .version_name = "v1",
                                      .ip_list = ips,
                                      .ip_count = 1,
                                      .deployment_request_id = SERVER_A};
        sg_edgegap_request *req = NULL;
        sg_edgegap_result res;
        sg_edgegap_request_create_session(&p, &req);
        if (sg_edgegap_perform(api, req, &res) != SG_OK) {
            fprintf(stderr, "bench: create session failed\n");
            return 1;
        }
        sg_edgegap_request_free(req);
        sg_session_record r = {.state = SG_SESSION_UNCLAIMED, .client_id = (uint64_t)i + 1};
        snprintf(r.session_id, sizeof r.session_id, "%s", res.created->session_id);
        sg_edgegap_result_clear(&res);
        r.created_at = (long long)time(NULL) * 1000;
        r.claim_deadline = r.created_at + 60000;
        snprintf(r.player_ip, sizeof r.player_ip, "127.0.0.1");
        char *json = NULL, key[24];
        sg_session_to_json(&r, &json);
        sg_kv_put(sessions, r.session_id, json, strlen(json), NULL);
        free(json);
        sg_connect_token_key(r.client_id, key, sizeof key);
        sg_kv_put(tokens, key, r.session_id, strlen(r.session_id), NULL);
        sg_hook_verdict v;
        double t0 = now_ns();
        sg_hook_verify_wait(h, r.client_id, "127.0.0.1", r.session_id, 10000, &v);
        lat[i] = (now_ns() - t0) / 1e6;
        accepted += v.accepted;
    }
    long rss1 = rss_kib();
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("verify end to end (NATS + simulator on loopback): p50 %.2f ms, p99 %.2f ms, "
           "max %.2f ms over %d verifies (%d accepted)\n",
           lat[n / 2], lat[(n * 99) / 100], lat[n - 1], n, accepted);
    printf("resident memory added by a started hook (%d players): %ld KiB\n", accepted,
           rss1 - rss0);
    free(lat);
    sg_hook_free(h);
    sg_edgegap_client_free(api);
    sg_bucket_close(tokens);
    sg_bucket_close(sessions);
    sg_store_close(store);
    sim_stop(&sim);
    sg_test_nats_free(&nats);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIMULATOR CONFIG [VERIFIES]\n", argv[0]);
        return 2;
    }
    sg_log_set_level(SG_LOG_ERROR);
    int n = argc > 3 ? atoi(argv[3]) : 500;
    if (n < 10) n = 10;
    bench_enqueue(200000);
    return bench_live(argv[1], argv[2], n);
}
