/* netcode 1.02 connection request packets (in each dialect), and the session id carried in
 * the user data. */
#include "seatgate/token.h"

#include <inttypes.h>
#include <string.h>

#include "token_wire.h"

static sg_status check_packet_length(size_t len)
{
    if (len < SG_CONNECTION_REQUEST_BYTES)
        return sg_fail(SG_E_TRUNCATED, "connection request: expected %d bytes, got %zu",
                       SG_CONNECTION_REQUEST_BYTES, len);
    if (len > SG_CONNECTION_REQUEST_BYTES)
        return sg_fail(SG_E_TOO_LARGE, "connection request: expected %d bytes, got %zu",
                       SG_CONNECTION_REQUEST_BYTES, len);
    return SG_OK;
}

sg_status sg_connection_request_parse(const uint8_t *packet, size_t len, sg_token_dialect dialect,
                                      sg_connection_request *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "connection request: no output");
    memset(out, 0, sizeof *out);
    if (!packet) return sg_fail(SG_E_INVALID, "connection request: no packet");
    if ((unsigned)dialect >= SG_TOKEN_DIALECT_COUNT)
        return sg_fail(SG_E_INVALID, "connection request: unknown dialect %d", (int)dialect);
    if (len >= 1 && packet[0] != 0)
        return sg_fail(SG_E_MALFORMED, "connection request: prefix byte is %u, not 0",
                       (unsigned)packet[0]);
    sg_status st = check_packet_length(len);
    if (st != SG_OK) return st;
    memcpy(out->version_info, packet + SG_REQ_OFF_VERSION, SG_TOKEN_VERSION_INFO_BYTES);
    out->protocol_id = sg_get64(packet + SG_REQ_OFF_PROTOCOL, sg_dialect_big(dialect));
    out->expire_timestamp = sg_get64(packet + SG_REQ_OFF_EXPIRE, sg_dialect_big(dialect));
    memcpy(out->nonce, packet + SG_REQ_OFF_NONCE, SG_TOKEN_NONCE_BYTES);
    memcpy(out->private_data, packet + SG_REQ_OFF_PRIVATE, SG_TOKEN_PRIVATE_BYTES);
    return SG_OK;
}

sg_status sg_token_open_request(const sg_token_opener *o, const sg_connection_request *req,
                                uint64_t now, sg_token_opened *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "connection request: no output");
    memset(out, 0, sizeof *out);
    sg_status st = sg_token_check_opener(o);
    if (st != SG_OK) return st;
    if (!req) return sg_fail(SG_E_INVALID, "connection request: no request");

    if (memcmp(req->version_info, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES))
        return sg_fail(SG_E_VERSION, "connection request: version info is not \"NETCODE 1.02\"");
    if (req->protocol_id != o->protocol_id)
        return sg_fail(SG_E_PROTOCOL_ID,
                       "connection request: protocol id %" PRIu64 ", expected %" PRIu64,
                       req->protocol_id, o->protocol_id);
    if (now >= req->expire_timestamp)
        return sg_fail(SG_E_EXPIRED,
                       "connection request: token expired at %" PRIu64 " (now %" PRIu64 ")",
                       req->expire_timestamp, now);
    st = sg_token_open_private(o, req->expire_timestamp, req->nonce, req->private_data, out);
    if (st != SG_OK) {
        sg_token_opened_wipe(out);
        return st;
    }
    out->protocol_id = req->protocol_id;
    out->create_timestamp = 0;
    out->expire_timestamp = req->expire_timestamp;
    return SG_OK;
}

