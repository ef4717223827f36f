/* base64 for transport: round trips, sizes, and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "seatgate/codec.h"
#include "seatgate/token.h"

static void test_encode_known_values(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sg_base64_encode("", 0, out, sizeof out), SG_OK);
    assert_string_equal(out, "");
    assert_int_equal(sg_base64_encode("f", 1, out, sizeof out), SG_OK);
    assert_string_equal(out, "Zg==");
    assert_int_equal(sg_base64_encode("fo", 2, out, sizeof out), SG_OK);
    assert_string_equal(out, "Zm8=");
    assert_int_equal(sg_base64_encode("foobar", 6, out, sizeof out), SG_OK);
    assert_string_equal(out, "Zm9vYmFy");
    const uint8_t hi[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(sg_base64_encode(hi, 3, out, sizeof out), SG_OK);
    assert_string_equal(out, "+/+/"); /* standard alphabet, not URL-safe */
}

static void test_encode_needs_room_for_the_nul(void **state)
{
    (void)state;
    char out[9];
    assert_int_equal(SG_BASE64_ENCODED_SIZE(6), 9);
    assert_int_equal(sg_base64_encode("foobar", 6, out, 8), SG_E_TOO_LARGE);
    assert_int_equal(sg_base64_encode("foobar", 6, out, 9), SG_OK);
}

static void test_token_sized_round_trip(void **state)
{
    (void)state;
    uint8_t bin[SG_TOKEN_BYTES], back[SG_TOKEN_BYTES];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i * 7 + 3);
    char text[SG_BASE64_ENCODED_SIZE(SG_TOKEN_BYTES)];
    assert_int_equal(sizeof text, 2733);
    assert_int_equal(sg_base64_encode(bin, sizeof bin, text, sizeof text), SG_OK);
    assert_int_equal(strlen(text), 2732);
    size_t n = 0;
    assert_int_equal(sg_base64_decode(text, strlen(text), back, sizeof back, &n), SG_OK);
    assert_int_equal(n, SG_TOKEN_BYTES);
    assert_memory_equal(back, bin, sizeof bin);
}

static void decode_fails(const char *text, size_t cap, sg_status want, const char *message)
{
    uint8_t out[64];
    memset(out, 0x5a, sizeof out);
    size_t n = 99;
    assert_int_equal(sg_base64_decode(text, strlen(text), out, cap, &n), want);
    assert_int_equal(n, 0);
    assert_string_equal(sg_last_error(), message);
    for (size_t i = 0; i < cap; i++)
        assert_int_equal(out[i], 0); /* nothing half-decoded is left behind */
}

static void test_decode_errors_are_clear(void **state)
{
    (void)state;
    decode_fails("Zm9v!mFy", 64, SG_E_MALFORMED, "base64: bad character at position 5");
    decode_fails("Zm9v YmFy", 64, SG_E_MALFORMED, "base64: bad character at position 5");
    decode_fails("Zm9vYmFy\n", 64, SG_E_MALFORMED, "base64: bad character at position 9");
    decode_fails("Zm8=Zm8=", 64, SG_E_MALFORMED, "base64: bad character at position 5");
    decode_fails("Zm9vYmE", 64, SG_E_MALFORMED,
                 "base64: length 7 is not a multiple of 4 (missing '=' padding?)");
    decode_fails("Zg===", 64, SG_E_MALFORMED,
                 "base64: length 5 is not a multiple of 4 (missing '=' padding?)");
    decode_fails("Z===", 64, SG_E_MALFORMED, "base64: too much '=' padding");
    decode_fails("Zm9vYmFy", 5, SG_E_TOO_LARGE,
                 "base64: decodes to 6 bytes, more than the 5 allowed");
    decode_fails("Zm8=", 1, SG_E_TOO_LARGE, "base64: decodes to 2 bytes, more than the 1 allowed");
}

static void test_decode_exact_capacity_and_empty(void **state)
{
    (void)state;
    uint8_t out[6];
    size_t n = 0;
    assert_int_equal(sg_base64_decode("Zm9vYmFy", 8, out, 6, &n), SG_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(sg_base64_decode("Zm8=", 4, out, 2, &n), SG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sg_base64_decode("", 0, out, sizeof out, &n), SG_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_known_values),
        cmocka_unit_test(test_encode_needs_room_for_the_nul),
        cmocka_unit_test(test_token_sized_round_trip),
        cmocka_unit_test(test_decode_errors_are_clear),
        cmocka_unit_test(test_decode_exact_capacity_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
