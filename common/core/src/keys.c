#include "seatgate/keys.h"

#include <stdio.h>
#include <string.h>

#include "seatgate/codec.h"
#include "seatgate/sodium_ready.h"

struct sg_key {
    uint8_t bytes[SG_KEY_BYTES];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_base64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
           c == '/' || c == '=';
}

/* Positions in messages count from 1 in the caller's text (off = leading blanks skipped). */
static sg_status bad_char(size_t off, size_t i)
{
    return sg_fail(SG_E_INVALID, "private key: bad character at position %zu", off + i + 1);
}

static sg_status parse_decimal(const char *s, size_t len, size_t off, uint8_t *out)
{
    size_t count = 0, i = 0;
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        unsigned v = 0, digits = 0;
        size_t start = i;
        while (i < len && is_digit(s[i])) {
            if (++digits > 3) break;
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (digits == 0) {
            if (i == len || s[i] == ',')
                return sg_fail(SG_E_INVALID, "private key: missing number at position %zu",
                               off + start + 1);
            return bad_char(off, i);
        }
        if (digits > 3 || v > 255)
            return sg_fail(SG_E_INVALID, "private key: value %zu is above 255", count + 1);
        if (count < SG_KEY_BYTES) out[count] = (uint8_t)v;
        count++;
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == len) break;
        if (s[i] != ',') return bad_char(off, i);
        i++;
    }
    if (count != SG_KEY_BYTES)
        return sg_fail(SG_E_INVALID, "private key: expected %d bytes, got %zu", SG_KEY_BYTES,
                       count);
    return SG_OK;
}

static sg_status parse_hex(const char *s, size_t len, size_t off, uint8_t *out)
{
    for (size_t i = 0; i < len; i++)
        if (!is_hex(s[i])) return bad_char(off, i);
    if (len != 2 * SG_KEY_BYTES)
        return sg_fail(SG_E_INVALID,
                       "private key: expected %d bytes (%d hex digits), got %zu hex digits",
                       SG_KEY_BYTES, 2 * SG_KEY_BYTES, len);
    size_t n = 0;
    if (sodium_hex2bin(out, SG_KEY_BYTES, s, len, NULL, &n, NULL) != 0 || n != SG_KEY_BYTES)
        return sg_fail(SG_E_INVALID, "private key: malformed hex");
    return SG_OK;
}

static sg_status parse_base64(const char *s, size_t len, size_t off, uint8_t *out)
{
    for (size_t i = 0; i < len; i++)
        if (!is_base64(s[i])) return bad_char(off, i);
    if (len > 64) return sg_fail(SG_E_INVALID, "private key: too long (%zu characters)", len);
    uint8_t buf[48];
    size_t n = 0;
    sg_status st = sg_base64_decode(s, len, buf, sizeof buf, &n);
    if (st == SG_OK && n == SG_KEY_BYTES) memcpy(out, buf, SG_KEY_BYTES);
    sodium_memzero(buf, sizeof buf);
    if (st != SG_OK) {
        /* The codec's message names lengths and padding only, never the text. */
        char why[200];
        snprintf(why, sizeof why, "%s", sg_last_error());
        return sg_fail(SG_E_INVALID, "private key: %s", why);
    }
    if (n != SG_KEY_BYTES)
        return sg_fail(SG_E_INVALID, "private key: expected %d bytes, got %zu", SG_KEY_BYTES, n);
    return SG_OK;
}

static sg_status key_alloc(sg_key **out)
{
    sg_status st = sg_sodium_ready();
    if (st != SG_OK) return st;
    *out = sodium_malloc(sizeof **out);
    if (!*out) return sg_fail(SG_E_NOMEM, "private key: out of memory");
    return SG_OK;
}

sg_status sg_key_from_bytes(const uint8_t bytes[SG_KEY_BYTES], sg_key **out)
{
    if (!out) return sg_fail(SG_E_INVALID, "private key: no output");
    *out = NULL;
    if (!bytes) return sg_fail(SG_E_INVALID, "private key: no bytes");
    sg_status st = key_alloc(out);
    if (st != SG_OK) return st;
    memcpy((*out)->bytes, bytes, SG_KEY_BYTES);
    return SG_OK;
}

sg_status sg_key_parse(const char *text, sg_key **out)
{
    if (!out) return sg_fail(SG_E_INVALID, "private key: no output");
    *out = NULL;
    if (!text) return sg_fail(SG_E_INVALID, "private key: missing");
    size_t off = 0, len = strlen(text);
    while (off < len && is_blank(text[off]))
        off++;
    while (len > off && is_blank(text[len - 1]))
        len--;
    const char *s = text + off;
    len -= off;
    if (len == 0) return sg_fail(SG_E_INVALID, "private key: empty");

    bool all_hex = true;
    for (size_t i = 0; i < len && all_hex; i++)
        all_hex = is_hex(s[i]);

    uint8_t bytes[SG_KEY_BYTES];
    sg_status st;
    if (memchr(s, ',', len))
        st = parse_decimal(s, len, off, bytes);
    else if (all_hex || len == 2 * SG_KEY_BYTES)
        st = parse_hex(s, len, off, bytes);
    else
        st = parse_base64(s, len, off, bytes);
    if (st == SG_OK) st = sg_key_from_bytes(bytes, out);
    sodium_memzero(bytes, sizeof bytes);
    return st;
}

sg_status sg_key_generate(sg_key **out)
{
    if (!out) return sg_fail(SG_E_INVALID, "private key: no output");
    *out = NULL;
    sg_status st = key_alloc(out);
    if (st != SG_OK) return st;
    randombytes_buf((*out)->bytes, SG_KEY_BYTES);
    return SG_OK;
}

void sg_key_free(sg_key *key)
{
    if (key) sodium_free(key); /* sodium_free wipes the memory before releasing it */
}

const uint8_t *sg_key_bytes(const sg_key *key)
{
    return key ? key->bytes : NULL;
}

bool sg_key_equal(const sg_key *a, const sg_key *b)
{
    if (!a || !b) return a == b;
    return sodium_memcmp(a->bytes, b->bytes, SG_KEY_BYTES) == 0;
}

static const char *too_small(char *out, size_t size)
{
    if (out && size) out[0] = '\0';
    return NULL;
}

const char *sg_key_format_hex(const sg_key *key, char *out, size_t size)
{
    if (!key || !out || size < SG_KEY_HEX_SIZE) return too_small(out, size);
    return sodium_bin2hex(out, size, key->bytes, SG_KEY_BYTES);
}

const char *sg_key_format_base64(const sg_key *key, char *out, size_t size)
{
    if (!key || !out || size < SG_KEY_BASE64_SIZE) return too_small(out, size);
    if (sg_base64_encode(key->bytes, SG_KEY_BYTES, out, size) != SG_OK) return too_small(out, size);
    return out;
}

const char *sg_key_format_decimal(const sg_key *key, char *out, size_t size)
{
    if (!key || !out || size < SG_KEY_DECIMAL_SIZE) return too_small(out, size);
    size_t n = 0;
    for (size_t i = 0; i < SG_KEY_BYTES; i++)
        n += (size_t)snprintf(out + n, size - n, i ? ",%u" : "%u", (unsigned)key->bytes[i]);
    return out;
}
