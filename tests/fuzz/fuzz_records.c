/* Fuzzes every reader of store values and events (they come from other processes and, for
 * contexts, from Edgegap): no crash, and whatever parses writes back to an equal record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUND_TRIP(type, from, to)                                                                 \
    do {                                                                                           \
        type *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);                                 \
        if (a && b && from((const char *)data, size, a) == SG_OK) {                                \
            char *json = NULL;                                                                     \
            if (to(a, &json) == SG_OK) {                                                           \
                if (from(json, strlen(json), b) != SG_OK) abort();                                 \
                char *again = NULL;                                                                \
                if (to(b, &again) != SG_OK || strcmp(json, again) != 0) abort();                   \
                free(again);                                                                       \
            }                                                                                      \
            free(json);                                                                            \
        }                                                                                          \
        free(a);                                                                                   \
        free(b);                                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ROUND_TRIP(sg_session_record, sg_session_from_json, sg_session_to_json);
    ROUND_TRIP(sg_gameserver_record, sg_gameserver_from_json, sg_gameserver_to_json);
    ROUND_TRIP(sg_delete_job, sg_delete_job_from_json, sg_delete_job_to_json);
    ROUND_TRIP(sg_create_intent, sg_create_intent_from_json, sg_create_intent_to_json);
    ROUND_TRIP(sg_player_seats, sg_player_seats_from_json, sg_player_seats_to_json);
    ROUND_TRIP(sg_event, sg_event_from_json, sg_event_to_json);
    ROUND_TRIP(sg_lb_player, sg_lb_player_from_json, sg_lb_player_to_json);
    ROUND_TRIP(sg_lb_state, sg_lb_state_from_json, sg_lb_state_to_json);
    ROUND_TRIP(sg_lb_lease, sg_lb_lease_from_json, sg_lb_lease_to_json);
    sg_lb_journal j;
    if (sg_lb_journal_from_json((const char *)data, size, &j) == SG_OK) {
        char *json = NULL, *again = NULL;
        sg_lb_journal k;
        if (sg_lb_journal_to_json(&j, &json) == SG_OK) {
            if (sg_lb_journal_from_json(json, strlen(json), &k) != SG_OK) abort();
            if (sg_lb_journal_to_json(&k, &again) != SG_OK || strcmp(json, again) != 0) abort();
            free(k.players);
        }
        free(json);
        free(again);
        free(j.players);
    }
    sg_context_info info;
    sg_context_check((const char *)data, size, &info);
    char sid[SG_REC_ID_MAX];
    sg_connect_token_value_parse((const char *)data, size, sid, sizeof sid);
    return 0;
}
