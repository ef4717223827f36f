/* Between the MHD plumbing (sim_server.c) and the routes (sim_routes.c). */
#ifndef SEATGATE_SIM_HTTP_H
#define SEATGATE_SIM_HTTP_H

#include <microhttpd.h>
#include <pthread.h>

#include "sim.h"

/* One request as the routes see it. */
typedef struct sim_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *body;
    size_t body_len;
    bool body_too_large;
} sim_request;

/* What to answer. json or text (both owned, freed after sending). */
typedef struct sim_response {
    int status;
    cJSON *json;
    char *text;
    int retry_after_s;      /* > 0: Retry-After header */
    char route[64];         /* templated route for request counts */
    sim_after_action after; /* lose or delay the answer (a created session only) */
    long long after_delay_ms;
} sim_response;

typedef struct sim_sink sim_sink; /* recorded POSTs to /_sim/webhook-sink */

typedef struct sim_routes {
    sim_state *state;
    sim_faults *faults;
    sim_webhooks *webhooks;
    unsigned char key_digest[32];
    const char *api_key;
    sim_sink *sink;
    volatile bool stopping;
    /* Hooks into the server for /_sim/state and fault changes. */
    cJSON *(*server_stats)(void *server);
    void (*faults_changed)(void *server);
    void *server;
} sim_routes;

sim_sink *sim_sink_new(void);
void sim_sink_free(sim_sink *s);

/* Fills r for req. Never blocks. */
void sim_route(sim_routes *rt, const sim_request *req, sim_response *r);

#endif
