/* The Edgegap client's settings fragment and the mapping from a loaded configuration. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "seatgate/edgegap.h"

/* clang-format off */
const sg_setting sg_edgegap_settings[] = {
    {.name = "edgegap-url", .type = SG_SET_STRING, .def = "https://api.edgegap.com",
     .help = "Edgegap API base URL (the simulator's URL in tests)"},
    {.name = "edgegap-api-key", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .help = "Edgegap API key (with or without the 'token ' prefix)"},
    {.name = "edgegap-connect-timeout", .type = SG_SET_DURATION, .def = "3s", .min = 1,
     .max = 600000, .help = "connect timeout per Edgegap request"},
    {.name = "edgegap-timeout", .type = SG_SET_DURATION, .def = "10s", .min = 1, .max = 600000,
     .help = "total timeout per Edgegap request attempt"},
    {.name = "edgegap-retries", .type = SG_SET_INT, .def = "3", .min = 0, .max = 20,
     .help = "retries of a failed Edgegap call when safe (429, 5xx, timeouts, network)"},
    {.name = "edgegap-retry-budget", .type = SG_SET_DURATION, .def = "20s", .min = 0,
     .max = 3600000, .help = "no Edgegap retry starts later than this after the call began"},
    {.name = "edgegap-rate", .type = SG_SET_INT, .def = "10", .min = 0, .max = 100000,
     .help = "outgoing Edgegap requests per second, every call of this Edgegap client (0: unpaced)"},
    {.name = "edgegap-delete-share", .type = SG_SET_INT, .def = "30", .min = 0, .max = 90,
     .help = "percent of edgegap-rate and -burst kept for session deletes, in a lane of their "
             "own so departures never delay arriving players (0: one lane for all)"},
    {.name = "edgegap-burst", .type = SG_SET_INT, .def = "20", .min = 1, .max = 100000,
     .help = "Edgegap requests that may leave at once before the rate applies"},
    {.name = "edgegap-max-connections", .type = SG_SET_INT, .def = "32", .min = 1, .max = 4096,
     .help = "concurrent connections to the Edgegap API"},
};
/* clang-format on */

const size_t sg_edgegap_settings_count = sizeof sg_edgegap_settings / sizeof sg_edgegap_settings[0];

static sg_status check_key(const char *key)
{
    if (!key) return SG_OK;
    if (strncasecmp(key, "token ", 6) == 0) key += 6;
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)key[i]))
            return sg_fail(SG_E_INVALID, "--edgegap-api-key (SEATGATE_EDGEGAP_API_KEY): the key "
                                         "has a space or control character at position %zu",
                           i + 1);
    if (n < SG_EDGEGAP_API_KEY_MIN)
        return sg_fail(SG_E_INVALID,
                       "--edgegap-api-key (SEATGATE_EDGEGAP_API_KEY): %zu characters is too short "
                       "for an Edgegap API key (at least %d; copy the whole key from the "
                       "dashboard)",
                       n, SG_EDGEGAP_API_KEY_MIN);
    return SG_OK;
}

sg_status sg_edgegap_options_from_config(const sg_config *cfg, sg_edgegap_options *o)
{
    sg_edgegap_options_default(o);
    const char *url = sg_config_str(cfg, "edgegap-url");
    if (url && *url) {
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
            return sg_fail(SG_E_INVALID,
                           "--edgegap-url (SEATGATE_EDGEGAP_URL): expected an http:// or "
                           "https:// URL");
        o->base_url = url;
    }
    o->api_key = sg_config_str(cfg, "edgegap-api-key");
    sg_status st = check_key(o->api_key);
    if (st != SG_OK) return st;
    o->connect_timeout_ms = sg_config_num(cfg, "edgegap-connect-timeout");
    o->timeout_ms = sg_config_num(cfg, "edgegap-timeout");
    o->max_retries = (int)sg_config_num(cfg, "edgegap-retries");
    o->retry_budget_ms = sg_config_num(cfg, "edgegap-retry-budget");
    o->rate = (double)sg_config_num(cfg, "edgegap-rate");
    o->burst = (int)sg_config_num(cfg, "edgegap-burst");
    o->delete_share = (double)sg_config_num(cfg, "edgegap-delete-share") / 100.0;
    o->max_connections = (int)sg_config_num(cfg, "edgegap-max-connections");
    if (o->backoff_max_ms > o->retry_budget_ms && o->retry_budget_ms > 0)
        o->backoff_max_ms = o->retry_budget_ms;
    if (o->backoff_base_ms > o->backoff_max_ms) o->backoff_base_ms = o->backoff_max_ms;
    return SG_OK;
}
