/* Tests of seatgate-edgegap-sim over real HTTP: the simulator runs as a child process on a
 * free loopback port and is stopped at the end of each group (also when a test fails).
 *
 * Usage: test_edgegap_sim SIM_BINARY GROUP TEST_CONFIG EXAMPLE_CONFIG
 *        GROUP is api, lifecycle or faults. */
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim_test_util.h"

static const char *g_bin, *g_test_config, *g_example_config;
static char *g_config_text;
static sim_proc g_sim;

/* ---- helpers ------------------------------------------------------------------------------ */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static int start_group(const char *const *extra)
{
    return sim_proc_start(&g_sim, g_bin, g_config_text, extra) ? 0 : -1;
}

static int setup_plain(void **state)
{
    (void)state;
    return start_group(NULL);
}

static int teardown(void **state)
{
    (void)state;
    return sim_proc_stop(&g_sim) == 0 ? 0 : -1; /* a clean exit on SIGTERM is part of the test */
}

static void assert_error_body(const http_resp *r, long status)
{
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    const char *m = jstr(r->json, "message");
    assert_non_null(m);
    assert_true(strlen(m) > 0);
}

/* Creates a session; returns its id (static buffer per call site) or fails the test. */
static void create(const char *version, const char *extra_json, char *id_out, size_t size)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"app_name\":\"game\",\"version_name\":\"%s\",\"ip_list\":[\"203.0.113.7\"]%s%s}",
             version, extra_json ? "," : "", extra_json ? extra_json : "");
    http_resp r;
    api(&r, &g_sim, "POST", "/v1/session", body);
    assert_int_equal(r.status, 200);
    const char *id = jstr(r.json, "session_id");
    assert_non_null(id);
    snprintf(id_out, size, "%s", id);
    http_free(&r);
}

static void get_session(const char *id, http_resp *r)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/session/%s", id);
    api(r, &g_sim, "GET", path, NULL);
}

static long delete_session(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/session/%s", id);
    http_resp r;
    api(&r, &g_sim, "DELETE", path, NULL);
    long s = r.status;
    http_free(&r);
    return s;
}

static double state_num(const char *path)
{
    http_resp r;
    admin(&r, &g_sim, "GET", "/_sim/state", NULL);
    assert_int_equal(r.status, 200);
    double v = jnum(r.json, path);
    http_free(&r);
    return v;
}

/* The deployment entry of /_sim/state with this request id (caller frees). */
static cJSON *state_deployment(const char *rid)
{
    http_resp r;
    admin(&r, &g_sim, "GET", "/_sim/state", NULL);
    assert_int_equal(r.status, 200);
    cJSON *found = NULL, *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(r.json, "deployments"))
    {
        if (jstr(d, "request_id") && !strcmp(jstr(d, "request_id"), rid))
            found = cJSON_Duplicate(d, true);
    }
    http_free(&r);
    assert_non_null(found);
    return found;
}

/* Polls GET until the session has the status (deadline 10 s). Returns the last body. */
static void wait_status(const char *id, const char *status, http_resp *r)
{
    for (int i = 0; i < 500; i++) {
        get_session(id, r);
        assert_int_equal(r->status, 200);
        if (jstr(r->json, "status") && !strcmp(jstr(r->json, "status"), status)) return;
        http_free(r);
        sleep_ms(20);
    }
    fail_msg("session %s never became %s", id, status);
}

