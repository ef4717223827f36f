/* The Edgegap client: one attempt machinery, run blocking (curl easy) or non-blocking (curl
 * multi driven by sg_edgegap_run), with its pace (own or shared) and bounded retries. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "edgegap_internal.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

#define POOL_MAX 256

typedef enum xstate { X_QUEUED, X_PACED, X_RETRY_WAIT, X_SLOT, X_FLIGHT } xstate;

typedef struct xfer {
    sg_edgegap_request *req;
    sg_edgegap_done_fn cb;
    void *user;
    sg_status preset; /* fails before any attempt (no API key) */
    CURL *easy;
    struct curl_slist *hdrs; /* per-attempt list (context call), wiped on release */
    size_t upload_off;       /* create: how much of the body libcurl has read */
    char *body;
    size_t len, cap;
    bool overflow;
    size_t max_body;
    int attempts;
    long long submitted_us, sent_us;
    sg_heap_node timer; /* due: monotonic us, while paced or waiting to retry */
    xstate state;
    struct xfer *prev, *next; /* every transfer the driver knows about */
    struct xfer *qnext;       /* submission queue, then the queue for a transfer slot */
    char errbuf[CURL_ERROR_SIZE];
    sg_edgegap_result res;
} xfer;

struct sg_edgegap_client {
    sg_edgegap_options opt;
    sg_edgegap_pace *pace; /* a reference */
    char *base_url;
    char *key; /* normalised API key (no prefix), secret */
    struct curl_slist *hdr_get, *hdr_post;
    size_t max_body;
    CURLM *multi;
    pthread_mutex_t qmu;
    xfer *q_head, *q_tail;
    atomic_size_t pending;
    xfer *all;
    sg_heap timers; /* of xfer.timer */
    /* Transfers handed to libcurl at once are capped (its per-poll work grows with them);
     * the rest wait in a FIFO for a slot. */
    size_t inflight, max_inflight;
    xfer *slot_head, *slot_tail;
    CURL *pool[POOL_MAX];
    size_t pool_n;
    pthread_mutex_t bmu;
    CURL *beasy;
    atomic_uint_fast64_t calls, attempts, retries, by_status[SG_STATUS_COUNT];
    /* The thread that last called sg_edgegap_run (the address of its tl_me): a submission
     * from it needs no wake-up, since it drains the queue before it waits again. */
    atomic_uintptr_t driver;
};

static _Thread_local char tl_me;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static bool global_ok;

static void global_init(void)
{
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && sodium_init() >= 0;
}

void sg_edgegap_options_default(sg_edgegap_options *o)
{
    memset(o, 0, sizeof *o);
    o->base_url = "https://api.edgegap.com";
    o->connect_timeout_ms = 3000;
    o->timeout_ms = 10000;
    o->max_retries = 3;
    o->retry_budget_ms = 20000;
    o->backoff_base_ms = 200;
    o->backoff_max_ms = 5000;
    o->rate = 10;
    o->burst = 20;
    o->delete_share = SG_EDGEGAP_DELETE_SHARE_DEFAULT;
    o->max_connections = 32;
    o->max_body = 1u << 20;
}

/* ---- small helpers ---- */

static void wipe_free(char *s)
{
    if (!s) return;
    sodium_memzero(s, strlen(s));
    free(s);
}

