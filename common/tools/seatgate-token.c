/* seatgate-token: operator tool for netcode private keys and connect tokens.
 *
 *   seatgate-token keygen     prints a new private key as hex, base64 and decimal bytes
 *   seatgate-token inspect    opens a base64 token with the private key and prints its fields
 *
 * The private key is never printed by inspect, nor are the token's packet keys. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seatgate/codec.h"
#include "seatgate/config.h"
#include "seatgate/keys.h"
#include "seatgate/token.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: seatgate-token keygen\n"
                 "       seatgate-token inspect [--setting VALUE]...   (see inspect --help)\n"
                 "       seatgate-token --version\n"
                 "\n"
                 "keygen   prints a new 32-byte netcode private key in hex, base64 and the\n"
                 "         comma-separated decimal form; any of them is accepted as a key.\n"
                 "inspect  opens a base64 connect token with the private key and prints its\n"
                 "         fields (never the private key or the packet keys).\n");
}

static int keygen(void)
{
    sg_key *k = NULL;
    if (sg_key_generate(&k) != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        return 1;
    }
    char buf[SG_KEY_DECIMAL_SIZE];
    printf("hex:     %s\n", sg_key_format_hex(k, buf, sizeof buf));
    printf("base64:  %s\n", sg_key_format_base64(k, buf, sizeof buf));
    printf("decimal: %s\n", sg_key_format_decimal(k, buf, sizeof buf));
    sodium_memzero(buf, sizeof buf);
    sg_key_free(k);
    return 0;
}

static void print_time(const char *name, uint64_t ts)
{
    if (ts == SG_TOKEN_NEVER_EXPIRES) {
        printf("%s: never\n", name);
        return;
    }
    char when[32] = "";
    time_t t = (time_t)ts;
    struct tm tm;
    if (ts <= (uint64_t)INT32_MAX * 8 && gmtime_r(&t, &tm))
        strftime(when, sizeof when, " (%Y-%m-%dT%H:%M:%SZ)", &tm);
    printf("%s: %" PRIu64 "%s\n", name, ts, when);
}

static void print_servers(const char *name, const sg_addr *servers, size_t n)
{
    printf("%s:", name);
    for (size_t i = 0; i < n; i++) {
        char buf[SG_ADDR_STRLEN];
        printf("%s %s", i ? "," : "", sg_addr_format(&servers[i], true, buf, sizeof buf));
    }
    printf("\n");
}

/* Reads the token text from stdin when --token is not set. */
static char *read_stdin(void)
{
    size_t cap = 8192;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t n = fread(buf, 1, cap - 1, stdin);
    buf[n] = '\0';
    return buf;
}

