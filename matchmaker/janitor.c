/* Delete workers and the unclaimed-session reaper. */
#include "janitor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "reap_index.h"
#include "seat_delete.h"
#include "seatgate/clock.h"
#include "seatgate/log.h"

struct sg_janitor {
    sg_janitor_options o;
    char *instance;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* stop signal and release completions */
    pthread_t *workers;
    unsigned nworkers;
    pthread_t reaper;
    bool reaper_running;
    sg_counter *deleted, *delete_failed, *reaped, *requeued, *orphans;
    char **suspects; /* seat ids seen without a record in the last orphan sweep */
    size_t nsuspects;
    sg_gauge *claimed, *unclaimed;
    sg_reconciler *reconciler;
    sg_reap_index *known; /* the reaper's facts of each session record */
    unsigned long passes;
    uint64_t listed_max; /* the highest revision the last pass listed */
};

/* Sleeps up to ms unless stopping; returns false when stopping. */
static bool nap(sg_janitor *j, long long ms)
{
    struct timespec until = sg_clock_deadline(ms);
    pthread_mutex_lock(&j->mu);
    while (!atomic_load(&j->stop)) {
        if (pthread_cond_timedwait(&j->cv, &j->mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&j->mu);
    return !atomic_load(&j->stop);
}

/* ---- delete workers ---- */

typedef struct release_wait {
    sg_janitor *j;
    bool done;
    sg_orch_result r;
} release_wait;

static void released(const sg_orch_result *r, void *user)
{
    release_wait *w = user;
    pthread_mutex_lock(&w->j->mu);
    w->r = *r;
    w->done = true;
    pthread_cond_broadcast(&w->j->cv);
    pthread_mutex_unlock(&w->j->mu);
}

static sg_orch_result release_blocking(sg_janitor *j, const char *session_id)
{
    release_wait w = {.j = j};
    j->o.orch->ops->release_seat(j->o.orch->self, session_id, released, &w);
    pthread_mutex_lock(&j->mu);
    /* The orchestrator always calls back (at the latest when it is destroyed, which happens
     * after the janitor stops), so waiting without a timeout is safe. */
    while (!w.done)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    return w.r;
}

static void *delete_worker(void *arg)
{
    sg_janitor *j = arg;
    pthread_setname_np(pthread_self(), "sg-delete");
    while (!atomic_load(&j->stop)) {
        sg_job *job = NULL;
        sg_delete_job d;
        sg_status st = sg_ledger_take_delete(j->o.ledger, 500, &job, &d);
        char q[512];
        if (st == SG_E_MALFORMED) {
            SG_WARN("janitor", "delete_job_unreadable", "error=%s",
                    sg_log_quote(sg_last_error(), q, sizeof q));
            continue;
        }
        if (st != SG_OK) {
            /* The store's messages name the server and the call, never credentials. */
            SG_WARN("janitor", "delete_queue_unavailable", "error=%s message=%s",
                    sg_status_name(st), sg_log_quote(sg_last_error(), q, sizeof q));
            nap(j, 1000);
            continue;
        }
        if (!job) continue;
        sg_orch_result r = release_blocking(j, d.session_id);
        if (r.status == SG_OK) {
            sg_job_ack(job);
            sg_status ds = sg_ledger_delete_session(j->o.ledger, d.session_id);
            sg_counter_inc(j->deleted);
            SG_INFO("janitor", "session_deleted", "session_id=%s reason=%s attempts=%d record=%s",
                    d.session_id, d.reason, sg_job_attempts(job),
                    ds == SG_OK ? "removed" : sg_status_name(ds));
        } else {
            int attempts = sg_job_attempts(job);
            long long delay = sg_seat_delete_retry_ms(attempts, j->o.retry_max_ms, &r);
            sg_job_retry(job, delay);
            sg_counter_inc(j->delete_failed);
            SG_WARN("janitor", "session_delete_retry",
                    "session_id=%s status=%s http=%d attempts=%d "
                    "retry_ms=%lld",
                    d.session_id, sg_status_name(r.status), r.http_status, attempts, delay);
        }
        sg_job_free(job);
    }
    return NULL;
}

/* ---- reaper ---- */

/* The heartbeats of the servers that claim sessions, each read once per pass. */
typedef struct beat {
    struct beat *next;
    sg_status st;
    long long at;
    char fqdn[];
} beat;

#define BEAT_CHAINS 256

typedef struct beats {
    beat *chain[BEAT_CHAINS];
    uint8_t key[crypto_shorthash_KEYBYTES];
} beats;

static void beats_free(beats *b)
{
    for (size_t i = 0; i < BEAT_CHAINS; i++)
        for (beat *x = b->chain[i], *next; x; x = next) {
            next = x->next;
            free(x);
        }
}

/* Whether the server's last heartbeat is known, and when (SG_E_NOT_FOUND: none recorded). */
static sg_status heartbeat_of(sg_janitor *j, beats *b, const char *fqdn, long long *at)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)fqdn, strlen(fqdn), b->key);
    beat **chain = &b->chain[h[0]];
    for (beat *x = *chain; x; x = x->next)
        if (strcmp(x->fqdn, fqdn) == 0) {
            *at = x->at;
            return x->st;
        }
    sg_status st = sg_ledger_server_heartbeat(j->o.ledger, fqdn, at);
    size_t n = strlen(fqdn) + 1;
    beat *x = malloc(sizeof *x + n);
    if (x) { /* without memory it is simply read again */
        x->st = st;
        x->at = *at;
        memcpy(x->fqdn, fqdn, n);
        x->next = *chain;
        *chain = x;
    }
    return st;
}

