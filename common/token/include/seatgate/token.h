/* seatgate: netcode 1.02 connect tokens, minted by the matchmaker and opened by game servers.
 *
 * A connect token is 2048 bytes: a public part the client reads (where to connect, the
 * packet keys, timeouts) and a 1024-byte private part encrypted with XChaCha20-Poly1305
 * under the 32-byte private key that the matchmaker and every game server share. The
 * client forwards the private part to the server in a 1078-byte connection request packet;
 * the server decrypts it, checks it, and learns the client id, keys and user data.
 * The byte layout is in docs/tokens.md. All functions are thread-safe and reentrant.
 *
 * Time is unix seconds throughout. A token is expired when now >= expire_timestamp, the
 * rule netcode.c and lightyear apply to connection requests.
 *
 * Dialects (sg_token_dialect): the same fields in the same order, written three ways.
 *   netcode-1.02    the netcode 1.02 reference (netcode.c): every integer little-endian, an
 *                   IPv6 address as eight 16-bit groups, each little-endian.
 *   lightyear       lightyear 0.20 and later (Bevy): every integer big-endian (in the
 *                   encrypted part and the associated data too), IPv6 as its 16 octets.
 *   lightyear-0.19  lightyear up to 0.19 and netcode-rs: little-endian integers, IPv6 octets.
 * Both sides of a deployment must use the same dialect; a token of one dialect never opens
 * as another (its associated data differ, so decryption fails, or its timestamps disagree).
 * docs/tokens.md has the byte layout.
 */
#ifndef SEATGATE_TOKEN_H
#define SEATGATE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seatgate/addr.h"
#include "seatgate/config.h"
#include "seatgate/keys.h"
#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_TOKEN_BYTES 2048
#define SG_TOKEN_PRIVATE_BYTES 1024
#define SG_TOKEN_NONCE_BYTES 24
#define SG_TOKEN_MAC_BYTES 16
#define SG_TOKEN_KEY_BYTES 32
#define SG_TOKEN_USER_DATA_BYTES 256
#define SG_TOKEN_MAX_SERVERS 32
#define SG_TOKEN_VERSION_INFO "NETCODE 1.02" /* 13 bytes on the wire, NUL included */
#define SG_TOKEN_VERSION_INFO_BYTES 13
#define SG_CONNECTION_REQUEST_BYTES 1078 /* 1 + 13 + 8 + 8 + 24 + 1024 */
/* Expire timestamp of a token minted with a negative expire_seconds (never expires). */
#define SG_TOKEN_NEVER_EXPIRES UINT64_MAX

typedef enum sg_token_dialect {
    SG_TOKEN_NETCODE_1_02 = 0, /* netcode.c, the netcode 1.02 reference (the default) */
    SG_TOKEN_LIGHTYEAR,        /* lightyear >= 0.20: big-endian integers, IPv6 octets */
    SG_TOKEN_LIGHTYEAR_0_19,   /* lightyear <= 0.19, netcode-rs: little-endian, IPv6 octets */
    SG_TOKEN_DIALECT_COUNT
} sg_token_dialect;

/* The values a dialect setting takes (sg_setting.choices); "groups-le" and "octets" are the
 * older names of netcode-1.02 and lightyear-0.19 (when the setting was an IPv6 layout). */
#define SG_TOKEN_DIALECT_CHOICES "netcode-1.02|lightyear|lightyear-0.19|groups-le|octets"

/* What to put in a token. */
typedef struct sg_token_params {
    uint64_t protocol_id;   /* one value per game and protocol version */
    uint64_t client_id;     /* globally unique; see sg_token_random_client_id */
    const sg_addr *servers; /* 1..SG_TOKEN_MAX_SERVERS addresses, each with a port: what the
                             * client dials (the public part) */
    size_t server_count;
    /* What the server checks (the encrypted part); NULL: the same as servers. A server
     * behind a port mapping (Edgegap, an Agones hostPort) checks its own bind address, so
     * the private list holds the public address and the bind address. */
    const sg_addr *private_servers;
    size_t private_server_count;
    int64_t expire_seconds;   /* expire = create + this; negative: never expires (dev only) */
    int32_t timeout_seconds;  /* connection timeout; negative disables it (dev only) */
    const uint8_t *user_data; /* NULL for none; read by servers only */
    size_t user_data_len;     /* 0..SG_TOKEN_USER_DATA_BYTES; the rest is zero-filled */
    sg_token_dialect dialect;
} sg_token_params;

