/* Edgegap requests (paths, bodies, validation), error mapping, retry rules, backoff, the pace
 * arithmetic, settings, and the client against a closed loopback port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "edgegap_internal.h"
#include "proc.h"
#include "seatgate/edgegap.h"

static void builds_session_paths_with_escaping(void **state)
{
    (void)state;
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_get_session("950dd2eaff09-S", &r), SG_OK);
    assert_string_equal(sg_edgegap_request_method(r), "GET");
    assert_string_equal(sg_edgegap_request_target(r), "/v1/session/950dd2eaff09-S");
    assert_string_equal(sg_edgegap_request_body(r), "");
    assert_true(sg_edgegap_request_idempotent(r));
    assert_int_equal(sg_edgegap_request_call(r), SG_EDGEGAP_GET_SESSION);
    sg_edgegap_request_free(r);

    assert_int_equal(sg_edgegap_request_delete_session("../x?y#z", &r), SG_OK);
    assert_string_equal(sg_edgegap_request_method(r), "DELETE");
    assert_string_equal(sg_edgegap_request_target(r), "/v1/session/..%2Fx%3Fy%23z");
    assert_true(sg_edgegap_request_idempotent(r));
    sg_edgegap_request_free(r);

    assert_int_equal(sg_edgegap_request_get_app_version("my game", "v1/beta", &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), "/v1/app/my%20game/version/v1%2Fbeta");
    sg_edgegap_request_free(r);

    r = (sg_edgegap_request *)1;
    assert_int_equal(sg_edgegap_request_get_session("", &r), SG_E_INVALID);
    assert_null(r);
    assert_int_equal(sg_edgegap_request_get_session(NULL, &r), SG_E_INVALID);
    assert_int_equal(sg_edgegap_request_get_session("a\r\nX-Evil: 1", &r), SG_E_INVALID);
    assert_int_equal(sg_edgegap_request_get_app_version("app", "", &r), SG_E_INVALID);
}

static void builds_list_queries(void **state)
{
    (void)state;
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_list_sessions(0, 0, &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), "/v1/sessions");
    sg_edgegap_request_free(r);
    assert_int_equal(sg_edgegap_request_list_sessions(2, 0, &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), "/v1/sessions?page=2");
    sg_edgegap_request_free(r);
    assert_int_equal(sg_edgegap_request_list_sessions(0, 50, &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), "/v1/sessions?limit=50");
    sg_edgegap_request_free(r);
    assert_int_equal(sg_edgegap_request_list_sessions(3, 100, &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), "/v1/sessions?page=3&limit=100");
    sg_edgegap_request_free(r);
    assert_int_equal(sg_edgegap_request_list_sessions(-1, 0, &r), SG_E_INVALID);
}

static void builds_the_create_body(void **state)
{
    (void)state;
    const char *ips[] = {"203.0.113.7", "::ffff:198.51.100.9", "2001:db8::1"};
    sg_edgegap_selector sel[] = {{"eu", false}, {"tournament", true}};
    sg_edgegap_create_params p = {.app_name = "my-game",
                                  .version_name = "v1",
                                  .ip_list = ips,
                                  .ip_count = 3,
                                  .webhook_url = "https://mm.example.com/hooks/edgegap",
                                  .deployment_request_id = "9f511e17a2b3",
                                  .selectors = sel,
                                  .selector_count = 2};
    sg_edgegap_request *r = NULL;
    assert_int_equal(sg_edgegap_request_create_session(&p, &r), SG_OK);
    assert_string_equal(sg_edgegap_request_method(r), "POST");
    assert_string_equal(sg_edgegap_request_target(r), "/v1/session");
    assert_false(sg_edgegap_request_idempotent(r));

    cJSON *b = cJSON_Parse(sg_edgegap_request_body(r));
    assert_non_null(b);
    assert_string_equal(cJSON_GetObjectItem(b, "app_name")->valuestring, "my-game");
    assert_string_equal(cJSON_GetObjectItem(b, "version_name")->valuestring, "v1");
    cJSON *ipl = cJSON_GetObjectItem(b, "ip_list");
    assert_int_equal(cJSON_GetArraySize(ipl), 3);
    assert_string_equal(cJSON_GetArrayItem(ipl, 0)->valuestring, "203.0.113.7");
    assert_string_equal(cJSON_GetArrayItem(ipl, 1)->valuestring, "198.51.100.9"); /* mapped */
    assert_string_equal(cJSON_GetArrayItem(ipl, 2)->valuestring, "2001:db8::1");
    assert_string_equal(cJSON_GetObjectItem(b, "webhook_url")->valuestring,
                        "https://mm.example.com/hooks/edgegap");
    assert_string_equal(cJSON_GetObjectItem(b, "deployment_request_id")->valuestring,
                        "9f511e17a2b3");
    cJSON *sels = cJSON_GetObjectItem(b, "selectors");
    assert_int_equal(cJSON_GetArraySize(sels), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sels, 1), "tag")->valuestring,
                        "tournament");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(sels, 1), "tag_only")));
    cJSON_Delete(b);
    sg_edgegap_request_free(r);

    /* optional fields are left out, not sent as null */
    sg_edgegap_create_params min = {
        .app_name = "my-game", .version_name = "v1", .ip_list = ips, .ip_count = 1};
    assert_int_equal(sg_edgegap_request_create_session(&min, &r), SG_OK);
    b = cJSON_Parse(sg_edgegap_request_body(r));
    assert_null(cJSON_GetObjectItem(b, "webhook_url"));
    assert_null(cJSON_GetObjectItem(b, "deployment_request_id"));
    assert_null(cJSON_GetObjectItem(b, "selectors"));
    assert_null(cJSON_GetObjectItem(b, "geo_ip_list"));
    cJSON_Delete(b);
    sg_edgegap_request_free(r);

    /* with the player's position: geo_ip_list entries instead of ip_list */
    sg_edgegap_create_params geo = min;
    geo.has_position = true;
    geo.latitude = 50.11;
    geo.longitude = 8.68;
    assert_int_equal(sg_edgegap_request_create_session(&geo, &r), SG_OK);
    b = cJSON_Parse(sg_edgegap_request_body(r));
    assert_null(cJSON_GetObjectItem(b, "ip_list"));
    cJSON *g = cJSON_GetObjectItem(b, "geo_ip_list");
    assert_int_equal(cJSON_GetArraySize(g), 1);
    cJSON *g0 = cJSON_GetArrayItem(g, 0);
    assert_string_equal(cJSON_GetObjectItem(g0, "ip")->valuestring, "203.0.113.7");
    assert_true(cJSON_GetObjectItem(g0, "latitude")->valuedouble == 50.11);
    assert_true(cJSON_GetObjectItem(g0, "longitude")->valuedouble == 8.68);
    cJSON_Delete(b);
    sg_edgegap_request_free(r);
    geo.latitude = 91;
    assert_int_equal(sg_edgegap_request_create_session(&geo, &r), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "position"));
}

