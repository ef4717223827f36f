/* seatgate: status codes and the per-thread error message.
 *
 * Every fallible seatgate function returns an sg_status. SG_OK is 0; anything else is an
 * error whose kind a caller can act on. The human explanation of the last error raised on
 * the calling thread is in sg_last_error(); it never contains key material or tokens.
 */
#ifndef SEATGATE_STATUS_H
#define SEATGATE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_status {
    SG_OK = 0,
    SG_E_INVALID,   /* bad argument or input value (message says which) */
    SG_E_NOMEM,     /* allocation failed */
    SG_E_TOO_LARGE, /* input exceeds a configured or protocol limit */
    SG_E_TRUNCATED, /* input shorter than its format requires */
    SG_E_MALFORMED, /* input does not follow its format */
    /* connect tokens */
    SG_E_DECRYPT,     /* wrong key, or the encrypted bytes or associated data were altered */
    SG_E_PROTOCOL_ID, /* token minted for another protocol id */
    SG_E_VERSION,     /* version info is not "NETCODE 1.02" */
    SG_E_EXPIRED,     /* token expire timestamp is not in the future */
    SG_E_ADDR_COUNT,  /* server address count outside 1..32 */
    SG_E_ADDR_TYPE,   /* server address type is neither IPv4 (1) nor IPv6 (2) */
    SG_E_TIMESTAMPS,  /* create timestamp later than expire timestamp */
    /* state store */
    SG_E_NOT_FOUND,   /* no such key, bucket, session... */
    SG_E_EXISTS,      /* create-if-absent found the key present */
    SG_E_CONFLICT,    /* compare-and-set lost: the revision moved on */
    SG_E_UNAVAILABLE, /* a dependency (store, upstream) cannot be reached now */
    SG_E_TIMEOUT,     /* the call did not complete within its deadline */
    SG_E_IO,          /* local I/O failed */
    SG_E_FULL,        /* a bounded queue is full */
    /* upstream HTTP (Edgegap) */
    SG_E_BAD_REQUEST,  /* 400 */
    SG_E_UNAUTHORIZED, /* 401/403 */
    SG_E_GONE,         /* 410 */
    SG_E_RATE_LIMITED, /* 429 */
    SG_E_SERVER,       /* 5xx */
    SG_E_NETWORK,      /* connection refused, reset, DNS... */
    SG_E_INTERNAL,     /* a bug: an invariant did not hold */
    SG_E_HELP,         /* not an error: --help was printed, the program should exit 0 */
    SG_STATUS_COUNT
} sg_status;

/* Stable lower-case identifier of a status ("ok", "expired", "conflict"...). Never NULL. */
const char *sg_status_name(sg_status st);

/* Message of the last error set on this thread ("" if none). Valid until the next call
 * that sets an error on the same thread. */
const char *sg_last_error(void);

/* Sets this thread's last error message (printf format) and returns st, so a failing path
 * reads `return sg_fail(SG_E_INVALID, "bad port %d", p);`. Arguments may include
 * sg_last_error() itself, to add context: sg_fail(st, "store: %s", sg_last_error()).
 * Never pass secrets. */
sg_status sg_fail(sg_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears this thread's last error message. */
void sg_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
