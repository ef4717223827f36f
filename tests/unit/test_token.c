/* netcode 1.02 connect tokens: known answers, round trips, tampering, expiry, malformed input.
 *
 * Expected tokens are assembled here, independently of common/src, straight from the layout
 * in docs/tokens.md: little-endian writers of this file and a direct libsodium AEAD call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "seatgate/token.h"
#include "token_internal.h"

#define PROTOCOL 0x1122334455667788ULL
#define CLIENT 0x0123456789abcdefULL
#define CREATE 1700000000ULL
#define EXPIRE_SECONDS 30
#define NOW (CREATE + 10)

/* ---- the reference assembler -------------------------------------------------------------- */

static void w8(uint8_t **p, uint8_t v)
{
    *(*p)++ = v;
}
static void w16(uint8_t **p, uint16_t v)
{
    w8(p, (uint8_t)(v & 0xff));
    w8(p, (uint8_t)(v >> 8));
}
static void w32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w8(p, (uint8_t)(v >> (8 * i)));
}
static void w64(uint8_t **p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        w8(p, (uint8_t)(v >> (8 * i)));
}
static void wbytes(uint8_t **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

typedef struct ref_addr {
    uint8_t type; /* 1 IPv4, 2 IPv6, anything else for malformed tests */
    uint8_t v4[4];
    uint16_t groups[8]; /* IPv6 as the eight 16-bit groups of its text form */
    uint16_t port;
} ref_addr;

typedef struct ref_token {
    uint64_t protocol_id, create, expire, client_id;
    int32_t timeout;
    uint8_t nonce[24], key[32], c2s[32], s2c[32], user_data[256];
    uint32_t count; /* the count written */
    const ref_addr *addrs;
    uint32_t addrs_len; /* how many are written */
    int octets;         /* IPv6 as 16 network-order bytes instead of little-endian groups */
} ref_token;

static void ref_addrs(uint8_t **p, const ref_token *t)
{
    w32(p, t->count);
    for (uint32_t i = 0; i < t->addrs_len; i++) {
        const ref_addr *a = &t->addrs[i];
        w8(p, a->type);
        if (a->type == 2) {
            for (int g = 0; g < 8; g++) {
                if (t->octets) {
                    w8(p, (uint8_t)(a->groups[g] >> 8));
                    w8(p, (uint8_t)a->groups[g]);
                } else {
                    w16(p, a->groups[g]);
                }
            }
        } else {
            wbytes(p, a->v4, 4);
        }
        w16(p, a->port);
    }
}

static void ref_build(uint8_t out[2048], const ref_token *t)
{
    uint8_t plain[1008] = {0}, *p = plain;
    w64(&p, t->client_id);
    w32(&p, (uint32_t)t->timeout);
    ref_addrs(&p, t);
    wbytes(&p, t->c2s, 32);
    wbytes(&p, t->s2c, 32);
    wbytes(&p, t->user_data, 256);

    uint8_t ad[29], *a = ad;
    wbytes(&a, "NETCODE 1.02", 13); /* 12 characters and the NUL */
    w64(&a, t->protocol_id);
    w64(&a, t->expire);

    memset(out, 0, 2048);
    p = out;
    wbytes(&p, "NETCODE 1.02", 13);
    w64(&p, t->protocol_id);
    w64(&p, t->create);
    w64(&p, t->expire);
    wbytes(&p, t->nonce, 24);
    unsigned long long clen = 0;
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(p, &clen, plain, sizeof plain, ad,
                                                                sizeof ad, NULL, t->nonce, t->key),
                     0);
    assert_int_equal(clen, 1024);
    p += 1024;
    w32(&p, (uint32_t)t->timeout);
    ref_addrs(&p, t);
    wbytes(&p, t->c2s, 32);
    wbytes(&p, t->s2c, 32);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static const ref_addr REF_V4 = {1, {203, 0, 113, 7}, {0}, 7000};
static const ref_addr REF_V6 = {2, {0}, {0x2001, 0x0db8, 0, 0, 0, 0, 0, 0x0001}, 7001};

static uint8_t key_bytes[32];
static sg_key *key;
static sg_addr addr_v4, addr_v6;

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0) return -1;
    for (int i = 0; i < 32; i++)
        key_bytes[i] = (uint8_t)(0xa0 + i);
    if (sg_key_from_bytes(key_bytes, &key) != SG_OK) return -1;
    if (sg_addr_parse("203.0.113.7:7000", SG_PORT_REQUIRED, &addr_v4) != SG_OK) return -1;
    if (sg_addr_parse("[2001:db8::1]:7001", SG_PORT_REQUIRED, &addr_v6) != SG_OK) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sg_key_free(key);
    return 0;
}

static sg_token_fixed fixed_values(void)
{
    sg_token_fixed f;
    f.create_timestamp = CREATE;
    for (int i = 0; i < 24; i++)
        f.nonce[i] = (uint8_t)(0x10 + i);
    for (int i = 0; i < 32; i++) {
        f.client_to_server_key[i] = (uint8_t)(0x40 + i);
        f.server_to_client_key[i] = (uint8_t)(0x80 + i);
    }
    return f;
}