static void rejects_bad_create_parameters(void **state)
{
    (void)state;
    const char *ips[] = {"203.0.113.7"};
    const char *bad_ips[] = {"203.0.113.7:7000"};
    const char *junk_ips[] = {"not-an-ip"};
    sg_edgegap_request *r = (sg_edgegap_request *)1;
    sg_edgegap_create_params p = {
        .app_name = "my-game", .version_name = "v1", .ip_list = ips, .ip_count = 1};

    sg_edgegap_create_params q = p;
    q.app_name = NULL;
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    assert_null(r);
    assert_non_null(strstr(sg_last_error(), "app name"));
    q = p;
    q.version_name = "";
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    q = p;
    q.ip_count = 0;
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    q = p;
    q.ip_list = bad_ips;
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    q = p;
    q.ip_list = junk_ips;
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "ip_list[0]"));
    q = p;
    q.webhook_url = "ftp://example.com/x";
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    q = p;
    q.webhook_url = "https://example.com/a b";
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    q = p;
    q.selector_count = 1;
    assert_int_equal(sg_edgegap_request_create_session(&q, &r), SG_E_INVALID);
    assert_int_equal(sg_edgegap_request_create_session(NULL, &r), SG_E_INVALID);
}

static void builds_the_context_request_without_leaking_the_token(void **state)
{
    (void)state;
    sg_edgegap_request *r = NULL;
    const char *url = "https://api.edgegap.com/v1/context/9170f5211e17/17";
    assert_int_equal(sg_edgegap_request_get_context(url, "s3cr3t-context-token", &r), SG_OK);
    assert_string_equal(sg_edgegap_request_target(r), url);
    assert_string_equal(sg_edgegap_request_method(r), "GET");
    assert_int_equal(sg_edgegap_request_call(r), SG_EDGEGAP_GET_CONTEXT);
    sg_edgegap_request_free(r);

    assert_int_equal(sg_edgegap_request_get_context("file:///etc/passwd", "t", &r), SG_E_INVALID);
    assert_int_equal(sg_edgegap_request_get_context(url, "", &r), SG_E_INVALID);
    assert_int_equal(sg_edgegap_request_get_context(url, "evil\r\nX-Injected: 1", &r),
                     SG_E_INVALID);
    assert_null(strstr(sg_last_error(), "evil"));
}

