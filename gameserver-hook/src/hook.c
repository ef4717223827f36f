/* The gameserver hook's public face: creation, the enqueueing calls the game loop makes,
 * sg_hook_poll, the blocking variants, stop and inspection. The work itself is done by the
 * worker thread (hook_worker.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "hook_internal.h"
#include "seatgate/jws.h"
#include "seatgate/clock.h"
#include "seatgate/config.h"
#include "seatgate/log.h"
#include "seatgate/token.h"

struct hook_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done, abandoned;
    sg_hook_verdict verdict;
    sg_status status;
};

void hook_list_push(hook_list *l, hook_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

hook_job *hook_list_take_all(hook_list *l)
{
    hook_job *all = l->head;
    l->head = l->tail = NULL;
    return all;
}

void hook_job_free(hook_job *job)
{
    if (!job) return;
    if (job->seat_token) {
        sodium_memzero(job->seat_token, job->seat_token_len);
        free(job->seat_token);
    }
    free(job);
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

static void drain_fd(int fd)
{
    uint64_t v;
    ssize_t n;
    do
        n = read(fd, &v, sizeof v);
    while (n < 0 && errno == EINTR);
}

sg_status sg_hook_session_from_user_data(const uint8_t user_data[256], char *out, size_t size)
{
    if (!user_data || !out) return sg_fail(SG_E_INVALID, "hook: NULL user data or buffer");
    return sg_token_user_data_get_session(user_data, out, size);
}

/* ---- logging ---------------------------------------------------------------------------- */

_Static_assert((int)SG_HOOK_LOG_DEBUG == (int)SG_LOG_DEBUG && (int)SG_HOOK_LOG_INFO == (int)SG_LOG_INFO &&
                   (int)SG_HOOK_LOG_WARN == (int)SG_LOG_WARN &&
                   (int)SG_HOOK_LOG_ERROR == (int)SG_LOG_ERROR && (int)SG_HOOK_LOG_OFF == (int)SG_LOG_OFF,
               "the hook's log levels are the log module's");

void sg_hook_log_set_level(sg_hook_log_level level)
{
    if ((int)level < (int)SG_HOOK_LOG_DEBUG || (int)level > (int)SG_HOOK_LOG_OFF) return;
    sg_log_set_level((sg_log_level)level);
}

static struct {
    sg_hook_log_fn fn;
    void *user;
} game_sink;

static void to_game(sg_log_level level, const char *line, void *user)
{
    (void)user;
    /* sg_log calls sinks under its own lock: game_sink cannot change under our feet. */
    if (game_sink.fn) game_sink.fn((int)level, line, game_sink.user);
}

void sg_hook_log_set_sink(sg_hook_log_fn fn, void *user)
{
    sg_log_set_sink(NULL, NULL); /* takes the log lock: no line is being delivered now */
    game_sink.fn = fn;
    game_sink.user = user;
    if (fn) sg_log_set_sink(to_game, NULL);
}