/* Why the record whose facts are these must go now, or NULL. A claimed session whose game
 * server has stopped heartbeating (crashed, killed, lost) holds nobody: Edgegap ends a dead
 * deployment's sessions, and the record must not claim it. A store error is not proof of
 * anything: the session is left alone. */
static const char *reap_reason(sg_janitor *j, beats *b, const sg_reap_fact *f, long long now)
{
    if (!f->readable) return NULL;
    if (f->state == SG_SESSION_CLAIMED) {
        if (j->o.server_stale_ms <= 0 || !f->server) return NULL;
        long long heartbeat = 0;
        sg_status st = heartbeat_of(j, b, f->server, &heartbeat);
        if (st == SG_E_NOT_FOUND)
            return f->claimed_at + j->o.server_stale_ms < now ? "server_gone" : NULL;
        return st == SG_OK && heartbeat + j->o.server_stale_ms < now ? "server_gone" : NULL;
    }
    if (f->state == SG_SESSION_UNCLAIMED) return f->claim_deadline < now ? "claim_expired" : NULL;
    if (f->state == SG_SESSION_RELEASED && f->released_at > 0 &&
        f->released_at + j->o.stuck_after_ms < now)
        return "delete_stuck";
    return NULL;
}

typedef struct stale_id {
    uint64_t rev; /* as listed */
    char id[SG_REC_ID_MAX];
} stale_id;

typedef struct reap_pass {
    sg_janitor *j;
    long long now;
    unsigned long pass;
    size_t queued;
    uint64_t listed_max; /* the highest revision listed in this pass */
    int64_t claimed, unclaimed;
    stale_id *stale; /* listed at a revision other than the one known */
    size_t nstale, cap;
    beats beats;
} reap_pass;

/* Listing: a record known at its listed revision is still what was read; others are noted. */
static sg_status note_revision(void *arg, const char *id, uint64_t rev)
{
    reap_pass *p = arg;
    if (atomic_load(&p->j->stop)) return SG_E_UNAVAILABLE;
    if (rev > p->listed_max) p->listed_max = rev;
    sg_reap_fact *f = sg_reap_index_find(p->j->known, id);
    if (f && f->rev == rev) {
        f->pass = p->pass;
        return SG_OK;
    }
    if (strlen(id) >= sizeof p->stale->id) return SG_OK; /* not a session id */
    if (p->nstale == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        stale_id *v = realloc(p->stale, cap * sizeof *v);
        if (!v) return sg_fail(SG_E_NOMEM, "janitor: out of memory");
        p->stale = v;
        p->cap = cap;
    }
    stale_id *x = &p->stale[p->nstale++];
    x->rev = rev;
    snprintf(x->id, sizeof x->id, "%s", id);
    return SG_OK;
}

/* Many records new or changed (the first pass, a burst of players): read them in one walk
 * rather than one read each. */
static sg_status learn_record(void *arg, const sg_session_record *r, uint64_t rev)
{
    reap_pass *p = arg;
    if (atomic_load(&p->j->stop)) return SG_E_UNAVAILABLE;
    if (!sg_reap_index_set(p->j->known, r->session_id, rev, r, p->pass))
        return sg_fail(SG_E_NOMEM, "janitor: out of memory");
    return SG_OK;
}