static void maps_http_statuses(void **state)
{
    (void)state;
    assert_int_equal(sg_eg_http_status_map(200), SG_OK);
    assert_int_equal(sg_eg_http_status_map(204), SG_OK);
    assert_int_equal(sg_eg_http_status_map(400), SG_E_BAD_REQUEST);
    assert_int_equal(sg_eg_http_status_map(422), SG_E_BAD_REQUEST);
    assert_int_equal(sg_eg_http_status_map(405), SG_E_BAD_REQUEST);
    assert_int_equal(sg_eg_http_status_map(401), SG_E_UNAUTHORIZED);
    assert_int_equal(sg_eg_http_status_map(403), SG_E_UNAUTHORIZED);
    assert_int_equal(sg_eg_http_status_map(404), SG_E_NOT_FOUND);
    assert_int_equal(sg_eg_http_status_map(409), SG_E_CONFLICT);
    assert_int_equal(sg_eg_http_status_map(410), SG_E_GONE);
    assert_int_equal(sg_eg_http_status_map(429), SG_E_RATE_LIMITED);
    assert_int_equal(sg_eg_http_status_map(500), SG_E_SERVER);
    assert_int_equal(sg_eg_http_status_map(503), SG_E_SERVER);
    assert_int_equal(sg_eg_http_status_map(302), SG_E_SERVER);
    assert_int_equal(sg_eg_curl_map(CURLE_OPERATION_TIMEDOUT), SG_E_TIMEOUT);
    assert_int_equal(sg_eg_curl_map(CURLE_COULDNT_CONNECT), SG_E_NETWORK);
    assert_int_equal(sg_eg_curl_map(CURLE_COULDNT_RESOLVE_HOST), SG_E_NETWORK);
    assert_int_equal(sg_eg_curl_map(CURLE_RECV_ERROR), SG_E_NETWORK);
    assert_int_equal(sg_eg_curl_map(CURLE_GOT_NOTHING), SG_E_NETWORK);
    assert_int_equal(sg_eg_curl_map(CURLE_SSL_CONNECT_ERROR), SG_E_NETWORK);
    assert_int_equal(sg_eg_curl_map(CURLE_WRITE_ERROR), SG_E_TOO_LARGE);
}

