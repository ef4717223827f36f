/* Delete workers and the unclaimed-session reaper. */
#include "janitor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* A claimed session whose game server has stopped heartbeating (crashed, killed, lost) holds
 * nobody: Edgegap ends a dead deployment's sessions, and the record must not claim it. A
 * store error is not proof of anything: the session is left alone. */
static bool server_gone(sg_janitor *j, const sg_session_record *r, long long now)
{
    if (j->o.server_stale_ms <= 0 || !r->claimed_by_fqdn[0]) return false;
    long long heartbeat = 0;
    sg_status st = sg_ledger_server_heartbeat(j->o.ledger, r->claimed_by_fqdn, &heartbeat);
    if (st == SG_E_NOT_FOUND) return r->claimed_at + j->o.server_stale_ms < now;
    return st == SG_OK && heartbeat + j->o.server_stale_ms < now;
}

typedef struct reap_pass {
    sg_janitor *j;
    long long now;
    size_t queued;
    int64_t claimed, unclaimed;
} reap_pass;

static sg_status reap_one(void *arg, const sg_session_record *rec, uint64_t rev)
{
    reap_pass *p = arg;
    sg_janitor *j = p->j;
    if (atomic_load(&j->stop)) return SG_E_UNAVAILABLE;
    sg_session_record r = *rec;
    long long now = p->now;
    const char *reason = NULL;
    if (r.state == SG_SESSION_CLAIMED) {
        p->claimed++;
        if (server_gone(j, &r, now)) reason = "server_gone";
    } else if (r.state == SG_SESSION_UNCLAIMED) {
        p->unclaimed++;
        if (r.claim_deadline < now) reason = "claim_expired";
    } else if (r.state == SG_SESSION_RELEASED && r.released_at > 0 &&
               r.released_at + j->o.stuck_after_ms < now) {
        reason = "delete_stuck";
    }
    if (!reason) return SG_OK;
    const char *why = reason;
    if (r.state == SG_SESSION_UNCLAIMED || r.state == SG_SESSION_CLAIMED) {
        r.state = SG_SESSION_RELEASED;
        snprintf(r.release_reason, sizeof r.release_reason, "%s", reason);
    }
    r.released_at = now;
    /* Compare-and-set: of several replicas, one wins and queues the delete. */
    if (sg_ledger_update_session(j->o.ledger, &r, rev) != SG_OK) return SG_OK;
    if (sg_ledger_enqueue_delete(j->o.ledger, r.session_id, why, j->instance) != SG_OK)
        return SG_OK; /* released_at moved: the stuck rule retries it later */
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
    return SG_OK;
}

/* One pass over every session record, read in one walk (not one read per session). */
size_t sg_janitor_reap_once(sg_janitor *j)
{
    reap_pass p = {.j = j, .now = sg_clock_wall_ms()};
    sg_status st = sg_ledger_each_session(j->o.ledger, reap_one, &p, NULL);
    if (st != SG_OK && st != SG_E_UNAVAILABLE) {
        SG_WARN("janitor", "reap_skipped", "error=%s", sg_status_name(st));
        return p.queued;
    }
    if (st == SG_OK) {
        sg_gauge_set(j->claimed, p.claimed);
        sg_gauge_set(j->unclaimed, p.unclaimed);
    }
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
    if (!j->instance || !j->workers) {
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
    free(j->workers);
    free(j->instance);
    free(j);
}
