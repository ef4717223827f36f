/* netcode 1.02 connect tokens: writing (mint) and reading (open, read_public). */
#include "seatgate/token.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "sodium_ready.h"
#include "token_internal.h"
#include "token_wire.h"

const uint8_t sg_token_version_info[SG_TOKEN_VERSION_INFO_BYTES] = "NETCODE 1.02";

enum { ADDR_IPV4 = 1, ADDR_IPV6 = 2, AD_BYTES = SG_TOKEN_VERSION_INFO_BYTES + 8 + 8 };

/* ---- bounded little-endian writer and reader ------------------------------------------ */

typedef struct writer {
    uint8_t *p, *end;
    bool overflow;
} writer;

/* The layout bounds every write (32 IPv6 addresses fill 944 of the 1008 private bytes and
 * 1765 of the 2048 token bytes); the checks are a second line of defence. */
static void put(writer *w, const void *src, size_t n)
{
    if ((size_t)(w->end - w->p) < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->p, src, n);
    w->p += n;
}

static void put_uint(writer *w, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++, v >>= 8)
        b[i] = (uint8_t)v;
    put(w, b, bytes);
}

typedef struct reader {
    const uint8_t *p, *end;
    bool short_read;
} reader;

static void get(reader *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        memset(dst, 0, n);
        r->p = r->end;
        r->short_read = true;
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

static uint64_t get_uint(reader *r, size_t bytes)
{
    uint8_t b[8];
    get(r, b, bytes);
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;)
        v = (v << 8) | b[i];
    return v;
}

/* ---- server addresses ------------------------------------------------------------------- */

static void put_addr(writer *w, const sg_addr *a, sg_token_ipv6_layout layout)
{
    if (a->family == AF_INET) {
        put_uint(w, ADDR_IPV4, 1);
        put(w, a->ip, 4);
    } else {
        put_uint(w, ADDR_IPV6, 1);
        if (layout == SG_TOKEN_IPV6_OCTETS) {
            put(w, a->ip, 16);
        } else {
            for (int i = 0; i < 8; i++)
                put_uint(w, (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]), 2);
        }
    }
    put_uint(w, a->port, 2);
}

static sg_status get_addrs(reader *r, sg_token_ipv6_layout layout, sg_addr *out, size_t *count)
{
    uint32_t n = (uint32_t)get_uint(r, 4);
    if (n < 1 || n > SG_TOKEN_MAX_SERVERS)
        return sg_fail(SG_E_ADDR_COUNT, "token: %" PRIu32 " server addresses (must be 1..32)", n);
    for (uint32_t i = 0; i < n; i++) {
        sg_addr *a = &out[i];
        memset(a, 0, sizeof *a);
        unsigned type = (unsigned)get_uint(r, 1);
        if (type == ADDR_IPV4) {
            a->family = AF_INET;
            get(r, a->ip, 4);
        } else if (type == ADDR_IPV6) {
            a->family = AF_INET6;
            if (layout == SG_TOKEN_IPV6_OCTETS) {
                get(r, a->ip, 16);
            } else {
                for (int g = 0; g < 8; g++) {
                    uint16_t v = (uint16_t)get_uint(r, 2);
                    a->ip[2 * g] = (uint8_t)(v >> 8);
                    a->ip[2 * g + 1] = (uint8_t)v;
                }
            }
        } else {
            return sg_fail(SG_E_ADDR_TYPE,
                           "token: server address %" PRIu32 " has type %u (must be 1 or 2)", i + 1,
                           type);
        }
        a->port = (uint16_t)get_uint(r, 2);
    }
    if (r->short_read) return sg_fail(SG_E_TRUNCATED, "token: address list runs past the end");
    *count = n;
    return SG_OK;
}

/* ---- mint ------------------------------------------------------------------------------- */

static void build_ad(uint8_t ad[AD_BYTES], uint64_t protocol_id, uint64_t expire_timestamp)
{
    memcpy(ad, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES);
    sg_put_le64(ad + SG_TOKEN_VERSION_INFO_BYTES, protocol_id);
    sg_put_le64(ad + SG_TOKEN_VERSION_INFO_BYTES + 8, expire_timestamp);
}

