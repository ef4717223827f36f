/* seatgate Edgegap simulator: the modules of seatgate-edgegap-sim and how they meet.
 *
 * catalog  (sim_catalog.c)  apps, versions and deployment specs, from JSON or built in
 * body     (sim_body.c)     parsing of untrusted request bodies (POST /v1/session...)
 * state    (sim_state.c)    sessions, deployments and seats; one mutex; time-driven moves
 * render   (sim_render.c)   the JSON bodies Edgegap answers with, and ARBITRIUM_* env
 * faults   (sim_faults.c)   injected errors, latency, hangs, bursts, 429s; rate limiting
 * webhook  (sim_webhook.c)  background POSTs of session bodies to webhook_url
 * server   (sim_server.c)   libmicrohttpd, routing, auth, suspend/resume
 *
 * Everything here is test infrastructure: it never talks to the real Edgegap.
 */
#ifndef SEATGATE_SIM_H
#define SEATGATE_SIM_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "seatgate/addr.h"
#include "seatgate/status.h"

#define SIM_NAME_MAX 65 /* app/version names: 1..64 chars */
#define SIM_RID_LEN 12  /* request ids: 12 lower-case hex chars */
#define SIM_SID_MAX 24  /* session ids: "<12 hex>-S" */
#define SIM_MAX_PORTS 8
#define SIM_MAX_TAGS 8
#define SIM_MAX_IPS 64   /* entries accepted in ip_list / geo_ip_list */
#define SIM_TOKEN_MAX 65 /* context/delete tokens: up to 64 chars */

/* ---- catalog ---------------------------------------------------------------------------- */

typedef enum sim_kind { SIM_KIND_DEFAULT = 0, SIM_KIND_SEAT, SIM_KIND_MATCH } sim_kind;

const char *sim_kind_name(sim_kind k);

typedef struct sim_port {
    char name[33];
    int internal;
    int external; /* 0 in a template: allocated per deployment */
    char protocol[8];
    bool tls_upgrade;
} sim_port;

typedef struct sim_location {
    char city[49], country[49], continent[33], division[49], timezone[49];
    double latitude, longitude;
} sim_location;

/* A deployment as configured: a version's autodeploy template or one of its static
 * deployments (created at start). */
typedef struct sim_deploy_spec {
    char request_id[SIM_RID_LEN + 1]; /* static only; "" = random */
    char public_ip[64];
    char fqdn[128]; /* "{request_id}" is replaced; "" = "<request_id>.pr.edgegap.net" */
    sim_port ports[SIM_MAX_PORTS];
    size_t n_ports;
    sim_location location;
    char tags[SIM_MAX_TAGS][33];
    size_t n_tags;
    long long start_delay_ms; /* < 0: starts only when told (POST /_sim/deployments/ID/ready) */
    /* Static only: fixed secrets so --print-env in another process matches. "" / 0 = derived
     * from the token seed and the request id. */
    char context_token[SIM_TOKEN_MAX];
    char delete_token[SIM_TOKEN_MAX];
    int security_number;
} sim_deploy_spec;

typedef struct sim_version {
    char app[SIM_NAME_MAX];
    char name[SIM_NAME_MAX];
    int id; /* numeric app version id (session "app_version") */
    bool app_active, active;
    sim_kind kind;
    int sockets;
    bool autodeploy;
    int empty_ttl; /* minutes; reported only */
    long long link_delay_ms;
    sim_deploy_spec tmpl; /* template for autodeploy and POST /_sim/deployments */
    sim_deploy_spec *statics;
    size_t n_statics;
    /* Where autodeploy may start a deployment: the template in each of these locations (the
     * nearest to the player; none: the template's own location). */
    sim_deploy_spec *regions;
    size_t n_regions;
    /* With the player's position known, a deployment farther than this (simulated RTT) is
     * not linked; autodeploy starts one nearer instead (0: any distance). */
    double link_within_ms;
} sim_version;

/* Where the players of an address range are (config "ip_locations"): for sessions that
 * send an ip_list without coordinates. */
typedef struct sim_ip_location {
    sg_cidr cidr;
    char name[49];
    double latitude, longitude;
} sim_ip_location;

typedef struct sim_catalog {
    sim_version *versions;
    size_t n;
    sim_ip_location *ip_locations;
    size_t n_ip_locations;
} sim_catalog;

/* The simulated round trip between two points: 5 ms plus the great-circle path both ways at
 * 200 km/ms, stretched 1.6 times (the figure /_sim/state reports per session). */
double sim_rtt_ms(double lat1, double lon1, double lat2, double lon2);

