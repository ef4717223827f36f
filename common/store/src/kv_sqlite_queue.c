/* SQLite backend: the durable work queue and the events table.
 *
 * A job is a row of sg_jobs. Taking it moves its visible_ms past now + lease and stamps a
 * random lease number; ack, retry and touch only act while that number is still on the row,
 * so a taker whose lease ran out and whose job was taken again cannot finish someone else's
 * delivery. A crashed taker's job becomes visible when its lease runs out.
 */
#include "kv_sqlite.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

typedef struct sq_job {
    sqlite3_int64 id;
    sqlite3_int64 lease;
} sq_job;

static sqlite_store *SS(sg_store *s)
{
    return s->impl;
}

sg_status sq_queue_open(sg_queue *q)
{
    (void)q; /* the table is shared by every queue */
    return SG_OK;
}

void sq_queue_close(sg_queue *q)
{
    (void)q;
}

/* Wakes this process's takers: a job was added or made visible again. */
static void jobs_added(sqlite_store *ss)
{
    pthread_mutex_lock(&ss->jmu);
    ss->jobs_added++;
    pthread_cond_broadcast(&ss->jcv);
    pthread_mutex_unlock(&ss->jmu);
}

/* Waits up to ms for a job to be added by this process since *seen was taken. */
static void wait_for_jobs(sqlite_store *ss, unsigned long long *seen, long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ss->jmu);
    while (ss->jobs_added == *seen)
        if (pthread_cond_timedwait(&ss->jcv, &ss->jmu, &ts) != 0) break;
    *seen = ss->jobs_added;
    pthread_mutex_unlock(&ss->jmu);
}

/* Whether a job of the queue is ready, read without taking the write lock (so idle takers
 * polling never hold up writers). Caller holds mu. */
static sg_status job_ready(sg_queue *q, long long now, bool *ready)
{
    sqlite_store *ss = SS(q->store);
    sqlite3_stmt *st = sq_stmt(ss, Q_JOB_READY);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, q->full, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq_fail(ss, rc, "look for jobs");
    *ready = rc == SQLITE_ROW;
    return SG_OK;
}

sg_status sq_enqueue(sg_queue *q, const char *payload, size_t len)
{
    sqlite_store *ss = SS(q->store);
    pthread_mutex_lock(&ss->mu);
    sqlite3_stmt *st = sq_stmt(ss, Q_JOB_ADD);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        sqlite3_bind_text(st, 1, q->full, -1, SQLITE_STATIC);
        sqlite3_bind_text64(st, 2, payload, (sqlite3_uint64)len, SQLITE_STATIC, SQLITE_UTF8);
        sqlite3_bind_int64(st, 3, sg_kv_now_ms());
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) res = sq_fail(ss, rc, "enqueue");
    }
    if (!res) sq_maybe_sweep(q->store);
    pthread_mutex_unlock(&ss->mu);
    if (!res) jobs_added(ss);
    return res;
}