static ref_token ref_from_fixed(const sg_token_fixed *f)
{
    ref_token t;
    memset(&t, 0, sizeof t);
    t.protocol_id = PROTOCOL;
    t.create = f->create_timestamp;
    t.expire = f->create_timestamp + EXPIRE_SECONDS;
    t.client_id = CLIENT;
    t.timeout = 15;
    memcpy(t.nonce, f->nonce, 24);
    memcpy(t.key, key_bytes, 32);
    memcpy(t.c2s, f->client_to_server_key, 32);
    memcpy(t.s2c, f->server_to_client_key, 32);
    return t;
}

static sg_token_params params_for(const sg_addr *servers, size_t n)
{
    sg_token_params p;
    memset(&p, 0, sizeof p);
    p.protocol_id = PROTOCOL;
    p.client_id = CLIENT;
    p.servers = servers;
    p.server_count = n;
    p.expire_seconds = EXPIRE_SECONDS;
    p.timeout_seconds = 15;
    return p;
}

static const sg_token_opener *opener(void)
{
    static sg_token_opener o;
    o.key = key;
    o.protocol_id = PROTOCOL;
    o.dialect = SG_TOKEN_NETCODE_1_02;
    return &o;
}

static void assert_same_bytes(const uint8_t *got, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("byte %zu differs: got 0x%02x, expected 0x%02x", i, got[i], want[i]);
}

/* A valid token minted with the fixed values, one IPv4 and one IPv6 server. */
static void mint_fixed_token(uint8_t token[2048])
{
    sg_addr servers[2] = {addr_v4, addr_v6};
    sg_token_params p = params_for(servers, 2);
    sg_token_fixed f = fixed_values();
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
}

/* ---- known answers --------------------------------------------------------------------- */

static void test_known_answer_matches_reference_layout(void **state)
{
    (void)state;
    uint8_t user_data[256];
    for (int i = 0; i < 256; i++)
        user_data[i] = (uint8_t)(255 - i);
    sg_addr servers[2] = {addr_v4, addr_v6};
    sg_token_params p = params_for(servers, 2);
    p.user_data = user_data;
    p.user_data_len = sizeof user_data;
    sg_token_fixed f = fixed_values();
    uint8_t got[2048];
    uint64_t expire = 0;
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, got, &expire), SG_OK);
    assert_int_equal(expire, CREATE + EXPIRE_SECONDS);

    ref_addr addrs[2] = {REF_V4, REF_V6};
    ref_token t = ref_from_fixed(&f);
    t.count = t.addrs_len = 2;
    t.addrs = addrs;
    memcpy(t.user_data, user_data, 256);
    uint8_t want[2048];
    ref_build(want, &t);
    assert_same_bytes(got, want, 2048);

    /* Pinned bytes of the public address list (after timeout and count at 1085..1092):
     * IPv4 as four bytes, ports and IPv6 groups little-endian, as netcode.c writes them. */
    static const uint8_t list[] = {0x01, 203,  0,    113, 7,    0x58, 0x1b, 0x02, 0x01,
                                   0x20, 0xb8, 0x0d, 0,   0,    0,    0,    0,    0,
                                   0,    0,    0,    0,   0x01, 0x00, 0x59, 0x1b};
    assert_same_bytes(got + 1093, list, sizeof list);
    static const uint8_t head[] = {'N', 'E', 'T',  'C',  'O',  'D',  'E',  ' ',  '1',  '.', '0',
                                   '2', 0,   0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    assert_same_bytes(got, head, sizeof head);
}

static void test_known_answer_ipv6_octets_layout(void **state)
{
    (void)state;
    sg_addr servers[1] = {addr_v6};
    sg_token_params p = params_for(servers, 1);
    p.dialect = SG_TOKEN_LIGHTYEAR_0_19;
    sg_token_fixed f = fixed_values();
    uint8_t got[2048], want[2048];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, got, NULL), SG_OK);
    ref_token t = ref_from_fixed(&f);
    t.count = t.addrs_len = 1;
    t.addrs = &REF_V6;
    t.octets = 1;
    ref_build(want, &t);
    assert_same_bytes(got, want, 2048);
    static const uint8_t v6[] = {0x02, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,   0,
                                 0,    0,    0,    0,    0,    0, 0, 0x01};
    assert_same_bytes(got + 1093, v6, sizeof v6);
}

/* ---- round trips ------------------------------------------------------------------------ */

