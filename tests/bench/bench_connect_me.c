/* Load generator for scripts/bench-connect-me (figures, not a test).
 *
 *   bench_connect_me load URL METHOD CONCURRENCY SECONDS XFF_BASE
 *       keeps CONCURRENCY requests in flight (keep-alive connections) for SECONDS; prints
 *       "requests=N errors=E rps=R p50_ms=A p99_ms=B"
 *   bench_connect_me hold URL COUNT TIMEOUT_S XFF_BASE
 *       opens COUNT POST requests at once (each its own connection) and waits for all;
 *       prints "ok=N errors=E seconds=S first_ms=A last_ms=B failed_with=STATUS:N,...
 *       no_answer=N still_waiting=N connect_failed=N (first error)"
 *   bench_connect_me edgegap SIM_URL API_KEY APP VERSION CONCURRENCY SECONDS
 *       what a /connect-me costs at Edgegap alone: POST /v1/session then GET of that session,
 *       straight to the simulator (the baseline the matchmaker's own work adds to); prints
 *       the same line as load, one "request" being the two round trips"
 *   bench_connect_me calls SIM_URL
 *       the Edgegap calls the simulator has answered so far (GET /_sim/requests): prints
 *       "create=N get=N delete=N", counting every status
 * XFF_BASE (0..255) makes every request carry X-Forwarded-For: 100.XFF_BASE.x.y with a
 * distinct x.y (past 62,500 requests the second octet moves on), so each request is a
 * different player (single flight, per-IP limits); -1 sends none. hold connects from
 * 127.0.1.1, 127.0.1.2... (20,000 connections each) and speaks HTTP/1.1 itself over epoll;
 * the others use libcurl multi on one thread. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

typedef struct slot {
    CURL *e;
    struct curl_slist *hdr;
    double started;
} slot;

static unsigned long seq;

static void prepare(slot *s, const char *url, const char *method, int xff_base)
{
    if (!s->e) {
        s->e = curl_easy_init();
        curl_easy_setopt(s->e, CURLOPT_URL, url);
        curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(s->e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->e, CURLOPT_TIMEOUT, 120L);
        if (strcmp(method, "POST") == 0) {
            curl_easy_setopt(s->e, CURLOPT_POST, 1L);
            curl_easy_setopt(s->e, CURLOPT_POSTFIELDSIZE, 0L);
        }
    }
    curl_slist_free_all(s->hdr);
    s->hdr = NULL;
    if (xff_base >= 0) {
        char h[64];
        unsigned long n = seq++;
        /* 62,500 players per second octet; more move on to the next octets */
        snprintf(h, sizeof h, "X-Forwarded-For: 100.%lu.%lu.%lu",
                 ((unsigned long)xff_base + n / 62500) % 256, (n / 250) % 250 + 1, n % 250 + 1);
        s->hdr = curl_slist_append(NULL, h);
    }
    curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, s->hdr);
    s->started = now_ms();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_load(const char *url, const char *method, int conc, double seconds, int xff)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    slot *slots = calloc((size_t)conc, sizeof *slots);
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    long errors = 0;
    double start = now_ms(), end = start + seconds * 1000.0;
    for (int i = 0; i < conc; i++) {
        prepare(&slots[i], url, method, xff);
        curl_easy_setopt(slots[i].e, CURLOPT_PRIVATE, &slots[i]);
        curl_multi_add_handle(m, slots[i].e);
    }
    int running = conc;
    while (running > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            double t = now_ms();
            if (msg->data.result != CURLE_OK || code != 200)
                errors++;
            else if (n < cap)
                lat[n++] = t - s->started;
            curl_multi_remove_handle(m, s->e);
            if (t < end) {
                prepare(s, url, method, xff);
                curl_multi_add_handle(m, s->e);
                running++;
            }
        }
        if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double elapsed = (now_ms() - start) / 1000.0;
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("requests=%zu errors=%ld rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", n, errors,
           (double)n / elapsed, n ? lat[n / 2] : 0, n ? lat[(size_t)((double)n * 0.99)] : 0);
    for (int i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].e);
        curl_slist_free_all(slots[i].hdr);
    }
    free(slots);
    free(lat);
    curl_multi_cleanup(m);
    return 0;
}

/* ---- hold: many waiting players, one connection each ---- */

/* libcurl's multi interface walks every handle on each turn; with 100,000 of them it cannot
 * keep up, so hold speaks HTTP/1.1 itself over non-blocking sockets and epoll. */
typedef struct waiter {
    int fd;
    bool sent;
    char status[16]; /* the start of the answer: "HTTP/1.1 200" */
    int got;
} waiter;

