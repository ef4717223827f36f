/* The lightyear dialect (lightyear 0.20 and later): known answers assembled here from the layout
 * in ../shared/reference/lightyear-netcode.md (this file's own big-endian writers and a direct
 * libsodium call, nothing from common/src), for IPv4 and IPv6, with different public and
 * private address lists, and the connection request; tokens of one dialect never open as
 * another; and lightyear 0.29's check of the server's own bind address. */
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

#define PROTOCOL 0x0011223344556677ULL
#define CLIENT 0x8877665544332211ULL
#define CREATE 1764000000ULL
#define EXPIRE_SECONDS 30
#define NOW (CREATE + 5)

/* ---- the test's own big-endian assembler -------------------------------------------------- */

static void be(uint8_t **p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static void raw(uint8_t **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

typedef struct ly_addr {
    int v6;
    uint8_t ip[16]; /* 4 or 16 octets, network order (Ipv4Addr/Ipv6Addr::octets()) */
    uint16_t port;
} ly_addr;

static void ly_list(uint8_t **p, const ly_addr *a, uint32_t n)
{
    be(p, n, 4);
    for (uint32_t i = 0; i < n; i++) {
        be(p, a[i].v6 ? 2 : 1, 1);
        raw(p, a[i].ip, a[i].v6 ? 16 : 4);
        be(p, a[i].port, 2);
    }
}

typedef struct ly_token {
    uint8_t key[32], nonce[24], c2s[32], s2c[32], user_data[256];
    const ly_addr *pub, *priv;
    uint32_t npub, npriv;
    int32_t timeout;
} ly_token;

static void ly_build(uint8_t out[2048], const ly_token *t)
{
    uint8_t plain[1008] = {0}, *p = plain;
    be(&p, CLIENT, 8);
    be(&p, (uint32_t)t->timeout, 4);
    ly_list(&p, t->priv, t->npriv);
    raw(&p, t->c2s, 32);
    raw(&p, t->s2c, 32);
    raw(&p, t->user_data, 256);
    uint8_t ad[29], *a = ad;
    raw(&a, "NETCODE 1.02", 13);
    be(&a, PROTOCOL, 8);
    be(&a, CREATE + EXPIRE_SECONDS, 8);
    memset(out, 0, 2048);
    p = out;
    raw(&p, "NETCODE 1.02", 13);
    be(&p, PROTOCOL, 8);
    be(&p, CREATE, 8);
    be(&p, CREATE + EXPIRE_SECONDS, 8);
    raw(&p, t->nonce, 24);
    unsigned long long clen = 0;
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(p, &clen, plain, sizeof plain, ad,
                                                                sizeof ad, NULL, t->nonce, t->key),
                     0);
    assert_int_equal(clen, 1024);
    p += 1024;
    be(&p, (uint32_t)t->timeout, 4);
    ly_list(&p, t->pub, t->npub);
    raw(&p, t->c2s, 32);
    raw(&p, t->s2c, 32);
}

/* The request packet: prefix 0, version, protocol id, expire, nonce, private data. */
static void ly_request(uint8_t out[1078], const uint8_t token[2048])
{
    uint8_t *p = out;
    *p++ = 0;
    raw(&p, "NETCODE 1.02", 13);
    be(&p, PROTOCOL, 8);
    be(&p, CREATE + EXPIRE_SECONDS, 8);
    raw(&p, token + 37, 24);
    raw(&p, token + 61, 1024);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static uint8_t key_bytes[32];
static sg_key *key;

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0) return -1;
    for (int i = 0; i < 32; i++)
        key_bytes[i] = (uint8_t)(0x31 * i + 7);
    return sg_key_from_bytes(key_bytes, &key) == SG_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sg_key_free(key);
    return 0;
}

static sg_token_fixed fixed(void)
{
    sg_token_fixed f;
    f.create_timestamp = CREATE;
    for (int i = 0; i < 24; i++)
        f.nonce[i] = (uint8_t)(0xc0 + i);
    for (int i = 0; i < 32; i++) {
        f.client_to_server_key[i] = (uint8_t)(0x11 * i);
        f.server_to_client_key[i] = (uint8_t)(0xff - i);
    }
    return f;
}

static ly_token ly_from(const sg_token_fixed *f, const uint8_t *ud)
{
    ly_token t;
    memset(&t, 0, sizeof t);
    memcpy(t.key, key_bytes, 32);
    memcpy(t.nonce, f->nonce, 24);
    memcpy(t.c2s, f->client_to_server_key, 32);
    memcpy(t.s2c, f->server_to_client_key, 32);
    if (ud) memcpy(t.user_data, ud, 256);
    t.timeout = 15;
    return t;
}

