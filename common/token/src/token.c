/* netcode 1.02 connect tokens, in each dialect: writing (mint) and reading (open, read_public). */
#include "seatgate/token.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "seatgate/sodium_ready.h"
#include "token_internal.h"
#include "token_wire.h"

const uint8_t sg_token_version_info[SG_TOKEN_VERSION_INFO_BYTES] = "NETCODE 1.02";

enum { ADDR_IPV4 = 1, ADDR_IPV6 = 2, AD_BYTES = SG_TOKEN_VERSION_INFO_BYTES + 8 + 8 };

/* ---- bounded writer and reader, in the dialect's byte order ---------------------------- */

typedef struct writer {
    uint8_t *p, *end;
    bool overflow;
    bool big; /* big-endian integers (lightyear >= 0.20) */
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
        b[w->big ? bytes - 1 - i : i] = (uint8_t)v;
    put(w, b, bytes);
}

typedef struct reader {
    const uint8_t *p, *end;
    bool short_read;
    bool big;
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
    for (size_t i = 0; i < bytes; i++)
        v = (v << 8) | b[r->big ? i : bytes - 1 - i];
    return v;
}

/* ---- dialects ---------------------------------------------------------------------------- */

static const char *const dialect_names[SG_TOKEN_DIALECT_COUNT] = {"netcode-1.02", "lightyear",
                                                                   "lightyear-0.19"};

const char *sg_token_dialect_name(sg_token_dialect d)
{
    return (unsigned)d < SG_TOKEN_DIALECT_COUNT ? dialect_names[d] : "unknown";
}

sg_status sg_token_dialect_parse(const char *text, sg_token_dialect *out)
{
    for (int i = 0; text && i < SG_TOKEN_DIALECT_COUNT; i++) {
        if (strcmp(text, dialect_names[i]) == 0) {
            *out = (sg_token_dialect)i;
            return SG_OK;
        }
    }
    if (text && strcmp(text, "groups-le") == 0) { /* the older IPv6-layout names */
        *out = SG_TOKEN_NETCODE_1_02;
        return SG_OK;
    }
    if (text && strcmp(text, "octets") == 0) {
        *out = SG_TOKEN_LIGHTYEAR_0_19;
        return SG_OK;
    }
    return sg_fail(SG_E_INVALID,
                   "token dialect: expected netcode-1.02, lightyear (0.20 and later) or "
                   "lightyear-0.19");
}

static bool dialect_ok(sg_token_dialect d)
{
    return (unsigned)d < SG_TOKEN_DIALECT_COUNT;
}

/* IPv6 as 16 octets in network order (lightyear, netcode-rs), not 8 groups (netcode.c). */
static bool ipv6_octets(sg_token_dialect d)
{
    return d != SG_TOKEN_NETCODE_1_02;
}

/* ---- server addresses ------------------------------------------------------------------- */

static void put_addr(writer *w, const sg_addr *a, sg_token_dialect d)
{
    if (a->family == AF_INET) {
        put_uint(w, ADDR_IPV4, 1);
        put(w, a->ip, 4);
    } else {
        put_uint(w, ADDR_IPV6, 1);
        if (ipv6_octets(d)) {
            put(w, a->ip, 16);
        } else {
            for (int i = 0; i < 8; i++)
                put_uint(w, (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]), 2);
        }
    }
    put_uint(w, a->port, 2);
}