static void slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data) sodium_memzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static void sleep_until_us(long long t)
{
    long long now;
    while ((now = sg_edgegap_clock_us()) < t) {
        long long d = t - now;
        struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Accepts "KEY", "token KEY", "Token KEY" (surrounding blanks trimmed). */
static sg_status normalise_key(const char *in, char **out)
{
    *out = NULL;
    if (!in) return SG_OK;
    while (*in == ' ' || *in == '\t')
        in++;
    if (strncasecmp(in, "token ", 6) == 0) in += 6;
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n > 0 &&
           (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\n' || in[n - 1] == '\r'))
        n--;
    if (n == 0) return sg_fail(SG_E_INVALID, "edgegap-api-key is empty");
    if (n > 512) return sg_fail(SG_E_INVALID, "edgegap-api-key is too long");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] <= 0x20 || (unsigned char)in[i] == 0x7f)
            return sg_fail(SG_E_INVALID, "edgegap-api-key contains a blank or control character");
    *out = strndup(in, n);
    return *out ? SG_OK : sg_fail(SG_E_NOMEM, "out of memory");
}

static struct curl_slist *headers_build(const char *key, bool post)
{
    struct curl_slist *l = NULL, *t;
    char line[600];
    if (key) {
        snprintf(line, sizeof line, "Authorization: token %s", key);
        t = curl_slist_append(l, line);
        sodium_memzero(line, sizeof line);
        if (!t) goto fail;
        l = t;
    }
    const char *rest[] = {"Accept: application/json", "User-Agent: seatgate/0.1",
                          post ? "Content-Type: application/json" : NULL, post ? "Expect:" : NULL};
    for (size_t i = 0; i < 4; i++) {
        if (!rest[i]) continue;
        if (!(t = curl_slist_append(l, rest[i]))) goto fail;
        l = t;
    }
    return l;
fail:
    slist_wipe_free(l);
    return NULL;
}

/* ---- client lifetime ---- */

sg_status sg_edgegap_client_new(const sg_edgegap_options *opt, sg_edgegap_client **out)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (!global_ok) return sg_fail(SG_E_INTERNAL, "libcurl or libsodium failed to initialise");
    sg_edgegap_options o;
    if (opt)
        o = *opt;
    else
        sg_edgegap_options_default(&o);
    const char *url = o.base_url && *o.base_url ? o.base_url : "https://api.edgegap.com";
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return sg_fail(SG_E_INVALID, "edgegap-url must be an http:// or https:// URL");
    if (o.connect_timeout_ms <= 0 || o.timeout_ms <= 0)
        return sg_fail(SG_E_INVALID, "edgegap timeouts must be positive");
    if (o.max_retries < 0 || o.retry_budget_ms < 0 || o.backoff_base_ms < 0 ||
        o.backoff_max_ms < o.backoff_base_ms)
        return sg_fail(SG_E_INVALID, "edgegap retry settings are inconsistent");
    if (o.burst < 1) o.burst = 1;
    if (o.max_connections < 1) o.max_connections = 1;
    if (o.max_body == 0) o.max_body = 1u << 20;

    sg_edgegap_client *c = calloc(1, sizeof *c);
    if (!c) return sg_fail(SG_E_NOMEM, "out of memory");
    sg_status st = normalise_key(o.api_key, &c->key);
    if (st != SG_OK) {
        free(c);
        return st;
    }
    c->opt = o;
    c->opt.api_key = NULL;
    c->max_body = o.max_body;
    c->base_url = strdup(url);
    if (c->base_url) {
        size_t n = strlen(c->base_url);
        while (n > 0 && c->base_url[n - 1] == '/')
            c->base_url[--n] = '\0';
    }
    c->opt.base_url = c->base_url;
    c->hdr_get = headers_build(c->key, false);
    c->hdr_post = headers_build(c->key, true);
    c->multi = curl_multi_init();
    c->beasy = curl_easy_init();
    pthread_mutex_init(&c->qmu, NULL);
    pthread_mutex_init(&c->bmu, NULL);
    if (!c->base_url || !c->hdr_get || !c->hdr_post || !c->multi || !c->beasy) {
        sg_edgegap_client_free(c);
        return sg_fail(SG_E_NOMEM, "out of memory creating the Edgegap client");
    }
    if (o.pace) {
        c->pace = sg_edgegap_pace_ref(o.pace);
    } else if ((st = sg_edgegap_pace_new(o.rate, o.burst, o.delete_share, &c->pace)) != SG_OK) {
        sg_edgegap_client_free(c);
        return st;
    }
    c->opt.pace = c->pace;
    c->max_inflight = (size_t)o.max_connections * 4;
    if (c->max_inflight < 16) c->max_inflight = 16;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o.max_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)o.max_connections);
    *out = c;
    return SG_OK;
}

