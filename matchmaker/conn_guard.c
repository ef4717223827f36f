/* Per-address connection caps and request deadlines (see conn_guard.h). */
#include "conn_guard.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seatgate/clock.h"
#include "seatgate/log.h"

#define BUCKETS 4096 /* per-address counters; chains grow past it */
#define SWEEP_MS 500

typedef struct addr_count {
    struct addr_count *next;
    uint8_t key[SG_ADDR_KEY_BYTES];
    unsigned n;
} addr_count;

struct sg_conn_track {
    sg_conn_track *prev, *next; /* every open connection */
    int fd;
    addr_count *count;     /* NULL when exempt or uncapped */
    long long deadline_ms; /* 0: none */
    sg_conn_phase phase;
    bool shut; /* shut down by the guard */
};

struct sg_conn_guard {
    sg_conn_guard_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t sweeper;
    bool stop, running;
    sg_conn_track *all;
    addr_count *table[BUCKETS];
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    sg_counter *over_cap, *head_late, *body_late;
};

/* Shuts a tracked socket down (under the lock): libmicrohttpd sees the end of the stream and
 * closes the connection itself. */
static void shut(sg_conn_track *t)
{
    if (t->shut) return;
    t->shut = true;
    shutdown(t->fd, SHUT_RDWR);
}

static sg_log_limiter late_log;

static void *sweep_main(void *arg)
{
    sg_conn_guard *g = arg;
    pthread_setname_np(pthread_self(), "sg-conn-sweep");
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec until = sg_clock_deadline(SWEEP_MS);
        pthread_cond_timedwait(&g->cv, &g->mu, &until);
        long long now = sg_clock_mono_ms();
        unsigned heads = 0, bodies = 0;
        for (sg_conn_track *t = g->all; t; t = t->next) {
            if (t->shut || !t->deadline_ms || now < t->deadline_ms) continue;
            if (t->phase == SG_CONN_HEAD) heads++;
            else bodies++;
            shut(t);
        }
        if (heads) sg_counter_add(g->head_late, heads);
        if (bodies) sg_counter_add(g->body_late, bodies);
        unsigned long long held = 0;
        if ((heads || bodies) && sg_log_limit(&late_log, 10000, &held))
            SG_WARN("http", "request_too_slow",
                    "heads=%u bodies=%u suppressed=%llu hint=\"connections closed for not "
                    "completing a request head within request-head-timeout or a body within "
                    "request-body-timeout\"",
                    heads, bodies, held);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

sg_status sg_conn_guard_new(const sg_conn_guard_options *o, sg_conn_guard **out)
{
    *out = NULL;
    if (o->ipv6_prefix < 1 || o->ipv6_prefix > 128)
        return sg_fail(SG_E_INVALID, "connection guard: IPv6 prefix must be 1..128");
    if (o->head_timeout_ms < 0 || o->body_timeout_ms < 0)
        return sg_fail(SG_E_INVALID, "connection guard: negative deadline");
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "connection guard: libsodium init failed");
    sg_conn_guard *g = calloc(1, sizeof *g);
    if (!g) return sg_fail(SG_E_NOMEM, "connection guard: out of memory");
    g->o = *o;
    randombytes_buf(g->hash_key, sizeof g->hash_key);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (o->metrics) {
        const char *cap[] = {"why", "over_ip_cap", NULL};
        const char *head[] = {"why", "head_deadline", NULL};
        const char *body[] = {"why", "body_deadline", NULL};
        const char *help = "HTTP connections the matchmaker closed, by why";
        g->over_cap = sg_metrics_counter(o->metrics, "seatgate_http_connections_closed_total",
                                         help, cap);
        g->head_late = sg_metrics_counter(o->metrics, "seatgate_http_connections_closed_total",
                                          help, head);
        g->body_late = sg_metrics_counter(o->metrics, "seatgate_http_connections_closed_total",
                                          help, body);
    }
    if (o->head_timeout_ms || o->body_timeout_ms) {
        if (pthread_create(&g->sweeper, NULL, sweep_main, g) != 0) {
            pthread_mutex_destroy(&g->mu);
            pthread_cond_destroy(&g->cv);
            free(g);
            return sg_fail(SG_E_INTERNAL, "connection guard: cannot start its thread");
        }
        g->running = true;
    }
    *out = g;
    return SG_OK;
}