static sg_addr addr(const char *text)
{
    sg_addr a;
    assert_int_equal(sg_addr_parse(text, SG_PORT_REQUIRED, &a), SG_OK);
    return a;
}

static sg_token_params params(const sg_addr *pub, size_t npub, const sg_addr *priv, size_t npriv,
                              const uint8_t *ud)
{
    sg_token_params p;
    memset(&p, 0, sizeof p);
    p.protocol_id = PROTOCOL;
    p.client_id = CLIENT;
    p.servers = pub;
    p.server_count = npub;
    p.private_servers = priv;
    p.private_server_count = npriv;
    p.expire_seconds = EXPIRE_SECONDS;
    p.timeout_seconds = 15;
    p.user_data = ud;
    p.user_data_len = ud ? 256 : 0;
    p.dialect = SG_TOKEN_LIGHTYEAR;
    return p;
}

static sg_token_opener opener(sg_token_dialect d)
{
    sg_token_opener o = {.key = key, .protocol_id = PROTOCOL, .dialect = d};
    return o;
}

/* ---- known answers ------------------------------------------------------------------------ */

/* Edgegap's case: the player dials 198.51.100.20:31504; the container binds 0.0.0.0:7777. */
static void ipv4_public_and_bind_addresses(void **state)
{
    (void)state;
    uint8_t ud[256] = {14, '9', '5', '0', 'd', 'd', '2', 'e', 'a', 'f', 'f', '0', '9', '-', 'S'};
    sg_addr pub[1] = {addr("198.51.100.20:31504")};
    sg_addr priv[2] = {addr("198.51.100.20:31504"), addr("0.0.0.0:7777")};
    sg_token_params p = params(pub, 1, priv, 2, ud);
    sg_token_fixed f = fixed();
    uint8_t got[2048], want[2048];
    uint64_t expire = 0;
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, got, &expire), SG_OK);
    assert_int_equal(expire, CREATE + EXPIRE_SECONDS);
    ly_addr lpub[1] = {{0, {198, 51, 100, 20}, 31504}};
    ly_addr lpriv[2] = {{0, {198, 51, 100, 20}, 31504}, {0, {0, 0, 0, 0}, 7777}};
    ly_token t = ly_from(&f, ud);
    t.pub = lpub;
    t.npub = 1;
    t.priv = lpriv;
    t.npriv = 2;
    ly_build(want, &t);
    assert_memory_equal(got, want, 2048);
    /* big-endian on the wire: the protocol id's first byte is its most significant */
    assert_int_equal(got[13], 0x00);
    assert_int_equal(got[14], 0x11);
    assert_int_equal(got[20], 0x77);

    /* It opens as lightyear, with the private list, and the session id in the user data. */
    sg_token_opener o = opener(SG_TOKEN_LIGHTYEAR);
    sg_token_opened op;
    assert_int_equal(sg_token_open(&o, got, sizeof got, NOW, &op), SG_OK);
    assert_true(op.client_id == CLIENT);
    assert_int_equal(op.server_count, 2);
    assert_true(sg_token_lists_server(&op, &priv[0]));
    assert_true(sg_token_lists_server(&op, &priv[1]));
    char sid[256];
    assert_int_equal(sg_token_user_data_get_session(op.user_data, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, "950dd2eaff09-S");
    sg_token_opened_wipe(&op);

    /* What the client reads: only the public address. */
    sg_token_public pb;
    assert_int_equal(sg_token_read_public(got, sizeof got, SG_TOKEN_LIGHTYEAR, &pb), SG_OK);
    assert_int_equal(pb.server_count, 1);
    assert_int_equal(pb.servers[0].port, 31504);
    assert_true(pb.expire_timestamp == CREATE + EXPIRE_SECONDS);
    assert_true(pb.protocol_id == PROTOCOL);
}

