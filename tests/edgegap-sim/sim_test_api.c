/* Simulator tests, api group: auth, session calls, pagination, bad input, seats, context,
 * environment, deployment stops, config files. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_test.h"

static void test_missing_or_wrong_key_is_401(void **state)
{
    (void)state;
    char url[256];
    strfmt(url, sizeof url, "%s/v1/sessions", g_sim.url);
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
    strfmt(url, sizeof url, "%s/v1/session", g_sim.url);
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
    strfmt(url, sizeof url, "%s/v1/sessions", g_sim.url);
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
    strfmt(id, sizeof id, "%s", jstr(r.json, "session_id"));
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
    strfmt(url, sizeof url, "%s/v1/session", g_sim.url);
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
    strfmt(e, sizeof e, "%s", jstr(r.json, "session_id"));
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
    strfmt(path, sizeof path, "/_sim/deployments/%s/env", rid);
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
    strfmt(pat, sizeof pat, "%s=", key);
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
    strfmt(prefixed, sizeof prefixed, "token %s", token);
    http_do(&r, "GET", url, prefixed, NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "GET", url, NULL, NULL, 0, 5000);
    assert_error_body(&r, 401);
    http_free(&r);
    http_do(&r, "GET", url, "token " TEST_KEY, NULL, 0, 5000); /* the org key is not it */
    assert_error_body(&r, 401);
    http_free(&r);
    strfmt(bad_url, sizeof bad_url, "%s/v1/context/b16000000001/0", g_sim.url);
    http_do(&r, "GET", bad_url, token, NULL, 0, 5000);
    assert_error_body(&r, 404);
    http_free(&r);
}

static void test_print_env_and_env_dir_match_the_running_simulator(void **state)
{
    (void)state;
    char *running = env_of("d00000000001");
    char cmd[1024], path[300];
    strfmt(cmd, sizeof cmd,
           "%s --config %s/config.json --public-url %s --print-env d00000000001 > %s/printed",
           g_bin, g_sim.dir, g_sim.url, g_sim.dir);
    assert_int_equal(system(cmd), 0);
    strfmt(path, sizeof path, "%s/printed", g_sim.dir);
    char *printed = read_file(path);
    assert_non_null(printed);
    assert_string_equal(printed, running);
    free(printed);
    strfmt(path, sizeof path, "%s/env/d00000000001.env", g_sim.dir);
    char *file = read_file(path);
    assert_non_null(file);
    assert_string_equal(file, running);
    free(file);
    free(running);
    /* An unknown request id is an error, not an empty environment. */
    strfmt(cmd, sizeof cmd,
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
    if (jstr(r.json, "session_id")) strfmt(id, sizeof id, "%s", jstr(r.json, "session_id"));
    http_free(&r);
    char path[128];
    strfmt(path, sizeof path, "/v1/session/%s", id);
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
                         ("{\"apps\":[{\"name\":\"a\",\"versions\":[{\"name\":"
                          "\"v\",\"sesion_config\":{}}]}]}")};
    for (size_t i = 0; i < 3; i++)
        assert_false(sim_proc_start(&p, g_bin, bad[i], NULL));
}

static int setup_api_group(void **state)
{
    (void)state;
    const char *extra[] = {"--max-body", "4KiB", "--env-dir", "{dir}/env", NULL};
    return start_group(extra);
}

int sim_tests_api(void)
{
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
    return cmocka_run_group_tests_name("edgegap_sim.api", tests, setup_api_group, teardown);
}