static void round_trip(const sg_addr *servers, size_t n, sg_token_dialect layout)
{
    uint8_t user_data[256];
    randombytes_buf(user_data, sizeof user_data);
    sg_token_params p = params_for(servers, n);
    p.user_data = user_data;
    p.user_data_len = sizeof user_data;
    p.dialect = layout;
    p.timeout_seconds = -1;
    uint8_t token[2048];
    uint64_t expire = 0;
    assert_int_equal(sg_token_mint(key, &p, token, &expire), SG_OK);

    sg_token_opener o = *opener();
    o.dialect = layout;
    uint64_t now = expire - EXPIRE_SECONDS; /* the creation second */
    sg_token_opened t;
    if (sg_token_open(&o, token, sizeof token, now, &t) != SG_OK) fail_msg("%s", sg_last_error());
    assert_int_equal(t.client_id, CLIENT);
    assert_int_equal(t.protocol_id, PROTOCOL);
    assert_int_equal(t.expire_timestamp, expire);
    assert_int_equal(t.create_timestamp, expire - EXPIRE_SECONDS);
    assert_int_equal(t.timeout_seconds, -1);
    assert_int_equal(t.server_count, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(sg_addr_equal(&t.servers[i], &servers[i], true));
        assert_true(sg_token_lists_server(&t, &servers[i]));
    }
    assert_memory_equal(t.user_data, user_data, 256);
    assert_memory_equal(t.mac, token + 61 + 1008, 16);

    /* The client sees the same keys and addresses in the public part. */
    sg_token_public pub;
    assert_int_equal(sg_token_read_public(token, sizeof token, layout, &pub), SG_OK);
    assert_memory_equal(pub.client_to_server_key, t.client_to_server_key, 32);
    assert_memory_equal(pub.server_to_client_key, t.server_to_client_key, 32);
    assert_int_equal(pub.timeout_seconds, -1);
    assert_int_equal(pub.server_count, n);
    for (size_t i = 0; i < n; i++)
        assert_true(sg_addr_equal(&pub.servers[i], &servers[i], true));
    sg_token_opened_wipe(&t);
}

static void test_round_trip_ipv4(void **state)
{
    (void)state;
    round_trip(&addr_v4, 1, SG_TOKEN_NETCODE_1_02);
}

static void test_round_trip_ipv6_both_layouts(void **state)
{
    (void)state;
    round_trip(&addr_v6, 1, SG_TOKEN_NETCODE_1_02);
    round_trip(&addr_v6, 1, SG_TOKEN_LIGHTYEAR_0_19);
}

static void test_round_trip_32_mixed_addresses(void **state)
{
    (void)state;
    sg_addr servers[32];
    for (int i = 0; i < 32; i++) {
        char text[64];
        if (i % 2)
            snprintf(text, sizeof text, "[2001:db8:%x::%x]:%d", i, 0xff00 + i, 40000 + i);
        else
            snprintf(text, sizeof text, "198.51.100.%d:%d", i + 1, 7000 + i);
        assert_int_equal(sg_addr_parse(text, SG_PORT_REQUIRED, &servers[i]), SG_OK);
    }
    round_trip(servers, 32, SG_TOKEN_NETCODE_1_02);
    round_trip(servers, 32, SG_TOKEN_LIGHTYEAR_0_19);
}

static void test_user_data_shorter_than_256_is_zero_filled(void **state)
{
    (void)state;
    sg_token_params p = params_for(&addr_v4, 1);
    p.user_data = (const uint8_t *)"abc";
    p.user_data_len = 3;
    sg_token_fixed f = fixed_values();
    uint8_t token[2048];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    sg_token_opened t;
    assert_int_equal(sg_token_open(opener(), token, sizeof token, NOW, &t), SG_OK);
    uint8_t want[256] = {'a', 'b', 'c'};
    assert_memory_equal(t.user_data, want, 256);
}

static void test_connection_request_round_trip(void **state)
{
    (void)state;
    uint8_t token[2048], packet[SG_CONNECTION_REQUEST_BYTES];
    mint_fixed_token(token);
    assert_int_equal(sg_connection_request_write(token, sizeof token, packet), SG_OK);

    /* The packet, assembled by hand: prefix 0, version, protocol, expire, nonce, private. */
    uint8_t want[1078], *p = want;
    w8(&p, 0);
    wbytes(&p, token, 13);
    wbytes(&p, token + 13, 8);
    wbytes(&p, token + 29, 8);
    wbytes(&p, token + 37, 24);
    wbytes(&p, token + 61, 1024);
    assert_int_equal(p - want, 1078);
    assert_same_bytes(packet, want, sizeof want);

    sg_connection_request req;
    assert_int_equal(sg_connection_request_parse(packet, sizeof packet, SG_TOKEN_NETCODE_1_02, &req), SG_OK);
    assert_int_equal(req.protocol_id, PROTOCOL);
    assert_int_equal(req.expire_timestamp, CREATE + EXPIRE_SECONDS);
    sg_token_opened a, b;
    assert_int_equal(sg_token_open_request(opener(), &req, NOW, &a), SG_OK);
    assert_int_equal(sg_token_open(opener(), token, sizeof token, NOW, &b), SG_OK);
    assert_int_equal(a.create_timestamp, 0);
    b.create_timestamp = 0;
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.client_id, CLIENT);
    assert_true(sg_token_lists_server(&a, &addr_v6));
}