static bool matches(const char *re, const char *s)
{
    regex_t rx;
    if (!s || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) return false;
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* ---- api group ------------------------------------------------------------------------- */

static void test_missing_or_wrong_key_is_401(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/sessions", g_sim.url);
    http_resp r;
    http_do(&r, "GET", url, NULL, NULL, 0, 5000);
    assert_error_body(&r, 401);
    assert_null(strstr(r.body, TEST_KEY));
    http_free(&r);
    http_do(&r, "GET", url, "token not-the-key", NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "POST", url, "token " TEST_KEY "x", "{}", 2, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    snprintf(url, sizeof url, "%s/v1/session", g_sim.url);
    const char *b = "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"]}";
    http_do(&r, "POST", url, "Bearer " TEST_KEY, b, strlen(b), 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    assert_true(state_num("counters.sessions_created") == 0);
}

static void test_key_accepted_with_or_without_token_prefix(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/sessions", g_sim.url);
    http_resp r;
    http_do(&r, "GET", url, TEST_KEY, NULL, 0, 5000);
    assert_int_equal(r.status, 200);
    http_free(&r);
    http_do(&r, "GET", url, "token " TEST_KEY, NULL, 0, 5000);
    assert_int_equal(r.status, 200);
    http_free(&r);
}

static void test_create_get_delete_session(void **state)
{
    (void)state;
    http_resp r;
    api(&r, &g_sim, "POST", "/v1/session",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"203.0.113.7\","
        "\"::ffff:198.51.100.2\"],\"webhook_url\":\"http://127.0.0.1:1/hook\"}");
    assert_int_equal(r.status, 200);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "session_id"));
    assert_true(matches("^[0-9a-f]{12}-S$", id));
    assert_string_equal(jstr(r.json, "app"), "game");
    assert_string_equal(jstr(r.json, "version"), "big");
    assert_string_equal(jstr(r.json, "webhook_url"), "http://127.0.0.1:1/hook");
    http_free(&r);

    wait_status(id, "Ready", &r);
    bool b = false;
    assert_true(jbool(r.json, "ready", &b) && b);
    assert_true(jbool(r.json, "linked", &b) && b);
    assert_string_equal(jstr(r.json, "kind"), "Seat");
    assert_true(jnum(r.json, "user_count") == 2);
    assert_string_equal(jstr(r.json, "session_ips.0.ip"), "203.0.113.7");
    assert_string_equal(jstr(r.json, "session_ips.1.ip"), "198.51.100.2");
    assert_string_equal(jstr(r.json, "deployment.request_id"), "b16000000001");
    assert_string_equal(jstr(r.json, "deployment.public_ip"), "127.0.0.1");
    assert_string_equal(jstr(r.json, "deployment.fqdn"), "b16000000001.pr.edgegap.net");
    assert_true(jnum(r.json, "deployment.ports.game.external") == 7001);
    assert_true(jnum(r.json, "deployment.ports.game.internal") == 7777);
    assert_string_equal(jstr(r.json, "deployment.ports.game.protocol"), "UDP");
    assert_true(jbool(r.json, "deployment.ready", &b) && b);
    assert_true(jnum(r.json, "deployment.sockets_usage") == 2);
    assert_true(
        matches("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\\.[0-9]{6}$", jstr(r.json, "create_time")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "error")));
    http_free(&r);

    assert_int_equal(delete_session(id), 200);
    get_session(id, &r);
    assert_error_body(&r, 404);
    http_free(&r);
    assert_int_equal(delete_session(id), 404);
    cJSON *d = state_deployment("b16000000001");
    assert_true(jnum(d, "sockets_usage") == 0);
    cJSON_Delete(d);
}

static void test_unknown_session_is_404(void **state)
{
    (void)state;
    http_resp r;
    get_session("000000000000-S", &r);
    assert_error_body(&r, 404);
    http_free(&r);
    assert_int_equal(delete_session("000000000000-S"), 404);
}

