/* seatgate matchmaker: CORS for the browser game page.
 *
 * Allowed origins are listed exactly ("https://game.example.com", compared without regard
 * to case); "*" allows any origin and only when credentials are off (browsers refuse the
 * combination). A request from an allowed origin gets Access-Control-Allow-Origin echoing
 * its origin (or "*"), Vary: Origin, and Retry-After exposed to the page's script. A
 * disallowed origin gets no CORS headers at all, so the browser withholds the answer; a
 * preflight (OPTIONS with Access-Control-Request-Method) from it is refused (403), as is one
 * asking for a method or header not allowed.
 *
 * Pure functions over header text once built; an sg_cors is immutable and thread-safe.
 */
#ifndef SEATGATE_MM_CORS_H
#define SEATGATE_MM_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_CORS_MAX_ORIGIN 256 /* longer Origin values are never allowed */
#define SG_CORS_MAX_HEADERS 8

typedef struct sg_cors_options {
    const char *origins;       /* comma-separated; NULL or "" = no cross-origin access */
    bool allow_credentials;    /* Access-Control-Allow-Credentials: true (default off) */
    long long max_age_s;       /* preflight cache time (Access-Control-Max-Age) */
    const char *allow_headers; /* request headers a page may send; NULL = "Content-Type" */
    const char *allow_methods; /* NULL = "POST, GET, OPTIONS" */
} sg_cors_options;

typedef struct sg_cors sg_cors;

/* Errors: SG_E_INVALID (an origin that is not scheme://host[:port], "*" with credentials,
 * a negative max age), SG_E_NOMEM. */
sg_status sg_cors_new(const sg_cors_options *o, sg_cors **out);
void sg_cors_free(sg_cors *c);

typedef enum sg_cors_result {
    SG_CORS_NO_ORIGIN = 0, /* not a cross-origin request: nothing to add */
    SG_CORS_ALLOWED,       /* add the headers */
    SG_CORS_DENIED         /* add nothing; a preflight gets 403 */
} sg_cors_result;

typedef struct sg_cors_header {
    const char *name;
    char value[SG_CORS_MAX_ORIGIN + 64];
} sg_cors_header;

typedef struct sg_cors_headers {
    size_t count;
    sg_cors_header h[SG_CORS_MAX_HEADERS];
} sg_cors_headers;

/* For an actual request with this Origin (NULL when absent). out->count is 0 unless
 * ALLOWED (Vary: Origin is added for DENIED too, so caches keep answers apart). */
sg_cors_result sg_cors_request(const sg_cors *c, const char *origin, sg_cors_headers *out);

/* For a preflight: Origin, Access-Control-Request-Method and -Headers (NULL when absent).
 * ALLOWED only when the origin, the method and every requested header are allowed. */
sg_cors_result sg_cors_preflight(const sg_cors *c, const char *origin, const char *method,
                                 const char *request_headers, sg_cors_headers *out);

#ifdef __cplusplus
}
#endif
#endif