/* ---- tampering ------------------------------------------------------------------------- */

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void test_every_header_and_private_byte_change_is_rejected(void **state)
{
    (void)state;
    uint8_t token[2048], bad[2048];
    mint_fixed_token(token);
    const uint64_t create = CREATE, expire = CREATE + EXPIRE_SECONDS;
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    int accepted_create_changes = 0;
    for (size_t off = 0; off < 61 + 1024; off++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(bad, token, sizeof bad);
            bad[off] ^= flips[f];
            sg_status want;
            if (off < 13) {
                want = SG_E_VERSION;
            } else if (off < 21) {
                want = SG_E_PROTOCOL_ID;
            } else if (off < 29) { /* create timestamp: not authenticated, only ordered */
                want = le64_at(bad + 21) > expire ? SG_E_TIMESTAMPS : SG_OK;
            } else if (off < 37) {
                uint64_t e = le64_at(bad + 29);
                want = create > e ? SG_E_TIMESTAMPS : NOW >= e ? SG_E_EXPIRED : SG_E_DECRYPT;
            } else {
                want = SG_E_DECRYPT; /* nonce, ciphertext, tag */
            }
            sg_token_opened t;
            sg_status got = sg_token_open(opener(), bad, sizeof bad, NOW, &t);
            if (got != want)
                fail_msg("byte %zu ^ 0x%02x: got %s, expected %s", off, flips[f],
                         sg_status_name(got), sg_status_name(want));
            if (want == SG_OK) {
                accepted_create_changes++;
                assert_int_equal(t.create_timestamp, le64_at(bad + 21));
            } else {
                uint8_t zero[sizeof t] = {0};
                assert_memory_equal(&t, zero, sizeof t); /* nothing half-written */
            }
        }
    }
    assert_true(accepted_create_changes > 0);
}

static void test_every_connection_request_byte_change_is_rejected(void **state)
{
    (void)state;
    uint8_t token[2048], packet[1078], bad[1078];
    mint_fixed_token(token);
    assert_int_equal(sg_connection_request_write(token, sizeof token, packet), SG_OK);
    static const uint8_t flips[] = {0x01, 0xff};
    for (size_t off = 0; off < sizeof packet; off++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(bad, packet, sizeof bad);
            bad[off] ^= flips[f];
            sg_connection_request req;
            sg_status got = sg_connection_request_parse(bad, sizeof bad, SG_TOKEN_NETCODE_1_02, &req);
            sg_status want = SG_OK;
            if (off == 0) {
                want = SG_E_MALFORMED;
            } else {
                assert_int_equal(got, SG_OK);
                sg_token_opened t;
                got = sg_token_open_request(opener(), &req, NOW, &t);
                if (off < 14)
                    want = SG_E_VERSION;
                else if (off < 22)
                    want = SG_E_PROTOCOL_ID;
                else if (off < 30)
                    want = NOW >= le64_at(bad + 22) ? SG_E_EXPIRED : SG_E_DECRYPT;
                else
                    want = SG_E_DECRYPT;
            }
            if (got != want)
                fail_msg("byte %zu ^ 0x%02x: got %s, expected %s", off, flips[f],
                         sg_status_name(got), sg_status_name(want));
        }
    }
}

static void test_public_part_is_not_what_servers_trust(void **state)
{
    (void)state;
    /* Bytes after the private part are for the client only: changing them does not change
     * what a server reads (the server never receives them). */
    uint8_t token[2048];
    mint_fixed_token(token);
    sg_token_opened a, b;
    assert_int_equal(sg_token_open(opener(), token, sizeof token, NOW, &a), SG_OK);
    token[1085] ^= 0xff; /* public timeout */
    token[1100] ^= 0xff; /* public address */
    assert_int_equal(sg_token_open(opener(), token, sizeof token, NOW, &b), SG_OK);
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_wrong_key_and_wrong_protocol_id(void **state)
{
    (void)state;
    uint8_t token[2048];
    mint_fixed_token(token);
    sg_key *other = NULL;
    assert_int_equal(sg_key_generate(&other), SG_OK);
    sg_token_opener o = *opener();
    o.key = other;
    sg_token_opened t;
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &t), SG_E_DECRYPT);
    o = *opener();
    o.protocol_id = PROTOCOL + 1;
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &t), SG_E_PROTOCOL_ID);

    uint8_t packet[1078];
    sg_connection_request req;
    assert_int_equal(sg_connection_request_write(token, sizeof token, packet), SG_OK);
    assert_int_equal(sg_connection_request_parse(packet, sizeof packet, SG_TOKEN_NETCODE_1_02, &req), SG_OK);
    assert_int_equal(sg_token_open_request(&o, &req, NOW, &t), SG_E_PROTOCOL_ID);
    o = *opener();
    o.key = other;
    assert_int_equal(sg_token_open_request(&o, &req, NOW, &t), SG_E_DECRYPT);
    sg_key_free(other);
}

/* ---- expiry ------------------------------------------------------------------------------ */

