/* Shared by fuzz_token_open.c and the seed generator (tests/fuzz-seeds): the key, protocol id
 * and clock the token fuzzer uses, and the meaning of an input's first byte. */
#ifndef SEATGATE_FUZZ_TOKEN_COMMON_H
#define SEATGATE_FUZZ_TOKEN_COMMON_H

#include <stdint.h>

#define FUZZ_PROTOCOL_ID 0x5ea79a7e00000001ULL
#define FUZZ_CREATE 1700000000ULL
#define FUZZ_EXPIRE (FUZZ_CREATE + 30)
#define FUZZ_NOW (FUZZ_CREATE + 10)

/* The first byte of an input selects what the rest is (modulo 4). */
enum {
    FUZZ_MODE_TOKEN = 0,   /* a whole token */
    FUZZ_MODE_REQUEST = 1, /* a connection request packet */
    FUZZ_MODE_PRIVATE = 2, /* a plaintext private part, sealed by the harness with the key */
    FUZZ_MODE_BASE64 = 3,  /* a base64 token as carried in JSON */
    FUZZ_MODES = 4
};

static inline void fuzz_key_bytes(uint8_t key[32])
{
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x5a ^ (i * 37));
}

/* Nonce used when the harness seals a plaintext private part. */
static inline void fuzz_nonce(uint8_t nonce[24])
{
    for (int i = 0; i < 24; i++)
        nonce[i] = (uint8_t)(0xc3 + i);
}

#endif
