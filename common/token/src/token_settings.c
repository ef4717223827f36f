/* The token's settings fragment (the key, protocol id and dialect every side that mints or
 * opens connect tokens must agree on) and the mapping from a loaded configuration. */
#include <stdlib.h>
#include <string.h>

#include "seatgate/token.h"

/* The variables are SEATGATE_* whatever the program's prefix: the matchmaker and the game
 * servers read one name for one value. */
#define DIALECT_SETTING                                                                            \
    {.name = "token-dialect",                                                                      \
     .type = SG_SET_STRING,                                                                        \
     .def = "netcode-1.02",                                                                        \
     .choices = SG_TOKEN_DIALECT_CHOICES,                                                          \
     .env = "SEATGATE_TOKEN_DIALECT",                                                              \
     .alias = "token-ipv6-layout",                                                                 \
     .help = "how tokens are written, as the game server reads them: netcode-1.02 (netcode.c), "   \
             "lightyear (0.20 and later) or lightyear-0.19 (and netcode-rs)"}

const sg_setting sg_token_settings[] = {
    {.name = "netcode-key",
     .type = SG_SET_STRING,
     .flags = SG_SET_SECRET | SG_SET_REQUIRED,
     .env = "SEATGATE_NETCODE_KEY",
     .alias = "private-key",
     .help = "netcode private key shared by the matchmaker and the game servers (64 hex digits, "
             "base64 or 32 comma-separated bytes)"},
    {.name = "protocol-id",
     .type = SG_SET_STRING,
     .def = "0",
     .env = "SEATGATE_PROTOCOL_ID",
     .help = "netcode protocol id (decimal or 0x hex), the same for the matchmaker and the game "
             "servers"},
    DIALECT_SETTING,
};
const size_t sg_token_settings_count = sizeof sg_token_settings / sizeof sg_token_settings[0];

const sg_setting sg_token_dialect_settings[] = {DIALECT_SETTING};
const size_t sg_token_dialect_settings_count = 1;

sg_status sg_token_options_from_config(const sg_config *cfg, sg_token_options *out)
{
    memset(out, 0, sizeof *out);
    out->dialect = SG_TOKEN_NETCODE_1_02;
    if (sg_config_find(cfg, "token-dialect") &&
        sg_token_dialect_parse(sg_config_str(cfg, "token-dialect"), &out->dialect) != SG_OK)
        return sg_fail(SG_E_INVALID, "--token-dialect: %s", sg_last_error());
    if (sg_config_find(cfg, "protocol-id")) {
        const char *pid = sg_config_str(cfg, "protocol-id");
        out->protocol_id_set = pid != NULL;
        if (pid && sg_token_protocol_id_parse(pid, &out->protocol_id) != SG_OK)
            return sg_fail(SG_E_INVALID, "--protocol-id: %s", sg_last_error());
    }
    if (sg_config_find(cfg, "netcode-key") && sg_config_str(cfg, "netcode-key") &&
        sg_key_parse(sg_config_str(cfg, "netcode-key"), &out->key) != SG_OK)
        return sg_fail(SG_E_INVALID, "--netcode-key: %s", sg_last_error());
    return SG_OK;
}

void sg_token_options_clear(sg_token_options *o)
{
    if (!o) return;
    sg_key_free(o->key);
    memset(o, 0, sizeof *o);
}