sg_status hook_new_with_backend(const sg_hook_options *o, hook_backend backend, sg_hook **out)
{
    *out = NULL;
    sg_hook *h = calloc(1, sizeof *h);
    if (!h) {
        if (backend.ops) backend.ops->free(backend.ctx);
        return sg_fail(SG_E_NOMEM, "hook: out of memory");
    }
    h->backend = backend;
    h->wake_fd = h->poll_fd = -1;
    h->queue_size = (int)hook_options_num(o, "queue-size");
    if (h->queue_size <= 0) h->queue_size = 1;
    h->verify_timeout_ms = hook_options_num(o, "verify-timeout");
    h->start_timeout_ms = hook_options_num(o, "start-timeout");
    h->stop_timeout_ms = hook_options_num(o, "stop-timeout");
    h->heartbeat_ms = hook_options_num(o, "heartbeat");
    if (h->heartbeat_ms <= 0) h->heartbeat_ms = 5000;
    const char *exposure = hook_options_value(o, "exposure-mode");
    snprintf(h->exposure, sizeof h->exposure, "%s", exposure ? exposure : "hostport");
    h->delete_retry_ms = hook_options_num(o, "delete-retry");
    if (h->delete_retry_ms <= 0) h->delete_retry_ms = 2000;
    h->start_status = SG_E_TIMEOUT;
    h->dry_run = !hook_options_num(o, "claim");
    h->claims_per_ip = (int)hook_options_num(o, "claims-per-ip");
    long long rate = hook_options_num(o, "verify-rate");
    hook_guard_options go = {.rate_per_s = (double)rate,
                             .burst = (double)(rate * 2 > 1 ? rate * 2 : 1),
                             .memory_ms = hook_options_num(o, "reject-memory")};

    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->guard = hook_guard_new(&go);
    if (!h->guard) {
        sg_hook_free(h);
        return sg_fail(SG_E_NOMEM, "hook: out of memory");
    }
    /* Seat tokens: the public key set, read now so a bad file fails sg_hook_new. */
    const char *keys = hook_options_value(o, "seat-token-keys");
    if (keys && *keys && sg_jws_keyset_load(keys, &h->seat_keys) != SG_OK) {
        sg_status st = sg_fail(SG_E_INVALID, "--seat-token-keys (SEATGATE_SEAT_TOKEN_KEYS): %s",
                               sg_last_error());
        sg_hook_free(h);
        return st;
    }
    const char *aud = hook_options_value(o, "seat-token-audience");
    snprintf(h->seat_audience, sizeof h->seat_audience, "%s", aud ? aud : "");
    h->seat_leeway_s = hook_options_num(o, "seat-token-leeway") / 1000;
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->poll_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->wake_fd < 0 || h->poll_fd < 0) {
        sg_status st = sg_fail(SG_E_INTERNAL, "hook: eventfd: %s", strerror(errno));
        sg_hook_free(h);
        return st;
    }
    if (pthread_create(&h->worker, NULL, hook_worker_main, h) != 0) {
        sg_hook_free(h);
        return sg_fail(SG_E_INTERNAL, "hook: cannot start the worker thread");
    }
    h->worker_running = true;
    *out = h;
    return SG_OK;
}

sg_status sg_hook_new(const sg_hook_options *options, sg_hook **out)
{
    if (!out) return sg_fail(SG_E_INVALID, "hook: NULL out");
    *out = NULL;
    if (!options) return sg_fail(SG_E_INVALID, "hook: NULL options");
    /* Every setting is checked now, so a game learns of a bad one from sg_hook_new. */
    sg_status st = hook_options_check(options);
    if (st != SG_OK) return st;
    hook_options_apply_logging(options);
    hook_backend b = {0};
    const char *platform = NULL;
    st = hook_platform_pick(options, &platform);
    if (st == SG_OK)
        st = strcmp(platform, "agones") == 0 ? hook_backend_agones_new(options, &b)
                                             : hook_backend_edgegap_new(options, &b);
    if (st != SG_OK) return st;
    return hook_new_with_backend(options, b, out);
}

sg_status sg_hook_wait_started(sg_hook *h, int timeout_ms)
{
    if (!h) return sg_fail(SG_E_INVALID, "hook: NULL");
    struct timespec until = sg_clock_deadline(timeout_ms);
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    while (h->start_status == SG_E_TIMEOUT && rc != ETIMEDOUT) {
        if (timeout_ms < 0)
            pthread_cond_wait(&h->cond, &h->mu);
        else
            rc = pthread_cond_timedwait(&h->cond, &h->mu, &until);
    }
    sg_status st = h->start_status;
    char why[sizeof h->start_error];
    memcpy(why, h->start_error, sizeof why);
    pthread_mutex_unlock(&h->mu);
    if (st == SG_E_TIMEOUT) return sg_fail(SG_E_TIMEOUT, "hook: not started yet");
    if (st != SG_OK) return sg_fail(st, "hook: start failed: %s", why);
    return SG_OK;
}

