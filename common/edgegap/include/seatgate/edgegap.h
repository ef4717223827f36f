/* seatgate: the Edgegap API client (sessions, app versions, deployment context).
 *
 * One request description (sg_edgegap_request), two ways to run it:
 *   - blocking:     sg_edgegap_perform()  for tools and tests;
 *   - non-blocking: sg_edgegap_submit() + sg_edgegap_run()  driven by the caller's loop
 *                   (a libcurl multi handle owned by the client; the caller never sleeps:
 *                   pacing and retry timers live inside the client).
 *
 * Thread rules
 *   - sg_edgegap_submit() and sg_edgegap_wakeup() may be called from any thread.
 *   - sg_edgegap_run() must be called from one thread at a time (the "driving" thread);
 *     completion callbacks and attempt observers run on it.
 *   - sg_edgegap_perform() may be called from any thread; calls on one client are serialised
 *     (one persistent connection). Use submit/run for concurrency.
 *   - sg_edgegap_client_free() must not race with any other call on the same client.
 *   - The outgoing pace (token bucket) is the client's own, or shared by every client given
 *     the same sg_edgegap_pace.
 *
 * Secrets: the API key and the context token are sent only in the Authorization header;
 * they never appear in logs, results or error messages.
 *
 * Errors (sg_status in sg_edgegap_result.status):
 *   SG_OK               2xx and the body parsed
 *   SG_E_BAD_REQUEST    400, 422 and other 4xx not listed here
 *   SG_E_UNAUTHORIZED   401, 403
 *   SG_E_NOT_FOUND      404
 *   SG_E_CONFLICT       409
 *   SG_E_GONE           410
 *   SG_E_RATE_LIMITED   429 (retry_after_ms holds the server's Retry-After, -1 if none)
 *   SG_E_SERVER         5xx, or an HTTP status this client does not expect (1xx/3xx)
 *   SG_E_TIMEOUT        connect or total timeout of the last attempt
 *   SG_E_NETWORK        DNS, connection refused or reset, TLS failure
 *   SG_E_MALFORMED      2xx whose body is not the documented shape
 *   SG_E_TOO_LARGE      the answer exceeded max_body
 *   SG_E_INVALID        the request could not be built or no API key is configured
 *   SG_E_UNAVAILABLE    the client was freed before the request completed
 */
#ifndef SEATGATE_EDGEGAP_H
#define SEATGATE_EDGEGAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/config.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Parsed bodies. Every string field is non-NULL ("" when absent or null) and points into the
 * owning object; free the object with its *_free function. Unknown fields are ignored; a
 * missing required field or a field of the wrong type makes the parser fail with
 * SG_E_MALFORMED and a message naming the field.
 * ---------------------------------------------------------------------------------------- */

typedef enum sg_edgegap_state {
    SG_EDGEGAP_STATE_UNKNOWN = 0, /* a status string this client does not know: keep waiting */
    SG_EDGEGAP_STATE_INITIALIZING,
    SG_EDGEGAP_STATE_SEEKING,
    SG_EDGEGAP_STATE_WAITING,
    SG_EDGEGAP_STATE_READY,        /* players may connect */
    SG_EDGEGAP_STATE_ERROR,        /* final failure */
    SG_EDGEGAP_STATE_UNPROCESSABLE /* final failure (no free seat, bad app config...) */
} sg_edgegap_state;

/* Maps a status string ("Ready", "ready", "Status.READY"...) to the enum. */
sg_edgegap_state sg_edgegap_state_parse(const char *status);
/* Stable lower-case name ("ready", "unprocessable"...). */
const char *sg_edgegap_state_name(sg_edgegap_state st);
/* True for READY, ERROR and UNPROCESSABLE: polling can stop. */
bool sg_edgegap_state_is_final(sg_edgegap_state st);

typedef struct sg_edgegap_port {
    const char *key;      /* key in the "ports" object (usually the port name) */
    const char *name;     /* "name" field, or the key when absent */
    int external;         /* port to connect to from the internet; -1 when absent */
    int internal;         /* container port; -1 when absent */
    const char *protocol; /* "UDP", "TCP", "HTTP", "WS"... */
    const char *link;
    bool tls_upgrade;
} sg_edgegap_port;

typedef struct sg_edgegap_location {
    const char *city, *country, *continent, *administrative_division, *timezone;
    double latitude, longitude;
    bool has_coordinates; /* both latitude and longitude were numbers */
} sg_edgegap_location;

