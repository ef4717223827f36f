/* Records and events: round trips through JSON, and refusal of invalid structs and texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/records.h"

static void claimed_session(sg_session_record *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->session_id, "950dd2eaff09-S");
    s->state = SG_SESSION_CLAIMED;
    s->created_at = 1763700000000LL;
    s->claim_deadline = 1763700060000LL;
    s->client_id = 18446744073709551615ULL; /* needs the decimal-string form */
    strcpy(s->player_ip, "203.0.113.7");
    strcpy(s->app, "mygame");
    strcpy(s->version, "v1");
    strcpy(s->claimed_by_fqdn, "9f511e17.pr.edgegap.net");
    strcpy(s->claimed_by_request_id, "9f511e17a1b2");
    s->claimed_at = 1763700005000LL;
    s->has_deployment = true;
    strcpy(s->deployment.request_id, "9f511e17a1b2");
    strcpy(s->deployment.public_ip, "198.51.100.4");
    strcpy(s->deployment.fqdn, "9f511e17.pr.edgegap.net");
    s->deployment.port = 31500;
    strcpy(s->deployment.protocol, "UDP");
    s->deployment.has_location = true;
    strcpy(s->deployment.location.city, "Montreal");
    strcpy(s->deployment.location.country, "Canada");
    strcpy(s->matchmaker, "mm-1");
}

/* Whole numbers are written as plain JSON integers, every digit of them (times in ms, up to
 * 2^53, which a double holds exactly), and fractions as before. */
static void numbers_are_written_exactly(void **state)
{
    (void)state;
    sg_session_record s, back;
    claimed_session(&s);
    s.created_at = 9007199254740991LL; /* 2^53 - 1 */
    s.claim_deadline = 1000000000000000LL;
    s.has_placement_rtt = true;
    strcpy(s.placement, "joined");
    s.placement_rtt_ms = 0.1;
    char *json = NULL;
    assert_int_equal(sg_session_to_json(&s, &json), SG_OK);
    assert_non_null(strstr(json, "\"created_at\":9007199254740991,"));
    assert_non_null(strstr(json, "\"claim_deadline\":1000000000000000,"));
    assert_non_null(strstr(json, "\"claimed_at\":1763700005000,"));
    assert_non_null(strstr(json, "\"port\":31500"));
    assert_non_null(strstr(json, "\"rtt_ms\":0.1"));
    assert_int_equal(sg_session_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&s, &back, sizeof s);
    free(json);

    sg_event e = {.kind = SG_EV_SCORE, .ts = 1763700000123LL};
    strcpy(e.app, "mygame");
    strcpy(e.source, "gs-1");
    strcpy(e.u.score.session_id, "950dd2eaff09-S");
    e.u.score.client_id = 42;
    strcpy(e.u.score.score_kind, "kill");
    e.u.score.value = -4503599627370496LL; /* -2^52 */
    assert_int_equal(sg_event_to_json(&e, &json), SG_OK);
    assert_non_null(strstr(json, "\"ts\":1763700000123"));
    assert_non_null(strstr(json, "\"value\":-4503599627370496"));
    free(json);
    e.u.score.value = 0;
    assert_int_equal(sg_event_to_json(&e, &json), SG_OK);
    assert_non_null(strstr(json, "\"value\":0"));
    assert_null(strstr(json, "-0"));
    free(json);
}