/* ---- one attempt: setup and outcome (shared by both paths) ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    xfer *x = userp;
    size_t add = size * n;
    if (add > x->max_body || x->len > x->max_body - add) {
        x->overflow = true;
        return 0;
    }
    if (x->len + add + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + add + 1)
            cap *= 2;
        char *b = realloc(x->body, cap);
        if (!b) return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, add);
    x->len += add;
    x->body[x->len] = '\0';
    return add;
}

static size_t read_body(char *buf, size_t size, size_t n, void *user)
{
    xfer *x = user;
    const char *body = x->req->body ? x->req->body : "";
    size_t len = strlen(body), left = len - x->upload_off, room = size * n;
    if (left > room) left = room;
    memcpy(buf, body + x->upload_off, left);
    x->upload_off += left;
    return left;
}

static sg_status attempt_setup(sg_edgegap_client *c, CURL *e, xfer *x)
{
    const sg_edgegap_request *r = x->req;
    char *url;
    if (r->call == SG_EDGEGAP_GET_CONTEXT) {
        url = strdup(r->target);
    } else {
        size_t n = strlen(c->base_url) + strlen(r->target) + 1;
        url = malloc(n);
        if (url) snprintf(url, n, "%s%s", c->base_url, r->target);
    }
    if (!url) return SG_E_NOMEM;
    x->len = 0;
    x->overflow = false;
    x->errbuf[0] = '\0';
    x->max_body = c->max_body;
    if (r->context_auth) {
        const char *lines[] = {r->context_auth, "Accept: application/json",
                               "User-Agent: seatgate/0.1"};
        for (size_t i = 0; i < 3; i++) {
            struct curl_slist *t = curl_slist_append(x->hdrs, lines[i]);
            if (!t) {
                free(url);
                return SG_E_NOMEM;
            }
            x->hdrs = t;
        }
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* libcurl copies strings it is given */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->opt.timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                     x->hdrs                   ? x->hdrs
                     : r->method == SG_EG_POST ? c->hdr_post
                                               : c->hdr_get);
    switch (r->method) {
    case SG_EG_POST:
        /* libcurl silently sends a request again on a fresh connection when a reused one
         * closes without an answer. For a create that second send may create a second
         * session while the first, already made by Edgegap, is never heard of. The body is
         * therefore handed over by a read callback without a seek callback: libcurl cannot
         * rewind it, so that resend fails (CURLE_SEND_FAIL_REWIND) and the loss is reported
         * as an ambiguous failure instead (libcurl's CURLOPT_SEEKFUNCTION documents this). */
        x->upload_off = 0;
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, NULL);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(r->body ? strlen(r->body) : 0));
        break;
    case SG_EG_DELETE:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    default:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        break;
    }
    return SG_OK;
}

static void attempt_release_headers(xfer *x)
{
    slist_wipe_free(x->hdrs);
    x->hdrs = NULL;
}

static sg_status parse_answer(xfer *x)
{
    sg_edgegap_result *res = &x->res;
    const char *b = x->body;
    size_t n = x->len;
    switch (x->req->call) {
    case SG_EDGEGAP_CREATE_SESSION:
        return sg_edgegap_parse_created(b, n, &res->created);
    case SG_EDGEGAP_GET_SESSION:
        return sg_edgegap_parse_session(b, n, &res->session);
    case SG_EDGEGAP_LIST_SESSIONS:
        return sg_edgegap_parse_session_list(b, n, &res->list);
    case SG_EDGEGAP_GET_APP_VERSION:
        return sg_edgegap_parse_app_version(b, n, &res->app_version);
    case SG_EDGEGAP_GET_CONTEXT:
        return sg_edgegap_parse_context(b, n, &res->context);
    default:
        return SG_OK; /* delete: the body does not matter */
    }
}