static void retries_only_what_is_safe(void **state)
{
    (void)state;
    sg_edgegap_request *get = NULL, *del = NULL, *create = NULL;
    const char *ips[] = {"203.0.113.7"};
    sg_edgegap_create_params p = {
        .app_name = "a", .version_name = "v", .ip_list = ips, .ip_count = 1};
    assert_int_equal(sg_edgegap_request_get_session("x-S", &get), SG_OK);
    assert_int_equal(sg_edgegap_request_delete_session("x-S", &del), SG_OK);
    assert_int_equal(sg_edgegap_request_create_session(&p, &create), SG_OK);

    const sg_edgegap_request *idem[] = {get, del};
    for (int i = 0; i < 2; i++) {
        const sg_edgegap_request *r = idem[i];
        assert_true(sg_eg_retryable(r, SG_E_RATE_LIMITED, 429, true));
        assert_true(sg_eg_retryable(r, SG_E_SERVER, 500, true));
        assert_true(sg_eg_retryable(r, SG_E_SERVER, 503, true));
        assert_true(sg_eg_retryable(r, SG_E_TIMEOUT, 0, true));
        assert_true(sg_eg_retryable(r, SG_E_NETWORK, 0, true));
        assert_false(sg_eg_retryable(r, SG_E_SERVER, 302, true));
        assert_false(sg_eg_retryable(r, SG_E_BAD_REQUEST, 400, true));
        assert_false(sg_eg_retryable(r, SG_E_UNAUTHORIZED, 401, true));
        assert_false(sg_eg_retryable(r, SG_E_NOT_FOUND, 404, true));
        assert_false(sg_eg_retryable(r, SG_E_GONE, 410, true));
        assert_false(sg_eg_retryable(r, SG_E_MALFORMED, 200, true));
    }
    /* create: 429 and never-sent failures only */
    assert_true(sg_eg_retryable(create, SG_E_RATE_LIMITED, 429, true));
    assert_true(sg_eg_retryable(create, SG_E_NETWORK, 0, false));
    assert_true(sg_eg_retryable(create, SG_E_TIMEOUT, 0, false));
    assert_false(sg_eg_retryable(create, SG_E_NETWORK, 0, true));
    assert_false(sg_eg_retryable(create, SG_E_TIMEOUT, 0, true));
    assert_false(sg_eg_retryable(create, SG_E_SERVER, 500, true));
    assert_false(sg_eg_retryable(create, SG_E_SERVER, 503, true));
    assert_false(sg_eg_retryable(create, SG_E_CONFLICT, 409, true));

    assert_true(sg_eg_create_ambiguous(SG_E_TIMEOUT, 0, true));
    assert_true(sg_eg_create_ambiguous(SG_E_NETWORK, 0, true));
    assert_true(sg_eg_create_ambiguous(SG_E_SERVER, 502, true));
    assert_true(sg_eg_create_ambiguous(SG_E_MALFORMED, 200, true));
    assert_false(sg_eg_create_ambiguous(SG_E_NETWORK, 0, false));
    assert_false(sg_eg_create_ambiguous(SG_E_RATE_LIMITED, 429, true));
    assert_false(sg_eg_create_ambiguous(SG_E_BAD_REQUEST, 400, true));
    assert_false(sg_eg_create_ambiguous(SG_E_UNAUTHORIZED, 401, true));

    sg_edgegap_request_free(get);
    sg_edgegap_request_free(del);
    sg_edgegap_request_free(create);
}

static void backs_off_with_bounded_full_jitter(void **state)
{
    (void)state;
    for (int retry = 1; retry <= 8; retry++) {
        long long cap = 100LL << (retry - 1);
        if (cap > 1000) cap = 1000;
        long long max_seen = 0;
        for (int i = 0; i < 300; i++) {
            long long w = sg_eg_backoff_us(100, 1000, retry);
            assert_true(w >= 0);
            assert_true(w <= cap * 1000);
            if (w > max_seen) max_seen = w;
        }
        assert_true(max_seen > cap * 1000 / 4); /* jitter spans the range, not a constant */
    }
    assert_int_equal(sg_eg_backoff_us(0, 1000, 3), 0);
}

static void parses_retry_after(void **state)
{
    (void)state;
    assert_int_equal(sg_eg_retry_after_ms("3", 0), 3000);
    assert_int_equal(sg_eg_retry_after_ms(" 10 ", 0), 10000);
    assert_int_equal(sg_eg_retry_after_ms("0", 0), 0);
    assert_int_equal(sg_eg_retry_after_ms("999999999999", 0), 86400000);
    assert_int_equal(sg_eg_retry_after_ms("soon", 0), -1);
    assert_int_equal(sg_eg_retry_after_ms("3x", 0), -1);
    assert_int_equal(sg_eg_retry_after_ms("", 0), -1);
    assert_int_equal(sg_eg_retry_after_ms(NULL, 0), -1);
    /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
    assert_int_equal(sg_eg_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412475), 5000);
    assert_int_equal(sg_eg_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
}

static void redacts_secrets(void **state)
{
    (void)state;
    char buf[64] = "bad key abc123 and abc123 again";
    sg_eg_redact(buf, sizeof buf, "abc123");
    assert_string_equal(buf, "bad key [redacted] and [redacted] again");
    char small[16] = "key=abcdef!";
    sg_eg_redact(small, sizeof small, "abcdef");
    assert_null(strstr(small, "abcdef"));
    char self[32] = "e e e";
    sg_eg_redact(self, sizeof self, "e"); /* the mark contains the secret: must terminate */
    assert_null(strstr(self, " e"));
    char none[16] = "nothing";
    sg_eg_redact(none, sizeof none, "");
    assert_string_equal(none, "nothing");
    /* A short secret never damages the words around it ("k" in "token"), but is redacted
     * where it stands alone; a long one is redacted even inside other text. */
    char words[64] = "invalid API token: k";
    sg_eg_redact(words, sizeof words, "k");
    assert_string_equal(words, "invalid API token: [redacted]");
    char glued[64] = "keyabcdefgh12345end";
    sg_eg_redact(glued, sizeof glued, "abcdefgh12345");
    assert_string_equal(glued, "key[redacted]end");
}