static sg_status check_params(const sg_key *key, const sg_token_params *p, sg_addr *servers)
{
    if (!key || !p) return sg_fail(SG_E_INVALID, "token: no key or parameters");
    if (p->server_count < 1 || p->server_count > SG_TOKEN_MAX_SERVERS)
        return sg_fail(SG_E_ADDR_COUNT, "token: %zu server addresses (must be 1..32)",
                       p->server_count);
    if (!p->servers) return sg_fail(SG_E_INVALID, "token: no server addresses");
    for (size_t i = 0; i < p->server_count; i++) {
        servers[i] = p->servers[i];
        sg_addr_normalize(&servers[i]);
        if (servers[i].family != AF_INET && servers[i].family != AF_INET6)
            return sg_fail(SG_E_INVALID, "token: server address %zu is neither IPv4 nor IPv6",
                           i + 1);
        if (servers[i].port == 0)
            return sg_fail(SG_E_INVALID, "token: server address %zu has no port", i + 1);
    }
    if (p->user_data_len > SG_TOKEN_USER_DATA_BYTES)
        return sg_fail(SG_E_TOO_LARGE, "token: %zu bytes of user data (at most 256)",
                       p->user_data_len);
    if (p->user_data_len && !p->user_data)
        return sg_fail(SG_E_INVALID, "token: user data length without user data");
    if (p->ipv6_layout != SG_TOKEN_IPV6_GROUPS_LE && p->ipv6_layout != SG_TOKEN_IPV6_OCTETS)
        return sg_fail(SG_E_INVALID, "token: unknown IPv6 layout %d", (int)p->ipv6_layout);
    return SG_OK;
}

sg_status sg_token_mint_fixed(const sg_key *key, const sg_token_params *p,
                              const sg_token_fixed *fixed, uint8_t out[SG_TOKEN_BYTES],
                              uint64_t *expire_timestamp)
{
    if (expire_timestamp) *expire_timestamp = 0;
    if (!out || !fixed) return sg_fail(SG_E_INVALID, "token: no output buffer");
    memset(out, 0, SG_TOKEN_BYTES);
    sg_addr servers[SG_TOKEN_MAX_SERVERS];
    sg_status st = check_params(key, p, servers);
    if (st == SG_OK) st = sg_sodium_ready();
    if (st != SG_OK) return st;

    uint64_t create = fixed->create_timestamp, expire;
    if (p->expire_seconds < 0)
        expire = SG_TOKEN_NEVER_EXPIRES;
    else if ((uint64_t)p->expire_seconds > SG_TOKEN_NEVER_EXPIRES - create)
        expire = SG_TOKEN_NEVER_EXPIRES;
    else
        expire = create + (uint64_t)p->expire_seconds;

    /* Private part, in plaintext. */
    uint8_t plain[SG_TOK_PRIVATE_PLAIN] = {0};
    writer w = {plain, plain + sizeof plain, false};
    bool overflow = false;
    put_uint(&w, p->client_id, 8);
    put_uint(&w, (uint32_t)p->timeout_seconds, 4);
    put_uint(&w, p->server_count, 4);
    for (size_t i = 0; i < p->server_count; i++)
        put_addr(&w, &servers[i], p->ipv6_layout);
    put(&w, fixed->client_to_server_key, SG_TOKEN_KEY_BYTES);
    put(&w, fixed->server_to_client_key, SG_TOKEN_KEY_BYTES);
    if (p->user_data_len) put(&w, p->user_data, p->user_data_len);

    /* Header, then the encrypted private part in place, then the rest of the public part. */
    uint8_t ad[AD_BYTES];
    build_ad(ad, p->protocol_id, expire);
    memcpy(out + SG_TOK_OFF_VERSION, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES);
    sg_put_le64(out + SG_TOK_OFF_PROTOCOL, p->protocol_id);
    sg_put_le64(out + SG_TOK_OFF_CREATE, create);
    sg_put_le64(out + SG_TOK_OFF_EXPIRE, expire);
    memcpy(out + SG_TOK_OFF_NONCE, fixed->nonce, SG_TOKEN_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SG_TOK_OFF_PRIVATE, &clen, plain, sizeof plain,
                                               ad, sizeof ad, NULL, fixed->nonce,
                                               sg_key_bytes(key));
    sodium_memzero(plain, sizeof plain);
    overflow = w.overflow;

    w = (writer){out + SG_TOK_OFF_PUBLIC_REST, out + SG_TOKEN_BYTES, false};
    put_uint(&w, (uint32_t)p->timeout_seconds, 4);
    put_uint(&w, p->server_count, 4);
    for (size_t i = 0; i < p->server_count; i++)
        put_addr(&w, &servers[i], p->ipv6_layout);
    put(&w, fixed->client_to_server_key, SG_TOKEN_KEY_BYTES);
    put(&w, fixed->server_to_client_key, SG_TOKEN_KEY_BYTES);

    if (clen != SG_TOKEN_PRIVATE_BYTES || overflow || w.overflow) {
        sodium_memzero(out, SG_TOKEN_BYTES);
        return sg_fail(SG_E_INTERNAL, "token: layout overflow");
    }
    if (expire_timestamp) *expire_timestamp = expire;
    return SG_OK;
}

