#include "example_proto.h"

#include <string.h>

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

bool ex_packet_parse(const uint8_t *buf, size_t len, ex_packet *out)
{
    memset(out, 0, sizeof *out);
    if (!buf || len < 1) return false;
    out->type = buf[0];
    switch (buf[0]) {
    case EX_ACCEPT:
    case EX_KEEPALIVE:
    case EX_GOODBYE:
        if (len != 9) return false;
        out->client_id = get_u64(buf + 1);
        return true;
    case EX_DENY: {
        if (len < 3) return false;
        size_t n = buf[2];
        if (n > EX_MAX_MESSAGE || len != 3 + n) return false;
        out->code = buf[1];
        for (size_t i = 0; i < n; i++) {
            uint8_t c = buf[3 + i];
            out->message[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        out->message[n] = '\0';
        return true;
    }
    default:
        return false;
    }
}

size_t ex_packet_write(const ex_packet *p, uint8_t *buf)
{
    buf[0] = p->type;
    if (p->type != EX_DENY) {
        put_u64(buf + 1, p->client_id);
        return 9;
    }
    size_t n = strnlen(p->message, EX_MAX_MESSAGE);
    buf[1] = p->code;
    buf[2] = (uint8_t)n;
    memcpy(buf + 3, p->message, n);
    return 3 + n;
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
