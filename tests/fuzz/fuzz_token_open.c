/* libFuzzer target: opening connect tokens as a game server does, from whole tokens,
 * connection request packets, base64 text, and (sealed here with the fuzz key, so that the
 * parser behind the decryption is reached) plaintext private parts.
 *
 * Every dialect (netcode-1.02, lightyear, lightyear-0.19) is tried on every input.
 * Properties checked beyond "no crash": a successful open yields 1..32 servers each listed
 * by sg_token_lists_server; a failed open leaves the output zeroed; and a private part that
 * opens re-mints to the same bytes it was read from. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_token_common.h"
#include "seatgate/codec.h"
#include "seatgate/token.h"
#include "token_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sg_key *key;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "property failed: %s\n", what);
        abort();
    }
}

static void check_opened(sg_status st, const sg_token_opened *t)
{
    if (st == SG_OK) {
        check(t->server_count >= 1 && t->server_count <= SG_TOKEN_MAX_SERVERS, "server count");
        for (size_t i = 0; i < t->server_count; i++)
            check(sg_token_lists_server(t, &t->servers[i]), "lists its own servers");
    } else {
        static const sg_token_opened zero;
        check(memcmp(t, &zero, sizeof zero) == 0, "zeroed on error");
    }
}

static sg_token_opener opener(sg_token_dialect dialect)
{
    sg_token_opener o = {key, FUZZ_PROTOCOL_ID, dialect};
    return o;
}

static void open_token(const uint8_t *tok, size_t len)
{
    for (int d = 0; d < SG_TOKEN_DIALECT_COUNT; d++) {
        sg_token_opener o = opener((sg_token_dialect)d);
        sg_token_opened t;
        check_opened(sg_token_open(&o, tok, len, FUZZ_NOW, &t), &t);
        sg_token_public pub;
        sg_token_read_public(tok, len, (sg_token_dialect)d, &pub);
        uint8_t packet[SG_CONNECTION_REQUEST_BYTES];
        if (sg_connection_request_write(tok, len, packet) == SG_OK) {
            sg_connection_request req;
            check(sg_connection_request_parse(packet, sizeof packet, (sg_token_dialect)d, &req) ==
                      SG_OK,
                  "own packet");
            check_opened(sg_token_open_request(&o, &req, FUZZ_NOW, &t), &t);
        }
    }
}

static void open_request(const uint8_t *packet, size_t len)
{
    for (int d = 0; d < SG_TOKEN_DIALECT_COUNT; d++) {
        sg_connection_request req;
        if (sg_connection_request_parse(packet, len, (sg_token_dialect)d, &req) != SG_OK) continue;
        sg_token_opener o = opener((sg_token_dialect)d);
        sg_token_opened t;
        check_opened(sg_token_open_request(&o, &req, FUZZ_NOW, &t), &t);
    }
}

static void put64(uint8_t *p, uint64_t v, bool big)
{
    for (int i = 0; i < 8; i++)
        p[big ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Length of the private part's fields as parsed (client id .. user data). */
static size_t parsed_length(const sg_token_opened *t)
{
    size_t n = 8 + 4 + 4;
    for (size_t i = 0; i < t->server_count; i++)
        n += t->servers[i].family == AF_INET ? 1 + 4 + 2 : 1 + 16 + 2;
    return n + 32 + 32 + 256;
}

static bool remintable(const sg_token_opened *t)
{
    for (size_t i = 0; i < t->server_count; i++) {
        sg_addr a = t->servers[i];
        if (a.port == 0) return false; /* mint requires ports */
        sg_addr_normalize(&a);
        if (a.family != t->servers[i].family) return false; /* mint writes mapped as IPv4 */
    }
    return true;
}

/* Seals a fuzzed plaintext private part as dialect d would (its byte order in the header and
 * the associated data), then opens it every way and re-mints what opens. */