static void paces_with_a_token_bucket(void **state)
{
    (void)state;
    long long t0 = 1000000000LL;
    sg_edgegap_pace *p = NULL;
    assert_int_equal(sg_edgegap_pace_new(10, 3, 0, &p), SG_OK); /* T = 100 ms, one lane */
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0 + 100000);
    /* a look at the line changes nothing: the next would go 200 ms later, at 10/s */
    double rate = 0;
    assert_int_equal(sg_eg_pace_peek_lane(p, SG_EG_LANE_PLAYERS, t0, &rate), t0 + 200000);
    assert_true(rate > 9.999 && rate < 10.001);
    assert_int_equal(sg_eg_pace_peek_lane(p, SG_EG_LANE_PLAYERS, t0 + 50000, &rate), t0 + 200000);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0 + 200000);
    /* after a quiet second the bucket is full again */
    long long t1 = t0 + 2000000;
    assert_int_equal(sg_eg_pace_reserve(p, t1), t1);
    assert_int_equal(sg_eg_pace_reserve(p, t1), t1);
    assert_int_equal(sg_eg_pace_reserve(p, t1), t1);
    assert_int_equal(sg_eg_pace_reserve(p, t1), t1 + 100000);
    /* a hold (server said Retry-After) delays everyone */
    long long t2 = t1 + 5000000;
    sg_eg_pace_hold(p, t2 + 700000);
    assert_int_equal(sg_eg_pace_peek_lane(p, SG_EG_LANE_PLAYERS, t2, &rate), t2 + 700000);
    assert_int_equal(sg_eg_pace_reserve(p, t2), t2 + 700000);
    sg_edgegap_pace_free(p);
    /* unpaced: always now, but holds still apply */
    assert_int_equal(sg_edgegap_pace_new(0, 1, 0, &p), SG_OK);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0);
    assert_int_equal(sg_eg_pace_peek_lane(p, SG_EG_LANE_PLAYERS, t0, &rate), t0);
    assert_true(rate == 0);
    sg_eg_pace_hold(p, t0 + 5);
    assert_int_equal(sg_eg_pace_peek_lane(p, SG_EG_LANE_PLAYERS, t0, &rate), t0 + 5);
    assert_int_equal(sg_eg_pace_reserve(p, t0), t0 + 5);
    sg_edgegap_pace_free(p);
}

/* Deletes have a lane of their own: a wave of 50 departures does not move the next player's
 * create, and the two lanes together keep to the configured rate. */
static void deletes_have_their_own_lane(void **state)
{
    (void)state;
    long long t0 = 5000000000LL;
    sg_edgegap_pace *p = NULL;
    /* players 7/s burst 7, deletes 3/s burst 3 */
    assert_int_equal(sg_edgegap_pace_new(10, 10, 0.3, &p), SG_OK);
    double r;
    int b;
    sg_eg_pace_get_lane(p, SG_EG_LANE_PLAYERS, &r, &b);
    assert_true(r > 6.999 && r < 7.001);
    assert_int_equal(b, 7);
    sg_eg_pace_get_lane(p, SG_EG_LANE_DELETES, &r, &b);
    assert_true(r > 2.999 && r < 3.001);
    assert_int_equal(b, 3);
    long long last_delete = 0;
    for (int i = 0; i < 50; i++) last_delete = sg_eg_pace_reserve_lane(p, SG_EG_LANE_DELETES, t0);
    /* 3 at once, then one every 1/3 s: the 50th leaves 47/3 s later (rounded up to a us). */
    long long want = t0 + (long long)(47 * (1e6 / 3.0));
    assert_true(last_delete >= want && last_delete <= want + 1);
    /* The players' lane is untouched: 7 at once, the 8th 1/7 s later. */
    for (int i = 0; i < 7; i++) /* at once (within the microsecond rounding up) */
        assert_true(sg_eg_pace_reserve_lane(p, SG_EG_LANE_PLAYERS, t0) <= t0 + 1);
    long long eighth = sg_eg_pace_reserve_lane(p, SG_EG_LANE_PLAYERS, t0);
    want = t0 + (long long)(1e6 / 7.0);
    assert_true(eighth >= want && eighth <= want + 1);
    /* Over 100 s, the lanes together allow at most 10 per second (plus the bursts). */
    long long t1 = t0 + 1000000000LL, end = t1 + 100000000LL;
    int sent = 0;
    for (int lane = 0; lane < SG_EG_LANES; lane++)
        for (;;) {
            if (sg_eg_pace_reserve_lane(p, (sg_eg_lane)lane, t1) >= end) break;
            sent++;
        }
    assert_true(sent <= 100 * 10 + 10);
    assert_true(sent >= 100 * 10 - 2);
    sg_edgegap_pace_free(p);
}