static void result_drop_bodies(sg_edgegap_result *r)
{
    sg_edgegap_created_free(r->created);
    sg_edgegap_session_free(r->session);
    sg_edgegap_session_list_free(r->list);
    sg_edgegap_app_version_free(r->app_version);
    sg_edgegap_context_free(r->context);
    r->created = NULL;
    r->session = NULL;
    r->list = NULL;
    r->app_version = NULL;
    r->context = NULL;
}

void sg_edgegap_result_clear(sg_edgegap_result *r)
{
    if (!r) return;
    result_drop_bodies(r);
    memset(r, 0, sizeof *r);
    r->retry_after_ms = -1;
}

/* Records the outcome of the attempt that just ended in x->res and decides on a retry.
 * Returns true with *wait_us set when the call should be tried again. */
static bool attempt_outcome(sg_edgegap_client *c, xfer *x, CURL *e, CURLcode rc, long long *wait_us)
{
    sg_edgegap_result *res = &x->res;
    long long now = sg_edgegap_clock_us();
    long http = 0, reqsize = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &reqsize);
    bool sent = reqsize > 0;
    sg_status st;
    result_drop_bodies(res);
    res->message[0] = '\0';
    res->retry_after_ms = -1;
    res->http_status = (int)http;
    if (rc != CURLE_OK) {
        st = x->overflow ? SG_E_TOO_LARGE : sg_eg_curl_map(rc);
        if (st == SG_E_TOO_LARGE)
            snprintf(res->message, sizeof res->message, "answer larger than %zu bytes",
                     c->max_body);
        else
            snprintf(res->message, sizeof res->message, "%.100s: %.150s", curl_easy_strerror(rc),
                     x->errbuf[0] ? x->errbuf : "no detail");
    } else {
        st = sg_eg_http_status_map((int)http);
        if (http == 429 || http == 503) {
            struct curl_header *h = NULL;
            if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
                res->retry_after_ms = sg_eg_retry_after_ms(h->value, (long long)time(NULL));
        }
        if (st == SG_OK) {
            st = parse_answer(x);
            if (st != SG_OK) snprintf(res->message, sizeof res->message, "%s", sg_last_error());
        } else {
            sg_edgegap_error_message(x->body, x->len, res->message, sizeof res->message);
            if (!res->message[0]) snprintf(res->message, sizeof res->message, "HTTP %ld", http);
        }
    }
    sg_eg_redact(res->message, sizeof res->message, c->key);
    if (x->req->context_auth)
        sg_eg_redact(res->message, sizeof res->message, x->req->context_auth + 15);
    res->status = st;
    res->attempts = x->attempts;
    if (x->req->call == SG_EDGEGAP_CREATE_SESSION)
        res->ambiguous = st != SG_OK && sg_eg_create_ambiguous(st, (int)http, sent);

    bool retry = false;
    *wait_us = 0;
    if (st != SG_OK && x->attempts <= c->opt.max_retries &&
        sg_eg_retryable(x->req, st, (int)http, sent)) {
        long long w = sg_eg_backoff_us(c->opt.backoff_base_ms, c->opt.backoff_max_ms, x->attempts);
        if (res->retry_after_ms >= 0) { /* 429, or a 503 that says when to come back */
            long long ra = res->retry_after_ms * 1000;
            if (w < ra) w = ra;
            if (st == SG_E_RATE_LIMITED) {
                /* the organisation is over its limit: hold every client of this pace */
                long long hold = res->retry_after_ms < c->opt.backoff_max_ms
                                     ? res->retry_after_ms
                                     : c->opt.backoff_max_ms;
                sg_eg_pace_hold(c->pace, now + hold * 1000);
            }
        }
        if (now + w - x->submitted_us <= c->opt.retry_budget_ms * 1000) {
            retry = true;
            *wait_us = w;
        }
    }
    atomic_fetch_add(&c->attempts, 1);
    if (retry) atomic_fetch_add(&c->retries, 1);
    if (c->opt.observe) {
        sg_edgegap_attempt a = {.call = x->req->call,
                                .attempt = x->attempts,
                                .status = st,
                                .http_status = (int)http,
                                .sent_at_us = x->sent_us,
                                .duration_us = now - x->sent_us,
                                .will_retry = retry};
        c->opt.observe(&a, c->opt.observe_user);
    }
    SG_DEBUG("edgegap", "attempt", "call=%s attempt=%d status=%s http=%ld retry=%d",
             sg_edgegap_call_name(x->req->call), x->attempts, sg_status_name(st), http,
             retry ? 1 : 0);
    return retry;
}

