/* seatgate matchmaker: the optional JSON body of POST /connect-me.
 *
 * No field is required; an empty body (Content-Length 0) is a valid request. When a body is
 * present its Content-Type must be application/json (parameters such as charset=utf-8 are
 * allowed) and it must be one JSON object of at most max_bytes. Fields (null = absent,
 * unknown fields are ignored so newer clients keep working with older matchmakers):
 *
 *   client_version  string, 1..64 printable ASCII characters: the game client's build,
 *                   recorded with the session and logged
 *   selectors       array of at most SG_CONNECT_MAX_SELECTORS strings: Edgegap deployment
 *                   tags to filter on; each must be in the operator's allowed list
 *                   (client-selectors setting), which is empty by default (field refused)
 *   mapKey          string, 1..64 of [A-Za-z0-9._-]: the map the player asks for, carried in
 *                   the seat token; must be in the operator's allowed list (map-keys
 *                   setting), empty by default (field refused)
 *   rtts            object of at most SG_CONNECT_MAX_RTTS entries: a location's name (1..32
 *                   printable characters, e.g. a city or a ping beacon) -> the round trip
 *                   the client measured to it, in milliseconds (a number 0..10000); used by
 *                   placement (placement setting) to find a server near the player
 *
 * Errors fill an sg_reply_error: 413 body_too_large, 400 bad_content_type, malformed_json
 * (also for a body that is not an object), bad_field (a field of the wrong type or out of
 * range; the message names it), selector_not_allowed, map_not_allowed. Pure function,
 * thread-safe.
 */
#ifndef SEATGATE_MM_CONNECT_REQUEST_H
#define SEATGATE_MM_CONNECT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "reply.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_CONNECT_MAX_SELECTORS 8
#define SG_CONNECT_TEXT_MAX 64
#define SG_CONNECT_MAX_RTTS 8
#define SG_CONNECT_RTT_NAME_MAX 32

typedef struct sg_connect_body_options {
    size_t max_bytes;                     /* largest accepted body */
    const char *const *allowed_selectors; /* tags a client may ask for (borrowed) */
    size_t allowed_selector_count;
    const char *const *allowed_maps; /* map keys a client may ask for (borrowed) */
    size_t allowed_map_count;
} sg_connect_body_options;

typedef struct sg_connect_request {
    char client_version[SG_CONNECT_TEXT_MAX + 1]; /* "" when absent */
    size_t selector_count;
    char selectors[SG_CONNECT_MAX_SELECTORS][SG_CONNECT_TEXT_MAX + 1];
    char map_key[SG_CONNECT_TEXT_MAX + 1]; /* "" when absent */
    size_t rtt_count;
    struct {
        char name[SG_CONNECT_RTT_NAME_MAX + 1];
        float ms;
    } rtts[SG_CONNECT_MAX_RTTS];
} sg_connect_request;

/* Whether a Content-Type value is application/json (case-insensitive, parameters allowed). */
bool sg_content_type_is_json(const char *content_type);

/* Parses a body (len 0: no body, content_type ignored). Returns SG_OK with *out filled, or
 * SG_E_INVALID / SG_E_TOO_LARGE / SG_E_MALFORMED with *err filled and *out zeroed. */
sg_status sg_connect_request_parse(const sg_connect_body_options *o, const char *content_type,
                                   const char *body, size_t len, sg_connect_request *out,
                                   sg_reply_error *err);

#ifdef __cplusplus
}
#endif
#endif
