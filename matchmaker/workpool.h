/* seatgate matchmaker: a fixed pool of threads for blocking work (store calls).
 *
 * The store's calls block (a NATS round trip, an SQLite write), so the connect flow runs
 * them here and gets the result back through its loop. Jobs run in submission order,
 * several at once. Thread-safe.
 */
#ifndef SEATGATE_MM_WORKPOOL_H
#define SEATGATE_MM_WORKPOOL_H

#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_workpool sg_workpool;
typedef void (*sg_work_fn)(void *arg);

/* Errors: SG_E_INVALID (threads 0), SG_E_NOMEM, SG_E_IO (a thread could not start). */
sg_status sg_workpool_new(unsigned threads, sg_workpool **out);
/* Runs every job already submitted, then stops the threads. NULL is fine. */
void sg_workpool_free(sg_workpool *p);
/* Queues fn(arg). Errors: SG_E_NOMEM, SG_E_UNAVAILABLE (the pool is stopping). */
sg_status sg_workpool_submit(sg_workpool *p, sg_work_fn fn, void *arg);
size_t sg_workpool_queued(sg_workpool *p);

#ifdef __cplusplus
}
#endif
#endif
