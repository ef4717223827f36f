/* Webhook deliveries: a queue drained by a few worker threads with libcurl, so a slow or
 * dead receiver never holds up request handling. Each delivery is recorded for
 * /_sim/state (the most recent ones, bounded). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "seatgate/log.h"
#include "sim.h"

#define QUEUE_MAX 10000
#define LOG_MAX 2000

typedef struct job {
    char *url, *body;
    char session_id[SIM_SID_MAX];
    char status[16];
    struct job *next;
} job;

typedef struct delivery {
    char session_id[SIM_SID_MAX];
    char status[16];
    char url[256];
    long http_status;
    char error[96];
} delivery;

struct sim_webhooks {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    size_t queued;
    bool stop;
    pthread_t *threads;
    int n_threads;
    long timeout_ms;
    delivery log[LOG_MAX];
    size_t n_log, log_next;
    long long delivered, failed, dropped;
};

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static void record(sim_webhooks *w, const job *j, long http, const char *err)
{
    pthread_mutex_lock(&w->mu);
    delivery *d = &w->log[w->log_next];
    w->log_next = (w->log_next + 1) % LOG_MAX;
    if (w->n_log < LOG_MAX) w->n_log++;
    snprintf(d->session_id, sizeof d->session_id, "%s", j->session_id);
    snprintf(d->status, sizeof d->status, "%s", j->status);
    snprintf(d->url, sizeof d->url, "%s", j->url ? j->url : "");
    d->http_status = http;
    snprintf(d->error, sizeof d->error, "%s", err ? err : "");
    if (err || http < 200 || http > 299)
        w->failed++;
    else
        w->delivered++;
    pthread_mutex_unlock(&w->mu);
}

static void deliver(sim_webhooks *w, CURL *c, const job *j)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "seatgate-edgegap-sim webhook");
    CURLcode rc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(h);
    record(w, j, http, rc == CURLE_OK ? NULL : curl_easy_strerror(rc));
    SG_DEBUG("sim", "webhook", "session_id=%s status=%s http_status=%ld ok=%d", j->session_id,
             j->status, http, rc == CURLE_OK);
}

static void free_job(job *j)
{
    free(j->url);
    free(j->body);
    free(j);
}

static void *worker(void *arg)
{
    sim_webhooks *w = arg;
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->head)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) break;
        job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->mu);
        if (c)
            deliver(w, c, j);
        else
            record(w, j, 0, "curl_easy_init failed");
        free_job(j);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    if (c) curl_easy_cleanup(c);
    return NULL;
}

sim_webhooks *sim_webhooks_new(int threads, long timeout_ms)
{
    sim_webhooks *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    w->threads = calloc((size_t)(threads > 0 ? threads : 1), sizeof *w->threads);
    if (!w->threads) {
        sim_webhooks_free(w);
        return NULL;
    }
    for (int i = 0; i < (threads > 0 ? threads : 1); i++) {
        if (pthread_create(&w->threads[i], NULL, worker, w) != 0) break;
        w->n_threads++;
    }
    if (w->n_threads == 0) {
        sim_webhooks_free(w);
        return NULL;
    }
    return w;
}

void sim_webhooks_free(sim_webhooks *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    for (job *j = w->head, *n; j; j = n) {
        n = j->next;
        free_job(j);
    }
    free(w->threads);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void sim_webhooks_post(sim_webhooks *w, const char *url, const char *body, const char *session_id,
                       const char *status)
{
    job *j = calloc(1, sizeof *j);
    if (j) {
        j->url = strdup(url);
        j->body = strdup(body);
        snprintf(j->session_id, sizeof j->session_id, "%s", session_id);
        snprintf(j->status, sizeof j->status, "%s", status);
    }
    pthread_mutex_lock(&w->mu);
    if (!j || !j->url || !j->body || w->queued >= QUEUE_MAX || w->stop) {
        w->dropped++;
        pthread_mutex_unlock(&w->mu);
        if (j) free_job(j);
        return;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

cJSON *sim_webhooks_to_json(sim_webhooks *w)
{
    cJSON *o = cJSON_CreateObject();
    pthread_mutex_lock(&w->mu);
    cJSON_AddNumberToObject(o, "delivered", (double)w->delivered);
    cJSON_AddNumberToObject(o, "failed", (double)w->failed);
    cJSON_AddNumberToObject(o, "dropped", (double)w->dropped);
    cJSON_AddNumberToObject(o, "queued", (double)w->queued);
    cJSON *list = cJSON_AddArrayToObject(o, "deliveries");
    size_t start = (w->log_next + LOG_MAX - w->n_log) % LOG_MAX;
    for (size_t i = 0; i < w->n_log; i++) {
        const delivery *d = &w->log[(start + i) % LOG_MAX];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "session_id", d->session_id);
        cJSON_AddStringToObject(e, "status", d->status);
        cJSON_AddStringToObject(e, "url", d->url);
        cJSON_AddNumberToObject(e, "http_status", (double)d->http_status);
        if (d->error[0]) cJSON_AddStringToObject(e, "error", d->error);
        cJSON_AddItemToArray(list, e);
    }
    pthread_mutex_unlock(&w->mu);
    return o;
}