static void open_private_as(const uint8_t *plain_in, size_t len, sg_token_dialect d)
{
    bool big = d == SG_TOKEN_LIGHTYEAR;
    uint8_t plain[SG_TOKEN_PRIVATE_BYTES - SG_TOKEN_MAC_BYTES] = {0};
    memcpy(plain, plain_in, len < sizeof plain ? len : sizeof plain);
    uint8_t nonce[24], ad[29], token[SG_TOKEN_BYTES] = {0};
    fuzz_nonce(nonce);
    memcpy(ad, "NETCODE 1.02", 13);
    put64(ad + 13, FUZZ_PROTOCOL_ID, big);
    put64(ad + 21, FUZZ_EXPIRE, big);
    memcpy(token, ad, 21); /* version and protocol id */
    put64(token + 21, FUZZ_CREATE, big);
    put64(token + 29, FUZZ_EXPIRE, big);
    memcpy(token + 37, nonce, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(token + 61, NULL, plain, sizeof plain, ad, sizeof ad,
                                               NULL, nonce, sg_key_bytes(key));
    open_token(token, sizeof token);

    for (int layout = d; layout == (int)d; layout++) {
        sg_token_opener o = opener((sg_token_dialect)layout);
        sg_token_opened t;
        if (sg_token_open(&o, token, sizeof token, FUZZ_NOW, &t) != SG_OK || !remintable(&t))
            continue;
        sg_token_params p = {0};
        p.protocol_id = FUZZ_PROTOCOL_ID;
        p.client_id = t.client_id;
        p.servers = t.servers;
        p.server_count = t.server_count;
        p.expire_seconds = (int64_t)(FUZZ_EXPIRE - FUZZ_CREATE);
        p.timeout_seconds = t.timeout_seconds;
        p.user_data = t.user_data;
        p.user_data_len = sizeof t.user_data;
        p.dialect = (sg_token_dialect)layout;
        sg_token_fixed f;
        f.create_timestamp = FUZZ_CREATE;
        memcpy(f.nonce, nonce, sizeof nonce);
        memcpy(f.client_to_server_key, t.client_to_server_key, 32);
        memcpy(f.server_to_client_key, t.server_to_client_key, 32);
        uint8_t again[SG_TOKEN_BYTES], plain2[sizeof plain];
        check(sg_token_mint_fixed(key, &p, &f, again, NULL) == SG_OK, "re-mint");
        check(crypto_aead_xchacha20poly1305_ietf_decrypt(plain2, NULL, NULL, again + 61,
                                                         SG_TOKEN_PRIVATE_BYTES, ad, sizeof ad,
                                                         nonce, sg_key_bytes(key)) == 0,
              "re-minted token decrypts");
        check(memcmp(plain2, plain, parsed_length(&t)) == 0, "re-minted bytes match");
    }
}

static void open_private(const uint8_t *plain_in, size_t len)
{
    for (int d = 0; d < SG_TOKEN_DIALECT_COUNT; d++)
        open_private_as(plain_in, len, (sg_token_dialect)d);
}

static void open_base64(const uint8_t *text, size_t len)
{
    uint8_t token[SG_TOKEN_BYTES];
    size_t n = 0;
    if (sg_base64_decode((const char *)text, len, token, sizeof token, &n) == SG_OK)
        open_token(token, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key) {
        uint8_t kb[32];
        fuzz_key_bytes(kb);
        if (sodium_init() < 0 || sg_key_from_bytes(kb, &key) != SG_OK) abort();
    }
    if (size < 1) return 0;
    const uint8_t *rest = data + 1;
    size_t len = size - 1;
    switch (data[0] % FUZZ_MODES) {
    case FUZZ_MODE_TOKEN:
        open_token(rest, len);
        break;
    case FUZZ_MODE_REQUEST:
        open_request(rest, len);
        break;
    case FUZZ_MODE_PRIVATE:
        open_private(rest, len);
        break;
    default:
        open_base64(rest, len);
        break;
    }
    return 0;
}