/* Built-in catalog: app "demo", version "v1" (Seat, 32 sockets, no autodeploy) and one
 * ready deployment on 127.0.0.1 with UDP port "game" 7777. */
sg_status sim_catalog_default(sim_catalog *out);
/* Loads a JSON config file (format in docs/edgegap-sim.md). Errors name the field. */
sg_status sim_catalog_load(const char *path, sim_catalog *out);
sg_status sim_catalog_parse(const char *text, size_t len, sim_catalog *out);
void sim_catalog_free(sim_catalog *c);
/* Version by app and name; name NULL = the app's last listed version. */
const sim_version *sim_catalog_find(const sim_catalog *c, const char *app, const char *name);

/* ---- request bodies --------------------------------------------------------------------- */

typedef struct sim_ip {
    char ip[46];
    bool has_geo;
    double latitude, longitude;
} sim_ip;

/* The parts of a POST /v1/session body the simulator uses. */
typedef struct sim_session_req {
    char app[SIM_NAME_MAX];
    char version[SIM_NAME_MAX]; /* "" = latest */
    sim_ip ips[SIM_MAX_IPS];
    size_t n_ips;
    char deployment_request_id[SIM_RID_LEN + 1]; /* "" = any */
    char *webhook_url;                           /* malloc()ed or NULL */
    char *selectors_json;                        /* "selectors" as given, or NULL */
} sim_session_req;

/* Parses and validates a session request. SG_E_MALFORMED for bad JSON, SG_E_INVALID for a
 * wrong type or value, with sg_last_error() naming the field. On error *out is cleared. */
sg_status sim_session_req_parse(const char *body, size_t len, sim_session_req *out);
void sim_session_req_clear(sim_session_req *r);

/* ---- faults and rate limits --------------------------------------------------------------- */

typedef struct sim_faults sim_faults;

typedef struct sim_fault_settings {
    double error_rate; /* 0..1: fraction of API calls answered with error_status */
    int error_status;  /* 500, 503..., or 0 = 500 or 503 at random */
    long long latency_ms;
    bool hang;
    long long burst; /* the next N API calls fail with burst_status */
    int burst_status;
    long long force_429; /* the next N API calls get 429 */
    int retry_after_s;   /* Retry-After on forced 429s */
    /* Faults after the work is done (POST /v1/session only): the session is created, then */
    long long lose_create_answers;    /* the next N answers are lost (connection closed) */
    long long create_answer_delay_ms; /* the answer leaves this much later */
} sim_fault_settings;

typedef enum sim_fault_action {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_STATUS,
    SIM_FAULT_429
} sim_fault_action;

sim_faults *sim_faults_new(const sim_fault_settings *initial, double rate_rps, double rate_burst);
void sim_faults_free(sim_faults *f);
/* Applies a JSON object of settings (only the keys present); SG_E_INVALID names a bad key. */
sg_status sim_faults_update(sim_faults *f, const cJSON *obj);
void sim_faults_clear(sim_faults *f);
void sim_faults_get(sim_faults *f, sim_fault_settings *out);
cJSON *sim_faults_to_json(sim_faults *f);
/* Per request, after latency/hang: what to answer instead of the real thing. */
sim_fault_action sim_faults_decide(sim_faults *f, int *status, int *retry_after_s);
/* After a successful POST /v1/session: what happens to its answer. */
typedef enum sim_after_action {
    SIM_AFTER_ANSWER = 0, /* answer now */
    SIM_AFTER_DROP,       /* close the connection without an answer */
    SIM_AFTER_DELAY       /* answer after *delay_ms */
} sim_after_action;
sim_after_action sim_faults_after_create(sim_faults *f, long long *delay_ms);
/* Token bucket per key (the caller passes a digest of the key, never the key). Returns true
 * when allowed; else *retry_after_s is set. */
bool sim_rate_allow(sim_faults *f, const unsigned char key_digest[32], int *retry_after_s);

/* ---- webhooks ----------------------------------------------------------------------------- */

typedef struct sim_webhooks sim_webhooks;

sim_webhooks *sim_webhooks_new(int threads, long timeout_ms);
/* Stops the workers; jobs not yet started are dropped. */
void sim_webhooks_free(sim_webhooks *w);
/* Queues a POST of body to url (copied). Never blocks; a full queue records a drop. */
void sim_webhooks_post(sim_webhooks *w, const char *url, const char *body, const char *session_id,
                       const char *status);
cJSON *sim_webhooks_to_json(sim_webhooks *w);

/* ---- state -------------------------------------------------------------------------------- */

typedef struct sim_state sim_state;