static void result_finish(sg_edgegap_client *c, xfer *x)
{
    x->res.call = x->req->call;
    x->res.attempts = x->attempts;
    x->res.latency_us = sg_edgegap_clock_us() - x->submitted_us;
    atomic_fetch_add(&c->calls, 1);
    if ((unsigned)x->res.status < SG_STATUS_COUNT)
        atomic_fetch_add(&c->by_status[x->res.status], 1);
}

/* Deletes are paced in their own lane (the pace's delete_share). */
static sg_eg_lane lane_of(const sg_edgegap_request *r)
{
    return r->call == SG_EDGEGAP_DELETE_SESSION ? SG_EG_LANE_DELETES : SG_EG_LANE_PLAYERS;
}

static void preset_result(xfer *x, sg_status st, const char *msg)
{
    x->res.status = st;
    snprintf(x->res.message, sizeof x->res.message, "%s", msg);
}

static sg_status check_key(sg_edgegap_client *c, const sg_edgegap_request *r)
{
    if (r->call != SG_EDGEGAP_GET_CONTEXT && !c->key) return SG_E_INVALID;
    return SG_OK;
}

/* ---- blocking ---- */

sg_status sg_edgegap_perform(sg_edgegap_client *c, const sg_edgegap_request *req,
                             sg_edgegap_result *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after_ms = -1;
    if (!c || !req) {
        out->status = SG_E_INVALID;
        snprintf(out->message, sizeof out->message, "client and request are required");
        return out->status;
    }
    xfer x;
    memset(&x, 0, sizeof x);
    x.req = (sg_edgegap_request *)req;
    x.res.retry_after_ms = -1;
    x.submitted_us = sg_edgegap_clock_us();
    if (check_key(c, req) != SG_OK) {
        preset_result(&x, SG_E_INVALID, "no Edgegap API key is configured");
    } else {
        pthread_mutex_lock(&c->bmu);
        for (;;) {
            sleep_until_us(sg_eg_pace_reserve_lane(c->pace, lane_of(req), sg_edgegap_clock_us()));
            curl_easy_reset(c->beasy);
            if (attempt_setup(c, c->beasy, &x) != SG_OK) {
                attempt_release_headers(&x);
                preset_result(&x, SG_E_NOMEM, "out of memory");
                break;
            }
            x.attempts++;
            x.sent_us = sg_edgegap_clock_us();
            CURLcode rc = curl_easy_perform(c->beasy);
            attempt_release_headers(&x);
            long long wait_us;
            if (!attempt_outcome(c, &x, c->beasy, rc, &wait_us)) break;
            sleep_until_us(sg_edgegap_clock_us() + wait_us);
        }
        curl_easy_setopt(c->beasy, CURLOPT_ERRORBUFFER, NULL);
        pthread_mutex_unlock(&c->bmu);
    }
    free(x.body);
    result_finish(c, &x);
    *out = x.res;
    return out->status;
}

/* ---- non-blocking: timers ---- */

/* The transfer whose timer node n is. */
static xfer *xfer_of(sg_heap_node *n)
{
    return (xfer *)(void *)((char *)n - offsetof(xfer, timer));
}

