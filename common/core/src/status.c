#include "seatgate/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

static const char *const names[SG_STATUS_COUNT] = {
    [SG_OK] = "ok",
    [SG_E_INVALID] = "invalid",
    [SG_E_NOMEM] = "no_memory",
    [SG_E_TOO_LARGE] = "too_large",
    [SG_E_TRUNCATED] = "truncated",
    [SG_E_MALFORMED] = "malformed",
    [SG_E_DECRYPT] = "decrypt_failed",
    [SG_E_PROTOCOL_ID] = "wrong_protocol_id",
    [SG_E_VERSION] = "wrong_version",
    [SG_E_EXPIRED] = "expired",
    [SG_E_ADDR_COUNT] = "bad_address_count",
    [SG_E_ADDR_TYPE] = "bad_address_type",
    [SG_E_TIMESTAMPS] = "bad_timestamps",
    [SG_E_NOT_FOUND] = "not_found",
    [SG_E_EXISTS] = "exists",
    [SG_E_CONFLICT] = "conflict",
    [SG_E_UNAVAILABLE] = "unavailable",
    [SG_E_TIMEOUT] = "timeout",
    [SG_E_IO] = "io",
    [SG_E_FULL] = "full",
    [SG_E_BAD_REQUEST] = "bad_request",
    [SG_E_UNAUTHORIZED] = "unauthorized",
    [SG_E_GONE] = "gone",
    [SG_E_RATE_LIMITED] = "rate_limited",
    [SG_E_SERVER] = "server_error",
    [SG_E_NETWORK] = "network",
    [SG_E_INTERNAL] = "internal",
    [SG_E_HELP] = "help",
};

const char *sg_status_name(sg_status st)
{
    if ((unsigned)st >= SG_STATUS_COUNT || !names[st]) return "unknown";
    return names[st];
}

const char *sg_last_error(void)
{
    return last_error;
}

sg_status sg_fail(sg_status st, const char *fmt, ...)
{
    /* Format into a scratch buffer first: callers may pass sg_last_error() (this very
     * buffer) as an argument to add context to the message below them. */
    char scratch[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(scratch, sizeof scratch, fmt, ap);
    va_end(ap);
    memcpy(last_error, scratch, sizeof last_error);
    return st;
}

void sg_clear_error(void)
{
    last_error[0] = '\0';
}