/* Reads the records listed at a revision not known yet. Many of them are read in one walk of
 * the records written after the last pass's listing: on SQLite that reads those alone; on NATS
 * it walks them all, so it is worth it there only when a quarter or more changed. A record
 * written while the last listing ran may be older than what it listed: it is read on its own
 * below, as are all of them when they are few. */
static sg_status read_stale(reap_pass *p)
{
    sg_janitor *j = p->j;
    size_t known = sg_reap_index_count(j->known);
    bool ranged = sg_store_reads_changes(sg_ledger_store(j->o.ledger));
    if (p->nstale > 256 && (ranged || p->nstale > known / 4)) {
        sg_status st =
            sg_ledger_each_session_since(j->o.ledger, j->listed_max, learn_record, p, NULL);
        if (st) return st;
    }
    for (size_t i = 0; i < p->nstale; i++) {
        if (atomic_load(&j->stop)) return SG_E_UNAVAILABLE;
        const stale_id *x = &p->stale[i];
        sg_reap_fact *f = sg_reap_index_find(j->known, x->id);
        if (f && f->pass == p->pass) continue; /* read by the walk */
        sg_session_record r;
        uint64_t rev = 0;
        sg_status st = sg_ledger_get_session(j->o.ledger, x->id, &r, &rev);
        if (st == SG_E_NOT_FOUND) continue; /* gone since the listing */
        if (st != SG_OK && st != SG_E_MALFORMED) return st;
        if (!sg_reap_index_set(j->known, x->id, st == SG_OK ? rev : x->rev, st == SG_OK ? &r : NULL,
                               p->pass))
            return sg_fail(SG_E_NOMEM, "janitor: out of memory");
    }
    return SG_OK;
}

/* Marks the record released for `why` and queues its delete, once it is read again and still
 * has to go: of several replicas, one wins the compare-and-set and queues the delete. */
static void reap(reap_pass *p, const sg_reap_fact *f, const char *why)
{
    sg_janitor *j = p->j;
    sg_session_record r;
    uint64_t rev = 0;
    if (sg_ledger_get_session(j->o.ledger, f->id, &r, &rev) != SG_OK || rev != f->rev)
        return; /* changed since: the next pass judges the new record */
    if (r.state == SG_SESSION_UNCLAIMED || r.state == SG_SESSION_CLAIMED) {
        r.state = SG_SESSION_RELEASED;
        snprintf(r.release_reason, sizeof r.release_reason, "%s", why);
    }
    r.released_at = p->now;
    if (sg_ledger_update_session(j->o.ledger, &r, rev) != SG_OK) return;
    if (sg_ledger_enqueue_delete(j->o.ledger, r.session_id, why, j->instance) != SG_OK)
        return; /* released_at moved: the stuck rule retries it later */
    p->queued++;
    if (strcmp(why, "server_gone") == 0) {
        p->claimed--;
        sg_counter_inc(j->reaped);
        SG_WARN("janitor", "session_server_gone", "session_id=%s server=%s", r.session_id,
                r.claimed_by_fqdn);
    } else if (strcmp(why, "claim_expired") == 0) {
        p->unclaimed--;
        sg_counter_inc(j->reaped);
        SG_INFO("janitor", "session_reaped", "session_id=%s ip=%s", r.session_id, r.player_ip);
    } else {
        sg_counter_inc(j->requeued);
        SG_WARN("janitor", "session_delete_requeued", "session_id=%s", r.session_id);
    }
}

static bool judge(void *arg, sg_reap_fact *f)
{
    reap_pass *p = arg;
    if (atomic_load(&p->j->stop)) return false;
    if (f->readable && f->state == SG_SESSION_CLAIMED) p->claimed++;
    if (f->readable && f->state == SG_SESSION_UNCLAIMED) p->unclaimed++;
    const char *why = reap_reason(p->j, &p->beats, f, p->now);
    if (why) reap(p, f, why);
    return true;
}

/* One pass over every session record: the ids and revisions are listed, the records new or
 * changed since the last pass are read, and every record is judged on what is known of it. */
size_t sg_janitor_reap_once(sg_janitor *j)
{
    reap_pass p = {.j = j, .now = sg_clock_wall_ms(), .pass = ++j->passes};
    randombytes_buf(p.beats.key, sizeof p.beats.key);
    sg_status st = sg_ledger_session_revisions(j->o.ledger, note_revision, &p);
    if (!st) st = read_stale(&p);
    if (st == SG_OK) {
        j->listed_max = p.listed_max;
        sg_reap_index_prune(j->known, p.pass);
        sg_reap_index_each(j->known, judge, &p);
        if (!atomic_load(&j->stop)) {
            sg_gauge_set(j->claimed, p.claimed);
            sg_gauge_set(j->unclaimed, p.unclaimed);
        }
    } else if (!atomic_load(&j->stop)) {
        SG_WARN("janitor", "reap_skipped", "error=%s", sg_status_name(st));
    }
    free(p.stale);
    beats_free(&p.beats);
    return p.queued;
}