static void test_list_paginates(void **state)
{
    (void)state;
    char ids[5][64];
    for (int i = 0; i < 5; i++)
        create("big", NULL, ids[i], sizeof ids[i]);
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/sessions?page=1&limit=2", NULL);
    assert_int_equal(r.status, 200);
    assert_true(jnum(r.json, "total_count") == 5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 2);
    assert_string_equal(jstr(r.json, "data.0.session_id"), ids[0]);
    assert_string_equal(jstr(r.json, "data.1.session_id"), ids[1]);
    assert_string_equal(jstr(r.json, "data.0.deployment_request_id"), "b16000000001");
    assert_true(jnum(r.json, "pagination.number") == 1);
    assert_true(jnum(r.json, "pagination.next_page_number") == 2);
    assert_true(cJSON_IsNull(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "pagination"), "previous_page_number")));
    assert_true(jnum(r.json, "pagination.paginator.num_pages") == 3);
    bool b;
    assert_true(jbool(r.json, "pagination.has_next", &b) && b);
    assert_true(jbool(r.json, "pagination.has_previous", &b) && !b);
    http_free(&r);

    api(&r, &g_sim, "GET", "/v1/sessions?page=3&limit=2", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
    assert_string_equal(jstr(r.json, "data.0.session_id"), ids[4]);
    assert_true(jbool(r.json, "pagination.has_next", &b) && !b);
    assert_true(jnum(r.json, "pagination.previous_page_number") == 2);
    http_free(&r);

    api(&r, &g_sim, "GET", "/v1/sessions?page=9&limit=2", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 0);
    http_free(&r);
    const char *bad[] = {"/v1/sessions?page=0", "/v1/sessions?limit=x", "/v1/sessions?limit=101",
                         "/v1/sessions?page=-1"};
    for (size_t i = 0; i < 4; i++) {
        api(&r, &g_sim, "GET", bad[i], NULL);
        assert_error_body(&r, 400);
        http_free(&r);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(delete_session(ids[i]), 200);
    api(&r, &g_sim, "GET", "/v1/sessions", NULL);
    assert_true(jnum(r.json, "total_count") == 0);
    http_free(&r);
}

static void test_app_version_get(void **state)
{
    (void)state;
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/app/game/version/duo", NULL);
    assert_int_equal(r.status, 200);
    bool b;
    assert_string_equal(jstr(r.json, "name"), "duo");
    assert_true(jbool(r.json, "is_active", &b) && b);
    assert_string_equal(jstr(r.json, "session_config.kind"), "Seat");
    assert_true(jnum(r.json, "session_config.sockets") == 2);
    assert_true(jbool(r.json, "session_config.autodeploy", &b) && !b);
    http_free(&r);
    api(&r, &g_sim, "GET", "/v1/app/game/version/off", NULL);
    assert_int_equal(r.status, 200);
    assert_true(jbool(r.json, "is_active", &b) && !b);
    http_free(&r);
    api(&r, &g_sim, "GET", "/v1/app/game/version/nope", NULL);
    assert_error_body(&r, 404);
    http_free(&r);
    api(&r, &g_sim, "GET", "/v1/app/nope/version/v1", NULL);
    assert_error_body(&r, 404);
    http_free(&r);
}

static void test_bad_input_is_400_and_creates_nothing(void **state)
{
    (void)state;
    const char *bodies[] = {
        "",
        "{",
        "not json",
        "[]",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"]} trailing",
        "{\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"]}",
        "{\"app_name\":5,\"ip_list\":[\"1.2.3.4\"]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":\"1.2.3.4\"}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[1234]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"999.1.1.1\"]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"],"
        "\"webhook_url\":\"ftp://x\"}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"],"
        "\"webhook_url\":7}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"geo_ip_list\":[{\"ip\":\"1.2.3.4\"}]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"],"
        "\"skip_telemetry\":\"yes\"}",
        "{\"app_name\":\"game\",\"version_name\":\"nope\",\"ip_list\":[\"1.2.3.4\"]}",
        "{\"app_name\":\"game\",\"version_name\":\"off\",\"ip_list\":[\"1.2.3.4\"]}",
        "{\"app_name\":\"retired\",\"version_name\":\"v1\",\"ip_list\":[\"1.2.3.4\"]}",
        "{\"app_name\":\"game\",\"version_name\":\"big\",\"ip_list\":[\"1.2.3.4\"],"
        "\"deployment_request_id\":\"d00000000001\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        http_resp r;
        api(&r, &g_sim, "POST", "/v1/session", bodies[i]);
        if (r.status != 400) fail_msg("body %zu answered %ld: %s", i, r.status, r.body);
        assert_error_body(&r, 400);
        http_free(&r);
    }
    /* Over --max-body (4 KiB in this group). */
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"app_name\":\"game\",", 19);
    big[n - 1] = '}';
    big[n] = '\0';
    char url[256];
    snprintf(url, sizeof url, "%s/v1/session", g_sim.url);
    http_resp r;
    http_do(&r, "POST", url, "token " TEST_KEY, big, n, 5000);
    assert_error_body(&r, 413);
    http_free(&r);
    free(big);
    assert_true(state_num("counters.sessions_created") == 0);
    api(&r, &g_sim, "GET", "/v1/sessions", NULL);
    assert_true(jnum(r.json, "total_count") == 0);
    http_free(&r);
}

static void test_unknown_route_and_method(void **state)
{
    (void)state;
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/nothing-here", NULL);
    assert_error_body(&r, 404);
    http_free(&r);
    api(&r, &g_sim, "PUT", "/v1/session", "{}");
    assert_error_body(&r, 405);
    http_free(&r);
    api(&r, &g_sim, "POST", "/v1/sessions", "{}");
    assert_error_body(&r, 405);
    http_free(&r);
}