static void test_expiry_boundary(void **state)
{
    (void)state;
    uint8_t token[2048], packet[1078];
    mint_fixed_token(token);
    const uint64_t expire = CREATE + EXPIRE_SECONDS;
    sg_token_opened t;
    /* netcode.c and lightyear ignore a request when expire <= now. */
    assert_int_equal(sg_token_open(opener(), token, sizeof token, expire - 1, &t), SG_OK);
    assert_int_equal(sg_token_open(opener(), token, sizeof token, expire, &t), SG_E_EXPIRED);
    assert_int_equal(sg_token_open(opener(), token, sizeof token, expire + 1, &t), SG_E_EXPIRED);
    assert_int_equal(sg_token_open(opener(), token, sizeof token, 0, &t), SG_OK);

    sg_connection_request req;
    assert_int_equal(sg_connection_request_write(token, sizeof token, packet), SG_OK);
    assert_int_equal(sg_connection_request_parse(packet, sizeof packet, SG_TOKEN_NETCODE_1_02, &req), SG_OK);
    assert_int_equal(sg_token_open_request(opener(), &req, expire - 1, &t), SG_OK);
    assert_int_equal(sg_token_open_request(opener(), &req, expire, &t), SG_E_EXPIRED);
}

static void test_negative_expire_seconds_never_expires(void **state)
{
    (void)state;
    sg_token_params p = params_for(&addr_v4, 1);
    p.expire_seconds = -1;
    uint8_t token[2048];
    uint64_t expire = 0;
    assert_int_equal(sg_token_mint(key, &p, token, &expire), SG_OK);
    assert_true(expire == SG_TOKEN_NEVER_EXPIRES);
    sg_token_opened t;
    assert_int_equal(sg_token_open(opener(), token, sizeof token, UINT64_MAX - 1, &t), SG_OK);
}

/* ---- malformed input --------------------------------------------------------------------- */

static sg_status open_ref(const ref_token *t, sg_status *via_request, sg_status *via_public)
{
    uint8_t token[2048], packet[1078];
    ref_build(token, t);
    sg_token_opened o;
    sg_status st = sg_token_open(opener(), token, sizeof token, NOW, &o);
    sg_connection_request req;
    assert_int_equal(sg_connection_request_write(token, sizeof token, packet), SG_OK);
    assert_int_equal(sg_connection_request_parse(packet, sizeof packet, SG_TOKEN_NETCODE_1_02, &req), SG_OK);
    *via_request = sg_token_open_request(opener(), &req, NOW, &o);
    sg_token_public pub;
    *via_public = sg_token_read_public(token, sizeof token, SG_TOKEN_NETCODE_1_02, &pub);
    return st;
}

static void test_malformed_tokens_have_their_own_errors(void **state)
{
    (void)state;
    sg_token_fixed f = fixed_values();
    ref_addr many[33];
    for (int i = 0; i < 33; i++)
        many[i] = REF_V4;
    sg_status req, pub;

    ref_token t = ref_from_fixed(&f);
    t.addrs = many;
    t.count = t.addrs_len = 1;
    assert_int_equal(open_ref(&t, &req, &pub), SG_OK); /* the reference itself is valid */
    assert_int_equal(req, SG_OK);
    assert_int_equal(pub, SG_OK);

    t.count = t.addrs_len = 0;
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_ADDR_COUNT);
    assert_int_equal(req, SG_E_ADDR_COUNT);
    assert_int_equal(pub, SG_E_ADDR_COUNT);

    t.count = t.addrs_len = 33;
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_ADDR_COUNT);
    assert_int_equal(req, SG_E_ADDR_COUNT);
    assert_int_equal(pub, SG_E_ADDR_COUNT);

    t.count = 0xffffffffu; /* a huge count with one address written */
    t.addrs_len = 1;
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_ADDR_COUNT);

    ref_addr typed[2] = {REF_V4, REF_V4};
    typed[1].type = 3;
    t.addrs = typed;
    t.count = t.addrs_len = 2;
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_ADDR_TYPE);
    assert_int_equal(req, SG_E_ADDR_TYPE);
    assert_int_equal(pub, SG_E_ADDR_TYPE);
    typed[1].type = 0;
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_ADDR_TYPE);

    t.addrs = many;
    t.count = t.addrs_len = 1;
    t.create = t.expire + 1; /* created after it expires */
    assert_int_equal(open_ref(&t, &req, &pub), SG_E_TIMESTAMPS);
    assert_int_equal(pub, SG_E_TIMESTAMPS);
    assert_int_equal(req, SG_OK); /* a request carries no create timestamp */
}

static void test_truncated_and_oversized_input(void **state)
{
    (void)state;
    uint8_t token[2049] = {0}, packet[1079] = {0};
    mint_fixed_token(token);
    sg_token_opened t;
    assert_int_equal(sg_token_open(opener(), token, 2047, NOW, &t), SG_E_TRUNCATED);
    assert_int_equal(sg_token_open(opener(), token, 0, NOW, &t), SG_E_TRUNCATED);
    assert_int_equal(sg_token_open(opener(), token, 100, NOW, &t), SG_E_TRUNCATED);
    assert_int_equal(sg_token_open(opener(), token, 2049, NOW, &t), SG_E_TOO_LARGE);
    sg_token_public pub;
    assert_int_equal(sg_token_read_public(token, 2047, SG_TOKEN_NETCODE_1_02, &pub),
                     SG_E_TRUNCATED);

    assert_int_equal(sg_connection_request_write(token, 2048, packet), SG_OK);
    sg_connection_request req;
    assert_int_equal(sg_connection_request_parse(packet, 1077, SG_TOKEN_NETCODE_1_02, &req), SG_E_TRUNCATED);
    assert_int_equal(sg_connection_request_parse(packet, 1, SG_TOKEN_NETCODE_1_02, &req), SG_E_TRUNCATED);
    assert_int_equal(sg_connection_request_parse(packet, 0, SG_TOKEN_NETCODE_1_02, &req), SG_E_TRUNCATED);
    assert_int_equal(sg_connection_request_parse(packet, 1079, SG_TOKEN_NETCODE_1_02, &req), SG_E_TOO_LARGE);
    assert_int_equal(sg_connection_request_write(token, 2047, packet), SG_E_TRUNCATED);
}

