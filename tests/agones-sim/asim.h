/* seatgate-agones-sim: a local stand-in for Agones (docs/agones-sim.md).
 *
 * state  (asim_state.c)  the fleet: nodes, GameServers and their state machine, Lists,
 *                        health checking, allocation (selectors, Packed/Distributed,
 *                        priorities), the JSON bodies of both APIs; one mutex
 * http   (asim_http.c)   libmicrohttpd: the allocator (plain, TLS or mTLS), one SDK sidecar
 *                        per GameServer on its own port, the /_sim admin API; main()
 *
 * Test infrastructure only: it never talks to a real cluster.
 */
#ifndef SEATGATE_ASIM_H
#define SEATGATE_ASIM_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "seatgate/status.h"

typedef struct asim asim;

/* What an HTTP route answers: status and a JSON body (owned, freed after sending). */
typedef struct asim_answer {
    int status;
    cJSON *json;
    long long delay_ms; /* a latency fault: the HTTP layer waits this long before answering */
} asim_answer;

/* Starts and stops a GameServer's sidecar (asim_http.c): the state calls these, with its
 * mutex held, when a GameServer is made or removed or its sidecar is killed or revived.
 * start returns the port it listens on (0 when it could not start). */
typedef struct asim_sidecars {
    int (*start)(void *ctx, const char *gs_name, int want_port);
    void (*stop)(void *ctx, const char *gs_name);
    void *ctx;
} asim_sidecars;

/* Reads the fleet config (a JSON file; NULL: the built-in one) and makes the GameServers.
 * SG_E_INVALID with the reason. */
sg_status asim_new(const char *config_path, const asim_sidecars *sc, asim **out);
void asim_free(asim *s);

/* Moves simulated time on (health checks, RequestReady -> Ready, removal and replacement).
 * Called every 100 ms. */
void asim_tick(asim *s);

/* POST /gameserverallocation (allocator). */
void asim_allocate(asim *s, const char *body, size_t len, asim_answer *a);
/* Any request to the SDK sidecar of GameServer gs. */
void asim_sdk(asim *s, const char *gs, const char *method, const char *url, const char *body,
              size_t len, bool has_body, asim_answer *a);
/* The /_sim admin API. */
void asim_admin(asim *s, const char *method, const char *url, const char *body, size_t len,
                asim_answer *a);
/* The answer of the allocator for an unknown path or method. */
void asim_not_routed(bool method_only, asim_answer *a);
/* Counts a request the allocator refused before any route (mTLS). */
void asim_count_refused(asim *s);

/* Writes one line per GameServer, "<name> <sdk port> <first game port> <state>", to path
 * (replaced atomically; for scripts that start a game process per GameServer). */
sg_status asim_write_servers(asim *s, const char *path);

#endif