static void test_seats_are_taken_and_freed(void **state)
{
    (void)state;
    char a[64], b[64], c[64], d[64];
    create("duo", NULL, a, sizeof a);
    create("duo", NULL, b, sizeof b);
    cJSON *dep = state_deployment("d00000000001");
    assert_true(jnum(dep, "sockets_usage") == 2);
    cJSON_Delete(dep);

    create("duo", NULL, c, sizeof c); /* full, autodeploy off */
    http_resp r;
    get_session(c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "Unprocessable");
    bool v;
    assert_true(jbool(r.json, "ready", &v) && !v);
    assert_true(jbool(r.json, "linked", &v) && !v);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "deployment")));
    assert_non_null(jstr(r.json, "error"));
    http_free(&r);

    assert_int_equal(delete_session(a), 200);
    dep = state_deployment("d00000000001");
    assert_true(jnum(dep, "sockets_usage") == 1);
    cJSON_Delete(dep);
    create("duo", NULL, d, sizeof d);
    wait_status(d, "Ready", &r);
    http_free(&r);

    /* Three players never fit a two-seat deployment. */
    char e[64];
    api(&r, &g_sim, "POST", "/v1/session",
        "{\"app_name\":\"game\",\"version_name\":\"duo\",\"ip_list\":[\"1.1.1.1\",\"1.1.1.2\","
        "\"1.1.1.3\"]}");
    snprintf(e, sizeof e, "%s", jstr(r.json, "session_id"));
    http_free(&r);
    get_session(e, &r);
    assert_string_equal(jstr(r.json, "status"), "Unprocessable");
    http_free(&r);
    const char *all[] = {b, c, d, e};
    for (int i = 0; i < 4; i++)
        assert_int_equal(delete_session(all[i]), 200);
    dep = state_deployment("d00000000001");
    assert_true(jnum(dep, "sockets_usage") == 0);
    cJSON_Delete(dep);
}

static char *env_of(const char *rid)
{
    char path[128];
    snprintf(path, sizeof path, "/_sim/deployments/%s/env", rid);
    http_resp r;
    admin(&r, &g_sim, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    char *t = strdup(r.body);
    http_free(&r);
    return t;
}

static void env_value(const char *env, const char *key, char *out, size_t size)
{
    char pat[80];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(env, pat);
    assert_non_null(p);
    p += strlen(pat);
    size_t n = strcspn(p, "\n");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_context_endpoint_and_its_auth(void **state)
{
    (void)state;
    char *env = env_of("b16000000001");
    char url[256], token[80], bad_url[300];
    env_value(env, "ARBITRIUM_CONTEXT_URL", url, sizeof url);
    env_value(env, "ARBITRIUM_CONTEXT_TOKEN", token, sizeof token);
    assert_true(strncmp(url, g_sim.url, strlen(g_sim.url)) == 0);
    char ports[300];
    env_value(env, "ARBITRIUM_PORTS_MAPPING", ports, sizeof ports);
    cJSON *pm = cJSON_Parse(ports);
    assert_true(jnum(pm, "ports.game.external") == 7001);
    cJSON_Delete(pm);
    free(env);

    http_resp r;
    http_do(&r, "GET", url, token, NULL, 0, 5000);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "request_id"), "b16000000001");
    assert_string_equal(jstr(r.json, "public_ip"), "127.0.0.1");
    assert_string_equal(jstr(r.json, "fqdn"), "b16000000001.pr.edgegap.net");
    assert_true(jnum(r.json, "ports.game.external") == 7001);
    assert_true(jnum(r.json, "sockets") == 100);
    assert_string_equal(jstr(r.json, "location.city"), "Montreal");
    http_free(&r);

    char prefixed[100];
    snprintf(prefixed, sizeof prefixed, "token %s", token);
    http_do(&r, "GET", url, prefixed, NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "GET", url, NULL, NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "GET", url, "token " TEST_KEY, NULL, 0, 5000); /* the org key is not it */
    assert_error_body(&r, 401);
    http_free(&r);
    snprintf(bad_url, sizeof bad_url, "%s/v1/context/b16000000001/0", g_sim.url);
    http_do(&r, "GET", bad_url, token, NULL, 0, 5000);
    assert_error_body(&r, 404);
    http_free(&r);
}

