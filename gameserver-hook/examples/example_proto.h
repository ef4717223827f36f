/* The example's tiny reply protocol, next to netcode's connection request.
 *
 * This is an example, not netcode: after the (real, netcode 1.02) connection request, the
 * example server and client exchange these unencrypted packets. All integers little-endian.
 *
 *   client -> server  connection request   1078 bytes, prefix byte 0 (netcode 1.02)
 *   server -> client  ACCEPT     0x10  client_id u64                               9 bytes
 *   server -> client  DENY       0x11  code u8, len u8, message (len bytes, ASCII)  3+len
 *   both ways         KEEPALIVE  0x12  client_id u64                               9 bytes
 *   both ways         GOODBYE    0x13  client_id u64                               9 bytes
 *
 * DENY codes 0..63 are the hook's sg_hook_reason values; 64 and above are the example
 * server's own checks (below). A packet that does not parse is ignored.
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

enum {
    EX_DENY_BAD_TOKEN = 64,  /* does not decrypt, wrong protocol id or version, malformed */
    EX_DENY_TOKEN_EXPIRED,   /* expire timestamp passed */
    EX_DENY_NOT_THIS_SERVER, /* the token does not list this server's address */
    EX_DENY_TOKEN_REUSED,    /* the token was already used from another address */
    EX_DENY_BUSY,            /* the hook's queue is full (SG_E_FULL) */
    EX_DENY_SERVER_FULL,     /* no free player slot */
};

#define EX_MAX_MESSAGE 200
#define EX_MAX_PACKET (3 + EX_MAX_MESSAGE)

typedef struct ex_packet {
    uint8_t type;
    uint64_t client_id; /* ACCEPT, KEEPALIVE, GOODBYE */
    uint8_t code;       /* DENY */
    char message[EX_MAX_MESSAGE + 1];
} ex_packet;

/* Parses a received datagram; false when it is not one of the packets above. */
bool ex_packet_parse(const uint8_t *buf, size_t len, ex_packet *out);

/* Writes a packet into buf (EX_MAX_PACKET bytes); returns its length. */
size_t ex_packet_write(const ex_packet *p, uint8_t *buf);

/* Name of a DENY code ("ip_mismatch", "token_reused"...). */
const char *ex_deny_name(uint8_t code);

#endif