typedef struct sg_edgegap_deployment {
    bool present;           /* the body had a non-null "deployment" object */
    const char *request_id; /* the deployment id (12 hex chars) */
    const char *public_ip;
    const char *fqdn;
    const char *status;
    bool ready, whitelisting_active, is_joinable_by_session;
    int sockets, sockets_usage; /* -1 when absent */
    sg_edgegap_location location;
    sg_edgegap_port *ports;
    size_t port_count;
    const char **tags;
    size_t tag_count;
} sg_edgegap_deployment;

/* Looks a port up by key, then by its name field. NULL when absent. */
const sg_edgegap_port *sg_edgegap_find_port(const sg_edgegap_port *ports, size_t count,
                                            const char *name);

typedef struct sg_edgegap_session_ip {
    const char *ip;
    double latitude, longitude;
    bool has_coordinates;
} sg_edgegap_session_ip;

/* GET /v1/session/{id}, and the webhook body. Required: session_id, status. */
typedef struct sg_edgegap_session {
    const char *session_id;
    const char *custom_id;
    const char *status; /* as sent */
    sg_edgegap_state state;
    bool ready;  /* linked to a ready deployment */
    bool linked; /* linked to a deployment */
    const char *kind;
    const char *error; /* "" when null or absent */
    const char *create_time;
    const char *webhook_url;
    int user_count;        /* -1 when absent */
    long long elapsed;     /* seconds; -1 when absent */
    long long app_version; /* Edgegap's numeric id of the app version; -1 when absent */
    sg_edgegap_session_ip *session_ips;
    size_t session_ip_count;
    sg_edgegap_session_ip *session_users;
    size_t session_user_count;
    sg_edgegap_deployment deployment;
    void *priv_;
} sg_edgegap_session;

sg_status sg_edgegap_parse_session(const char *body, size_t len, sg_edgegap_session **out);
void sg_edgegap_session_free(sg_edgegap_session *s);
/* True when `ip` (any text form accepted by sg_addr_parse) is one of session_ips. */
bool sg_edgegap_session_has_ip(const sg_edgegap_session *s, const char *ip);

/* POST /v1/session answer. Required: session_id. */
typedef struct sg_edgegap_created {
    const char *session_id;
    const char *custom_id;
    const char *app;
    const char *version;
    const char *deployment_request_id;
    const char *webhook_url;
    void *priv_;
} sg_edgegap_created;

sg_status sg_edgegap_parse_created(const char *body, size_t len, sg_edgegap_created **out);
void sg_edgegap_created_free(sg_edgegap_created *c);

/* One entry of GET /v1/sessions. Required: session_id, status. */
typedef struct sg_edgegap_session_summary {
    const char *session_id;
    const char *custom_id;
    const char *status;
    sg_edgegap_state state;
    bool ready, linked;
    const char *kind;
    int user_count; /* -1 when absent */
    const char *deployment_request_id;
    const char *webhook_url;
} sg_edgegap_session_summary;

typedef struct sg_edgegap_session_list {
    sg_edgegap_session_summary *data;
    size_t count;
    long long total_count; /* -1 when absent */
    int page;              /* pagination.number; -1 when absent */
    int next_page;         /* pagination.next_page_number; -1 when null or absent */
    int num_pages;         /* pagination.paginator.num_pages; -1 when absent */
    bool has_next, has_previous;
    void *priv_;
} sg_edgegap_session_list;

sg_status sg_edgegap_parse_session_list(const char *body, size_t len,
                                        sg_edgegap_session_list **out);
void sg_edgegap_session_list_free(sg_edgegap_session_list *l);

/* GET /v1/app/{app}/version/{version}. Required: name. is_active defaults to true (as
 * Edgegap documents) when absent. port_names: the `name` of each entry of `ports` that has
 * one (at most SG_EDGEGAP_MAX_VERSION_PORTS), in order. */
#define SG_EDGEGAP_MAX_VERSION_PORTS 16
typedef struct sg_edgegap_app_version {
    const char *name;
    bool is_active;
    const char *port_names[SG_EDGEGAP_MAX_VERSION_PORTS];
    size_t port_count;
    void *priv_;
} sg_edgegap_app_version;

sg_status sg_edgegap_parse_app_version(const char *body, size_t len, sg_edgegap_app_version **out);
void sg_edgegap_app_version_free(sg_edgegap_app_version *v);

/* GET <ARBITRIUM_CONTEXT_URL>: the deployment as the game server sees it. Required:
 * request_id. raw_json is the body exactly as received (NUL-terminated), to store as is. */
