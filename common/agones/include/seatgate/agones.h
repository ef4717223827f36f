/* seatgate's Agones layer: the bodies of the agones-allocator REST API and of the game-server
 * SDK's REST gateway, and a small blocking client for the SDK sidecar on localhost.
 *
 * Both APIs are grpc-gateway over protobuf with proto field names, every field emitted and
 * 64-bit integers as JSON strings (docs/agones.md); the parsers accept an int64 written as a
 * number or as a string, ignore unknown fields, and type-check everything else. Parsed
 * strings are copied into fixed fields (longer ones are refused as malformed). Thread-safe;
 * the SDK client is used from one thread at a time.
 */
#ifndef SEATGATE_AGONES_H
#define SEATGATE_AGONES_H

#include <stdbool.h>
#include <stddef.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_AGONES_NAME_MAX 254 /* Kubernetes names, label values, addresses (and a NUL) */
#define SG_AGONES_MAX_PORTS 16
#define SG_AGONES_MAX_ADDRESSES 16
#define SG_AGONES_MAX_LABELS 16
#define SG_AGONES_MAX_VALUES 1000 /* a List holds at most 1,000 values in Agones */

typedef struct sg_agones_port {
    char name[64];
    int port;
} sg_agones_port;

typedef struct sg_agones_address {
    char type[32]; /* "ExternalIP", "InternalIP", "ExternalDNS", "InternalDNS", "Hostname", "PodIP" */
    char address[SG_AGONES_NAME_MAX];
} sg_agones_address;

typedef struct sg_agones_pair {
    const char *key, *value;
} sg_agones_pair;

/* ---- allocation (agones-allocator, POST /gameserverallocation) ---------------------------- */

typedef struct sg_agones_alloc_params {
    const char *namespace_;            /* required */
    const char *fleet;                 /* matchLabels agones.dev/fleet (NULL: no fleet label) */
    const sg_agones_pair *match_labels; /* further matchLabels of both selectors */
    size_t match_label_count;
    const char *scheduling; /* "Packed" or "Distributed" (NULL: Packed) */
    /* The seat: value added to the list (required), in one request with the selectors
     * "an Allocated server with room in the list" first, then "a Ready one". */
    const char *list;  /* list name, e.g. "players" (required) */
    const char *value; /* the seat id */
    const sg_agones_pair *labels; /* metadata.labels / annotations set at allocation */
    size_t label_count;
    const sg_agones_pair *annotations;
    size_t annotation_count;
    bool ready_only; /* only the "Ready" selector (each player gets a server of their own) */
} sg_agones_alloc_params;

/* The request body (malloc()ed JSON). SG_E_INVALID naming a missing field, SG_E_NOMEM. */
sg_status sg_agones_allocation_body(const sg_agones_alloc_params *p, char **out);

/* The body that frees a seat through the allocator: a selector matching the Allocated server
 * of the fleet whose list contains value, and the value deleted from the list (the allocator
 * answers "no GameServer" when no server holds it: already gone). fleet may be NULL. */
sg_status sg_agones_release_body(const char *namespace_, const char *fleet, const char *list,
                                 const char *value, char **out);

typedef struct sg_agones_allocation {
    char game_server_name[SG_AGONES_NAME_MAX];
    char address[SG_AGONES_NAME_MAX];
    char node_name[SG_AGONES_NAME_MAX];
    char source[SG_AGONES_NAME_MAX];
    sg_agones_port ports[SG_AGONES_MAX_PORTS];
    size_t port_count;
    sg_agones_address addresses[SG_AGONES_MAX_ADDRESSES];
    size_t address_count;
    /* The list named when parsing: its capacity and how many values it holds (-1: absent). */
    long long list_capacity;
    long long list_count;
    bool list_has_value; /* holds the value named when parsing */
} sg_agones_allocation;

/* Parses an AllocationResponse. list/value name the list and seat to report on (may be NULL).
 * SG_E_MALFORMED when the body is not one, or lacks gameServerName. */
sg_status sg_agones_parse_allocation(const char *body, size_t len, const char *list,
                                     const char *value, sg_agones_allocation *out);

/* A grpc-gateway error body {"code": <gRPC code>, "message": ...}: *code is -1 and message ""
 * when unreadable. Never fails. */
void sg_agones_parse_error(const char *body, size_t len, int *code, char *message, size_t size);

/* The address a player connects to: the primary address, or the first address of the given
 * type ("" or NULL: primary) from addresses. NULL when there is none. */
const char *sg_agones_pick_address(const sg_agones_address *addrs, size_t count,
                                   const char *primary, const char *type);

/* ---- the game-server SDK (sidecar REST) --------------------------------------------------- */