static void session_round_trips(void **state)
{
    (void)state;
    sg_session_record s, back;
    claimed_session(&s);
    char *json = NULL;
    assert_int_equal(sg_session_to_json(&s, &json), SG_OK);
    assert_non_null(strstr(json, "\"client_id\":\"18446744073709551615\""));
    assert_non_null(strstr(json, "\"state\":\"claimed\""));
    assert_int_equal(sg_session_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&s, &back, sizeof s);
    free(json);

    /* How the seat was chosen travels with it. */
    strcpy(s.placement, "joined");
    strcpy(s.placement_location, "Montreal");
    s.has_placement_rtt = true;
    s.placement_rtt_ms = 23.5;
    strcpy(s.placement_source, "measured");
    assert_int_equal(sg_session_to_json(&s, &json), SG_OK);
    assert_non_null(strstr(json, "\"placement\":{\"decision\":\"joined\",\"location\":\"Montreal\","
                                 "\"rtt_ms\":23.5,\"source\":\"measured\"}"));
    assert_int_equal(sg_session_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&s, &back, sizeof s);
    free(json);
    memset(s.placement, 0, sizeof s.placement);
    memset(s.placement_location, 0, sizeof s.placement_location);
    memset(s.placement_source, 0, sizeof s.placement_source);
    s.has_placement_rtt = false;
    s.placement_rtt_ms = 0;

    /* The minimal record: only the required fields. */
    memset(&s, 0, sizeof s);
    strcpy(s.session_id, "abc-S");
    s.created_at = 1;
    s.claim_deadline = 2;
    assert_int_equal(sg_session_to_json(&s, &json), SG_OK);
    assert_string_equal(json, "{\"session_id\":\"abc-S\",\"state\":\"unclaimed\",\"created_at\":1,"
                              "\"claim_deadline\":2}");
    free(json);
}

static void invalid_session_is_not_written(void **state)
{
    (void)state;
    sg_session_record s;
    char *json = NULL;
    claimed_session(&s);
    s.claimed_by_fqdn[0] = '\0'; /* claimed, but by no one */
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    assert_null(json);
    assert_non_null(strstr(sg_last_error(), "claimed_by"));
    claimed_session(&s);
    strcpy(s.player_ip, "not-an-ip");
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "player_ip"));
    claimed_session(&s);
    strcpy(s.session_id, "bad id");
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    claimed_session(&s);
    s.created_at = -5;
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    claimed_session(&s);
    strcpy(s.user_id, "has space");
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "user_id"));
    claimed_session(&s);
    memset(s.app, 'a', sizeof s.app); /* no terminator */
    assert_int_equal(sg_session_to_json(&s, &json), SG_E_INVALID);
    assert_null(json);
}

static void malformed_session_text_names_the_field(void **state)
{
    (void)state;
    struct {
        const char *json, *says;
    } bad[] = {
        {"", "not valid JSON"},
        {"[]", "not an object"},
        {"{\"session_id\":\"a\"} x", "trailing"},
        {"{\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1}", "session_id"},
        {"{\"session_id\":\"a\",\"state\":\"gone\",\"created_at\":1,\"claim_deadline\":1}",
         "state"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1.5,\"claim_deadline\":1}",
         "created_at"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1,"
         "\"client_id\":12}",
         "client_id"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1,"
         "\"client_id\":\"18446744073709551616\"}",
         "client_id"},
        {"{\"session_id\":\"a\",\"state\":\"released\",\"created_at\":1,\"claim_deadline\":1}",
         "released_at"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1,"
         "\"user_id\":\"a/b\"}",
         "user_id"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1,"
         "\"placement\":{\"decision\":\"teleported\"}}",
         "decision"},
        {"{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,\"claim_deadline\":1,"
         "\"placement\":{\"decision\":\"joined\",\"rtt_ms\":-3}}",
         "rtt_ms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_session_record s;
        assert_int_not_equal(sg_session_from_json(bad[i].json, strlen(bad[i].json), &s), SG_OK);
        if (!strstr(sg_last_error(), bad[i].says))
            fail_msg("%s: '%s' lacks '%s'", bad[i].json, sg_last_error(), bad[i].says);
    }
    /* Unknown fields are ignored (tolerant reader). */
    const char *extra = "{\"session_id\":\"a\",\"state\":\"unclaimed\",\"created_at\":1,"
                        "\"claim_deadline\":1,\"future\":{\"x\":1}}";
    sg_session_record s;
    assert_int_equal(sg_session_from_json(extra, strlen(extra), &s), SG_OK);
}

static void gameserver_round_trips(void **state)
{
    (void)state;
    sg_gameserver_record g, back;
    memset(&g, 0, sizeof g);
    strcpy(g.request_id, "9f511e17a1b2");
    strcpy(g.fqdn, "9f511e17.pr.edgegap.net");
    strcpy(g.public_ip, "2001:db8::7");
    g.port_count = 2;
    strcpy(g.ports[0].name, "game");
    g.ports[0].external = 31500;
    g.ports[0].internal = 7000;
    strcpy(g.ports[0].protocol, "UDP");
    strcpy(g.ports[1].name, "webtransport");
    g.ports[1].external = 31501;
    g.ports[1].internal = 7001;
    strcpy(g.ports[1].protocol, "UDP");
    g.has_location = true;
    strcpy(g.location.city, "Paris");
    g.location.has_coords = true;
    g.location.latitude = 48.85;
    g.location.longitude = 2.35;
    g.capacity = 10;
    g.players = 3;
    memset(g.cert_digest, 'a', SG_REC_DIGEST_LEN);
    g.started_at = 1763700000000LL;
    g.heartbeat_at = 1763700009000LL;
    char *json = NULL;
    assert_int_equal(sg_gameserver_to_json(&g, &json), SG_OK);
    assert_int_equal(sg_gameserver_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&g, &back, sizeof g);
    free(json);
    g.cert_digest[3] = 'G';
    assert_int_equal(sg_gameserver_to_json(&g, &json), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "cert_digest"));
    g.cert_digest[3] = 'a';
    g.port_count = 0;
    assert_int_equal(sg_gameserver_to_json(&g, &json), SG_E_INVALID);
}

