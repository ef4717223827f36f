/* seatgate-token: operator tool for netcode private keys, connect tokens and seat tokens.
 *
 *   seatgate-token keygen       prints a new private key as hex, base64 and decimal bytes
 *   seatgate-token inspect      opens a base64 token with the private key and prints its fields
 *   seatgate-token jwt-keygen   prints a new seat-token key set (JWK Set: EdDSA or HS256)
 *   seatgate-token jwt-public   prints a key set's public part (what game servers hold)
 *   seatgate-token jwt-sign     signs claims (JSON) into a seat token
 *   seatgate-token jwt-verify   verifies a seat token and prints its claims, or why not
 *
 * The private key is never printed by inspect, nor are the token's packet keys; jwt-verify
 * never prints the token. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seatgate/codec.h"
#include "seatgate/config.h"
#include "seatgate/jws.h"
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
                 "         fields (never the private key or the packet keys).\n"
                 "jwt-keygen --alg EdDSA|HS256 --kid NAME   a new seat-token key set (JWK Set)\n"
                 "jwt-public --keys FILE                    its public part (EdDSA only)\n"
                 "jwt-sign --keys FILE [--kid NAME] [--claims JSON]   (claims from stdin if unset)\n"
                 "jwt-verify --keys FILE [--alg EdDSA|HS256] [--leeway S] [--now S] [--token T]\n"
                 "         prints the claims and exits 0, or 'refused reason=...' and exits 1\n");
}

/* The jwt-* commands: a few settings each, given as flags. */
static const sg_setting jwt_settings[] = {
    {.name = "alg", .type = SG_SET_STRING, .choices = "EdDSA|HS256",
     .help = "jwt-keygen: the algorithm (default EdDSA); jwt-verify: the only one accepted"},
    {.name = "kid", .type = SG_SET_STRING, .help = "the key's id (jwt-keygen, jwt-sign)"},
    {.name = "keys", .type = SG_SET_STRING, .help = "the key set file (JWK Set)"},
    {.name = "claims", .type = SG_SET_STRING, .help = "jwt-sign: the claims, a JSON object"},
    {.name = "token", .type = SG_SET_STRING, .flags = SG_SET_SECRET,
     .help = "jwt-verify: the token (read from stdin when unset)"},
    {.name = "leeway", .type = SG_SET_INT, .def = "0", .min = 0, .max = 3600,
     .help = "jwt-verify: seconds of clock skew allowed on exp, nbf and iat"},
    {.name = "now", .type = SG_SET_INT, .def = "0", .min = 0, .max = 4000000000LL,
     .help = "jwt-verify: the time to check against, unix seconds (0: the clock)"},
};

/* stdin, whole (at most 64 KiB), trailing newlines cut; NULL when too long. Tokens and
 * claims are read this way when not given as a setting. */
static char *read_stdin(void)
{
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, stdin) : 0;
    if (!buf || n == 65536) {
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static int jwt_command(const char *cmd, int argc, char **argv)
{
    sg_config cfg = {.program = "seatgate-token jwt", .summary = "Seat tokens (JWS).",
                     .env_prefix = "SEATGATE_JWT_"};
    if (sg_config_add(&cfg, jwt_settings, sizeof jwt_settings / sizeof *jwt_settings) != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        return 1;
    }
    sg_status st = sg_config_load(&cfg, argc, argv);
    if (st == SG_E_HELP) {
        sg_config_free(&cfg);
        return 0;
    }
    int rc = 2;
    sg_jws_keyset *ks = NULL;
    char *out = NULL, *input = NULL;
    const char *alg = sg_config_str(&cfg, "alg"), *kid = sg_config_str(&cfg, "kid");
    const char *keys = sg_config_str(&cfg, "keys");
    if (st != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        goto done;
    }
    if (strcmp(cmd, "jwt-keygen") == 0) {
        sg_jws_alg a = alg && strcmp(alg, "HS256") == 0 ? SG_JWS_HS256 : SG_JWS_EDDSA;
        st = sg_jws_keygen(a, kid ? kid : "k1", &out);
        if (st == SG_OK) printf("%s\n", out);
        rc = st == SG_OK ? 0 : 1;
        goto done;
    }
    if (!keys) {
        fprintf(stderr, "seatgate-token: error: %s needs --keys FILE\n", cmd);
        goto done;
    }
    if ((st = sg_jws_keyset_load(keys, &ks)) != SG_OK) {
        fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
        rc = 1;
        goto done;
    }
    if (strcmp(cmd, "jwt-public") == 0) {
        st = sg_jws_keyset_public(ks, &out);
        if (st == SG_OK) printf("%s\n", out);
    } else if (strcmp(cmd, "jwt-sign") == 0) {
        const char *claims = sg_config_str(&cfg, "claims");
        if (!claims) claims = input = read_stdin();
        st = claims ? sg_jws_sign(ks, kid, claims, &out)
                    : sg_fail(SG_E_INVALID, "no claims (--claims JSON, or on stdin)");
        if (st == SG_OK) printf("%s\n", out);
    } else {
        const char *token = sg_config_str(&cfg, "token");
        if (!token) token = input = read_stdin();
        sg_jws_verify_options o = {
            .allowed = !alg ? 0 : strcmp(alg, "HS256") == 0 ? SG_JWS_HS256 : SG_JWS_EDDSA,
            .now_s = sg_config_num(&cfg, "now"),
            .leeway_s = sg_config_num(&cfg, "leeway")};
        sg_jws_reason why = SG_JWS_MALFORMED;
        st = sg_jws_verify(ks, token ? token : "", token ? strlen(token) : 0, &o, &why, &out);
        if (st == SG_OK) {
            printf("%s\n", out);
        } else if (st == SG_E_INVALID) {
            printf("refused reason=%s\n", sg_jws_reason_name(why));
            rc = 1;
            goto done;
        }
    }
    if (st != SG_OK) fprintf(stderr, "seatgate-token: error: %s\n", sg_last_error());
    rc = st == SG_OK ? 0 : 1;
done:
    if (input) {
        sodium_memzero(input, strlen(input));
        free(input);
    }
    if (out) {
        sodium_memzero(out, strlen(out));
        free(out);
    }
    sg_jws_keyset_free(ks);
    sg_config_free(&cfg);
    return rc;
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
    if (strncmp(argv[1], "jwt-", 4) == 0 &&
        (strcmp(argv[1], "jwt-keygen") == 0 || strcmp(argv[1], "jwt-public") == 0 ||
         strcmp(argv[1], "jwt-sign") == 0 || strcmp(argv[1], "jwt-verify") == 0))
        return jwt_command(argv[1], argc - 1, argv + 1);
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