static int run_hold(const char *url, int count, long timeout_s, int xff)
{
    char host[64], path[256];
    int port = 0;
    if (sscanf(url, "http://%63[^:/]:%d%255s", host, &port, path) != 3 || port <= 0) {
        fprintf(stderr, "hold: expected http://ADDRESS:PORT/PATH, got %s\n", url);
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "hold: %s is not an IPv4 address\n", host);
        return 2;
    }
    waiter *w = calloc((size_t)count, sizeof *w);
    int ep = epoll_create1(0);
    if (!w || ep < 0) return 2;
    double start = now_ms(), first = -1, last = 0, deadline = start + (double)timeout_s * 1000;
    long ok = 0, errors = 0, done = 0, no_answer = 0, connect_failed = 0, by_status[600] = {0};
    char connect_err[96] = "-";
    int opened = 0, connecting = 0;
    struct epoll_event evs[512];
    while (done < count && now_ms() < deadline) {
        /* Connect in waves, so the listen queue is never flooded. */
        while (opened < count && connecting < 1000) {
            waiter *x = &w[opened];
            x->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            /* 20,000 connections per source address (127.0.1.1, 127.0.1.2...), so the
             * kernel has ports for all of them */
            struct sockaddr_in from = {.sin_family = AF_INET};
            from.sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)(opened / 20000 + 1));
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)opened};
            if (x->fd < 0 || bind(x->fd, (struct sockaddr *)&from, sizeof from) != 0 ||
                (connect(x->fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) ||
                epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev) != 0) {
                errors++;
                if (connect_failed++ == 0)
                    snprintf(connect_err, sizeof connect_err, "%s", strerror(errno));
                if (x->fd >= 0) close(x->fd);
                x->fd = -1;
                done++;
            } else {
                connecting++;
            }
            opened++;
        }
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;
            waiter *x = &w[i];
            bool finished = false, good = false;
            if (!x->sent) {
                connecting--;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                char req[512];
                unsigned long p = seq++;
                int m = snprintf(req, sizeof req,
                                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                                 "X-Forwarded-For: 100.%lu.%lu.%lu\r\n"
                                 "Content-Length: 0\r\nConnection: close\r\n\r\n",
                                 path, host, port, ((unsigned long)xff + p / 62500) % 256,
                                 (p / 250) % 250 + 1, p % 250 + 1);
                if (err || send(x->fd, req, (size_t)m, MSG_NOSIGNAL) != m) {
                    finished = true;
                } else {
                    x->sent = true;
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
                }
            } else {
                char buf[4096];
                ssize_t r;
                while ((r = recv(x->fd, buf, sizeof buf, 0)) > 0) {
                    int take = (int)sizeof x->status - 1 - x->got;
                    if (take > (int)r) take = (int)r;
                    if (take > 0) memcpy(x->status + x->got, buf, (size_t)take);
                    x->got += take > 0 ? take : 0;
                }
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                    finished = true;
                    good = r == 0 && strncmp(x->status, "HTTP/1.1 200", 12) == 0;
                }
            }
            if (!finished) continue;
            close(x->fd);
            x->fd = -1;
            done++;
            if (good) {
                ok++;
            } else {
                errors++;
                int code = 0;
                if (sscanf(x->status, "HTTP/1.1 %d", &code) == 1 && code >= 100 && code < 600)
                    by_status[code]++;
                else
                    no_answer++;
            }
            double t = now_ms() - start;
            if (first < 0) first = t;
            last = t;
        }
    }
    for (int i = 0; i < opened; i++)
        if (w[i].fd >= 0) close(w[i].fd);
    errors += count - done; /* still waiting at the deadline */
    char failed[256] = "";
    size_t at = 0;
    for (int c = 100; c < 600; c++)
        if (by_status[c] && at < sizeof failed)
            at += (size_t)snprintf(failed + at, sizeof failed - at, "%s%d:%ld", at ? "," : "", c,
                                   by_status[c]);
    printf("ok=%ld errors=%ld seconds=%.1f first_ms=%.0f last_ms=%.0f failed_with=%s "
           "no_answer=%ld still_waiting=%ld connect_failed=%ld (%s)\n",
           ok, errors, (now_ms() - start) / 1000.0, first, last, at ? failed : "-", no_answer,
           (long)count - done, connect_failed, connect_err);
    free(w);
    close(ep);
    return errors ? 1 : 0;
}

/* ---- edgegap: the two round trips alone ---- */

typedef struct eslot {
    CURL *e;
    struct curl_slist *hdr;
    double started;
    bool getting;
    char body[4096];
    size_t len;
} eslot;

static size_t keep(char *d, size_t s, size_t n, void *u)
{
    eslot *x = u;
    size_t k = s * n;
    if (x->len + k < sizeof x->body) {
        memcpy(x->body + x->len, d, k);
        x->len += k;
        x->body[x->len] = '\0';
    }
    return k;
}

