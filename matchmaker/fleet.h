/* seatgate matchmaker: the live game servers as placement sees them.
 *
 * A thread reads the gameserver bucket (what every server's hook keeps: location, players,
 * capacity, heartbeat) every refresh interval into a table; placement decides over that
 * table (placement.h) without a store call on the request's path. A seat this matchmaker
 * hands to a server counts as one of its players for hold_ms (until its connect token
 * expires), so players who have a seat but have not connected yet do not let a server be
 * overfilled; one who connects is counted by the hook as well for the rest of that window
 * (servers look fuller than they are for that long, never emptier). Thread-safe.
 */
#ifndef SEATGATE_MM_FLEET_H
#define SEATGATE_MM_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "placement.h"
#include "seatgate/ledger.h"
#include "seatgate/records.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_fleet sg_fleet;

typedef struct sg_fleet_options {
    sg_ledger *ledger;    /* borrowed */
    long long refresh_ms; /* between reads of the bucket */
    long long hold_ms;    /* a seat handed out counts this long (0: 60 s) */
} sg_fleet_options;

/* Starts the reader (the first read is done before it returns). SG_E_NOMEM, SG_E_IO. */
sg_status sg_fleet_start(const sg_fleet_options *o, sg_fleet **out);
void sg_fleet_stop(sg_fleet *f); /* NULL is fine */

typedef struct sg_fleet_choice {
    sg_place_decision d;
    size_t servers;                   /* in the table decided over */
    char server_id[SG_REC_ID_MAX];    /* JOIN: the server (Edgegap request id) */
    char location[SG_REC_NAME_MAX];   /* JOIN: its city ("" unknown) */
} sg_fleet_choice;

/* Decides for one player (o->now_ms 0: the clock). On JOIN the server counts one more
 * player for hold_ms. */
void sg_fleet_place(sg_fleet *f, const sg_place_options *o, const sg_place_player *p,
                    sg_fleet_choice *out);

/* The platform refused a seat on this server (full: another replica filled it, or players
 * the table does not show yet): it counts as full for hold_ms. */
void sg_fleet_refused(sg_fleet *f, const char *server_id);

#ifdef __cplusplus
}
#endif
#endif