/* Mints a token into out, created now (time(NULL)), with a fresh random nonce and fresh
 * random packet keys. *expire_timestamp (may be NULL) receives the expiry written.
 * Errors: SG_E_INVALID (NULL key/params, an address without a port or of an unknown
 * family), SG_E_ADDR_COUNT (server_count outside 1..32), SG_E_TOO_LARGE (user data over
 * 256 bytes). On error out is zeroed. */
sg_status sg_token_mint(const sg_key *key, const sg_token_params *params,
                        uint8_t out[SG_TOKEN_BYTES], uint64_t *expire_timestamp);

/* A random non-zero 64-bit client id (libsodium randombytes_buf). */
uint64_t sg_token_random_client_id(void);

/* Parses a protocol id: decimal ("1234", as bevygap passed it) or hex with 0x ("0x4d2").
 * Errors: SG_E_INVALID naming what is wrong. */
sg_status sg_token_protocol_id_parse(const char *text, uint64_t *out);

/* Parses a dialect name (SG_TOKEN_DIALECT_CHOICES). Errors: SG_E_INVALID listing them. */
sg_status sg_token_dialect_parse(const char *text, sg_token_dialect *out);
/* "netcode-1.02", "lightyear", "lightyear-0.19"; "unknown" otherwise. Never NULL. */
const char *sg_token_dialect_name(sg_token_dialect dialect);

/* ------------------------------------------------------------------------------------------
 * Settings fragments for programs (sg_config_add): sg_token_settings declares netcode-key
 * (secret, required), protocol-id (default 0) and token-dialect, read from SEATGATE_*
 * variables whatever the program's prefix; sg_token_dialect_settings is token-dialect alone
 * (for a client that only reads tokens' public part). A program may change a default or a
 * help text (sg_config_set_default, sg_config_set_text).
 * ---------------------------------------------------------------------------------------- */
extern const sg_setting sg_token_settings[];
extern const size_t sg_token_settings_count;
extern const sg_setting sg_token_dialect_settings[];
extern const size_t sg_token_dialect_settings_count;

typedef struct sg_token_options {
    sg_key *key;          /* NULL when netcode-key is not declared or unset */
    uint64_t protocol_id; /* 0 when unset */
    bool protocol_id_set;
    sg_token_dialect dialect;
} sg_token_options;

/* Fills o from a loaded config holding any of the token's settings (those it lacks keep
 * their zero or default). Errors: SG_E_INVALID naming the setting ("--netcode-key: private
 * key: expected 32 bytes ..."), never the key. Clear o with sg_token_options_clear. */
sg_status sg_token_options_from_config(const sg_config *cfg, sg_token_options *o);
void sg_token_options_clear(sg_token_options *o);

/* What a server knows: its copy of the private key and the protocol id it serves. */
typedef struct sg_token_opener {
    const sg_key *key;
    uint64_t protocol_id;
    sg_token_dialect dialect; /* must match the minting side */
} sg_token_opener;

/* The decrypted private part, plus the authenticated header fields. Holds the packet keys:
 * wipe it with sg_token_opened_wipe when done. */
typedef struct sg_token_opened {
    uint64_t protocol_id;
    uint64_t create_timestamp; /* from the public header; 0 when opened from a request */
    uint64_t expire_timestamp;
    uint64_t client_id;
    int32_t timeout_seconds;
    size_t server_count; /* 1..32 */
    sg_addr servers[SG_TOKEN_MAX_SERVERS];
    uint8_t client_to_server_key[SG_TOKEN_KEY_BYTES];
    uint8_t server_to_client_key[SG_TOKEN_KEY_BYTES];
    uint8_t user_data[SG_TOKEN_USER_DATA_BYTES];
    /* The private part's Poly1305 tag: what servers remember to refuse a token already used
     * from another address. */
    uint8_t mac[SG_TOKEN_MAC_BYTES];
} sg_token_opened;

/* The fields of a netcode connection request packet (prefix byte 0). */
typedef struct sg_connection_request {
    uint8_t version_info[SG_TOKEN_VERSION_INFO_BYTES];
    uint64_t protocol_id;
    uint64_t expire_timestamp;
    uint8_t nonce[SG_TOKEN_NONCE_BYTES];
    uint8_t private_data[SG_TOKEN_PRIVATE_BYTES];
} sg_connection_request;