void sg_conn_guard_free(sg_conn_guard *g)
{
    if (!g) return;
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->sweeper, NULL);
    }
    for (sg_conn_track *t = g->all, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    for (size_t i = 0; i < BUCKETS; i++)
        for (addr_count *c = g->table[i], *n; c; c = n) {
            n = c->next;
            free(c);
        }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

static addr_count *count_for(sg_conn_guard *g, const uint8_t key[SG_ADDR_KEY_BYTES])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, SG_ADDR_KEY_BYTES, g->hash_key);
    size_t slot = ((size_t)h[0] | (size_t)h[1] << 8) % BUCKETS;
    for (addr_count *c = g->table[slot]; c; c = c->next)
        if (memcmp(c->key, key, SG_ADDR_KEY_BYTES) == 0) return c;
    addr_count *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    memcpy(c->key, key, SG_ADDR_KEY_BYTES);
    c->next = g->table[slot];
    g->table[slot] = c;
    return c;
}

static void count_drop(sg_conn_guard *g, addr_count *c)
{
    if (!c || --c->n) return;
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, c->key, SG_ADDR_KEY_BYTES, g->hash_key);
    size_t slot = ((size_t)h[0] | (size_t)h[1] << 8) % BUCKETS;
    for (addr_count **pp = &g->table[slot]; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            free(c);
            return;
        }
    }
}

static sg_log_limiter cap_log;

sg_conn_track *sg_conn_guard_open(sg_conn_guard *g, int fd, const struct sockaddr *peer)
{
    sg_conn_track *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->fd = fd;
    sg_addr a;
    bool capped = g->o.per_ip_limit > 0 && peer && sg_addr_from_sockaddr(peer, &a) == SG_OK &&
                  !sg_cidr_list_contains(g->o.exempt, g->o.exempt_count, &a);
    pthread_mutex_lock(&g->mu);
    t->next = g->all;
    if (g->all) g->all->prev = t;
    g->all = t;
    t->phase = SG_CONN_HEAD;
    if (g->o.head_timeout_ms) t->deadline_ms = sg_clock_mono_ms() + g->o.head_timeout_ms;
    if (capped) {
        uint8_t key[SG_ADDR_KEY_BYTES];
        sg_addr_key(&a, g->o.ipv6_prefix, key);
        t->count = count_for(g, key);
        if (t->count && ++t->count->n > g->o.per_ip_limit) {
            shut(t);
            sg_counter_inc(g->over_cap);
            unsigned long long held = 0;
            if (sg_log_limit(&cap_log, 10000, &held)) {
                char ip[SG_ADDR_STRLEN];
                SG_WARN("http", "connection_cap",
                        "ip=%s limit=%u suppressed=%llu hint=\"max-connections-per-ip\"",
                        sg_addr_format(&a, false, ip, sizeof ip), g->o.per_ip_limit, held);
            }
        }
    }
    pthread_mutex_unlock(&g->mu);
    return t;
}

void sg_conn_guard_close(sg_conn_guard *g, sg_conn_track *t)
{
    if (!t) return;
    pthread_mutex_lock(&g->mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        g->all = t->next;
    if (t->next) t->next->prev = t->prev;
    count_drop(g, t->count);
    pthread_mutex_unlock(&g->mu);
    free(t);
}

void sg_conn_guard_phase(sg_conn_guard *g, sg_conn_track *t, sg_conn_phase phase)
{
    if (!t) return;
    long long ms = phase == SG_CONN_HEAD ? g->o.head_timeout_ms
                   : phase == SG_CONN_BODY ? g->o.body_timeout_ms
                                           : 0;
    pthread_mutex_lock(&g->mu);
    t->phase = phase;
    t->deadline_ms = ms ? sg_clock_mono_ms() + ms : 0;
    pthread_mutex_unlock(&g->mu);
}
