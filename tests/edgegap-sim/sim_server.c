/* libmicrohttpd plumbing: a thread pool on epoll, bodies collected up to a limit, and
 * suspend/resume for the latency and hang faults, so a held request costs a connection,
 * not a thread. A ticker thread wakes delayed requests, releases hung ones once the hang
 * fault is cleared, and moves the simulated time forward (deployments becoming ready,
 * sessions becoming Ready, webhooks). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "seatgate/addr.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"
#include "sim_http.h"

typedef struct req_ctx {
    struct MHD_Connection *conn;
    char *body;
    size_t len, cap;
    bool too_large;
    bool started; /* faults with delay considered */
    bool hung;
    long long wake_ms;
    sim_response *answer;          /* computed, held back by create_answer_delay_ms */
    struct req_ctx *wprev, *wnext; /* in the wait list while suspended */
} req_ctx;

struct sim_server {
    struct MHD_Daemon *daemon;
    sim_routes routes;
    size_t max_body;
    int port;
    pthread_t ticker;
    bool ticker_running;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    req_ctx *waits;
    size_t n_waiting;
    long long delayed_total, hung_total, lost_answers, held_answers;
    bool stop;
};

/* ---- wait list (wmu held) ---------------------------------------------------------------- */

static void wait_add(sim_server *s, req_ctx *c)
{
    c->wprev = NULL;
    c->wnext = s->waits;
    if (s->waits) s->waits->wprev = c;
    s->waits = c;
    s->n_waiting++;
}

static void wait_remove(sim_server *s, req_ctx *c)
{
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        s->waits = c->wnext;
    if (c->wnext) c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    s->n_waiting--;
}

static void *ticker(void *arg)
{
    sim_server *s = arg;
    pthread_mutex_lock(&s->wmu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->wmu);
        long long next = sim_state_tick(s->routes.state);
        sim_fault_settings f;
        sim_faults_get(s->routes.faults, &f);
        long long now = sim_now_ms();
        pthread_mutex_lock(&s->wmu);
        for (req_ctx *c = s->waits, *n; c; c = n) {
            n = c->wnext;
            if ((c->hung && !f.hang) || (!c->hung && c->wake_ms <= now)) {
                wait_remove(s, c);
                MHD_resume_connection(c->conn);
            } else if (!c->hung && c->wake_ms < next) {
                next = c->wake_ms;
            }
        }
        if (s->stop) break;
        /* Sleep until the next event, at most 200 ms (hang releases are also signalled). */
        long long wait_ms = next == LLONG_MAX ? 200 : next - sim_now_ms();
        if (wait_ms > 200) wait_ms = 200;
        if (wait_ms > 0) {
            struct timespec ts = sg_clock_deadline(wait_ms);
            pthread_cond_timedwait(&s->wcv, &s->wmu, &ts);
        }
    }
    /* Shutting down: release every held request (they answer 503). */
    while (s->waits) {
        req_ctx *c = s->waits;
        wait_remove(s, c);
        MHD_resume_connection(c->conn);
    }
    pthread_mutex_unlock(&s->wmu);
    return NULL;
}

static void faults_changed(void *server)
{
    sim_server *s = server;
    pthread_mutex_lock(&s->wmu);
    pthread_cond_signal(&s->wcv);
    pthread_mutex_unlock(&s->wmu);
}

static cJSON *server_stats(void *server)
{
    sim_server *s = server;
    cJSON *o = cJSON_CreateObject();
    pthread_mutex_lock(&s->wmu);
    size_t hung = 0;
    for (req_ctx *c = s->waits; c; c = c->wnext)
        hung += c->hung;
    cJSON_AddNumberToObject(o, "held_requests", (double)s->n_waiting);
    cJSON_AddNumberToObject(o, "hung_requests", (double)hung);
    cJSON_AddNumberToObject(o, "delayed_total", (double)s->delayed_total);
    cJSON_AddNumberToObject(o, "hung_total", (double)s->hung_total);
    cJSON_AddNumberToObject(o, "lost_answers", (double)s->lost_answers);
    cJSON_AddNumberToObject(o, "held_answers", (double)s->held_answers);
    pthread_mutex_unlock(&s->wmu);
    return o;
}

/* ---- request handling ------------------------------------------------------------------ */

static bool append(sim_server *s, req_ctx *c, const char *data, size_t n)
{
    if (c->too_large || c->len + n > s->max_body) {
        c->too_large = true;
        return true; /* keep reading, answer 413 at the end */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *nb = realloc(c->body, cap);
        if (!nb) return false;
        c->body = nb;
        c->cap = cap;
    }
    memcpy(c->body + c->len, data, n);
    c->len += n;
    c->body[c->len] = '\0';
    return true;
}