sg_status sg_connection_request_write(const uint8_t *token, size_t len,
                                      uint8_t out[SG_CONNECTION_REQUEST_BYTES])
{
    if (!out || !token) return sg_fail(SG_E_INVALID, "connection request: no token or output");
    memset(out, 0, SG_CONNECTION_REQUEST_BYTES);
    if (len < SG_TOKEN_BYTES)
        return sg_fail(SG_E_TRUNCATED, "token: expected %d bytes, got %zu", SG_TOKEN_BYTES, len);
    if (len > SG_TOKEN_BYTES)
        return sg_fail(SG_E_TOO_LARGE, "token: expected %d bytes, got %zu", SG_TOKEN_BYTES, len);
    if (memcmp(token + SG_TOK_OFF_VERSION, sg_token_version_info, SG_TOKEN_VERSION_INFO_BYTES))
        return sg_fail(SG_E_VERSION, "token: version info is not \"NETCODE 1.02\"");
    out[0] = 0; /* connection request prefix byte */
    memcpy(out + SG_REQ_OFF_VERSION, token + SG_TOK_OFF_VERSION, SG_TOKEN_VERSION_INFO_BYTES);
    memcpy(out + SG_REQ_OFF_PROTOCOL, token + SG_TOK_OFF_PROTOCOL, 8);
    memcpy(out + SG_REQ_OFF_EXPIRE, token + SG_TOK_OFF_EXPIRE, 8);
    memcpy(out + SG_REQ_OFF_NONCE, token + SG_TOK_OFF_NONCE, SG_TOKEN_NONCE_BYTES);
    memcpy(out + SG_REQ_OFF_PRIVATE, token + SG_TOK_OFF_PRIVATE, SG_TOKEN_PRIVATE_BYTES);
    return SG_OK;
}

/* ---- session id in the user data ---------------------------------------------------------- */

static bool session_char_ok(uint8_t c)
{
    return c >= '!' && c <= '~';
}

sg_status sg_token_user_data_set_session(uint8_t user_data[SG_TOKEN_USER_DATA_BYTES],
                                         const char *session_id)
{
    if (!user_data || !session_id) return sg_fail(SG_E_INVALID, "session id: missing");
    size_t len = strlen(session_id);
    if (len == 0) return sg_fail(SG_E_INVALID, "session id: empty");
    if (len > SG_TOKEN_SESSION_ID_MAX)
        return sg_fail(SG_E_TOO_LARGE, "session id: %zu characters (at most %d)", len,
                       SG_TOKEN_SESSION_ID_MAX);
    for (size_t i = 0; i < len; i++)
        if (!session_char_ok((uint8_t)session_id[i]))
            return sg_fail(SG_E_INVALID,
                           "session id: character %zu is not printable ASCII ('!'..'~')", i + 1);
    memset(user_data, 0, SG_TOKEN_USER_DATA_BYTES);
    user_data[0] = (uint8_t)len;
    memcpy(user_data + 1, session_id, len);
    return SG_OK;
}

sg_status sg_token_user_data_get_session(const uint8_t user_data[SG_TOKEN_USER_DATA_BYTES],
                                         char *out, size_t out_size)
{
    if (out && out_size) out[0] = '\0';
    if (!user_data || !out) return sg_fail(SG_E_INVALID, "session id: missing buffer");
    size_t len = user_data[0];
    if (len == 0) return sg_fail(SG_E_MALFORMED, "session id: the user data holds none");
    for (size_t i = 0; i < len; i++)
        if (!session_char_ok(user_data[1 + i]))
            return sg_fail(SG_E_MALFORMED, "session id: byte %zu is not printable ASCII", i + 1);
    if (out_size <= len)
        return sg_fail(SG_E_TOO_LARGE, "session id: %zu characters need a %zu-byte buffer", len,
                       len + 1);
    memcpy(out, user_data + 1, len);
    out[len] = '\0';
    return SG_OK;
}

/* ---- settings shared by the programs that mint and open tokens ---------------------------- */

sg_status sg_token_protocol_id_parse(const char *text, uint64_t *out)
{
    if (!out) return sg_fail(SG_E_INVALID, "protocol id: no output");
    *out = 0;
    if (!text || !*text) return sg_fail(SG_E_INVALID, "protocol id: empty");
    const char *p = text;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (!*p) return sg_fail(SG_E_INVALID, "protocol id: no hex digits after 0x");
    }
    uint64_t v = 0;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return sg_fail(SG_E_INVALID, "protocol id: bad character at position %zu",
                           (size_t)(p - text) + 1);
        if (v > (UINT64_MAX - d) / base)
            return sg_fail(SG_E_INVALID, "protocol id: larger than 64 bits");
        v = v * base + d;
    }
    *out = v;
    return SG_OK;
}

