/* seatgate matchmaker: where a player is, from an operator-supplied GeoIP database.
 *
 * Reads a MaxMind DB file (.mmdb: GeoLite2-City, GeoIP2-City, DB-IP City Lite, or any with
 * location.latitude and location.longitude) through libmaxminddb. The file is reopened when
 * it changes (its inode, size or modification time, looked at every check_ms), so an
 * operator replaces it in place (write a new file, rename it over the old one) without a
 * restart; a replacement that does not open keeps the old one in use. Thread-safe.
 */
#ifndef SEATGATE_MM_GEOIP_H
#define SEATGATE_MM_GEOIP_H

#include <stdbool.h>

#include "seatgate/addr.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_geoip sg_geoip;

/* check_ms: how often a lookup looks at the file (<= 0: 10 s). SG_E_IO naming the file and
 * what is wrong with it, SG_E_NOMEM. */
sg_status sg_geoip_open(const char *path, long long check_ms, sg_geoip **out);
void sg_geoip_close(sg_geoip *g); /* NULL is fine */

/* The address's position: true with *latitude and *longitude when the database has one. */
bool sg_geoip_locate(sg_geoip *g, const sg_addr *ip, double *latitude, double *longitude);

/* How many times the file was reopened after a change (for logs and tests). */
unsigned sg_geoip_reloads(const sg_geoip *g);

#ifdef __cplusplus
}
#endif
#endif
