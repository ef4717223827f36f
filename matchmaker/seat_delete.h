/* seatgate matchmaker: deleting a seat, the one way the flow and the janitor share.
 *
 * sg_seat_delete (the connect flow, loop thread): queues a durable delete job, which the
 * janitor's workers run; when the store cannot take the job, deletes directly through the
 * orchestrator, retried on the loop (at most SG_SEAT_DELETE_DIRECT_TRIES attempts).
 * sg_seat_delete_retry_ms: the delay before the next attempt of a failed delete, for the
 * janitor's queued jobs and the flow's direct deletes alike.
 */
#ifndef SEATGATE_MM_SEAT_DELETE_H
#define SEATGATE_MM_SEAT_DELETE_H

#include "loop.h"
#include "metrics.h"
#include "platform/orchestrator.h"
#include "seatgate/ledger.h"
#include "workpool.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_SEAT_DELETE_DIRECT_TRIES 5
#define SG_SEAT_DELETE_DIRECT_MAX_MS 16000

/* What a delete needs; borrowed, alive as long as deletes may run. */
typedef struct sg_seat_deleter {
    sg_loop *loop;
    sg_workpool *pool;
    sg_ledger *ledger;
    sg_orchestrator *orch;
    const char *instance;       /* requested_by in the job */
    sg_counter *queued, *direct; /* deletes queued, direct attempts */
} sg_seat_deleter;

/* Deletes seat_id for `reason`. The create intent `marker` (NULL or "": none) is
 * acknowledged once the delete is queued (the job covers the seat from then on). Loop thread.
 * Never fails: a delete that cannot be done is logged (session_delete_failed) and left to
 * the reconciler and the reaper. */
void sg_seat_delete(const sg_seat_deleter *d, const char *seat_id, const char *marker,
                    const char *reason);

/* 1 s after the first failed attempt, doubling per attempt (sg_backoff_ms), at most max_ms
 * (<= 0: 64 s); at least what a rate-limited answer asked for (r may be NULL). */
long long sg_seat_delete_retry_ms(int attempts, long long max_ms, const sg_orch_result *r);

#ifdef __cplusplus
}
#endif
#endif
