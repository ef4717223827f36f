/* The /connect-me body: optional, JSON object only, typed fields, allowed selectors, size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "connect_request.h"

static const char *const allowed[] = {"eu", "beta"};
static const sg_connect_body_options with_selectors = {
    .max_bytes = 256, .allowed_selectors = allowed, .allowed_selector_count = 2};
static const sg_connect_body_options plain = {.max_bytes = 256};

static const char *parse(const sg_connect_body_options *o, const char *ct, const char *body,
                         sg_connect_request *out, int *status)
{
    static sg_reply_error err;
    memset(&err, 0, sizeof err);
    sg_status st = sg_connect_request_parse(o, ct, body, strlen(body), out, &err);
    if (status) *status = st == SG_OK ? 200 : err.status;
    return st == SG_OK ? "ok" : err.code;
}

static void empty_body_is_a_valid_request(void **state)
{
    (void)state;
    sg_connect_request r;
    assert_string_equal(parse(&plain, NULL, "", &r, NULL), "ok");
    assert_string_equal(r.client_version, "");
    assert_int_equal(r.selector_count, 0);
    assert_string_equal(parse(&plain, "text/plain", "", &r, NULL), "ok");
}

static void reads_known_fields_and_ignores_unknown_ones(void **state)
{
    (void)state;
    sg_connect_request r;
    assert_string_equal(
        parse(&with_selectors, "application/json; charset=utf-8",
              "{\"client_version\":\"1.4.2\",\"selectors\":[\"eu\",\"beta\",\"eu\"],"
              "\"future\":{\"x\":1}}",
              &r, NULL),
        "ok");
    assert_string_equal(r.client_version, "1.4.2");
    assert_int_equal(r.selector_count, 2);
    assert_string_equal(r.selectors[0], "eu");
    assert_string_equal(r.selectors[1], "beta");
    assert_string_equal(parse(&plain, "Application/JSON", "{\"client_version\":null}", &r, NULL),
                        "ok");
    assert_string_equal(parse(&plain, "application/json", " {} ", &r, NULL), "ok");
}

static void content_type_must_be_json(void **state)
{
    (void)state;
    sg_connect_request r;
    int status;
    assert_string_equal(parse(&plain, NULL, "{}", &r, &status), "bad_content_type");
    assert_int_equal(status, 400);
    assert_string_equal(parse(&plain, "text/plain", "{}", &r, NULL), "bad_content_type");
    assert_string_equal(parse(&plain, "application/jsonx", "{}", &r, NULL), "bad_content_type");
    assert_true(sg_content_type_is_json("application/json"));
    assert_false(sg_content_type_is_json("application/x-www-form-urlencoded"));
}

static void malformed_json_and_wrong_types_are_400(void **state)
{
    (void)state;
    sg_connect_request r;
    int status;
    const char *ct = "application/json";
    assert_string_equal(parse(&plain, ct, "{", &r, &status), "malformed_json");
    assert_int_equal(status, 400);
    assert_string_equal(parse(&plain, ct, "{} trailing", &r, NULL), "malformed_json");
    assert_string_equal(parse(&plain, ct, "[1,2]", &r, NULL), "malformed_json");
    assert_string_equal(parse(&plain, ct, "\"text\"", &r, NULL), "malformed_json");
    assert_string_equal(parse(&plain, ct, "{\"client_version\":7}", &r, &status), "bad_field");
    assert_int_equal(status, 400);
    assert_string_equal(parse(&plain, ct, "{\"client_version\":\"\"}", &r, NULL), "bad_field");
    assert_string_equal(parse(&plain, ct, "{\"client_version\":\"a\\nb\"}", &r, NULL), "bad_field");
    assert_string_equal(
        parse(&plain, ct, "{\"client_version\":\"1\",\"client_version\":\"2\"}", &r, NULL),
        "bad_field");
    assert_string_equal(parse(&with_selectors, ct, "{\"selectors\":\"eu\"}", &r, NULL),
                        "bad_field");
    assert_string_equal(parse(&with_selectors, ct, "{\"selectors\":[1]}", &r, NULL), "bad_field");
    /* Nothing half-filled on error. */
    assert_string_equal(r.client_version, "");
    assert_int_equal(r.selector_count, 0);
    /* A NUL byte inside the body. */
    sg_reply_error err;
    assert_int_equal(sg_connect_request_parse(&plain, ct, "{}\0x", 4, &r, &err), SG_E_MALFORMED);
    assert_string_equal(err.code, "malformed_json");
}