sg_status sg_token_mint(const sg_key *key, const sg_token_params *params,
                        uint8_t out[SG_TOKEN_BYTES], uint64_t *expire_timestamp)
{
    sg_status st = sg_sodium_ready();
    if (st != SG_OK) return st;
    sg_token_fixed fixed;
    fixed.create_timestamp = (uint64_t)time(NULL);
    randombytes_buf(fixed.nonce, sizeof fixed.nonce);
    randombytes_buf(fixed.client_to_server_key, sizeof fixed.client_to_server_key);
    randombytes_buf(fixed.server_to_client_key, sizeof fixed.server_to_client_key);
    st = sg_token_mint_fixed(key, params, &fixed, out, expire_timestamp);
    sodium_memzero(&fixed, sizeof fixed);
    return st;
}

uint64_t sg_token_random_client_id(void)
{
    (void)sg_sodium_ready();
    uint64_t id = 0;
    while (id == 0)
        randombytes_buf(&id, sizeof id);
    return id;
}

/* ---- open ------------------------------------------------------------------------------- */

sg_status sg_token_check_opener(const sg_token_opener *o)
{
    if (!o || !o->key) return sg_fail(SG_E_INVALID, "token: no key");
    if (o->ipv6_layout != SG_TOKEN_IPV6_GROUPS_LE && o->ipv6_layout != SG_TOKEN_IPV6_OCTETS)
        return sg_fail(SG_E_INVALID, "token: unknown IPv6 layout %d", (int)o->ipv6_layout);
    return sg_sodium_ready();
}

sg_status sg_token_open_private(const sg_token_opener *o, uint64_t expire_timestamp,
                                const uint8_t nonce[SG_TOKEN_NONCE_BYTES],
                                const uint8_t encrypted[SG_TOKEN_PRIVATE_BYTES],
                                sg_token_opened *out)
{
    uint8_t ad[AD_BYTES];
    build_ad(ad, o->protocol_id, expire_timestamp);
    uint8_t plain[SG_TOK_PRIVATE_PLAIN];
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL, encrypted,
                                                   SG_TOKEN_PRIVATE_BYTES, ad, sizeof ad, nonce,
                                                   sg_key_bytes(o->key)) != 0)
        return sg_fail(SG_E_DECRYPT,
                       "token: private part does not decrypt (wrong key, or altered bytes)");

    reader r = {plain, plain + mlen, false};
    out->client_id = get_uint(&r, 8);
    out->timeout_seconds = (int32_t)(uint32_t)get_uint(&r, 4);
    sg_status st = get_addrs(&r, o->ipv6_layout, out->servers, &out->server_count);
    if (st == SG_OK) {
        get(&r, out->client_to_server_key, SG_TOKEN_KEY_BYTES);
        get(&r, out->server_to_client_key, SG_TOKEN_KEY_BYTES);
        get(&r, out->user_data, SG_TOKEN_USER_DATA_BYTES);
        memcpy(out->mac, encrypted + SG_TOK_PRIVATE_PLAIN, SG_TOKEN_MAC_BYTES);
        if (r.short_read) st = sg_fail(SG_E_TRUNCATED, "token: private part runs past the end");
    }
    sodium_memzero(plain, sizeof plain);
    return st;
}

static sg_status check_length(size_t len)
{
    if (len < SG_TOKEN_BYTES)
        return sg_fail(SG_E_TRUNCATED, "token: expected %d bytes, got %zu", SG_TOKEN_BYTES, len);
    if (len > SG_TOKEN_BYTES)
        return sg_fail(SG_E_TOO_LARGE, "token: expected %d bytes, got %zu", SG_TOKEN_BYTES, len);
    return SG_OK;
}