static sg_status get_addrs(reader *r, sg_token_dialect d, sg_addr *out, size_t *count)
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
            if (ipv6_octets(d)) {
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

static void build_ad(uint8_t ad[AD_BYTES], uint64_t protocol_id, uint64_t expire_timestamp,
                     sg_token_dialect d)
{
    memcpy(ad, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES);
    sg_put64(ad + SG_TOKEN_VERSION_INFO_BYTES, protocol_id, sg_dialect_big(d));
    sg_put64(ad + SG_TOKEN_VERSION_INFO_BYTES + 8, expire_timestamp, sg_dialect_big(d));
}

/* Copies and checks one address list (public or private). */
static sg_status check_list(const char *which, const sg_addr *in, size_t n, sg_addr *out)
{
    if (n < 1 || n > SG_TOKEN_MAX_SERVERS)
        return sg_fail(SG_E_ADDR_COUNT, "token: %zu %s server addresses (must be 1..32)", n,
                       which);
    if (!in) return sg_fail(SG_E_INVALID, "token: no %s server addresses", which);
    for (size_t i = 0; i < n; i++) {
        out[i] = in[i];
        sg_addr_normalize(&out[i]);
        if (out[i].family != AF_INET && out[i].family != AF_INET6)
            return sg_fail(SG_E_INVALID, "token: %s server address %zu is neither IPv4 nor IPv6",
                           which, i + 1);
        if (out[i].port == 0)
            return sg_fail(SG_E_INVALID, "token: %s server address %zu has no port", which, i + 1);
    }
    return SG_OK;
}

static sg_status check_params(const sg_key *key, const sg_token_params *p, sg_addr *servers,
                              sg_addr *privates, size_t *private_count)
{
    if (!key || !p) return sg_fail(SG_E_INVALID, "token: no key or parameters");
    sg_status st = check_list("public", p->servers, p->server_count, servers);
    if (st != SG_OK) return st;
    if (p->private_servers) {
        st = check_list("private", p->private_servers, p->private_server_count, privates);
        if (st != SG_OK) return st;
        *private_count = p->private_server_count;
    } else {
        memcpy(privates, servers, p->server_count * sizeof *servers);
        *private_count = p->server_count;
    }
    if (p->user_data_len > SG_TOKEN_USER_DATA_BYTES)
        return sg_fail(SG_E_TOO_LARGE, "token: %zu bytes of user data (at most 256)",
                       p->user_data_len);
    if (p->user_data_len && !p->user_data)
        return sg_fail(SG_E_INVALID, "token: user data length without user data");
    if (!dialect_ok(p->dialect))
        return sg_fail(SG_E_INVALID, "token: unknown dialect %d", (int)p->dialect);
    return SG_OK;
}

sg_status sg_token_mint_fixed(const sg_key *key, const sg_token_params *p,
                              const sg_token_fixed *fixed, uint8_t out[SG_TOKEN_BYTES],
                              uint64_t *expire_timestamp)
{
    if (expire_timestamp) *expire_timestamp = 0;
    if (!out || !fixed) return sg_fail(SG_E_INVALID, "token: no output buffer");
    memset(out, 0, SG_TOKEN_BYTES);
    sg_addr servers[SG_TOKEN_MAX_SERVERS], privates[SG_TOKEN_MAX_SERVERS];
    size_t private_count = 0;
    sg_status st = check_params(key, p, servers, privates, &private_count);
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
    bool big = sg_dialect_big(p->dialect);
    uint8_t plain[SG_TOK_PRIVATE_PLAIN] = {0};
    writer w = {plain, plain + sizeof plain, false, big};
    bool overflow = false;
    put_uint(&w, p->client_id, 8);
    put_uint(&w, (uint32_t)p->timeout_seconds, 4);
    put_uint(&w, private_count, 4);
    for (size_t i = 0; i < private_count; i++)
        put_addr(&w, &privates[i], p->dialect);
    put(&w, fixed->client_to_server_key, SG_TOKEN_KEY_BYTES);
    put(&w, fixed->server_to_client_key, SG_TOKEN_KEY_BYTES);
    if (p->user_data_len) put(&w, p->user_data, p->user_data_len);

    /* Header, then the encrypted private part in place, then the rest of the public part. */
    uint8_t ad[AD_BYTES];
    build_ad(ad, p->protocol_id, expire, p->dialect);
    memcpy(out + SG_TOK_OFF_VERSION, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES);
    sg_put64(out + SG_TOK_OFF_PROTOCOL, p->protocol_id, big);
    sg_put64(out + SG_TOK_OFF_CREATE, create, big);
    sg_put64(out + SG_TOK_OFF_EXPIRE, expire, big);
    memcpy(out + SG_TOK_OFF_NONCE, fixed->nonce, SG_TOKEN_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SG_TOK_OFF_PRIVATE, &clen, plain, sizeof plain,
                                               ad, sizeof ad, NULL, fixed->nonce,
                                               sg_key_bytes(key));
    sodium_memzero(plain, sizeof plain);
    overflow = w.overflow;

    w = (writer){out + SG_TOK_OFF_PUBLIC_REST, out + SG_TOKEN_BYTES, false, big};
    put_uint(&w, (uint32_t)p->timeout_seconds, 4);
    put_uint(&w, p->server_count, 4);
    for (size_t i = 0; i < p->server_count; i++)
        put_addr(&w, &servers[i], p->dialect);
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
    if (!dialect_ok(o->dialect))
        return sg_fail(SG_E_INVALID, "token: unknown dialect %d", (int)o->dialect);
    return sg_sodium_ready();
}

sg_status sg_token_open_private(const sg_token_opener *o, uint64_t expire_timestamp,
                                const uint8_t nonce[SG_TOKEN_NONCE_BYTES],
                                const uint8_t encrypted[SG_TOKEN_PRIVATE_BYTES],
                                sg_token_opened *out)
{
    uint8_t ad[AD_BYTES];
    build_ad(ad, o->protocol_id, expire_timestamp, o->dialect);
    uint8_t plain[SG_TOK_PRIVATE_PLAIN];
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL, encrypted,
                                                   SG_TOKEN_PRIVATE_BYTES, ad, sizeof ad, nonce,
                                                   sg_key_bytes(o->key)) != 0)
        return sg_fail(SG_E_DECRYPT,
                       "token: private part does not decrypt (wrong key, or altered bytes)");

    reader r = {plain, plain + mlen, false, sg_dialect_big(o->dialect)};
    out->client_id = get_uint(&r, 8);
    out->timeout_seconds = (int32_t)(uint32_t)get_uint(&r, 4);
    sg_status st = get_addrs(&r, o->dialect, out->servers, &out->server_count);
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

