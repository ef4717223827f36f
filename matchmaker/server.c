/* The HTTP service on libmicrohttpd: routing, body collection, suspend/resume, answers. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conn_guard.h"
#include "reply.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

#define MAX_FORWARD_HEADER 8192

typedef enum route {
    ROUTE_CONNECT = 0,
    ROUTE_PREFLIGHT,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_WEBHOOK,
    ROUTE_NOT_FOUND,
    ROUTE_BAD_METHOD,
    ROUTE_COUNT
} route;

static const char *const route_names[ROUTE_COUNT] = {"connect_me", "preflight",         "healthz",
                                                     "readyz",     "metrics",           "webhook",
                                                     "not_found",  "method_not_allowed"};

typedef enum req_state {
    REQ_BODY = 0, /* collecting the body */
    REQ_WAITING,  /* suspended, the handler has the call */
    REQ_ANSWER    /* the handler is done: send its answer */
} req_state;

typedef struct http_req {
    route rt;
    req_state state;
    struct MHD_Connection *conn;
    char *body;
    size_t len, cap, limit;
    bool too_large;
    bool admitted;
    bool refused; /* answered 400 from its head alone */
    long long start_ms;
    const char *allow; /* for 405 */
    const char *challenge_code; /* a 401's code: sent with WWW-Authenticate (static string) */
    sg_connect_call call;
    sg_connect_request *owned_req; /* call.req when the body said something */
    sg_cors_headers *cors; /* only for requests with an Origin (kept small for waiters) */
    struct stream *stream; /* only for a streamed answer (Accept: text/event-stream) */
    struct sg_server *server;
} http_req;

/* A streamed answer: Server-Sent Events written as the flow reports progress. The request
 * is shared by the HTTP side (until libmicrohttpd completes the connection) and the flow
 * (until done); whichever lets go last frees it. The connection is suspended whenever there
 * is nothing to send, so the flow's hang-up watch (on a duplicate of the socket, which stays
 * valid whatever libmicrohttpd does with its own) sees a player who leaves. */
typedef struct stream {
    pthread_mutex_t mu;
    char *buf;
    size_t len, off, cap;
    bool done;      /* the last event is in buf */
    bool suspended; /* by the reader, waiting for events */
    bool closed;    /* libmicrohttpd completed the connection */
    int refs;
    int watch_fd;
} stream;

struct sg_server {
    struct MHD_Daemon *d;
    sg_server_options o;
    char *webhook_path;
    uint8_t webhook_hash[32];
    size_t webhook_prefix_len; /* "/edgegap/webhook/" */
    int port;
    bool tls;
    sg_counter *requests[ROUTE_COUNT][6]; /* by route and status class, cached lazily */
    sg_gauge *in_flight;
    sg_gauge *waiting;
    sg_histogram *connect_seconds;
    sg_conn_guard *guard;
    bool starting;         /* inside sg_server_start: libmicrohttpd's messages are kept */
    char start_error[256]; /* its first message while starting */
};

static const sg_connect_request empty_request;

/* ---- answers ---- */

static void count_request(sg_server *s, route rt, int status)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *labels[] = {"route", route_names[rt], "code", code, NULL};
    sg_counter_inc(sg_metrics_counter(s->o.metrics, "seatgate_http_requests_total",
                                      "HTTP requests answered, by route and status", labels));
}

static void count_outcome_add(sg_server *s, const char *outcome, uint64_t n)
{
    const char *labels[] = {"outcome", outcome ? outcome : "internal", NULL};
    sg_counter_add(sg_metrics_counter(s->o.metrics, "seatgate_connect_outcomes_total",
                                      "POST /connect-me answers, by outcome (ok or error code)",
                                      labels),
                   n);
}

static void count_outcome(sg_server *s, const char *outcome)
{
    count_outcome_add(s, outcome, 1);
}

/* Queues body (malloc()ed, taken) with the given status and content type. */
static enum MHD_Result send_body(http_req *r, int status, char *body, size_t len,
                                 const char *content_type, long long retry_after_ms)
{
    sg_server *s = r->server;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after_ms > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", sg_reply_retry_after_s(retry_after_ms));
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (status == 401) {
        char ch[160];
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                sg_auth_challenge(r->challenge_code, ch, sizeof ch));
    }
    for (size_t i = 0; r->cors && i < r->cors->count; i++)
        MHD_add_response_header(resp, r->cors->h[i].name, r->cors->h[i].value);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    count_request(s, r->rt, status);
    return ret;
}

