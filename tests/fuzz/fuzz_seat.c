/* Fuzzes what the matchmaker reads from an Edgegap session for a seat (reconciliation
 * included): player IPs, create_time, the intent marker inside webhook_url. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/edgegap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_edgegap_session *s = NULL;
    if (sg_edgegap_parse_session((const char *)data, size, &s) == SG_OK) {
        sg_seat seat;
        sg_seat_from_edgegap(s, &seat);
        size_t n = strlen(seat.marker) + strlen(seat.id);
        for (size_t i = 0; i < seat.player_ip_count; i++)
            n += strlen(seat.player_ips[i]);
        (void)n;
    }
    sg_edgegap_session_free(s);
    return 0;
}
