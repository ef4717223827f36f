/* The example's tiny reply protocol, next to netcode's connection request.
 *
 * This is an example, not netcode's encrypted packets, but it authenticates as netcode does:
 * after the (real, netcode 1.02) connection request, every packet but a plain DENY carries a
 * sequence number and a 16-byte ChaCha20-Poly1305 (IETF) tag over the whole packet, made with
 * the connection's key for its direction (the token's server_to_client_key for the server,
 * client_to_server_key for the client; both sides know them from the connect token). The
 * nonce is 4 zero bytes and the sequence (little-endian), and a receiver takes a packet only
 * with a sequence above the last it took. Someone on the path can neither forge nor replay
 * a GOODBYE, a KEEPALIVE or an ACCEPT. All integers little-endian.
 *
 *   client -> server  connection request   1078 bytes, prefix byte 0 (netcode 1.02)
 *   server -> client  ACCEPT     0x10  client_id u64, sequence u64, tag            33 bytes
 *   server -> client  DENY       0x11  client_id u64, sequence u64, code u8, len u8,
 *                                      message (len bytes, ASCII), tag               35+len
 *   both ways         KEEPALIVE  0x12  client_id u64, sequence u64, tag            33 bytes
 *   both ways         GOODBYE    0x13  client_id u64, sequence u64, tag            33 bytes
 *   server -> client  PLAIN DENY 0x14  code u8, len u8, message                     3+len
 *   client -> server  SCORE      0x15  client_id u64, sequence u64, kind u8 (0 kill), len u8,
 *                                      target client id (len bytes, decimal), tag    35+len
 *
 * A PLAIN DENY is the answer to a request whose token the server cannot open (so it has no
 * key): bad_token and token_expired only; a client ignores one with any other code.
 * DENY codes 0..63 are the hook's sg_hook_reason values; 64 and above are the example
 * server's own checks (below). A packet that does not parse is ignored. A SCORE from an
 * accepted player is published as a score event (kind "kill", value 1, the target).
 */
#ifndef SG_EXAMPLE_PROTO_H
#define SG_EXAMPLE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EX_ACCEPT 0x10
#define EX_DENY 0x11
#define EX_KEEPALIVE 0x12
#define EX_GOODBYE 0x13
#define EX_PLAIN_DENY 0x14
#define EX_SCORE 0x15
#define EX_SCORE_KILL 0

enum {
    EX_DENY_BAD_TOKEN = 64,  /* does not decrypt, wrong protocol id or version, malformed */
    EX_DENY_TOKEN_EXPIRED,   /* expire timestamp passed */
    EX_DENY_NOT_THIS_SERVER, /* the token does not list this server's address */
    EX_DENY_TOKEN_REUSED,    /* the token was already used from another address */
    EX_DENY_BUSY,            /* the hook's queue is full (SG_E_FULL) */
    EX_DENY_SERVER_FULL,     /* no free player slot */
};

#define EX_KEY_BYTES 32
#define EX_TAG_BYTES 16
#define EX_MAX_MESSAGE 200
#define EX_MAX_PACKET (19 + EX_MAX_MESSAGE + EX_TAG_BYTES)

typedef struct ex_packet {
    uint8_t type;
    uint64_t client_id; /* all but PLAIN DENY */
    uint64_t sequence;  /* all but PLAIN DENY */
    uint8_t code;       /* DENY, PLAIN DENY; SCORE: the kind */
    char message[EX_MAX_MESSAGE + 1];
} ex_packet;

/* Parses a received datagram; false when it is not one of the packets above, or (for every
 * type but PLAIN DENY) when its tag does not verify under key (the sender's key for its
 * direction, EX_KEY_BYTES). key may be NULL only to read a PLAIN DENY. The caller checks
 * that the sequence is above the last one it took. */
bool ex_packet_parse(const uint8_t *buf, size_t len, const uint8_t *key, ex_packet *out);

/* Writes a packet into buf (EX_MAX_PACKET bytes), tagged with key (NULL only for a PLAIN
 * DENY); returns its length, 0 when key is missing. */
size_t ex_packet_write(const ex_packet *p, const uint8_t *key, uint8_t *buf);

/* Name of a DENY code ("ip_mismatch", "token_reused"...). */
const char *ex_deny_name(uint8_t code);

#endif
