/* Fuzzes the parsers of Agones answers: the allocation answer, a GameServer from the SDK
 * (also a /watch/gameserver line), a grpc-gateway error body and a List. The first byte picks
 * one. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seatgate/agones.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 3: {
        long long capacity;
        size_t count;
        bool has;
        (void)sg_agones_parse_list(body, len, "s-1", &capacity, &count, &has);
        break;
    }
    case 0: {
        sg_agones_allocation a;
        if (sg_agones_parse_allocation(body, len, "players", "s-1", &a) == SG_OK) {
            size_t n = strlen(a.game_server_name) + strlen(a.address);
            for (size_t i = 0; i < a.address_count; i++)
                n += strlen(a.addresses[i].address);
            (void)sg_agones_pick_address(a.addresses, a.address_count, a.address, "PodIP");
            (void)n;
        }
        break;
    }
    case 1: {
        sg_agones_gameserver *gs = NULL;
        if (sg_agones_parse_gameserver(body, len, "players", &gs) == SG_OK) {
            (void)sg_agones_gameserver_has_value(gs, "s-1");
            size_t n = strlen(gs->name) + strlen(gs->state);
            for (size_t i = 0; i < gs->list_count; i++)
                n += strlen(gs->list_values[i]);
            (void)n;
        }
        sg_agones_gameserver_free(gs);
        break;
    }
    default: {
        int code;
        char msg[64];
        sg_agones_parse_error(body, len, &code, msg, sizeof msg);
        break;
    }
    }
    return 0;
}