static void test_mint_rejects_bad_parameters_and_writes_nothing(void **state)
{
    (void)state;
    sg_addr servers[33];
    for (int i = 0; i < 33; i++)
        servers[i] = addr_v4;
    uint8_t token[2048], zero[2048] = {0};
    sg_token_params p = params_for(servers, 0);

    memset(token, 0xaa, sizeof token);
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_ADDR_COUNT);
    assert_memory_equal(token, zero, sizeof token);
    p.server_count = 33;
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_ADDR_COUNT);

    p.server_count = 1;
    servers[0].port = 0;
    memset(token, 0xaa, sizeof token);
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_INVALID);
    assert_memory_equal(token, zero, sizeof token);
    servers[0] = addr_v4;
    servers[0].family = AF_UNIX;
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_INVALID);
    servers[0] = addr_v4;

    uint8_t big[257] = {0};
    p.user_data = big;
    p.user_data_len = sizeof big;
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_TOO_LARGE);
    p.user_data = NULL;
    p.user_data_len = 4;
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_E_INVALID);
    p.user_data_len = 0;
    assert_int_equal(sg_token_mint(NULL, &p, token, NULL), SG_E_INVALID);
    assert_int_equal(sg_token_mint(key, NULL, token, NULL), SG_E_INVALID);
    assert_int_equal(sg_token_mint(key, &p, token, NULL), SG_OK);
}

/* ---- server list, session id, client ids ---------------------------------------------- */

static void test_lists_server(void **state)
{
    (void)state;
    uint8_t token[2048];
    mint_fixed_token(token);
    sg_token_opened t;
    assert_int_equal(sg_token_open(opener(), token, sizeof token, NOW, &t), SG_OK);
    sg_addr a;
    assert_int_equal(sg_addr_parse("203.0.113.7:7000", SG_PORT_REQUIRED, &a), SG_OK);
    assert_true(sg_token_lists_server(&t, &a));
    assert_int_equal(sg_addr_parse("[::ffff:203.0.113.7]:7000", SG_PORT_REQUIRED, &a), SG_OK);
    assert_true(sg_token_lists_server(&t, &a));
    assert_int_equal(sg_addr_parse("203.0.113.7:7001", SG_PORT_REQUIRED, &a), SG_OK);
    assert_false(sg_token_lists_server(&t, &a)); /* right IP, wrong port */
    assert_int_equal(sg_addr_parse("203.0.113.8:7000", SG_PORT_REQUIRED, &a), SG_OK);
    assert_false(sg_token_lists_server(&t, &a));
    assert_int_equal(sg_addr_parse("[2001:db8::1]:7001", SG_PORT_REQUIRED, &a), SG_OK);
    assert_true(sg_token_lists_server(&t, &a));
    assert_int_equal(sg_addr_parse("[2001:db8::2]:7001", SG_PORT_REQUIRED, &a), SG_OK);
    assert_false(sg_token_lists_server(&t, &a));
    sg_token_opened_wipe(&t);
    assert_false(sg_token_lists_server(&t, &addr_v4));
}