/* One attempt: SG_OK with the job filled, SG_E_NOT_FOUND when none is ready. */
static sg_status take_once(sg_queue *q, sg_job *j)
{
    sqlite_store *ss = SS(q->store);
    long long now = sg_kv_now_ms();
    bool ready = false;
    pthread_mutex_lock(&ss->mu);
    sg_status res = job_ready(q, now, &ready);
    if (res || !ready) {
        pthread_mutex_unlock(&ss->mu);
        return res ? res : SG_E_NOT_FOUND;
    }
    sqlite3_int64 lease = 0;
    while (lease == 0)
        randombytes_buf(&lease, sizeof lease);
    if (lease < 0) lease = -(lease + 1);
    if (lease == 0) lease = 1;

    res = sq_begin(ss, true);
    sqlite3_int64 id = 0;
    if (!res) {
        sqlite3_stmt *st = sq_stmt(ss, Q_JOB_NEXT);
        if (!st) {
            res = SG_E_IO;
        } else {
            sqlite3_bind_text(st, 1, q->full, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, now);
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                id = sqlite3_column_int64(st, 0);
                int n = sqlite3_column_bytes(st, 1);
                j->payload = malloc((size_t)n + 1);
                if (!j->payload) {
                    res = sg_fail(SG_E_NOMEM, "store: out of memory");
                } else {
                    memcpy(j->payload, sqlite3_column_text(st, 1), (size_t)n);
                    j->payload[n] = '\0';
                    j->len = (size_t)n;
                    j->attempts = sqlite3_column_int(st, 2) + 1;
                }
            } else if (rc == SQLITE_DONE) {
                res = SG_E_NOT_FOUND;
            } else {
                res = sq_fail(ss, rc, "take job");
            }
            sqlite3_reset(st);
        }
    }
    if (!res) {
        sqlite3_stmt *st = sq_stmt(ss, Q_JOB_LEASE);
        if (!st) {
            res = SG_E_IO;
        } else {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, now + q->opts.lease_ms);
            sqlite3_bind_int64(st, 3, lease);
            int rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE) res = sq_fail(ss, rc, "lease job");
        }
    }
    res = res ? (sq_rollback(ss), res) : sq_commit(ss);
    pthread_mutex_unlock(&ss->mu);
    if (!res) {
        sq_job *sj = malloc(sizeof *sj);
        if (!sj) {
            res = sg_fail(SG_E_NOMEM, "store: out of memory");
        } else {
            sj->id = id;
            sj->lease = lease;
            j->impl = sj;
        }
    }
    if (res) {
        free(j->payload);
        j->payload = NULL;
    }
    return res;
}

sg_status sq_take(sg_queue *q, long long wait_ms, sg_job *j)
{
    sqlite_store *ss = SS(q->store);
    long long deadline = sg_kv_now_ms() + wait_ms;
    pthread_mutex_lock(&ss->jmu);
    unsigned long long seen = ss->jobs_added;
    pthread_mutex_unlock(&ss->jmu);
    for (;;) {
        sg_status st = take_once(q, j);
        if (st != SG_E_NOT_FOUND) return st;
        long long left = deadline - sg_kv_now_ms();
        if (left <= 0) return SG_E_NOT_FOUND;
        /* A job of this process wakes the wait at once; one of another process sharing the
         * file is found by the next poll. */
        wait_for_jobs(ss, &seen, left < SQ_TAKE_POLL_MS ? left : SQ_TAKE_POLL_MS);
    }
}

/* Runs one of the lease-checked statements on the job's row. */
static sg_status job_exec(sg_job *j, sql_id id, long long visible_ms, const char *what)
{
    sqlite_store *ss = SS(j->queue->store);
    sq_job *sj = j->impl;
    if (!sj) return sg_fail(SG_E_INVALID, "store: job was already finished");
    pthread_mutex_lock(&ss->mu);
    sqlite3_stmt *st = sq_stmt(ss, id);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        sqlite3_bind_int64(st, 1, sj->id);
        sqlite3_bind_int64(st, 2, sj->lease);
        if (id != Q_JOB_ACK) sqlite3_bind_int64(st, 3, visible_ms);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            res = sq_fail(ss, rc, what);
        else if (sqlite3_changes(ss->db) == 0)
            res = sg_fail(SG_E_CONFLICT,
                          "store: cannot %s job: its lease ran out and another "
                          "taker holds it (or it is done)",
                          what);
    }
    pthread_mutex_unlock(&ss->mu);
    return res;
}

sg_status sq_ack(sg_job *j)
{
    sg_status st = job_exec(j, Q_JOB_ACK, 0, "acknowledge");
    if (st != SG_E_INVALID) {
        free(j->impl);
        j->impl = NULL;
    }
    return st;
}

sg_status sq_retry(sg_job *j, long long delay_ms)
{
    sg_status st = job_exec(j, Q_JOB_RETRY, sg_kv_now_ms() + delay_ms, "retry");
    if (st == SG_OK && delay_ms <= 0) jobs_added(SS(j->queue->store));
    if (st != SG_E_INVALID) {
        free(j->impl);
        j->impl = NULL;
    }
    return st;
}

