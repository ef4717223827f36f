/* seatgate leaderboard: applying events to players.
 *
 * A batch is a run of events in history order. Each event is read, checked and applied to
 * the players it names (sg_lb_batch_add); the batch then holds the new records of every
 * player it touched and the state once it is written (how far, what was skipped). Writing
 * it is sg_lb_commit: the journal first (one value: the whole batch), then the records and
 * the state, then the journal's removal. A crash anywhere leaves either nothing of the batch
 * or a journal that sg_lb_recover writes again, so every event counts exactly once.
 *
 * Ratings are ELO: a score event of the rated kind ("kill" by default) with a target is a
 * win of the scorer against the target. With ratings Ra, Rb the scorer's expected score is
 * Ea = 1 / (1 + 10^((Rb - Ra) / 400)); then Ra' = Ra + K (1 - Ea) and Rb' = Rb - K (1 - Ea).
 */
#ifndef SEATGATE_LB_H
#define SEATGATE_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/kv.h"
#include "seatgate/records.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_LB_KINDS_CONF_MAX 15 /* score kinds the leaderboard keeps (with ELO: 16 rankings) */

typedef struct sg_lb_rules {
    size_t nkinds;
    char kinds[SG_LB_KINDS_CONF_MAX][SG_REC_NAME_MAX]; /* the score kinds kept */
    char rated_kind[SG_REC_NAME_MAX];                  /* wins for ELO ("" = none) */
    double k_factor;
    double initial_rating;
    size_t max_event_bytes; /* larger events are skipped as oversize */
} sg_lb_rules;

/* Parses a comma-separated list of snake_case kinds into r (SG_E_INVALID naming the bad one;
 * the message does not name the setting). */
sg_status sg_lb_rules_set_kinds(sg_lb_rules *r, const char *list);
bool sg_lb_rules_has_kind(const sg_lb_rules *r, const char *kind);

/* One ELO outcome: the winner's and loser's new ratings. */
void sg_lb_elo(double winner, double loser, double k, double *winner_out, double *loser_out);

/* The id a player is ranked by: the authenticated user id, else "anon-<session id>". "" when
 * neither is known. */
void sg_lb_identity(const char *user_id, const char *session_id, char *out, size_t size);

/* Reads a player's current record (SG_E_NOT_FOUND when new); the batch asks it once per
 * player and keeps the result. */
typedef sg_status (*sg_lb_load_fn)(void *arg, const char *id, sg_lb_player *out);

typedef struct sg_lb_batch {
    const sg_lb_rules *rules;
    sg_lb_load_fn load;
    void *load_arg;
    sg_lb_state from;  /* the state the batch starts from */
    sg_lb_state state; /* ... and where it has got to */
    size_t count;
    sg_lb_player players[SG_LB_JOURNAL_MAX];
} sg_lb_batch;

void sg_lb_batch_init(sg_lb_batch *b, const sg_lb_rules *rules, const sg_lb_state *from,
                      sg_lb_load_fn load, void *load_arg);
/* True when another event may not fit (each event touches at most two players). */
bool sg_lb_batch_full(const sg_lb_batch *b);

/* Applies the event at position pos (json of len bytes, as published); an event at or before
 * the batch's position is applied already and changes nothing. Events that cannot
 * count are skipped and counted in the state (malformed, unknown kind, oversize; a rated
 * event whose target is unknown counts its totals but is counted unrated). SG_OK for every
 * event read (applied or skipped); another status only when reading a player failed (the
 * store): the batch is then half-applied and must be dropped, and its events read again
 * from b->from. now_ms is the time written as updated_at. */
sg_status sg_lb_batch_add(sg_lb_batch *b, uint64_t pos, const char *json, size_t len,
                          long long now_ms);

/* Where the records live. */
typedef struct sg_lb_store {
    sg_bucket *players, *state;
} sg_lb_store;

/* Writes the batch (journal, records and state, journal removed). On failure the journal
 * may remain: sg_lb_recover finishes it. */
sg_status sg_lb_commit(const sg_lb_store *s, const sg_lb_batch *b);

/* At start (and after a failed commit): finishes a journal left behind when it continues
 * the stored state, drops one that does not, and reads the state into *out (all zero when
 * nothing was ever applied). */
sg_status sg_lb_recover(const sg_lb_store *s, sg_lb_state *out);

/* Test fault points (SEATGATE_LEADERBOARD_FAULT): the process exits right after writing
 * the journal ("after_journal"), after writing half the batch's records and not the state
 * ("mid_records": what a NATS batch cut short leaves), or right after the records, before
 * the journal's removal ("after_records"), on the Nth commit (SEATGATE_LEADERBOARD_FAULT_AT,
 * default 1). */
void sg_lb_fault_init(void);

#ifdef __cplusplus
}
#endif
#endif
