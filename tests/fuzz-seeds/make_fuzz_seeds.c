/* Writes the seed corpora of fuzz_token_open and fuzz_key_parse:
 *   make_fuzz_seeds DIR   ->  DIR/token_open/<seed>, DIR/key_parse/<seed>
 * Tokens are minted deterministically with the fuzzer's key, protocol id and clock
 * (tests/fuzz/fuzz_token_common.h), so running it again reproduces the same files. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_token_common.h"
#include "seatgate/codec.h"
#include "seatgate/token.h"
#include "token_internal.h"

static const char *root;
static sg_key *key;

static void die(const char *what)
{
    fprintf(stderr, "make_fuzz_seeds: %s: %s\n", what, sg_last_error());
    exit(1);
}

static void seed(const char *corpus, const char *name, int mode, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, corpus);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path);
    snprintf(path, sizeof path, "%s/%s/%s", root, corpus, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if (mode >= 0) fputc(mode, f);
    fwrite(data, 1, len, f);
    if (fclose(f) != 0) die(path);
}

static void addr(const char *text, sg_addr *out)
{
    if (sg_addr_parse(text, SG_PORT_REQUIRED, out) != SG_OK) die(text);
}

static void mint(uint8_t token[SG_TOKEN_BYTES], const sg_addr *servers, size_t n,
                 sg_token_dialect layout, uint64_t create, int32_t timeout)
{
    uint8_t ud[SG_TOKEN_USER_DATA_BYTES];
    if (sg_token_user_data_set_session(ud, "9f3c2a1b7d4e-S") != SG_OK) die("session");
    sg_token_params p = {0};
    p.protocol_id = FUZZ_PROTOCOL_ID;
    p.client_id = 0x0102030405060708ULL;
    p.servers = servers;
    p.server_count = n;
    p.expire_seconds = (int64_t)(FUZZ_EXPIRE - FUZZ_CREATE);
    p.timeout_seconds = timeout;
    p.user_data = ud;
    p.user_data_len = sizeof ud;
    p.dialect = layout;
    sg_token_fixed f;
    f.create_timestamp = create;
    fuzz_nonce(f.nonce);
    for (int i = 0; i < 32; i++) {
        f.client_to_server_key[i] = (uint8_t)(i + 1);
        f.server_to_client_key[i] = (uint8_t)(0xff - i);
    }
    if (sg_token_mint_fixed(key, &p, &f, token, NULL) != SG_OK) die("mint");
}

/* The plaintext private part of a token minted by mint() at FUZZ_CREATE. */
static void private_plain(const uint8_t token[SG_TOKEN_BYTES], uint8_t plain[1008])
{
    uint8_t ad[29];
    memcpy(ad, token, 21);          /* version info and protocol id */
    memcpy(ad + 21, token + 29, 8); /* expire timestamp */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, token + 61, 1024, ad,
                                                   sizeof ad, token + 37, sg_key_bytes(key)) != 0)
        die("decrypt");
}