static void test_session_id_in_user_data(void **state)
{
    (void)state;
    uint8_t ud[256];
    memset(ud, 0xee, sizeof ud);
    assert_int_equal(sg_token_user_data_set_session(ud, "5a0d7c4b2e91-S"), SG_OK);
    assert_int_equal(ud[0], 14);
    assert_memory_equal(ud + 1, "5a0d7c4b2e91-S", 14);
    for (int i = 15; i < 256; i++)
        assert_int_equal(ud[i], 0);

    /* through a token and back */
    sg_token_params p = params_for(&addr_v4, 1);
    p.user_data = ud;
    p.user_data_len = sizeof ud;
    uint8_t token[2048];
    uint64_t expire;
    assert_int_equal(sg_token_mint(key, &p, token, &expire), SG_OK);
    sg_token_opened t;
    assert_int_equal(sg_token_open(opener(), token, sizeof token, expire - 1, &t), SG_OK);
    char sid[SG_TOKEN_SESSION_ID_MAX + 1];
    assert_int_equal(sg_token_user_data_get_session(t.user_data, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, "5a0d7c4b2e91-S");
    assert_int_equal(sg_token_user_data_get_session(t.user_data, sid, 14), SG_E_TOO_LARGE);
    assert_string_equal(sid, "");

    char longest[256];
    memset(longest, 'x', 255);
    longest[255] = '\0';
    assert_int_equal(sg_token_user_data_set_session(ud, longest), SG_OK);
    assert_int_equal(sg_token_user_data_get_session(ud, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, longest);

    uint8_t before[256];
    memcpy(before, ud, sizeof ud);
    char too_long[257];
    memset(too_long, 'x', 256);
    too_long[256] = '\0';
    assert_int_equal(sg_token_user_data_set_session(ud, too_long), SG_E_TOO_LARGE);
    assert_int_equal(sg_token_user_data_set_session(ud, ""), SG_E_INVALID);
    assert_int_equal(sg_token_user_data_set_session(ud, "has space"), SG_E_INVALID);
    assert_int_equal(sg_token_user_data_set_session(ud, "tab\t"), SG_E_INVALID);
    assert_memory_equal(ud, before, sizeof ud); /* unchanged on error */

    uint8_t none[256] = {0};
    assert_int_equal(sg_token_user_data_get_session(none, sid, sizeof sid), SG_E_MALFORMED);
    none[0] = 3;
    memcpy(none + 1, "a\0b", 3);
    assert_int_equal(sg_token_user_data_get_session(none, sid, sizeof sid), SG_E_MALFORMED);
}

static void test_random_client_ids_are_non_zero_and_vary(void **state)
{
    (void)state;
    uint64_t first = sg_token_random_client_id();
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = sg_token_random_client_id();
        assert_true(id != 0);
        same += id == first;
    }
    assert_true(same < 1000);
}

static void test_fresh_nonce_and_keys_per_token(void **state)
{
    (void)state;
    sg_token_params p = params_for(&addr_v4, 1);
    uint8_t a[2048], b[2048];
    assert_int_equal(sg_token_mint(key, &p, a, NULL), SG_OK);
    assert_int_equal(sg_token_mint(key, &p, b, NULL), SG_OK);
    assert_memory_not_equal(a + 37, b + 37, 24);     /* nonce */
    assert_memory_not_equal(a + 1100, b + 1100, 32); /* client-to-server key (1 IPv4 server) */
}

static void test_protocol_id_and_layout_settings(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_int_equal(sg_token_protocol_id_parse("0", &v), SG_OK);
    assert_true(v == 0);
    assert_int_equal(sg_token_protocol_id_parse("18446744073709551615", &v), SG_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(sg_token_protocol_id_parse("0x1122334455667788", &v), SG_OK);
    assert_true(v == PROTOCOL);
    assert_int_equal(sg_token_protocol_id_parse("0XaBcD", &v), SG_OK);
    assert_true(v == 0xabcd);
    assert_int_equal(sg_token_protocol_id_parse("18446744073709551616", &v), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "protocol id: larger than 64 bits");
    assert_int_equal(sg_token_protocol_id_parse("0x10000000000000000", &v), SG_E_INVALID);
    assert_int_equal(sg_token_protocol_id_parse("12a", &v), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "protocol id: bad character at position 3");
    assert_int_equal(sg_token_protocol_id_parse("-1", &v), SG_E_INVALID);
    assert_int_equal(sg_token_protocol_id_parse("", &v), SG_E_INVALID);
    assert_int_equal(sg_token_protocol_id_parse("0x", &v), SG_E_INVALID);

    sg_token_dialect l = SG_TOKEN_NETCODE_1_02;
    assert_int_equal(sg_token_dialect_parse("octets", &l), SG_OK); /* the older names */
    assert_int_equal(l, SG_TOKEN_LIGHTYEAR_0_19);
    assert_string_equal(sg_token_dialect_name(l), "lightyear-0.19");
    assert_int_equal(sg_token_dialect_parse("groups-le", &l), SG_OK);
    assert_int_equal(l, SG_TOKEN_NETCODE_1_02);
    assert_string_equal(sg_token_dialect_name(l), "netcode-1.02");
    assert_int_equal(sg_token_dialect_parse("lightyear", &l), SG_OK);
    assert_int_equal(l, SG_TOKEN_LIGHTYEAR);
    assert_string_equal(sg_token_dialect_name(l), "lightyear");
    assert_int_equal(sg_token_dialect_parse("big-endian", &l), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "token dialect: expected netcode-1.02, lightyear (0.20 "
                                         "and later) or lightyear-0.19");
    assert_string_equal(sg_token_dialect_name((sg_token_dialect)9), "unknown");
}

/* The token fragment: one declaration of the three settings and one mapping, with errors
 * naming the setting (never the key), and a program's own wording kept. */
static void test_token_settings_fragment(void **state)
{
    (void)state;
    sg_config cfg = {.program = "t", .env_prefix = "SGTEST_TOK_"};
    assert_int_equal(sg_config_add(&cfg, sg_token_settings, sg_token_settings_count), SG_OK);
    assert_int_equal(sg_config_set_text(&cfg, "protocol-id", "mine", "old-protocol"), SG_OK);
    assert_string_equal(sg_config_find(&cfg, "protocol-id")->help, "mine");
    assert_int_equal(sg_config_set_text(&cfg, "no-such", "x", NULL), SG_E_INVALID);
    char *ok[] = {"t", "--netcode-key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                  "--old-protocol", "0x10", "--token-dialect", "lightyear", NULL};
    assert_int_equal(sg_config_load(&cfg, 7, ok), SG_OK);
    sg_token_options o;
    assert_int_equal(sg_token_options_from_config(&cfg, &o), SG_OK);
    assert_non_null(o.key);
    assert_int_equal(sg_key_bytes(o.key)[31], 0x1f);
    assert_true(o.protocol_id == 16 && o.protocol_id_set);
    assert_int_equal(o.dialect, SG_TOKEN_LIGHTYEAR);
    sg_token_options_clear(&o);
    assert_null(o.key);
    sg_config_free(&cfg);

    /* The variable is SEATGATE_NETCODE_KEY whatever the program's prefix. */
    sg_config c2 = {.program = "t", .env_prefix = "SGTEST_TOK_"};
    assert_int_equal(sg_config_add(&c2, sg_token_settings, sg_token_settings_count), SG_OK);
    char env[64];
    assert_string_equal(sg_config_env_name(&c2, "netcode-key", env, sizeof env),
                        "SEATGATE_NETCODE_KEY");
    char *bad_key[] = {"t", "--netcode-key", "abcd", NULL};
    assert_int_equal(sg_config_load(&c2, 3, bad_key), SG_OK); /* text is checked by the mapping */
    assert_int_equal(sg_token_options_from_config(&c2, &o), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "--netcode-key: private key: expected 32 bytes (64 hex "
                                         "digits), got 4 hex digits");
    assert_null(o.key);
    char *bad_pid[] = {"t", "--netcode-key", "abcd", "--protocol-id", "12a", NULL};
    assert_int_equal(sg_config_load(&c2, 5, bad_pid), SG_OK);
    assert_int_equal(sg_token_options_from_config(&c2, &o), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "--protocol-id: protocol id: bad character at position 3");
    sg_config_free(&c2);

    /* The dialect alone (a client): no key needed. */
    sg_config c3 = {.program = "t", .env_prefix = "SGTEST_TOK_"};
    assert_int_equal(
        sg_config_add(&c3, sg_token_dialect_settings, sg_token_dialect_settings_count), SG_OK);
    char *dl[] = {"t", "--token-ipv6-layout", "lightyear-0.19", NULL};
    assert_int_equal(sg_config_load(&c3, 3, dl), SG_OK);
    assert_int_equal(sg_token_options_from_config(&c3, &o), SG_OK);
    assert_null(o.key);
    assert_false(o.protocol_id_set);
    assert_int_equal(o.dialect, SG_TOKEN_LIGHTYEAR_0_19);
    sg_config_free(&c3);
}

static void test_ipv6_layout_mismatch_reads_other_addresses(void **state)
{
    (void)state;
    /* The layouts differ only for IPv6: a token minted for netcode.c servers, opened as
     * lightyear reads it, lists a byte-swapped address, so the server check fails. */
    uint8_t token[2048];
    mint_fixed_token(token);
    sg_token_opener o = *opener();
    o.dialect = SG_TOKEN_LIGHTYEAR_0_19;
    sg_token_opened t;
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &t), SG_OK);
    assert_true(sg_token_lists_server(&t, &addr_v4));
    assert_false(sg_token_lists_server(&t, &addr_v6));
    char buf[SG_ADDR_STRLEN];
    assert_string_equal(sg_addr_format(&t.servers[1], true, buf, sizeof buf),
                        "[120:b80d::100]:7001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_matches_reference_layout),
        cmocka_unit_test(test_known_answer_ipv6_octets_layout),
        cmocka_unit_test(test_round_trip_ipv4),
        cmocka_unit_test(test_round_trip_ipv6_both_layouts),
        cmocka_unit_test(test_round_trip_32_mixed_addresses),
        cmocka_unit_test(test_user_data_shorter_than_256_is_zero_filled),
        cmocka_unit_test(test_connection_request_round_trip),
        cmocka_unit_test(test_every_header_and_private_byte_change_is_rejected),
        cmocka_unit_test(test_every_connection_request_byte_change_is_rejected),
        cmocka_unit_test(test_public_part_is_not_what_servers_trust),
        cmocka_unit_test(test_wrong_key_and_wrong_protocol_id),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_negative_expire_seconds_never_expires),
        cmocka_unit_test(test_malformed_tokens_have_their_own_errors),
        cmocka_unit_test(test_truncated_and_oversized_input),
        cmocka_unit_test(test_mint_rejects_bad_parameters_and_writes_nothing),
        cmocka_unit_test(test_lists_server),
        cmocka_unit_test(test_session_id_in_user_data),
        cmocka_unit_test(test_random_client_ids_are_non_zero_and_vary),
        cmocka_unit_test(test_fresh_nonce_and_keys_per_token),
        cmocka_unit_test(test_protocol_id_and_layout_settings),
        cmocka_unit_test(test_token_settings_fragment),
        cmocka_unit_test(test_ipv6_layout_mismatch_reads_other_addresses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