/* Puts a job into the worker's queue, or refuses it (job freed). */
static sg_status enqueue(sg_hook *h, hook_job *job)
{
    pthread_mutex_lock(&h->mu);
    if (h->stopping) {
        pthread_mutex_unlock(&h->mu);
        hook_job_free(job);
        return sg_fail(SG_E_UNAVAILABLE, "hook: stopping");
    }
    if (atomic_load(&h->outstanding) >= h->queue_size) {
        h->stats.full++;
        pthread_mutex_unlock(&h->mu);
        hook_job_free(job);
        return sg_fail(SG_E_FULL, "hook: %d requests unfinished (queue-size)", h->queue_size);
    }
    atomic_fetch_add(&h->outstanding, 1);
    bool was_empty = h->incoming.head == NULL;
    hook_list_push(&h->incoming, job);
    pthread_mutex_unlock(&h->mu);
    /* Wake the worker only when it may be waiting (it re-checks the queue after saying so). */
    if (was_empty && atomic_load(&h->worker_idle)) signal_fd(h->wake_fd);
    return SG_OK;
}

static hook_job *job_new(sg_hook *h, hook_job_kind kind, uint64_t client_id)
{
    hook_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->kind = kind;
    j->hook = h;
    j->client_id = client_id;
    j->verdict.client_id = client_id;
    return j;
}

static sg_status verify_job(sg_hook *h, uint64_t client_id, const char *source_ip,
                            const char *session_id, hook_job **out)
{
    *out = NULL;
    if (!h) return sg_fail(SG_E_INVALID, "hook: NULL");
    if (!source_ip) return sg_fail(SG_E_INVALID, "hook: NULL source IP");
    if (session_id && strlen(session_id) >= sizeof((hook_job *)0)->session_hint)
        return sg_fail(SG_E_INVALID, "hook: session id longer than 255 bytes");
    hook_job *j = job_new(h, JOB_VERIFY, client_id);
    if (!j) return sg_fail(SG_E_NOMEM, "hook: out of memory");
    j->deadline_ms = sg_clock_mono_ms() + h->verify_timeout_ms;
    /* A bad source IP or client id 0 is still answered through the queue, as a rejection. */
    if (sg_addr_parse(source_ip, SG_PORT_OPTIONAL, &j->source) == SG_OK) {
        sg_addr_format(&j->source, false, j->verdict.source_ip, sizeof j->verdict.source_ip);
    } else {
        j->source.family = 0;
        snprintf(j->verdict.source_ip, sizeof j->verdict.source_ip, "%s", "?");
    }
    if (session_id) snprintf(j->session_hint, sizeof j->session_hint, "%s", session_id);
    *out = j;
    return SG_OK;
}

sg_status sg_hook_verify(sg_hook *h, uint64_t client_id, const char *source_ip,
                         const char *session_id, sg_hook_verify_fn cb, void *user)
{
    if (!cb) return sg_fail(SG_E_INVALID, "hook: verify needs a callback");
    hook_job *j;
    sg_status st = verify_job(h, client_id, source_ip, session_id, &j);
    if (st != SG_OK) return st;
    j->verify_cb = cb;
    j->user = user;
    return enqueue(h, j);
}

sg_status sg_hook_verify_seat_token(sg_hook *h, const char *token, size_t len,
                                    const char *source_ip, sg_hook_verify_fn cb, void *user)
{
    if (!cb) return sg_fail(SG_E_INVALID, "hook: verify needs a callback");
    if (!token) return sg_fail(SG_E_INVALID, "hook: NULL seat token");
    hook_job *j;
    sg_status st = verify_job(h, 0, source_ip, NULL, &j);
    if (st != SG_OK) return st;
    /* Longer than any seat token: answered through the queue as bad_seat_token. */
    size_t keep = len > SG_JWS_MAX_TOKEN ? SG_JWS_MAX_TOKEN + 1 : len;
    j->seat_token = malloc(keep + 1);
    if (!j->seat_token) {
        hook_job_free(j);
        return sg_fail(SG_E_NOMEM, "hook: out of memory");
    }
    memcpy(j->seat_token, token, keep);
    j->seat_token[keep] = '\0';
    j->seat_token_len = len > SG_JWS_MAX_TOKEN ? SG_JWS_MAX_TOKEN + 1 : len;
    j->verify_cb = cb;
    j->user = user;
    return enqueue(h, j);
}