static sg_status check_header(const uint8_t *token, size_t len, uint64_t *create, uint64_t *expire)
{
    sg_status st = check_length(len);
    if (st != SG_OK) return st;
    if (memcmp(token + SG_TOK_OFF_VERSION, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES))
        return sg_fail(SG_E_VERSION, "token: version info is not \"NETCODE 1.02\"");
    *create = sg_le64(token + SG_TOK_OFF_CREATE);
    *expire = sg_le64(token + SG_TOK_OFF_EXPIRE);
    return SG_OK;
}

sg_status sg_token_open(const sg_token_opener *o, const uint8_t *token, size_t len, uint64_t now,
                        sg_token_opened *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "token: no output");
    memset(out, 0, sizeof *out);
    sg_status st = sg_token_check_opener(o);
    if (st != SG_OK) return st;
    if (!token) return sg_fail(SG_E_INVALID, "token: no token");

    uint64_t create = 0, expire = 0;
    st = check_header(token, len, &create, &expire);
    if (st != SG_OK) return st;
    uint64_t protocol_id = sg_le64(token + SG_TOK_OFF_PROTOCOL);
    if (protocol_id != o->protocol_id)
        return sg_fail(SG_E_PROTOCOL_ID,
                       "token: minted for protocol id %" PRIu64 ", expected %" PRIu64, protocol_id,
                       o->protocol_id);
    if (create > expire)
        return sg_fail(SG_E_TIMESTAMPS,
                       "token: created (%" PRIu64 ") after it expires (%" PRIu64 ")", create,
                       expire);
    if (now >= expire)
        return sg_fail(SG_E_EXPIRED, "token: expired at %" PRIu64 " (now %" PRIu64 ")", expire,
                       now);

    st =
        sg_token_open_private(o, expire, token + SG_TOK_OFF_NONCE, token + SG_TOK_OFF_PRIVATE, out);
    if (st != SG_OK) {
        sg_token_opened_wipe(out);
        return st;
    }
    out->protocol_id = protocol_id;
    out->create_timestamp = create;
    out->expire_timestamp = expire;
    return SG_OK;
}

bool sg_token_lists_server(const sg_token_opened *opened, const sg_addr *server)
{
    if (!opened || !server) return false;
    for (size_t i = 0; i < opened->server_count && i < SG_TOKEN_MAX_SERVERS; i++)
        if (sg_addr_equal(&opened->servers[i], server, true)) return true;
    return false;
}

void sg_token_opened_wipe(sg_token_opened *opened)
{
    if (opened) sodium_memzero(opened, sizeof *opened);
}

sg_status sg_token_read_public(const uint8_t *token, size_t len, sg_token_ipv6_layout layout,
                               sg_token_public *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "token: no output");
    memset(out, 0, sizeof *out);
    if (!token) return sg_fail(SG_E_INVALID, "token: no token");
    if (layout != SG_TOKEN_IPV6_GROUPS_LE && layout != SG_TOKEN_IPV6_OCTETS)
        return sg_fail(SG_E_INVALID, "token: unknown IPv6 layout %d", (int)layout);
    uint64_t create = 0, expire = 0;
    sg_status st = check_header(token, len, &create, &expire);
    if (st != SG_OK) return st;
    if (create > expire)
        return sg_fail(SG_E_TIMESTAMPS,
                       "token: created (%" PRIu64 ") after it expires (%" PRIu64 ")", create,
                       expire);
    reader r = {token + SG_TOK_OFF_PUBLIC_REST, token + SG_TOKEN_BYTES, false};
    out->timeout_seconds = (int32_t)(uint32_t)get_uint(&r, 4);
    st = get_addrs(&r, layout, out->servers, &out->server_count);
    if (st == SG_OK) {
        get(&r, out->client_to_server_key, SG_TOKEN_KEY_BYTES);
        get(&r, out->server_to_client_key, SG_TOKEN_KEY_BYTES);
        if (r.short_read) st = sg_fail(SG_E_TRUNCATED, "token: public part runs past the end");
    }
    if (st != SG_OK) {
        sodium_memzero(out, sizeof *out);
        return st;
    }
    out->protocol_id = sg_le64(token + SG_TOK_OFF_PROTOCOL);
    out->create_timestamp = create;
    out->expire_timestamp = expire;
    return SG_OK;
}
