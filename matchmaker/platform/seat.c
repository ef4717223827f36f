/* What every platform shares about seats. */
#include <string.h>

#include "orchestrator.h"

const char *sg_seat_state_name(sg_seat_state st)
{
    switch (st) {
    case SG_SEAT_PENDING:
        return "pending";
    case SG_SEAT_READY:
        return "ready";
    case SG_SEAT_FAILED:
        return "failed";
    }
    return "unknown";
}

const sg_seat_port *sg_seat_find_port(const sg_seat *seat, const char *name)
{
    if (seat->port_count == 0) return NULL;
    if (!name || !*name) return &seat->ports[0];
    for (size_t i = 0; i < seat->port_count; i++)
        if (strcmp(seat->ports[i].name, name) == 0) return &seat->ports[i];
    return NULL;
}