static enum MHD_Result send_error(http_req *r, const sg_reply_error *e)
{
    size_t len = 0;
    char *json = sg_reply_error_json(e, &len);
    if (r->rt == ROUTE_CONNECT) count_outcome(r->server, e->code);
    return send_body(r, e->status, json, len, "application/json", e->retry_after_ms);
}

static enum MHD_Result send_text(http_req *r, int status, const char *text, const char *ct)
{
    char *copy = strdup(text);
    return send_body(r, status, copy, copy ? strlen(copy) : 0, ct, 0);
}

/* ---- routing ---- */

static bool webhook_match(const sg_server *s, const char *url)
{
    if (!s->webhook_path) return false;
    /* Hash both sides so neither the secret's bytes nor its length leak through timing. */
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)url, strlen(url), NULL, 0);
    return sodium_memcmp(h, s->webhook_hash, sizeof h) == 0;
}

static route pick_route(http_req *r, const char *url, const char *method)
{
    sg_server *s = r->server;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/connect-me") == 0) {
        if (strcmp(method, "POST") == 0) return ROUTE_CONNECT;
        if (strcmp(method, "OPTIONS") == 0) return ROUTE_PREFLIGHT;
        r->allow = "POST, OPTIONS";
        return ROUTE_BAD_METHOD;
    }
    static const struct {
        const char *path;
        route rt;
    } gets[] = {
        {"/healthz", ROUTE_HEALTHZ}, {"/readyz", ROUTE_READYZ}, {"/metrics", ROUTE_METRICS}};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        if (strcmp(url, gets[i].path) == 0) {
            if (get) return gets[i].rt;
            r->allow = "GET, HEAD";
            return ROUTE_BAD_METHOD;
        }
    }
    if (webhook_match(s, url)) {
        if (strcmp(method, "POST") == 0) return ROUTE_WEBHOOK;
        r->allow = "POST";
        return ROUTE_BAD_METHOD;
    }
    return ROUTE_NOT_FOUND;
}

/* Joins every line of a header, in order, with ", " (RFC 9110 list semantics). */
typedef struct header_join {
    const char *name;
    char buf[MAX_FORWARD_HEADER];
    size_t len;
    bool overflow;
    bool any;
} header_join;

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    header_join *j = cls;
    if (!key || strcasecmp(key, j->name) != 0 || !value) return MHD_YES;
    size_t n = strlen(value);
    size_t need = n + (j->any ? 2 : 0);
    if (j->len + need + 1 > sizeof j->buf) {
        j->overflow = true;
        return MHD_NO;
    }
    if (j->any) {
        memcpy(j->buf + j->len, ", ", 2);
        j->len += 2;
    }
    memcpy(j->buf + j->len, value, n);
    j->len += n;
    j->buf[j->len] = '\0';
    j->any = true;
    return MHD_YES;
}

/* A page from an origin not in --cors-origins: the operator is told which and how to allow
 * it (at most one line per 10 s, with the count of those held back). */
static sg_log_limiter origin_log;

static void log_origin_refused(const char *origin, const char *what)
{
    unsigned long long held = 0;
    if (!sg_log_limit(&origin_log, 10000, &held)) return;
    char q[SG_CORS_MAX_ORIGIN + 8];
    SG_WARN("http", "origin_refused",
            "origin=%s request=%s suppressed=%llu hint=\"to let pages from it call /connect-me, "
            "add it to --cors-origins (SEATGATE_CORS_ORIGINS)\"",
            sg_log_quote(origin, q, sizeof q), what, held);
}

/* ---- /connect-me ---- */

/* ---- streamed answers (Server-Sent Events) ---- */

static void free_req(http_req *r);

/* Grows *buf (holding len bytes, *cap allocated) to take more bytes and a NUL. */
static bool reserve_buf(char **buf, size_t *cap, size_t len, size_t more)
{
    if (len + more + 1 <= *cap) return true;
    size_t n = *cap ? *cap : 1024;
    while (n < len + more + 1)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b) return false;
    *buf = b;
    *cap = n;
    return true;
}

/* Appends one event (locked). False when out of memory. */
static bool stream_append(stream *st, const char *event, const char *data)
{
    if (!reserve_buf(&st->buf, &st->cap, st->len, strlen(event) + strlen(data) + 16)) return false;
    st->len += (size_t)snprintf(st->buf + st->len, st->cap - st->len, "event: %s\ndata: %s\n\n",
                                event, data);
    return true;
}

