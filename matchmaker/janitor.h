/* seatgate matchmaker: background cleanup, safe with several matchmaker replicas.
 *
 * Delete workers take jobs from the store's durable session_deletes queue (enqueued by the
 * connect flow, the reaper and game servers' hooks), DELETE the Edgegap session, and on
 * success (deleted, 404 or 410) acknowledge the job and remove the session record. A failed
 * delete is retried with backoff (Retry-After honoured); a worker that dies mid-job loses
 * nothing: the job's lease runs out and another worker takes it.
 *
 * The reaper scans the sessions bucket every interval: it lists ids and revisions and reads
 * only the records new or changed since its last pass (reap_index.h). A record still unclaimed
 * after its claim deadline is marked released (compare-and-set on its revision, so exactly one
 * replica wins) and its delete is queued. A released record whose delete has not removed it
 * within a few minutes gets its delete queued again. Claimed records are counted.
 *
 * The reconciler (reconcile.h, on by default) deletes the sessions of create intents left
 * behind: a create whose answer was lost, or a crash between the create and the record.
 *
 * The orphan sweep (optional) lists the backend's sessions and deletes those that have no
 * record in two consecutive sweeps: a create whose answer was lost (a timeout after Edgegap
 * acted, a crash between create and record) leaves such a session. It assumes every session
 * of the Edgegap organisation is created through seatgate with this store.
 */
#ifndef SEATGATE_MM_JANITOR_H
#define SEATGATE_MM_JANITOR_H

#include "seatgate/ledger.h"
#include "metrics.h"
#include "platform/orchestrator.h"
#include "reconcile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_janitor_options {
    sg_ledger *ledger;            /* borrowed */
    sg_orchestrator *orch;        /* borrowed */
    sg_metrics *metrics;          /* borrowed */
    unsigned delete_workers;      /* threads taking delete jobs (0: none) */
    long long reap_interval_ms;   /* 0: no reaper */
    long long retry_max_ms;       /* longest delay between attempts of one delete */
    long long stuck_after_ms;     /* released records older than this get their delete re-queued */
    long long server_stale_ms;    /* claimed by a server silent this long: released (0: never) */
    long long orphan_interval_ms; /* 0: no orphan sweep */
    long long reconcile_interval_ms; /* 0: create intents are not reconciled here */
    long long reconcile_lease_ms;    /* a claim on an intent lapses after this (0: 60 s) */
    const char *instance;            /* copied; written into jobs the reaper queues */
} sg_janitor_options;

typedef struct sg_janitor sg_janitor;

/* Starts the threads. Errors: SG_E_INVALID, SG_E_NOMEM, SG_E_IO. */
sg_status sg_janitor_start(const sg_janitor_options *o, sg_janitor **out);
/* Stops and joins the threads (a delete in progress finishes first). NULL is fine. */
void sg_janitor_stop(sg_janitor *j);

/* One reaper pass now, on the calling thread (tests; the thread does the same). Returns the
 * number of sessions it queued for deletion. */
size_t sg_janitor_reap_once(sg_janitor *j);

/* One orphan sweep now, on the calling thread. Returns the number of deletes it queued. */
size_t sg_janitor_sweep_orphans(sg_janitor *j);

/* One reconciliation pass of create intents now (reconcile.h). Returns the deletes queued. */
size_t sg_janitor_reconcile_once(sg_janitor *j);

#ifdef __cplusplus
}
#endif
#endif