static void context_is_checked_but_passed_through(void **state)
{
    (void)state;
    const char *ctx = "{\"request_id\":\"9f511e17a1b2\",\"public_ip\":\"198.51.100.4\","
                      "\"fqdn\":\"9f511e17.pr.edgegap.net\",\"ports\":{\"game\":{\"external\":"
                      "31500,\"internal\":7000,\"protocol\":\"UDP\"}},\"tags\":[\"x\"]}";
    sg_context_info info;
    assert_int_equal(sg_context_check(ctx, strlen(ctx), &info), SG_OK);
    assert_string_equal(info.fqdn, "9f511e17.pr.edgegap.net");
    assert_int_equal(info.port_count, 1);
    const char *noports = "{\"request_id\":\"r\",\"public_ip\":\"198.51.100.4\",\"fqdn\":\"f\"}";
    assert_int_equal(sg_context_check(noports, strlen(noports), NULL), SG_E_MALFORMED);
    assert_non_null(strstr(sg_last_error(), "ports"));
}

static void create_intent_round_trip_and_bad_values(void **state)
{
    (void)state;
    sg_create_intent in = {0}, back;
    strcpy(in.marker, "0123456789abcdef0123456789abcdef");
    strcpy(in.player_ip, "2001:db8::7");
    strcpy(in.app, "demo");
    strcpy(in.version, "v1");
    in.created_at = 1763703600000LL;
    in.window_ms = 25000;
    in.reconcile_after = 1763703685000LL;
    strcpy(in.matchmaker, "mm-1");
    char *json = NULL;
    assert_int_equal(sg_create_intent_to_json(&in, &json), SG_OK);
    assert_null(strstr(json, "reconciling"));
    assert_int_equal(sg_create_intent_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&in, &back, sizeof in);
    free(json);
    strcpy(in.marker_via, "webhook_url");
    strcpy(in.reconciling_by, "mm-2");
    in.reconciling_at = 1763703690000LL;
    assert_int_equal(sg_create_intent_to_json(&in, &json), SG_OK);
    assert_int_equal(sg_create_intent_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&in, &back, sizeof in);
    free(json);
    /* Nothing invalid is written: a marker that is not 32 hex digits, a bad IP. */
    sg_create_intent bad = in;
    strcpy(bad.marker, "0123456789ABCDEF0123456789abcdef");
    assert_int_equal(sg_create_intent_to_json(&bad, &json), SG_E_INVALID);
    bad = in;
    strcpy(bad.marker, "abc");
    assert_int_equal(sg_create_intent_to_json(&bad, &json), SG_E_INVALID);
    bad = in;
    strcpy(bad.player_ip, "not-an-ip");
    assert_int_equal(sg_create_intent_to_json(&bad, &json), SG_E_INVALID);
    const char *missing = "{\"marker\":\"0123456789abcdef0123456789abcdef\","
                          "\"player_ip\":\"203.0.113.7\",\"app\":\"demo\"}";
    assert_int_equal(sg_create_intent_from_json(missing, strlen(missing), &back), SG_E_MALFORMED);
}