static sg_status check_header(const uint8_t *token, size_t len, sg_token_dialect d,
                              uint64_t *create, uint64_t *expire)
{
    sg_status st = check_length(len);
    if (st != SG_OK) return st;
    if (memcmp(token + SG_TOK_OFF_VERSION, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES))
        return sg_fail(SG_E_VERSION, "token: version info is not \"NETCODE 1.02\"");
    *create = sg_get64(token + SG_TOK_OFF_CREATE, sg_dialect_big(d));
    *expire = sg_get64(token + SG_TOK_OFF_EXPIRE, sg_dialect_big(d));
    return SG_OK;
}

/* A hint for the error of a token that may be of another dialect: its timestamps read
 * sensibly in the other byte order. */
static const char *dialect_hint(const uint8_t *token, sg_token_dialect d)
{
    bool big = sg_dialect_big(d);
    uint64_t c = sg_get64(token + SG_TOK_OFF_CREATE, !big);
    uint64_t e = sg_get64(token + SG_TOK_OFF_EXPIRE, !big);
    bool plausible = c > 1500000000ULL && c < 4102444800ULL && (e >= c || e == UINT64_MAX);
    if (!plausible) return "";
    return big ? " (it reads as a little-endian token: minted with dialect netcode-1.02 or "
                 "lightyear-0.19?)"
               : " (it reads as a big-endian token: minted with dialect lightyear?)";
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
    st = check_header(token, len, o->dialect, &create, &expire);
    if (st != SG_OK) return st;
    uint64_t protocol_id = sg_get64(token + SG_TOK_OFF_PROTOCOL, sg_dialect_big(o->dialect));
    if (protocol_id != o->protocol_id)
        return sg_fail(SG_E_PROTOCOL_ID,
                       "token: minted for protocol id %" PRIu64 ", expected %" PRIu64 "%s",
                       protocol_id, o->protocol_id, dialect_hint(token, o->dialect));
    if (create > expire)
        return sg_fail(SG_E_TIMESTAMPS,
                       "token: created (%" PRIu64 ") after it expires (%" PRIu64 ")%s", create,
                       expire, dialect_hint(token, o->dialect));
    if (now >= expire)
        return sg_fail(SG_E_EXPIRED, "token: expired at %" PRIu64 " (now %" PRIu64 ")%s", expire,
                       now, dialect_hint(token, o->dialect));

    st =
        sg_token_open_private(o, expire, token + SG_TOK_OFF_NONCE, token + SG_TOK_OFF_PRIVATE, out);
    if (st != SG_OK) {
        sg_token_opened_wipe(out);
        const char *hint = dialect_hint(token, o->dialect);
        if (hint[0]) sg_fail(st, "%s%s", sg_last_error(), hint);
        return st;
    }
    out->protocol_id = protocol_id;
    out->create_timestamp = create;
    out->expire_timestamp = expire;
    return SG_OK;
}