static int inspect(sg_config *cfg)
{
    int rc = 1;
    char *owned = NULL;
    uint8_t token[SG_TOKEN_BYTES];
    sg_token_opened t;
    memset(&t, 0, sizeof t);

    sg_token_options tko;
    if (sg_token_options_from_config(cfg, &tko) != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        rc = 2; /* a setting that does not parse: a usage error */
        goto out;
    }
    sg_token_dialect dialect = tko.dialect;
    const char *text = sg_config_str(cfg, "token");
    if (!text) text = owned = read_stdin();
    if (!text) {
        fprintf(stderr, "seatgate-token: error: cannot read the token from stdin\n");
        goto out;
    }
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    size_t n = 0;
    if (sg_base64_decode(text, len, token, sizeof token, &n) != SG_OK) {
        fprintf(stderr, "seatgate-token: error: token: %s\n", sg_last_error());
        goto out;
    }

    /* The header protocol id is used unless --protocol-id says which one to require. */
    uint64_t protocol_id = 0;
    for (int i = 0; n >= 21 && i < 8; i++)
        protocol_id = protocol_id << 8 | token[13 + (dialect == SG_TOKEN_LIGHTYEAR ? i : 7 - i)];
    if (tko.protocol_id_set) protocol_id = tko.protocol_id;
    /* Opened as of time 0 so that an expired token still shows its fields. */
    sg_token_opener o = {tko.key, protocol_id, dialect};
    sg_status st = sg_token_open(&o, token, n, 0, &t);
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-token: error: cannot open the token (%s): %s\n", sg_status_name(st),
                sg_last_error());
        goto out;
    }
    uint64_t now = (uint64_t)time(NULL);
    printf("dialect: %s\n", sg_token_dialect_name(dialect));
    printf("version_info: " SG_TOKEN_VERSION_INFO "\n");
    printf("protocol_id: %" PRIu64 " (0x%016" PRIx64 ")\n", t.protocol_id, t.protocol_id);
    print_time("create_timestamp", t.create_timestamp);
    print_time("expire_timestamp", t.expire_timestamp);
    if (t.expire_timestamp == SG_TOKEN_NEVER_EXPIRES)
        printf("status: never expires\n");
    else if (now >= t.expire_timestamp)
        printf("status: expired %" PRIu64 " s ago\n", now - t.expire_timestamp);
    else
        printf("status: valid for %" PRIu64 " s more\n", t.expire_timestamp - now);
    printf("client_id: %" PRIu64 "\n", t.client_id);
    printf("timeout_seconds: %" PRId32 "%s\n", t.timeout_seconds,
           t.timeout_seconds < 0 ? " (timeouts disabled)" : "");
    print_servers("private_servers", t.servers, t.server_count);
    sg_token_public pub;
    if (sg_token_read_public(token, n, dialect, &pub) != SG_OK)
        printf("public_part: unreadable (%s)\n", sg_last_error());
    else
        print_servers("public_servers", pub.servers, pub.server_count);
    char sid[SG_TOKEN_SESSION_ID_MAX + 1];
    if (sg_token_user_data_get_session(t.user_data, sid, sizeof sid) == SG_OK)
        printf("session_id: %s\n", sid);
    else
        printf("session_id: none\n");
    rc = 0;
out:
    sg_token_opened_wipe(&t);
    sodium_memzero(token, sizeof token);
    free(owned);
    sg_token_options_clear(&tko);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("seatgate-token %s\n", sg_version());
        return 0;
    }
    if (strcmp(argv[1], "keygen") == 0) {
        if (argc > 2) {
            fprintf(stderr, "seatgate-token: error: keygen takes no arguments\n");
            return 2;
        }
        return keygen();
    }
    if (strcmp(argv[1], "inspect") != 0) {
        usage(stderr);
        fprintf(stderr, "seatgate-token: error: unknown command or option '%.32s' (see --help)\n",
                argv[1]);
        return 2;
    }
    const sg_setting own[] = {
        {.name = "token",
         .type = SG_SET_STRING,
         .help = "the connect token in base64 (read from stdin when unset)",
         .flags = SG_SET_SECRET},
    };
    sg_config cfg = {.program = "seatgate-token inspect",
                     .summary = "Opens a connect token and prints its fields.",
                     .env_prefix = "SEATGATE_"};
    if (sg_config_add(&cfg, sg_token_settings, sg_token_settings_count) != SG_OK ||
        sg_config_add(&cfg, own, 1) != SG_OK ||
        sg_config_set_default(&cfg, "protocol-id", NULL) != SG_OK ||
        sg_config_set_text(&cfg, "protocol-id",
                           "protocol id to require, decimal or 0x-hex (default: the token's own)",
                           NULL) != SG_OK ||
        sg_config_set_text(&cfg, "token-dialect",
                           "how the token is written: netcode-1.02 (netcode.c), lightyear (0.20 "
                           "and later) or lightyear-0.19",
                           "ipv6-layout") != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        sg_config_free(&cfg);
        return 1;
    }
    sg_status st = sg_config_load(&cfg, argc - 1, argv + 1);
    int rc;
    if (st == SG_E_HELP) {
        rc = 0;
    } else if (st != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        rc = 2;
    } else {
        rc = inspect(&cfg);
    }
    sg_config_free(&cfg);
    return rc;
}
