/* seatgate matchmaker: the connect flow's two indexes of its live flights, by the player's
 * address (single flight) and by seat id (webhooks), as intrusive hash chains keyed with a
 * per-process secret (an attacker choosing addresses cannot fill one chain on purpose).
 * Loop thread only. */
#ifndef SEATGATE_MM_FLIGHT_MAP_H
#define SEATGATE_MM_FLIGHT_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "platform/orchestrator.h"
#include "seatgate/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_FLIGHT_MAP_BUCKETS 16384
#define SG_FLIGHT_MAP_EARLY 1024 /* webhooks remembered for seats not known yet */

/* Embedded in each flight: what the indexes need of it. */
typedef struct sg_flight_link {
    struct sg_flight_link *ip_next, *seat_next;
    uint8_t ipkey[SG_ADDR_KEY_BYTES];
    char seat_id[SG_SEAT_ID_MAX]; /* "" until the seat exists */
} sg_flight_link;

typedef struct sg_flight_map {
    sg_flight_link *by_ip[SG_FLIGHT_MAP_BUCKETS];
    sg_flight_link *by_seat[SG_FLIGHT_MAP_BUCKETS];
    /* Webhooks that came before their create's answer (one slot per hash: a later one may
     * take the slot, and then the flight's safety poll answers instead). */
    struct {
        char seat_id[SG_SEAT_ID_MAX];
        long long at_ms;
    } early[SG_FLIGHT_MAP_EARLY];
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
} sg_flight_map;

/* A fresh random hash key, empty chains. */
void sg_flight_map_init(sg_flight_map *m);
/* Indexes l by its ipkey / by its seat_id (which must be set). */
void sg_flight_map_add_ip(sg_flight_map *m, sg_flight_link *l);
void sg_flight_map_add_seat(sg_flight_map *m, sg_flight_link *l);
/* Removes l from both indexes (from the seat index only when it has a seat id). */
void sg_flight_map_remove(sg_flight_map *m, sg_flight_link *l);
/* The first link in the chain of key (compare ipkey and follow ip_next for the others). */
sg_flight_link *sg_flight_map_ip_chain(sg_flight_map *m, const uint8_t key[SG_ADDR_KEY_BYTES]);
/* The link whose seat_id is id, or NULL. */
sg_flight_link *sg_flight_map_find_seat(sg_flight_map *m, const char *id);
/* Remembers a webhook for seat id, which no flight knows yet, at now_ms. */
void sg_flight_map_note_early(sg_flight_map *m, const char *id, long long now_ms);
/* Whether a webhook for seat id came no more than max_age_ms ago; forgets it. */
bool sg_flight_map_take_early(sg_flight_map *m, const char *id, long long now_ms,
                              long long max_age_ms);

#ifdef __cplusplus
}
#endif
#endif