static bool timer_push(sg_edgegap_client *c, xfer *x, long long due_us)
{
    x->timer.due = due_us;
    return sg_heap_push(&c->timers, &x->timer) == SG_OK;
}

/* ---- non-blocking: transfer lifecycle (driving thread) ---- */

static void list_remove(sg_edgegap_client *c, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        c->all = x->next;
    if (x->next) x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void complete(sg_edgegap_client *c, xfer *x, int *ncompleted)
{
    list_remove(c, x);
    result_finish(c, x);
    x->cb(&x->res, x->user);
    result_drop_bodies(&x->res);
    sg_edgegap_request_free(x->req);
    free(x->body);
    free(x);
    atomic_fetch_sub(&c->pending, 1);
    if (ncompleted) (*ncompleted)++;
}

static void easy_release(sg_edgegap_client *c, CURL *e)
{
    if (c->pool_n < POOL_MAX) {
        curl_easy_reset(e);
        c->pool[c->pool_n++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

static void launch_now(sg_edgegap_client *c, xfer *x, int *ncompleted)
{
    CURL *e = c->pool_n ? c->pool[--c->pool_n] : curl_easy_init();
    if (!e || attempt_setup(c, e, x) != SG_OK) {
        if (e) easy_release(c, e);
        attempt_release_headers(x);
        preset_result(x, SG_E_NOMEM, "out of memory starting an Edgegap request");
        complete(c, x, ncompleted);
        return;
    }
    x->easy = e;
    x->attempts++;
    x->sent_us = sg_edgegap_clock_us();
    x->state = X_FLIGHT;
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        x->easy = NULL;
        easy_release(c, e);
        attempt_release_headers(x);
        preset_result(x, SG_E_INTERNAL, "libcurl refused the transfer");
        complete(c, x, ncompleted);
        return;
    }
    c->inflight++;
}

static void launch(sg_edgegap_client *c, xfer *x, int *ncompleted)
{
    if (c->inflight < c->max_inflight) {
        launch_now(c, x, ncompleted);
        return;
    }
    x->state = X_SLOT;
    x->qnext = NULL;
    if (c->slot_tail)
        c->slot_tail->qnext = x;
    else
        c->slot_head = x;
    c->slot_tail = x;
}

static void fill_slots(sg_edgegap_client *c, int *ncompleted)
{
    while (c->slot_head && c->inflight < c->max_inflight) {
        xfer *x = c->slot_head;
        c->slot_head = x->qnext;
        if (!c->slot_head) c->slot_tail = NULL;
        x->qnext = NULL;
        launch_now(c, x, ncompleted);
    }
}

/* A transfer ready for a (new) attempt: take a pace slot, then launch or wait. */
static void start(sg_edgegap_client *c, xfer *x, int *ncompleted)
{
    if (x->preset != SG_OK) {
        complete(c, x, ncompleted);
        return;
    }
    long long now = sg_edgegap_clock_us();
    long long at = sg_eg_pace_reserve_lane(c->pace, lane_of(x->req), now);
    if (at > now) {
        x->state = X_PACED;
        if (timer_push(c, x, at)) return;
    }
    launch(c, x, ncompleted);
}

static void finished(sg_edgegap_client *c, CURL *e, CURLcode rc, int *ncompleted)
{
    xfer *x = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(c->multi, e);
    if (c->inflight) c->inflight--;
    if (!x) {
        curl_easy_cleanup(e);
        return;
    }
    long long wait_us;
    bool retry = attempt_outcome(c, x, e, rc, &wait_us);
    attempt_release_headers(x);
    x->easy = NULL;
    easy_release(c, e);
    if (retry) {
        x->state = X_RETRY_WAIT;
        if (timer_push(c, x, sg_edgegap_clock_us() + wait_us)) return;
        start(c, x, ncompleted);
        return;
    }
    complete(c, x, ncompleted);
}

static void drain_queue(sg_edgegap_client *c, int *ncompleted)
{
    pthread_mutex_lock(&c->qmu);
    xfer *q = c->q_head;
    c->q_head = c->q_tail = NULL;
    pthread_mutex_unlock(&c->qmu);
    while (q) {
        xfer *x = q;
        q = q->qnext;
        x->next = c->all;
        if (c->all) c->all->prev = x;
        c->all = x;
        start(c, x, ncompleted);
    }
}

static void fire_timers(sg_edgegap_client *c, int *ncompleted)
{
    long long now = sg_edgegap_clock_us();
    sg_heap_node *top;
    while ((top = sg_heap_top(&c->timers)) && top->due <= now) {
        xfer *x = xfer_of(sg_heap_pop(&c->timers));
        if (x->state == X_PACED)
            launch(c, x, ncompleted);
        else
            start(c, x, ncompleted);
    }
}

static void read_done(sg_edgegap_client *c, int *ncompleted)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)))
        if (m->msg == CURLMSG_DONE) finished(c, m->easy_handle, m->data.result, ncompleted);
    fill_slots(c, ncompleted);
}

