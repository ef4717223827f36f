/* Routing: Edgegap's /v1 API (faults, auth, rate limit, then the call) and the test-only
 * /_sim admin endpoints. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_http.h"

#define MAX_SEGS 8
#define SINK_MAX 1000

struct sim_sink {
    pthread_mutex_t mu;
    cJSON *received; /* array */
};

sim_sink *sim_sink_new(void)
{
    sim_sink *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->received = cJSON_CreateArray();
    return s;
}

void sim_sink_free(sim_sink *s)
{
    if (!s) return;
    cJSON_Delete(s->received);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void error(sim_response *r, int status, const char *message)
{
    r->status = status;
    r->json = sim_error_body(message);
}

static void route_name(sim_response *r, const char *name)
{
    snprintf(r->route, sizeof r->route, "%s", name);
}

/* Splits "/a/b/c" into segments (in buf). Returns the count, or -1 when too long/many. */
static int split(const char *url, char *buf, size_t size, char **segs)
{
    if (strlen(url) >= size) return -1;
    strcpy(buf, url);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGS || strlen(t) > 128) return -1;
        segs[n++] = t;
    }
    return n;
}

static bool is_method(const sim_request *q, const char *m)
{
    return strcmp(q->method, m) == 0;
}

static bool parse_positive(const char *s, long long max, long long *out)
{
    if (!s || !*s || strlen(s) > 9) return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return false;
    long long v = atoll(s);
    if (v < 1 || v > max) return false;
    *out = v;
    return true;
}

/* The organisation key from "Authorization: token <key>" (or the bare key). */
static const char *presented_key(const sim_request *q)
{
    const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Authorization");
    if (!h) return NULL;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "token ", 6) == 0) {
        h += 6;
        while (*h == ' ')
            h++;
    }
    return h;
}

/* ---- /v1 ---------------------------------------------------------------------------------- */

static void create_session(sim_routes *rt, const sim_request *q, sim_response *r)
{
    if (q->body_too_large) return error(r, 413, "Request body too large");
    sim_session_req req;
    if (sim_session_req_parse(q->body, q->body_len, &req) != SG_OK)
        return error(r, 400, sg_last_error());
    r->status = sim_state_create_session(rt->state, &req, &r->json);
    sim_session_req_clear(&req);
    /* Edgegap acted; what happens to the answer is another matter. */
    if (r->status == 200) r->after = sim_faults_after_create(rt->faults, &r->after_delay_ms);
}

static void list_sessions(sim_routes *rt, const sim_request *q, sim_response *r)
{
    const char *ps = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "page");
    const char *ls = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "limit");
    long long page = 1, limit = 10;
    if (ps && !parse_positive(ps, 1000000, &page))
        return error(r, 400, "page must be a positive integer");
    if (ls && !parse_positive(ls, 100, &limit))
        return error(r, 400, "limit must be an integer from 1 to 100");
    r->status = sim_state_list_sessions(rt->state, page, limit, &r->json);
}

/* Calls that carry the organisation key. */
static void org_call(sim_routes *rt, const sim_request *q, char **seg, int n, sim_response *r)
{
    if (n == 2 && !strcmp(seg[1], "session"))
        route_name(r, "/v1/session");
    else if (n == 3 && !strcmp(seg[1], "session"))
        route_name(r, "/v1/session/{session_id}");
    else if (n == 2 && !strcmp(seg[1], "sessions"))
        route_name(r, "/v1/sessions");
    else if (n == 5 && !strcmp(seg[1], "app") && !strcmp(seg[3], "version"))
        route_name(r, "/v1/app/{app_name}/version/{version_name}");
    else if (n == 3 && !strcmp(seg[1], "stop"))
        route_name(r, "/v1/stop/{request_id}");
    else if (n == 3 && !strcmp(seg[1], "status"))
        route_name(r, "/v1/status/{request_id}");
    else {
        route_name(r, "(unknown)");
        return error(r, 404, "Not found");
    }

    if (!sim_secret_equal(presented_key(q), rt->api_key))
        return error(r, 401, "Unauthorized: missing or invalid API token");
    int retry = 1;
    if (!sim_rate_allow(rt->faults, rt->key_digest, &retry)) {
        r->retry_after_s = retry;
        return error(r, 429, "Too Many Requests: rate limit exceeded");
    }

    if (!strcmp(r->route, "/v1/session")) {
        if (!is_method(q, "POST")) return error(r, 405, "Method not allowed");
        return create_session(rt, q, r);
    }
    if (!strcmp(r->route, "/v1/session/{session_id}")) {
        if (is_method(q, "GET"))
            r->status = sim_state_get_session(rt->state, seg[2], &r->json);
        else if (is_method(q, "DELETE"))
            r->status = sim_state_delete_session(rt->state, seg[2], &r->json);
        else
            error(r, 405, "Method not allowed");
        return;
    }
    if (!strcmp(r->route, "/v1/sessions")) {
        if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
        return list_sessions(rt, q, r);
    }
    if (!strcmp(r->route, "/v1/stop/{request_id}")) {
        if (!is_method(q, "DELETE")) return error(r, 405, "Method not allowed");
        r->status = sim_state_stop_deployment(rt->state, seg[2], &r->json);
        return;
    }
    if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
    if (!strcmp(r->route, "/v1/status/{request_id}"))
        r->status = sim_state_deployment_status(rt->state, seg[2], &r->json);
    else
        r->status = sim_state_app_version(rt->state, seg[2], seg[4], &r->json);
}

