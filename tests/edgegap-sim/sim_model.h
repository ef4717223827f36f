/* The simulator's runtime model, shared by sim_state.c (which changes it under its mutex)
 * and sim_render.c (which turns it into Edgegap's JSON bodies; called with the mutex held). */
#ifndef SEATGATE_SIM_MODEL_H
#define SEATGATE_SIM_MODEL_H

#include <time.h>

#include "seatgate/clock.h"
#include "sim.h"

typedef enum dep_state { DEP_STARTING = 0, DEP_READY, DEP_STOPPED } dep_state;

typedef struct sim_deployment {
    char request_id[SIM_RID_LEN + 1];
    const sim_version *ver;
    char public_ip[64];
    char fqdn[160];
    sim_port ports[SIM_MAX_PORTS];
    size_t n_ports;
    sim_location location;
    char tags[SIM_MAX_TAGS][33];
    size_t n_tags;
    dep_state state;
    long long ready_at_ms; /* monotonic; LLONG_MAX = when told */
    time_t start_wall;
    int sockets, used;
    bool autodeployed;
    int security_number;
    int access_point;
    char context_token[SIM_TOKEN_MAX];
    char delete_token[SIM_TOKEN_MAX];
    struct sim_deployment *next;
} sim_deployment;

/* Session statuses as Edgegap names them. */
typedef enum ses_status { SES_SEEKING = 0, SES_READY, SES_UNPROCESSABLE, SES_ERROR } ses_status;

typedef struct sim_session {
    char id[SIM_SID_MAX];
    const sim_version *ver;
    sim_deployment *dep; /* linked deployment, or NULL */
    ses_status status;
    int seats; /* seats held on dep */
    sim_ip *ips; /* n_ips of them (malloc()ed: most sessions have one, and 100,000 held
                  * sessions must stay small) */
    size_t n_ips;
    char *webhook_url;
    char *selectors_json;
    char requested_rid[SIM_RID_LEN + 1];
    bool has_pos; /* where the player is: geo_ip_list, else the ip_locations table */
    double latitude, longitude;
    char error[160];
    long long created_ms;
    struct timespec created_wall;
    bool terminated; /* its deployment ended: a tombstone (GET 404, DELETE 410) */
    long long terminated_ms;
    struct sim_session *hnext;       /* hash chain */
    struct sim_session *prev, *next; /* creation order */
    sg_heap_node wake; /* while seeking: when to look at it again (monotonic ms) */
} sim_session;

const char *sim_ses_status_name(ses_status s);

/* Bodies (new cJSON trees). */
cJSON *sim_render_session(const sim_session *s, long long now_ms); /* GET /v1/session */
cJSON *sim_render_session_created(const sim_session *s);           /* POST answer */
cJSON *sim_render_session_context(const sim_session *s);           /* list entries */
cJSON *sim_render_deployment(const sim_deployment *d);             /* session.deployment */
cJSON *sim_render_ports(const sim_deployment *d, bool full);
cJSON *sim_render_location(const sim_location *l);
cJSON *sim_render_context(const sim_deployment *d);                  /* /v1/context */
cJSON *sim_render_status(const sim_deployment *d, long long now_ms); /* /v1/status */
cJSON *sim_render_app_version(const sim_version *v);
/* KEY=VALUE lines (malloc()ed) for ARBITRIUM_* variables. */
char *sim_render_env(const sim_deployment *d, const char *public_url);

#endif