static void delete_job_and_connect_token_values(void **state)
{
    (void)state;
    sg_delete_job j = {0}, back;
    strcpy(j.session_id, "950dd2eaff09-S");
    strcpy(j.reason, "player_left");
    j.enqueued_at = 1763700000000LL;
    strcpy(j.requested_by, "9f511e17.pr.edgegap.net");
    char *json = NULL;
    assert_int_equal(sg_delete_job_to_json(&j, &json), SG_OK);
    assert_int_equal(sg_delete_job_from_json(json, strlen(json), &back), SG_OK);
    assert_memory_equal(&j, &back, sizeof j);
    free(json);
    strcpy(j.reason, "Player Left");
    assert_int_equal(sg_delete_job_to_json(&j, &json), SG_E_INVALID);

    char key[24], sid[SG_REC_ID_MAX];
    assert_string_equal(sg_connect_token_key(18446744073709551615ULL, key, sizeof key),
                        "18446744073709551615");
    assert_int_equal(sg_connect_token_value_parse("950dd2eaff09-S", 14, sid, sizeof sid), SG_OK);
    assert_string_equal(sid, "950dd2eaff09-S");
    assert_int_equal(sg_connect_token_value_parse("a b", 3, sid, sizeof sid), SG_E_MALFORMED);
    assert_int_equal(sg_connect_token_value_parse("", 0, sid, sizeof sid), SG_E_MALFORMED);
    uint64_t id;
    assert_int_equal(sg_client_id_parse("1", &id), SG_OK);
    assert_int_equal(id, 1);
    const char *bad_ids[] = {"0", "01", "-1", "1e3", "", "18446744073709551616", " 1"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        assert_int_equal(sg_client_id_parse(bad_ids[i], &id), SG_E_INVALID);
}

static void every_event_kind_round_trips(void **state)
{
    (void)state;
    for (int k = 0; k < SG_EV_KIND_COUNT; k++) {
        sg_event e, back;
        memset(&e, 0, sizeof e);
        e.kind = (sg_event_kind)k;
        e.ts = 1763700000123LL;
        strcpy(e.app, "mygame");
        strcpy(e.source, "9f511e17.pr.edgegap.net");
        switch (e.kind) {
        case SG_EV_SERVER_UP:
        case SG_EV_SERVER_DOWN:
            strcpy(e.u.server.fqdn, "9f511e17.pr.edgegap.net");
            strcpy(e.u.server.request_id, "9f511e17a1b2");
            strcpy(e.u.server.public_ip, "198.51.100.4");
            if (e.kind == SG_EV_SERVER_DOWN) strcpy(e.u.server.reason, "shutdown");
            break;
        case SG_EV_PLAYER_CONNECT:
        case SG_EV_PLAYER_DISCONNECT:
            strcpy(e.u.player.session_id, "950dd2eaff09-S");
            e.u.player.client_id = 42;
            strcpy(e.u.player.player_ip, "203.0.113.7");
            strcpy(e.u.player.fqdn, "9f511e17.pr.edgegap.net");
            e.u.player.duration_ms = e.kind == SG_EV_PLAYER_DISCONNECT ? 60000 : -1;
            e.u.player.reason = SG_DISCONNECT_TIMEOUT;
            if (e.kind == SG_EV_PLAYER_CONNECT) e.u.player.reason = 0;
            break;
        case SG_EV_VERIFY_REJECTED:
            e.u.reject.client_id = 7;
            strcpy(e.u.reject.player_ip, "203.0.113.9");
            strcpy(e.u.reject.fqdn, "9f511e17.pr.edgegap.net");
            e.u.reject.reason = SG_REJECT_IP_MISMATCH;
            strcpy(e.u.reject.message, "source IP is not in session_ips");
            break;
        case SG_EV_SCORE:
            strcpy(e.u.score.session_id, "950dd2eaff09-S");
            e.u.score.client_id = 42;
            strcpy(e.u.score.score_kind, "kill");
            e.u.score.value = -3;
            e.u.score.target_client_id = 43;
            break;
        default:
            break;
        }
        char *json = NULL;
        assert_int_equal(sg_event_to_json(&e, &json), SG_OK);
        assert_int_equal(sg_event_from_json(json, strlen(json), &back), SG_OK);
        assert_memory_equal(&e, &back, sizeof e);
        sg_event_kind parsed;
        assert_int_equal(sg_event_kind_parse(sg_event_kind_name(e.kind), &parsed), SG_OK);
        assert_int_equal(parsed, e.kind);
        free(json);
    }
    sg_event e = {.kind = SG_EV_KIND_COUNT};
    char *json = NULL;
    assert_int_equal(sg_event_to_json(&e, &json), SG_E_INVALID);
    e.kind = SG_EV_PLAYER_CONNECT; /* required fields missing */
    assert_int_equal(sg_event_to_json(&e, &json), SG_E_INVALID);
    const char *unknown = "{\"kind\":\"teleport\",\"ts\":1,\"app\":\"a\",\"source\":\"s\"}";
    assert_int_equal(sg_event_from_json(unknown, strlen(unknown), &e), SG_E_MALFORMED);
    assert_non_null(strstr(sg_last_error(), "kind"));
}

/* The shared buckets' options come from one table; the TTLs cover what each user needs. */
static void shared_bucket_and_queue_options(void **state)
{
    (void)state;
    sg_bucket_options o;
    assert_int_equal(sg_bucket_default_options(SG_BUCKET_CONNECT_TOKENS, &o), SG_OK);
    assert_true(o.create);
    assert_int_equal(o.history, 1);
    assert_int_equal(o.replicas, 0); /* the store's kv-replicas */
    assert_true(o.ttl_ms >= (SG_TOKEN_EXPIRE_MAX_S + 30) * 1000LL);
    assert_int_equal(sg_bucket_default_options(SG_BUCKET_GAMESERVER, &o), SG_OK);
    assert_true(o.ttl_ms >= SG_SERVER_STALE_MAX_MS);
    assert_int_equal(sg_bucket_default_options(SG_BUCKET_SESSIONS, &o), SG_OK);
    assert_int_equal(o.ttl_ms, 0);
    assert_true(o.create);
    assert_int_equal(sg_bucket_default_options(SG_BUCKET_CONTEXTS, &o), SG_OK);
    assert_int_equal(o.ttl_ms, 0);
    assert_int_equal(sg_bucket_default_options(SG_BUCKET_SESSION_INTENTS, &o), SG_OK);
    assert_int_equal(o.ttl_ms, SG_SESSION_INTENTS_TTL_MS);
    assert_int_equal(sg_bucket_default_options("other", &o), SG_E_INVALID);
    assert_false(o.create);
    assert_non_null(strstr(sg_last_error(), "other"));
    assert_int_equal(sg_bucket_default_options(NULL, &o), SG_E_INVALID);

    sg_queue_options q;
    assert_int_equal(sg_queue_default_options(SG_QUEUE_SESSION_DELETES, &q), SG_OK);
    assert_int_equal(q.lease_ms, SG_DELETE_LEASE_DEFAULT_MS);
    assert_int_equal(q.replicas, 0);
    assert_int_equal(sg_queue_default_options(SG_BUCKET_SESSIONS, &q), SG_E_INVALID);
}

/* Ids a signed-in player may have, and the keys they are filed under. */
static void user_ids_and_their_keys(void **state)
{
    (void)state;
    assert_true(sg_user_id_valid("0d3c6f2a-9b1e-4c7d-8a2f-5e6b7c8d9e0f"));
    assert_true(sg_user_id_valid("auth0|5f7c8ec7c33c6c004bbafe82"));
    assert_true(sg_user_id_valid("a.b_c:d@e+f"));
    char max[65];
    memset(max, 'x', 64);
    max[64] = '\0';
    assert_true(sg_user_id_valid(max));
    const char *bad[] = {"", "a b", "a/b", "\"q\"", "a\nb", "a%20", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_false(sg_user_id_valid(bad[i]));
    char over[66];
    memset(over, 'x', 65);
    over[65] = '\0';
    assert_false(sg_user_id_valid(over));

    /* The seat cap's store key: a digest (ids hold '|' and '@', keys cannot), 32 hex. */
    char k1[96], k2[96];
    sg_player_seats_key("user:auth0|5f7c", k1, sizeof k1);
    sg_player_seats_key("user:auth0|5f7d", k2, sizeof k2);
    assert_int_equal(strlen(k1), 4 + 32);
    assert_memory_equal(k1, "usr_", 4);
    assert_int_equal(strspn(k1 + 4, "0123456789abcdef"), 32);
    assert_string_not_equal(k1, k2);
    assert_string_equal(sg_player_seats_key("203.0.113.7", k2, sizeof k2), "ip4_203.0.113.7");

    /* The fixed-size key never equals an address key: its first byte is 'u', theirs 4 or 6. */
    uint8_t u[SG_USER_KEY_BYTES], v[SG_USER_KEY_BYTES];
    sg_user_key("player-1", u);
    sg_user_key("player-2", v);
    assert_int_equal(u[0], 'u');
    assert_memory_not_equal(u, v, sizeof u);
    sg_user_key("player-1", v);
    assert_memory_equal(u, v, sizeof u);
}

static void certificate_digests_are_normalised(void **state)
{
    (void)state;
    char out[SG_REC_DIGEST_LEN + 1];
    const char *lower = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    /* wtransport's colon form, upper case (lightyear's digest.txt), and as is */
    const char *forms[] = {
        "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90",
        "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90", lower};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sg_cert_digest_normalize(forms[i], out), SG_OK);
        assert_string_equal(out, lower);
    }
    assert_int_equal(sg_cert_digest_normalize("a1:b2", out), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "certificate digest: expected the 32-byte SHA-256 of the "
                                         "certificate (64 hex digits, colons allowed), got 4 digits");
    char longer[80];
    snprintf(longer, sizeof longer, "%s00", lower);
    assert_int_equal(sg_cert_digest_normalize(longer, out), SG_E_INVALID);
    assert_non_null(strstr(sg_last_error(), "got more"));
    assert_int_equal(sg_cert_digest_normalize("zz", out), SG_E_INVALID);
    assert_string_equal(sg_last_error(), "certificate digest: character 1 is not a hex digit or ':'");
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(certificate_digests_are_normalised),
        cmocka_unit_test(user_ids_and_their_keys),
        cmocka_unit_test(session_round_trips),
        cmocka_unit_test(numbers_are_written_exactly),
        cmocka_unit_test(invalid_session_is_not_written),
        cmocka_unit_test(malformed_session_text_names_the_field),
        cmocka_unit_test(gameserver_round_trips),
        cmocka_unit_test(context_is_checked_but_passed_through),
        cmocka_unit_test(delete_job_and_connect_token_values),
        cmocka_unit_test(create_intent_round_trip_and_bad_values),
        cmocka_unit_test(every_event_kind_round_trips),
        cmocka_unit_test(shared_bucket_and_queue_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