static void api(sim_routes *rt, const sim_request *q, char **seg, int n, sim_response *r)
{
    bool context = n == 4 && !strcmp(seg[1], "context");
    bool self_stop = n == 5 && !strcmp(seg[1], "self") && !strcmp(seg[2], "stop");
    if (context)
        route_name(r, "/v1/context/{request_id}/{security_number}");
    else if (self_stop)
        route_name(r, "/v1/self/stop/{request_id}/{access_point_id}");

    if (rt->stopping) return error(r, 503, "Service Unavailable");
    int status = 0, retry = 0;
    switch (sim_faults_decide(rt->faults, &status, &retry)) {
    case SIM_FAULT_429:
        if (!r->route[0]) route_name(r, "(fault)");
        r->retry_after_s = retry;
        return error(r, 429, "Too Many Requests");
    case SIM_FAULT_STATUS:
        if (!r->route[0]) route_name(r, "(fault)");
        return error(r, status, status == 503 ? "Service Unavailable" : "Internal Server Error");
    default:
        break;
    }

    /* Deployment-side calls authenticate with their own raw tokens. */
    const char *raw = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Authorization");
    if (context) {
        if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
        r->status = sim_state_context(rt->state, seg[2], seg[3], raw, &r->json);
        return;
    }
    if (self_stop) {
        if (!is_method(q, "DELETE")) return error(r, 405, "Method not allowed");
        r->status = sim_state_self_stop(rt->state, seg[3], seg[4], raw, &r->json);
        return;
    }
    org_call(rt, q, seg, n, r);
}

/* ---- /_sim (test-only admin) ----------------------------------------------------------- */

static cJSON *parse_body(const sim_request *q, sim_response *r)
{
    if (q->body_too_large) {
        error(r, 413, "Request body too large");
        return NULL;
    }
    cJSON *j = q->body_len ? cJSON_ParseWithLength(q->body, q->body_len) : cJSON_CreateObject();
    if (!j) error(r, 400, "The body is not valid JSON");
    return j;
}

static void faults(sim_routes *rt, const sim_request *q, sim_response *r)
{
    route_name(r, "/_sim/faults");
    if (is_method(q, "POST") || is_method(q, "PUT")) {
        cJSON *j = parse_body(q, r);
        if (!j) return;
        sg_status st = sim_faults_update(rt->faults, j);
        cJSON_Delete(j);
        if (st != SG_OK) return error(r, 400, sg_last_error());
    } else if (is_method(q, "DELETE")) {
        sim_faults_clear(rt->faults);
    } else if (!is_method(q, "GET")) {
        return error(r, 405, "Method not allowed");
    }
    if (rt->faults_changed) rt->faults_changed(rt->server);
    r->status = 200;
    r->json = sim_faults_to_json(rt->faults);
}