static void ipv6_addresses_as_octets_big_endian_ports(void **state)
{
    (void)state;
    sg_addr pub[1] = {addr("[2001:db8:1:2::20]:31504")};
    sg_addr priv[2] = {addr("[2001:db8:1:2::20]:31504"), addr("[::]:7777")};
    sg_token_params p = params(pub, 1, priv, 2, NULL);
    sg_token_fixed f = fixed();
    uint8_t got[2048], want[2048];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, got, NULL), SG_OK);
    ly_addr lpub[1] = {{1, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x20}, 31504}};
    ly_addr lpriv[2] = {lpub[0], {1, {0}, 7777}};
    ly_token t = ly_from(&f, NULL);
    t.pub = lpub;
    t.npub = 1;
    t.priv = lpriv;
    t.npriv = 2;
    ly_build(want, &t);
    assert_memory_equal(got, want, 2048);
    /* the public list: count 1 (BE), type 2, 2001:0db8..., port 31504 = 0x7b10 (BE) */
    static const uint8_t head[] = {0, 0, 0, 1, 2, 0x20, 0x01, 0x0d, 0xb8};
    assert_memory_equal(got + 1089, head, sizeof head);
    assert_int_equal(got[1089 + 4 + 1 + 16], 0x7b);
    assert_int_equal(got[1089 + 4 + 1 + 17], 0x10);
    sg_token_opener o = opener(SG_TOKEN_LIGHTYEAR);
    sg_token_opened op;
    assert_int_equal(sg_token_open(&o, got, sizeof got, NOW, &op), SG_OK);
    assert_true(sg_token_lists_server(&op, &priv[1]));
    sg_token_opened_wipe(&op);
}

static void connection_request_known_answer(void **state)
{
    (void)state;
    sg_addr pub[1] = {addr("198.51.100.20:31504")};
    sg_token_params p = params(pub, 1, NULL, 0, NULL);
    sg_token_fixed f = fixed();
    uint8_t token[2048], got[1078], want[1078];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    assert_int_equal(sg_connection_request_write(token, sizeof token, got), SG_OK);
    ly_request(want, token);
    assert_memory_equal(got, want, sizeof want);
    /* The server side reads it back as lightyear. */
    sg_connection_request req;
    assert_int_equal(sg_connection_request_parse(want, sizeof want, SG_TOKEN_LIGHTYEAR, &req),
                     SG_OK);
    assert_true(req.protocol_id == PROTOCOL);
    assert_true(req.expire_timestamp == CREATE + EXPIRE_SECONDS);
    sg_token_opener o = opener(SG_TOKEN_LIGHTYEAR);
    sg_token_opened op;
    assert_int_equal(sg_token_open_request(&o, &req, NOW, &op), SG_OK);
    assert_true(op.client_id == CLIENT);
    /* no separate private list: the private part lists the public address */
    assert_int_equal(op.server_count, 1);
    assert_true(sg_token_lists_server(&op, &pub[0]));
    sg_token_opened_wipe(&op);
}

/* ---- across dialects --------------------------------------------------------------------- */

