/* Private key parsing, generation and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "seatgate/keys.h"

static const char *const HEX_1_32 =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
static const char *const B64_1_32 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static const char *const DEC_1_32 =
    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32";

static void assert_key_is_1_to_32(const sg_key *k)
{
    assert_non_null(k);
    const uint8_t *b = sg_key_bytes(k);
    for (int i = 0; i < SG_KEY_BYTES; i++)
        assert_int_equal(b[i], i + 1);
}

static void parses_to_1_32(const char *text)
{
    sg_key *k = NULL;
    if (sg_key_parse(text, &k) != SG_OK) fail_msg("'%s' did not parse: %s", text, sg_last_error());
    assert_key_is_1_to_32(k);
    sg_key_free(k);
}

static void test_parse_hex_either_case(void **state)
{
    (void)state;
    parses_to_1_32(HEX_1_32);
    parses_to_1_32("0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20");
    parses_to_1_32("0102030405060708090a0B0c0D0e0F101112131415161718191A1b1C1d1E1f20");
    parses_to_1_32("  0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
}

static void test_parse_base64(void **state)
{
    (void)state;
    parses_to_1_32(B64_1_32);
    parses_to_1_32("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\r\n");
}

static void test_parse_decimal_bytes(void **state)
{
    (void)state;
    parses_to_1_32(DEC_1_32);
    parses_to_1_32("1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, "
                   "23, 24, 25, 26, 27, 28, 29, 30, 31, 32\n");
    parses_to_1_32(" 1 ,2 , 3,\t4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
                   "28,29,30,31,032");
}

static void test_forms_agree_and_format_round_trips(void **state)
{
    (void)state;
    sg_key *a = NULL, *b = NULL;
    assert_int_equal(
        sg_key_parse("deadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00d", &a),
        SG_OK);
    assert_int_equal(sg_key_parse("3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0=", &b), SG_OK);
    assert_true(sg_key_equal(a, b));
    sg_key_free(b);
    assert_int_equal(sg_key_parse("222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
                                  "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
                                  &b),
                     SG_OK);
    assert_true(sg_key_equal(a, b));
    sg_key_free(b);

    char hex[SG_KEY_HEX_SIZE], b64[SG_KEY_BASE64_SIZE], dec[SG_KEY_DECIMAL_SIZE];
    assert_string_equal(sg_key_format_hex(a, hex, sizeof hex),
                        "deadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00d");
    assert_string_equal(sg_key_format_base64(a, b64, sizeof b64),
                        "3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0=");
    assert_string_equal(sg_key_format_decimal(a, dec, sizeof dec),
                        "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
                        "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13");
    sg_key_free(a);
}

static void test_generate_and_format_parse_back(void **state)
{
    (void)state;
    sg_key *a = NULL, *b = NULL;
    assert_int_equal(sg_key_generate(&a), SG_OK);
    assert_int_equal(sg_key_generate(&b), SG_OK);
    assert_false(sg_key_equal(a, b));
    char buf[SG_KEY_DECIMAL_SIZE];
    const char *(*fmt[3])(const sg_key *, char *, size_t) = {
        sg_key_format_hex, sg_key_format_base64, sg_key_format_decimal};
    for (int i = 0; i < 3; i++) {
        sg_key *c = NULL;
        assert_non_null(fmt[i](a, buf, sizeof buf));
        assert_int_equal(sg_key_parse(buf, &c), SG_OK);
        assert_true(sg_key_equal(a, c));
        sg_key_free(c);
    }
    sg_key_free(a);
    sg_key_free(b);
}

static void test_format_buffer_too_small(void **state)
{
    (void)state;
    sg_key *k = NULL;
    assert_int_equal(sg_key_parse(HEX_1_32, &k), SG_OK);
    char buf[SG_KEY_DECIMAL_SIZE];
    memset(buf, 'x', sizeof buf);
    assert_null(sg_key_format_hex(k, buf, SG_KEY_HEX_SIZE - 1));
    assert_string_equal(buf, "");
    assert_null(sg_key_format_base64(k, buf, SG_KEY_BASE64_SIZE - 1));
    assert_null(sg_key_format_decimal(k, buf, SG_KEY_DECIMAL_SIZE - 1));
    assert_string_equal(buf, "");
    sg_key_free(k);
}

/* No run of 6 characters of the key text may appear in the message. */
static void assert_not_echoed(const char *msg, const char *text)
{
    size_t len = strlen(text);
    for (size_t i = 0; i + 6 <= len; i++) {
        char window[7];
        memcpy(window, text + i, 6);
        window[6] = '\0';
        if (strstr(msg, window)) fail_msg("message '%s' echoes key text '%s'", msg, window);
    }
}