/* Wakes the connection so libmicrohttpd asks the reader for what was appended (locked). */
static void stream_wake(http_req *r)
{
    if (r->stream->suspended && !r->stream->closed) {
        r->stream->suspended = false;
        MHD_resume_connection(r->conn);
    }
}

static void stream_progress(sg_connect_call *call, const char *event, const char *data_json)
{
    http_req *r = call->http;
    pthread_mutex_lock(&r->stream->mu);
    if (!r->stream->done && stream_append(r->stream, event, data_json)) stream_wake(r);
    pthread_mutex_unlock(&r->stream->mu);
}

/* The last event: ready with the answer, or error with its status, Retry-After and body. */
static void stream_done(sg_connect_call *call)
{
    http_req *r = call->http;
    sg_server *s = r->server;
    sg_gauge_add(s->waiting, -1);
    sg_histogram_observe(s->connect_seconds, (double)(sg_clock_mono_ms() - r->start_ms) / 1000.0);
    count_outcome(s, call->outcome);
    int status = call->status ? call->status : 500;
    char *data = NULL;
    if (status == 200 && call->body) {
        data = call->body;
        call->body = NULL;
    } else {
        cJSON *o = call->body ? cJSON_Parse(call->body) : NULL;
        if (!o) o = cJSON_CreateObject();
        if (o) {
            cJSON_AddNumberToObject(o, "status", status);
            if (call->retry_after_ms > 0)
                cJSON_AddNumberToObject(o, "retry_after",
                                        (double)sg_reply_retry_after_s(call->retry_after_ms));
            data = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
        }
    }
    pthread_mutex_lock(&r->stream->mu);
    if (!stream_append(r->stream, status == 200 ? "ready" : "error",
                       data ? data : "{\"status\":500}"))
        r->stream->len = r->stream->off; /* out of memory: the stream just ends */
    r->stream->done = true;
    stream_wake(r);
    bool last = --r->stream->refs == 0;
    pthread_mutex_unlock(&r->stream->mu);
    free(data);
    if (last) free_req(r);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_req *r = cls;
    stream *st = r->stream;
    pthread_mutex_lock(&st->mu);
    ssize_t n;
    if (st->off < st->len) {
        size_t k = st->len - st->off < max ? st->len - st->off : max;
        memcpy(buf, st->buf + st->off, k);
        st->off += k;
        if (st->off == st->len) st->off = st->len = 0;
        n = (ssize_t)k;
    } else if (st->done) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Nothing yet: park the connection until the next event (see stream_wake). */
        st->suspended = true;
        MHD_suspend_connection(r->conn);
        n = 0;
    }
    pthread_mutex_unlock(&st->mu);
    return n;
}

/* Answers 200 text/event-stream at once and hands the call to the flow, which reports
 * progress through it. */
static enum MHD_Result stream_begin(http_req *r, int fd)
{
    sg_server *s = r->server;
    stream *st = calloc(1, sizeof *st);
    if (!st) return MHD_NO;
    pthread_mutex_init(&st->mu, NULL);
    st->refs = 2;
    st->watch_fd = fd >= 0 ? dup(fd) : -1;
    r->stream = st;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, r, NULL);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (size_t i = 0; r->cors && i < r->cors->count; i++)
        MHD_add_response_header(resp, r->cors->h[i].name, r->cors->h[i].value);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    count_request(s, r->rt, 200);
    r->call.fd = st->watch_fd;
    r->call.done = stream_done;
    r->call.progress = stream_progress;
    r->call.http = r;
    r->state = REQ_WAITING;
    s->o.handler.start(s->o.handler.user, &r->call);
    return ret;
}

/* Whether the client asked for Server-Sent Events. */
static bool wants_stream(struct MHD_Connection *c)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    return accept && strstr(accept, "text/event-stream") != NULL;
}

static void call_done(sg_connect_call *call)
{
    http_req *r = call->http;
    /* The flow is finished with the call; hand it back to the HTTP thread. */
    r->state = REQ_ANSWER;
    MHD_resume_connection(r->conn);
}

typedef struct header_count {
    const char *name;
    int n;
    const char *value;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    header_count *h = cls;
    if (key && strcasecmp(key, h->name) == 0) {
        h->n++;
        h->value = value;
    }
    return MHD_YES;
}

