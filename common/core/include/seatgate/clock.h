/* seatgate: one clock, one backoff and one timer heap for every component.
 *
 * Monotonic time measures intervals and deadlines (it never jumps); wall time (unix) is what
 * records and events carry. Backoff is the one schedule of retries: base, doubling per
 * attempt, capped. The timer heap is a binary min-heap of caller-owned nodes (no allocation
 * per timer beyond the array): the matchmaker's loop and the Edgegap client keep their
 * timers in one.
 */
#ifndef SEATGATE_CLOCK_H
#define SEATGATE_CLOCK_H

#include <stddef.h>
#include <time.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

long long sg_clock_mono_ms(void);
long long sg_clock_mono_us(void);
long long sg_clock_wall_ms(void); /* unix milliseconds */
/* The wall-clock instant ms from now, as pthread_cond_timedwait wants it (ms < 0: now). */
struct timespec sg_clock_deadline(long long ms);
/* Sleeps ms (<= 0: returns at once), resuming after signals. */
void sg_sleep_ms(long long ms);

/* The delay before retry number `attempt` (1-based; < 1 counts as 1): base_ms doubled
 * attempt - 1 times (at most 2^20), capped at max_ms (when max_ms > 0). */
long long sg_backoff_ms(long long base_ms, long long max_ms, int attempt);

/* ---- timer heap -------------------------------------------------------------------------- */

typedef struct sg_heap_node {
    long long due;  /* the order: smallest first (any unit) */
    size_t index;   /* position + 1 while in a heap; 0 when not */
} sg_heap_node;

typedef struct sg_heap {
    sg_heap_node **v;
    size_t n, cap;
} sg_heap;

/* Adds x (not in a heap) with its due. SG_E_NOMEM when the array cannot grow (x is left
 * out). */
sg_status sg_heap_push(sg_heap *h, sg_heap_node *x);
/* The smallest, or NULL when empty. */
static inline sg_heap_node *sg_heap_top(const sg_heap *h)
{
    return h->n ? h->v[0] : NULL;
}
/* Removes and returns the smallest (NULL when empty). */
sg_heap_node *sg_heap_pop(sg_heap *h);
/* Removes x wherever it is; no-op when it is in no heap. */
void sg_heap_remove(sg_heap *h, sg_heap_node *x);
/* Frees the array (the nodes are the caller's). */
void sg_heap_free(sg_heap *h);

#ifdef __cplusplus
}
#endif
#endif