typedef struct sim_state_opts {
    const char *public_url; /* base of ARBITRIUM_CONTEXT_URL / DELETE_URL */
    const char *token_seed; /* derives static deployments' tokens */
    int external_port_base; /* first external port handed to template ports */
    sim_webhooks *webhooks; /* may be NULL */
} sim_state_opts;

/* Builds the state and the catalog's static deployments. Takes no ownership of cat. */
sg_status sim_state_new(const sim_catalog *cat, const sim_state_opts *opts, sim_state **out);
void sim_state_free(sim_state *s);
/* Sets the base URL used in ARBITRIUM_CONTEXT_URL / DELETE_URL (known once listening). */
void sim_state_set_public_url(sim_state *s, const char *url);

/* API operations. Each returns the HTTP status and sets *out to the JSON body (caller
 * frees); errors carry Edgegap's {"message": "..."} body. Thread-safe. */
int sim_state_create_session(sim_state *s, const sim_session_req *req, cJSON **out);
int sim_state_get_session(sim_state *s, const char *id, cJSON **out);
int sim_state_delete_session(sim_state *s, const char *id, cJSON **out);
int sim_state_list_sessions(sim_state *s, long long page, long long limit, cJSON **out);
int sim_state_app_version(sim_state *s, const char *app, const char *version, cJSON **out);
int sim_state_deployment_status(sim_state *s, const char *rid, cJSON **out);
int sim_state_context(sim_state *s, const char *rid, const char *security_number,
                      const char *authorization, cJSON **out);
int sim_state_self_stop(sim_state *s, const char *rid, const char *access_point,
                        const char *authorization, cJSON **out);
int sim_state_stop_deployment(sim_state *s, const char *rid, cJSON **out);
/* Admin: start a deployment now; add one from a version's template ({"app", "version",
 * "start_delay_ms"}); ARBITRIUM_* lines of one deployment (malloc()ed text). */
int sim_state_mark_ready(sim_state *s, const char *rid, cJSON **out);
/* Admin: the deployment fails; sessions still Seeking on it turn Error (webhook sent),
 * Ready ones are cleaned up as with a stop. */
int sim_state_fail_deployment(sim_state *s, const char *rid, cJSON **out);
int sim_state_add_deployment(sim_state *s, const cJSON *body, cJSON **out);
int sim_state_env(sim_state *s, const char *rid, char **text);

/* Request accounting for /_sim/state ("GET /v1/session/{id} 200": count). */
void sim_state_count(sim_state *s, const char *method, const char *route, int status);
cJSON *sim_state_snapshot(sim_state *s);
/* Only its "requests" and "counters" (GET /_sim/requests): no per-session lists. */
cJSON *sim_state_counts(sim_state *s);

/* Moves time-driven statuses forward; returns the monotonic ms of the next due event
 * (LLONG_MAX when none). Called by the ticker and before every read. */
long long sim_state_tick(sim_state *s);

/* ARBITRIUM_* environment of a static deployment computed from the catalog alone (for
 * --print-env in a process that is not the running simulator). */
sg_status sim_static_env(const sim_catalog *cat, const sim_state_opts *opts, const char *rid,
                         char **text);

/* ---- server ------------------------------------------------------------------------------- */

typedef struct sim_server sim_server;

typedef struct sim_server_opts {
    const char *listen_address; /* IPv4 or IPv6 literal */
    int port;                   /* 0 = any free port */
    int threads;                /* MHD thread pool size */
    unsigned connection_limit;
    size_t max_body;
    const char *api_key; /* organisation key (never logged) */
} sim_server_opts;

/* Starts listening; the state, faults and webhooks must outlive the server. */
sg_status sim_server_start(const sim_server_opts *o, sim_state *state, sim_faults *faults,
                           sim_webhooks *webhooks, sim_server **out);
int sim_server_port(const sim_server *s);
/* Answers every suspended request (503), then stops and frees the server. */
void sim_server_stop(sim_server *s);

/* ---- helpers ---------------------------------------------------------------------------- */

long long sim_now_ms(void);                       /* monotonic milliseconds */
void sim_random_hex(char *out, size_t hex_chars); /* writes hex_chars + NUL */
cJSON *sim_error_body(const char *message);
/* Constant-time comparison of a presented secret with the expected one (digests compared, so
 * neither content nor length leaks through timing). NULL given never matches. */
bool sim_secret_equal(const char *given, const char *expected);
/* 32-byte digest of a secret, used to key per-organisation state without keeping the key. */
void sim_secret_digest(const char *secret, unsigned char out[32]);

#endif