static void sink(sim_routes *rt, const sim_request *q, sim_response *r)
{
    route_name(r, "/_sim/webhook-sink");
    sim_sink *s = rt->sink;
    pthread_mutex_lock(&s->mu);
    if (is_method(q, "POST")) {
        cJSON *j = q->body_too_large ? NULL : cJSON_ParseWithLength(q->body, q->body_len);
        if (!j) j = cJSON_CreateString("(not JSON)");
        if (cJSON_GetArraySize(s->received) >= SINK_MAX) cJSON_DeleteItemFromArray(s->received, 0);
        cJSON_AddItemToArray(s->received, j);
        r->status = 200;
        r->json = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->json, "received", cJSON_GetArraySize(s->received));
    } else if (is_method(q, "GET") || is_method(q, "DELETE")) {
        r->status = 200;
        r->json = cJSON_CreateObject();
        cJSON_AddItemToObject(r->json, "received", cJSON_Duplicate(s->received, true));
        if (is_method(q, "DELETE")) {
            cJSON_Delete(s->received);
            s->received = cJSON_CreateArray();
        }
    } else {
        error(r, 405, "Method not allowed");
    }
    pthread_mutex_unlock(&s->mu);
}

static void deployments(sim_routes *rt, const sim_request *q, char **seg, int n, sim_response *r)
{
    if (n == 2) {
        route_name(r, "/_sim/deployments");
        if (!is_method(q, "POST")) return error(r, 405, "Method not allowed");
        cJSON *j = parse_body(q, r);
        if (!j) return;
        r->status = sim_state_add_deployment(rt->state, j, &r->json);
        cJSON_Delete(j);
        return;
    }
    if (n != 4) return error(r, 404, "Not found");
    if (!strcmp(seg[3], "env")) {
        route_name(r, "/_sim/deployments/{request_id}/env");
        if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
        char *text = NULL;
        r->status = sim_state_env(rt->state, seg[2], &text);
        if (r->status == 200)
            r->text = text;
        else
            error(r, r->status, r->status == 404 ? "Deployment not found" : "Out of memory");
        return;
    }
    if (!is_method(q, "POST")) return error(r, 405, "Method not allowed");
    if (!strcmp(seg[3], "stop")) {
        route_name(r, "/_sim/deployments/{request_id}/stop");
        r->status = sim_state_stop_deployment(rt->state, seg[2], &r->json);
    } else if (!strcmp(seg[3], "fail")) {
        route_name(r, "/_sim/deployments/{request_id}/fail");
        r->status = sim_state_fail_deployment(rt->state, seg[2], &r->json);
    } else if (!strcmp(seg[3], "ready")) {
        route_name(r, "/_sim/deployments/{request_id}/ready");
        r->status = sim_state_mark_ready(rt->state, seg[2], &r->json);
    } else {
        error(r, 404, "Not found");
    }
}

static void admin(sim_routes *rt, const sim_request *q, char **seg, int n, sim_response *r)
{
    if (n == 2 && !strcmp(seg[1], "health")) {
        route_name(r, "/_sim/health");
        r->status = 200;
        r->json = cJSON_CreateObject();
        cJSON_AddBoolToObject(r->json, "ok", true);
    } else if (n == 2 && !strcmp(seg[1], "state")) {
        route_name(r, "/_sim/state");
        if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
        r->status = 200;
        r->json = sim_state_snapshot(rt->state);
        cJSON_AddItemToObject(r->json, "faults", sim_faults_to_json(rt->faults));
        if (rt->webhooks)
            cJSON_AddItemToObject(r->json, "webhooks", sim_webhooks_to_json(rt->webhooks));
        if (rt->server_stats)
            cJSON_AddItemToObject(r->json, "server", rt->server_stats(rt->server));
    } else if (n == 2 && !strcmp(seg[1], "requests")) {
        route_name(r, "/_sim/requests");
        if (!is_method(q, "GET")) return error(r, 405, "Method not allowed");
        r->status = 200;
        r->json = sim_state_counts(rt->state); /* /_sim/state without the lists: cheap */
    } else if (n == 2 && !strcmp(seg[1], "faults")) {
        faults(rt, q, r);
    } else if (n >= 2 && !strcmp(seg[1], "webhook-sink")) {
        sink(rt, q, r);
    } else if (n >= 2 && !strcmp(seg[1], "deployments")) {
        deployments(rt, q, seg, n, r);
    } else {
        route_name(r, "(unknown)");
        error(r, 404, "Not found");
    }
}

void sim_route(sim_routes *rt, const sim_request *q, sim_response *r)
{
    char buf[600];
    char *seg[MAX_SEGS];
    memset(r, 0, sizeof *r);
    int n = split(q->url, buf, sizeof buf, seg);
    if (n >= 1 && !strcmp(seg[0], "v1")) return api(rt, q, seg, n, r);
    if (n >= 1 && !strcmp(seg[0], "_sim")) return admin(rt, q, seg, n, r);
    route_name(r, "(unknown)");
    error(r, 404, "Not found");
}
