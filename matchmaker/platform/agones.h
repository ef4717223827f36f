/* seatgate matchmaker: the Agones platform (a seat is one value in a GameServer's List).
 *
 * create: POST /gameserverallocation on agones-allocator with two selectors, "an Allocated
 * server of the fleet with room in the list" then "a Ready one", and the seat id added to the
 * list in the same request; the answer is the seat, ready at once (poll answers from memory).
 * release: an allocation that matches the Allocated server whose list holds the seat and
 * deletes the value (no match: already gone). There is no listing: a seat whose create answer
 * was lost stays in the list until the game server's hook removes it at its claim deadline.
 * Calls run on the platform's own thread (a libcurl multi handle); 409 (contention) is
 * retried with backoff.
 */
#ifndef SEATGATE_MM_PLATFORM_AGONES_H
#define SEATGATE_MM_PLATFORM_AGONES_H

#include "orchestrator.h"
#include "seatgate/agones.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How players reach the allocated server (the address and port the answer and token use). */
typedef enum sg_agones_exposure {
    SG_AGONES_HOSTPORT = 0, /* the node's address and the GameServer's host port */
    SG_AGONES_NODEPORT,     /* the node's address and a configured Kubernetes NodePort */
    SG_AGONES_CONTAINERPORT, /* the pod's address and the container port: inside the network */
    SG_AGONES_GATEWAY        /* players dial one gateway URL; it forwards to the server */
} sg_agones_exposure;

typedef struct sg_agones_orch_options {
    const char *allocator_url; /* "https://host:443" or "http://..." (plain: local use) */
    const char *client_cert, *client_key; /* PEM files: mTLS (both or neither) */
    const char *ca_cert;                  /* PEM file the allocator's certificate chains to */
    const char *namespace_;
    const char *fleet;
    const sg_agones_pair *match_labels;
    size_t match_label_count;
    const char *scheduling; /* "Packed" (NULL) or "Distributed" */
    const char *list;       /* "players" */
    bool one_per_server;    /* never join an Allocated server: each seat gets a Ready one */
    long long timeout_ms;   /* per attempt */
    int contention_retries; /* 409 retried this many times */
    int unallocated_status; /* the allocator's HTTP status for "no GameServer" (429) */
    long long no_capacity_retry_ms; /* Retry-After given with no capacity */
    sg_agones_exposure exposure;
    const char *address_type; /* "" or NULL: the primary address; else e.g. "ExternalIP" */
    const char *port_name;    /* the game port by name ("": the first) */
    int node_port;            /* nodeport exposure */
    int container_port;       /* containerport exposure */
    /* gateway exposure: the URL players dial, "{server}" replaced by the GameServer's name
     * (also the seat's route), "{port}" by its port */
    const char *gateway_url;
} sg_agones_orch_options;

/* Errors: SG_E_INVALID (options; names the bad one), SG_E_NOMEM, SG_E_IO (thread). */
sg_status sg_orchestrator_agones_new(const sg_agones_orch_options *o, sg_orchestrator *out);

/* The seat an allocation answer describes for the given options (pure; tests drive it).
 * SG_E_MALFORMED when the answer lacks what the exposure needs (message says what). */
sg_status sg_seat_from_agones(const sg_agones_orch_options *o, const sg_agones_allocation *a,
                              const char *seat_id, sg_seat *out);

const char *sg_agones_exposure_name(sg_agones_exposure e);

#ifdef __cplusplus
}
#endif
#endif