static enum MHD_Result respond(sim_server *s, struct MHD_Connection *conn, const char *method,
                               sim_response *r)
{
    char *body = NULL;
    const char *ctype = "application/json";
    if (r->json) {
        body = cJSON_PrintUnformatted(r->json);
        cJSON_Delete(r->json);
        r->json = NULL;
    } else if (r->text) {
        body = r->text;
        r->text = NULL;
        ctype = "text/plain; charset=utf-8";
    }
    if (!body) {
        r->status = 500;
        body = strdup("{\"message\":\"Internal Server Error\"}");
        if (!body) return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (r->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", r->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    sim_state_count(s->routes.state, method, r->route[0] ? r->route : "(unknown)", r->status);
    SG_DEBUG("sim", "request", "method=%s route=%s status=%d", method, r->route, r->status);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    sim_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->conn = conn;
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        bool ok = append(s, c, upload_data, *upload_size);
        *upload_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (c->answer) { /* resumed after create_answer_delay_ms */
        sim_response *held = c->answer;
        c->answer = NULL;
        enum MHD_Result ret = respond(s, conn, method, held);
        free(held);
        return ret;
    }
    if (!c->started) {
        c->started = true;
        if (strncmp(url, "/v1/", 4) == 0 && !s->routes.stopping) {
            sim_fault_settings f;
            sim_faults_get(s->routes.faults, &f);
            if (f.hang || f.latency_ms > 0) {
                pthread_mutex_lock(&s->wmu);
                if (!s->stop) {
                    c->hung = f.hang;
                    c->wake_ms = sim_now_ms() + f.latency_ms;
                    if (c->hung)
                        s->hung_total++;
                    else
                        s->delayed_total++;
                    MHD_suspend_connection(conn);
                    wait_add(s, c);
                    pthread_cond_signal(&s->wcv);
                    pthread_mutex_unlock(&s->wmu);
                    return MHD_YES;
                }
                pthread_mutex_unlock(&s->wmu);
            }
        }
    }
    sim_request q = {.conn = conn,
                     .method = method,
                     .url = url,
                     .body = c->body,
                     .body_len = c->len,
                     .body_too_large = c->too_large};
    sim_response r;
    sim_route(&s->routes, &q, &r);
    if (r.after == SIM_AFTER_DROP) {
        /* The session exists; the answer is lost on the way back (connection closed). */
        cJSON_Delete(r.json);
        free(r.text);
        sim_state_count(s->routes.state, method, "(answer lost)", 0);
        pthread_mutex_lock(&s->wmu);
        s->lost_answers++;
        pthread_mutex_unlock(&s->wmu);
        SG_DEBUG("sim", "answer_lost", "route=%s", r.route);
        return MHD_NO;
    }
    if (r.after == SIM_AFTER_DELAY && (c->answer = malloc(sizeof r))) {
        *c->answer = r;
        pthread_mutex_lock(&s->wmu);
        if (!s->stop) {
            c->hung = false;
            c->wake_ms = sim_now_ms() + r.after_delay_ms;
            s->held_answers++;
            MHD_suspend_connection(conn);
            wait_add(s, c);
            pthread_cond_signal(&s->wcv);
            pthread_mutex_unlock(&s->wmu);
            return MHD_YES;
        }
        pthread_mutex_unlock(&s->wmu);
        free(c->answer); /* stopping: answer now */
        c->answer = NULL;
    }
    return respond(s, conn, method, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_ctx *c = *con_cls;
    if (!c) return;
    if (c->answer) {
        cJSON_Delete(c->answer->json);
        free(c->answer->text);
        free(c->answer);
    }
    free(c->body);
    free(c);
    *con_cls = NULL;
}

/* ---- start / stop ------------------------------------------------------------------------- */

sg_status sim_server_start(const sim_server_opts *o, sim_state *state, sim_faults *faults,
                           sim_webhooks *webhooks, sim_server **out)
{
    *out = NULL;
    sg_addr a;
    if (sg_addr_parse(o->listen_address, SG_PORT_FORBIDDEN, &a) != SG_OK)
        return sg_fail(SG_E_INVALID, "listen address is not an IP address");
    a.port = (uint16_t)o->port;
    struct sockaddr_storage ss;
    if (sg_addr_to_sockaddr(&a, &ss) == 0)
        return sg_fail(SG_E_INVALID, "listen address cannot be used");

    sim_server *s = calloc(1, sizeof *s);
    if (!s) return SG_E_NOMEM;
    pthread_mutex_init(&s->wmu, NULL);
    pthread_cond_init(&s->wcv, NULL);
    s->max_body = o->max_body;
    s->routes.state = state;
    s->routes.faults = faults;
    s->routes.webhooks = webhooks;
    s->routes.api_key = o->api_key;
    sim_secret_digest(o->api_key, s->routes.key_digest);
    s->routes.sink = sim_sink_new();
    s->routes.server_stats = server_stats;
    s->routes.faults_changed = faults_changed;
    s->routes.server = s;
    if (!s->routes.sink) {
        sim_server_stop(s);
        return SG_E_NOMEM;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (a.family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 0 ? o->threads : 1),
        MHD_OPTION_CONNECTION_LIMIT, o->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        int err = errno;
        sim_server_stop(s);
        return sg_fail(SG_E_IO, "cannot listen on %s port %d: %s", o->listen_address, o->port,
                       strerror(err));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    if (pthread_create(&s->ticker, NULL, ticker, s) != 0) {
        sim_server_stop(s);
        return sg_fail(SG_E_INTERNAL, "cannot start the ticker thread");
    }
    s->ticker_running = true;
    *out = s;
    return SG_OK;
}

int sim_server_port(const sim_server *s)
{
    return s->port;
}

void sim_server_stop(sim_server *s)
{
    if (!s) return;
    s->routes.stopping = true;
    pthread_mutex_lock(&s->wmu);
    s->stop = true;
    pthread_cond_broadcast(&s->wcv);
    pthread_mutex_unlock(&s->wmu);
    if (s->ticker_running) pthread_join(s->ticker, NULL);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    sim_sink_free(s->routes.sink);
    pthread_cond_destroy(&s->wcv);
    pthread_mutex_destroy(&s->wmu);
    free(s);
}