/* The player's bearer token, checked offline; the user id goes into the call, and the
 * token too when an online check will look at it. */
static bool authenticate(http_req *r, sg_reply_error *err)
{
    sg_server *s = r->server;
    header_count h = {.name = MHD_HTTP_HEADER_AUTHORIZATION};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &h);
    if (h.n > 1) {
        sg_reply_error_set(err, 401, "malformed_token", "send one Authorization header");
        return false;
    }
    const char *tok = NULL;
    if (!sg_auth_verify(s->o.auth, h.value, 0, r->call.user_id, &tok, err)) return false;
    if (sg_auth_online(s->o.auth) && !(r->call.bearer = strdup(tok))) {
        sg_reply_error_set(err, 503, "overloaded", "out of memory; try again");
        err->retry_after_ms = 1000;
        return false;
    }
    return true;
}

static enum MHD_Result connect_begin(http_req *r)
{
    sg_server *s = r->server;
    struct MHD_Connection *c = r->conn;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    sg_cors_result cr = SG_CORS_NO_ORIGIN;
    if (origin && (r->cors = malloc(sizeof *r->cors)))
        cr = sg_cors_request(s->o.cors, origin, r->cors);

    sg_reply_error err = {0};
    if (cr == SG_CORS_DENIED) {
        /* A page the operator did not allow could never read the answer: reserve nothing. */
        log_origin_refused(origin, "post");
        sg_reply_error_set(&err, 403, "origin_not_allowed",
                           "this page's origin is not allowed (the operator sets --cors-origins)");
        return send_error(r, &err);
    }
    if (r->too_large) {
        sg_reply_error_set(&err, 413, "body_too_large", "the request body is over %zu bytes",
                           s->o.body.max_bytes);
        return send_error(r, &err);
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (s->o.auth && !authenticate(r, &err)) {
        r->challenge_code = err.code;
        return send_error(r, &err);
    }
    sg_connect_request q;
    if (sg_connect_request_parse(&s->o.body, ct, r->body, r->len, &q, &err) != SG_OK)
        return send_error(r, &err);
    /* A waiting player keeps what the body said, not the body, and nothing for an empty one. */
    r->call.req = &empty_request;
    if (q.client_version[0] || q.selector_count || q.map_key[0] || q.rtt_count) {
        r->owned_req = malloc(sizeof *r->owned_req);
        if (!r->owned_req) {
            sg_reply_error_set(&err, 503, "overloaded", "out of memory; try again");
            return send_error(r, &err);
        }
        *r->owned_req = q;
        r->call.req = r->owned_req;
    }
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    sg_addr peer;
    if (!ci || !ci->client_addr || sg_addr_from_sockaddr(ci->client_addr, &peer) != SG_OK) {
        sg_reply_error_set(&err, 500, "internal", "cannot read the client address");
        return send_error(r, &err);
    }
    const char *hname = sg_forward_header_name(s->o.client_ip.header);
    header_join j = {.name = hname};
    if (hname) MHD_get_connection_values(c, MHD_HEADER_KIND, join_header, &j);
    if (j.overflow) {
        sg_reply_error_set(&err, 400, "bad_forwarded_header", "%s is too long", hname);
        return send_error(r, &err);
    }
    sg_client_ip_source src;
    if (sg_client_ip_resolve(&s->o.client_ip, &peer, j.any ? j.buf : NULL, j.len,
                             &r->call.player_ip, &src) != SG_OK) {
        sg_reply_error_set(&err, 400, "bad_forwarded_header", "%s", sg_last_error());
        return send_error(r, &err);
    }
    sg_addr_format(&r->call.player_ip, false, r->call.player_ip_text,
                   sizeof r->call.player_ip_text);

    long long retry = 0;
    bool user = r->call.user_id[0] != '\0';
    sg_admit adm = user ? sg_admission_enter_user(s->o.admission, r->call.user_id,
                                                  sg_clock_mono_ms(), &retry)
                        : sg_admission_enter(s->o.admission, &r->call.player_ip,
                                             sg_clock_mono_ms(), &retry);
    if (adm == SG_ADMIT_RATE_LIMITED) {
        sg_reply_error_set(&err, 429, "rate_limited",
                           user ? "too many requests from this player"
                                : "too many requests from this address");
        err.retry_after_ms = retry;
        return send_error(r, &err);
    }
    if (adm == SG_ADMIT_OVERLOADED) {
        sg_reply_error_set(&err, 503, "overloaded", "too many players are waiting; try again");
        err.retry_after_ms = retry;
        return send_error(r, &err);
    }
    r->admitted = true;
    sg_gauge_add(s->in_flight, 1);
    sg_gauge_add(s->waiting, 1);

    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (wants_stream(c)) return stream_begin(r, fdi ? fdi->connect_fd : -1);
    r->call.fd = fdi ? fdi->connect_fd : -1;
    r->call.done = call_done;
    r->call.http = r;
    r->state = REQ_WAITING;
    /* Suspend before handing over: done() may come from another thread at once. */
    MHD_suspend_connection(c);
    s->o.handler.start(s->o.handler.user, &r->call);
    return MHD_YES;
}

static enum MHD_Result connect_answer(http_req *r)
{
    sg_server *s = r->server;
    sg_gauge_add(s->waiting, -1);
    sg_histogram_observe(s->connect_seconds, (double)(sg_clock_mono_ms() - r->start_ms) / 1000.0);
    count_outcome(s, r->call.outcome);
    char *body = r->call.body;
    r->call.body = NULL;
    int status = r->call.status ? r->call.status : 500;
    if (status == 401) r->challenge_code = r->call.outcome;
    if (!body) {
        sg_reply_error e;
        sg_reply_error_set(&e, 500, "internal", "no answer was produced");
        body = sg_reply_error_json(&e, &r->call.body_len);
        status = 500;
    }
    return send_body(r, status, body, body ? strlen(body) : 0, "application/json",
                     r->call.retry_after_ms);
}

/* ---- other routes ---- */

static enum MHD_Result preflight(http_req *r)
{
    sg_server *s = r->server;
    struct MHD_Connection *c = r->conn;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *method =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
    const char *hdrs =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    r->cors = malloc(sizeof *r->cors);
    if (!r->cors) return MHD_NO;
    sg_cors_result cr = sg_cors_preflight(s->o.cors, origin, method, hdrs, r->cors);
    if (cr == SG_CORS_DENIED) {
        if (origin) log_origin_refused(origin, "preflight");
        sg_reply_error e;
        sg_reply_error_set(&e, 403, "origin_not_allowed",
                           "this origin, method or header is not allowed");
        return send_error(r, &e);
    }
    r->allow = "POST, OPTIONS";
    return send_body(r, 204, NULL, 0, NULL, 0);
}

static enum MHD_Result readyz(http_req *r)
{
    char why[256] = "";
    if (r->server->o.handler.ready(r->server->o.handler.user, why, sizeof why))
        return send_text(r, 200, "{\"ready\":true}", "application/json");
    sg_reply_error e;
    sg_reply_error_set(&e, 503, "not_ready", "%s", why[0] ? why : "not ready");
    e.retry_after_ms = 1000;
    return send_error(r, &e);
}

static enum MHD_Result metrics(http_req *r)
{
    char *text = NULL;
    size_t len = 0;
    if (sg_metrics_render(r->server->o.metrics, &text, &len) != SG_OK) {
        sg_reply_error e;
        sg_reply_error_set(&e, 500, "internal", "out of memory");
        return send_error(r, &e);
    }
    return send_body(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8", 0);
}

static enum MHD_Result webhook(http_req *r)
{
    sg_server *s = r->server;
    if (r->too_large) {
        sg_reply_error e;
        sg_reply_error_set(&e, 413, "body_too_large", "the webhook body is too large");
        return send_error(r, &e);
    }
    int status = s->o.handler.notify
                     ? s->o.handler.notify(s->o.handler.user, r->body ? r->body : "", r->len)
                     : 204;
    if (status == 204) return send_body(r, 204, NULL, 0, NULL, 0);
    sg_reply_error e;
    sg_reply_error_set(&e, status, "malformed_json", "the webhook body is not a session");
    return send_error(r, &e);
}

/* ---- libmicrohttpd callbacks ---- */

static bool append_body(http_req *r, const char *data, size_t n)
{
    if (r->too_large || r->len + n > r->limit) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return true;
    }
    if (!reserve_buf(&r->body, &r->cap, r->len, n)) return false;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return true;
}

/* What the request head says about its body framing and host, for the checks that keep a
 * front proxy and this server reading the same requests (no request smuggling). */
typedef struct head_scan {
    int content_lengths, transfer_encodings;
    bool unknown_coding; /* a transfer coding other than chunked */
    bool host;
} head_scan;

static enum MHD_Result scan_head(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    head_scan *h = cls;
    if (!key) return MHD_YES;
    if (strcasecmp(key, "Content-Length") == 0) h->content_lengths++;
    if (strcasecmp(key, "Host") == 0) h->host = true;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        h->transfer_encodings++;
        const char *v = value ? value : "";
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n != 7 || strncasecmp(v, "chunked", 7) != 0) h->unknown_coding = true;
    }
    return MHD_YES;
}

