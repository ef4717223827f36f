/* libFuzzer target: private key parsing (hex, base64, decimal bytes).
 *
 * Properties: a parsed key formats to hex, base64 and decimal that parse back to the same
 * key; an error message is one of the fixed templates below once its numbers are masked,
 * so it cannot carry any of the input text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const templates[] = {
    "private key: empty",
    "private key: missing",
    "private key: bad character at position #",
    "private key: missing number at position #",
    "private key: value # is above #",
    "private key: expected # bytes, got #",
    "private key: expected # bytes (# hex digits), got # hex digits",
    "private key: malformed hex",
    "private key: too long (# characters)",
    "private key: base#: bad character at position #",
    "private key: base#: length # is not a multiple of # (missing '=' padding?)",
    "private key: base#: too much '=' padding",
    "private key: base#: decodes to # bytes, more than the # allowed",
    "private key: base#: malformed final group or padding",
};

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "property failed: %s: %s\n", what, detail);
    abort();
}

static void check_message(const char *msg)
{
    char masked[512];
    size_t n = 0;
    for (const char *p = msg; *p && n + 1 < sizeof masked;) {
        if (*p >= '0' && *p <= '9') {
            masked[n++] = '#';
            while (*p >= '0' && *p <= '9')
                p++;
        } else {
            masked[n++] = *p++;
        }
    }
    masked[n] = '\0';
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(masked, templates[i]) == 0) return;
    fail("unexpected error message", masked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sg_key *k = NULL;
    sg_status st = sg_key_parse(text, &k);
    if (st == SG_OK) {
        char buf[SG_KEY_DECIMAL_SIZE];
        const char *(*fmt[3])(const sg_key *, char *, size_t) = {
            sg_key_format_hex, sg_key_format_base64, sg_key_format_decimal};
        for (int i = 0; i < 3; i++) {
            sg_key *again = NULL;
            if (!fmt[i](k, buf, sizeof buf)) fail("format", "returned NULL");
            if (sg_key_parse(buf, &again) != SG_OK) fail("re-parse", sg_last_error());
            if (!sg_key_equal(k, again)) fail("re-parse", "different key");
            sg_key_free(again);
        }
    } else {
        if (k) fail("output", "set on error");
        check_message(sg_last_error());
    }
    sg_key_free(k);
    free(text);
    return 0;
}