/* ---- orphan sweep ---- */

typedef struct list_wait {
    sg_janitor *j;
    bool done;
    sg_orch_result r;
    char **ids;
    size_t count;
    bool has_next;
} list_wait;

static void listed(const sg_orch_result *r, const char *const *ids, size_t count, bool has_next,
                   void *user)
{
    list_wait *w = user;
    char **copy = count ? calloc(count, sizeof *copy) : NULL;
    size_t n = 0;
    for (size_t i = 0; copy && i < count; i++)
        if ((copy[n] = strdup(ids[i]))) n++;
    pthread_mutex_lock(&w->j->mu);
    w->r = *r;
    w->ids = copy;
    w->count = n;
    w->has_next = has_next;
    w->done = true;
    pthread_cond_broadcast(&w->j->cv);
    pthread_mutex_unlock(&w->j->mu);
}

static bool was_suspect(const sg_janitor *j, const char *id)
{
    for (size_t i = 0; i < j->nsuspects; i++)
        if (strcmp(j->suspects[i], id) == 0) return true;
    return false;
}

static void free_list(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

size_t sg_janitor_sweep_orphans(sg_janitor *j)
{
    if (!j->o.orch->ops->list_seats) return 0;
    char **next = NULL;
    size_t nnext = 0, cap = 0, queued = 0;
    bool complete = true;
    for (int page = 1; page <= 1000 && !atomic_load(&j->stop); page++) {
        list_wait w = {.j = j};
        j->o.orch->ops->list_seats(j->o.orch->self, page, listed, &w);
        pthread_mutex_lock(&j->mu);
        while (!w.done)
            pthread_cond_wait(&j->cv, &j->mu);
        pthread_mutex_unlock(&j->mu);
        if (w.r.status != SG_OK) {
            SG_WARN("janitor", "orphan_sweep_skipped", "status=%s", sg_status_name(w.r.status));
            complete = false;
            free_list(w.ids, w.count);
            break;
        }
        for (size_t i = 0; i < w.count; i++) {
            sg_session_record r;
            sg_status st = sg_ledger_get_session(j->o.ledger, w.ids[i], &r, NULL);
            if (st != SG_E_NOT_FOUND) {
                if (st != SG_OK && st != SG_E_MALFORMED) complete = false; /* store trouble */
                continue;
            }
            if (was_suspect(j, w.ids[i])) {
                if (sg_ledger_enqueue_delete(j->o.ledger, w.ids[i], "orphaned", j->instance) ==
                    SG_OK) {
                    queued++;
                    sg_counter_inc(j->orphans);
                    SG_WARN("janitor", "orphan_session", "session_id=%s", w.ids[i]);
                }
                continue;
            }
            if (nnext == cap) {
                cap = cap ? cap * 2 : 16;
                char **g = realloc(next, cap * sizeof *g);
                if (!g) continue;
                next = g;
            }
            next[nnext++] = w.ids[i];
            w.ids[i] = NULL;
        }
        free_list(w.ids, w.count);
        if (!w.has_next || !complete) break;
    }
    if (!complete) {
        /* Keep the old suspects: a partial view proves nothing. */
        free_list(next, nnext);
        return queued;
    }
    free_list(j->suspects, j->nsuspects);
    j->suspects = next;
    j->nsuspects = nnext;
    return queued;
}

size_t sg_janitor_reconcile_once(sg_janitor *j)
{
    return j->reconciler ? sg_reconciler_run_once(j->reconciler) : 0;
}

static void shortest(long long *interval, long long candidate)
{
    if (candidate > 0 && (*interval <= 0 || candidate < *interval)) *interval = candidate;
}

static void *reaper(void *arg)
{
    sg_janitor *j = arg;
    pthread_setname_np(pthread_self(), "sg-reaper");
    long long interval = 0;
    shortest(&interval, j->o.reap_interval_ms);
    shortest(&interval, j->o.orphan_interval_ms);
    shortest(&interval, j->o.reconcile_interval_ms);
    long long since_reap = 0, since_orphans = 0, since_reconcile = 0;
    while (nap(j, interval)) {
        since_reap += interval;
        since_orphans += interval;
        since_reconcile += interval;
        if (j->o.reconcile_interval_ms > 0 && since_reconcile >= j->o.reconcile_interval_ms) {
            since_reconcile = 0;
            sg_janitor_reconcile_once(j);
        }
        if (j->o.reap_interval_ms > 0 && since_reap >= j->o.reap_interval_ms) {
            since_reap = 0;
            sg_janitor_reap_once(j);
        }
        if (j->o.orphan_interval_ms > 0 && since_orphans >= j->o.orphan_interval_ms) {
            since_orphans = 0;
            sg_janitor_sweep_orphans(j);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

sg_status sg_janitor_start(const sg_janitor_options *o, sg_janitor **out)
{
    *out = NULL;
    if (!o->ledger || !o->orch || !o->metrics)
        return sg_fail(SG_E_INVALID, "janitor: ledger, orchestrator and metrics are required");
    sg_janitor *j = calloc(1, sizeof *j);
    if (!j) return sg_fail(SG_E_NOMEM, "janitor: out of memory");
    j->o = *o;
    if (j->o.retry_max_ms <= 0) j->o.retry_max_ms = 60000;
    if (j->o.stuck_after_ms <= 0) j->o.stuck_after_ms = 300000;
    j->instance = strdup(o->instance ? o->instance : "matchmaker");
    j->workers = calloc(o->delete_workers ? o->delete_workers : 1, sizeof *j->workers);
    j->known = sg_reap_index_new();
    if (!j->instance || !j->workers || !j->known) {
        sg_reap_index_free(j->known);
        free(j->instance);
        free(j->workers);
        free(j);
        return sg_fail(SG_E_NOMEM, "janitor: out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    sg_metrics *m = o->metrics;
    j->deleted = sg_metrics_counter(m, "seatgate_sessions_deleted_total",
                                    "Edgegap sessions deleted by the delete workers", NULL);
    j->delete_failed = sg_metrics_counter(m, "seatgate_session_delete_failures_total",
                                          "Delete attempts that failed and will be retried", NULL);
    j->reaped = sg_metrics_counter(
        m, "seatgate_sessions_reaped_total",
        "Sessions never claimed before their deadline, queued for deletion", NULL);
    j->orphans =
        sg_metrics_counter(m, "seatgate_sessions_orphaned_total",
                           "Sessions found at Edgegap without a record, queued for deletion", NULL);
    j->requeued = sg_metrics_counter(m, "seatgate_session_deletes_requeued_total",
                                     "Released sessions whose delete was queued again", NULL);
    j->claimed = sg_metrics_gauge(m, "seatgate_sessions_claimed",
                                  "Sessions claimed by a game server (last reaper scan)", NULL);
    j->unclaimed = sg_metrics_gauge(m, "seatgate_sessions_unclaimed",
                                    "Sessions not yet claimed (last reaper scan)", NULL);
    sg_reconciler_options ro = {.ledger = o->ledger,
                                .orch = o->orch,
                                .metrics = m,
                                .instance = j->instance,
                                .lease_ms = o->reconcile_lease_ms,
                                .stop = &j->stop};
    if (o->reconcile_interval_ms > 0 && o->orch->ops->inspect_seat) {
        sg_status st = sg_reconciler_new(&ro, &j->reconciler);
        if (st != SG_OK) {
            sg_janitor_stop(j);
            return st;
        }
    }
    for (unsigned i = 0; i < o->delete_workers; i++) {
        if (pthread_create(&j->workers[i], NULL, delete_worker, j) != 0) {
            sg_janitor_stop(j);
            return sg_fail(SG_E_IO, "janitor: cannot start a delete worker");
        }
        j->nworkers++;
    }
    if (o->reap_interval_ms > 0 || o->orphan_interval_ms > 0 || j->reconciler) {
        if (pthread_create(&j->reaper, NULL, reaper, j) != 0) {
            sg_janitor_stop(j);
            return sg_fail(SG_E_IO, "janitor: cannot start the reaper");
        }
        j->reaper_running = true;
    }
    *out = j;
    return SG_OK;
}

void sg_janitor_stop(sg_janitor *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    atomic_store(&j->stop, true);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    for (unsigned i = 0; i < j->nworkers; i++)
        pthread_join(j->workers[i], NULL);
    if (j->reaper_running) pthread_join(j->reaper, NULL);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free_list(j->suspects, j->nsuspects);
    sg_reconciler_free(j->reconciler);
    sg_reap_index_free(j->known);
    free(j->workers);
    free(j->instance);
    free(j);
}