static void token_seeds(void)
{
    const char *c = "token_open";
    sg_addr v4, mixed[3], many[32];
    addr("203.0.113.7:7000", &v4);
    addr("198.51.100.1:7000", &mixed[0]);
    addr("[2001:db8::1]:7001", &mixed[1]);
    addr("192.0.2.200:65535", &mixed[2]);
    for (int i = 0; i < 32; i++) {
        char text[64];
        snprintf(text, sizeof text, "[2001:db8:%x:ffff::%x]:%d", i, i * 2039, 30000 + i);
        addr(text, &many[i]);
    }

    uint8_t t_v4[SG_TOKEN_BYTES], t_mixed[SG_TOKEN_BYTES], t_many[SG_TOKEN_BYTES],
        t_oct[SG_TOKEN_BYTES], t_old[SG_TOKEN_BYTES], t_ly[SG_TOKEN_BYTES],
        packet[SG_CONNECTION_REQUEST_BYTES];
    mint(t_v4, &v4, 1, SG_TOKEN_NETCODE_1_02, FUZZ_CREATE, 15);
    mint(t_mixed, mixed, 3, SG_TOKEN_NETCODE_1_02, FUZZ_CREATE, -1);
    mint(t_many, many, 32, SG_TOKEN_NETCODE_1_02, FUZZ_CREATE, 15);
    mint(t_oct, mixed, 3, SG_TOKEN_LIGHTYEAR_0_19, FUZZ_CREATE, 15);
    mint(t_old, &v4, 1, SG_TOKEN_NETCODE_1_02, FUZZ_CREATE - 100, 15); /* expired at NOW */
    mint(t_ly, mixed, 3, SG_TOKEN_LIGHTYEAR, FUZZ_CREATE, 15);        /* big-endian */

    seed(c, "token_ipv4", FUZZ_MODE_TOKEN, t_v4, sizeof t_v4);
    seed(c, "token_mixed3", FUZZ_MODE_TOKEN, t_mixed, sizeof t_mixed);
    seed(c, "token_ipv6_32", FUZZ_MODE_TOKEN, t_many, sizeof t_many);
    seed(c, "token_ipv6_octets", FUZZ_MODE_TOKEN, t_oct, sizeof t_oct);
    seed(c, "token_expired", FUZZ_MODE_TOKEN, t_old, sizeof t_old);
    seed(c, "token_lightyear_mixed3", FUZZ_MODE_TOKEN, t_ly, sizeof t_ly);
    seed(c, "token_truncated_2047", FUZZ_MODE_TOKEN, t_v4, SG_TOKEN_BYTES - 1);
    seed(c, "token_truncated_header", FUZZ_MODE_TOKEN, t_v4, 61);

    if (sg_connection_request_write(t_v4, sizeof t_v4, packet) != SG_OK) die("request");
    seed(c, "request_ipv4", FUZZ_MODE_REQUEST, packet, sizeof packet);
    seed(c, "request_truncated_1077", FUZZ_MODE_REQUEST, packet, sizeof packet - 1);
    if (sg_connection_request_write(t_mixed, sizeof t_mixed, packet) != SG_OK) die("request");
    seed(c, "request_mixed3", FUZZ_MODE_REQUEST, packet, sizeof packet);
    if (sg_connection_request_write(t_ly, sizeof t_ly, packet) != SG_OK) die("request");
    seed(c, "request_lightyear", FUZZ_MODE_REQUEST, packet, sizeof packet);

    uint8_t plain[1008];
    private_plain(t_v4, plain);
    seed(c, "private_ipv4", FUZZ_MODE_PRIVATE, plain, sizeof plain);
    private_plain(t_many, plain);
    seed(c, "private_ipv6_32", FUZZ_MODE_PRIVATE, plain, sizeof plain);
    private_plain(t_mixed, plain);
    seed(c, "private_mixed3", FUZZ_MODE_PRIVATE, plain, sizeof plain);
    plain[12] = 33; /* address count (after client id u64 and timeout u32) */
    seed(c, "private_count_33", FUZZ_MODE_PRIVATE, plain, sizeof plain);
    plain[12] = 3;
    plain[16] = 3; /* first address type */
    seed(c, "private_type_3", FUZZ_MODE_PRIVATE, plain, sizeof plain);

    char text[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
    if (sg_base64_encode(t_v4, sizeof t_v4, text, sizeof text) != SG_OK) die("base64");
    seed(c, "base64_ipv4", FUZZ_MODE_BASE64, text, strlen(text));
    seed(c, "base64_truncated", FUZZ_MODE_BASE64, text, 100);
}

static void key_seeds(void)
{
    const char *c = "key_parse";
    static const struct {
        const char *name, *text;
    } seeds[] = {
        {"hex_lower", "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"},
        {"hex_upper", "DEADBEEFCAFEF00DDEADBEEFCAFEF00DDEADBEEFCAFEF00DDEADBEEFCAFEF00D\n"},
        {"hex_short", "deadbeefcafef00ddeadbeefcafef00d"},
        {"base64", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="},
        {"base64_unpadded", "3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0"},
        {"decimal", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
                    "29,30,31,32"},
        {"decimal_spaces", " 222 , 173, 190 ,239,202,254,240,13,222,173,190,239,202,254,240,13,"
                           "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,255 "},
        {"decimal_bad", "1,2,,300,x"},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        seed(c, seeds[i].name, -1, seeds[i].text, strlen(seeds[i].text));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    uint8_t kb[32];
    fuzz_key_bytes(kb);
    if (sodium_init() < 0 || sg_key_from_bytes(kb, &key) != SG_OK) die("key");
    token_seeds();
    key_seeds();
    sg_key_free(key);
    return 0;
}