static void test_print_env_and_env_dir_match_the_running_simulator(void **state)
{
    (void)state;
    char *running = env_of("d00000000001");
    char cmd[1024], path[300];
    snprintf(cmd, sizeof cmd,
             "%s --config %s/config.json --public-url %s --print-env d00000000001 > %s/printed",
             g_bin, g_sim.dir, g_sim.url, g_sim.dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/printed", g_sim.dir);
    char *printed = read_file(path);
    assert_non_null(printed);
    assert_string_equal(printed, running);
    free(printed);
    snprintf(path, sizeof path, "%s/env/d00000000001.env", g_sim.dir);
    char *file = read_file(path);
    assert_non_null(file);
    assert_string_equal(file, running);
    free(file);
    free(running);
    /* An unknown request id is an error, not an empty environment. */
    snprintf(cmd, sizeof cmd,
             "%s --config %s/config.json --listen-port 9 --print-env 0123456789ab >/dev/null "
             "2>&1",
             g_bin, g_sim.dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_stopped_deployment_cleans_its_sessions_up(void **state)
{
    (void)state;
    char s1[64], s2[64];
    create("stoppable", NULL, s1, sizeof s1);
    http_resp r;
    wait_status(s1, "Ready", &r);
    assert_string_equal(jstr(r.json, "deployment.request_id"), "5a0000000001");
    http_free(&r);

    char *env = env_of("5a0000000001");
    char url[256], token[80], ctx_url[256], ctx_token[80];
    env_value(env, "ARBITRIUM_DELETE_URL", url, sizeof url);
    env_value(env, "ARBITRIUM_DELETE_TOKEN", token, sizeof token);
    env_value(env, "ARBITRIUM_CONTEXT_URL", ctx_url, sizeof ctx_url);
    env_value(env, "ARBITRIUM_CONTEXT_TOKEN", ctx_token, sizeof ctx_token);
    free(env);
    http_do(&r, "DELETE", url, "wrong", NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "DELETE", url, token, NULL, 0, 5000);
    assert_int_equal(r.status, 200);
    http_free(&r);

    get_session(s1, &r);
    assert_error_body(&r, 404);
    http_free(&r);
    assert_int_equal(delete_session(s1), 410);
    http_do(&r, "GET", ctx_url, ctx_token, NULL, 0, 5000);
    assert_error_body(&r, 404);
    http_free(&r);
    api(&r, &g_sim, "GET", "/v1/sessions", NULL);
    assert_true(jnum(r.json, "total_count") == 0);
    http_free(&r);

    /* The next session goes to the other deployment; the admin stop behaves the same. */
    create("stoppable", NULL, s2, sizeof s2);
    wait_status(s2, "Ready", &r);
    assert_string_equal(jstr(r.json, "deployment.request_id"), "5a0000000002");
    http_free(&r);
    admin(&r, &g_sim, "POST", "/_sim/deployments/5a0000000002/stop", NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    assert_int_equal(delete_session(s2), 410);
    admin(&r, &g_sim, "POST", "/_sim/deployments/5a0000000002/stop", NULL);
    assert_error_body(&r, 404);
    http_free(&r);
    assert_true(state_num("counters.sessions_terminated") == 2);
}

static void test_org_stop_endpoint(void **state)
{
    (void)state;
    http_resp r;
    api(&r, &g_sim, "GET", "/v1/status/ac0000000001", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "current_status"), "Status.READY");
    http_free(&r);
    api(&r, &g_sim, "DELETE", "/v1/stop/ac0000000001", NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    api(&r, &g_sim, "GET", "/v1/status/ac0000000001", NULL);
    assert_error_body(&r, 404);
    http_free(&r);
}

static void test_example_config_and_defaults_run(void **state)
{
    (void)state;
    char *text = read_file(g_example_config);
    assert_non_null(text);
    sim_proc p;
    assert_true(sim_proc_start(&p, g_bin, text, NULL));
    free(text);
    http_resp r;
    api(&r, &p, "GET", "/v1/app/demo/version/v1", NULL);
    long st = r.status;
    http_free(&r);
    assert_int_equal(sim_proc_stop(&p), 0);
    assert_int_equal(st, 200);

    /* No config at all: app demo, version v1, one ready deployment with a game port. */
    assert_true(sim_proc_start(&p, g_bin, NULL, NULL));
    api(&r, &p, "POST", "/v1/session",
        "{\"app_name\":\"demo\",\"version_name\":\"v1\",\"ip_list\":[\"10.0.0.1\"]}");
    long created = r.status;
    char id[64] = "";
    if (jstr(r.json, "session_id")) snprintf(id, sizeof id, "%s", jstr(r.json, "session_id"));
    http_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/session/%s", id);
    api(&r, &p, "GET", path, NULL);
    long got = r.status;
    bool is_udp = jstr(r.json, "deployment.ports.game.protocol") &&
                  !strcmp(jstr(r.json, "deployment.ports.game.protocol"), "UDP");
    http_free(&r);
    assert_int_equal(sim_proc_stop(&p), 0);
    assert_int_equal(created, 200);
    assert_int_equal(got, 200);
    assert_true(is_udp);
}

static void test_bad_config_is_refused(void **state)
{
    (void)state;
    sim_proc p;
    const char *bad[] = {"{", "{\"apps\":[]}",
                         "{\"apps\":[{\"name\":\"a\",\"versions\":[{\"name\":"
                         "\"v\",\"sesion_config\":{}}]}]}"};
    for (size_t i = 0; i < 3; i++)
        assert_false(sim_proc_start(&p, g_bin, bad[i], NULL));
}

/* ---- lifecycle group ----------------------------------------------------------------- */

static void test_seeking_until_the_deployment_is_ready(void **state)
{
    (void)state;
    char id[64];
    create("manual", NULL, id, sizeof id);
    http_resp r;
    get_session(id, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "Seeking");
    bool b;
    assert_true(jbool(r.json, "ready", &b) && !b);
    assert_true(jbool(r.json, "linked", &b) && b);
    assert_true(jbool(r.json, "deployment.ready", &b) && !b);
    char rid[32];
    snprintf(rid, sizeof rid, "%s", jstr(r.json, "deployment.request_id"));
    http_free(&r);

    char second[64], third[64];
    create("manual", NULL, second, sizeof second); /* joins the starting deployment */
    get_session(second, &r);
    assert_string_equal(jstr(r.json, "status"), "Seeking");
    assert_string_equal(jstr(r.json, "deployment.request_id"), rid);
    http_free(&r);
    create("manual", NULL, third, sizeof third); /* full: a second deployment starts */
    get_session(third, &r);
    assert_string_not_equal(jstr(r.json, "deployment.request_id"), rid);
    http_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/_sim/deployments/%s/ready", rid);
    admin(&r, &g_sim, "POST", path, NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    get_session(id, &r);
    assert_string_equal(jstr(r.json, "status"), "Ready");
    assert_true(jbool(r.json, "deployment.ready", &b) && b);
    http_free(&r);
    get_session(third, &r);
    assert_string_equal(jstr(r.json, "status"), "Seeking");
    http_free(&r);
    const char *all[] = {id, second, third};
    for (int i = 0; i < 3; i++)
        assert_int_equal(delete_session(all[i]), 200);
}

static void test_start_delay_then_ready(void **state)
{
    (void)state;
    char id[64];
    create("slow", NULL, id, sizeof id);
    http_resp r;
    wait_status(id, "Ready", &r);
    char rid[32];
    snprintf(rid, sizeof rid, "%s", jstr(r.json, "deployment.request_id"));
    http_free(&r);
    cJSON *d = state_deployment(rid);
    bool b;
    assert_true(jbool(d, "autodeployed", &b) && b);
    cJSON_Delete(d);
    assert_int_equal(delete_session(id), 200);
}

static void test_autodeploy_adds_a_deployment_from_the_template(void **state)
{
    (void)state;
    double before = state_num("counters.autodeploys");
    char a[64], b[64];
    create("auto", NULL, a, sizeof a);
    create("auto", NULL, b, sizeof b);
    http_resp ra, rb;
    wait_status(a, "Ready", &ra);
    wait_status(b, "Ready", &rb);
    const char *rida = jstr(ra.json, "deployment.request_id");
    const char *ridb = jstr(rb.json, "deployment.request_id");
    assert_true(matches("^[0-9a-f]{12}$", rida));
    assert_string_not_equal(rida, ridb);
    char fqdn[64];
    snprintf(fqdn, sizeof fqdn, "%s.pr.edgegap.net", rida);
    assert_string_equal(jstr(ra.json, "deployment.fqdn"), fqdn);
    assert_string_equal(jstr(ra.json, "deployment.public_ip"), "198.51.100.7");
    assert_string_equal(jstr(ra.json, "deployment.tags.0"), "sim");
    double pa = jnum(ra.json, "deployment.ports.game.external");
    double pb = jnum(rb.json, "deployment.ports.game.external");
    assert_true(pa >= 30000 && pb >= 30000 && pa != pb);
    assert_true(jnum(ra.json, "deployment.ports.game.internal") == 7777);
    assert_string_equal(jstr(ra.json, "deployment.ports.web.protocol"), "HTTPS");
    assert_true(strncmp(jstr(ra.json, "deployment.ports.web.link"), "https://", 8) == 0);
    http_free(&ra);
    http_free(&rb);
    assert_true(state_num("counters.autodeploys") == before + 2);
    assert_int_equal(delete_session(a), 200);
    assert_int_equal(delete_session(b), 200);
}

static void test_match_session_takes_the_whole_deployment(void **state)
{
    (void)state;
    char a[64], b[64];
    create("match", NULL, a, sizeof a);
    http_resp r;
    wait_status(a, "Ready", &r);
    assert_true(jnum(r.json, "deployment.sockets_usage") == 4);
    assert_string_equal(jstr(r.json, "kind"), "Match");
    http_free(&r);
    create("match", NULL, b, sizeof b);
    get_session(b, &r);
    assert_string_equal(jstr(r.json, "status"), "Unprocessable");
    http_free(&r);
    assert_int_equal(delete_session(a), 200);
    assert_int_equal(delete_session(b), 200);
}

/* Waits for a sink entry about this session; returns a copy (caller frees). */
static cJSON *sink_entry(const char *id)
{
    for (int i = 0; i < 500; i++) {
        http_resp r;
        admin(&r, &g_sim, "GET", "/_sim/webhook-sink", NULL);
        cJSON *e, *found = NULL;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "received"))
        {
            if (jstr(e, "session_id") && !strcmp(jstr(e, "session_id"), id))
                found = cJSON_Duplicate(e, true);
        }
        http_free(&r);
        if (found) return found;
        sleep_ms(20);
    }
    fail_msg("no webhook for %s", id);
    return NULL;
}

static void test_webhook_posts_the_session_when_ready(void **state)
{
    (void)state;
    char hook[300], extra[400], id[64];
    snprintf(hook, sizeof hook, "%s/_sim/webhook-sink", g_sim.url);
    snprintf(extra, sizeof extra, "\"webhook_url\":\"%s\"", hook);
    create("slow", extra, id, sizeof id);
    cJSON *e = sink_entry(id);
    assert_string_equal(jstr(e, "status"), "Ready");
    bool b;
    assert_true(jbool(e, "ready", &b) && b);
    assert_non_null(jstr(e, "deployment.request_id"));
    assert_string_equal(jstr(e, "webhook_url"), hook);
    assert_string_equal(jstr(e, "session_ips.0.ip"), "203.0.113.7");
    cJSON_Delete(e);
    /* The delivery is recorded, with the receiver's answer. */
    http_resp r;
    bool seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        admin(&r, &g_sim, "GET", "/_sim/state", NULL);
        cJSON *d;
        cJSON_ArrayForEach(
            d, cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "webhooks"), "deliveries"))
        {
            if (!strcmp(jstr(d, "session_id"), id) && jnum(d, "http_status") == 200) seen = true;
        }
        http_free(&r);
        if (!seen) sleep_ms(20);
    }
    assert_true(seen);
    assert_int_equal(delete_session(id), 200);
}