sg_status sg_edgegap_submit(sg_edgegap_client *c, sg_edgegap_request *req, sg_edgegap_done_fn cb,
                            void *user)
{
    if (!c || !req || !cb) {
        sg_edgegap_request_free(req);
        return sg_fail(SG_E_INVALID, "client, request and callback are required");
    }
    xfer *x = calloc(1, sizeof *x);
    if (!x) {
        sg_edgegap_request_free(req);
        return sg_fail(SG_E_NOMEM, "out of memory queueing an Edgegap request");
    }
    x->req = req;
    x->cb = cb;
    x->user = user;
    x->res.retry_after_ms = -1;
    x->submitted_us = sg_edgegap_clock_us();
    if (check_key(c, req) != SG_OK) {
        x->preset = SG_E_INVALID;
        preset_result(x, SG_E_INVALID, "no Edgegap API key is configured");
    }
    atomic_fetch_add(&c->pending, 1);
    pthread_mutex_lock(&c->qmu);
    if (c->q_tail)
        c->q_tail->qnext = x;
    else
        c->q_head = x;
    c->q_tail = x;
    pthread_mutex_unlock(&c->qmu);
    if (atomic_load(&c->driver) != (uintptr_t)&tl_me) curl_multi_wakeup(c->multi);
    return SG_OK;
}

sg_status sg_edgegap_run(sg_edgegap_client *c, int timeout_ms, sg_edgegap_waitfd *extra,
                         unsigned nextra, int *ncompleted)
{
    int done = 0, running = 0;
    if (ncompleted) *ncompleted = 0;
    atomic_store(&c->driver, (uintptr_t)&tl_me);
    drain_queue(c, &done);
    fire_timers(c, &done);
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return sg_fail(SG_E_INTERNAL, "curl_multi_perform failed");
    read_done(c, &done);

    long long wait = timeout_ms < 0 ? 0 : timeout_ms;
    if (done > 0) wait = 0;
    if (sg_heap_top(&c->timers)) {
        long long d = (sg_heap_top(&c->timers)->due - sg_edgegap_clock_us() + 999) / 1000;
        if (d < 0) d = 0;
        if (d < wait) wait = d;
    }
    long ct = -1;
    curl_multi_timeout(c->multi, &ct);
    if (ct >= 0 && ct < wait) wait = ct;

    struct curl_waitfd stackfds[16], *wfds = stackfds;
    if (nextra > 16 && !(wfds = calloc(nextra, sizeof *wfds)))
        return sg_fail(SG_E_NOMEM, "out of memory");
    for (unsigned i = 0; i < nextra; i++) {
        wfds[i].fd = extra[i].fd;
        wfds[i].events = extra[i].events;
        wfds[i].revents = 0;
    }
    CURLMcode mc = curl_multi_poll(c->multi, nextra ? wfds : NULL, nextra, (int)wait, NULL);
    for (unsigned i = 0; i < nextra; i++)
        extra[i].revents = wfds[i].revents;
    if (wfds != stackfds) free(wfds);
    if (mc != CURLM_OK) return sg_fail(SG_E_INTERNAL, "curl_multi_poll failed");

    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return sg_fail(SG_E_INTERNAL, "curl_multi_perform failed");
    read_done(c, &done);
    drain_queue(c, &done);
    fire_timers(c, &done);
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return sg_fail(SG_E_INTERNAL, "curl_multi_perform failed");
    read_done(c, &done);
    if (ncompleted) *ncompleted = done;
    return SG_OK;
}