typedef struct sg_agones_gameserver {
    char name[SG_AGONES_NAME_MAX];
    char namespace_[SG_AGONES_NAME_MAX];
    char uid[64];
    char state[32]; /* "Scheduled", "RequestReady", "Ready", "Allocated", "Shutdown", ... */
    char address[SG_AGONES_NAME_MAX];
    char node_name[SG_AGONES_NAME_MAX]; /* "" when the SDK does not say */
    sg_agones_port ports[SG_AGONES_MAX_PORTS];
    size_t port_count;
    sg_agones_address addresses[SG_AGONES_MAX_ADDRESSES];
    size_t address_count;
    bool health_disabled;
    long long health_period_s, health_failure_threshold, health_initial_delay_s; /* -1: absent */
    /* Where it runs, from the annotations seatgate.dev/city, seatgate.dev/country,
     * seatgate.dev/latitude and seatgate.dev/longitude (set in the Fleet's template):
     * "" / false when absent or unreadable (never an error: they are the operator's). */
    char city[64], country[64];
    bool has_coords;
    double latitude, longitude;
    /* The list named when parsing (-1 / 0 when absent); values malloc()ed with the struct. */
    long long list_capacity;
    char **list_values;
    size_t list_count;
} sg_agones_gameserver;

/* The label a game server's hook gives its own GameServer (SDK SetLabel of
 * SG_AGONES_NAME_LABEL_KEY, which Agones prefixes with "agones.dev/sdk-"): its name, so that
 * an allocation can ask for that one GameServer by label. */
#define SG_AGONES_NAME_LABEL_KEY "seatgate-gameserver"
#define SG_AGONES_NAME_LABEL "agones.dev/sdk-" SG_AGONES_NAME_LABEL_KEY
/* The annotations placement reads a GameServer's location from. */
#define SG_AGONES_CITY_ANNOTATION "seatgate.dev/city"
#define SG_AGONES_COUNTRY_ANNOTATION "seatgate.dev/country"
#define SG_AGONES_LATITUDE_ANNOTATION "seatgate.dev/latitude"
#define SG_AGONES_LONGITUDE_ANNOTATION "seatgate.dev/longitude"

/* Parses a GameServer as GET /gameserver answers it, or one line of /watch/gameserver
 * ({"result": GameServer}). SG_E_MALFORMED, SG_E_NOMEM. */
sg_status sg_agones_parse_gameserver(const char *body, size_t len, const char *list,
                                     sg_agones_gameserver **out);
void sg_agones_gameserver_free(sg_agones_gameserver *gs);
bool sg_agones_gameserver_has_value(const sg_agones_gameserver *gs, const char *value);

/* Parses a List as GET /v1beta1/lists/{name} answers it ({"name","capacity","values"}):
 * *capacity (-1 when absent), *count of values, and *has_value whether value is among them
 * (value may be NULL). SG_E_MALFORMED. */
sg_status sg_agones_parse_list(const char *body, size_t len, const char *value,
                               long long *capacity, size_t *count, bool *has_value);

/* A blocking client of the sidecar at http://127.0.0.1:<port> (bounded by timeout_ms). */
typedef struct sg_agones_sdk sg_agones_sdk;

sg_status sg_agones_sdk_new(int port, long long timeout_ms, sg_agones_sdk **out);
void sg_agones_sdk_free(sg_agones_sdk *s);

/* One call: method and path ("/ready", "/v1beta1/lists/players:addValue"), a JSON body (NULL:
 * none). *http_status gets the answer's status (0 when none); *answer, when not NULL, the
 * malloc()ed body. SG_OK for a 2xx; SG_E_NETWORK when the sidecar cannot be reached (not up
 * yet, or gone); SG_E_TIMEOUT; SG_E_BAD_REQUEST (400), SG_E_NOT_FOUND (404), SG_E_SERVER
 * (other statuses), with the sidecar's message in sg_last_error(). */
sg_status sg_agones_sdk_call(sg_agones_sdk *s, const char *method, const char *path,
                             const char *body, int *http_status, char **answer);

/* The usual calls, over sg_agones_sdk_call. */
sg_status sg_agones_sdk_ready(sg_agones_sdk *s);
sg_status sg_agones_sdk_health(sg_agones_sdk *s);
sg_status sg_agones_sdk_shutdown(sg_agones_sdk *s);
/* PUT /metadata/label: the GameServer's label "agones.dev/sdk-<key>" = value. */
sg_status sg_agones_sdk_set_label(sg_agones_sdk *s, const char *key, const char *value);
sg_status sg_agones_sdk_get_gameserver(sg_agones_sdk *s, const char *list,
                                       sg_agones_gameserver **out);
/* POST /v1beta1/lists/{list}:addValue / :removeValue. A removeValue of a value not in the
 * list is SG_E_NOT_FOUND (404, gRPC NotFound); an addValue of one already there SG_E_EXISTS
 * (409, AlreadyExists); an addValue to a full list SG_E_FULL (400, OutOfRange). */
sg_status sg_agones_sdk_list_add(sg_agones_sdk *s, const char *list, const char *value);
sg_status sg_agones_sdk_list_remove(sg_agones_sdk *s, const char *list, const char *value);

#ifdef __cplusplus
}
#endif
#endif
