/* seatgate matchmaker: reconciling create intents (no leaked seat when a create answer is
 * lost or the matchmaker dies between the create and its record).
 *
 * The connect flow writes a create intent (session_intents) before every create and removes
 * it once the session is recorded, queued for deletion, or the create failed without
 * creating anything. An intent still there after its reconcile_after (the create call's
 * longest duration plus a grace period) means a session may exist whose id nobody learned.
 * One pass:
 *   1. claims the due intents (compare-and-set: one replica per intent; a claim lapses after
 *      the lease, so a replica that dies mid-pass loses nothing);
 *   2. lists the backend's seats (every page) and inspects those without a session record;
 *   3. deletes (durable delete queue, reason "reconciled") a seat that matches an intent:
 *      made for the intent's player IP, not known to be another game's, carrying the
 *      intent's marker when the backend echoes one (Edgegap: with a webhook), else created
 *      within the intent's window; and only if it still has no record right before the
 *      delete is queued;
 *   4. removes the intents once every seat was seen (an incomplete pass keeps them).
 * A seat with a record is never deleted here, so a concurrent legitimate session for the
 * same player (another replica; its record is written right after its create answers, well
 * within the grace period) is safe.
 *
 * Blocking; runs on the janitor's thread. Not thread-safe (one caller).
 */
#ifndef SEATGATE_MM_RECONCILE_H
#define SEATGATE_MM_RECONCILE_H

#include <stdatomic.h>

#include "seatgate/ledger.h"
#include "metrics.h"
#include "platform/orchestrator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_reconciler_options {
    sg_ledger *ledger;       /* borrowed */
    sg_orchestrator *orch;   /* borrowed */
    sg_metrics *metrics;     /* borrowed */
    const char *instance;    /* copied; written into claims and delete jobs */
    long long lease_ms;      /* a claim on an intent lapses after this (0: 60 s) */
    long long clock_skew_ms; /* tolerance between the backend's clock and ours (0: 5 s) */
    const atomic_bool *stop; /* borrowed; a pass ends early when it turns true (may be NULL) */
} sg_reconciler_options;

typedef struct sg_reconciler sg_reconciler;

/* Errors: SG_E_INVALID, SG_E_NOMEM. */
sg_status sg_reconciler_new(const sg_reconciler_options *o, sg_reconciler **out);
void sg_reconciler_free(sg_reconciler *r);

/* One pass now. Returns the number of seats queued for deletion. */
size_t sg_reconciler_run_once(sg_reconciler *r);

#ifdef __cplusplus
}
#endif
#endif