/* A 400 that also closes the connection: after a head we refuse, nothing on the connection
 * can be trusted to start where we think the next request starts. */
static enum MHD_Result refuse_head(http_req *r, const char *why)
{
    sg_reply_error e;
    sg_reply_error_set(&e, 400, "bad_request", "%s", why);
    size_t len = 0;
    char *json = sg_reply_error_json(&e, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, json ? json : (void *)"", json ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(json);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, 400, resp);
    MHD_destroy_response(resp);
    count_request(r->server, r->rt, 400);
    if (r->rt == ROUTE_CONNECT) count_outcome(r->server, "bad_request");
    r->state = REQ_ANSWER;
    r->refused = true;
    return ret;
}

/* Refuses heads a proxy in front could read differently: several Content-Length headers,
 * Content-Length with Transfer-Encoding, a transfer coding other than chunked (at once,
 * rather than waiting for a body that cannot be read), HTTP/1.1 without Host. */
static const char *head_problem(struct MHD_Connection *conn, const char *version)
{
    head_scan h = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_head, &h);
    if (h.content_lengths > 1) return "the request has more than one Content-Length";
    if (h.content_lengths && h.transfer_encodings)
        return "the request has both Content-Length and Transfer-Encoding";
    if (h.transfer_encodings > 1 || h.unknown_coding)
        return "the only Transfer-Encoding accepted is chunked";
    if (!h.host && version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
        return "an HTTP/1.1 request needs a Host header";
    return NULL;
}

