/* Internal: byte offsets of the netcode 1.02 connect token and connection request, and the
 * byte-order helpers shared by token.c and token_request.c. */
#ifndef SEATGATE_TOKEN_WIRE_H
#define SEATGATE_TOKEN_WIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "seatgate/token.h"

/* Whole token. */
#define SG_TOK_OFF_VERSION 0
#define SG_TOK_OFF_PROTOCOL 13
#define SG_TOK_OFF_CREATE 21
#define SG_TOK_OFF_EXPIRE 29
#define SG_TOK_OFF_NONCE 37
#define SG_TOK_OFF_PRIVATE 61
#define SG_TOK_OFF_PUBLIC_REST 1085 /* timeout, addresses, keys */

/* Connection request packet. */
#define SG_REQ_OFF_VERSION 1
#define SG_REQ_OFF_PROTOCOL 14
#define SG_REQ_OFF_EXPIRE 22
#define SG_REQ_OFF_NONCE 30
#define SG_REQ_OFF_PRIVATE 54

/* Plaintext size of the private part: the Poly1305 tag fills the last 16 of 1024 bytes. */
#define SG_TOK_PRIVATE_PLAIN (SG_TOKEN_PRIVATE_BYTES - SG_TOKEN_MAC_BYTES)

extern const uint8_t sg_token_version_info[SG_TOKEN_VERSION_INFO_BYTES];

/* A dialect's integers: big-endian for lightyear >= 0.20, little-endian otherwise. */
static inline bool sg_dialect_big(sg_token_dialect d)
{
    return d == SG_TOKEN_LIGHTYEAR;
}

static inline uint64_t sg_get64(const uint8_t *p, bool big)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[big ? i : 7 - i];
    return v;
}

static inline void sg_put64(uint8_t *p, uint64_t v, bool big)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[big ? 7 - i : i] = (uint8_t)v;
}

/* Opens an encrypted private part: decrypts it under the opener's key with associated data
 * version info + opener's protocol id + expire, and parses it into out (client id, timeout,
 * addresses, keys, user data, mac). Errors: SG_E_DECRYPT, SG_E_ADDR_COUNT, SG_E_ADDR_TYPE. */
sg_status sg_token_open_private(const sg_token_opener *opener, uint64_t expire_timestamp,
                                const uint8_t nonce[SG_TOKEN_NONCE_BYTES],
                                const uint8_t encrypted[SG_TOKEN_PRIVATE_BYTES],
                                sg_token_opened *out);

/* Common argument checks of the open functions. */
sg_status sg_token_check_opener(const sg_token_opener *opener);

#endif
