/* Internal: the deterministic minting seam, for known-answer tests and fuzz corpora only.
 * Production code calls sg_token_mint, which draws the nonce and packet keys at random. */
#ifndef SEATGATE_TOKEN_INTERNAL_H
#define SEATGATE_TOKEN_INTERNAL_H

#include "seatgate/token.h"

typedef struct sg_token_fixed {
    uint64_t create_timestamp;
    uint8_t nonce[SG_TOKEN_NONCE_BYTES];
    uint8_t client_to_server_key[SG_TOKEN_KEY_BYTES];
    uint8_t server_to_client_key[SG_TOKEN_KEY_BYTES];
} sg_token_fixed;

/* sg_token_mint with the create timestamp, nonce and packet keys given instead of drawn. */
sg_status sg_token_mint_fixed(const sg_key *key, const sg_token_params *params,
                              const sg_token_fixed *fixed, uint8_t out[SG_TOKEN_BYTES],
                              uint64_t *expire_timestamp);

#endif