static sg_status check_kind(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n >= 64) return sg_fail(SG_E_INVALID, "hook: score kind must be 1..63 bytes");
    for (size_t i = 0; i < n; i++) {
        char c = kind[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return sg_fail(SG_E_INVALID, "hook: score kind may hold only a-z, 0-9 and '_'");
    }
    return SG_OK;
}

static sg_status disconnect_job(sg_hook *h, uint64_t client_id, int reason, hook_job **out)
{
    *out = NULL;
    if (!h) return sg_fail(SG_E_INVALID, "hook: NULL");
    if (reason < 0 || reason >= SG_HOOK_DISCONNECT_REASON_COUNT)
        return sg_fail(SG_E_INVALID, "hook: unknown disconnect reason %d", reason);
    hook_job *j = job_new(h, JOB_DISCONNECT, client_id);
    if (!j) return sg_fail(SG_E_NOMEM, "hook: out of memory");
    j->reason = reason;
    *out = j;
    return SG_OK;
}

sg_status sg_hook_disconnect(sg_hook *h, uint64_t client_id, int reason, sg_hook_done_fn cb,
                             void *user)
{
    hook_job *j;
    sg_status st = disconnect_job(h, client_id, reason, &j);
    if (st != SG_OK) return st;
    j->done_cb = cb;
    j->user = user;
    return enqueue(h, j);
}

sg_status sg_hook_publish_score(sg_hook *h, uint64_t client_id, const char *kind, int64_t value,
                                uint64_t target_client_id, sg_hook_done_fn cb, void *user)
{
    if (!h) return sg_fail(SG_E_INVALID, "hook: NULL");
    sg_status st = check_kind(kind);
    if (st != SG_OK) return st;
    const int64_t limit = (int64_t)1 << 53;
    if (value > limit || value < -limit)
        return sg_fail(SG_E_INVALID, "hook: score value beyond 2^53");
    hook_job *j = job_new(h, JOB_SCORE, client_id);
    if (!j) return sg_fail(SG_E_NOMEM, "hook: out of memory");
    snprintf(j->name, sizeof j->name, "%s", kind);
    j->value = value;
    j->target = target_client_id;
    j->done_cb = cb;
    j->user = user;
    return enqueue(h, j);
}

void hook_complete(sg_hook *h, hook_job *job)
{
    if (job->waiter) {
        hook_waiter *w = job->waiter;
        pthread_mutex_lock(&w->mu);
        bool abandoned = w->abandoned;
        if (!abandoned) {
            w->verdict = job->verdict;
            w->status = job->status;
            w->done = true;
            pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->mu);
        if (abandoned) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cond);
            free(w);
            if (job->kind == JOB_VERIFY && job->verdict.accepted) {
                /* Nobody will use this connection: disconnect it at once. */
                job->kind = JOB_DISCONNECT;
                job->waiter = NULL;
                job->reason = SG_HOOK_DISCONNECT_ERROR;
                pthread_mutex_lock(&h->mu);
                hook_list_push(&h->incoming, job);
                pthread_mutex_unlock(&h->mu);
                signal_fd(h->wake_fd);
                return;
            }
        }
        atomic_fetch_sub(&h->outstanding, 1);
        hook_job_free(job);
        return;
    }
    if (!job->verify_cb && !job->done_cb) {
        atomic_fetch_sub(&h->outstanding, 1);
        hook_job_free(job);
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool was_empty = h->done.head == NULL;
    hook_list_push(&h->done, job);
    atomic_fetch_add_explicit(&h->done_count, 1, memory_order_release);
    if (was_empty) signal_fd(h->poll_fd);
    pthread_mutex_unlock(&h->mu);
}

