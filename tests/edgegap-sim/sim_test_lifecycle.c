/* Simulator tests, lifecycle group: Seeking to Ready, start delays, autodeploy, failures,
 * Match sessions and webhooks. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_test.h"

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
    strfmt(rid, sizeof rid, "%s", jstr(r.json, "deployment.request_id"));
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
    strfmt(path, sizeof path, "/_sim/deployments/%s/ready", rid);
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

static void test_failed_deployment_turns_waiting_sessions_to_error(void **state)
{
    (void)state;
    /* A fresh deployment that waits to be told to start, and a session linked to it. */
    http_resp r;
    admin(&r, &g_sim, "POST", "/_sim/deployments",
          "{\"app\":\"game\",\"version\":\"manual\",\"start_delay_ms\":-1}");
    assert_int_equal(r.status, 200);
    char rid[32];
    strfmt(rid, sizeof rid, "%s", jstr(r.json, "request_id"));
    http_free(&r);
    char extra[400], id[64], path[96];
    strfmt(extra, sizeof extra,
           "\"webhook_url\":\"%s/_sim/webhook-sink\",\"deployment_request_id\":\"%s\"", g_sim.url,
           rid);
    create("manual", extra, id, sizeof id);
    get_session(id, &r);
    assert_string_equal(jstr(r.json, "status"), "Seeking");
    assert_string_equal(jstr(r.json, "deployment.request_id"), rid);
    http_free(&r);
    strfmt(path, sizeof path, "/_sim/deployments/%s/fail", rid);
    admin(&r, &g_sim, "POST", path, NULL);
    assert_int_equal(r.status, 200);
    http_free(&r);
    get_session(id, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "Error");
    assert_non_null(jstr(r.json, "error"));
    bool b;
    assert_true(jbool(r.json, "ready", &b) && !b);
    http_free(&r);
    cJSON *e = sink_entry(id);
    assert_string_equal(jstr(e, "status"), "Error");
    cJSON_Delete(e);
    assert_int_equal(delete_session(id), 200);
}

static void test_start_delay_then_ready(void **state)
{
    (void)state;
    char id[64];
    create("slow", NULL, id, sizeof id);
    http_resp r;
    wait_status(id, "Ready", &r);
    char rid[32];
    strfmt(rid, sizeof rid, "%s", jstr(r.json, "deployment.request_id"));
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
    strfmt(fqdn, sizeof fqdn, "%s.pr.edgegap.net", rida);
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

static void test_webhook_posts_the_session_when_ready(void **state)
{
    (void)state;
    char hook[300], extra[400], id[64];
    strfmt(hook, sizeof hook, "%s/_sim/webhook-sink", g_sim.url);
    strfmt(extra, sizeof extra, "\"webhook_url\":\"%s\"", hook);
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
        if (!seen) sg_test_sleep_ms(20);
    }
    assert_true(seen);
    assert_int_equal(delete_session(id), 200);
}

static void test_webhook_posts_unprocessable(void **state)
{
    (void)state;
    char extra[400], a[64], b[64];
    strfmt(extra, sizeof extra, "\"webhook_url\":\"%s/_sim/webhook-sink/any/path\"", g_sim.url);
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
        sg_test_sleep_ms(20);
    assert_true(state_num("webhooks.failed") == failed + 1);
    assert_int_equal(delete_session(id), 200);
}

int sim_tests_lifecycle(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeking_until_the_deployment_is_ready),
        cmocka_unit_test(test_start_delay_then_ready),
        cmocka_unit_test(test_failed_deployment_turns_waiting_sessions_to_error),
        cmocka_unit_test(test_autodeploy_adds_a_deployment_from_the_template),
        cmocka_unit_test(test_match_session_takes_the_whole_deployment),
        cmocka_unit_test(test_webhook_posts_the_session_when_ready),
        cmocka_unit_test(test_webhook_posts_unprocessable),
        cmocka_unit_test(test_dead_webhook_receiver_does_not_block),
    };
    return cmocka_run_group_tests_name("edgegap_sim.lifecycle", tests, setup_plain, teardown);
}
