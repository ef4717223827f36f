/* The live game servers, read from the gameserver bucket by a thread (see fleet.h). */
#include "fleet.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/clock.h"
#include "seatgate/log.h"

typedef struct entry {
    sg_gameserver_record r;
    int handed; /* seats this matchmaker gave it that still count */
} entry;

typedef struct held {
    char server[SG_REC_ID_MAX];
    long long until; /* unix ms */
    bool full;       /* the platform refused a seat there: full until then */
} held;

struct sg_fleet {
    sg_fleet_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t thread;
    entry *table; /* the last read */
    size_t n;
    long long read_at; /* unix ms of the last good read */
    /* the read in progress (reader thread only) */
    entry *next;
    size_t next_n, next_cap;
    held *held; /* seats handed out, oldest first */
    size_t held_n, held_cap;
};

/* Drops the seats whose hold is over (locked). */
static void expire_held(sg_fleet *f, long long now)
{
    size_t k = 0;
    while (k < f->held_n && f->held[k].until <= now)
        k++;
    if (k) {
        memmove(f->held, f->held + k, (f->held_n - k) * sizeof *f->held);
        f->held_n -= k;
    }
}

/* Each entry's seats handed out that still count (locked). */
static void count_held(sg_fleet *f)
{
    for (size_t i = 0; i < f->n; i++) {
        entry *e = &f->table[i];
        e->handed = 0;
        for (size_t k = 0; k < f->held_n; k++) {
            if (strcmp(f->held[k].server, e->r.request_id) != 0) continue;
            if (f->held[k].full) {
                e->handed = e->r.capacity > e->r.players ? e->r.capacity - e->r.players : 0;
                break;
            }
            e->handed++;
        }
    }
}

static void collect(void *arg, const sg_gameserver_record *r)
{
    sg_fleet *f = arg;
    if (f->next_n == f->next_cap) {
        size_t cap = f->next_cap ? f->next_cap * 2 : 64;
        entry *n = realloc(f->next, cap * sizeof *n);
        if (!n) return; /* a shorter table this time */
        f->next = n;
        f->next_cap = cap;
    }
    f->next[f->next_n++] = (entry){.r = *r};
}

static sg_status read_once(sg_fleet *f)
{
    f->next_n = 0;
    size_t skipped = 0;
    sg_status st = sg_ledger_each_server(f->o.ledger, collect, f, &skipped);
    if (st != SG_OK) return st;
    if (skipped) SG_DEBUG("fleet", "records_skipped", "count=%zu", skipped);
    entry *copy = f->next_n ? malloc(f->next_n * sizeof *copy) : NULL;
    if (f->next_n && !copy) return SG_E_NOMEM;
    if (copy) memcpy(copy, f->next, f->next_n * sizeof *copy);
    pthread_mutex_lock(&f->mu);
    free(f->table);
    f->table = copy;
    f->n = f->next_n;
    f->read_at = sg_clock_wall_ms();
    expire_held(f, f->read_at);
    count_held(f);
    pthread_mutex_unlock(&f->mu);
    return SG_OK;
}

/* Appends a held seat (locked); dropped when out of memory (the server looks emptier). */
static void hold(sg_fleet *f, const char *server, long long now, bool full)
{
    if (f->held_n == f->held_cap) {
        size_t cap = f->held_cap ? f->held_cap * 2 : 64;
        held *h = realloc(f->held, cap * sizeof *h);
        if (!h) return;
        f->held = h;
        f->held_cap = cap;
    }
    held *h = &f->held[f->held_n++];
    snprintf(h->server, sizeof h->server, "%s", server);
    h->until = now + f->o.hold_ms;
    h->full = full;
}

void sg_fleet_refused(sg_fleet *f, const char *server_id)
{
    pthread_mutex_lock(&f->mu);
    hold(f, server_id, sg_clock_wall_ms(), true);
    count_held(f);
    pthread_mutex_unlock(&f->mu);
}

static void *reader(void *arg)
{
    sg_fleet *f = arg;
    pthread_setname_np(pthread_self(), "sg-fleet");
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        struct timespec until = sg_clock_deadline(f->o.refresh_ms);
        pthread_cond_timedwait(&f->cv, &f->mu, &until);
        if (f->stop) break;
        pthread_mutex_unlock(&f->mu);
        sg_status st = read_once(f);
        if (st != SG_OK)
            SG_WARN("fleet", "read_failed", "status=%s hint=\"placement decides over the last "
                    "table read until the store answers\"", sg_status_name(st));
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

sg_status sg_fleet_start(const sg_fleet_options *o, sg_fleet **out)
{
    *out = NULL;
    sg_fleet *f = calloc(1, sizeof *f);
    if (!f) return sg_fail(SG_E_NOMEM, "out of memory");
    f->o = *o;
    if (f->o.refresh_ms <= 0) f->o.refresh_ms = 1000;
    if (f->o.hold_ms <= 0) f->o.hold_ms = 60000;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL); /* sg_clock_deadline is on the wall clock */
    sg_status st = read_once(f);
    if (st != SG_OK)
        SG_WARN("fleet", "read_failed", "status=%s hint=\"no game server is known yet\"",
                sg_status_name(st));
    if (pthread_create(&f->thread, NULL, reader, f) != 0) {
        sg_fleet_stop(f);
        return sg_fail(SG_E_IO, "fleet: cannot start its thread");
    }
    *out = f;
    return SG_OK;
}

void sg_fleet_stop(sg_fleet *f)
{
    if (!f) return;
    if (f->thread) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
    }
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->table);
    free(f->next);
    free(f->held);
    free(f);
}

static sg_place_server view_of(const entry *e)
{
    const sg_gameserver_record *r = &e->r;
    return (sg_place_server){
        .id = r->request_id,
        .city = r->has_location ? r->location.city : "",
        .has_coords = r->has_location && r->location.has_coords,
        .latitude = r->location.latitude,
        .longitude = r->location.longitude,
        .players = r->players + e->handed,
        .capacity = r->capacity,
        .heartbeat_at = r->heartbeat_at,
    };
}

void sg_fleet_place(sg_fleet *f, const sg_place_options *o, const sg_place_player *p,
                    sg_fleet_choice *out)
{
    memset(out, 0, sizeof *out);
    sg_place_options opt = *o;
    if (!opt.now_ms) opt.now_ms = sg_clock_wall_ms();
    pthread_mutex_lock(&f->mu);
    if (f->held_n && f->held[0].until <= opt.now_ms) {
        expire_held(f, opt.now_ms);
        count_held(f);
    }
    size_t n = f->n;
    sg_place_server *views = n ? malloc(n * sizeof *views) : NULL;
    if (n && !views) n = 0; /* out of memory: decide over nothing (the platform's choice) */
    for (size_t i = 0; i < n; i++)
        views[i] = view_of(&f->table[i]);
    sg_place_decide(&opt, p, views, n, &out->d);
    out->servers = n;
    if (out->d.kind == SG_PLACE_JOIN) {
        entry *e = &f->table[out->d.server];
        e->handed++;
        hold(f, e->r.request_id, opt.now_ms, false);
        snprintf(out->server_id, sizeof out->server_id, "%s", e->r.request_id);
        snprintf(out->location, sizeof out->location, "%s",
                 e->r.has_location ? e->r.location.city : "");
    }
    pthread_mutex_unlock(&f->mu);
    free(views);
}