static bool unspecified(const sg_addr *a)
{
    static const uint8_t zero[16] = {0};
    return memcmp(a->ip, zero, a->family == AF_INET ? 4 : 16) == 0;
}

static bool loopback(const sg_addr *a)
{
    static const uint8_t v6[16] = {[15] = 1};
    return a->family == AF_INET ? a->ip[0] == 127 : memcmp(a->ip, v6, 16) == 0;
}

bool sg_token_lists_bind(const sg_token_opened *opened, const sg_addr *bind)
{
    if (!opened || !bind) return false;
    sg_addr b = *bind;
    sg_addr_normalize(&b);
    for (size_t i = 0; i < opened->server_count && i < SG_TOKEN_MAX_SERVERS; i++) {
        sg_addr t = opened->servers[i];
        sg_addr_normalize(&t);
        if (t.port != b.port || t.family != b.family) continue;
        if (sg_addr_equal(&t, &b, false) || (unspecified(&b) && loopback(&t)) ||
            (loopback(&b) && unspecified(&t)))
            return true;
    }
    return false;
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

sg_status sg_token_read_public(const uint8_t *token, size_t len, sg_token_dialect d,
                               sg_token_public *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "token: no output");
    memset(out, 0, sizeof *out);
    if (!token) return sg_fail(SG_E_INVALID, "token: no token");
    if (!dialect_ok(d)) return sg_fail(SG_E_INVALID, "token: unknown dialect %d", (int)d);
    uint64_t create = 0, expire = 0;
    sg_status st = check_header(token, len, d, &create, &expire);
    if (st != SG_OK) return st;
    if (create > expire)
        return sg_fail(SG_E_TIMESTAMPS,
                       "token: created (%" PRIu64 ") after it expires (%" PRIu64 ")%s", create,
                       expire, dialect_hint(token, d));
    reader r = {token + SG_TOK_OFF_PUBLIC_REST, token + SG_TOKEN_BYTES, false, sg_dialect_big(d)};
    out->timeout_seconds = (int32_t)(uint32_t)get_uint(&r, 4);
    st = get_addrs(&r, d, out->servers, &out->server_count);
    if (st == SG_OK) {
        get(&r, out->client_to_server_key, SG_TOKEN_KEY_BYTES);
        get(&r, out->server_to_client_key, SG_TOKEN_KEY_BYTES);
        if (r.short_read) st = sg_fail(SG_E_TRUNCATED, "token: public part runs past the end");
    }
    if (st != SG_OK) {
        sodium_memzero(out, sizeof *out);
        return st;
    }
    out->protocol_id = sg_get64(token + SG_TOK_OFF_PROTOCOL, sg_dialect_big(d));
    out->create_timestamp = create;
    out->expire_timestamp = expire;
    return SG_OK;
}
