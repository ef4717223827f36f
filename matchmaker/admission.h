/* seatgate matchmaker: admission control for POST /connect-me.
 *
 * Two limits, checked in this order:
 *   1. a global cap on requests in flight (accepted and not yet answered): over it, the
 *      request is refused as overloaded (HTTP 503 with Retry-After);
 *   2. a token bucket per player IP (IPv6 addresses are grouped by a prefix, /64 by default,
 *      since one subscriber holds a whole /64): over it, rate limited (HTTP 429 with
 *      Retry-After saying when the next token is due). An authenticated player has one
 *      bucket of their own instead (sg_admission_enter_user), wherever they connect from.
 * Memory is bounded: at most max_tracked IPs are remembered, in a table allocated once.
 * An IP whose bucket has refilled is forgotten (it behaves as a new one), and when the table
 * is full the least recently seen IP is forgotten first. Hashing is keyed (SipHash, random
 * key) so crafted addresses cannot pile up in one chain.
 *
 * Time is passed in by the caller (milliseconds, any monotonic origin) so tests can drive
 * it. Thread-safe (one mutex; each call is O(1) amortised).
 */
#ifndef SEATGATE_MM_ADMISSION_H
#define SEATGATE_MM_ADMISSION_H

#include <stddef.h>

#include "seatgate/addr.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_admission_options {
    double rate;                 /* tokens per second per IP; 0 disables the per-IP limit */
    double burst;                /* bucket depth (>= 1 when rate > 0) */
    size_t max_tracked;          /* IPs remembered at most (>= 1 when rate > 0) */
    int ipv6_prefix;             /* IPv6 addresses sharing this prefix share a bucket, 1..128 */
    long long max_in_flight;     /* global cap; 0 = unlimited */
    long long overload_retry_ms; /* Retry-After given when over the global cap */
} sg_admission_options;

typedef enum sg_admit {
    SG_ADMIT_OK = 0,
    SG_ADMIT_RATE_LIMITED, /* the per-IP bucket is empty */
    SG_ADMIT_OVERLOADED    /* the global in-flight cap is reached */
} sg_admit;

typedef struct sg_admission sg_admission;

/* Errors: SG_E_INVALID (options out of range), SG_E_NOMEM. */
sg_status sg_admission_new(const sg_admission_options *o, sg_admission **out);
void sg_admission_free(sg_admission *a); /* NULL is fine */

/* Decides on one request from ip at now_ms. On SG_ADMIT_OK the request counts as in flight
 * until sg_admission_leave; otherwise nothing is counted and *retry_after_ms (may be NULL)
 * says when trying again makes sense (at least 1 ms). */
sg_admit sg_admission_enter(sg_admission *a, const sg_addr *ip, long long now_ms,
                            long long *retry_after_ms);

/* The same for an authenticated player: the bucket is the user's (wherever they connect
 * from), not the address's. */
sg_admit sg_admission_enter_user(sg_admission *a, const char *user_id, long long now_ms,
                                 long long *retry_after_ms);

/* One admitted request has been answered (or abandoned). */
void sg_admission_leave(sg_admission *a);

long long sg_admission_in_flight(sg_admission *a);
size_t sg_admission_tracked(sg_admission *a); /* IPs currently remembered */

/* Stable name of a decision ("ok", "rate_limited", "overloaded"). */
const char *sg_admit_name(sg_admit d);

#ifdef __cplusplus
}
#endif
#endif
