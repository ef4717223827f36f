/* seatgate leaderboard: the ordered index the HTTP reads are served from.
 *
 * Every player's latest record, found by id in a hash table, and one ordered tree per
 * ranking (ranking 0: the ELO rating; ranking i > 0: the total of score kind i - 1), so a
 * top-N read costs O(log n + N) and a player's rank O(log n), never a scan of every player.
 * Order: higher value first; equal values by id, byte order (stable on ties). Trees are
 * treaps with subtree sizes. Thread-safe: one writer (the store watcher) and any number of
 * readers, under a read-write lock.
 */
#ifndef SEATGATE_LB_RANK_H
#define SEATGATE_LB_RANK_H

#include <stddef.h>

#include "seatgate/records.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_RANK_MAX 16 /* rankings: ELO and up to 15 kinds */

typedef struct sg_rank sg_rank;

/* kinds: the score kinds ranked (ranking i + 1 is kinds[i]). */
sg_status sg_rank_new(const char (*kinds)[SG_REC_NAME_MAX], size_t nkinds, sg_rank **out);
void sg_rank_free(sg_rank *r);

/* Inserts the record or replaces the one of the same id. */
sg_status sg_rank_put(sg_rank *r, const sg_lb_player *p);
size_t sg_rank_count(sg_rank *r);

/* The ranking of a score kind (0 for "elo"), or -1 when it is not ranked. */
int sg_rank_of_kind(const sg_rank *r, const char *kind);

typedef struct sg_rank_row {
    sg_lb_player player;
    size_t rank; /* 1-based */
} sg_rank_row;

/* Up to limit rows of a ranking from 1-based position `from`; returns how many. */
size_t sg_rank_top(sg_rank *r, int ranking, size_t from, size_t limit, sg_rank_row *out);

/* A player's record and their rank in every ranking (ranks[0..1 + nkinds)). False when the
 * id is unknown. */
bool sg_rank_find(sg_rank *r, const char *id, sg_lb_player *out, size_t *ranks);

#ifdef __cplusplus
}
#endif
#endif
