#include "example_proto.h"

#include <string.h>

#include <sodium.h>

#include "seatgate/gameserver_hook.h"

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void nonce_of(uint64_t sequence, uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
    memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
    put_u64(nonce + 4, sequence);
}

/* The tag over buf[0..n) (all of it is associated data; nothing is encrypted). */
static void tag_of(const uint8_t *buf, size_t n, uint64_t sequence, const uint8_t *key,
                   uint8_t tag[EX_TAG_BYTES])
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    nonce_of(sequence, nonce);
    unsigned long long tlen = 0;
    uint8_t none[1] = {0}; /* no message: nothing is written to it */
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(none, tag, &tlen, none, 0, buf, n, NULL,
                                                       nonce, key);
}

static bool tag_ok(const uint8_t *buf, size_t n, uint64_t sequence, const uint8_t *key)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    nonce_of(sequence, nonce);
    uint8_t none[1] = {0}; /* no message */
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(none, NULL, none, 0, buf + n, buf,
                                                              n, nonce, key) == 0;
}

static void copy_message(const uint8_t *src, size_t n, char *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[n] = '\0';
}

bool ex_packet_parse(const uint8_t *buf, size_t len, const uint8_t *key, ex_packet *out)
{
    memset(out, 0, sizeof *out);
    if (!buf || len < 1) return false;
    out->type = buf[0];
    if (buf[0] == EX_PLAIN_DENY) {
        if (len < 3) return false;
        size_t n = buf[2];
        if (n > EX_MAX_MESSAGE || len != 3 + n) return false;
        out->code = buf[1];
        copy_message(buf + 3, n, out->message);
        return true;
    }
    size_t body; /* bytes before the tag */
    switch (buf[0]) {
    case EX_ACCEPT:
    case EX_KEEPALIVE:
    case EX_GOODBYE:
        body = 17;
        if (len != body + EX_TAG_BYTES) return false;
        break;
    case EX_DENY:
    case EX_SCORE:
        if (len < 19 + EX_TAG_BYTES || buf[18] > EX_MAX_MESSAGE) return false;
        body = 19 + (size_t)buf[18];
        if (len != body + EX_TAG_BYTES) return false;
        break;
    default:
        return false;
    }
    out->client_id = get_u64(buf + 1);
    out->sequence = get_u64(buf + 9);
    if (!key || !tag_ok(buf, body, out->sequence, key)) return false;
    if (buf[0] == EX_DENY || buf[0] == EX_SCORE) {
        out->code = buf[17];
        copy_message(buf + 19, buf[18], out->message);
    }
    return true;
}

size_t ex_packet_write(const ex_packet *p, const uint8_t *key, uint8_t *buf)
{
    size_t n = strnlen(p->message, EX_MAX_MESSAGE);
    buf[0] = p->type;
    if (p->type == EX_PLAIN_DENY) {
        buf[1] = p->code;
        buf[2] = (uint8_t)n;
        memcpy(buf + 3, p->message, n);
        return 3 + n;
    }
    if (!key) return 0;
    put_u64(buf + 1, p->client_id);
    put_u64(buf + 9, p->sequence);
    size_t body = 17;
    if (p->type == EX_DENY || p->type == EX_SCORE) {
        buf[17] = p->code;
        buf[18] = (uint8_t)n;
        memcpy(buf + 19, p->message, n);
        body = 19 + n;
    }
    tag_of(buf, body, p->sequence, key, buf + body);
    return body + EX_TAG_BYTES;
}

const char *ex_deny_name(uint8_t code)
{
    switch (code) {
    case EX_DENY_BAD_TOKEN:
        return "bad_token";
    case EX_DENY_TOKEN_EXPIRED:
        return "token_expired";
    case EX_DENY_NOT_THIS_SERVER:
        return "not_this_server";
    case EX_DENY_TOKEN_REUSED:
        return "token_reused";
    case EX_DENY_BUSY:
        return "busy";
    case EX_DENY_SERVER_FULL:
        return "server_full";
    default:
        return sg_hook_reason_name((sg_hook_reason)code);
    }
}