typedef struct sg_edgegap_context {
    const char *request_id;
    const char *public_ip;
    const char *fqdn;
    const char *status;
    int sockets; /* -1 when absent */
    sg_edgegap_location location;
    sg_edgegap_port *ports;
    size_t port_count;
    const char **tags;
    size_t tag_count;
    const char *raw_json;
    size_t raw_len;
    void *priv_;
} sg_edgegap_context;

sg_status sg_edgegap_parse_context(const char *body, size_t len, sg_edgegap_context **out);
void sg_edgegap_context_free(sg_edgegap_context *c);

/* Extracts Edgegap's error message ({"message": "..."}; a non-JSON body is used as text)
 * into buf: printable ASCII only, at most size-1 bytes, "" when there is none. */
void sg_edgegap_error_message(const char *body, size_t len, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * Requests. Built once, run blocking or non-blocking. A request owns copies of its inputs.
 * ---------------------------------------------------------------------------------------- */

typedef enum sg_edgegap_call {
    SG_EDGEGAP_CREATE_SESSION = 0,
    SG_EDGEGAP_GET_SESSION,
    SG_EDGEGAP_DELETE_SESSION,
    SG_EDGEGAP_LIST_SESSIONS,
    SG_EDGEGAP_GET_APP_VERSION,
    SG_EDGEGAP_GET_CONTEXT,
    SG_EDGEGAP_CALL_COUNT
} sg_edgegap_call;

/* Stable name ("create_session", "get_session"...), for logs and metric labels. */
const char *sg_edgegap_call_name(sg_edgegap_call call);

typedef struct sg_edgegap_request sg_edgegap_request;

typedef struct sg_edgegap_selector {
    const char *tag;
    bool tag_only; /* only tag the session, do not filter deployments with it */
} sg_edgegap_selector;

typedef struct sg_edgegap_create_params {
    const char *app_name;       /* required */
    const char *version_name;   /* required */
    const char *const *ip_list; /* player IPs, at least one; each must be a bare IP */
    size_t ip_count;
    const char *webhook_url;           /* optional (NULL) */
    const char *deployment_request_id; /* optional: link to this deployment */
    const sg_edgegap_selector *selectors;
    size_t selector_count;
    /* The players' position (sent as geo_ip_list instead of ip_list): latitude -90..90,
     * longitude -180..180. */
    bool has_position;
    double latitude, longitude;
} sg_edgegap_create_params;

/* Constructors: SG_OK, SG_E_INVALID (message names the bad input) or SG_E_NOMEM. */
sg_status sg_edgegap_request_create_session(const sg_edgegap_create_params *p,
                                            sg_edgegap_request **out);
sg_status sg_edgegap_request_get_session(const char *session_id, sg_edgegap_request **out);
sg_status sg_edgegap_request_delete_session(const char *session_id, sg_edgegap_request **out);
/* page and limit: 0 leaves them out (server defaults). */
sg_status sg_edgegap_request_list_sessions(int page, int limit, sg_edgegap_request **out);
sg_status sg_edgegap_request_get_app_version(const char *app, const char *version,
                                             sg_edgegap_request **out);
/* context_url: ARBITRIUM_CONTEXT_URL (absolute http(s) URL); token: ARBITRIUM_CONTEXT_TOKEN,
 * sent as the raw `authorization` header value. No API key is needed. */
sg_status sg_edgegap_request_get_context(const char *context_url, const char *token,
                                         sg_edgegap_request **out);
void sg_edgegap_request_free(sg_edgegap_request *r);

sg_edgegap_call sg_edgegap_request_call(const sg_edgegap_request *r);
const char *sg_edgegap_request_method(const sg_edgegap_request *r); /* "GET", "POST"... */
/* Path and query relative to the base URL ("/v1/session/abc-S"), or the absolute URL for
 * the context call. */
const char *sg_edgegap_request_target(const sg_edgegap_request *r);
const char *sg_edgegap_request_body(const sg_edgegap_request *r); /* JSON, or "" */
/* True for GET and DELETE: retried on 429, 5xx, timeouts and network errors. */
bool sg_edgegap_request_idempotent(const sg_edgegap_request *r);

/* ------------------------------------------------------------------------------------------
 * Results.
 * ---------------------------------------------------------------------------------------- */

typedef struct sg_edgegap_result {
    sg_status status;
    sg_edgegap_call call;
    int http_status;          /* of the last attempt; 0 when no HTTP answer */
    long long retry_after_ms; /* server's Retry-After on the last answer; -1 when none */
    int attempts;
    long long latency_us; /* submission to completion, pacing and retries included */
    /* Create only: the call failed in a way that may have created a session anyway
     * (timeout or connection loss after the request was sent, 5xx, unreadable 2xx). The
     * caller decides: reconcile with list_sessions, or record the risk. */
    bool ambiguous;
    char message[256]; /* Edgegap's error message or the transport error; never secrets */
    /* The parsed body for SG_OK, by call; the others are NULL. Owned by the result; a
     * callback may take one by setting the pointer to NULL. */
    sg_edgegap_created *created;         /* CREATE_SESSION */
    sg_edgegap_session *session;         /* GET_SESSION */
    sg_edgegap_session_list *list;       /* LIST_SESSIONS */
    sg_edgegap_app_version *app_version; /* GET_APP_VERSION */
    sg_edgegap_context *context;         /* GET_CONTEXT */
} sg_edgegap_result;

/* Frees the parsed bodies still held and zeroes the result. */
void sg_edgegap_result_clear(sg_edgegap_result *r);

/* ------------------------------------------------------------------------------------------
 * Client.
 * ---------------------------------------------------------------------------------------- */

typedef struct sg_edgegap_attempt {
    sg_edgegap_call call;
    int attempt;           /* 1-based */
    sg_status status;      /* outcome of this attempt */
    int http_status;       /* 0 when no HTTP answer */
    long long sent_at_us;  /* sg_edgegap_clock_us() when handed to libcurl */
    long long duration_us; /* until the answer or the failure */
    bool will_retry;
} sg_edgegap_attempt;

/* Called once per HTTP attempt, on the thread that ran it (the driving thread, or the
 * sg_edgegap_perform caller). Must be quick and must not call back into the client. */
typedef void (*sg_edgegap_observe_fn)(const sg_edgegap_attempt *a, void *user);

/* A pace for outgoing calls (below); opaque. */
typedef struct sg_edgegap_pace sg_edgegap_pace;

typedef struct sg_edgegap_options {
    const char *base_url;         /* default "https://api.edgegap.com"; copied */
    const char *api_key;          /* with or without "token "; NULL: only get_context works */
    long long connect_timeout_ms; /* default 3000 */
    long long timeout_ms;         /* per attempt, default 10000 */
    int max_retries;              /* retries after the first attempt, default 3 */
    long long retry_budget_ms;    /* no retry starts later than this after submission;
                                     default 20000 */
    long long backoff_base_ms;    /* default 200 */
    long long backoff_max_ms;     /* default 5000 */
    double rate;                  /* requests per second; 0 = unpaced; default 10 */
    double delete_share;          /* of rate, for deletes in their own lane; default 0.3 */
    int burst;                    /* token bucket depth, default 20 */
    sg_edgegap_pace *pace;        /* a shared pace (the client takes a reference): rate,
                                     burst and delete_share are then its; NULL: the client
                                     gets a pace of its own from those three */
    int max_connections;          /* per host for the non-blocking path, default 32 */
    size_t max_body;              /* largest accepted answer, default 1 MiB */
    sg_edgegap_observe_fn observe;
    void *observe_user;
} sg_edgegap_options;

void sg_edgegap_options_default(sg_edgegap_options *o);

typedef struct sg_edgegap_client sg_edgegap_client;

/* Copies what it needs from opt (the key is wiped on free). The client paces its calls with
 * opt->pace, or with a pace of its own built from opt->rate/burst/delete_share; no other
 * client is affected. SG_E_INVALID names a bad option. */
sg_status sg_edgegap_client_new(const sg_edgegap_options *opt, sg_edgegap_client **out);
/* Requests still unfinished complete with SG_E_UNAVAILABLE: their callbacks run here. */
void sg_edgegap_client_free(sg_edgegap_client *c);

/* Blocking: runs req (not consumed) with pacing and retries, sleeping as needed, and fills
 * *out (clear it with sg_edgegap_result_clear). Returns out->status. */
sg_status sg_edgegap_perform(sg_edgegap_client *c, const sg_edgegap_request *req,
                             sg_edgegap_result *out);

/* Non-blocking. The callback gets the result (valid during the call only; bodies may be
 * taken) and runs on the driving thread, exactly once per submitted request. */
typedef void (*sg_edgegap_done_fn)(sg_edgegap_result *res, void *user);

/* Queues req (consumed in every case) and wakes the driver. Any thread. Returns SG_OK, or
 * SG_E_INVALID when req/cb is NULL (req is then freed and cb never runs). */
sg_status sg_edgegap_submit(sg_edgegap_client *c, sg_edgegap_request *req, sg_edgegap_done_fn cb,
                            void *user);

/* An extra descriptor for sg_edgegap_run to wait on (same meaning as poll(2)'s fields). */
typedef struct sg_edgegap_waitfd {
    int fd;
    short events;  /* POLLIN, POLLOUT, POLLPRI */
    short revents; /* filled on return */
} sg_edgegap_waitfd;

/* One turn of the driving loop: waits up to timeout_ms for network activity, a due timer,
 * a submission, sg_edgegap_wakeup or one of the extra fds; then moves transfers along and
 * runs completion callbacks. *ncompleted (optional) gets the number of callbacks run.
 * Returns SG_OK, or SG_E_INTERNAL when libcurl fails. */
sg_status sg_edgegap_run(sg_edgegap_client *c, int timeout_ms, sg_edgegap_waitfd *extra,
                         unsigned nextra, int *ncompleted);
/* The thread that called sg_edgegap_run last is remembered: its own submissions wake
 * nothing (it drains the queue when it runs again). Call this when that thread will not run
 * the client again (another thread takes over, or it ends). */
void sg_edgegap_driver_gone(sg_edgegap_client *c);

/* Makes a sleeping or the next sg_edgegap_run return promptly. Any thread. */
void sg_edgegap_wakeup(sg_edgegap_client *c);

/* Requests submitted and not yet completed. Any thread. */
size_t sg_edgegap_pending(sg_edgegap_client *c);

typedef struct sg_edgegap_stats {
    uint64_t calls;    /* completed calls */
    uint64_t attempts; /* HTTP attempts */
    uint64_t retries;
    uint64_t by_status[SG_STATUS_COUNT]; /* completed calls by final status */
} sg_edgegap_stats;

/* Counters since the client was created. Any thread. */
void sg_edgegap_client_get_stats(sg_edgegap_client *c, sg_edgegap_stats *out);

/* Monotonic clock in microseconds used for sent_at_us. */
long long sg_edgegap_clock_us(void);

/* ------------------------------------------------------------------------------------------
 * Pace (token bucket, GCRA): at most `burst` requests at once, then `rate` per second, for
 * every client that holds this pace. A 429 with Retry-After holds every such client until
 * then (at most backoff_max_ms of the client that saw it). Clients that call one Edgegap
 * organisation from one process should share one pace, since the limit is the
 * organisation's; tools and tests that talk to a simulator give theirs rate 0.
 * ---------------------------------------------------------------------------------------- */

/* Deletes take this share (0..0.9) of the rate and burst in a lane of their own, so that a
 * wave of departures never delays arriving players' creates and polls; everything else uses
 * the rest. 0: one lane for all. */
#define SG_EDGEGAP_DELETE_SHARE_DEFAULT 0.3

/* A full bucket of `burst` (at least 1) at `rate` per second (<= 0: unpaced). One reference,
 * dropped by sg_edgegap_pace_free; each client holding it takes its own. */
sg_status sg_edgegap_pace_new(double rate, int burst, double delete_share, sg_edgegap_pace **out);
/* Another reference to p (returned). */
sg_edgegap_pace *sg_edgegap_pace_ref(sg_edgegap_pace *p);
/* Drops one reference; the last frees it. NULL is ignored. */
void sg_edgegap_pace_free(sg_edgegap_pace *p);
/* How long a player's call (a create or a poll) submitted now would wait for the client's
 * pace (ms, 0 when it would go at once, also while Edgegap's Retry-After holds it), and how
 * many calls that wait stands for (the calls ahead in line, rounded up). Any thread. */
void sg_edgegap_client_queue(sg_edgegap_client *c, long long *wait_ms, int *ahead);

/* ------------------------------------------------------------------------------------------
 * Settings fragment for programs: add sg_edgegap_settings to a program's configuration
 * (sg_config_add), then build options with sg_edgegap_options_from_config.
 * ---------------------------------------------------------------------------------------- */

extern const sg_setting sg_edgegap_settings[];
extern const size_t sg_edgegap_settings_count;

/* The shortest API key accepted from settings (after an optional "token " prefix): Edgegap's
 * keys are UUIDs, so anything shorter is a mistake, and a short value could also match
 * ordinary words when messages are redacted. */
#define SG_EDGEGAP_API_KEY_MIN 16

/* Fills o from a loaded config whose table includes sg_edgegap_settings (defaults for the
 * rest). Strings point into cfg: keep cfg alive until sg_edgegap_client_new returns.
 * Errors: SG_E_INVALID naming the setting (an API key that cannot be an Edgegap key, a URL
 * that is not http:// or https://); the key itself is never echoed. */
sg_status sg_edgegap_options_from_config(const sg_config *cfg, sg_edgegap_options *o);

#ifdef __cplusplus
}
#endif
#endif
