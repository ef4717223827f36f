/* Internals shared by the Edgegap client's source files (and its unit tests). */
#ifndef SEATGATE_EDGEGAP_INTERNAL_H
#define SEATGATE_EDGEGAP_INTERNAL_H

#include <curl/curl.h>

#include "seatgate/edgegap.h"

typedef enum sg_eg_method { SG_EG_GET, SG_EG_POST, SG_EG_DELETE } sg_eg_method;

struct sg_edgegap_request {
    sg_edgegap_call call;
    sg_eg_method method;
    char *target;       /* path+query, or absolute URL for the context call */
    char *body;         /* JSON or NULL */
    char *context_auth; /* "authorization: <token>" header line (context call), secret */
};

/* Deep copy (for perform, which borrows its request). */
sg_edgegap_request *sg_eg_request_dup(const sg_edgegap_request *r);

/* Maps an HTTP status to the status a caller acts on (SG_OK for 2xx). */
sg_status sg_eg_http_status_map(int http_status);

/* Maps a libcurl failure to SG_E_TIMEOUT, SG_E_NETWORK, SG_E_TOO_LARGE... */
sg_status sg_eg_curl_map(CURLcode rc);

/* Whether a failed attempt may be retried. `sent` tells whether any request byte left. */
bool sg_eg_retryable(const sg_edgegap_request *r, sg_status st, int http_status, bool sent);

/* Whether a failed create may have created a session anyway. */
bool sg_eg_create_ambiguous(sg_status st, int http_status, bool sent);

/* Full-jitter exponential backoff before retry number `retry` (1-based), in microseconds. */
long long sg_eg_backoff_us(long long base_ms, long long max_ms, int retry);

/* Parses a Retry-After value (delta seconds or HTTP date) into milliseconds; -1 if invalid. */
long long sg_eg_retry_after_ms(const char *value, long long now_epoch_s);

/* Replaces every occurrence of `secret` (when non-empty) in buf with "[redacted]". */
void sg_eg_redact(char *buf, size_t size, const char *secret);

/* The pace (edgegap_pace.c). Returns the monotonic time (us) at which a request reserved now
 * may be sent (>= now_us). */
long long sg_eg_pace_reserve(sg_edgegap_pace *p, long long now_us);
/* The pace has two lanes: deletes, and everything else (its delete_share). */
typedef enum sg_eg_lane { SG_EG_LANE_PLAYERS = 0, SG_EG_LANE_DELETES, SG_EG_LANES } sg_eg_lane;
long long sg_eg_pace_reserve_lane(sg_edgegap_pace *p, sg_eg_lane lane, long long now_us);
void sg_eg_pace_get_lane(sg_edgegap_pace *p, sg_eg_lane lane, double *rate, int *burst);
/* When a request reserved now would be sent, without reserving (>= now_us); *rate is the
 * lane's rate (0: unpaced). */
long long sg_eg_pace_peek_lane(sg_edgegap_pace *p, sg_eg_lane lane, long long now_us,
                               double *rate);
/* Holds every request of this pace until `until_us`. */
void sg_eg_pace_hold(sg_edgegap_pace *p, long long until_us);
/* Its settings (tests). */
void sg_eg_pace_get_rate(sg_edgegap_pace *p, double *rate, int *burst);
/* The pace a client uses (tests). */
sg_edgegap_pace *sg_eg_client_pace(sg_edgegap_client *c);

#endif
