/* Tests of seatgate-edgegap-sim over real HTTP: the simulator runs as a child process on a
 * free loopback port and is stopped at the end of each group (also when a test fails).
 *
 * Usage: test_edgegap_sim SIM_BINARY GROUP TEST_CONFIG EXAMPLE_CONFIG
 *        GROUP is api, lifecycle or faults (sim_test_<group>.c). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

const char *g_bin, *g_test_config, *g_example_config;
char *g_config_text;
sim_proc g_sim;

/* ---- helpers ------------------------------------------------------------------------------ */

char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int start_group(const char *const *extra)
{
    return sim_proc_start(&g_sim, g_bin, g_config_text, extra) ? 0 : -1;
}

int setup_plain(void **state)
{
    (void)state;
    return start_group(NULL);
}

int teardown(void **state)
{
    (void)state;
    return sim_proc_stop(&g_sim) == 0 ? 0 : -1; /* a clean exit on SIGTERM is part of the test */
}

void assert_error_body(const http_resp *r, long status)
{
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    const char *m = jstr(r->json, "message");
    assert_non_null(m);
    assert_true(strlen(m) > 0);
}

/* Creates a session; returns its id (static buffer per call site) or fails the test. */
void create(const char *version, const char *extra_json, char *id_out, size_t size)
{
    char body[1024];
    strfmt(body, sizeof body,
           "{\"app_name\":\"game\",\"version_name\":\"%s\",\"ip_list\":[\"203.0.113.7\"]%s%s}",
           version, extra_json ? "," : "", extra_json ? extra_json : "");
    http_resp r;
    api(&r, &g_sim, "POST", "/v1/session", body);
    assert_int_equal(r.status, 200);
    const char *id = jstr(r.json, "session_id");
    assert_non_null(id);
    strfmt(id_out, size, "%s", id);
    http_free(&r);
}

void get_session(const char *id, http_resp *r)
{
    char path[128];
    strfmt(path, sizeof path, "/v1/session/%s", id);
    api(r, &g_sim, "GET", path, NULL);
}

long delete_session(const char *id)
{
    char path[128];
    strfmt(path, sizeof path, "/v1/session/%s", id);
    http_resp r;
    api(&r, &g_sim, "DELETE", path, NULL);
    long s = r.status;
    http_free(&r);
    return s;
}

double state_num(const char *path)
{
    http_resp r;
    admin(&r, &g_sim, "GET", "/_sim/state", NULL);
    assert_int_equal(r.status, 200);
    double v = jnum(r.json, path);
    http_free(&r);
    return v;
}

/* The deployment entry of /_sim/state with this request id (caller frees). */
cJSON *state_deployment(const char *rid)
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
void wait_status(const char *id, const char *status, http_resp *r)
{
    for (int i = 0; i < 500; i++) {
        get_session(id, r);
        assert_int_equal(r->status, 200);
        if (jstr(r->json, "status") && !strcmp(jstr(r->json, "status"), status)) return;
        http_free(r);
        sg_test_sleep_ms(20);
    }
    fail_msg("session %s never became %s", id, status);
}

bool matches(const char *re, const char *s)
{
    regex_t rx;
    if (!s || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) return false;
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* Waits for a sink entry about this session; returns a copy (caller frees). */
cJSON *sink_entry(const char *id)
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
        sg_test_sleep_ms(20);
    }
    fail_msg("no webhook for %s", id);
    return NULL;
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
    int rc = 2;
    if (!strcmp(argv[2], "api"))
        rc = sim_tests_api();
    else if (!strcmp(argv[2], "lifecycle"))
        rc = sim_tests_lifecycle();
    else if (!strcmp(argv[2], "faults"))
        rc = sim_tests_faults();
    else
        fprintf(stderr, "unknown group %s\n", argv[2]);
    free(g_config_text);
    curl_global_cleanup();
    return rc;
}
