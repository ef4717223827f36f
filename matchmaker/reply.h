/* seatgate matchmaker: answers that are errors.
 *
 * Every error the matchmaker sends is JSON {"error": {"code": "...", "message": "..."}}
 * with an honest HTTP status. `code` is a stable snake_case identifier clients may branch
 * on; `message` is for people and never holds a secret. Codes (status):
 *   bad_request (400: a request head that could be read two ways), bad_content_type (400),
 *   malformed_json (400), bad_field (400), selector_not_allowed (400), map_not_allowed (400),
 *   bad_forwarded_header (400), body_too_large (413), origin_not_allowed (403),
 *   not_found (404), method_not_allowed (405), rate_limited (429), seat_limit (429: the player
 *   holds seats-per-player seats in use), overloaded (503),
 *   store_unavailable (503), not_ready (503), platform_refused (502), platform_unavailable
 *   (502), platform_busy (503), no_capacity (503), no_server (502), server_timeout (504),
 *   internal (500). On Edgegap the platform_* codes keep their older names edgegap_* for
 *   one release.
 */
#ifndef SEATGATE_MM_REPLY_H
#define SEATGATE_MM_REPLY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_reply_error {
    int status;       /* HTTP status */
    const char *code; /* static string */
    char message[256];
    long long retry_after_ms; /* > 0: send Retry-After (rounded up to whole seconds) */
} sg_reply_error;

/* Fills e (message printf-formatted, truncated to fit). */
void sg_reply_error_set(sg_reply_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The JSON body of e, malloc()ed and NUL-terminated (free() it); NULL when out of memory. */
char *sg_reply_error_json(const sg_reply_error *e, size_t *len);

/* Every code a /connect-me answer can carry ("ok" first), NULL-terminated: the metrics
 * show each from the start. */
extern const char *const sg_reply_connect_outcomes[];

/* Retry-After header value in whole seconds (at least 1) for a delay in milliseconds. */
long long sg_reply_retry_after_s(long long ms);

#ifdef __cplusplus
}
#endif
#endif