static void selectors_only_from_the_allowed_list(void **state)
{
    (void)state;
    sg_connect_request r;
    const char *ct = "application/json";
    assert_string_equal(parse(&plain, ct, "{\"selectors\":[\"eu\"]}", &r, NULL),
                        "selector_not_allowed");
    assert_string_equal(parse(&with_selectors, ct, "{\"selectors\":[\"gpu\"]}", &r, NULL),
                        "selector_not_allowed");
    assert_string_equal(parse(&plain, ct, "{\"selectors\":[]}", &r, NULL), "ok");
    assert_string_equal(
        parse(&with_selectors, ct,
              "{\"selectors\":[\"eu\",\"eu\",\"eu\",\"eu\",\"eu\",\"eu\",\"eu\",\"eu\",\"eu\"]}",
              &r, NULL),
        "bad_field");
}

static void map_keys_only_from_the_allowed_list(void **state)
{
    (void)state;
    static const char *const maps[] = {"arena", "dust_2"};
    const sg_connect_body_options with_maps = {.max_bytes = 256, .allowed_maps = maps,
                                               .allowed_map_count = 2};
    sg_connect_request r;
    int status;
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":\"dust_2\"}", &r, NULL),
                        "ok");
    assert_string_equal(r.map_key, "dust_2");
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":null}", &r, NULL), "ok");
    assert_string_equal(r.map_key, "");
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":\"lobby\"}", &r, &status),
                        "map_not_allowed");
    assert_int_equal(status, 400);
    assert_string_equal(r.map_key, ""); /* nothing half-filled */
    assert_string_equal(parse(&plain, "application/json", "{\"mapKey\":\"arena\"}", &r, NULL),
                        "map_not_allowed"); /* no list: the field is refused */
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":\"ar ena\"}", &r, NULL),
                        "bad_field");
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":7}", &r, NULL), "bad_field");
    assert_string_equal(parse(&with_maps, "application/json", "{\"mapKey\":\"\"}", &r, NULL), "bad_field");
    assert_string_equal(parse(&with_maps, "application/json",
                              "{\"mapKey\":\"arena\",\"mapKey\":\"arena\"}", &r, NULL),
                        "bad_field");
    char long_key[120];
    snprintf(long_key, sizeof long_key, "{\"mapKey\":\"%065d\"}", 0);
    assert_string_equal(parse(&with_maps, "application/json", long_key, &r, NULL), "bad_field");
}

static void rtts_the_client_measured(void **state)
{
    (void)state;
    const sg_connect_body_options big = {.max_bytes = 4096};
    sg_connect_request r;
    assert_string_equal(parse(&big, "application/json",
                              "{\"rtts\":{\"Montreal\":23.5,\"Frankfurt\":98,\"Tokyo\":0}}", &r, NULL),
                        "ok");
    assert_int_equal(r.rtt_count, 3);
    assert_string_equal(r.rtts[0].name, "Montreal");
    assert_true(r.rtts[0].ms == 23.5f);
    assert_string_equal(r.rtts[1].name, "Frankfurt");
    assert_true(r.rtts[1].ms == 98.0f);
    assert_true(r.rtts[2].ms == 0.0f);
    assert_string_equal(parse(&big, "application/json", "{\"rtts\":null}", &r, NULL), "ok");
    assert_int_equal(r.rtt_count, 0);
    const char *bad[] = {
        "{\"rtts\":[1,2]}",
        "{\"rtts\":{\"Montreal\":\"fast\"}}",
        "{\"rtts\":{\"Montreal\":-1}}",
        "{\"rtts\":{\"Montreal\":10001}}",
        "{\"rtts\":{\"\":5}}",
        "{\"rtts\":{\"a\\u0001b\":5}}",
        "{\"rtts\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":5}}", /* 33 characters */
        "{\"rtts\":{\"a\":1,\"a\":2}}",
        "{\"rtts\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}}",
        "{\"rtts\":{},\"rtts\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = 0;
        if (strcmp(parse(&big, "application/json", bad[i], &r, &status), "bad_field") != 0)
            fail_msg("%s: not bad_field", bad[i]);
        assert_int_equal(status, 400);
        assert_int_equal(r.rtt_count, 0); /* nothing half-filled */
    }
}

static void too_large_is_413(void **state)
{
    (void)state;
    char big[400];
    memset(big, ' ', sizeof big - 3);
    big[0] = '{';
    big[sizeof big - 3] = '}';
    big[sizeof big - 2] = '\0';
    sg_connect_request r;
    int status;
    assert_string_equal(parse(&plain, "application/json", big, &r, &status), "body_too_large");
    assert_int_equal(status, 413);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_body_is_a_valid_request),
        cmocka_unit_test(reads_known_fields_and_ignores_unknown_ones),
        cmocka_unit_test(content_type_must_be_json),
        cmocka_unit_test(malformed_json_and_wrong_types_are_400),
        cmocka_unit_test(selectors_only_from_the_allowed_list),
        cmocka_unit_test(map_keys_only_from_the_allowed_list),
        cmocka_unit_test(rtts_the_client_measured),
        cmocka_unit_test(too_large_is_413),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