/* Each client paces with its own bucket unless given a shared one: creating a second client
 * with rate 0 leaves the first paced, and two clients sharing a pace draw on one bucket. */
static void a_client_pace_is_its_own_or_shared(void **state)
{
    (void)state;
    sg_edgegap_options o;
    sg_edgegap_options_default(&o);
    o.base_url = "http://127.0.0.1:9";
    o.rate = 10;
    o.burst = 2;
    o.delete_share = 0;
    sg_edgegap_client *paced = NULL, *unpaced = NULL, *a = NULL, *b = NULL;
    assert_int_equal(sg_edgegap_client_new(&o, &paced), SG_OK);
    o.rate = 0;
    assert_int_equal(sg_edgegap_client_new(&o, &unpaced), SG_OK);
    long long t0 = 9000000000LL;
    sg_edgegap_pace *pp = sg_eg_client_pace(paced);
    double rate;
    int burst;
    sg_eg_pace_get_rate(pp, &rate, &burst);
    assert_true(rate == 10.0);
    assert_int_equal(burst, 2);
    assert_int_equal(sg_eg_pace_reserve(pp, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(pp, t0), t0);
    assert_int_equal(sg_eg_pace_reserve(pp, t0), t0 + 100000); /* still paced */
    for (int i = 0; i < 10; i++) /* and the unpaced one is not */
        assert_int_equal(sg_eg_pace_reserve(sg_eg_client_pace(unpaced), t0), t0);

    sg_edgegap_pace *shared = NULL;
    assert_int_equal(sg_edgegap_pace_new(10, 2, 0, &shared), SG_OK);
    o.pace = shared;
    o.rate = 0; /* ignored: the shared pace decides */
    assert_int_equal(sg_edgegap_client_new(&o, &a), SG_OK);
    assert_int_equal(sg_edgegap_client_new(&o, &b), SG_OK);
    sg_edgegap_pace_free(shared); /* the clients hold their own references */
    assert_ptr_equal(sg_eg_client_pace(a), sg_eg_client_pace(b));
    assert_int_equal(sg_eg_pace_reserve(sg_eg_client_pace(a), t0), t0);
    assert_int_equal(sg_eg_pace_reserve(sg_eg_client_pace(b), t0), t0);
    assert_int_equal(sg_eg_pace_reserve(sg_eg_client_pace(a), t0), t0 + 100000);
    sg_edgegap_client_free(a);
    assert_int_equal(sg_eg_pace_reserve(sg_eg_client_pace(b), t0), t0 + 200000);
    sg_edgegap_client_free(b);
    sg_edgegap_client_free(paced);
    sg_edgegap_client_free(unpaced);
}

static void builds_options_from_settings(void **state)
{
    (void)state;
    sg_config cfg = {.program = "t", .env_prefix = "SGTEST_EG_"};
    assert_int_equal(sg_config_add(&cfg, sg_edgegap_settings, sg_edgegap_settings_count), SG_OK);
    char *argv[] = {"t",
                    "--edgegap-url",
                    "http://127.0.0.1:9",
                    "--edgegap-api-key",
                    "token abc-123-def-456-789",
                    "--edgegap-timeout",
                    "2s",
                    "--edgegap-retries",
                    "5",
                    "--edgegap-rate",
                    "40",
                    "--edgegap-burst",
                    "7",
                    NULL};
    assert_int_equal(sg_config_load(&cfg, 13, argv), SG_OK);
    sg_edgegap_options o;
    assert_int_equal(sg_edgegap_options_from_config(&cfg, &o), SG_OK);
    assert_string_equal(o.base_url, "http://127.0.0.1:9");
    assert_string_equal(o.api_key, "token abc-123-def-456-789");
    assert_int_equal(o.timeout_ms, 2000);
    assert_int_equal(o.connect_timeout_ms, 3000);
    assert_int_equal(o.max_retries, 5);
    assert_int_equal(o.retry_budget_ms, 20000);
    assert_true(o.rate == 40.0);
    assert_int_equal(o.burst, 7);
    assert_int_equal(o.max_connections, 32);
    sg_edgegap_client *c = NULL;
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_OK);
    double rate;
    int burst;
    sg_eg_pace_get_rate(sg_eg_client_pace(c), &rate, &burst);
    assert_true(rate == 40.0);
    assert_int_equal(burst, 7);
    sg_edgegap_client_free(c);
    sg_config_free(&cfg);

    /* A key that cannot be an Edgegap key is refused by the settings with a message naming
     * the setting, never the key; so is a URL that is not HTTP. */
    struct {
        const char *flag, *value, *expect;
    } bad[] = {
        {"--edgegap-api-key", "k",
         "--edgegap-api-key (SEATGATE_EDGEGAP_API_KEY): 1 characters is too short for an Edgegap "
         "API key (at least 16; copy the whole key from the dashboard)"},
        {"--edgegap-api-key", "token short-key",
         "--edgegap-api-key (SEATGATE_EDGEGAP_API_KEY): 9 characters is too short"},
        {"--edgegap-api-key", "0123456789abcdef 0123",
         "the key has a space or control character at position 17"},
        {"--edgegap-url", "ftp://example.com", "--edgegap-url (SEATGATE_EDGEGAP_URL): expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_config c2 = {.program = "t", .env_prefix = "SGTEST_EG_"};
        assert_int_equal(sg_config_add(&c2, sg_edgegap_settings, sg_edgegap_settings_count),
                         SG_OK);
        char *av[] = {"t", (char *)bad[i].flag, (char *)bad[i].value};
        assert_int_equal(sg_config_load(&c2, 3, av), SG_OK);
        assert_int_equal(sg_edgegap_options_from_config(&c2, &o), SG_E_INVALID);
        if (!strstr(sg_last_error(), bad[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, sg_last_error(), bad[i].expect);
        if (strcmp(bad[i].flag, "--edgegap-api-key") == 0 && strlen(bad[i].value) > 3)
            assert_null(strstr(sg_last_error(), bad[i].value));
        sg_config_free(&c2);
    }
}

static void rejects_bad_client_options_without_echoing_the_key(void **state)
{
    (void)state;
    sg_edgegap_options o;
    sg_edgegap_client *c = NULL;
    sg_edgegap_options_default(&o);
    o.api_key = "token sup3rs3cret\r\nX-Evil: 1";
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_E_INVALID);
    assert_null(c);
    assert_null(strstr(sg_last_error(), "sup3rs3cret"));
    o.api_key = "token   ";
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_E_INVALID);
    sg_edgegap_options_default(&o);
    o.base_url = "ftp://example.com";
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_E_INVALID);
    sg_edgegap_options_default(&o);
    o.timeout_ms = 0;
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_E_INVALID);
}

