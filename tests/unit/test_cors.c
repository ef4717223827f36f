/* CORS: exact origins, "*", preflight checks, credentials, no headers for strangers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cors.h"

static const char *header(const sg_cors_headers *h, const char *name)
{
    for (size_t i = 0; i < h->count; i++)
        if (strcmp(h->h[i].name, name) == 0) return h->h[i].value;
    return NULL;
}

static sg_cors *make(const char *origins, bool credentials)
{
    sg_cors_options o = {.origins = origins, .allow_credentials = credentials, .max_age_s = 600};
    sg_cors *c = NULL;
    assert_int_equal(sg_cors_new(&o, &c), SG_OK);
    return c;
}

static void allowed_origin_is_echoed_with_vary(void **state)
{
    (void)state;
    sg_cors *c = make("https://game.example.com, http://localhost:8000", false);
    sg_cors_headers h;
    assert_int_equal(sg_cors_request(c, "https://game.example.com", &h), SG_CORS_ALLOWED);
    assert_string_equal(header(&h, "Access-Control-Allow-Origin"), "https://game.example.com");
    assert_string_equal(header(&h, "Vary"), "Origin");
    assert_string_equal(header(&h, "Access-Control-Expose-Headers"), "Retry-After, WWW-Authenticate");
    assert_null(header(&h, "Access-Control-Allow-Credentials"));
    /* Case of scheme and host does not matter. */
    assert_int_equal(sg_cors_request(c, "HTTP://LOCALHOST:8000", &h), SG_CORS_ALLOWED);
    sg_cors_free(c);
}

static void other_origins_get_no_cors_headers(void **state)
{
    (void)state;
    sg_cors *c = make("https://game.example.com", false);
    sg_cors_headers h;
    assert_int_equal(sg_cors_request(c, "https://evil.example.com", &h), SG_CORS_DENIED);
    assert_null(header(&h, "Access-Control-Allow-Origin"));
    assert_int_equal(sg_cors_request(c, "https://game.example.com.evil.com", &h), SG_CORS_DENIED);
    assert_int_equal(sg_cors_request(c, "null", &h), SG_CORS_DENIED);
    assert_int_equal(sg_cors_request(c, NULL, &h), SG_CORS_NO_ORIGIN);
    assert_int_equal(h.count, 0);
    sg_cors_free(c);
    /* No origins configured: nobody. */
    c = make("", false);
    assert_int_equal(sg_cors_request(c, "https://game.example.com", &h), SG_CORS_DENIED);
    sg_cors_free(c);
}

static void preflight_checks_method_and_headers(void **state)
{
    (void)state;
    sg_cors *c = make("https://game.example.com", false);
    sg_cors_headers h;
    assert_int_equal(sg_cors_preflight(c, "https://game.example.com", "POST", "content-type", &h),
                     SG_CORS_ALLOWED);
    assert_string_equal(header(&h, "Access-Control-Allow-Methods"), "POST, GET, OPTIONS");
    assert_string_equal(header(&h, "Access-Control-Allow-Headers"), "Content-Type");
    assert_string_equal(header(&h, "Access-Control-Max-Age"), "600");
    assert_non_null(strstr(header(&h, "Vary"), "Origin"));
    assert_int_equal(sg_cors_preflight(c, "https://game.example.com", "DELETE", NULL, &h),
                     SG_CORS_DENIED);
    assert_int_equal(
        sg_cors_preflight(c, "https://game.example.com", "POST", "Content-Type, X-Secret", &h),
        SG_CORS_DENIED);
    assert_int_equal(sg_cors_preflight(c, "https://evil.example.com", "POST", NULL, &h),
                     SG_CORS_DENIED);
    assert_null(header(&h, "Access-Control-Allow-Origin"));
    assert_int_equal(sg_cors_preflight(c, NULL, "POST", NULL, &h), SG_CORS_NO_ORIGIN);
    sg_cors_free(c);
}

static void star_and_credentials(void **state)
{
    (void)state;
    sg_cors *c = make("*", false);
    sg_cors_headers h;
    assert_int_equal(sg_cors_request(c, "https://anything.example", &h), SG_CORS_ALLOWED);
    assert_string_equal(header(&h, "Access-Control-Allow-Origin"), "*");
    sg_cors_free(c);

    c = make("https://game.example.com", true);
    assert_int_equal(sg_cors_request(c, "https://game.example.com", &h), SG_CORS_ALLOWED);
    assert_string_equal(header(&h, "Access-Control-Allow-Credentials"), "true");
    sg_cors_free(c);

    sg_cors_options o = {.origins = "*", .allow_credentials = true};
    assert_int_equal(sg_cors_new(&o, &c), SG_E_INVALID);
}

static void rejects_malformed_origin_settings(void **state)
{
    (void)state;
    sg_cors *c = NULL;
    const char *bad[] = {"game.example.com", "https://game.example.com/", "https://a/b", "null",
                         "https://user@host"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_cors_options o = {.origins = bad[i]};
        assert_int_equal(sg_cors_new(&o, &c), SG_E_INVALID);
        assert_null(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allowed_origin_is_echoed_with_vary),
        cmocka_unit_test(other_origins_get_no_cors_headers),
        cmocka_unit_test(preflight_checks_method_and_headers),
        cmocka_unit_test(star_and_credentials),
        cmocka_unit_test(rejects_malformed_origin_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