static void a_token_never_opens_in_another_dialect(void **state)
{
    (void)state;
    sg_addr pub[1] = {addr("198.51.100.20:31504")};
    for (int from = 0; from < SG_TOKEN_DIALECT_COUNT; from++) {
        sg_token_params p = params(pub, 1, NULL, 0, NULL);
        p.dialect = (sg_token_dialect)from;
        sg_token_fixed f = fixed();
        uint8_t token[2048], req_bytes[1078];
        assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
        assert_int_equal(sg_connection_request_write(token, sizeof token, req_bytes), SG_OK);
        for (int as = 0; as < SG_TOKEN_DIALECT_COUNT; as++) {
            sg_token_opener o = opener((sg_token_dialect)as);
            sg_token_opened op;
            sg_status st = sg_token_open(&o, token, sizeof token, NOW, &op);
            sg_connection_request req;
            sg_status rst = sg_connection_request_parse(req_bytes, sizeof req_bytes,
                                                        (sg_token_dialect)as, &req);
            if (rst == SG_OK) rst = sg_token_open_request(&o, &req, NOW, &op);
            bool same = from == as;
            /* lightyear-0.19 and netcode-1.02 differ only for IPv6: an IPv4 token opens in
             * both, the same token read the same way. */
            bool le_twins = (from == SG_TOKEN_NETCODE_1_02 && as == SG_TOKEN_LIGHTYEAR_0_19) ||
                            (from == SG_TOKEN_LIGHTYEAR_0_19 && as == SG_TOKEN_NETCODE_1_02);
            if (same || le_twins) {
                assert_int_equal(st, SG_OK);
                assert_int_equal(rst, SG_OK);
                continue;
            }
            if (st == SG_OK || rst == SG_OK)
                fail_msg("a %s token opened as %s", sg_token_dialect_name((sg_token_dialect)from),
                         sg_token_dialect_name((sg_token_dialect)as));
            /* the message says what happened and hints at the dialect */
            assert_true(st == SG_E_PROTOCOL_ID || st == SG_E_TIMESTAMPS || st == SG_E_EXPIRED ||
                        st == SG_E_DECRYPT);
        }
    }
    /* The hint, word for word, for a netcode-1.02 token opened as lightyear. */
    sg_token_params p = params(pub, 1, NULL, 0, NULL);
    p.dialect = SG_TOKEN_NETCODE_1_02;
    sg_token_fixed f = fixed();
    uint8_t token[2048];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    sg_token_opener o = opener(SG_TOKEN_LIGHTYEAR);
    sg_token_opened op;
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &op), SG_E_PROTOCOL_ID);
    assert_non_null(strstr(sg_last_error(), "(it reads as a little-endian token: minted with "
                                            "dialect netcode-1.02 or lightyear-0.19?)"));
    /* ... and the reverse */
    p.dialect = SG_TOKEN_LIGHTYEAR;
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    o = opener(SG_TOKEN_NETCODE_1_02);
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &op), SG_E_PROTOCOL_ID);
    assert_non_null(strstr(sg_last_error(), "(it reads as a big-endian token: minted with "
                                            "dialect lightyear?)"));
    /* Protocol id 0 reads the same in both orders, and the associated data are the header's
     * own bytes: such a token gets past the header and decrypts, and is refused on its
     * private part (the address count, big-endian 1 read as 1 << 24), with the hint. */
    for (int from = SG_TOKEN_NETCODE_1_02; from <= SG_TOKEN_LIGHTYEAR; from++) {
        p.dialect = (sg_token_dialect)from;
        p.protocol_id = 0;
        assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
        o = opener(from == SG_TOKEN_LIGHTYEAR ? SG_TOKEN_NETCODE_1_02 : SG_TOKEN_LIGHTYEAR);
        o.protocol_id = 0;
        sg_status st = sg_token_open(&o, token, sizeof token, NOW, &op);
        if (st == SG_OK) fail_msg("a token with protocol id 0 opened in another dialect");
        assert_non_null(strstr(sg_last_error(), "(it reads as a "));
    }
}

/* ---- lightyear 0.29's address check ------------------------------------------------------ */

static void the_bind_address_check_follows_lightyear(void **state)
{
    (void)state;
    sg_addr pub[1] = {addr("198.51.100.20:31504")};
    sg_addr priv[2] = {addr("198.51.100.20:31504"), addr("0.0.0.0:7777")};
    sg_token_params p = params(pub, 1, priv, 2, NULL);
    sg_token_fixed f = fixed();
    uint8_t token[2048];
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    sg_token_opener o = opener(SG_TOKEN_LIGHTYEAR);
    sg_token_opened op;
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &op), SG_OK);
    sg_addr b;
    b = addr("0.0.0.0:7777"); /* the container's bind: equal */
    assert_true(sg_token_lists_bind(&op, &b));
    b = addr("127.0.0.1:7777"); /* loopback bind, unspecified in the token: equal */
    assert_true(sg_token_lists_bind(&op, &b));
    b = addr("0.0.0.0:7778"); /* another port */
    assert_false(sg_token_lists_bind(&op, &b));
    b = addr("[::]:7777"); /* another family */
    assert_false(sg_token_lists_bind(&op, &b));
    b = addr("10.0.0.5:7777"); /* a specific other address */
    assert_false(sg_token_lists_bind(&op, &b));
    b = addr("198.51.100.20:31504"); /* bound on the public address itself */
    assert_true(sg_token_lists_bind(&op, &b));
    sg_token_opened_wipe(&op);
    /* A token with only the public address fails a 0.0.0.0:7777 bind: why the matchmaker adds
     * the bind address when the ports differ. */
    p = params(pub, 1, NULL, 0, NULL);
    assert_int_equal(sg_token_mint_fixed(key, &p, &f, token, NULL), SG_OK);
    assert_int_equal(sg_token_open(&o, token, sizeof token, NOW, &op), SG_OK);
    b = addr("0.0.0.0:7777");
    assert_false(sg_token_lists_bind(&op, &b));
    sg_token_opened_wipe(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_public_and_bind_addresses),
        cmocka_unit_test(ipv6_addresses_as_octets_big_endian_ports),
        cmocka_unit_test(connection_request_known_answer),
        cmocka_unit_test(a_token_never_opens_in_another_dialect),
        cmocka_unit_test(the_bind_address_check_follows_lightyear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