static void test_webhook_posts_unprocessable(void **state)
{
    (void)state;
    char extra[400], a[64], b[64];
    snprintf(extra, sizeof extra, "\"webhook_url\":\"%s/_sim/webhook-sink/any/path\"", g_sim.url);
    create("match", NULL, a, sizeof a);
    create("match", extra, b, sizeof b);
    cJSON *e = sink_entry(b);
    assert_string_equal(jstr(e, "status"), "Unprocessable");
    cJSON_Delete(e);
    assert_int_equal(delete_session(a), 200);
    assert_int_equal(delete_session(b), 200);
}

static void test_dead_webhook_receiver_does_not_block(void **state)
{
    (void)state;
    char id[64];
    double failed = state_num("webhooks.failed");
    create("big", "\"webhook_url\":\"http://127.0.0.1:1/nobody\"", id, sizeof id);
    http_resp r;
    wait_status(id, "Ready", &r);
    http_free(&r);
    for (int i = 0; i < 500 && state_num("webhooks.failed") == failed; i++)
        sleep_ms(20);
    assert_true(state_num("webhooks.failed") == failed + 1);
    assert_int_equal(delete_session(id), 200);
}

/* ---- faults group ----------------------------------------------------------------------- */

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

typedef struct many {
    const sim_proc *p;
    int n;
    int ok;
} many;

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