sg_status sq_touch(sg_job *j)
{
    return job_exec(j, Q_JOB_TOUCH, sg_kv_now_ms() + j->queue->opts.lease_ms, "extend");
}

void sq_job_free(sg_job *j)
{
    free(j->impl);
    j->impl = NULL;
}

/* ---- events ------------------------------------------------------------------------------- */

typedef struct sq_sub {
    sqlite3_int64 last_id;
} sq_sub;

sg_status sq_publish(sg_store *s, const char *kind, const char *json, size_t len)
{
    sqlite_store *ss = SS(s);
    pthread_mutex_lock(&ss->mu);
    sqlite3_stmt *st = sq_stmt(ss, Q_EVENT_ADD);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        sqlite3_bind_text(st, 1, s->opts.app, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, sg_kv_now_ms());
        sqlite3_bind_text64(st, 4, json, (sqlite3_uint64)len, SQLITE_STATIC, SQLITE_UTF8);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) res = sq_fail(ss, rc, "publish event");
    }
    if (!res) sq_maybe_sweep(s);
    pthread_mutex_unlock(&ss->mu);
    return res;
}

sg_status sq_subscribe(sg_event_sub *sub)
{
    sqlite_store *ss = SS(sub->store);
    sq_sub *q = calloc(1, sizeof *q);
    if (!q) return sg_fail(SG_E_NOMEM, "store: out of memory");
    if (sub->from) { /* the history after a position: no need to ask where it ends */
        q->last_id = (sqlite3_int64)sub->after;
        sub->impl = q;
        return SG_OK;
    }
    pthread_mutex_lock(&ss->mu);
    sqlite3_stmt *st = sq_stmt(ss, Q_EVENT_MAX);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            q->last_id = sqlite3_column_int64(st, 0);
        else
            res = sq_fail(ss, rc, "subscribe");
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&ss->mu);
    if (res) {
        free(q);
        return res;
    }
    sub->impl = q;
    return SG_OK;
}

static sg_status poll_event(sg_event_sub *sub, char **kind, char **json)
{
    sqlite_store *ss = SS(sub->store);
    sq_sub *q = sub->impl;
    pthread_mutex_lock(&ss->mu);
    sqlite3_stmt *st = sq_stmt(ss, sub->kind ? Q_EVENT_NEXT_KIND : Q_EVENT_NEXT);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        sqlite3_bind_int64(st, 1, q->last_id);
        sqlite3_bind_text(st, 2, sub->store->opts.app, -1, SQLITE_STATIC);
        if (sub->kind) sqlite3_bind_text(st, 3, sub->kind, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *kind = strdup((const char *)sqlite3_column_text(st, 1));
            *json = strdup((const char *)sqlite3_column_text(st, 2));
            if (!*kind || !*json) {
                free(*kind);
                free(*json);
                *kind = *json = NULL;
                res = sg_fail(SG_E_NOMEM, "store: out of memory");
            } else {
                q->last_id = sqlite3_column_int64(st, 0);
                sub->pos = (uint64_t)q->last_id;
            }
        } else if (rc != SQLITE_DONE) {
            res = sq_fail(ss, rc, "read events");
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&ss->mu);
    return res;
}

sg_status sq_event_next(sg_event_sub *sub, long long timeout_ms, char **kind, char **json)
{
    long long deadline = sg_kv_now_ms() + timeout_ms;
    for (;;) {
        sg_status st = poll_event(sub, kind, json);
        if (st || *json) return st;
        long long left = deadline - sg_kv_now_ms();
        if (left <= 0) return sg_fail(SG_E_TIMEOUT, "store: no event within %lld ms", timeout_ms);
        sg_kv_sleep_ms(left < SQ_POLL_MS ? left : SQ_POLL_MS);
    }
}

void sq_sub_free(sg_event_sub *sub)
{
    free(sub->impl);
    sub->impl = NULL;
}
