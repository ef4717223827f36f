/* Fuzzes the leaderboard's reading of events (published by game servers, so untrusted): any
 * text given to a batch is applied or counted as skipped, never a crash, and the batch's
 * records always write as valid JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sg_status no_player(void *arg, const char *id, sg_lb_player *out)
{
    (void)arg;
    (void)id;
    (void)out;
    return SG_E_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sg_lb_rules rules;
    if (!rules.nkinds) {
        sg_lb_rules_set_kinds(&rules, "kill,death,score");
        strcpy(rules.rated_kind, "kill");
        rules.k_factor = 32;
        rules.initial_rating = 1500;
        rules.max_event_bytes = 4096;
    }
    static sg_lb_batch b;
    sg_lb_state from = {.pos = 1};
    sg_lb_batch_init(&b, &rules, &from, no_player, NULL);
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (sg_lb_batch_add(&b, 2, text, size, 1000) != SG_OK) abort(); /* loads never fail here */
    if (b.state.pos != 2) abort();
    for (size_t i = 0; i < b.count; i++) {
        char *json = NULL;
        if (sg_lb_player_to_json(&b.players[i], &json) != SG_OK) abort();
        free(json);
    }
    free(text);
    return 0;
}
