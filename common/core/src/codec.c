#include "seatgate/codec.h"

#include <stdbool.h>
#include <string.h>

#include "seatgate/sodium_ready.h"

static const int variant = sodium_base64_VARIANT_ORIGINAL;

sg_status sg_base64_encode(const void *bin, size_t len, char *out, size_t out_size)
{
    if (!out || (!bin && len)) return sg_fail(SG_E_INVALID, "base64: missing buffer");
    sg_status st = sg_sodium_ready();
    if (st != SG_OK) return st;
    size_t need = sodium_base64_ENCODED_LEN(len, variant);
    if (out_size < need)
        return sg_fail(SG_E_TOO_LARGE, "base64: %zu bytes need a %zu-byte buffer, got %zu", len,
                       need, out_size);
    sodium_bin2base64(out, out_size, bin ? bin : (const void *)"", len, variant);
    return SG_OK;
}

static bool is_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* libsodium says only that decoding failed; this says why, without quoting the text. */
static sg_status explain(const char *text, size_t len, size_t out_cap)
{
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '=') {
            pad++;
        } else if (!is_alphabet(text[i]) || pad) {
            return sg_fail(SG_E_MALFORMED, "base64: bad character at position %zu", i + 1);
        }
    }
    if (len % 4)
        return sg_fail(SG_E_MALFORMED,
                       "base64: length %zu is not a multiple of 4 (missing '=' padding?)", len);
    if (pad > 2) return sg_fail(SG_E_MALFORMED, "base64: too much '=' padding");
    size_t decoded = len / 4 * 3 - pad;
    if (decoded > out_cap)
        return sg_fail(SG_E_TOO_LARGE, "base64: decodes to %zu bytes, more than the %zu allowed",
                       decoded, out_cap);
    return sg_fail(SG_E_MALFORMED, "base64: malformed final group or padding");
}

sg_status sg_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    if (out_len) *out_len = 0;
    if (!text || !out_len || (!out && out_cap))
        return sg_fail(SG_E_INVALID, "base64: missing buffer");
    sg_status st = sg_sodium_ready();
    if (st != SG_OK) return st;
    const char *end = NULL;
    size_t n = 0;
    int rc = sodium_base642bin(out, out_cap, text, text_len, NULL, &n, &end, variant);
    if (rc == 0 && end == text + text_len) {
        *out_len = n;
        return SG_OK;
    }
    if (out && out_cap) sodium_memzero(out, out_cap);
    return explain(text, text_len, out_cap);
}

char *sg_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size) n = size - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}