static void refused_connections_are_retried_then_reported(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", sg_test_free_tcp_port() /* nothing listens there: refused */);
    sg_edgegap_options o;
    sg_edgegap_options_default(&o);
    o.base_url = url;
    o.api_key = "abc-123";
    o.max_retries = 2;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 5;
    o.rate = 0;
    sg_edgegap_client *c = NULL;
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_OK);

    sg_edgegap_request *r = NULL;
    sg_edgegap_result res;
    assert_int_equal(sg_edgegap_request_get_session("x-S", &r), SG_OK);
    assert_int_equal(sg_edgegap_perform(c, r, &res), SG_E_NETWORK);
    assert_int_equal(res.attempts, 3);
    assert_int_equal(res.http_status, 0);
    assert_false(res.ambiguous);
    assert_null(strstr(res.message, "abc-123"));
    sg_edgegap_result_clear(&res);
    sg_edgegap_request_free(r);

    /* a create refused before sending is safe to retry, and not ambiguous */
    const char *ips[] = {"203.0.113.7"};
    sg_edgegap_create_params p = {
        .app_name = "a", .version_name = "v", .ip_list = ips, .ip_count = 1};
    assert_int_equal(sg_edgegap_request_create_session(&p, &r), SG_OK);
    assert_int_equal(sg_edgegap_perform(c, r, &res), SG_E_NETWORK);
    assert_int_equal(res.attempts, 3);
    assert_false(res.ambiguous);
    sg_edgegap_result_clear(&res);
    sg_edgegap_request_free(r);

    sg_edgegap_stats stats;
    sg_edgegap_client_get_stats(c, &stats);
    assert_int_equal(stats.calls, 2);
    assert_int_equal(stats.attempts, 6);
    assert_int_equal(stats.retries, 4);
    assert_int_equal(stats.by_status[SG_E_NETWORK], 2);
    sg_edgegap_client_free(c);
}