static void rejects(const char *text, const char *expected_message)
{
    sg_key *k = (sg_key *)1;
    assert_int_equal(sg_key_parse(text, &k), SG_E_INVALID);
    assert_null(k);
    assert_string_equal(sg_last_error(), expected_message);
    assert_not_echoed(sg_last_error(), text);
}

static void test_malformed_forms_have_clear_messages(void **state)
{
    (void)state;
    /* hex: a digit short, a digit long, a bad character (position 17), odd characters */
    rejects("deadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef0",
            "private key: expected 32 bytes (64 hex digits), got 62 hex digits");
    rejects("deadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00d00",
            "private key: expected 32 bytes (64 hex digits), got 66 hex digits");
    rejects("deadbeefcafef00dgeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00d",
            "private key: bad character at position 17");
    rejects("  deadbeefcafef00dgeadbeefcafef00ddeadbeefcafef00ddeadbeefcafef00d",
            "private key: bad character at position 19");
    /* decimal: 31 and 33 values, a value above 255, an empty slot, a stray character */
    rejects("222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240",
            "private key: expected 32 bytes, got 31");
    rejects("222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,7",
            "private key: expected 32 bytes, got 33");
    rejects("222,173,190,239,256,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
            "private key: value 5 is above 255");
    rejects("222,173,1900,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
            "private key: value 3 is above 255");
    rejects("222,173,,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
            "private key: missing number at position 9");
    rejects("222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,",
            "private key: missing number at position 125");
    rejects("222,173,19x,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
            "private key: bad character at position 11");
    rejects("222,-173,190,239,202,254,240,13,222,173,190,239,202,254,240,13,"
            "222,173,190,239,202,254,240,13,222,173,190,239,202,254,240,13",
            "private key: bad character at position 5");
    /* base64: 31 bytes, 33 bytes, a bad character, missing padding */
    rejects("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==",
            "private key: expected 32 bytes, got 31");
    rejects("3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A3e",
            "private key: expected 32 bytes, got 33");
    rejects("3q2+78r+8A3erb7v*v7wDd6tvu/K/vAN3q2+78r+8A0=",
            "private key: bad character at position 17");
    rejects("3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0",
            "private key: base64: length 43 is not a multiple of 4 (missing '=' padding?)");
    rejects(
        "3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0=3q2+78r+8A3erb7vyv7wDd6tvu/K/vAN3q2+78r+8A0=",
        "private key: too long (88 characters)");
    /* nothing at all */
    rejects("", "private key: empty");
    rejects(" \n", "private key: empty");
}

static void test_free_null_is_fine(void **state)
{
    (void)state;
    sg_key_free(NULL);
    assert_null(sg_key_bytes(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_hex_either_case),
        cmocka_unit_test(test_parse_base64),
        cmocka_unit_test(test_parse_decimal_bytes),
        cmocka_unit_test(test_forms_agree_and_format_round_trips),
        cmocka_unit_test(test_generate_and_format_parse_back),
        cmocka_unit_test(test_format_buffer_too_small),
        cmocka_unit_test(test_malformed_forms_have_clear_messages),
        cmocka_unit_test(test_free_null_is_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
