/* seatgate matchmaker: what the reaper knows of each session record, by session id.
 *
 * A record's content at a revision never changes, so a reaper pass lists the ids and
 * revisions alone (sg_ledger_session_revisions) and reads again only the records whose
 * revision moved since it last read them; the rules it applies need only the few facts kept
 * here. Intrusive hash chains keyed with a per-index secret, grown as the records grow.
 * Reaper thread only. */
#ifndef SEATGATE_MM_REAP_INDEX_H
#define SEATGATE_MM_REAP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/records.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The facts of one record at one revision. */
typedef struct sg_reap_fact {
    struct sg_reap_fact *next;
    uint64_t rev;
    unsigned long pass;     /* the pass that last listed or read it */
    bool readable;          /* false: the record at rev does not parse (the rest is zero) */
    sg_session_state state; /* the rest as in sg_session_record */
    long long claim_deadline, claimed_at, released_at;
    char *server; /* claimed_by_fqdn, or NULL when empty */
    char id[];
} sg_reap_fact;

typedef struct sg_reap_index sg_reap_index;

/* NULL when out of memory. */
sg_reap_index *sg_reap_index_new(void);
void sg_reap_index_free(sg_reap_index *x);
/* Number of records known. */
size_t sg_reap_index_count(const sg_reap_index *x);
/* The facts of id, or NULL. */
sg_reap_fact *sg_reap_index_find(sg_reap_index *x, const char *id);
/* Records r as id's record at rev (r NULL: unreadable), listed in pass: replaces what was
 * known of id, or adds it. NULL when out of memory (what was known of id is then gone). */
sg_reap_fact *sg_reap_index_set(sg_reap_index *x, const char *id, uint64_t rev,
                                const sg_session_record *r, unsigned long pass);
/* Forgets every record that was not listed or read in pass (deleted or expired since). */
void sg_reap_index_prune(sg_reap_index *x, unsigned long pass);
/* Calls fn for each record known, in no particular order, until it returns false. fn must
 * not add or remove records. */
void sg_reap_index_each(sg_reap_index *x, bool (*fn)(void *arg, sg_reap_fact *f), void *arg);

#ifdef __cplusplus
}
#endif
#endif