/* The guard's record of this connection (set when it opened). */
static sg_conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? (sg_conn_track *)ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    sg_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *peer =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = fd ? sg_conn_guard_open(s->guard, fd->connect_fd,
                                                  peer ? peer->client_addr : NULL)
                             : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        sg_conn_guard_close(s->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* A request line arrived on a connection (a keep-alive one included): its head is due. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    sg_server *s = cls;
    sg_conn_guard_phase(s->guard, track_of(conn), SG_CONN_HEAD);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    sg_server *s = cls;
    http_req *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->server = s;
        r->conn = conn;
        r->start_ms = sg_clock_mono_ms();
        r->call.fd = -1;
        r->rt = pick_route(r, url, method);
        r->limit = r->rt == ROUTE_WEBHOOK ? s->o.max_webhook_body : s->o.body.max_bytes;
        *req_cls = r;
        const char *problem = head_problem(conn, version);
        if (problem) return refuse_head(r, problem);
        /* The head is in; a body, when one comes, is due within the body deadline. */
        sg_conn_guard_phase(s->guard, track_of(conn),
                            r->rt == ROUTE_CONNECT || r->rt == ROUTE_WEBHOOK ? SG_CONN_BODY
                                                                             : SG_CONN_IDLE);
        /* Refuse an announced oversized body before reading it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && (r->rt == ROUTE_CONNECT || r->rt == ROUTE_WEBHOOK)) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || !end || *end || n > r->limit) r->too_large = true;
        }
        if (r->too_large && r->rt == ROUTE_CONNECT) return connect_begin(r);
        if (r->too_large && r->rt == ROUTE_WEBHOOK) return webhook(r);
        return MHD_YES;
    }
    if (r->refused) { /* answered already: the rest of the request is not read */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->state == REQ_BODY && *upload_data_size) {
        if (r->rt == ROUTE_CONNECT || r->rt == ROUTE_WEBHOOK) {
            if (!append_body(r, upload_data, *upload_data_size)) return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->state == REQ_ANSWER) return connect_answer(r);
    if (r->state == REQ_WAITING) return MHD_YES; /* spurious call while suspended */
    sg_conn_guard_phase(s->guard, track_of(conn), SG_CONN_IDLE); /* the whole request is in */

    sg_reply_error e;
    switch (r->rt) {
    case ROUTE_CONNECT:
        return connect_begin(r);
    case ROUTE_PREFLIGHT:
        return preflight(r);
    case ROUTE_HEALTHZ:
        return send_text(r, 200, "{\"ok\":true}", "application/json");
    case ROUTE_READYZ:
        return readyz(r);
    case ROUTE_METRICS:
        return metrics(r);
    case ROUTE_WEBHOOK:
        return webhook(r);
    case ROUTE_BAD_METHOD:
        sg_reply_error_set(&e, 405, "method_not_allowed", "use %s", r->allow);
        return send_error(r, &e);
    case ROUTE_NOT_FOUND:
    default:
        sg_reply_error_set(&e, 404, "not_found", "no such resource");
        return send_error(r, &e);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    sg_server *s = cls;
    sg_conn_guard_phase(s->guard, track_of(conn), SG_CONN_IDLE);
    http_req *r = *req_cls;
    if (!r) return;
    *req_cls = NULL;
    if (r->admitted) {
        sg_admission_leave(s->o.admission);
        sg_gauge_add(s->in_flight, -1);
    }
    if (r->stream) {
        /* The flow may still hold the call: the last of the two frees the request. */
        pthread_mutex_lock(&r->stream->mu);
        r->stream->closed = true;
        bool last = --r->stream->refs == 0;
        pthread_mutex_unlock(&r->stream->mu);
        if (!last) return;
    }
    free_req(r);
}

static void free_req(http_req *r)
{
    if (r->stream) {
        if (r->stream->watch_fd >= 0) close(r->stream->watch_fd);
        free(r->stream->buf);
        pthread_mutex_destroy(&r->stream->mu);
        free(r->stream);
    }
    free(r->call.body);
    if (r->call.bearer) {
        sodium_memzero(r->call.bearer, strlen(r->call.bearer));
        free(r->call.bearer);
    }
    free(r->body);
    free(r->owned_req);
    free(r->cors);
    free(r);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    sg_server *s = cls;
    char msg[256], q[300];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* While starting, the first complaint is kept: it says why the daemon did not start. */
    if (s && s->starting && !s->start_error[0])
        snprintf(s->start_error, sizeof s->start_error, "%s", msg);
    SG_DEBUG("http", "libmicrohttpd", "message=%s", sg_log_quote(msg, q, sizeof q));
}

/* ---- start/stop ---- */

static struct MHD_Daemon *start_daemon(sg_server *s, const struct sockaddr *sa, bool ipv6,
                                       bool dual)
{
    const sg_server_options *o = &s->o;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ipv6) flags |= dual ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    if (s->tls) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[20];
    size_t n = 0;
    /* The logger first, so that every message (why a start failed included) reaches it. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)sa};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->connection_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        (intptr_t)o->connection_memory, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
    if (o->threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL};
    if (s->tls) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
}

sg_status sg_server_start(const sg_server_options *o, sg_server **out)
{
    *out = NULL;
    if (!o->cors || !o->admission || !o->metrics || !o->handler.start || !o->handler.ready)
        return sg_fail(SG_E_INVALID, "server: cors, admission, metrics and handler are required");
    if ((o->tls_cert_pem == NULL) != (o->tls_key_pem == NULL))
        return sg_fail(SG_E_INVALID, "server: TLS needs both a certificate and a key");
    if (o->port < 0 || o->port > 65535) return sg_fail(SG_E_INVALID, "server: bad port");
    if (o->webhook_path && o->webhook_path[0] != '/')
        return sg_fail(SG_E_INVALID, "server: the webhook path must start with '/'");
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "server: libsodium init failed");

    sg_server *s = calloc(1, sizeof *s);
    if (!s) return sg_fail(SG_E_NOMEM, "server: out of memory");
    s->o = *o;
    if (!s->o.connection_limit) s->o.connection_limit = 16384;
    if (!s->o.connection_memory) s->o.connection_memory = 8 * 1024;
    if (!s->o.threads) s->o.threads = 1;
    if (!s->o.max_webhook_body) s->o.max_webhook_body = 64 * 1024;
    s->tls = o->tls_cert_pem != NULL;
    if (o->webhook_path) {
        s->webhook_path = strdup(o->webhook_path);
        if (!s->webhook_path) {
            free(s);
            return sg_fail(SG_E_NOMEM, "server: out of memory");
        }
        crypto_generichash(s->webhook_hash, sizeof s->webhook_hash,
                           (const unsigned char *)o->webhook_path, strlen(o->webhook_path), NULL,
                           0);
        s->o.webhook_path = NULL; /* only the copy and its hash are kept */
    }
    /* Every outcome is a series from the start (at 0), so rates and alerts see them all. */
    for (size_t i = 0; sg_reply_connect_outcomes[i]; i++) count_outcome_add(s, sg_reply_connect_outcomes[i], 0);
    s->in_flight =
        sg_metrics_gauge(o->metrics, "seatgate_connect_in_flight",
                         "POST /connect-me requests admitted and not yet answered", NULL);
    s->waiting = sg_metrics_gauge(o->metrics, "seatgate_connect_waiting",
                                  "POST /connect-me requests waiting for a seat", NULL);
    s->connect_seconds = sg_metrics_histogram(
        o->metrics, "seatgate_connect_duration_seconds",
        "Time from a POST /connect-me request to its answer (admitted requests)",
        sg_metrics_latency_buckets, sg_metrics_latency_bucket_count, NULL);

    sg_conn_guard_options go = {.per_ip_limit = o->per_ip_connections,
                                 .ipv6_prefix = o->ipv6_prefix ? o->ipv6_prefix : 64,
                                 .head_timeout_ms = o->head_timeout_ms,
                                 .body_timeout_ms = o->body_timeout_ms,
                                 .exempt = o->client_ip.trusted,
                                 .exempt_count = o->client_ip.trusted_count,
                                 .metrics = o->metrics};
    if (sg_conn_guard_new(&go, &s->guard) != SG_OK) {
        free(s->webhook_path);
        free(s);
        return SG_E_NOMEM;
    }
    const char *addr_text = o->listen_address && *o->listen_address ? o->listen_address : "::";
    sg_addr a;
    if (sg_addr_parse(addr_text, SG_PORT_FORBIDDEN, &a) != SG_OK) {
        sg_conn_guard_free(s->guard);
        free(s->webhook_path);
        free(s);
        return sg_fail(SG_E_INVALID, "server: bad listen address '%s'", addr_text);
    }
    a.port = (uint16_t)o->port;
    struct sockaddr_storage ss;
    sg_addr_to_sockaddr(&a, &ss);
    bool any6 = a.family == AF_INET6 && strcmp(addr_text, "::") == 0;
    s->starting = true;
    s->d = start_daemon(s, (struct sockaddr *)&ss, a.family == AF_INET6, any6);
    if (!s->d && any6 && !strstr(s->start_error, "in use")) {
        /* No IPv6 on this host: fall back to every IPv4 address. */
        SG_WARN("http", "ipv6_unavailable", "listen=0.0.0.0");
        sg_addr_parse("0.0.0.0", SG_PORT_FORBIDDEN, &a);
        a.port = (uint16_t)o->port;
        sg_addr_to_sockaddr(&a, &ss);
        s->start_error[0] = '\0';
        s->d = start_daemon(s, (struct sockaddr *)&ss, false, false);
    }
    s->starting = false;
    if (!s->d) {
        char why[300];
        snprintf(why, sizeof why, "%s", s->start_error[0] ? s->start_error : "no reason given");
        bool tls_fault = s->tls && !strstr(why, "bind") && !strstr(why, "in use");
        sg_conn_guard_free(s->guard);
        free(s->webhook_path);
        free(s);
        if (tls_fault)
            return sg_fail(SG_E_IO,
                           "--tls-cert-file / --tls-key-file: HTTPS could not start with them "
                           "(a PEM certificate chain and its matching private key?): %s",
                           why);
        return sg_fail(SG_E_IO,
                       "--listen-address %s --listen-port %d (SEATGATE_LISTEN_ADDRESS, "
                       "SEATGATE_LISTEN_PORT): cannot listen: %s",
                       addr_text, o->port, why);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return SG_OK;
}

int sg_server_port(const sg_server *s)
{
    return s->port;
}

bool sg_server_tls(const sg_server *s)
{
    return s->tls;
}

void sg_server_quiesce(sg_server *s)
{
    if (s && s->d) {
        MHD_socket fd = MHD_quiesce_daemon(s->d);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
}

void sg_server_stop(sg_server *s)
{
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    sg_conn_guard_free(s->guard);
    free(s->webhook_path);
    free(s);
}
