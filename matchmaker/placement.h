/* seatgate matchmaker: where a player should play (the placement policy).
 *
 * Pure functions over a table of live game servers (what the hooks keep in the gameserver
 * bucket) and what is known of the player; the tests drive them directly.
 *
 *   1. An RTT estimate per server, best source first: the round trips the client measured
 *      and sent ("rtts": location name -> ms, matched against the server's city), else the
 *      great-circle distance from the player's GeoIP position turned into milliseconds
 *      (sg_place_rtt_from_km), else none.
 *   2. Candidates: servers whose heartbeat is fresh (stale ones are never chosen), with a
 *      known capacity and a free seat (players < capacity), within the latency budget.
 *   3. Choice: `fill` takes the candidate with the most players (ties: lower RTT) among
 *      those within fill_slack_ms of the closest candidate, so servers with people on them
 *      fill before empty ones without trading much latency for it; `nearest` takes the
 *      lowest RTT.
 *      With no candidate the platform is asked for a new seat near the player; with no
 *      estimate at all (or `platform`), the platform decides alone, as before.
 */
#ifndef SEATGATE_MM_PLACEMENT_H
#define SEATGATE_MM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_place_mode {
    SG_PLACE_PLATFORM = 0, /* the platform decides (the player's IP is all it gets) */
    SG_PLACE_FILL,         /* the fullest server within the budget */
    SG_PLACE_NEAREST       /* the lowest-latency server within the budget */
} sg_place_mode;

/* "platform", "fill", "nearest"; false for anything else. */
bool sg_place_mode_parse(const char *text, sg_place_mode *out);
const char *sg_place_mode_name(sg_place_mode m);

typedef struct sg_place_server {
    const char *id;   /* the platform's id of the server (Edgegap request id) */
    const char *city; /* its location's name ("" unknown): what client RTTs are keyed by */
    bool has_coords;
    double latitude, longitude;
    int players, capacity; /* capacity <= 0: unknown, never joined */
    long long heartbeat_at; /* unix ms */
} sg_place_server;

typedef struct sg_place_rtt {
    const char *name; /* a location (city) name, compared without regard to case */
    double ms;
} sg_place_rtt;

typedef struct sg_place_player {
    const sg_place_rtt *rtts; /* measured by the client; may be NULL */
    size_t rtt_count;
    bool has_coords; /* from GeoIP */
    double latitude, longitude;
} sg_place_player;

typedef enum sg_place_source {
    SG_PLACE_NO_ESTIMATE = 0,
    SG_PLACE_MEASURED, /* the client's own round trip to that location */
    SG_PLACE_GEOIP     /* distance from the player's GeoIP position */
} sg_place_source;

const char *sg_place_source_name(sg_place_source s);

typedef struct sg_place_options {
    sg_place_mode mode;
    double budget_ms;  /* candidates' estimate at most this */
    double fill_slack_ms; /* fill: how much farther than the closest candidate a fuller one
                           * may be (<= 0: any, within the budget) */
    long long stale_ms; /* a heartbeat older than this is a stale server */
    long long now_ms;   /* unix ms */
} sg_place_options;

typedef enum sg_place_kind {
    SG_PLACE_ASK_PLATFORM = 0, /* no decision: the platform chooses (mode platform, or no
                                * estimate for any server and no position) */
    SG_PLACE_JOIN,             /* join servers[server] */
    SG_PLACE_NEW_SERVER        /* nothing fits: a new seat near the player */
} sg_place_kind;

const char *sg_place_kind_name(sg_place_kind k); /* "platform", "joined", "new_server" */

typedef struct sg_place_decision {
    sg_place_kind kind;
    size_t server;          /* JOIN: the index into servers */
    double rtt_ms;          /* JOIN: the estimate for it */
    sg_place_source source; /* JOIN: where the estimate came from */
    /* What was looked at (for the log line and the debug endpoint). */
    size_t considered, stale, full, far, unknown;
} sg_place_decision;

/* Great-circle distance (haversine, mean Earth radius 6371.0 km). */
double sg_place_distance_km(double lat1, double lon1, double lat2, double lon2);

/* The round-trip model for a distance: SG_PLACE_RTT_BASE_MS (access networks and the server)
 * plus the path both ways at two thirds of the speed of light in fibre (200 km per ms),
 * stretched by SG_PLACE_RTT_ROUTE_FACTOR because routes are longer than great circles. */
#define SG_PLACE_RTT_BASE_MS 5.0
#define SG_PLACE_RTT_ROUTE_FACTOR 1.6
double sg_place_rtt_from_km(double km);

/* The estimate for one server: true with *ms and *source, false when there is none. */
bool sg_place_estimate(const sg_place_player *p, const sg_place_server *s, double *ms,
                       sg_place_source *source);

/* Decides for one player over n servers. */
void sg_place_decide(const sg_place_options *o, const sg_place_player *p,
                     const sg_place_server *servers, size_t n, sg_place_decision *out);

#ifdef __cplusplus
}
#endif
#endif