int sg_hook_poll(sg_hook *h, int max)
{
    if (!h || atomic_load_explicit(&h->done_count, memory_order_acquire) == 0) return 0;
    pthread_mutex_lock(&h->mu);
    hook_job *batch = NULL, **tail = &batch;
    int n = 0;
    while (h->done.head && (max <= 0 || n < max)) {
        hook_job *j = h->done.head;
        h->done.head = j->next;
        j->next = NULL;
        *tail = j;
        tail = &j->next;
        n++;
    }
    if (!h->done.head)
        h->done.tail = NULL;
    else
        signal_fd(h->poll_fd); /* still more: keep the fd readable */
    atomic_fetch_sub(&h->done_count, n);
    if (!h->done.head) drain_fd(h->poll_fd);
    pthread_mutex_unlock(&h->mu);

    while (batch) {
        hook_job *j = batch;
        batch = j->next;
        atomic_fetch_sub(&h->outstanding, 1);
        if (j->kind == JOB_VERIFY && j->verify_cb)
            j->verify_cb(&j->verdict, j->user);
        else if (j->kind != JOB_VERIFY && j->done_cb)
            j->done_cb(j->client_id, j->status, j->user);
        hook_job_free(j);
    }
    return n;
}

int sg_hook_poll_fd(const sg_hook *h)
{
    return h ? h->poll_fd : -1;
}

/* Waits for a waiter; on timeout marks it abandoned (the worker then frees it). Returns
 * true when done (and the waiter is freed here). */
static bool wait_for(hook_waiter *w, int timeout_ms, sg_hook_verdict *verdict, sg_status *st)
{
    struct timespec until = sg_clock_deadline(timeout_ms);
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->done && rc != ETIMEDOUT) {
        if (timeout_ms < 0)
            pthread_cond_wait(&w->cond, &w->mu);
        else
            rc = pthread_cond_timedwait(&w->cond, &w->mu, &until);
    }
    bool done = w->done;
    if (done) {
        if (verdict) *verdict = w->verdict;
        *st = w->status;
    } else {
        w->abandoned = true;
    }
    pthread_mutex_unlock(&w->mu);
    if (done) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cond);
        free(w);
    }
    return done;
}

static hook_waiter *waiter_new(void)
{
    hook_waiter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    return w;
}

/* Enqueues j with a waiter for the *_wait calls (j is consumed in every case). */
static sg_status enqueue_waited(sg_hook *h, hook_job *j, hook_waiter **out)
{
    hook_waiter *w = waiter_new();
    if (!w) {
        hook_job_free(j);
        return sg_fail(SG_E_NOMEM, "hook: out of memory");
    }
    j->waiter = w;
    sg_status st = enqueue(h, j);
    if (st != SG_OK) {
        free(w);
        return st;
    }
    *out = w;
    return SG_OK;
}

sg_status sg_hook_verify_wait(sg_hook *h, uint64_t client_id, const char *source_ip,
                              const char *session_id, int timeout_ms, sg_hook_verdict *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "hook: NULL verdict");
    memset(out, 0, sizeof *out);
    hook_job *j;
    sg_status st = verify_job(h, client_id, source_ip, session_id, &j);
    if (st != SG_OK) return st;
    hook_waiter *w = NULL;
    if ((st = enqueue_waited(h, j, &w)) != SG_OK) return st;
    sg_status ignored;
    if (!wait_for(w, timeout_ms, out, &ignored))
        return sg_fail(SG_E_TIMEOUT, "hook: no verdict within %d ms", timeout_ms);
    return SG_OK;
}

