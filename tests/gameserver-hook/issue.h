/* The hook tests' stand-in for the matchmaker's part of a connect: a session at the
 * simulator linked to a deployment for a player, its unclaimed session record and its
 * connect_tokens entry, written by the test itself (not through the ledger under test). */
#ifndef SG_TEST_HOOK_ISSUE_H
#define SG_TEST_HOOK_ISSUE_H

#include <stddef.h>
#include <stdint.h>

#include "seatgate/edgegap.h"
#include "seatgate/kv.h"
#include "seatgate/records.h"

/* Creates the session (its id into sid) and writes the record for client id cid, with the
 * deployment `dep` when not NULL (the matchmaker records it once Ready). Fails the test on
 * any error. */
void hook_test_issue(sg_edgegap_client *api, sg_bucket *sessions, sg_bucket *tokens,
                     const char *deployment, const char *player_ip, uint64_t cid,
                     const sg_deployment_ref *dep, char *sid, size_t size);

#endif
