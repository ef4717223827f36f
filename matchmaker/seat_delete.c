/* Deleting a seat: the durable queue first, directly when the store is down (seat_delete.h). */
#include "seat_delete.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/clock.h"
#include "seatgate/log.h"

long long sg_seat_delete_retry_ms(int attempts, long long max_ms, const sg_orch_result *r)
{
    long long delay = sg_backoff_ms(1000, max_ms > 0 ? max_ms : 64000, attempts);
    if (r && r->status == SG_E_RATE_LIMITED && r->retry_after_ms > delay)
        delay = r->retry_after_ms;
    return delay;
}

typedef struct delete_req {
    sg_seat_deleter d; /* copied: the caller's struct may be on its stack */
    char seat_id[SG_SEAT_ID_MAX];
    char marker[SG_INTENT_MARKER_LEN + 1]; /* intent to acknowledge once queued ("" none) */
    char reason[64];
    int attempts; /* direct attempts made */
    bool deleted;
    sg_orch_result last;
    sg_timer retry;
} delete_req;

static void direct_delete(void *arg);

static void direct_done_on_loop(void *arg)
{
    delete_req *q = arg;
    if (q->deleted) {
        free(q);
        return;
    }
    if (q->attempts >= SG_SEAT_DELETE_DIRECT_TRIES) {
        SG_ERROR("flow", "session_delete_failed", "session_id=%s reason=%s tries=%d", q->seat_id,
                 q->reason, q->attempts);
        free(q);
        return;
    }
    sg_timer_init(&q->retry, direct_delete, q);
    sg_loop_timer_start(q->d.loop, &q->retry,
                        sg_seat_delete_retry_ms(q->attempts, SG_SEAT_DELETE_DIRECT_MAX_MS,
                                                &q->last));
}

static void direct_released(const sg_orch_result *r, void *user)
{
    delete_req *q = user;
    q->last = *r;
    if (r->status == SG_OK) {
        SG_INFO("flow", "session_deleted", "session_id=%s reason=%s via=direct", q->seat_id,
                q->reason);
        q->deleted = true;
    }
    if (sg_loop_post(q->d.loop, direct_done_on_loop, q) != SG_OK) free(q);
}

static void direct_delete(void *arg)
{
    delete_req *q = arg;
    q->attempts++;
    sg_counter_inc(q->d.direct);
    q->d.orch->ops->release_seat(q->d.orch->self, q->seat_id, direct_released, q);
}

static void enqueue_failed_on_loop(void *arg)
{
    direct_delete(arg);
}

/* A pool thread. */
static void enqueue_job(void *arg)
{
    delete_req *q = arg;
    sg_status st = sg_ledger_enqueue_delete(q->d.ledger, q->seat_id, q->reason, q->d.instance);
    if (st == SG_OK) {
        sg_counter_inc(q->d.queued);
        /* The durable delete covers the session now: its create intent is done. */
        if (q->marker[0]) sg_ledger_ack_intent(q->d.ledger, q->marker);
        free(q);
        return;
    }
    SG_WARN("flow", "delete_enqueue_failed", "session_id=%s error=%s fallback=direct", q->seat_id,
            sg_status_name(st));
    if (sg_loop_post(q->d.loop, enqueue_failed_on_loop, q) != SG_OK) free(q);
}

void sg_seat_delete(const sg_seat_deleter *d, const char *seat_id, const char *marker,
                    const char *reason)
{
    delete_req *q = calloc(1, sizeof *q);
    if (!q) {
        SG_ERROR("flow", "session_delete_failed", "session_id=%s error=nomem", seat_id);
        return;
    }
    q->d = *d;
    snprintf(q->seat_id, sizeof q->seat_id, "%s", seat_id);
    snprintf(q->marker, sizeof q->marker, "%s", marker ? marker : "");
    snprintf(q->reason, sizeof q->reason, "%s", reason);
    if (sg_workpool_submit(d->pool, enqueue_job, q) != SG_OK) direct_delete(q);
}