sg_status sg_hook_disconnect_wait(sg_hook *h, uint64_t client_id, int reason, int timeout_ms)
{
    hook_job *j;
    sg_status st = disconnect_job(h, client_id, reason, &j);
    if (st != SG_OK) return st;
    hook_waiter *w = NULL;
    if ((st = enqueue_waited(h, j, &w)) != SG_OK) return st;
    sg_status result = SG_OK;
    if (!wait_for(w, timeout_ms, NULL, &result))
        return sg_fail(SG_E_TIMEOUT, "hook: disconnect not done within %d ms", timeout_ms);
    if (result != SG_OK) return sg_fail(result, "hook: disconnect: %s", sg_status_name(result));
    return SG_OK;
}

sg_status sg_hook_stop(sg_hook *h, int timeout_ms)
{
    if (!h) return sg_fail(SG_E_INVALID, "hook: NULL");
    pthread_mutex_lock(&h->mu);
    if (!h->stopping) {
        h->stopping = true;
        h->stop_timeout_req = timeout_ms < 0 ? (int)h->stop_timeout_ms : timeout_ms;
    }
    pthread_mutex_unlock(&h->mu);
    signal_fd(h->wake_fd);
    pthread_mutex_lock(&h->mu);
    while (!h->stopped && h->worker_running)
        pthread_cond_wait(&h->cond, &h->mu);
    sg_status st = h->stop_status;
    pthread_mutex_unlock(&h->mu);
    if (st != SG_OK) return sg_fail(st, "hook: stop left work pending");
    return SG_OK;
}

void sg_hook_free(sg_hook *h)
{
    if (!h) return;
    if (h->worker_running) {
        sg_hook_stop(h, (int)h->stop_timeout_ms);
        pthread_mutex_lock(&h->mu);
        h->quit = true;
        pthread_mutex_unlock(&h->mu);
        signal_fd(h->wake_fd);
        pthread_join(h->worker, NULL);
    }
    /* Results nobody polled: dropped without callbacks. */
    for (hook_job *j = hook_list_take_all(&h->done); j;) {
        hook_job *next = j->next;
        hook_job_free(j);
        j = next;
    }
    if (h->backend.ops) h->backend.ops->free(h->backend.ctx);
    hook_guard_free(h->guard);
    sg_jws_keyset_free(h->seat_keys);
    if (h->wake_fd >= 0) close(h->wake_fd);
    if (h->poll_fd >= 0) close(h->poll_fd);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h->context_json);
    free(h->conns);
    free(h);
}

void sg_hook_get_stats(sg_hook *h, sg_hook_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    *out = h->stats;
    out->players = (uint32_t)h->conn_count;
    out->pending = (uint32_t)atomic_load(&h->outstanding);
    out->started = h->started;
    out->stopped = h->stopped;
    pthread_mutex_unlock(&h->mu);
}

sg_status sg_hook_context_json(sg_hook *h, char **out)
{
    if (!h || !out) return sg_fail(SG_E_INVALID, "hook: NULL argument");
    *out = NULL;
    pthread_mutex_lock(&h->mu);
    sg_status st = SG_OK;
    if (!h->context_json)
        st = sg_fail(SG_E_NOT_FOUND, "hook: no context yet (start not finished)");
    else if (!(*out = strdup(h->context_json)))
        st = sg_fail(SG_E_NOMEM, "hook: out of memory");
    pthread_mutex_unlock(&h->mu);
    return st;
}

sg_status sg_hook_sessions_json(sg_hook *h, char **out)
{
    if (!h || !out) return sg_fail(SG_E_INVALID, "hook: NULL argument");
    *out = NULL;
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; arr && i < h->conn_count; i++) {
        const hook_conn *c = &h->conns[i];
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, c->client_id);
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "client_id", id);
        cJSON_AddStringToObject(o, "session_id", c->session_id);
        cJSON_AddStringToObject(o, "ip", c->ip);
        cJSON_AddNumberToObject(o, "since", (double)c->since);
    }
    pthread_mutex_unlock(&h->mu);
    *out = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return *out ? SG_OK : sg_fail(SG_E_NOMEM, "hook: out of memory");
}