/* Runs n concurrent GETs (curl multi) and counts the 200s. */
static void *run_many(void *arg)
{
    many *m = arg;
    CURLM *multi = curl_multi_init();
    CURL **h = calloc((size_t)m->n, sizeof *h);
    struct curl_slist *hdr = curl_slist_append(NULL, "Authorization: token " TEST_KEY);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/sessions", m->p->url);
    for (int i = 0; i < m->n; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
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
        if (hung < 300) sleep_ms(20);
    }
    assert_true(hung == 300);
    /* A client that gives up sees a timeout, not an answer. */
    char url[256];
    snprintf(url, sizeof url, "%s/v1/sessions", g_sim.url);
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

/* ---- main ------------------------------------------------------------------------------- */

static int setup_api_group(void **state)
{
    (void)state;
    const char *extra[] = {"--max-body", "4KiB", "--env-dir", "{dir}/env", NULL};
    return start_group(extra);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s SIM_BINARY api|lifecycle|faults TEST_CONFIG EXAMPLE_CONFIG\n",
                argv[0]);
        return 2;
    }
    g_bin = argv[1];
    g_test_config = argv[3];
    g_example_config = argv[4];
    g_config_text = read_file(g_test_config);
    if (!g_config_text) {
        fprintf(stderr, "cannot read %s\n", g_test_config);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (!strcmp(argv[2], "api")) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_missing_or_wrong_key_is_401),
            cmocka_unit_test(test_key_accepted_with_or_without_token_prefix),
            cmocka_unit_test(test_bad_input_is_400_and_creates_nothing),
            cmocka_unit_test(test_create_get_delete_session),
            cmocka_unit_test(test_unknown_session_is_404),
            cmocka_unit_test(test_list_paginates),
            cmocka_unit_test(test_app_version_get),
            cmocka_unit_test(test_unknown_route_and_method),
            cmocka_unit_test(test_seats_are_taken_and_freed),
            cmocka_unit_test(test_context_endpoint_and_its_auth),
            cmocka_unit_test(test_print_env_and_env_dir_match_the_running_simulator),
            cmocka_unit_test(test_stopped_deployment_cleans_its_sessions_up),
            cmocka_unit_test(test_org_stop_endpoint),
            cmocka_unit_test(test_example_config_and_defaults_run),
            cmocka_unit_test(test_bad_config_is_refused),
        };
        rc = cmocka_run_group_tests_name("edgegap_sim.api", tests, setup_api_group, teardown);
    } else if (!strcmp(argv[2], "lifecycle")) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_seeking_until_the_deployment_is_ready),
            cmocka_unit_test(test_start_delay_then_ready),
            cmocka_unit_test(test_autodeploy_adds_a_deployment_from_the_template),
            cmocka_unit_test(test_match_session_takes_the_whole_deployment),
            cmocka_unit_test(test_webhook_posts_the_session_when_ready),
            cmocka_unit_test(test_webhook_posts_unprocessable),
            cmocka_unit_test(test_dead_webhook_receiver_does_not_block),
        };
        rc = cmocka_run_group_tests_name("edgegap_sim.lifecycle", tests, setup_plain, teardown);
    } else if (!strcmp(argv[2], "faults")) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_error_rate_one_fails_every_call),
            cmocka_unit_test(test_error_rate_half_mixes_500_503_and_200),
            cmocka_unit_test(test_burst_fails_the_next_calls),
            cmocka_unit_test(test_forced_429_carries_retry_after),
            cmocka_unit_test(test_rate_limit_answers_429_with_retry_after),
            cmocka_unit_test(test_latency_delays_but_answers),
            cmocka_unit_test(test_hang_holds_calls_until_cleared_without_blocking_others),
            cmocka_unit_test(test_bad_fault_settings_are_400),
            cmocka_unit_test(test_faults_set_at_start),
            cmocka_unit_test(test_request_counts_by_route_and_status),
        };
        rc = cmocka_run_group_tests_name("edgegap_sim.faults", tests, setup_plain, teardown);
    } else {
        fprintf(stderr, "unknown group %s\n", argv[2]);
        rc = 2;
    }
    free(g_config_text);
    curl_global_cleanup();
    return rc;
}