void sg_edgegap_wakeup(sg_edgegap_client *c)
{
    if (c) curl_multi_wakeup(c->multi);
}

void sg_edgegap_driver_gone(sg_edgegap_client *c)
{
    if (c) atomic_store(&c->driver, 0);
}

size_t sg_edgegap_pending(sg_edgegap_client *c)
{
    return c ? atomic_load(&c->pending) : 0;
}

void sg_edgegap_client_get_stats(sg_edgegap_client *c, sg_edgegap_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c) return;
    out->calls = atomic_load(&c->calls);
    out->attempts = atomic_load(&c->attempts);
    out->retries = atomic_load(&c->retries);
    for (int i = 0; i < SG_STATUS_COUNT; i++)
        out->by_status[i] = atomic_load(&c->by_status[i]);
}

void sg_edgegap_client_free(sg_edgegap_client *c)
{
    if (!c) return;
    if (c->multi) {
        pthread_mutex_lock(&c->qmu);
        xfer *q = c->q_head;
        c->q_head = c->q_tail = NULL;
        pthread_mutex_unlock(&c->qmu);
        while (q) { /* link them so the loop below cancels them too */
            xfer *x = q;
            q = q->qnext;
            x->next = c->all;
            if (c->all) c->all->prev = x;
            c->all = x;
            x->state = X_QUEUED;
        }
        while (c->all) {
            xfer *x = c->all;
            /* A create whose request libcurl had in hand may have reached Edgegap: whatever
             * ends it now (this shutdown), it may have made a session. */
            bool maybe_sent = x->easy != NULL || x->res.ambiguous;
            if (x->easy) {
                curl_multi_remove_handle(c->multi, x->easy);
                curl_easy_cleanup(x->easy);
                x->easy = NULL;
                attempt_release_headers(x);
            }
            result_drop_bodies(&x->res);
            x->res.http_status = 0;
            preset_result(x, SG_E_UNAVAILABLE, "the Edgegap client was shut down");
            x->res.ambiguous = x->req->call == SG_EDGEGAP_CREATE_SESSION && maybe_sent;
            complete(c, x, NULL);
        }
        curl_multi_cleanup(c->multi);
    }
    for (size_t i = 0; i < c->pool_n; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->beasy) curl_easy_cleanup(c->beasy);
    sg_heap_free(&c->timers);
    slist_wipe_free(c->hdr_get);
    slist_wipe_free(c->hdr_post);
    wipe_free(c->key);
    free(c->base_url);
    pthread_mutex_destroy(&c->qmu);
    pthread_mutex_destroy(&c->bmu);
    sg_edgegap_pace_free(c->pace);
    free(c);
}

sg_edgegap_pace *sg_eg_client_pace(sg_edgegap_client *c)
{
    return c->pace;
}

void sg_edgegap_client_queue(sg_edgegap_client *c, long long *wait_ms, int *ahead)
{
    double rate;
    long long now = sg_edgegap_clock_us();
    long long at = sg_eg_pace_peek_lane(c->pace, SG_EG_LANE_PLAYERS, now, &rate);
    long long wait_us = at > now ? at - now : 0;
    *wait_ms = (wait_us + 999) / 1000;
    double calls = (double)wait_us * rate / 1e6;
    *ahead = calls > 0 ? (int)calls + ((double)(int)calls < calls) : 0;
}
