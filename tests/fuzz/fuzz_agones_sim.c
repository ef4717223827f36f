/* Fuzzes seatgate-agones-sim's handling of untrusted request bodies: allocations, SDK calls
 * and the admin API, over one simulated fleet (no sidecar listeners). The first byte picks
 * the route. */
#include <stddef.h>
#include <stdint.h>

#include "asim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static asim *sim;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sim && asim_new(NULL, NULL, &sim) != SG_OK) return 0;
    if (size < 1) return 0;
    static const char *const sdk_urls[] = {"/health", "/ready", "/v1beta1/lists/players:addValue",
                                           "/v1beta1/lists/players:removeValue",
                                           "/v1beta1/lists/players", "/metadata/label"};
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    asim_answer a = {0};
    switch (data[0] % 4) {
    case 0:
        asim_allocate(sim, body, len, &a);
        break;
    case 1:
        asim_sdk(sim, "none", "POST", sdk_urls[data[0] / 4 % 6], body, len, len > 0, &a);
        break;
    case 2:
        asim_admin(sim, "POST", "/_sim/fleet", body, len, &a);
        break;
    default:
        asim_admin(sim, "POST", "/_sim/faults", body, len, &a);
        break;
    }
    cJSON_Delete(a.json);
    asim_tick(sim);
    return 0;
}