static int completions;
static sg_status last_status;

static void on_done(sg_edgegap_result *res, void *user)
{
    (void)user;
    completions++;
    last_status = res->status;
}

static void org_calls_need_an_api_key(void **state)
{
    (void)state;
    sg_edgegap_options o;
    sg_edgegap_options_default(&o);
    o.base_url = "http://127.0.0.1:9";
    sg_edgegap_client *c = NULL;
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_OK);
    sg_edgegap_request *r = NULL;
    sg_edgegap_result res;
    assert_int_equal(sg_edgegap_request_get_session("x-S", &r), SG_OK);
    assert_int_equal(sg_edgegap_perform(c, r, &res), SG_E_INVALID);
    assert_int_equal(res.attempts, 0);
    sg_edgegap_result_clear(&res);

    /* non-blocking: the callback still runs exactly once, on the driving thread */
    completions = 0;
    assert_int_equal(sg_edgegap_submit(c, r, on_done, NULL), SG_OK);
    assert_int_equal(sg_edgegap_pending(c), 1);
    for (int i = 0; i < 10 && completions == 0; i++)
        sg_edgegap_run(c, 10, NULL, 0, NULL);
    assert_int_equal(completions, 1);
    assert_int_equal(last_status, SG_E_INVALID);
    assert_int_equal(sg_edgegap_pending(c), 0);
    assert_int_equal(sg_edgegap_submit(c, NULL, on_done, NULL), SG_E_INVALID);
    sg_edgegap_client_free(c);
}

static void freeing_the_client_completes_pending_requests(void **state)
{
    (void)state;
    sg_edgegap_options o;
    sg_edgegap_options_default(&o);
    o.base_url = "http://127.0.0.1:9";
    o.api_key = "k";
    o.rate = 0;
    sg_edgegap_client *c = NULL;
    assert_int_equal(sg_edgegap_client_new(&o, &c), SG_OK);
    completions = 0;
    for (int i = 0; i < 5; i++) {
        sg_edgegap_request *r = NULL;
        assert_int_equal(sg_edgegap_request_get_session("x-S", &r), SG_OK);
        assert_int_equal(sg_edgegap_submit(c, r, on_done, NULL), SG_OK);
    }
    sg_edgegap_client_free(c);
    assert_int_equal(completions, 5);
    assert_int_equal(last_status, SG_E_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_session_paths_with_escaping),
        cmocka_unit_test(builds_list_queries),
        cmocka_unit_test(builds_the_create_body),
        cmocka_unit_test(rejects_bad_create_parameters),
        cmocka_unit_test(builds_the_context_request_without_leaking_the_token),
        cmocka_unit_test(maps_http_statuses),
        cmocka_unit_test(retries_only_what_is_safe),
        cmocka_unit_test(backs_off_with_bounded_full_jitter),
        cmocka_unit_test(parses_retry_after),
        cmocka_unit_test(redacts_secrets),
        cmocka_unit_test(paces_with_a_token_bucket),
        cmocka_unit_test(deletes_have_their_own_lane),
        cmocka_unit_test(a_client_pace_is_its_own_or_shared),
        cmocka_unit_test(builds_options_from_settings),
        cmocka_unit_test(rejects_bad_client_options_without_echoing_the_key),
        cmocka_unit_test(refused_connections_are_retried_then_reported),
        cmocka_unit_test(org_calls_need_an_api_key),
        cmocka_unit_test(freeing_the_client_completes_pending_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