/* Opens a whole token as a server would, at time now. Checks, in this order: length,
 * version info, protocol id, create <= expire, expiry, decryption, then the private part.
 * Errors: SG_E_TRUNCATED (len < 2048), SG_E_TOO_LARGE (len > 2048), SG_E_VERSION,
 * SG_E_PROTOCOL_ID, SG_E_TIMESTAMPS (create > expire), SG_E_EXPIRED (now >= expire),
 * SG_E_DECRYPT (wrong key, or the private part, nonce, version, protocol id or expire
 * timestamp altered), SG_E_ADDR_COUNT, SG_E_ADDR_TYPE (a malformed private part),
 * SG_E_INVALID (NULL arguments). On error *out is zeroed. */
sg_status sg_token_open(const sg_token_opener *opener, const uint8_t *token, size_t len,
                        uint64_t now, sg_token_opened *out);

/* Parses a received UDP datagram as a connection request of the dialect (which decides the
 * byte order of its protocol id and expire timestamp). Only the framing is checked here;
 * sg_token_open_request checks the contents.
 * Errors: SG_E_TRUNCATED (shorter than 1078 bytes), SG_E_TOO_LARGE (longer),
 * SG_E_MALFORMED (prefix byte not 0), SG_E_INVALID (NULL arguments, unknown dialect). */
sg_status sg_connection_request_parse(const uint8_t *packet, size_t len, sg_token_dialect dialect,
                                      sg_connection_request *out);

/* Opens the private token carried by a connection request, with the checks netcode.c
 * makes, in its order: version info, protocol id, expiry, decryption, private part.
 * Errors as sg_token_open, without SG_E_TIMESTAMPS (a request has no create timestamp). */
sg_status sg_token_open_request(const sg_token_opener *opener, const sg_connection_request *req,
                                uint64_t now, sg_token_opened *out);

/* Writes the connection request a client sends for this token (client side; tools and
 * tests). Errors: SG_E_TRUNCATED (len < 2048), SG_E_TOO_LARGE (len > 2048), SG_E_VERSION. */
sg_status sg_connection_request_write(const uint8_t *token, size_t len,
                                      uint8_t out[SG_CONNECTION_REQUEST_BYTES]);

/* Whether server (IP and port; IPv4-mapped IPv6 counts as IPv4) is in the token's server
 * list. A server refuses a token that does not list it. */
bool sg_token_lists_server(const sg_token_opened *opened, const sg_addr *server);

/* lightyear 0.29's check of its own address: whether the token's (private) list holds an
 * address with the port and family of bind and the same IP, where an unspecified address
 * (0.0.0.0, ::) and a loopback one count as equal. A lightyear server silently ignores a
 * request that fails it. */
bool sg_token_lists_bind(const sg_token_opened *opened, const sg_addr *bind);

/* Wipes an opened token (packet keys included). */
void sg_token_opened_wipe(sg_token_opened *opened);

/* The public part, as a client reads it (no key needed; nothing here is authenticated). */
typedef struct sg_token_public {
    uint64_t protocol_id;
    uint64_t create_timestamp;
    uint64_t expire_timestamp;
    int32_t timeout_seconds;
    size_t server_count;
    sg_addr servers[SG_TOKEN_MAX_SERVERS];
    uint8_t client_to_server_key[SG_TOKEN_KEY_BYTES];
    uint8_t server_to_client_key[SG_TOKEN_KEY_BYTES];
} sg_token_public;

/* Reads the public part with the checks a netcode client makes. Errors: SG_E_TRUNCATED,
 * SG_E_TOO_LARGE, SG_E_VERSION, SG_E_TIMESTAMPS, SG_E_ADDR_COUNT, SG_E_ADDR_TYPE. */
sg_status sg_token_read_public(const uint8_t *token, size_t len, sg_token_dialect dialect,
                               sg_token_public *out);

/* The session id in the user data: byte 0 is its length L (1..255), bytes 1..L are the
 * id (printable ASCII, '!'..'~'), the rest are zero. */
#define SG_TOKEN_SESSION_ID_MAX 255

/* Writes session_id into a 256-byte user data buffer (all of it: the tail is zeroed).
 * Errors: SG_E_INVALID (empty, NULL, or a character outside '!'..'~'), SG_E_TOO_LARGE
 * (longer than 255). On error user_data is left unchanged. */
sg_status sg_token_user_data_set_session(uint8_t user_data[SG_TOKEN_USER_DATA_BYTES],
                                         const char *session_id);

/* Reads the session id back into out (NUL-terminated). Errors: SG_E_MALFORMED (length 0,
 * or a byte outside '!'..'~'), SG_E_TOO_LARGE (out_size <= length). On error out is "". */
sg_status sg_token_user_data_get_session(const uint8_t user_data[SG_TOKEN_USER_DATA_BYTES],
                                         char *out, size_t out_size);

#ifdef __cplusplus
}
#endif
#endif
