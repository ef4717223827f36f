/* seatgate matchmaker: one POST /connect-me in flight, between the HTTP layer and the flow.
 *
 * The HTTP layer fills the input part, suspends the connection and hands the call to a
 * connect handler (the flow). The handler fills the output part and calls done() exactly
 * once, from any thread; after that it never touches the call again.
 * The HTTP layer frees the call once the answer is sent.
 */
#ifndef SEATGATE_MM_CONNECT_CALL_H
#define SEATGATE_MM_CONNECT_CALL_H

#include <stddef.h>

#include "connect_request.h"
#include "loop.h"
#include "seatgate/addr.h"
#include "seatgate/records.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_connect_call sg_connect_call;
typedef void (*sg_connect_done_fn)(sg_connect_call *call);

struct sg_connect_call {
    /* Input, set by the HTTP layer. */
    sg_addr player_ip;
    char player_ip_text[SG_ADDR_STRLEN];
    /* The body's fields; never NULL (an empty body: a shared empty request, so a waiting
     * player without a body costs no room for it). */
    const sg_connect_request *req;
    char user_id[SG_REC_USER_MAX]; /* the authenticated player; "" when anonymous */
    char *bearer; /* the token, kept only when an online check must see it (malloc()ed;
                   * the HTTP layer wipes and frees it) */
    int fd; /* the client's socket, watched for hang-ups while waiting; -1 when unknown */
    sg_connect_done_fn done;
    /* Progress for a streamed answer (the client sent Accept: text/event-stream): an event
     * name and its JSON data (copied), from the handler's thread, any number of times
     * before done(); NULL when the answer is not streamed. */
    void (*progress)(sg_connect_call *call, const char *event, const char *data_json);
    void *http; /* the HTTP layer's own state */

    /* Output, set by the handler before done(). */
    int status; /* HTTP status */
    char *body; /* JSON, malloc()ed; the HTTP layer frees it */
    size_t body_len;
    const char *outcome;      /* "ok" or the error code, a static string */
    long long retry_after_ms; /* > 0: sent as Retry-After */

    /* Private to the handler. */
    void *flight;
    sg_connect_call *next;
    sg_loop_io io;
};

/* Handlers the HTTP layer calls. */
typedef struct sg_connect_handler {
    /* Takes a call (on an HTTP thread); must call call->done eventually. */
    void (*start)(void *user, sg_connect_call *call);
    /* A webhook body arrived (on an HTTP thread; body valid during the call). Returns the
     * HTTP status to answer with (204 accepted, 400 unreadable). */
    int (*notify)(void *user, const char *body, size_t len);
    /* Whether the service can take players; fills why (for /readyz) when not. */
    int (*ready)(void *user, char *why, size_t size);
    void *user;
} sg_connect_handler;

#ifdef __cplusplus
}
#endif
#endif