static void eprepare(eslot *x, const char *sim, const char *app, const char *version, bool get)
{
    char url[512], sid[128] = "";
    const char *id = get ? strstr(x->body, "\"session_id\":\"") : NULL;
    if (id) sscanf(id + 14, "%127[^\"]", sid);
    x->len = 0;
    x->body[0] = '\0';
    x->getting = get;
    if (!get) {
        static char post[256];
        unsigned long n = seq++;
        snprintf(post, sizeof post,
                 "{\"app_name\":\"%s\",\"version_name\":\"%s\",\"ip_list\":[\"100.9.%lu.%lu\"]}",
                 app, version, (n / 250) % 250 + 1, n % 250 + 1);
        snprintf(url, sizeof url, "%s/v1/session", sim);
        curl_easy_setopt(x->e, CURLOPT_URL, url);
        curl_easy_setopt(x->e, CURLOPT_COPYPOSTFIELDS, post);
        x->started = now_ms();
    } else {
        snprintf(url, sizeof url, "%s/v1/session/%s", sim, sid);
        curl_easy_setopt(x->e, CURLOPT_URL, url);
        curl_easy_setopt(x->e, CURLOPT_HTTPGET, 1L);
    }
}

static int run_edgegap(const char *sim, const char *key, const char *app, const char *version,
                       int conc, double seconds)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    eslot *slots = calloc((size_t)conc, sizeof *slots);
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    long errors = 0;
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: token %s", key);
    double start = now_ms(), end = start + seconds * 1000.0;
    for (int i = 0; i < conc; i++) {
        eslot *x = &slots[i];
        x->e = curl_easy_init();
        x->hdr = curl_slist_append(curl_slist_append(NULL, auth), "Content-Type: application/json");
        curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdr);
        curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, keep);
        curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x->e, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
        eprepare(x, sim, app, version, false);
        curl_multi_add_handle(m, x->e);
    }
    int running = conc;
    while (running > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            eslot *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            double t = now_ms();
            curl_multi_remove_handle(m, x->e);
            bool ok = msg->data.result == CURLE_OK && code == 200;
            if (ok && !x->getting) { /* created: now the GET */
                eprepare(x, sim, app, version, true);
                curl_multi_add_handle(m, x->e);
                running++;
                continue;
            }
            if (!ok) {
                if (errors++ == 0)
                    fprintf(stderr, "edgegap: %s answered %ld (%s) %s\n",
                            x->getting ? "GET" : "POST", code, curl_easy_strerror(msg->data.result),
                            x->body);
            } else if (n < cap) {
                lat[n++] = t - x->started;
            }
            if (t < end) {
                eprepare(x, sim, app, version, false);
                curl_multi_add_handle(m, x->e);
                running++;
            }
        }
        if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double elapsed = (now_ms() - start) / 1000.0;
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("requests=%zu errors=%ld rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", n, errors,
           (double)n / elapsed, n ? lat[n / 2] : 0, n ? lat[(size_t)((double)n * 0.99)] : 0);
    for (int i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].e);
        curl_slist_free_all(slots[i].hdr);
    }
    free(slots);
    free(lat);
    curl_multi_cleanup(m);
    return 0;
}

static size_t grow(char *d, size_t s, size_t n, void *u)
{
    char **b = u;
    size_t k = s * n, len = *b ? strlen(*b) : 0;
    char *p = realloc(*b, len + k + 1);
    if (!p) return 0;
    memcpy(p + len, d, k);
    p[len + k] = '\0';
    *b = p;
    return k;
}

static int run_calls(const char *sim)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/requests", sim);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    cJSON *j = rc == CURLE_OK && body ? cJSON_Parse(body) : NULL;
    free(body);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "requests");
    if (!req) {
        fprintf(stderr, "calls: no answer from %s\n", url);
        cJSON_Delete(j);
        return 1;
    }
    double create = 0, get = 0, del = 0;
    for (const cJSON *c = req->child; c; c = c->next) {
        if (!cJSON_IsNumber(c)) continue;
        if (strncmp(c->string, "POST /v1/session ", 17) == 0) create += c->valuedouble;
        if (strncmp(c->string, "GET /v1/session/{session_id} ", 29) == 0) get += c->valuedouble;
        if (strncmp(c->string, "DELETE /v1/session/{session_id} ", 32) == 0) del += c->valuedouble;
    }
    printf("create=%.0f get=%.0f delete=%.0f\n", create, get, del);
    cJSON_Delete(j);
    return 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc == 7 && strcmp(argv[1], "load") == 0)
        rc = run_load(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), atoi(argv[6]));
    else if (argc == 6 && strcmp(argv[1], "hold") == 0)
        rc = run_hold(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]));
    else if (argc == 8 && strcmp(argv[1], "edgegap") == 0)
        rc = run_edgegap(argv[2], argv[3], argv[4], argv[5], atoi(argv[6]), atof(argv[7]));
    else if (argc == 3 && strcmp(argv[1], "calls") == 0)
        rc = run_calls(argv[2]);
    else
        fprintf(stderr,
                "usage: %s load URL METHOD CONCURRENCY SECONDS XFF_BASE\n"
                "       %s hold URL COUNT TIMEOUT_S XFF_BASE\n"
                "       %s edgegap SIM_URL API_KEY APP VERSION CONCURRENCY SECONDS\n"
                "       %s calls SIM_URL\n",
                argv[0], argv[0], argv[0], argv[0]);
    curl_global_cleanup();
    return rc;
}
