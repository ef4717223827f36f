/* Internal to seatgate's libraries (never installed): libsodium must be initialised once before use. sodium_init() is idempotent and
 * thread-safe, so every entry point that uses libsodium calls this first. */
#ifndef SEATGATE_SODIUM_READY_H
#define SEATGATE_SODIUM_READY_H

#include <sodium.h>

#include "seatgate/status.h"

static inline sg_status sg_sodium_ready(void)
{
    if (sodium_init() < 0) return sg_fail(SG_E_INTERNAL, "libsodium failed to initialise");
    return SG_OK;
}

#endif
